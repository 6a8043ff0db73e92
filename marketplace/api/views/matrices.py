"""Views of W-Matrix versions (``/api/v1/wmatrices/``): reads, uploads, file downloads, certificates."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from marketplace.alignment import uploads
from marketplace.alignment.models import WMatrix
from marketplace.api import filters
from marketplace.api import serializers as s
from marketplace.api.exceptions import ApiError, PayloadTooLarge
from marketplace.api.views.common import PUBLIC_ID, _errors, _file_response, _refuse_large_body


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

