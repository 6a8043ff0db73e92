"""Serializers of signed quality certificates."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from alignment_plugins.certificate import ALGORITHM
from marketplace.alignment.certificates import verify_certificate
from marketplace.alignment.models import QualityCertificate
from marketplace.api.serializers.common import _absolute


class CertificateSerializer(serializers.ModelSerializer):
    """A quality certificate: the signed document (payload, algorithm, key_id, signature) plus links;
    `signature_valid` is checked on every read."""

    id = serializers.CharField(source="public_id", read_only=True)
    url = serializers.SerializerMethodField()
    html_url = serializers.SerializerMethodField()
    matrix = serializers.CharField(source="matrix.public_id", read_only=True)
    algorithm = serializers.SerializerMethodField()
    signature_valid = serializers.SerializerMethodField()

    class Meta:
        model = QualityCertificate
        fields = ["id", "url", "html_url", "matrix", "tier", "metrics", "anchor_set_hash", "payload", "algorithm",
                  "signature", "key_id", "issued_at", "signature_valid"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: QualityCertificate) -> str:
        return _absolute(self, "certificate-detail", public_id=obj.public_id)

    @extend_schema_field(OpenApiTypes.URI)
    def get_html_url(self, obj: QualityCertificate) -> str:
        return _absolute(self, "certificate-html", public_id=obj.public_id)

    def get_algorithm(self, obj: QualityCertificate) -> str:
        return ALGORITHM

    def get_signature_valid(self, obj: QualityCertificate) -> bool:
        return bool(verify_certificate(obj))

