"""Views of signed quality certificates (``/api/v1/certificates/``), as JSON and as HTML pages."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import permissions, viewsets
from rest_framework.decorators import action

from marketplace.alignment import certificates
from marketplace.alignment.models import QualityCertificate
from marketplace.api import filters
from marketplace.api import serializers as s
from marketplace.api.views.common import PUBLIC_ID, _errors

#: The certificate page is self-contained: inline CSS, images as data URIs, no scripts, nothing fetched.
CERTIFICATE_PAGE_CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; "
                        "form-action 'none'")


@extend_schema_view(
    list=extend_schema(summary="Quality certificates (newest first)", tags=["certificates"]),
    retrieve=extend_schema(
        summary="One quality certificate: the signed document",
        description=(
            "`payload`, `algorithm`, `key_id` and `signature` form the signed document; save the response as "
            "cert.json and check it with `python -m alignment_plugins verify-certificate cert.json --key-file KEY` "
            "(other fields are informational and not signed). `signature_valid` is checked on every read."
        ),
        tags=["certificates"], responses={200: s.CertificateSerializer, **_errors(404)},
    ),
)
class CertificateViewSet(viewsets.ReadOnlyModelViewSet):
    """Signed quality certificates of W-Matrices, as JSON documents and as self-contained HTML pages."""

    queryset = QualityCertificate.objects.select_related("matrix__source", "matrix__target").order_by(
        "-issued_at", "-id")
    serializer_class = s.CertificateSerializer
    permission_classes = [permissions.AllowAny]
    lookup_field = "public_id"
    lookup_value_regex = PUBLIC_ID
    filterset_class = filters.CertificateFilter

    @extend_schema(summary="The certificate as a self-contained HTML page (tier, metrics, plots, signature)",
                   tags=["certificates"], responses={(200, "text/html"): OpenApiTypes.STR, **_errors(404)})
    @action(detail=True, methods=["get"], url_path="html")
    def html(self, request, public_id=None):
        cert = self.get_object()
        response = HttpResponse(certificates.certificate_html(cert), content_type="text/html; charset=utf-8")
        response["Content-Security-Policy"] = CERTIFICATE_PAGE_CSP
        response["X-Content-Type-Options"] = "nosniff"
        return response

