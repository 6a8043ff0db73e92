"""Compatibility estimates: how much of a listing's steering effect is expected to survive translation into a target
model in a given configuration — the engine's ``estimate_compatibility`` on what the marketplace stores (numpy and
safetensors only: the web process and the CPU worker never import torch).

Inputs: the active matrix's held-out metrics at the listing's layer pair, the listing's stored vector (its dimensional
loss through that pair's map, read from the .wmatrix tensors of that pair only), both architectures' structural
fields, the listing's measured retention in that configuration (``marketplace.alignment.retention``) and the learned
retention estimator, a small JSON model (``settings.RETENTION_ESTIMATOR_FILE``, default the engine's shipped
``alignment_plugins/data/retention_estimator.json``; see ``alignment_plugins.estimator``).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.conf import settings

from alignment_plugins.certificate import canonical_json  # what certificates sign (the engine's, byte for byte)
from alignment_plugins.compatibility import (
    CompatibilityResult,
    estimate_compatibility,
    fine_tune_check,
    identity_result,
)
from alignment_plugins.compatibility import Measurement as EngineMeasurement
from alignment_plugins.estimator import RetentionEstimator, default_estimator
from alignment_plugins.target_config import TargetConfigError
from alignment_plugins.target_config import normalize_config as engine_config
from alignment_plugins.transfer_features import dimensional_loss as engine_dimensional_loss
from alignment_plugins.transfer_features import structural_mismatch as engine_mismatch
from marketplace.alignment import retention as measured
from marketplace.alignment.matrices import active_matrix
from marketplace.alignment.matrix_files import carried_subspace
from marketplace.alignment.models import CompatibilityEstimate, MeasuredRetention, WMatrix
from marketplace.catalog.models import Architecture, VectorListing
from marketplace.catalog.vector_files import read_package
from marketplace.errors import NotFound, ValidationFailed

log = logging.getLogger(__name__)


def clip01(value: float) -> float:
    """`value` clipped to [0, 1]."""
    return min(1.0, max(0.0, float(value)))


def max_positions(target: Architecture) -> int | None:
    """The target model's longest context in tokens, from its registered config metadata (None when unknown)."""
    value = ((target.metadata or {}).get("info") or {}).get("max_positions")
    return int(value) if isinstance(value, int) and value > 0 else None


def normalize_config(quantization: str | None = None, custom_fine_tune: Any = None, context_length: Any = None, *,
                     target: Architecture | None = None) -> dict[str, Any]:
    """The canonical target configuration {quantization, context_length, custom_fine_tune} (the engine's
    ``alignment_plugins.target_config.normalize_config``); ValidationFailed (400) saying what is accepted."""
    try:
        return engine_config({"quantization": quantization, "context_length": context_length,
                              "custom_fine_tune": custom_fine_tune},
                             max_positions=max_positions(target) if target is not None else None)
    except TargetConfigError as exc:
        raise ValidationFailed(str(exc)) from None


def config_key(config: dict[str, Any]) -> str:
    """sha256 hex of the canonical JSON of a normalized target configuration."""
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()


def structural_mismatch(source: Architecture, target: Architecture) -> float | None:
    """Fraction of (family, normalization, positional_encoding, activation) known on both that differ."""
    return engine_mismatch(source, target)


def retention_estimator() -> RetentionEstimator:
    """The learned retention estimator (``settings.RETENTION_ESTIMATOR_FILE`` or the engine's shipped model)."""
    return default_estimator(getattr(settings, "RETENTION_ESTIMATOR_FILE", None))


def estimator_id(estimator: RetentionEstimator) -> str:
    """What identifies an estimator in a stored estimate (its creation time and training-case count)."""
    return f"{estimator.created_at}/{estimator.training.get('cases')}"


def listing_dimensional_loss(listing: VectorListing, matrix: WMatrix, pair: tuple[int, int]) -> float | None:
    """The listing vector's dimensional loss through the matrix's map of `pair` (None, logged, when the vector or the
    matrix file cannot be read: the estimate then imputes it and widens its interval)."""
    try:
        vector = read_package(listing.vector_file).vector(listing.layer)
        scale_x, basis = carried_subspace(matrix, pair)
        return engine_dimensional_loss(vector, scale_x, basis)
    except Exception as exc:  # a missing or unreadable file must not stop the other estimates
        log.warning("no dimensional loss for %s through %s: %s", listing.public_id, matrix, exc)
        return None


def _engine_measurement(row: MeasuredRetention | None) -> EngineMeasurement | None:
    if row is None or row.retention is None:
        return None
    return EngineMeasurement(float(row.retention), row.ci_low, row.ci_high, row.capability, row.source_layer,
                             row.target_layer, row.measured_at.isoformat())


def _detail(result: CompatibilityResult, estimator: RetentionEstimator) -> dict[str, Any]:
    return {"level": result.level, "interval": result.interval, "coverage_guaranteed": result.coverage_guaranteed,
            "reasons": list(result.reasons), "fine_tune": result.fine_tune, "features": result.features,
            "source_layer": result.source_layer, "target_layer": result.target_layer, "estimator":
            estimator_id(estimator)}


