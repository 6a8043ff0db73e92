"""Shared pieces of the API views: error responses in the schema, upload limits, file downloads."""

from __future__ import annotations

import mimetypes

from django.conf import settings
from django.http import FileResponse
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation

from marketplace.api.exceptions import PayloadTooLarge

PUBLIC_ID = r"[A-Za-z0-9_]+"
DEFAULT_VECTOR_UPLOAD_MAX_BYTES = 4 << 20
MULTIPART_OVERHEAD = 64 << 10

ERROR_RESPONSE = inline_serializer(
    name="Error",
    fields={
        "error": inline_serializer(
            name="ErrorBody",
            fields={
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "details": serializers.JSONField(allow_null=True),
            },
        )
    },
)


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: OpenApiResponse(ERROR_RESPONSE) for code in codes}


def vector_upload_max_bytes() -> int:
    """The largest accepted vector file (settings.MAX_VECTOR_UPLOAD_BYTES, as the catalog service uses)."""
    return int(getattr(settings, "MAX_VECTOR_UPLOAD_BYTES", None) or DEFAULT_VECTOR_UPLOAD_MAX_BYTES)


def _refuse_large_body(request, limit: int) -> None:
    """413 before the body is read when the declared multipart body exceeds an upload limit of `limit` bytes."""
    try:
        content_length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        content_length = 0
    if content_length > limit + MULTIPART_OVERHEAD:
        raise PayloadTooLarge(f"Request body of {content_length} bytes exceeds the upload limit.",
                              details={"max_bytes": limit})


class FileDownloadNegotiation(DefaultContentNegotiation):
    """Content negotiation of file downloads whose `format` query parameter names the file format.

    DRF reads `?format=` as a renderer override (404 for an unknown renderer); here the file format is the
    view's business, and errors are rendered as JSON.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = next((r for r in renderers if r.format == "json"), renderers[0])
        return renderer, renderer.media_type


def _file_response(field_file, filename: str, content_type: str | None = None) -> FileResponse:
    handle = field_file.open("rb")
    content_type = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)

