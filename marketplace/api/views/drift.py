"""Views of drift checks of W-Matrices (``/api/v1/drift-checks/``): read, request, act."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from marketplace import events
from marketplace.alignment import drift
from marketplace.alignment.models import DriftCheck, WMatrix
from marketplace.api import serializers as s
from marketplace.api.views.common import _errors


def _may_manage(user, matrix: WMatrix) -> bool:
    """Staff, or the user who uploaded the matrix, may ask for its checks and act on them."""
    return bool(user.is_staff or (matrix.owner_id is not None and matrix.owner_id == user.pk))


@extend_schema_view(
    list=extend_schema(summary="Drift checks (newest first); ?matrix=<id> for one matrix's", tags=["drift"],
                       parameters=[OpenApiParameter("matrix", str, description="a matrix's public id")]),
    retrieve=extend_schema(summary="One drift check: recommendation, reason and the monitor's structured result",
                           tags=["drift"], responses={200: s.DriftCheckSerializer, **_errors(401, 404)}),
    create=extend_schema(
        summary="Ask for a drift check of a matrix (gpu queue; staff or the matrix's owner)", tags=["drift"],
        request=s.DriftCheckRequestSerializer,
        responses={202: inline_serializer(name="DriftCheckQueued", fields={
            "matrix": serializers.CharField(), "status": serializers.CharField(), "checks_url": serializers.URLField(),
        }), **_errors(400, 401, 403)},
    ),
)
class DriftCheckViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Drift checks of W-Matrices by WMatrixMonitor: read by any authenticated user, requested and acted on by staff
    or the matrix's owner."""

    serializer_class = s.DriftCheckSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        qs = DriftCheck.objects.select_related("matrix__source", "matrix__target").order_by("-checked_at", "-id")
        matrix = self.request.query_params.get("matrix") if not getattr(self, "swagger_fake_view", False) else None
        return qs.filter(matrix__public_id=matrix) if matrix else qs

    def create(self, request, *args, **kwargs):
        payload = s.DriftCheckRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        matrix = payload.validated_data["matrix"]
        if not _may_manage(request.user, matrix):
            raise PermissionDenied("only staff or the matrix's owner may ask for its drift check")
        events.drift_check_due(matrix.id)
        url = request.build_absolute_uri(reverse("api:drift-check-list")) + f"?matrix={matrix.public_id}"
        return Response({"matrix": matrix.public_id, "status": "queued", "checks_url": url},
                        status=status.HTTP_202_ACCEPTED, headers={"Location": url})

    @extend_schema(summary="Do what the check recommends (recalibrate or retrain; staff or the matrix's owner)",
                   tags=["drift"], request=None, responses={200: s.DriftCheckSerializer, **_errors(401, 403, 404)})
    @action(detail=True, methods=["post"])
    def act(self, request, pk=None):
        check = self.get_object()
        if not _may_manage(request.user, check.matrix):
            raise PermissionDenied("only staff or the matrix's owner may act on its drift check")
        drift.act_on_check(check, user=request.user)
        return Response(self.get_serializer(check).data)

