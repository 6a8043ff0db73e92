"""Compatibility estimates: how much of a listing's vector is expected to survive translation into a target model
(measured steering-effect retention when the pair was measured, else the matrix's held-out alignment quality)."""

from __future__ import annotations

import hashlib
import logging
import math
from typing import Any

from alignment_plugins.certificate import canonical_json  # what certificates sign (the engine's, byte for byte)
from marketplace.alignment import retention as measured
from marketplace.alignment.certificates import matrix_tier
from marketplace.alignment.matrices import active_matrix
from marketplace.alignment.matrix_files import matrix_header
from marketplace.alignment.models import CompatibilityEstimate, MeasuredRetention, WMatrix
from marketplace.catalog.models import Architecture, VectorListing
from marketplace.errors import NotFound, ValidationFailed

log = logging.getLogger(__name__)

#: Each of these widens the estimate's interval by this factor (and raises the risk level one step).
QUANTIZATION_WIDENING = 1.5
FINE_TUNE_WIDENING = 1.5
#: Test-set size assumed when a matrix file does not record it (a deliberately wide interval).
FALLBACK_TEST_ANCHORS = 30
STRUCTURAL_FIELDS = ("family", "normalization", "positional_encoding", "activation")
_UNQUANTIZED = {"", "none", "fp32", "float32"}


def normalize_config(quantization: str | None = None, custom_fine_tune: bool = False) -> dict[str, Any]:
    """The canonical target configuration: quantization (lower-case name or None) and custom_fine_tune."""
    quant = (quantization or "").strip().lower()
    if quant in _UNQUANTIZED:
        quant = ""
    elif len(quant) > 20 or not all(c.isalnum() or c in "_.-" for c in quant):
        raise ValidationFailed(f"quantization must be a short name such as int8, int4 or q4_k_m, got {quantization!r}")
    return {"quantization": quant or None, "custom_fine_tune": bool(custom_fine_tune)}


def config_key(config: dict[str, Any]) -> str:
    """sha256 hex of the canonical JSON of a normalized target configuration."""
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()


def clip01(value: float) -> float:
    """`value` clipped to [0, 1]."""
    return min(1.0, max(0.0, float(value)))


def structural_mismatch(source: Architecture, target: Architecture) -> float:
    """Fraction of (family, normalization, positional_encoding, activation) that differ (case-insensitive)."""
    differ = sum(
        (getattr(source, f) or "").strip().lower() != (getattr(target, f) or "").strip().lower()
        for f in STRUCTURAL_FIELDS
    )
    return differ / len(STRUCTURAL_FIELDS)


def _recommendation(
    *, retention: float, low: float, high: float, target_layer: int, tier: int, risk: str,
    config: dict[str, Any], dimensional_loss: float, target_name: str,
    measurement: MeasuredRetention | None = None,
) -> str:
    if measurement is None:
        text = (
            f"Expected to keep about {round(retention * 100)}% (95% CI {round(low * 100)}–{round(high * 100)}%) "
            f"of the vector's representational content at {target_name} layer {target_layer}; quality tier {tier}."
        )
    else:
        what = ("the median over measured capabilities" if measurement.capability == MeasuredRetention.PAIR_MEDIAN
                else f"measured for the {measurement.capability!r} capability")
        text = (
            f"Expected to keep about {round(retention * 100)}% (95% CI {round(low * 100)}–{round(high * 100)}%) "
            f"of the vector's steering effect on {target_name} ({what}, source layer {measurement.source_layer} → "
            f"target layer {measurement.target_layer}, {measurement.measured_at:%Y-%m-%d}); delivered at "
            f"{target_name} layer {target_layer}; quality tier {tier}."
        )
    notes = []
    if config["quantization"]:
        notes.append(f"a {config['quantization']}-quantized target")
    if config["custom_fine_tune"]:
        notes.append("a custom fine-tune")
    if notes:
        text += (f" The interval is widened for {' and '.join(notes)}, which the matrix was not measured on.")
    if dimensional_loss > 0:
        text += f" The target has {round(dimensional_loss * 100)}% fewer dimensions than the source."
    text += {
        "low": " Low risk.",
        "medium": " Medium risk: check the effect on your own prompts after delivery.",
        "high": " High risk: much of the vector may not transfer; evaluate it before relying on it.",
    }[risk]
    return text


