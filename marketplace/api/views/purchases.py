"""Views of purchases (``/api/v1/purchases/``): idempotent buys and downloads of the delivered vector."""

from __future__ import annotations

import hashlib

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from marketplace.api import serializers as s
from marketplace.api.exceptions import ApiError
from marketplace.api.views.common import PUBLIC_ID, FileDownloadNegotiation, _errors
from marketplace.catalog import delivery, purchases
from marketplace.catalog.models import Purchase


@extend_schema_view(
    list=extend_schema(summary="Your purchases", tags=["purchases"]),
    retrieve=extend_schema(summary="One of your purchases (delivery status)", tags=["purchases"],
                           responses={200: s.PurchaseSerializer, **_errors(401, 404)}),
    create=extend_schema(
        summary="Buy a listing for a target model (asynchronous delivery)",
        description=(
            "Idempotent: give `idempotency_key` in the body or the `Idempotency-Key` header. A new purchase is "
            "202 Accepted with `Location`; repeating the same key returns the same purchase (200) without a "
            "second debit, whatever its state. A failed delivery is refunded (status `refunded`, `refunded_at`, "
            "`refund_reason`; the price back in the account): to try again, buy with a new key."
        ),
        tags=["purchases"],
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        request=s.PurchaseCreateSerializer,
        responses={202: s.PurchaseSerializer, 200: s.PurchaseSerializer, **_errors(400, 401, 402, 404, 409)},
    ),
)
class PurchaseViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Purchases of the authenticated buyer; other users' purchases are 404."""

    serializer_class = s.PurchaseSerializer
    permission_classes = [permissions.IsAuthenticated]
    lookup_field = "public_id"
    lookup_value_regex = PUBLIC_ID

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Purchase.objects.none()
        return Purchase.objects.filter(buyer=self.request.user).select_related(
            "listing", "listing__source_model", "target_model", "matrix"
        )

    def create(self, request, *args, **kwargs):
        payload = s.PurchaseCreateSerializer(data=request.data, context=self.get_serializer_context())
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        header_key = request.headers.get("Idempotency-Key", "").strip()
        body_key = data.get("idempotency_key", "").strip()
        if header_key and body_key and header_key != body_key:
            raise ValidationError({"idempotency_key": ["differs from the Idempotency-Key header"]})
        key = body_key or header_key
        if not key:
            raise ValidationError({"idempotency_key": ["required (in the body or the Idempotency-Key header)"]})
        if len(key) > s.MAX_IDEMPOTENCY_KEY:
            raise ValidationError({"idempotency_key": [f"at most {s.MAX_IDEMPOTENCY_KEY} characters"]})
        purchase, created = purchases.create_purchase(
            buyer=request.user, listing=data["listing"], target_model=data["target_model"], idempotency_key=key,
        )
        body = self.get_serializer(purchase).data
        code = status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
        headers = {"Location": body["status_url"], "Idempotent-Replayed": "false" if created else "true"}
        return Response(body, status=code, headers=headers)

    @extend_schema(summary="Download the translated vector (safetensors), once delivered", tags=["purchases"],
                   responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **_errors(401, 404, 409)})
    @action(detail=True, methods=["get"])
    def download(self, request, public_id=None):
        purchase = self.get_object()
        _require_delivered(purchase)
        return _delivery_response(purchase, "safetensors")

    @extend_schema(
        summary="Download the delivered vector as safetensors, a vector package or a llama.cpp control vector",
        description=(
            "`format=safetensors` (default): the delivered vector as tensor `vector`, the package's metadata as JSON "
            "under the header key `metadata` (same as `download/`). `format=vpkg`: the stored vector package of the "
            "target model, method `transferred`, with `transfer` metadata (matrix id and version, source model and "
            "layer, norm mode, norms). `format=gguf`: a llama.cpp control-vector GGUF "
            "(`--control-vector`), the delivered layer L written as `direction.{L-1}`, model hint from the target "
            "model's family; a vector delivered at layer 0 or 1, or for a model llama.cpp cannot run, is 409."
        ),
        tags=["purchases"],
        parameters=[OpenApiParameter("format", str, enum=list(delivery.DELIVERY_FORMATS),
                                     description="file format (default safetensors)")],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **_errors(400, 401, 404, 409)},
    )
    @action(detail=True, methods=["get"], url_path="vector", content_negotiation_class=FileDownloadNegotiation)
    def vector(self, request, public_id=None):
        purchase = self.get_object()
        fmt = request.query_params.get("format", "safetensors").strip().lower() or "safetensors"
        if fmt not in delivery.DELIVERY_FORMATS:
            raise ValidationError({"format": [f"must be one of {list(delivery.DELIVERY_FORMATS)}"]})
        _require_delivered(purchase)
        return _delivery_response(purchase, fmt)


def _delivery_response(purchase: Purchase, fmt: str) -> HttpResponse:
    """The delivered vector in `fmt` as an attachment, with its sha256 in ``X-Content-SHA256``."""
    filename = delivery.delivery_filename(purchase, fmt)
    content = delivery.delivery_bytes(purchase, fmt)
    response = HttpResponse(content, content_type=delivery.DELIVERY_FORMATS[fmt][1])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-SHA256"] = hashlib.sha256(content).hexdigest()
    return response


def _require_delivered(purchase: Purchase) -> None:
    if purchase.status != Purchase.Status.DELIVERED or not purchase.translated_vector:
        raise ApiError(
            f"Purchase {purchase.public_id} is {purchase.status}; the vector can be downloaded once delivered.",
            status_code=status.HTTP_409_CONFLICT,
            code="not_delivered",
            details={"status": purchase.status},
        )

