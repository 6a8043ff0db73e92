"""Serializers of vector listings (``/api/v1/vectors/``): reads, summaries and the multipart upload."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from marketplace.api.serializers.common import AMEM_FIELD, ArchitectureNameField, _absolute
from marketplace.catalog.models import VectorListing

MAX_LISTING_DESCRIPTION = 4000



class VectorListingSerializer(serializers.ModelSerializer):
    """A listing as the catalog shows it (the vector file itself is only delivered, translated, on purchase)."""

    id = serializers.CharField(source="public_id", read_only=True)
    url = serializers.SerializerMethodField()
    compatibility_url = serializers.SerializerMethodField()
    seller = serializers.CharField(source="seller.get_username", read_only=True)
    source_model = ArchitectureNameField(read_only=True)
    price = serializers.DecimalField(**AMEM_FIELD, read_only=True)
    package = serializers.SerializerMethodField(
        help_text="metadata of the uploaded vector package (method, capability, domain, contrastive_data_hash, "
                  "recommended_coefficient, layers, ...); null for a plain safetensors upload",
    )

    class Meta:
        model = VectorListing
        fields = [
            "id", "url", "name", "description", "seller", "source_model", "layer", "capability_domain", "grade",
            "price", "vector_dim", "vector_norm", "vector_sha256", "package", "status", "created_at", "updated_at",
            "compatibility_url",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "object", "nullable": True, "additionalProperties": True})
    def get_package(self, obj: VectorListing) -> dict | None:
        return obj.package or None

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: VectorListing) -> str:
        return _absolute(self, "vector-detail", public_id=obj.public_id)

    @extend_schema_field(OpenApiTypes.URI)
    def get_compatibility_url(self, obj: VectorListing) -> str:
        return _absolute(self, "vector-compatibility", public_id=obj.public_id)


class VectorListingSummarySerializer(VectorListingSerializer):
    """A listing as list pages show it: small and bounded (no description, no package metadata; both are on the
    listing's detail view). `capability` and `method` come from the package (null for a plain upload)."""

    capability = serializers.SerializerMethodField(help_text="the package's capability (null: a plain upload)")
    method = serializers.SerializerMethodField(help_text="the package's extraction method (null: a plain upload)")

    class Meta(VectorListingSerializer.Meta):
        fields = [
            "id", "url", "name", "seller", "source_model", "layer", "capability_domain", "capability", "method",
            "grade", "price", "vector_dim", "vector_norm", "vector_sha256", "status", "created_at", "updated_at",
            "compatibility_url",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "nullable": True})
    def get_capability(self, obj: VectorListing) -> str | None:
        return _package_text(obj.package, "capability")

    @extend_schema_field({"type": "string", "nullable": True})
    def get_method(self, obj: VectorListing) -> str | None:
        return _package_text(obj.package, "method")


def _package_text(package: dict | None, key: str) -> str | None:
    """A short text field of a listing's package metadata (at most 120 characters), or None."""
    value = (package or {}).get(key) if isinstance(package, dict) else None
    return str(value)[:120] if value is not None else None


class VectorListingCreateSerializer(serializers.Serializer):
    """Multipart upload of a listing; the vector file is validated by the catalog service."""

    name = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, allow_blank=True, default="",
                                        max_length=MAX_LISTING_DESCRIPTION)
    source_model = ArchitectureNameField()
    layer = serializers.IntegerField(
        min_value=0, required=False, allow_null=True, default=None,
        help_text="hidden-state layer of the vector (0 = embeddings); required for a plain safetensors file, "
                  "optional for a vector package with one layer",
    )
    capability_domain = serializers.CharField(max_length=60)
    grade = serializers.ChoiceField(choices=VectorListing.Grade.choices)
    price = serializers.DecimalField(**AMEM_FIELD, min_value=Decimal("0"))
    vector = serializers.FileField(
        help_text="safetensors file holding one 1-D float vector, or a vector package (.vpkg) of the source model"
    )

