"""View of the support matrix (``/api/v1/support-matrix/``): one row per pair with an active matrix."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import permissions, serializers, viewsets
from rest_framework.response import Response

from marketplace.alignment import support
from marketplace.api import serializers as s
from marketplace.api.schema import ObjectListSchema


@extend_schema_view(
    list=extend_schema(
        summary="Supported (source, target) pairs with tier and expected retention",
        tags=["wmatrices"],
        responses={200: inline_serializer(
            name="SupportMatrix",
            fields={"count": serializers.IntegerField(), "results": s.SupportMatrixRowSerializer(many=True)},
        )},
    ),
)
class SupportMatrixViewSet(viewsets.ViewSet):
    """The support matrix: one row per pair with an active matrix."""

    permission_classes = [permissions.AllowAny]
    schema = ObjectListSchema()  # one object {"count", "results"}, not an array

    def list(self, request):
        rows = support.support_matrix()
        return Response({"count": len(rows), "results": s.SupportMatrixRowSerializer(rows, many=True).data})

