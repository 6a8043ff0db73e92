"""Views of vector listings (``/api/v1/vectors/``): browse, sell, and the free compatibility estimate."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from marketplace.alignment import estimates
from marketplace.api import filters
from marketplace.api import serializers as s
from marketplace.api.exceptions import ApiError, PayloadTooLarge
from marketplace.api.views.common import PUBLIC_ID, _errors, _refuse_large_body, vector_upload_max_bytes
from marketplace.catalog import listings
from marketplace.catalog.models import VectorListing
from marketplace.errors import NotFound

ALIGNMENT_HINT = "request alignment via POST /api/v1/alignment-jobs/"



@extend_schema_view(
    list=extend_schema(
        summary="Browse vector listings",
        tags=["vectors"],
        description=("Each listing as a summary (no description, no package metadata): the detail view "
                     "`/api/v1/vectors/{public_id}/` has both."),
        responses={200: s.VectorListingSummarySerializer(many=True), **_errors(400)},
    ),
    retrieve=extend_schema(summary="One listing", tags=["vectors"],
                           responses={200: s.VectorListingSerializer, **_errors(404)}),
    create=extend_schema(
        summary="Sell a capability vector (multipart upload of a safetensors file or a vector package)",
        description=(
            "`vector` is a safetensors file holding one 1-D float vector of the source model's hidden size (then "
            "`layer` is required), or a vector package (`.vpkg`) of the source model: its `source_model` must be "
            "the listing's, its hidden size the model's, and `layer` one of its layers (omitted: its only layer). "
            "The package metadata is shown as the listing's `package`."
        ),
        tags=["vectors"],
        request={"multipart/form-data": s.VectorListingCreateSerializer},
        responses={201: s.VectorListingSerializer, **_errors(400, 401, 413)},
    ),
)
class VectorListingViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Capability-vector listings: public reads, authenticated sellers create."""

    queryset = VectorListing.objects.select_related("source_model", "seller")
    serializer_class = s.VectorListingSerializer
    permission_classes = [permissions.IsAuthenticatedOrReadOnly]
    lookup_field = "public_id"
    lookup_value_regex = PUBLIC_ID
    filterset_class = filters.VectorListingFilter

    def get_queryset(self):
        """Active listings, the caller's own in any status, every listing for staff (listings.visible_listings)."""
        return listings.visible_listings(self.request.user, super().get_queryset())

    def get_serializer_class(self):
        return s.VectorListingSummarySerializer if self.action == "list" else s.VectorListingSerializer

    def create(self, request, *args, **kwargs):
        limit = vector_upload_max_bytes()
        _refuse_large_body(request, limit)
        payload = s.VectorListingCreateSerializer(data=request.data, context=self.get_serializer_context())
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        upload = data["vector"]
        if upload.size > limit:
            raise PayloadTooLarge(f"Vector file of {upload.size} bytes exceeds the {limit}-byte limit.",
                                  details={"max_bytes": limit, "size": upload.size})
        listing = listings.create_listing(
            seller=request.user,
            name=data["name"],
            description=data["description"],
            source_model=data["source_model"],
            layer=data.get("layer"),
            capability_domain=data["capability_domain"],
            grade=data["grade"],
            price=data["price"],
            vector_bytes=upload.read(),
        )
        body = self.get_serializer(listing).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["url"]})

    @extend_schema(
        summary="Free compatibility estimate of this listing on a target model",
        tags=["vectors"],
        parameters=[s.CompatibilityQuerySerializer],
        responses={200: s.CompatibilityEstimateSerializer, **_errors(400, 404)},
    )
    @action(detail=True, methods=["get"], permission_classes=[permissions.AllowAny])
    def compatibility(self, request, public_id=None):
        listing = self.get_object()
        query = s.CompatibilityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        target = query.validated_data["target_model"]
        try:
            estimate = estimates.estimate_for(
                listing,
                target,
                quantization=query.validated_data["quantization"] or None,
                custom_fine_tune=query.validated_data["custom_fine_tune"],
                context_length=query.validated_data["context_length"],
            )
        except NotFound as exc:
            raise ApiError(
                f"{exc} ({ALIGNMENT_HINT})",
                status_code=status.HTTP_404_NOT_FOUND,
                code=exc.code,
                details={
                    **getattr(exc, "extra", {}),
                    "source": listing.source_model.name,
                    "target": target.name,
                    "hint": ALIGNMENT_HINT,
                    "alignment_jobs_url": request.build_absolute_uri(reverse("api:alignment-job-list")),
                },
            ) from exc
        return Response(s.CompatibilityEstimateSerializer(estimate, context=self.get_serializer_context()).data)

