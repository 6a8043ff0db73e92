"""Serializers of W-Matrix versions: reads, short references and the .wmatrix upload."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from marketplace.alignment.models import WMatrix
from marketplace.api.serializers.common import ArchitectureNameField, _absolute


class WMatrixSerializer(serializers.ModelSerializer):
    """One matrix version with its held-out metrics."""

    id = serializers.CharField(source="public_id", read_only=True)
    url = serializers.SerializerMethodField()
    source = ArchitectureNameField(read_only=True)
    target = ArchitectureNameField(read_only=True)
    best_metrics = serializers.DictField(read_only=True, help_text="held-out metrics of the best retrieval pair")
    recommended_pair = serializers.ListField(child=serializers.IntegerField(), read_only=True,
                                             help_text="[source layer, target layer] for vectors")
    recommended_metrics = serializers.DictField(source="headline_metrics", read_only=True,
                                                help_text="held-out metrics of the recommended pair (its tier)")
    download_url = serializers.SerializerMethodField()
    certificate_url = serializers.SerializerMethodField()
    owner = serializers.CharField(source="owner.get_username", read_only=True, allow_null=True, default=None,
                                  help_text="who uploaded it (null: trained by the marketplace)")

    class Meta:
        model = WMatrix
        fields = [
            "id", "url", "source", "target", "version", "method", "status", "layer_map", "recommended_pair",
            "recommended_metrics", "best_source_layer", "best_target_layer", "best_metrics", "metrics",
            "anchor_set_hash", "source_fingerprint", "target_fingerprint", "file_sha256", "validated_at",
            "created_at", "download_url", "certificate_url", "name", "owner",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: WMatrix) -> str:
        return _absolute(self, "wmatrix-detail", public_id=obj.public_id)

    @extend_schema_field(OpenApiTypes.URI)
    def get_download_url(self, obj: WMatrix) -> str:
        return _absolute(self, "wmatrix-download", public_id=obj.public_id)

    @extend_schema_field(OpenApiTypes.URI)
    def get_certificate_url(self, obj: WMatrix) -> str:
        return _absolute(self, "wmatrix-certificate", public_id=obj.public_id)



class MatrixRefSerializer(serializers.ModelSerializer):
    """A short reference to a matrix."""

    id = serializers.CharField(source="public_id", read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = WMatrix
        fields = ["id", "url", "version", "method", "status"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: WMatrix) -> str:
        return _absolute(self, "wmatrix-detail", public_id=obj.public_id)



class WMatrixUploadSerializer(serializers.Serializer):
    """Multipart upload of a trained .wmatrix (validated by the engine on the server)."""

    name = serializers.CharField(max_length=120, help_text="the name the matrix is registered under")
    file = serializers.FileField(help_text=".wmatrix file (safetensors with the engine's metadata and digest)")