def estimate_for(
    listing: VectorListing,
    target: Architecture,
    *,
    quantization: str | None = None,
    custom_fine_tune: Any = None,
    context_length: Any = None,
    compute: bool = True,
) -> CompatibilityEstimate:
    """The compatibility estimate of `listing` on `target` in a configuration (stored; recomputed when the active
    matrix, the measured retention it uses or the estimator changed).

    Basis "measured_retention" when the listing's capability (``capability_domain``, else its name) was measured on
    the pair at the listing's layer in this configuration's setting (its 95% bootstrap interval); otherwise
    "learned_estimate": the estimator's prediction with its conformal interval (by pair), the wide one (and ``detail``
    says why) for a custom fine-tune whose fingerprint is not the target's, a configuration never measured or a
    missing feature. ``custom_fine_tune`` is a name (unverified), true, or a weight fingerprint ``sha256:<hex>``
    compared with the target's registered one — never a server path. Same source and target model: an unsaved
    identity estimate. No active matrix or no map for the listing's layer: NotFound; a configuration key or value
    the estimator cannot use: ValidationFailed. ``compute=False`` returns only a stored, current estimate (else
    NotFound) for callers that must not read files.
    """
    config = normalize_config(quantization, custom_fine_tune, context_length, target=target)
    key = config_key(config)
    if target.pk == listing.source_model_id:
        result = identity_result(target.name, listing.layer, listing.capability_domain, config)
        return CompatibilityEstimate(
            listing=listing, target=target, config_key=key, target_config=config, retention=result.retention,
            ci_low=result.ci_low, ci_high=result.ci_high, alignment_quality=1.0, risk_level=result.risk_level,
            dimensional_loss=0.0, structural_mismatch=0.0, basis="identity", recommendation=result.recommendation,
            detail={"level": result.level, "interval": "identity", "coverage_guaranteed": result.coverage_guaranteed,
                    "reasons": list(result.reasons), "fine_tune": result.fine_tune},
        )
    source = listing.source_model
    matrix = active_matrix(source, target)
    if matrix is None:
        raise NotFound(f"no active W-Matrix from {source.name} to {target.name}; request an alignment job")
    pair = next(((int(i), int(j)) for i, j in matrix.layer_map if int(i) == listing.layer), None)
    metrics = matrix.metrics.get(f"{pair[0]}->{pair[1]}") if pair else None
    if pair is None or not metrics or metrics.get("semantic_preservation") is None:
        raise NotFound(
            f"W-Matrix {matrix.public_id} ({source.name}→{target.name} v{matrix.version}) has no measured map for "
            f"source layer {listing.layer}"
        )
    fine = fine_tune_check(config["custom_fine_tune"], target.weight_fingerprint or matrix.target_fingerprint,
                           allow_paths=False)
    unverified = fine["status"] in ("different", "unverified")  # measured on the base weights only
    row = None if unverified else measured.measurement_for(listing, target, config, pair[0])
    estimator = retention_estimator()
    stored = CompatibilityEstimate.objects.filter(listing=listing, target=target, config_key=key).first()
    if (stored is not None and stored.matrix_id == matrix.id
            and stored.measurement_id == (row.pk if row is not None else None)
            and (stored.detail or {}).get("estimator") == estimator_id(estimator)):
        return stored
    if not compute:
        raise NotFound(f"no estimate of {listing.public_id} on {target.name} from the current matrix, measurement "
                       "and estimator yet")
    result = estimate_compatibility(
        estimator, source_model=source.name, target_model=target.name, source_layer=pair[0], target_layer=pair[1],
        capability=listing.capability_domain, pair_metrics=metrics,
        dimensional_loss=listing_dimensional_loss(listing, matrix, pair),
        structural_mismatch=structural_mismatch(source, target), config=config, fine_tune=fine,
        measurement=_engine_measurement(row),
    )
    estimate, _ = CompatibilityEstimate.objects.update_or_create(
        listing=listing, target=target, config_key=key,
        defaults={
            "target_config": config, "retention": result.retention, "ci_low": result.ci_low,
            "ci_high": result.ci_high, "alignment_quality": result.alignment_quality, "risk_level": result.risk_level,
            "dimensional_loss": result.dimensional_loss, "structural_mismatch": result.structural_mismatch,
            "recommendation": result.recommendation, "basis": result.basis, "matrix": matrix,
            "measurement": row,
            "detail": _detail(result, estimator),
        },
    )
    return estimate


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
        configs = {config_key(normalize_config()): {}}
        for stored in CompatibilityEstimate.objects.filter(listing=listing, target_id=matrix.target_id):
            kept = {k: stored.target_config.get(k) for k in ("quantization", "custom_fine_tune", "context_length")}
            configs[stored.config_key] = kept
        for config in configs.values():
            try:
                out.append(estimate_for(listing, matrix.target, **config))
            except (NotFound, ValidationFailed) as exc:
                log.info("no estimate for %s on %s (%s): %s", listing.public_id, matrix.target.name, config, exc)
    return out
