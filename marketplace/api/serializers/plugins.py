"""Serializer of installed alignment plugins."""

from __future__ import annotations

from rest_framework import serializers


class PluginSerializer(serializers.Serializer):
    """An installed alignment plugin."""

    name = serializers.CharField()
    origin = serializers.CharField(help_text="builtin, entrypoint or registered")
    version = serializers.CharField(allow_blank=True)
    distribution = serializers.CharField(allow_blank=True)
    hooks = serializers.ListField(child=serializers.CharField())

