"""Serializers of drift checks of W-Matrices."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from marketplace.alignment.models import DriftCheck, WMatrix
from marketplace.api.serializers.common import _absolute


class DriftCheckSerializer(serializers.ModelSerializer):
    """One drift check: the monitor's recommendation, its reason and the structured result behind it."""

    url = serializers.SerializerMethodField()
    matrix = serializers.CharField(source="matrix.public_id", read_only=True)
    matrix_version = serializers.IntegerField(source="matrix.version", read_only=True)
    result = serializers.JSONField(read_only=True, help_text="WMatrixMonitor's DriftStatus: fingerprints compared, "
                                                             "metric deltas with intervals, the paired probe test")

    class Meta:
        model = DriftCheck
        fields = ["id", "url", "matrix", "matrix_version", "checked_at", "status", "drift_detected", "recommendation",
                  "drift", "fingerprint_changed", "detail", "action", "baseline", "observed", "result"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: DriftCheck) -> str:
        return _absolute(self, "drift-check-detail", pk=obj.pk)


class DriftCheckRequestSerializer(serializers.Serializer):
    """Ask for a drift check of a matrix (gpu queue)."""

    matrix = serializers.SlugRelatedField(slug_field="public_id", queryset=WMatrix.objects.all(),
                                          error_messages={"does_not_exist": "Unknown matrix {value}."})

