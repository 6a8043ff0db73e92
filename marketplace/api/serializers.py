"""Serializers of the REST API: public ids on the wire, model names for architectures, AMEM as strings."""

from __future__ import annotations

from decimal import Decimal

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from alignment_plugins.certificate import ALGORITHM
from marketplace.alignment.certificates import verify_certificate
from marketplace.alignment.models import AlignmentJob, CompatibilityEstimate, DriftCheck, QualityCertificate, WMatrix
from marketplace.catalog.delivery import DELIVERY_FORMATS
from marketplace.catalog.models import Account, Architecture, LedgerEntry, Purchase, VectorListing

AMEM_FIELD = {"max_digits": 18, "decimal_places": 4}
MAX_IDEMPOTENCY_KEY = 80
MAX_LISTING_DESCRIPTION = 4000


def _absolute(serializer: serializers.Serializer, url_name: str, /, **kwargs) -> str:
    url = reverse(f"api:{url_name}", kwargs=kwargs)
    request = serializer.context.get("request")
    return request.build_absolute_uri(url) if request is not None else url


class ArchitectureNameField(serializers.SlugRelatedField):
    """An architecture referenced by its canonical name."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("slug_field", "name")
        if not kwargs.get("read_only"):
            kwargs.setdefault("queryset", Architecture.objects.all())
        super().__init__(**kwargs)

    default_error_messages = {
        "does_not_exist": "Unknown model {value}; see /api/v1/models/.",
        "invalid": "Invalid model name.",
    }


# ----------------------------------------------------------------------------------------------- models
class ArchitectureSerializer(serializers.ModelSerializer):
    """Architecture metadata and support level."""

    runnable = serializers.BooleanField(read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Architecture
        fields = [
            "name", "url", "family", "kind", "support_level", "runnable", "hidden_size", "num_layers", "num_heads",
            "num_kv_heads", "activation", "positional_encoding", "normalization", "vocab_size", "adapter",
            "weight_fingerprint", "description", "registered_at", "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: Architecture) -> str:
        return _absolute(self, "model-detail", name=obj.name)


class ArchitectureDetailSerializer(ArchitectureSerializer):
    """Architecture detail: also its metadata and the active matrices it takes part in."""

    matrices = serializers.SerializerMethodField()

    class Meta(ArchitectureSerializer.Meta):
        fields = [*ArchitectureSerializer.Meta.fields, "metadata", "matrices"]
        read_only_fields = fields

    @extend_schema_field({
        "type": "object",
        "properties": {
            "as_source": {"type": "array", "items": {"type": "string"}},
            "as_target": {"type": "array", "items": {"type": "string"}},
        },
    })
    def get_matrices(self, obj: Architecture) -> dict[str, list[str]]:
        active = WMatrix.objects.filter(status=WMatrix.Status.ACTIVE)
        return {
            "as_source": sorted(set(active.filter(source=obj).values_list("target__name", flat=True))),
            "as_target": sorted(set(active.filter(target=obj).values_list("source__name", flat=True))),
        }


# ---------------------------------------------------------------------------------------------- vectors
class VectorListingSerializer(serializers.ModelSerializer):
    """A listing as the catalog shows it (the vector file itself is only delivered, translated, on purchase)."""

    id = serializers.CharField(source="public_id", read_only=True)
    url = serializers.SerializerMethodField()
    compatibility_url = serializers.SerializerMethodField()
    seller = serializers.CharField(source="seller.get_username", read_only=True)
    source_model = ArchitectureNameField(read_only=True)
    price = serializers.DecimalField(**AMEM_FIELD, read_only=True)
    package = serializers.SerializerMethodField(
        help_text="metadata of the uploaded vector package (method, capability, domain, contrastive_data_hash, "
                  "recommended_coefficient, layers, ...); null for a plain safetensors upload",
    )

    class Meta:
        model = VectorListing
        fields = [
            "id", "url", "name", "description", "seller", "source_model", "layer", "capability_domain", "grade",
            "price", "vector_dim", "vector_norm", "vector_sha256", "package", "status", "created_at", "updated_at",
            "compatibility_url",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "object", "nullable": True, "additionalProperties": True})
    def get_package(self, obj: VectorListing) -> dict | None:
        return obj.package or None

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: VectorListing) -> str:
        return _absolute(self, "vector-detail", public_id=obj.public_id)

    @extend_schema_field(OpenApiTypes.URI)
    def get_compatibility_url(self, obj: VectorListing) -> str:
        return _absolute(self, "vector-compatibility", public_id=obj.public_id)


class VectorListingSummarySerializer(VectorListingSerializer):
    """A listing as list pages show it: small and bounded (no description, no package metadata; both are on the
    listing's detail view). `capability` and `method` come from the package (null for a plain upload)."""

    capability = serializers.SerializerMethodField(help_text="the package's capability (null: a plain upload)")
    method = serializers.SerializerMethodField(help_text="the package's extraction method (null: a plain upload)")

    class Meta(VectorListingSerializer.Meta):
        fields = [
            "id", "url", "name", "seller", "source_model", "layer", "capability_domain", "capability", "method",
            "grade", "price", "vector_dim", "vector_norm", "vector_sha256", "status", "created_at", "updated_at",
            "compatibility_url",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "nullable": True})
    def get_capability(self, obj: VectorListing) -> str | None:
        return _package_text(obj.package, "capability")

    @extend_schema_field({"type": "string", "nullable": True})
    def get_method(self, obj: VectorListing) -> str | None:
        return _package_text(obj.package, "method")


