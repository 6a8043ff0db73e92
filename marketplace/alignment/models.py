"""Alignment models: W-matrix versions, quality certificates, measured retention, compatibility estimates, drift
checks, jobs, task runs."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from marketplace.ids import factory


class WMatrix(models.Model):
    """One version of a fitted W-Matrix from `source` to `target`; the .wmatrix file is the source of truth."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        SUPERSEDED = "superseded"
        DRIFTED = "drifted"
        FAILED = "failed"

    public_id = models.CharField(max_length=24, unique=True, default=factory("wm"), editable=False)
    source = models.ForeignKey("catalog.Architecture", on_delete=models.PROTECT, related_name="matrices_out")
    target = models.ForeignKey("catalog.Architecture", on_delete=models.PROTECT, related_name="matrices_in")
    version = models.PositiveIntegerField(default=1)
    method = models.CharField(max_length=40)
    layer_map = models.JSONField(default=list, help_text="[[source_layer, target_layer], ...]")
    best_source_layer = models.PositiveIntegerField()
    best_target_layer = models.PositiveIntegerField()
    recommended_source_layer = models.PositiveIntegerField(
        null=True, blank=True, help_text="the pair for vectors (chosen on concept transfer); null: the best pair")
    recommended_target_layer = models.PositiveIntegerField(null=True, blank=True)
    file = models.FileField(upload_to="wmatrices/")
    file_sha256 = models.CharField(max_length=64)
    metrics = models.JSONField(default=dict, help_text="held-out metrics per layer pair (standardized spaces)")
    anchor_set_hash = models.CharField(max_length=80)
    source_fingerprint = models.CharField(max_length=80, blank=True)
    target_fingerprint = models.CharField(max_length=80, blank=True)
    extra_metrics = models.JSONField(
        default=dict, blank=True,
        help_text='metrics measured outside the .wmatrix file, e.g. {"stitching": {...}}; certified when present',
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    validated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="uploaded_matrices", help_text="who uploaded it; empty: trained here")
    name = models.CharField(max_length=120, blank=True, help_text="the name it was registered under, if uploaded")

    class Meta:
        ordering = ["source__name", "target__name", "-version"]
        verbose_name = "W-Matrix"
        verbose_name_plural = "W-Matrices"
        constraints = [models.UniqueConstraint(fields=["source", "target", "version"], name="wmatrix_version_unique")]

    def __str__(self) -> str:
        return f"{self.source_id}→{self.target_id} v{self.version}"

    @property
    def best_metrics(self) -> dict:
        """Held-out metrics of the best retrieval layer pair."""
        return self.metrics.get(f"{self.best_source_layer}->{self.best_target_layer}", {})

    @property
    def recommended_pair(self) -> tuple[int, int]:
        """The layer pair buyers' vectors use (what tiers, certificates and estimates describe); the best retrieval
        pair for matrices stored before the recommendation existed."""
        if self.recommended_source_layer is None or self.recommended_target_layer is None:
            return self.best_source_layer, self.best_target_layer
        return self.recommended_source_layer, self.recommended_target_layer

    @property
    def headline_metrics(self) -> dict:
        """Held-out metrics of the recommended layer pair (standardized spaces)."""
        source_layer, target_layer = self.recommended_pair
        return self.metrics.get(f"{source_layer}->{target_layer}", {})


class QualityCertificate(models.Model):
    """A signed statement of a matrix's measured quality; tier 1 (best) .. 4 from reconstruction-error bands."""

    public_id = models.CharField(max_length=24, unique=True, default=factory("cert"), editable=False)
    matrix = models.ForeignKey(WMatrix, on_delete=models.CASCADE, related_name="certificates")
    tier = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(4)])
    metrics = models.JSONField(default=dict)
    anchor_set_hash = models.CharField(max_length=80)
    payload = models.JSONField(default=dict, help_text="the exact signed document")
    signature = models.CharField(max_length=200)
    key_id = models.CharField(max_length=40, default="hmac-sha256")
    issued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return f"{self.public_id} tier {self.tier} ({self.matrix})"


