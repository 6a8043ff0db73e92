"""REST API views (``/api/v1/``): thin HTTP adapters over the catalog and alignment services."""

from __future__ import annotations

import hashlib
import mimetypes

from django.conf import settings
from django.http import FileResponse, HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response

from alignment_plugins.manager import get_plugin_manager
from marketplace import events
from marketplace.alignment import certificates, drift, estimates, multihop, ondemand, support, uploads
from marketplace.alignment.models import AlignmentJob, DriftCheck, QualityCertificate, WMatrix
from marketplace.api import filters
from marketplace.api import serializers as s
from marketplace.api.exceptions import ApiError, PayloadTooLarge
from marketplace.api.schema import ObjectListSchema
from marketplace.catalog import delivery, ledger, listings, purchases
from marketplace.catalog.models import MODEL_NAME_PATTERN, Architecture, Purchase, VectorListing
from marketplace.errors import NotFound

PUBLIC_ID = r"[A-Za-z0-9_]+"
ALIGNMENT_HINT = "request alignment via POST /api/v1/alignment-jobs/"
DEFAULT_VECTOR_UPLOAD_MAX_BYTES = 4 << 20
MULTIPART_OVERHEAD = 64 << 10

ERROR_RESPONSE = inline_serializer(
    name="Error",
    fields={
        "error": inline_serializer(
            name="ErrorBody",
            fields={
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "details": serializers.JSONField(allow_null=True),
            },
        )
    },
)


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: OpenApiResponse(ERROR_RESPONSE) for code in codes}


def vector_upload_max_bytes() -> int:
    """The largest accepted vector file (settings.MAX_VECTOR_UPLOAD_BYTES, as the catalog service uses)."""
    return int(getattr(settings, "MAX_VECTOR_UPLOAD_BYTES", None) or DEFAULT_VECTOR_UPLOAD_MAX_BYTES)


def _refuse_large_body(request, limit: int) -> None:
    """413 before the body is read when the declared multipart body exceeds an upload limit of `limit` bytes."""
    try:
        content_length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        content_length = 0
    if content_length > limit + MULTIPART_OVERHEAD:
        raise PayloadTooLarge(f"Request body of {content_length} bytes exceeds the upload limit.",
                              details={"max_bytes": limit})


