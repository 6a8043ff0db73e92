"""Serializers of multi-hop alignment: the path query, the best path and the graph it runs on."""

from __future__ import annotations

from rest_framework import serializers

from marketplace.api.serializers.common import ArchitectureNameField, StrictQuerySerializer


class MultiHopQuerySerializer(StrictQuerySerializer):
    """Query parameters of the multi-hop path search; any other parameter is refused (400)."""

    FIELDS = ("source", "target", "layer", "quantization", "context_length")
    source = ArchitectureNameField()
    target = ArchitectureNameField()
    layer = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=0,
                                     help_text="the vector's hidden-state layer in the source (default: its best)")
    quantization = serializers.CharField(required=False, allow_blank=True, max_length=40, default="",
                                         help_text="weight format of the target (as for compatibility estimates)")
    context_length = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1,
                                              help_text="prompt length on the target, in tokens")


class MultiHopHopSerializer(serializers.Serializer):
    """One matrix of a path."""

    source = serializers.CharField()
    target = serializers.CharField()
    source_layer = serializers.IntegerField()
    target_layer = serializers.IntegerField()
    estimated_retention = serializers.FloatField()
    matrix = serializers.CharField(help_text="public id of the W-Matrix")


class MultiHopResultSerializer(serializers.Serializer):
    """The best path of stored matrices and its estimated retention beside the direct pair's."""

    source = serializers.CharField()
    target = serializers.CharField()
    layer = serializers.IntegerField(allow_null=True)
    path = serializers.ListField(child=serializers.CharField())
    hops = MultiHopHopSerializer(many=True)
    estimated_retention = serializers.FloatField(help_text="product of the hops' estimated retentions")
    direct_retention = serializers.FloatField(allow_null=True, help_text="null: no direct matrix at that layer")
    direct_layers = serializers.ListField(child=serializers.IntegerField(), allow_null=True)
    improvement = serializers.FloatField(allow_null=True)
    target_config = serializers.JSONField()
    estimator = serializers.CharField(help_text="the retention estimator used (created_at/cases)")


class MultiHopEdgeSerializer(serializers.Serializer):
    """One active matrix as a graph edge, at its recommended layer pair."""

    source = serializers.CharField()
    target = serializers.CharField()
    matrix_id = serializers.CharField()
    version = serializers.IntegerField()
    pair = serializers.ListField(child=serializers.IntegerField())
    layer_pairs = serializers.IntegerField()
    estimated_retention = serializers.FloatField(allow_null=True)
    weight = serializers.FloatField(allow_null=True, help_text="−log(estimated retention)")


class MultiHopGraphSerializer(serializers.Serializer):
    """The graph the path search runs on."""

    nodes = serializers.ListField(child=serializers.CharField())
    edges = MultiHopEdgeSerializer(many=True)
    estimator = serializers.CharField()

