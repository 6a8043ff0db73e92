"""View of the installed alignment plugins (``/api/v1/plugins/``)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import permissions, viewsets
from rest_framework.response import Response

from alignment_plugins.manager import get_plugin_manager
from marketplace.api import serializers as s


@extend_schema_view(list=extend_schema(summary="Installed alignment plugins", tags=["plugins"],
                                       responses={200: s.PluginSerializer(many=True)}))
class PluginViewSet(viewsets.ViewSet):
    """Alignment plugins registered in this process (built-ins and allow-listed entry points)."""

    permission_classes = [permissions.AllowAny]

    def list(self, request):
        manager = get_plugin_manager()
        manager.load_entrypoint_plugins(settings.ALIGNMENT_PLUGINS_ALLOW)
        infos = [
            {"name": i.name, "origin": i.origin, "version": i.version, "distribution": i.distribution,
             "hooks": list(i.hooks)}
            for i in manager.plugin_infos()
        ]
        return Response(s.PluginSerializer(infos, many=True).data)