class FileDownloadNegotiation(DefaultContentNegotiation):
    """Content negotiation of file downloads whose `format` query parameter names the file format.

    DRF reads `?format=` as a renderer override (404 for an unknown renderer); here the file format is the
    view's business, and errors are rendered as JSON.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = next((r for r in renderers if r.format == "json"), renderers[0])
        return renderer, renderer.media_type


def _file_response(field_file, filename: str, content_type: str | None = None) -> FileResponse:
    handle = field_file.open("rb")
    content_type = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)


# ----------------------------------------------------------------------------------------------- models
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


# ---------------------------------------------------------------------------------------------- vectors
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


# -------------------------------------------------------------------------------------------- matrices
@extend_schema_view(
    list=extend_schema(
        summary="W-Matrix versions",
        tags=["wmatrices"],
    ),
    retrieve=extend_schema(summary="One W-Matrix version", tags=["wmatrices"],
                           responses={200: s.WMatrixSerializer, **_errors(404)}),
    create=extend_schema(
        summary="Register a trained W-Matrix (multipart upload of a .wmatrix file)",
        description=("The file is validated like every stored matrix (format, shapes, dtypes, finiteness, integrity "
                     "digest; registered models' hidden sizes and weight fingerprints); you become its owner, it is "
                     "stored as its pair's next version and certified here. Unknown models are registered (partial) "
                     "from the file's metadata. 409 when the pair's active matrix belongs to someone else."),
        tags=["wmatrices"], request={"multipart/form-data": s.WMatrixUploadSerializer},
        responses={201: s.WMatrixSerializer, **_errors(400, 401, 409, 413)},
    ),
)
class WMatrixViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """W-Matrix versions, their files and certificates; authenticated users register their own."""

    queryset = WMatrix.objects.select_related("source", "target", "owner")
    serializer_class = s.WMatrixSerializer
    permission_classes = [permissions.IsAuthenticatedOrReadOnly]
    lookup_field = "public_id"
    lookup_value_regex = PUBLIC_ID
    filterset_class = filters.WMatrixFilter

    def create(self, request, *args, **kwargs):
        limit = int(settings.MAX_WMATRIX_UPLOAD_BYTES)
        _refuse_large_body(request, limit)
        payload = s.WMatrixUploadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        upload = payload.validated_data["file"]
        if upload.size > limit:
            raise PayloadTooLarge(f"File of {upload.size} bytes exceeds the {limit}-byte limit.",
                                  details={"max_bytes": limit, "size": upload.size})
        matrix = uploads.upload_matrix(user=request.user, data=upload.read(), name=payload.validated_data["name"])
        body = self.get_serializer(matrix).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["url"]})

    @extend_schema(summary="Download the .wmatrix file (safetensors)", tags=["wmatrices"],
                   responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **_errors(404)})
    @action(detail=True, methods=["get"])
    def download(self, request, public_id=None):
        matrix = self.get_object()
        if not matrix.file:
            raise ApiError("This matrix has no file.", status_code=404, code="not_found")
        filename = f"{matrix.source.name}__{matrix.target.name}__v{matrix.version}.wmatrix"
        response = _file_response(matrix.file, filename, "application/octet-stream")
        response["X-Content-SHA256"] = matrix.file_sha256
        return response

    @extend_schema(summary="The matrix's latest quality certificate", tags=["wmatrices"],
                   responses={200: s.CertificateSerializer, **_errors(404)})
    @action(detail=True, methods=["get"])
    def certificate(self, request, public_id=None):
        matrix = self.get_object()
        cert = matrix.certificates.order_by("-issued_at", "-id").first()
        if cert is None:
            raise ApiError("No certificate has been issued for this matrix.", status_code=404,
                           code="certificate_not_found")
        return Response(s.CertificateSerializer(cert, context=self.get_serializer_context()).data)


#: The certificate page is self-contained: inline CSS, images as data URIs, no scripts, nothing fetched.
CERTIFICATE_PAGE_CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; "
                        "form-action 'none'")


@extend_schema_view(
    list=extend_schema(summary="Quality certificates (newest first)", tags=["certificates"]),
    retrieve=extend_schema(
        summary="One quality certificate: the signed document",
        description=(
            "`payload`, `algorithm`, `key_id` and `signature` form the signed document; save the response as "
            "cert.json and check it with `python -m alignment_plugins verify-certificate cert.json --key-file KEY` "
            "(other fields are informational and not signed). `signature_valid` is checked on every read."
        ),
        tags=["certificates"], responses={200: s.CertificateSerializer, **_errors(404)},
    ),
)
class CertificateViewSet(viewsets.ReadOnlyModelViewSet):
    """Signed quality certificates of W-Matrices, as JSON documents and as self-contained HTML pages."""

    queryset = QualityCertificate.objects.select_related("matrix__source", "matrix__target").order_by(
        "-issued_at", "-id")
    serializer_class = s.CertificateSerializer
    permission_classes = [permissions.AllowAny]
    lookup_field = "public_id"
    lookup_value_regex = PUBLIC_ID
    filterset_class = filters.CertificateFilter

    @extend_schema(summary="The certificate as a self-contained HTML page (tier, metrics, plots, signature)",
                   tags=["certificates"], responses={(200, "text/html"): OpenApiTypes.STR, **_errors(404)})
    @action(detail=True, methods=["get"], url_path="html")
    def html(self, request, public_id=None):
        cert = self.get_object()
        response = HttpResponse(certificates.certificate_html(cert), content_type="text/html; charset=utf-8")
        response["Content-Security-Policy"] = CERTIFICATE_PAGE_CSP
        response["X-Content-Type-Options"] = "nosniff"
        return response


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


# ------------------------------------------------------------------------------------------- purchases
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


# -------------------------------------------------------------------------------------------- alignment
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


# ----------------------------------------------------------------------------------------------- drift
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


# -------------------------------------------------------------------------------------------- plugins
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


# -------------------------------------------------------------------------------------------- accounts
class AccountViewSet(viewsets.GenericViewSet):
    """The caller's account."""

    serializer_class = s.AccountSerializer
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(summary="Your AMEM balance and recent ledger entries", tags=["accounts"],
                   responses={200: s.AccountSerializer, **_errors(401)})
    @action(detail=False, methods=["get"])
    def me(self, request):
        account = ledger.get_account(request.user)
        return Response(self.get_serializer(account).data)


# -------------------------------------------------------------------------------------------- multi-hop
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
