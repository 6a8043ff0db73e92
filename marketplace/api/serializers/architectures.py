"""Serializers of model architectures (``/api/v1/models/``)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from marketplace.alignment.models import WMatrix
from marketplace.api.serializers.common import _absolute
from marketplace.catalog.models import Architecture


class ArchitectureSerializer(serializers.ModelSerializer):
    """Architecture metadata and support level."""

    runnable = serializers.BooleanField(read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Architecture
        fields = [
            "name", "url", "family", "kind", "support_level", "runnable", "hidden_size", "num_layers", "num_heads",
            "num_kv_heads", "activation", "positional_encoding", "normalization", "vocab_size", "adapter",
            "weight_fingerprint", "description", "registered_at", "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: Architecture) -> str:
        return _absolute(self, "model-detail", name=obj.name)


class ArchitectureDetailSerializer(ArchitectureSerializer):
    """Architecture detail: also its metadata and the active matrices it takes part in."""

    matrices = serializers.SerializerMethodField()

    class Meta(ArchitectureSerializer.Meta):
        fields = [*ArchitectureSerializer.Meta.fields, "metadata", "matrices"]
        read_only_fields = fields

    @extend_schema_field({
        "type": "object",
        "properties": {
            "as_source": {"type": "array", "items": {"type": "string"}},
            "as_target": {"type": "array", "items": {"type": "string"}},
        },
    })
    def get_matrices(self, obj: Architecture) -> dict[str, list[str]]:
        active = WMatrix.objects.filter(status=WMatrix.Status.ACTIVE)
        return {
            "as_source": sorted(set(active.filter(source=obj).values_list("target__name", flat=True))),
            "as_target": sorted(set(active.filter(target=obj).values_list("source__name", flat=True))),
        }