def _package_text(package: dict | None, key: str) -> str | None:
    """A short text field of a listing's package metadata (at most 120 characters), or None."""
    value = (package or {}).get(key) if isinstance(package, dict) else None
    return str(value)[:120] if value is not None else None


class VectorListingCreateSerializer(serializers.Serializer):
    """Multipart upload of a listing; the vector file is validated by the catalog service."""

    name = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, allow_blank=True, default="",
                                        max_length=MAX_LISTING_DESCRIPTION)
    source_model = ArchitectureNameField()
    layer = serializers.IntegerField(
        min_value=0, required=False, allow_null=True, default=None,
        help_text="hidden-state layer of the vector (0 = embeddings); required for a plain safetensors file, "
                  "optional for a vector package with one layer",
    )
    capability_domain = serializers.CharField(max_length=60)
    grade = serializers.ChoiceField(choices=VectorListing.Grade.choices)
    price = serializers.DecimalField(**AMEM_FIELD, min_value=Decimal("0"))
    vector = serializers.FileField(
        help_text="safetensors file holding one 1-D float vector, or a vector package (.vpkg) of the source model"
    )


class StrictQuerySerializer(serializers.Serializer):
    """Query parameters where one the endpoint does not know is a 400 (never silently ignored)."""

    FIELDS: tuple[str, ...] = ()

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - {*self.FIELDS, "format"})
        if unknown:
            raise serializers.ValidationError({name: ["unknown parameter; accepted: " + ", ".join(self.FIELDS)]
                                               for name in unknown})
        return attrs


class CompatibilityQuerySerializer(StrictQuerySerializer):
    """Query parameters of the compatibility estimate; any other parameter is refused (400), never ignored."""

    FIELDS = ("target_model", "quantization", "context_length", "custom_fine_tune")
    target_model = ArchitectureNameField()
    quantization = serializers.CharField(
        required=False, allow_blank=True, max_length=40, default="",
        help_text="weight format of the target: fp32 (default), fp16, bf16, int8, int4, nf4 or a GGUF level (q4_k_m…)")
    context_length = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1,
        help_text="prompt length you run at, in tokens (default: short prompts like the retention bench's); above "
                  "the target's maximum positions is a 400")
    custom_fine_tune = serializers.CharField(
        required=False, allow_blank=True, max_length=500, default="",
        help_text="your fine-tune of the target: a weight fingerprint sha256:<hex> (compared with the target's), a "
                  "checkpoint name or true (unverified: wider interval, and the estimate says why); false/empty: none")

    def validate(self, attrs):
        attrs = super().validate(attrs)
        fine_tune = attrs.get("custom_fine_tune", "").strip()
        attrs["custom_fine_tune"] = {"true": True, "1": True, "false": None, "0": None, "": None}.get(
            fine_tune.lower(), fine_tune)
        return attrs


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


