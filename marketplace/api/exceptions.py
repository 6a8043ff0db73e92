"""One JSON error shape for the whole API: ``{"error": {"code", "message", "details"}}``.

DRF exceptions keep their status (400 validation, 401, 403, 404, 405, 415, 429 with ``Retry-After``), the
services' ``ServiceError`` subclasses map to theirs (400, 402, 404, 409), an upload over the limit is 413, a
database that went away mid-request (restart, failover: ``OperationalError``/``InterfaceError``) is 503 with
``Retry-After`` — its transaction was rolled back, so the same request (the same idempotency key) can be repeated —
and unknown URLs under ``/api/`` get the same shape from :func:`json_page_not_found`.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from marketplace.errors import ServiceError

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
#: seconds a client is asked to wait after a 503 for a lost database connection
DATABASE_RETRY_AFTER = 5


class ApiError(exceptions.APIException):
    """An API error with an explicit status, code, message and structured details."""

    def __init__(self, message: str, *, status_code: int = 400, code: str = "error", details: Any = None) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.code = code
        self.details = details


class PayloadTooLarge(ApiError):
    """413: the request body or an uploaded file is over the limit."""

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message, status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, code="payload_too_large",
                         details=details)


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """Return the JSON error document."""
    return {"error": {"code": code, "message": message, "details": details}}


def _first_message(detail: Any) -> str:
    """Return the first human-readable message inside a DRF error detail (for the summary line)."""
    if isinstance(detail, dict):
        for field, value in detail.items():
            inner = _first_message(value)
            if inner:
                return inner if field == "non_field_errors" else f"{field}: {inner}"
        return ""
    if isinstance(detail, list):
        return next((m for m in map(_first_message, detail) if m), "")
    return str(detail)


def _seconds(wait: float | None) -> int | None:
    return None if wait is None else max(1, math.ceil(wait))


def _from_drf(exc: exceptions.APIException) -> tuple[int, str, str, Any]:
    if isinstance(exc, ApiError):
        return exc.status_code, exc.code, str(exc.detail), exc.details
    if isinstance(exc, exceptions.ValidationError):
        summary = _first_message(exc.detail) or "The request is invalid; see details."
        return exc.status_code, "validation_error", summary, exc.detail
    if isinstance(exc, exceptions.Throttled):
        return exc.status_code, "throttled", str(exc.detail), {"retry_after": _seconds(exc.wait)}
    code = exc.get_codes() if not isinstance(exc.detail, dict | list) else exc.default_code
    details = exc.detail if isinstance(exc.detail, dict | list) else None
    message = _first_message(exc.detail) if details is not None else str(exc.detail)
    return exc.status_code, str(code), message, details


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF EXCEPTION_HANDLER: every handled error as ``{"error": {...}}``; unknown exceptions propagate (500)."""
    headers: dict[str, str] = {}
    if isinstance(exc, ServiceError):
        status_code, code, message = int(exc.status), exc.code, str(exc)
        details = dict(getattr(exc, "extra", None) or {}) or None
    elif isinstance(exc, RequestDataTooBig):
        status_code, code, message, details = 413, "payload_too_large", str(exc) or "Request body too large.", None
    elif isinstance(exc, Http404):
        status_code, code, message, details = 404, "not_found", "Not found.", None
    elif isinstance(exc, DjangoPermissionDenied):
        status_code, code, message, details = 403, "permission_denied", str(exc) or "Permission denied.", None
    elif isinstance(exc, OperationalError | InterfaceError):
        log.error("database unavailable during %s", context.get("request") and context["request"].path,
                  exc_info=exc)
        status_code, code, details = 503, "database_unavailable", {"retry_after": DATABASE_RETRY_AFTER}
        message = "The database is unavailable; nothing was applied. Retry the same request shortly."
        headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
    elif isinstance(exc, exceptions.APIException):
        status_code, code, message, details = _from_drf(exc)
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None) is not None:
            headers["Retry-After"] = str(_seconds(exc.wait))
    else:
        return None
    set_rollback()
    return Response(error_body(code, message, details), status=status_code, headers=headers)


def json_page_not_found(request, exception=None, template_name="404.html"):
    """handler404: the JSON error shape for URLs under /api/, Django's page elsewhere."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse(error_body("not_found", f"No endpoint at {request.path}."), status=404)
    return defaults.page_not_found(request, exception, template_name)


def json_server_error(request, template_name="500.html"):
    """handler500: the JSON error shape for URLs under /api/, Django's page elsewhere."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse(error_body("server_error", "Internal server error."), status=500)
    return defaults.server_error(request, template_name)


def json_bad_request(request, exception=None, template_name="400.html"):
    """handler400: JSON for /api/ (e.g. a body over DATA_UPLOAD_MAX_MEMORY_SIZE seen outside a view → 413)."""
    if request.path.startswith(API_PREFIX):
        if isinstance(exception, RequestDataTooBig):
            return JsonResponse(error_body("payload_too_large", str(exception)), status=413)
        return JsonResponse(error_body("bad_request", "Bad request."), status=400)
    return defaults.bad_request(request, exception, template_name)
