"""Serializers of on-demand alignment jobs."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from marketplace.alignment.models import AlignmentJob
from marketplace.api.serializers.common import ArchitectureNameField, _absolute
from marketplace.catalog.models import Architecture


class AlignmentJobCreateSerializer(serializers.Serializer):
    """Request a matrix for a pair that has none; a side may be a model given by path or endpoint, registered under
    the name given."""

    source = serializers.CharField(max_length=120, help_text="a registered model, or the name for source_path/"
                                                               "source_endpoint")
    target = serializers.CharField(max_length=120)
    num_anchors = serializers.IntegerField(min_value=1, default=2000)
    source_path = serializers.CharField(required=False, allow_blank=True, default="",
                                        help_text="model directory on the gpu worker (under ALIGNMENT_MODEL_ROOTS)")
    source_endpoint = serializers.URLField(required=False, allow_blank=True, default="",
                                           help_text="model endpoint URL (allowed by ALIGNMENT_ENDPOINT_ALLOW)")
    target_path = serializers.CharField(required=False, allow_blank=True, default="")
    target_endpoint = serializers.URLField(required=False, allow_blank=True, default="")

    def validate(self, attrs: dict) -> dict:
        for side in ("source", "target"):
            located = attrs.get(f"{side}_path") or attrs.get(f"{side}_endpoint")
            if not located and not Architecture.objects.filter(name=attrs[side]).exists():
                raise serializers.ValidationError({side: [f"Unknown model {attrs[side]}; see /api/v1/models/, or "
                                                          f"give {side}_path or {side}_endpoint."]})
        return attrs


class AlignmentJobSerializer(serializers.ModelSerializer):
    """An alignment job with progress and ETA."""

    id = serializers.CharField(source="public_id", read_only=True)
    status_url = serializers.SerializerMethodField()
    source = ArchitectureNameField(read_only=True)
    target = ArchitectureNameField(read_only=True)
    matrix = serializers.SlugRelatedField(slug_field="public_id", read_only=True, allow_null=True)

    class Meta:
        model = AlignmentJob
        fields = [
            "id", "status_url", "source", "target", "num_anchors", "status", "progress", "eta_seconds", "message",
            "matrix", "error", "created_at", "started_at", "finished_at", "source_location", "target_location",
            "estimate", "trigger",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_status_url(self, obj: AlignmentJob) -> str:
        return _absolute(self, "alignment-job-detail", public_id=obj.public_id)

