"""Serializers of the free compatibility estimate of a listing on a target model."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from marketplace.alignment.models import CompatibilityEstimate
from marketplace.api.serializers.common import ArchitectureNameField, StrictQuerySerializer
from marketplace.api.serializers.matrices import MatrixRefSerializer


class CompatibilityQuerySerializer(StrictQuerySerializer):
    """Query parameters of the compatibility estimate; any other parameter is refused (400), never ignored."""

    FIELDS = ("target_model", "quantization", "context_length", "custom_fine_tune")
    target_model = ArchitectureNameField()
    quantization = serializers.CharField(
        required=False, allow_blank=True, max_length=40, default="",
        help_text="weight format of the target: fp32 (default), fp16, bf16, int8, int4, nf4 or a GGUF level (q4_k_m…)")
    context_length = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1,
        help_text="prompt length you run at, in tokens (default: short prompts like the retention bench's); above "
                  "the target's maximum positions is a 400")
    custom_fine_tune = serializers.CharField(
        required=False, allow_blank=True, max_length=500, default="",
        help_text="your fine-tune of the target: a weight fingerprint sha256:<hex> (compared with the target's), a "
                  "checkpoint name or true (unverified: wider interval, and the estimate says why); false/empty: none")

    def validate(self, attrs):
        attrs = super().validate(attrs)
        fine_tune = attrs.get("custom_fine_tune", "").strip()
        attrs["custom_fine_tune"] = {"true": True, "1": True, "false": None, "0": None, "": None}.get(
            fine_tune.lower(), fine_tune)
        return attrs



class CompatibilityEstimateSerializer(serializers.ModelSerializer):
    """A free pre-purchase estimate."""

    listing = serializers.CharField(source="listing.public_id", read_only=True)
    source_model = serializers.CharField(source="listing.source_model.name", read_only=True)
    target_model = serializers.CharField(source="target.name", read_only=True)
    matrix = MatrixRefSerializer(read_only=True)
    matrix_version = serializers.IntegerField(source="matrix.version", read_only=True, allow_null=True,
                                              help_text="null for an identity estimate (same model)")
    ci_level = serializers.SerializerMethodField(help_text="nominal coverage of [ci_low, ci_high] (0.9 learned, "
                                                           "0.95 measured)")
    interval = serializers.SerializerMethodField(
        help_text="measured, conformal, conformal_wide (see reasons) or identity")
    reasons = serializers.SerializerMethodField(help_text="why the interval is the wide one")
    fine_tune = serializers.SerializerMethodField(
        help_text="the custom fine-tune check: status none, identical, different or unverified, and why")

    class Meta:
        model = CompatibilityEstimate
        fields = [
            "listing", "source_model", "target_model", "target_config", "retention", "ci_low", "ci_high",
            "ci_level", "interval", "reasons", "alignment_quality", "risk_level", "dimensional_loss",
            "structural_mismatch", "recommendation", "basis", "fine_tune", "matrix_version", "matrix", "computed_at",
        ]
        read_only_fields = fields

    def get_ci_level(self, obj: CompatibilityEstimate) -> float | None:
        return (obj.detail or {}).get("level")

    def get_interval(self, obj: CompatibilityEstimate) -> str | None:
        return (obj.detail or {}).get("interval")

    def get_reasons(self, obj: CompatibilityEstimate) -> list[str]:
        return list((obj.detail or {}).get("reasons") or [])

    @extend_schema_field({"type": "object", "additionalProperties": True})
    def get_fine_tune(self, obj: CompatibilityEstimate) -> dict:
        return dict((obj.detail or {}).get("fine_tune") or {})

