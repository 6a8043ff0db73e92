"""Serializers of purchases: the idempotent buy request and the delivery state."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from marketplace.api.serializers.common import AMEM_FIELD, ArchitectureNameField, _absolute
from marketplace.catalog.delivery import DELIVERY_FORMATS
from marketplace.catalog.models import Purchase, VectorListing

MAX_IDEMPOTENCY_KEY = 80



class PurchaseCreateSerializer(serializers.Serializer):
    """Buy `listing` for `target_model`; the idempotency key may also come as the Idempotency-Key header."""

    listing = serializers.SlugRelatedField(slug_field="public_id", queryset=VectorListing.objects.all(),
                                           error_messages={"does_not_exist": "Unknown listing {value}."})
    target_model = ArchitectureNameField()
    idempotency_key = serializers.CharField(max_length=MAX_IDEMPOTENCY_KEY, required=False)


class PurchaseSerializer(serializers.ModelSerializer):
    """A purchase and its delivery state; a failed delivery ends ``refunded`` (the price back in the account)."""

    id = serializers.CharField(source="public_id", read_only=True)
    listing = serializers.CharField(source="listing.public_id", read_only=True)
    listing_name = serializers.CharField(source="listing.name", read_only=True)
    source_model = serializers.CharField(source="listing.source_model.name", read_only=True)
    target_model = ArchitectureNameField(read_only=True)
    matrix = serializers.SlugRelatedField(slug_field="public_id", read_only=True, allow_null=True)
    price = serializers.DecimalField(**AMEM_FIELD, read_only=True)
    status_url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()
    vector_urls = serializers.SerializerMethodField()

    class Meta:
        model = Purchase
        fields = [
            "id", "status", "status_url", "listing", "listing_name", "source_model", "target_model", "price",
            "idempotency_key", "matrix", "target_layer", "error", "created_at", "delivered_at", "refunded_at",
            "refund_reason", "download_url", "vector_urls",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "error": {"help_text": "why the delivery failed, in a sentence (empty unless it failed)"},
            "refunded_at": {"help_text": "when the price went back to your account (status refunded)"},
            "refund_reason": {"help_text": 'why it was refunded: "delivery failed", or the operator\'s reason'},
        }

    @extend_schema_field(OpenApiTypes.URI)
    def get_status_url(self, obj: Purchase) -> str:
        return _absolute(self, "purchase-detail", public_id=obj.public_id)

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_download_url(self, obj: Purchase) -> str | None:
        if obj.status != Purchase.Status.DELIVERED or not obj.translated_vector:
            return None
        return _absolute(self, "purchase-download", public_id=obj.public_id)

    @extend_schema_field({"type": "object", "nullable": True, "additionalProperties": {"type": "string"},
                          "description": "download URL per format (safetensors, vpkg, gguf) once delivered"})
    def get_vector_urls(self, obj: Purchase) -> dict[str, str] | None:
        if obj.status != Purchase.Status.DELIVERED or not obj.translated_vector:
            return None
        base = _absolute(self, "purchase-vector", public_id=obj.public_id)
        return {fmt: f"{base}?format={fmt}" for fmt in DELIVERY_FORMATS}