def estimate_for(
    listing: VectorListing,
    target: Architecture,
    *,
    quantization: str | None = None,
    custom_fine_tune: bool = False,
    compute: bool = True,
) -> CompatibilityEstimate:
    """The compatibility estimate of `listing` on `target` (stored; recomputed when the active matrix or the
    measured retention it uses changed).

    Measured retention (``basis="measured_retention"``), when the pair has an imported measurement (see
    ``marketplace.alignment.retention``): the latest run's retention of the listing's capability when its
    ``capability_domain`` (else its name) matches a measured capability name, else the run's median over
    capabilities; retention = that value clipped to [0, 1], 95% interval = the measured interval (when the
    measurement has none, the alignment-quality interval's half-widths around the measured value); widening,
    risk, dimensional loss and structural mismatch as below; ``alignment_quality`` is still p below.

    Otherwise a proxy (``basis="alignment_quality"``):

    * alignment_quality p = held-out semantic preservation (mean cosine of mapped vs true target states, in
      standardized space) of the matrix's layer pair whose source layer is ``listing.layer`` (metrics key
      ``"{i}->{j}"``);
    * 95% interval: the pair's ``semantic_preservation_ci_low``/``_high`` (or ``semantic_preservation_ci``
      [low, high]) when the file records them, else p ± 2·sqrt(p(1−p)/n_test) with n_test the test-split size
      (30 when unrecorded); each side's half-width is multiplied by 1.5 for a quantized target and by 1.5 for a
      custom fine-tune (neither moves the point estimate), then clipped to [0, 1];
    * retention = p clipped to [0, 1];
    * dimensional_loss = max(0, 1 − d_target/d_source);
    * structural_mismatch = fraction of (family, normalization, positional_encoding, activation) that differ;
    * risk: low if ci_low ≥ 0.8, medium if ≥ 0.5, else high; then one step higher (up to high) when the target
      is quantized or custom fine-tuned.

    Same source and target model: an unsaved identity estimate (retention 1, basis "identity", no matrix).
    No active matrix, or no map for the listing's layer: NotFound. ``compute=False`` returns only a stored
    estimate from the current matrix and raises NotFound otherwise (for callers that must not load files).
    """
    config = normalize_config(quantization, custom_fine_tune)
    key = config_key(config)
    if target.pk == listing.source_model_id:
        return CompatibilityEstimate(
            listing=listing, target=target, config_key=key, target_config=config, retention=1.0, ci_low=1.0,
            ci_high=1.0, alignment_quality=1.0, risk_level=CompatibilityEstimate.Risk.LOW, dimensional_loss=0.0,
            structural_mismatch=0.0, basis="identity",
            recommendation="Same model as the listing's source: the vector is delivered unchanged.",
        )
    source = listing.source_model
    matrix = active_matrix(source, target)
    if matrix is None:
        raise NotFound(f"no active W-Matrix from {source.name} to {target.name}; request an alignment job")
    measurement = measured.measurement_for(listing, target)
    stored = CompatibilityEstimate.objects.filter(listing=listing, target=target, config_key=key).first()
    if (stored is not None and stored.matrix_id == matrix.id
            and stored.measurement_id == (measurement.pk if measurement else None)
            and (measurement is not None or stored.basis != "measured_retention")):
        return stored
    if not compute:
        raise NotFound(f"no estimate of {listing.public_id} on {target.name} from the current matrix and "
                       "measurement yet")

    pair = next(((int(i), int(j)) for i, j in matrix.layer_map if int(i) == listing.layer), None)
    metrics = matrix.metrics.get(f"{pair[0]}->{pair[1]}") if pair else None
    if pair is None or not metrics or metrics.get("semantic_preservation") is None:
        raise NotFound(
            f"W-Matrix {matrix.public_id} ({source.name}→{target.name} v{matrix.version}) has no measured map for "
            f"source layer {listing.layer}"
        )
    p = float(metrics["semantic_preservation"])
    low, high = _interval(metrics, p, matrix)
    widen = (QUANTIZATION_WIDENING if config["quantization"] else 1.0) * (
        FINE_TUNE_WIDENING if config["custom_fine_tune"] else 1.0)
    if measurement is not None:
        point = float(measurement.retention)
        if measurement.ci_low is not None and measurement.ci_high is not None:
            low, high = min(float(measurement.ci_low), point), max(float(measurement.ci_high), point)
        else:
            low, high = point - (p - low), point + (high - p)
        basis = "measured_retention"
    else:
        point, basis = p, "alignment_quality"
    retention = clip01(point)
    ci_low = clip01(retention - (point - low) * widen)
    ci_high = clip01(retention + (high - point) * widen)
    risk_index = 0 if ci_low >= 0.8 else 1 if ci_low >= 0.5 else 2
    if config["quantization"] or config["custom_fine_tune"]:
        risk_index = min(2, risk_index + 1)
    risk = ("low", "medium", "high")[risk_index]
    d_source, d_target = source.hidden_size, target.hidden_size
    dimensional_loss = max(0.0, 1.0 - d_target / d_source) if d_source else 0.0
    recommendation = _recommendation(
        retention=retention, low=ci_low, high=ci_high, target_layer=pair[1], tier=matrix_tier(matrix), risk=risk,
        config=config, dimensional_loss=dimensional_loss, target_name=target.name, measurement=measurement,
    )
    estimate, _ = CompatibilityEstimate.objects.update_or_create(
        listing=listing, target=target, config_key=key,
        defaults={
            "target_config": config, "retention": retention, "ci_low": ci_low, "ci_high": ci_high,
            "alignment_quality": p, "risk_level": risk, "dimensional_loss": dimensional_loss,
            "structural_mismatch": structural_mismatch(source, target), "recommendation": recommendation,
            "basis": basis, "matrix": matrix, "measurement": measurement,
        },
    )
    return estimate


