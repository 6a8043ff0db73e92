"""Views of on-demand alignment jobs (``/api/v1/alignment-jobs/``)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.response import Response

from marketplace.alignment import ondemand
from marketplace.alignment.models import AlignmentJob
from marketplace.api import serializers as s
from marketplace.api.views.common import PUBLIC_ID, _errors


@extend_schema_view(
    list=extend_schema(summary="Your alignment jobs", tags=["alignment"]),
    retrieve=extend_schema(summary="One alignment job: status, progress, ETA, resulting matrix", tags=["alignment"],
                           responses={200: s.AlignmentJobSerializer, **_errors(401, 404)}),
    create=extend_schema(
        summary="Request a W-Matrix for a pair that has none (GPU job), with an ETA at once",
        description=("A side may be a model given by `*_path` (a directory on the gpu worker under "
                     "ALIGNMENT_MODEL_ROOTS) or `*_endpoint` (a model endpoint allowed by ALIGNMENT_ENDPOINT_ALLOW), "
                     "registered under the name given. Non-staff users may request ALIGNMENT_JOB_DAILY_QUOTA jobs "
                     "per 24 h (beyond: 403 `quota_exceeded`). The answer's `estimate` holds the ETA from each model's "
                     "measured extraction throughput (an endpoint is probed now) and the anchor count, and the typical "
                     "retention of the model's family; `eta_seconds` and `progress` are updated per phase."),
        tags=["alignment"],
        request=s.AlignmentJobCreateSerializer,
        responses={202: s.AlignmentJobSerializer, **_errors(400, 401, 403, 409)},
    ),
)
class AlignmentJobViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """On-demand alignment jobs; any authenticated user may follow any job (jobs are shared per pair)."""

    serializer_class = s.AlignmentJobSerializer
    permission_classes = [permissions.IsAuthenticated]
    lookup_field = "public_id"
    lookup_value_regex = PUBLIC_ID

    def get_queryset(self):
        qs = AlignmentJob.objects.select_related("source", "target", "matrix")
        if self.action == "list" and not getattr(self, "swagger_fake_view", False):
            qs = qs.filter(requested_by=self.request.user)
        return qs

    def create(self, request, *args, **kwargs):
        payload = s.AlignmentJobCreateSerializer(data=request.data, context=self.get_serializer_context())
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        job = ondemand.request_on_demand(
            user=request.user, num_anchors=data["num_anchors"], source=data["source"], target=data["target"],
            source_path=data["source_path"] or None, source_endpoint=data["source_endpoint"] or None,
            target_path=data["target_path"] or None, target_endpoint=data["target_endpoint"] or None,
        )
        body = self.get_serializer(job).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]})