class CompatibilityEstimateSerializer(serializers.ModelSerializer):
    """A free pre-purchase estimate."""

    listing = serializers.CharField(source="listing.public_id", read_only=True)
    source_model = serializers.CharField(source="listing.source_model.name", read_only=True)
    target_model = serializers.CharField(source="target.name", read_only=True)
    matrix = MatrixRefSerializer(read_only=True)
    matrix_version = serializers.IntegerField(source="matrix.version", read_only=True, allow_null=True,
                                              help_text="null for an identity estimate (same model)")
    ci_level = serializers.SerializerMethodField(help_text="nominal coverage of [ci_low, ci_high] (0.9 learned, "
                                                           "0.95 measured)")
    interval = serializers.SerializerMethodField(
        help_text="measured, conformal, conformal_wide (see reasons) or identity")
    reasons = serializers.SerializerMethodField(help_text="why the interval is the wide one")
    fine_tune = serializers.SerializerMethodField(
        help_text="the custom fine-tune check: status none, identical, different or unverified, and why")

    class Meta:
        model = CompatibilityEstimate
        fields = [
            "listing", "source_model", "target_model", "target_config", "retention", "ci_low", "ci_high",
            "ci_level", "interval", "reasons", "alignment_quality", "risk_level", "dimensional_loss",
            "structural_mismatch", "recommendation", "basis", "fine_tune", "matrix_version", "matrix", "computed_at",
        ]
        read_only_fields = fields

    def get_ci_level(self, obj: CompatibilityEstimate) -> float | None:
        return (obj.detail or {}).get("level")

    def get_interval(self, obj: CompatibilityEstimate) -> str | None:
        return (obj.detail or {}).get("interval")

    def get_reasons(self, obj: CompatibilityEstimate) -> list[str]:
        return list((obj.detail or {}).get("reasons") or [])

    @extend_schema_field({"type": "object", "additionalProperties": True})
    def get_fine_tune(self, obj: CompatibilityEstimate) -> dict:
        return dict((obj.detail or {}).get("fine_tune") or {})


# -------------------------------------------------------------------------------------------- matrices
class CertificateSerializer(serializers.ModelSerializer):
    """A quality certificate: the signed document (payload, algorithm, key_id, signature) plus links;
    `signature_valid` is checked on every read."""

    id = serializers.CharField(source="public_id", read_only=True)
    url = serializers.SerializerMethodField()
    html_url = serializers.SerializerMethodField()
    matrix = serializers.CharField(source="matrix.public_id", read_only=True)
    algorithm = serializers.SerializerMethodField()
    signature_valid = serializers.SerializerMethodField()

    class Meta:
        model = QualityCertificate
        fields = ["id", "url", "html_url", "matrix", "tier", "metrics", "anchor_set_hash", "payload", "algorithm",
                  "signature", "key_id", "issued_at", "signature_valid"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: QualityCertificate) -> str:
        return _absolute(self, "certificate-detail", public_id=obj.public_id)

    @extend_schema_field(OpenApiTypes.URI)
    def get_html_url(self, obj: QualityCertificate) -> str:
        return _absolute(self, "certificate-html", public_id=obj.public_id)

    def get_algorithm(self, obj: QualityCertificate) -> str:
        return ALGORITHM

    def get_signature_valid(self, obj: QualityCertificate) -> bool:
        return bool(verify_certificate(obj))


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


class MeasuredValueSerializer(serializers.Serializer):
    """Measured steering-effect retention with its 95% interval and controls."""

    retention = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)
    random_control = serializers.FloatField(allow_null=True)
    shuffled_control = serializers.FloatField(allow_null=True)
    cosine = serializers.FloatField(allow_null=True)


class MeasuredCapabilitySerializer(MeasuredValueSerializer):
    """One measured capability of a pair."""

    capability = serializers.CharField()
    anti_steerable_fraction = serializers.FloatField(allow_null=True)
    n_prompts = serializers.IntegerField(allow_null=True)


