"""Views of multi-hop alignment (``/api/v1/multihop/``): the best chain of matrices and its graph."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import permissions, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from marketplace.alignment import multihop
from marketplace.api import serializers as s
from marketplace.api.schema import ObjectListSchema
from marketplace.api.views.common import _errors


@extend_schema_view(
    list=extend_schema(
        summary="Best chain of W-Matrices from a source model to a target (multi-hop alignment)",
        description=(
            "Searches the graph of active matrices (at most 3 hops; each hop's layer is the one the previous map "
            "delivers to) for the path with the highest estimated retention, each hop's retention estimated by the "
            "learned estimator at its layer pair; returns the path, its estimated retention (the product over hops) "
            "and the direct pair's. 404 when no chain reaches the target."
        ),
        tags=["wmatrices"], parameters=[s.MultiHopQuerySerializer],
        responses={200: s.MultiHopResultSerializer, **_errors(400, 404)},
    ),
)
class MultiHopViewSet(viewsets.ViewSet):
    """Multi-hop paths over the stored W-Matrices."""

    permission_classes = [permissions.AllowAny]
    schema = ObjectListSchema()  # one path object, not an array

    def list(self, request):
        query = s.MultiHopQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        result = multihop.find_path(data["source"], data["target"], layer=data["layer"],
                                    quantization=data["quantization"] or None, context_length=data["context_length"])
        return Response(s.MultiHopResultSerializer(result).data)

    @extend_schema(summary="The graph the multi-hop search runs on: models and active matrices with estimated "
                           "retention", tags=["wmatrices"], responses={200: s.MultiHopGraphSerializer})
    @action(detail=False, methods=["get"])
    def graph(self, request):
        return Response(s.MultiHopGraphSerializer(multihop.graph()).data)