class MeasuredRetention(models.Model):
    """Measured retention of steering effect from `source` to `target`: one capability of one bench run.

    Imported from a bench's ``support-matrix.json`` (``manage.py import_retention``). ``capability`` is the
    capability's name, or ``"*"`` for the pair's median over capabilities. Retention is the transferred vector's
    effect on the target as a fraction of the target's native vector's effect (1 = all of it), with its 95%
    interval; the controls are the same ratio for a random direction and for a map with shuffled anchors.
    """

    PAIR_MEDIAN = "*"

    source = models.ForeignKey("catalog.Architecture", on_delete=models.PROTECT, related_name="retention_out")
    target = models.ForeignKey("catalog.Architecture", on_delete=models.PROTECT, related_name="retention_in")
    capability = models.CharField(max_length=120, default=PAIR_MEDIAN, help_text='"*" = median over capabilities')
    retention = models.FloatField(null=True, blank=True)
    ci_low = models.FloatField(null=True, blank=True)
    ci_high = models.FloatField(null=True, blank=True)
    retention_matched_norm = models.FloatField(null=True, blank=True)
    random_control = models.FloatField(null=True, blank=True)
    shuffled_control = models.FloatField(null=True, blank=True)
    cosine = models.FloatField(null=True, blank=True, help_text="cosine of native and transferred vectors")
    anti_steerable_fraction = models.FloatField(null=True, blank=True)
    best_coefficient = models.FloatField(null=True, blank=True)
    n_prompts = models.PositiveIntegerField(null=True, blank=True)
    source_layer = models.IntegerField()
    target_layer = models.IntegerField()
    method = models.CharField(max_length=40, blank=True)
    source_fingerprint = models.CharField(max_length=80, blank=True)
    target_fingerprint = models.CharField(max_length=80, blank=True)
    anchor_set_hash = models.CharField(max_length=80, blank=True)
    library_version = models.CharField(max_length=40, blank=True)
    measured_at = models.DateTimeField(db_index=True, help_text="the bench run's generated_at")
    target_config = models.JSONField(
        default=dict, blank=True,
        help_text="the target configuration measured (quantization, context_length); {} = the default")
    config_key = models.CharField(max_length=64, default="", blank=True, db_index=True,
                                  help_text="hash of the measured configuration (see estimates.measurement_config)")
    raw = models.JSONField(default=dict, blank=True, help_text="the row as the bench wrote it")
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["source__name", "target__name", "-measured_at", "capability"]
        verbose_name = "measured retention"
        verbose_name_plural = "measured retention"
        constraints = [
            models.UniqueConstraint(fields=["source", "target", "capability", "measured_at", "config_key"],
                                    name="measured_retention_unique_per_run_config"),
        ]

    def __str__(self) -> str:
        value = "n/a" if self.retention is None else f"{self.retention:.2f}"
        return f"{self.source_id}→{self.target_id} {self.capability}: {value} ({self.measured_at:%Y-%m-%d})"


class CompatibilityEstimate(models.Model):
    """A free pre-purchase estimate of how much of a listing's effect survives transfer to a target model."""

    class Risk(models.TextChoices):
        LOW = "low"
        MEDIUM = "medium"
        HIGH = "high"

    listing = models.ForeignKey("catalog.VectorListing", on_delete=models.CASCADE, related_name="estimates")
    target = models.ForeignKey("catalog.Architecture", on_delete=models.CASCADE, related_name="estimates")
    config_key = models.CharField(max_length=64, default="default", help_text="hash of target_config")
    target_config = models.JSONField(default=dict, blank=True,
                                     help_text="quantization, context_length, custom_fine_tune")
    retention = models.FloatField(help_text="expected fraction of the effect retained (0..1)")
    ci_low = models.FloatField()
    ci_high = models.FloatField()
    alignment_quality = models.FloatField(help_text="held-out semantic preservation of the layer pair used")
    risk_level = models.CharField(max_length=8, choices=Risk.choices)
    dimensional_loss = models.FloatField(
        null=True, blank=True,
        help_text="share of the vector's standardized energy outside the subspace the map carries well (0..1)")
    structural_mismatch = models.FloatField(null=True, blank=True, help_text="0 (same architecture family) .. 1")
    recommendation = models.TextField()
    basis = models.CharField(max_length=40, default="learned_estimate",
                             help_text="measured_retention, learned_estimate or identity")
    detail = models.JSONField(
        default=dict, blank=True,
        help_text="interval level and kind, why it is wide, fine-tune check, features, the estimator used")
    matrix = models.ForeignKey(WMatrix, on_delete=models.CASCADE, related_name="estimates")
    measurement = models.ForeignKey(MeasuredRetention, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="estimates", help_text="the measured retention used, if any")
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-computed_at"]
        constraints = [
            models.UniqueConstraint(fields=["listing", "target", "config_key"], name="estimate_unique_per_config"),
        ]

    def __str__(self) -> str:
        return f"{self.listing_id}→{self.target_id}: {self.retention:.2f}"


