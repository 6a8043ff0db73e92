"""Drift: active matrices are re-measured on fresh anchors; a matrix whose quality fell, or whose models' weights
changed since training, is marked DRIFTED and stops being offered."""

from __future__ import annotations

import logging
import math
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from alignment_plugins.anchors import AnchorSet, available_versions, load_builtin
from alignment_plugins.certificate import json_safe
from marketplace.alignment.matrix_files import load_engine_matrix, matrix_header
from marketplace.alignment.models import DriftCheck, WMatrix

log = logging.getLogger(__name__)


def due_for_drift_check(now: datetime | None = None) -> QuerySet[WMatrix]:
    """Active matrices whose last validation is older than ``DRIFT_REVALIDATE_AFTER_HOURS`` (or never made)."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=float(settings.DRIFT_REVALIDATE_AFTER_HOURS))
    return WMatrix.objects.filter(status=WMatrix.Status.ACTIVE).filter(
        Q(validated_at__isnull=True) | Q(validated_at__lt=cutoff)
    )


def drift_anchors(matrix: WMatrix, num_anchors: int = 200, today: date | None = None) -> AnchorSet:
    """A fresh sample of the built-in anchors for revalidating `matrix`, seeded by the date.

    The matrix's training sample is reconstructed from its file (corpus version, count and seed) and excluded when
    its content hash matches the one recorded; the returned set never equals the training set. A matrix trained on
    an older built-in corpus (e.g. ``builtin:v1``) is revalidated on that corpus.
    """
    anchors_meta = matrix_header(matrix).get("anchors", {}) if matrix.file else {}
    trained_on = str(anchors_meta.get("name") or "").split("|", 1)[0]  # e.g. "builtin:v1"
    version = trained_on.split(":", 1)[1] if trained_on.startswith("builtin:") else ""
    corpus = load_builtin(version) if version in available_versions() else load_builtin()
    total = sum(int(v) for v in (anchors_meta.get("counts") or {}).values())
    excluded: set[str] = set()
    if 0 < total <= len(corpus):
        sample = corpus.sample(total, seed=int(anchors_meta.get("seed", 0)))
        if sample.content_hash == matrix.anchor_set_hash:
            excluded = set(sample.texts)
    pool = AnchorSet([a for a in corpus if a.text not in excluded], name=f"{corpus.name}|not-training")
    seed = int((today or timezone.now().date()).strftime("%Y%m%d"))
    fresh = pool.sample(min(num_anchors, len(pool)), seed=seed)
    if fresh.content_hash == matrix.anchor_set_hash:  # only possible when nothing could be excluded
        fresh = pool.sample(min(num_anchors, len(pool)), seed=seed + 1)
    return fresh


def run_drift_check(matrix: WMatrix, *, anchors: Any = None, num_anchors: int = 200) -> DriftCheck:
    """Re-measure `matrix` on fresh anchors (GPU path) and record a DriftCheck.

    Evaluates with ``alignment_plugins.evaluation.evaluate`` on `anchors` (default: ``drift_anchors``, a date-seeded
    sample disjoint from the training set) and compares the recommended pair's semantic preservation with the stored
    held-out value: drift = baseline − observed. DRIFTED (and the matrix marked DRIFTED, so it stops being offered)
    when drift > ``DRIFT_TOLERANCE`` or either model's weights changed since training (engine warning, or the
    registered fingerprint differs); else OK and ``matrix.validated_at`` = now. An error records a FAILED check and
    re-raises.
    """
    # Model-running engine code (it loads both models): imported on the GPU path only.
    from alignment_plugins import evaluation

    key = "{}->{}".format(*matrix.recommended_pair)
    baseline = json_safe(matrix.headline_metrics)
    try:
        anchor_set = anchors if anchors is not None else drift_anchors(matrix, num_anchors)
        engine = load_engine_matrix(matrix)
        result = evaluation.evaluate(engine, anchor_set)
    except Exception as exc:
        DriftCheck.objects.create(matrix=matrix, status=DriftCheck.Status.FAILED, baseline=baseline,
                                  detail=f"{type(exc).__name__}: {exc}"[:5000])
        raise
    observed = json_safe(result["pairs"].get(key, {}))
    base_sp, obs_sp = baseline.get("semantic_preservation"), observed.get("semantic_preservation")
    drift = float(base_sp) - float(obs_sp) if base_sp is not None and obs_sp is not None else math.inf
    warnings = list(result.get("warnings") or [])
    changed = any("weights differ" in w for w in warnings)
    for arch, recorded in ((matrix.source, matrix.source_fingerprint), (matrix.target, matrix.target_fingerprint)):
        if recorded and arch.weight_fingerprint and arch.weight_fingerprint != recorded:
            changed = True
            warnings.append(f"{arch.name}: registered fingerprint {arch.weight_fingerprint} ≠ trained {recorded}")
    drifted = changed or drift > float(settings.DRIFT_TOLERANCE)

    def fmt(value: Any) -> str:
        return "n/a" if value is None else f"{float(value):.4f}"

    detail = (
        f"semantic preservation {fmt(base_sp)} → {fmt(obs_sp)} on {result.get('anchors', {}).get('count', '?')} "
        "fresh anchors "
        f"(drift {drift:+.4f}, tolerance {settings.DRIFT_TOLERANCE})"
    )
    if warnings:
        detail += "; " + "; ".join(warnings)
    check = DriftCheck.objects.create(
        matrix=matrix, status=DriftCheck.Status.DRIFTED if drifted else DriftCheck.Status.OK, baseline=baseline,
        observed=json_safe({**observed, "anchors": result.get("anchors", {})}),
        drift=drift if math.isfinite(drift) else 1.0, fingerprint_changed=changed, detail=detail[:5000],
    )
    if drifted:
        WMatrix.objects.filter(pk=matrix.pk).update(status=WMatrix.Status.DRIFTED)
        matrix.status = WMatrix.Status.DRIFTED
        log.warning("matrix %s drifted: %s", matrix, detail)
    else:
        now = timezone.now()
        WMatrix.objects.filter(pk=matrix.pk).update(validated_at=now)
        matrix.validated_at = now
    return check