class MeasuredRunSerializer(serializers.Serializer):
    """A pair's latest measured-retention run."""

    measured_at = serializers.DateTimeField()
    source_layer = serializers.IntegerField()
    target_layer = serializers.IntegerField()
    method = serializers.CharField(allow_blank=True)
    anchor_set_hash = serializers.CharField(allow_blank=True)
    median = MeasuredValueSerializer(allow_null=True)
    capabilities = MeasuredCapabilitySerializer(many=True)


class SupportMatrixRowSerializer(serializers.Serializer):
    """One supported (source, target) pair."""

    source = serializers.CharField()
    target = serializers.CharField()
    matrix_id = serializers.CharField()
    method = serializers.CharField()
    version = serializers.IntegerField(allow_null=True)
    tier = serializers.IntegerField(allow_null=True)
    best_pair = serializers.ListField(child=serializers.IntegerField(), allow_null=True)
    recommended_pair = serializers.ListField(child=serializers.IntegerField(), allow_null=True,
                                             help_text="the layer pair for vectors; the metrics describe it")
    semantic_preservation = serializers.FloatField(allow_null=True)
    accuracy = serializers.FloatField(allow_null=True)
    reconstruction_error = serializers.FloatField(allow_null=True)
    typical_retention = serializers.FloatField(allow_null=True)
    typical_retention_ci_low = serializers.FloatField(allow_null=True, help_text="95% interval (measured only)")
    typical_retention_ci_high = serializers.FloatField(allow_null=True)
    basis = serializers.CharField(allow_null=True, help_text='"measured_retention" when the pair was measured')
    measured_retention = MeasuredRunSerializer(allow_null=True, help_text="the pair's latest measured run")
    validated_at = serializers.DateTimeField(allow_null=True)


# ------------------------------------------------------------------------------------------- purchases
class PurchaseCreateSerializer(serializers.Serializer):
    """Buy `listing` for `target_model`; the idempotency key may also come as the Idempotency-Key header."""

    listing = serializers.SlugRelatedField(slug_field="public_id", queryset=VectorListing.objects.all(),
                                           error_messages={"does_not_exist": "Unknown listing {value}."})
    target_model = ArchitectureNameField()
    idempotency_key = serializers.CharField(max_length=MAX_IDEMPOTENCY_KEY, required=False)


class PurchaseSerializer(serializers.ModelSerializer):
    """A purchase and its delivery state; a failed delivery ends ``refunded`` (the price back in the account)."""

    id = serializers.CharField(source="public_id", read_only=True)
    listing = serializers.CharField(source="listing.public_id", read_only=True)
    listing_name = serializers.CharField(source="listing.name", read_only=True)
    source_model = serializers.CharField(source="listing.source_model.name", read_only=True)
    target_model = ArchitectureNameField(read_only=True)
    matrix = serializers.SlugRelatedField(slug_field="public_id", read_only=True, allow_null=True)
    price = serializers.DecimalField(**AMEM_FIELD, read_only=True)
    status_url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()
    vector_urls = serializers.SerializerMethodField()

    class Meta:
        model = Purchase
        fields = [
            "id", "status", "status_url", "listing", "listing_name", "source_model", "target_model", "price",
            "idempotency_key", "matrix", "target_layer", "error", "created_at", "delivered_at", "refunded_at",
            "refund_reason", "download_url", "vector_urls",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "error": {"help_text": "why the delivery failed, in a sentence (empty unless it failed)"},
            "refunded_at": {"help_text": "when the price went back to your account (status refunded)"},
            "refund_reason": {"help_text": 'why it was refunded: "delivery failed", or the operator\'s reason'},
        }

    @extend_schema_field(OpenApiTypes.URI)
    def get_status_url(self, obj: Purchase) -> str:
        return _absolute(self, "purchase-detail", public_id=obj.public_id)

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_download_url(self, obj: Purchase) -> str | None:
        if obj.status != Purchase.Status.DELIVERED or not obj.translated_vector:
            return None
        return _absolute(self, "purchase-download", public_id=obj.public_id)

    @extend_schema_field({"type": "object", "nullable": True, "additionalProperties": {"type": "string"},
                          "description": "download URL per format (safetensors, vpkg, gguf) once delivered"})
    def get_vector_urls(self, obj: Purchase) -> dict[str, str] | None:
        if obj.status != Purchase.Status.DELIVERED or not obj.translated_vector:
            return None
        base = _absolute(self, "purchase-vector", public_id=obj.public_id)
        return {fmt: f"{base}?format={fmt}" for fmt in DELIVERY_FORMATS}