class DriftCheck(models.Model):
    """One revalidation of a matrix on fresh anchors, compared with its recorded held-out metrics."""

    class Status(models.TextChoices):
        OK = "ok"
        DRIFTED = "drifted"
        FAILED = "failed"

    matrix = models.ForeignKey(WMatrix, on_delete=models.CASCADE, related_name="drift_checks")
    checked_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    baseline = models.JSONField(default=dict)
    observed = models.JSONField(default=dict)
    drift = models.FloatField(default=0.0, help_text="drop in semantic preservation (baseline − observed)")
    fingerprint_changed = models.BooleanField(default=False)
    detail = models.TextField(blank=True)
    drift_detected = models.BooleanField(default=False, help_text="the monitor's statistical tests found a change")
    recommendation = models.CharField(max_length=12, blank=True, help_text="keep, recalibrate or retrain")
    result = models.JSONField(default=dict, blank=True, help_text="the monitor's structured result (DriftStatus)")
    action = models.CharField(max_length=200, blank=True, help_text="what was done about the recommendation")

    class Meta:
        ordering = ["-checked_at"]


class AlignmentJob(models.Model):
    """On-demand training of a matrix for a pair without one (GPU queue), with progress and ETA."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    public_id = models.CharField(max_length=24, unique=True, default=factory("job"), editable=False)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    source = models.ForeignKey("catalog.Architecture", on_delete=models.PROTECT, related_name="+")
    target = models.ForeignKey("catalog.Architecture", on_delete=models.PROTECT, related_name="+")
    num_anchors = models.PositiveIntegerField(default=2000)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.FloatField(default=0.0, help_text="0..1")
    eta_seconds = models.FloatField(null=True, blank=True)
    message = models.CharField(max_length=200, blank=True)
    matrix = models.ForeignKey(WMatrix, on_delete=models.SET_NULL, null=True, blank=True, related_name="jobs")
    error = models.TextField(blank=True)
    source_location = models.JSONField(default=dict, blank=True,
                                       help_text='{"kind": "path" | "endpoint", "location": ...}; empty: by name')
    target_location = models.JSONField(default=dict, blank=True)
    estimate = models.JSONField(default=dict, blank=True,
                                help_text="the ETA at request time: throughput probe, anchor count, typical retention")
    trigger = models.CharField(max_length=200, blank=True, help_text="why it was queued (e.g. a drift check)")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.public_id} {self.source_id}→{self.target_id} ({self.status})"


class TaskRun(models.Model):
    """A record per idempotent task execution: a redelivered message finds its key and does nothing twice."""

    class Status(models.TextChoices):
        STARTED = "started"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    idempotency_key = models.CharField(max_length=200, unique=True)
    task_name = models.CharField(max_length=120, db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.STARTED)
    attempts = models.PositiveIntegerField(default=1)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=120, blank=True,
                                   help_text="host:pid:token of the attempt that holds (or last held) the run")
    lease_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="renewed while the attempt runs; past it, another worker may take over")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.task_name} {self.idempotency_key} ({self.status})"
