"""One exception hierarchy for the SDK, mirroring the API's error document ``{"error": {"code", "message",
"details"}}``: the class is chosen by the error's ``code`` (see :data:`CODE_ERRORS`), else by its HTTP status.

```
AwarenessError
├── TransportError               the server could not be reached, or did not answer in time
├── WaitTimeout                  a purchase or job did not finish within the wait's timeout
├── DeliveryFailed               a purchase ended ``failed`` (its ``error`` says why)
├── AlignmentFailed              an alignment job ended ``failed``
├── IntegrityError               a download's sha256 differs from the server's X-Content-SHA256
└── ApiError                     the API answered with an error document (status, code, message, details)
    ├── BadRequest (400)
    │   └── ValidationError      code validation_error / invalid: ``details`` names the fields
    ├── AuthenticationFailed (401)
    ├── InsufficientFunds (402)
    ├── PermissionDenied (403)
    │   └── QuotaExceeded        the daily alignment-job quota is used up; ``retry_after`` in seconds
    ├── NotFound (404)
    ├── MethodNotAllowed (405)
    ├── Conflict (409)
    │   ├── NotDelivered         the purchase is not delivered yet
    │   └── NotExportable        the delivered vector cannot be written in that format
    ├── PayloadTooLarge (413)
    ├── UnsupportedMediaType (415)
    ├── RateLimited (429)        ``retry_after`` in seconds
    └── ServerError (5xx)
        └── ServiceUnavailable   503 ``database_unavailable``: nothing was applied; repeat the same request
```
"""

from __future__ import annotations

from typing import Any


class AwarenessError(Exception):
    """Base class of every error the SDK raises on purpose."""


class TransportError(AwarenessError):
    """The request did not get an HTTP answer (connection refused, DNS, timeout), after the retries."""


class WaitTimeout(AwarenessError):
    """A wait for a purchase's delivery or an alignment job ran out of time; ``last`` is the last state seen."""

    def __init__(self, message: str, last: Any = None) -> None:
        super().__init__(message)
        self.last = last


class DeliveryFailed(AwarenessError):
    """A purchase ended in status ``failed``; ``purchase`` is its final state."""

    def __init__(self, message: str, purchase: Any = None) -> None:
        super().__init__(message)
        self.purchase = purchase


class AlignmentFailed(AwarenessError):
    """An alignment job ended in status ``failed``; ``job`` is its final state."""

    def __init__(self, message: str, job: Any = None) -> None:
        super().__init__(message)
        self.job = job


class IntegrityError(AwarenessError):
    """A downloaded file's sha256 is not the one the server announced (X-Content-SHA256)."""


class ApiError(AwarenessError):
    """The API answered with an error: HTTP ``status``, machine ``code``, human ``message`` and ``details``."""

    status: int = 0

    def __init__(self, status: int, code: str, message: str, details: Any = None, *,
                 method: str = "", url: str = "", headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}" + (f" ({method} {url})" if url else ""))
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.method = method
        self.url = url
        self.headers = dict(headers or {})


class BadRequest(ApiError):
    """400: the request is malformed."""


class ValidationError(BadRequest):
    """400 ``validation_error`` / ``invalid``: ``details`` maps each bad field or parameter to its messages."""


class AuthenticationFailed(ApiError):
    """401: no API key, or an invalid or revoked one."""


class InsufficientFunds(ApiError):
    """402 ``insufficient_funds``: the AMEM balance does not cover the price."""


class PermissionDenied(ApiError):
    """403: the key's user may not do this."""


class NotFound(ApiError):
    """404: no such object (or not yours), no active matrix for the pair, no certificate yet."""


class MethodNotAllowed(ApiError):
    """405: the endpoint does not take this HTTP method."""


class Conflict(ApiError):
    """409: the request conflicts with the current state (e.g. the listing is not for sale)."""


class NotDelivered(Conflict):
    """409 ``not_delivered``: the purchase's vector can be downloaded once it is delivered."""


class NotExportable(Conflict):
    """409 ``not_exportable``: the delivered vector cannot be written in this format (e.g. layer 0/1 as GGUF)."""


class PayloadTooLarge(ApiError):
    """413: the upload is over the server's limit (``details["max_bytes"]``)."""


class UnsupportedMediaType(ApiError):
    """415: the request body's content type is not accepted."""


class _RetryAfter:
    """``retry_after``: seconds the server asks to wait (Retry-After header, else ``details["retry_after"]``)."""

    headers: dict[str, str]
    details: Any

    @property
    def retry_after(self) -> float | None:
        """Seconds to wait before retrying (the Retry-After header, else the error's details), None if unknown."""
        value = self.headers.get("retry-after")
        if value is None and isinstance(self.details, dict):
            value = self.details.get("retry_after")
        try:
            return float(value) if value is not None else None
        except (TypeError, ValueError):
            return None


class QuotaExceeded(_RetryAfter, PermissionDenied):
    """403 ``quota_exceeded``: the daily alignment-job quota is used up; ``retry_after`` says when one frees up."""


class RateLimited(_RetryAfter, ApiError):
    """429 ``throttled``: too many requests; ``retry_after`` is the seconds the server asks to wait."""


class ServerError(ApiError):
    """5xx: the server failed; idempotent requests were retried before this is raised."""


class ServiceUnavailable(_RetryAfter, ServerError):
    """503 ``database_unavailable``: the database went away mid-request and nothing was applied; repeat the same
    request (a purchase with the same idempotency key) after ``retry_after`` seconds."""


#: error code → class; the API's codes (marketplace.errors and the DRF exceptions it renders).
CODE_ERRORS: dict[str, type[ApiError]] = {
    "validation_error": ValidationError,
    "invalid": ValidationError,
    "parse_error": BadRequest,
    "bad_request": BadRequest,
    "not_authenticated": AuthenticationFailed,
    "authentication_failed": AuthenticationFailed,
    "insufficient_funds": InsufficientFunds,
    "permission_denied": PermissionDenied,
    "quota_exceeded": QuotaExceeded,
    "not_found": NotFound,
    "certificate_not_found": NotFound,
    "method_not_allowed": MethodNotAllowed,
    "conflict": Conflict,
    "not_delivered": NotDelivered,
    "not_exportable": NotExportable,
    "payload_too_large": PayloadTooLarge,
    "unsupported_media_type": UnsupportedMediaType,
    "throttled": RateLimited,
    "server_error": ServerError,
    "database_unavailable": ServiceUnavailable,
}

#: HTTP status → class, for a code the SDK does not know.
STATUS_ERRORS: dict[int, type[ApiError]] = {
    400: BadRequest, 401: AuthenticationFailed, 402: InsufficientFunds, 403: PermissionDenied, 404: NotFound,
    405: MethodNotAllowed, 409: Conflict, 413: PayloadTooLarge, 415: UnsupportedMediaType, 429: RateLimited,
}


def error_class(status: int, code: str) -> type[ApiError]:
    """The exception class of an API error: by `code`, else by `status` (5xx → ServerError), else ApiError."""
    if code in CODE_ERRORS:
        return CODE_ERRORS[code]
    if status >= 500:
        return ServerError
    return STATUS_ERRORS.get(status, ApiError)
