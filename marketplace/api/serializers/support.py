"""Serializers of the support matrix: one row per supported pair, with its measured retention."""

from __future__ import annotations

from rest_framework import serializers


class MeasuredValueSerializer(serializers.Serializer):
    """Measured steering-effect retention with its 95% interval and controls."""

    retention = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)
    random_control = serializers.FloatField(allow_null=True)
    shuffled_control = serializers.FloatField(allow_null=True)
    cosine = serializers.FloatField(allow_null=True)


class MeasuredCapabilitySerializer(MeasuredValueSerializer):
    """One measured capability of a pair."""

    capability = serializers.CharField()
    anti_steerable_fraction = serializers.FloatField(allow_null=True)
    n_prompts = serializers.IntegerField(allow_null=True)


class MeasuredRunSerializer(serializers.Serializer):
    """A pair's latest measured-retention run."""

    measured_at = serializers.DateTimeField()
    source_layer = serializers.IntegerField()
    target_layer = serializers.IntegerField()
    method = serializers.CharField(allow_blank=True)
    anchor_set_hash = serializers.CharField(allow_blank=True)
    median = MeasuredValueSerializer(allow_null=True)
    capabilities = MeasuredCapabilitySerializer(many=True)


class SupportMatrixRowSerializer(serializers.Serializer):
    """One supported (source, target) pair."""

    source = serializers.CharField()
    target = serializers.CharField()
    matrix_id = serializers.CharField()
    method = serializers.CharField()
    version = serializers.IntegerField(allow_null=True)
    tier = serializers.IntegerField(allow_null=True)
    best_pair = serializers.ListField(child=serializers.IntegerField(), allow_null=True)
    recommended_pair = serializers.ListField(child=serializers.IntegerField(), allow_null=True,
                                             help_text="the layer pair for vectors; the metrics describe it")
    semantic_preservation = serializers.FloatField(allow_null=True)
    accuracy = serializers.FloatField(allow_null=True)
    reconstruction_error = serializers.FloatField(allow_null=True)
    typical_retention = serializers.FloatField(allow_null=True)
    typical_retention_ci_low = serializers.FloatField(allow_null=True, help_text="95% interval (measured only)")
    typical_retention_ci_high = serializers.FloatField(allow_null=True)
    basis = serializers.CharField(allow_null=True, help_text='"measured_retention" when the pair was measured')
    measured_retention = MeasuredRunSerializer(allow_null=True, help_text="the pair's latest measured run")
    validated_at = serializers.DateTimeField(allow_null=True)

