"""The support matrix: one row per active matrix with its tier, held-out metrics and typical retention."""

from __future__ import annotations

import statistics
from typing import Any

from marketplace.alignment import retention as measured
from marketplace.alignment.certificates import matrix_tier
from marketplace.alignment.estimates import clip01, config_key, normalize_config
from marketplace.alignment.models import CompatibilityEstimate, MeasuredRetention, WMatrix


def support_matrix() -> list[dict[str, Any]]:
    """One row per active matrix: pair, version, tier, best pair, held-out metrics and typical retention.

    typical_retention is, in order: the pair's measured median retention from its latest imported run (basis
    "measured_retention", interval in typical_retention_ci_low/high, every capability under
    ``measured_retention``); else the median retention of the pair's stored default-config listing estimates
    from this matrix (basis "median of N listing estimates"); else the recommended pair's alignment quality
    (basis "alignment_quality (recommended pair)"); the held-out metrics are the recommended pair's. The
    interval is null unless measured.
    """
    default_key = config_key(normalize_config())
    rows = []
    for matrix in WMatrix.objects.filter(status=WMatrix.Status.ACTIVE).select_related("source", "target"):
        best = matrix.headline_metrics
        run = measured.latest_run(matrix.source_id, matrix.target_id)
        median = measured.select_measurement(run, None)
        retentions = list(
            CompatibilityEstimate.objects.filter(matrix=matrix, config_key=default_key).values_list(
                "retention", flat=True)
        )
        ci: list[float | None] = [None, None]
        if median is not None:
            typical = float(median.retention)
            ci = [median.ci_low, median.ci_high]
            basis = "measured_retention"
        elif retentions:
            typical = float(statistics.median(retentions))
            basis = f"median of {len(retentions)} listing estimate{'s' if len(retentions) != 1 else ''}"
        else:
            sp = best.get("semantic_preservation")
            typical = clip01(sp) if sp is not None else None
            basis = "alignment_quality (recommended pair)"
        rows.append({
            "source": matrix.source.name,
            "target": matrix.target.name,
            "matrix_id": matrix.public_id,
            "version": matrix.version,
            "method": matrix.method,
            "tier": matrix_tier(matrix),
            "best_pair": [matrix.best_source_layer, matrix.best_target_layer],
            "recommended_pair": list(matrix.recommended_pair),
            "semantic_preservation": best.get("semantic_preservation"),
            "accuracy": best.get("accuracy"),
            "reconstruction_error": best.get("reconstruction_error"),
            "typical_retention": typical,
            "typical_retention_ci_low": ci[0],
            "typical_retention_ci_high": ci[1],
            "basis": basis,
            "measured_retention": _measured_summary(run) if run else None,
            "validated_at": matrix.validated_at.isoformat() if matrix.validated_at else None,
        })
    return rows


def _measured_summary(run: list[MeasuredRetention]) -> dict[str, Any]:
    """A pair's latest measured run for the support matrix: the median row and every capability, with intervals."""
    def fields(row: MeasuredRetention) -> dict[str, Any]:
        return {"retention": row.retention, "ci_low": row.ci_low, "ci_high": row.ci_high,
                "random_control": row.random_control, "shuffled_control": row.shuffled_control,
                "cosine": row.cosine}

    median = next((r for r in run if r.capability == MeasuredRetention.PAIR_MEDIAN), None)
    first = run[0]
    return {
        "measured_at": first.measured_at.isoformat(),
        "source_layer": first.source_layer,
        "target_layer": first.target_layer,
        "method": first.method,
        "anchor_set_hash": first.anchor_set_hash,
        "median": fields(median) if median is not None else None,
        "capabilities": [
            {"capability": r.capability, **fields(r), "anti_steerable_fraction": r.anti_steerable_fraction,
             "n_prompts": r.n_prompts}
            for r in run if r.capability != MeasuredRetention.PAIR_MEDIAN
        ],
    }