# -------------------------------------------------------------------------------------------- alignment
class AlignmentJobCreateSerializer(serializers.Serializer):
    """Request a matrix for a pair that has none; a side may be a model given by path or endpoint, registered under
    the name given."""

    source = serializers.CharField(max_length=120, help_text="a registered model, or the name for source_path/"
                                                               "source_endpoint")
    target = serializers.CharField(max_length=120)
    num_anchors = serializers.IntegerField(min_value=1, default=2000)
    source_path = serializers.CharField(required=False, allow_blank=True, default="",
                                        help_text="model directory on the gpu worker (under ALIGNMENT_MODEL_ROOTS)")
    source_endpoint = serializers.URLField(required=False, allow_blank=True, default="",
                                           help_text="model endpoint URL (allowed by ALIGNMENT_ENDPOINT_ALLOW)")
    target_path = serializers.CharField(required=False, allow_blank=True, default="")
    target_endpoint = serializers.URLField(required=False, allow_blank=True, default="")

    def validate(self, attrs: dict) -> dict:
        for side in ("source", "target"):
            located = attrs.get(f"{side}_path") or attrs.get(f"{side}_endpoint")
            if not located and not Architecture.objects.filter(name=attrs[side]).exists():
                raise serializers.ValidationError({side: [f"Unknown model {attrs[side]}; see /api/v1/models/, or "
                                                          f"give {side}_path or {side}_endpoint."]})
        return attrs


class AlignmentJobSerializer(serializers.ModelSerializer):
    """An alignment job with progress and ETA."""

    id = serializers.CharField(source="public_id", read_only=True)
    status_url = serializers.SerializerMethodField()
    source = ArchitectureNameField(read_only=True)
    target = ArchitectureNameField(read_only=True)
    matrix = serializers.SlugRelatedField(slug_field="public_id", read_only=True, allow_null=True)

    class Meta:
        model = AlignmentJob
        fields = [
            "id", "status_url", "source", "target", "num_anchors", "status", "progress", "eta_seconds", "message",
            "matrix", "error", "created_at", "started_at", "finished_at", "source_location", "target_location",
            "estimate", "trigger",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_status_url(self, obj: AlignmentJob) -> str:
        return _absolute(self, "alignment-job-detail", public_id=obj.public_id)


class WMatrixUploadSerializer(serializers.Serializer):
    """Multipart upload of a trained .wmatrix (validated by the engine on the server)."""

    name = serializers.CharField(max_length=120, help_text="the name the matrix is registered under")
    file = serializers.FileField(help_text=".wmatrix file (safetensors with the engine's metadata and digest)")


class DriftCheckSerializer(serializers.ModelSerializer):
    """One drift check: the monitor's recommendation, its reason and the structured result behind it."""

    url = serializers.SerializerMethodField()
    matrix = serializers.CharField(source="matrix.public_id", read_only=True)
    matrix_version = serializers.IntegerField(source="matrix.version", read_only=True)
    result = serializers.JSONField(read_only=True, help_text="WMatrixMonitor's DriftStatus: fingerprints compared, "
                                                             "metric deltas with intervals, the paired probe test")

    class Meta:
        model = DriftCheck
        fields = ["id", "url", "matrix", "matrix_version", "checked_at", "status", "drift_detected", "recommendation",
                  "drift", "fingerprint_changed", "detail", "action", "baseline", "observed", "result"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: DriftCheck) -> str:
        return _absolute(self, "drift-check-detail", pk=obj.pk)


class DriftCheckRequestSerializer(serializers.Serializer):
    """Ask for a drift check of a matrix (gpu queue)."""

    matrix = serializers.SlugRelatedField(slug_field="public_id", queryset=WMatrix.objects.all(),
                                          error_messages={"does_not_exist": "Unknown matrix {value}."})


# -------------------------------------------------------------------------------------------- plugins
class PluginSerializer(serializers.Serializer):
    """An installed alignment plugin."""

    name = serializers.CharField()
    origin = serializers.CharField(help_text="builtin, entrypoint or registered")
    version = serializers.CharField(allow_blank=True)
    distribution = serializers.CharField(allow_blank=True)
    hooks = serializers.ListField(child=serializers.CharField())


# -------------------------------------------------------------------------------------------- accounts
class LedgerEntrySerializer(serializers.ModelSerializer):
    """One ledger row of the caller's account."""

    amount = serializers.DecimalField(**AMEM_FIELD, read_only=True)
    purchase = serializers.SlugRelatedField(slug_field="public_id", read_only=True, allow_null=True)

    class Meta:
        model = LedgerEntry
        fields = ["transaction_id", "kind", "amount", "memo", "purchase", "created_at"]
        read_only_fields = fields


class AccountSerializer(serializers.ModelSerializer):
    """The caller's AMEM balance and recent ledger entries."""

    username = serializers.CharField(source="user.get_username", read_only=True)
    balance = serializers.DecimalField(**AMEM_FIELD, read_only=True)
    currency = serializers.SerializerMethodField()
    recent_entries = serializers.SerializerMethodField()

    RECENT = 20

    class Meta:
        model = Account
        fields = ["username", "balance", "currency", "updated_at", "recent_entries"]
        read_only_fields = fields

    def get_currency(self, obj: Account) -> str:
        return "AMEM"

    @extend_schema_field(LedgerEntrySerializer(many=True))
    def get_recent_entries(self, obj: Account) -> list[dict]:
        entries = obj.entries.select_related("purchase").order_by("-created_at", "-id")[: self.RECENT]
        return LedgerEntrySerializer(entries, many=True, context=self.context).data


# -------------------------------------------------------------------------------------------- multi-hop
class MultiHopQuerySerializer(StrictQuerySerializer):
    """Query parameters of the multi-hop path search; any other parameter is refused (400)."""

    FIELDS = ("source", "target", "layer", "quantization", "context_length")
    source = ArchitectureNameField()
    target = ArchitectureNameField()
    layer = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=0,
                                     help_text="the vector's hidden-state layer in the source (default: its best)")
    quantization = serializers.CharField(required=False, allow_blank=True, max_length=40, default="",
                                         help_text="weight format of the target (as for compatibility estimates)")
    context_length = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1,
                                              help_text="prompt length on the target, in tokens")


