"""The refusals every marketplace service raises; the API maps each to its HTTP status and error code.

A leaf module: it imports nothing from the project, so any service, task, admin action or view can use it.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A refused operation; ``str(exc)`` is the message shown to the client, ``extra`` optional details."""

    code = "error"
    status = 400

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.extra = extra


class ValidationFailed(ServiceError):
    """The request is malformed or violates a rule (400)."""

    code = "invalid"
    status = 400


class TooLarge(ServiceError):
    """An uploaded file or its metadata is over a size limit (413)."""

    code = "payload_too_large"
    status = 413


class InsufficientFunds(ServiceError):
    """The buyer's AMEM balance does not cover the price (402)."""

    code = "insufficient_funds"
    status = 402


class NotFound(ServiceError):
    """A needed object does not exist (404), e.g. no active W-Matrix for the pair."""

    code = "not_found"
    status = 404


class Conflict(ServiceError):
    """The request conflicts with the current state (409), e.g. a job for the pair is already queued."""

    code = "conflict"
    status = 409


class NotExportable(Conflict):
    """A delivered vector cannot be written in the requested format (409), e.g. layer 0/1 as a control vector."""

    code = "not_exportable"


class QuotaExceeded(ServiceError):
    """A per-user allowance is spent (403: not transient, clients must not retry), e.g. the daily alignment-job
    quota; ``extra["retry_after"]`` says when it frees up."""

    code = "quota_exceeded"
    status = 403
