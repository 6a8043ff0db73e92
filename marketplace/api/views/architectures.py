"""Views of model architectures (``/api/v1/models/``)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import permissions, viewsets

from marketplace.api import filters
from marketplace.api import serializers as s
from marketplace.api.views.common import _errors
from marketplace.catalog.models import MODEL_NAME_PATTERN, Architecture


@extend_schema_view(
    list=extend_schema(summary="List supported model architectures", tags=["models"]),
    retrieve=extend_schema(summary="One architecture: metadata, support level, active matrices", tags=["models"],
                           responses={200: s.ArchitectureDetailSerializer, **_errors(404)}),
)
class ArchitectureViewSet(viewsets.ReadOnlyModelViewSet):
    """Model architectures known to the marketplace."""

    queryset = Architecture.objects.all()
    serializer_class = s.ArchitectureSerializer
    permission_classes = [permissions.AllowAny]
    lookup_field = "name"
    lookup_value_regex = MODEL_NAME_PATTERN.strip("^$")
    filterset_class = filters.ArchitectureFilter

    def get_serializer_class(self):
        return s.ArchitectureDetailSerializer if self.action == "retrieve" else s.ArchitectureSerializer