class MultiHopHopSerializer(serializers.Serializer):
    """One matrix of a path."""

    source = serializers.CharField()
    target = serializers.CharField()
    source_layer = serializers.IntegerField()
    target_layer = serializers.IntegerField()
    estimated_retention = serializers.FloatField()
    matrix = serializers.CharField(help_text="public id of the W-Matrix")


class MultiHopResultSerializer(serializers.Serializer):
    """The best path of stored matrices and its estimated retention beside the direct pair's."""

    source = serializers.CharField()
    target = serializers.CharField()
    layer = serializers.IntegerField(allow_null=True)
    path = serializers.ListField(child=serializers.CharField())
    hops = MultiHopHopSerializer(many=True)
    estimated_retention = serializers.FloatField(help_text="product of the hops' estimated retentions")
    direct_retention = serializers.FloatField(allow_null=True, help_text="null: no direct matrix at that layer")
    direct_layers = serializers.ListField(child=serializers.IntegerField(), allow_null=True)
    improvement = serializers.FloatField(allow_null=True)
    target_config = serializers.JSONField()
    estimator = serializers.CharField(help_text="the retention estimator used (created_at/cases)")


class MultiHopEdgeSerializer(serializers.Serializer):
    """One active matrix as a graph edge, at its recommended layer pair."""

    source = serializers.CharField()
    target = serializers.CharField()
    matrix_id = serializers.CharField()
    version = serializers.IntegerField()
    pair = serializers.ListField(child=serializers.IntegerField())
    layer_pairs = serializers.IntegerField()
    estimated_retention = serializers.FloatField(allow_null=True)
    weight = serializers.FloatField(allow_null=True, help_text="−log(estimated retention)")


class MultiHopGraphSerializer(serializers.Serializer):
    """The graph the path search runs on."""

    nodes = serializers.ListField(child=serializers.CharField())
    edges = MultiHopEdgeSerializer(many=True)
    estimator = serializers.CharField()