def _interval(metrics: dict[str, Any], p: float, matrix: WMatrix) -> tuple[float, float]:
    """95% interval of a pair's semantic preservation: recorded bounds, else the binomial-style ±2σ proxy."""
    low, high = metrics.get("semantic_preservation_ci_low"), metrics.get("semantic_preservation_ci_high")
    if low is None or high is None:
        ci = metrics.get("semantic_preservation_ci")
        if isinstance(ci, (list, tuple)) and len(ci) == 2:
            low, high = ci
    if low is not None and high is not None:
        return min(float(low), p), max(float(high), p)
    try:
        n_test = int(matrix_header(matrix).get("anchors", {}).get("counts", {}).get("test") or 0)
    except Exception:  # unreadable header: fall back to the conservative size
        n_test = 0
    n_test = n_test or FALLBACK_TEST_ANCHORS
    q = clip01(p)
    half = 2.0 * math.sqrt(q * (1.0 - q) / n_test)
    return p - half, p + half


def precompute_estimates(listing: VectorListing) -> list[CompatibilityEstimate]:
    """Default-config estimates of `listing` on every target with an active matrix from its source model."""
    out = []
    matrices = WMatrix.objects.filter(source_id=listing.source_model_id, status=WMatrix.Status.ACTIVE)
    for matrix in matrices.select_related("target"):
        try:
            out.append(estimate_for(listing, matrix.target))
        except NotFound as exc:
            log.info("no estimate for %s on %s: %s", listing.public_id, matrix.target.name, exc)
    return out


def recompute_estimates(matrix: WMatrix) -> list[CompatibilityEstimate]:
    """Bring every estimate of the matrix's pair up to date with it (each stored config, plus the default)."""
    if matrix.status != WMatrix.Status.ACTIVE:
        log.info("%s is %s: its estimates are recomputed by the newer version's event", matrix, matrix.status)
        return []
    out = []
    listings = VectorListing.objects.filter(source_model_id=matrix.source_id, status=VectorListing.Status.ACTIVE)
    for listing in listings.select_related("source_model"):
        configs = {config_key(normalize_config()): normalize_config()}
        for stored in CompatibilityEstimate.objects.filter(listing=listing, target_id=matrix.target_id):
            config = normalize_config(stored.target_config.get("quantization"),
                                      stored.target_config.get("custom_fine_tune", False))
            configs[config_key(config)] = config
        for config in configs.values():
            try:
                out.append(estimate_for(listing, matrix.target, **config))
            except NotFound as exc:
                log.info("no estimate for %s on %s: %s", listing.public_id, matrix.target.name, exc)
    return out
