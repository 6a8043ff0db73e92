"""Drift: active matrices are checked by the engine's WMatrixMonitor on fresh anchors; a matrix it recommends to
recalibrate or retrain is marked DRIFTED, stops being offered, and (``DRIFT_AUTO_ACT``) is recalibrated or retrained
through the event path."""

from __future__ import annotations

import logging
import math
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from alignment_plugins.anchors import AnchorSet
from alignment_plugins.certificate import json_safe
from alignment_plugins.drift_stats import fresh_anchors
from marketplace import events
from marketplace.alignment import jobs
from marketplace.alignment.matrices import store_matrix
from marketplace.alignment.matrix_files import load_engine_matrix, matrix_header
from marketplace.alignment.models import DriftCheck, WMatrix
from marketplace.errors import Conflict

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

    The matrix's training sample is reconstructed from its file (corpus version, domains, count and seed) and excluded
    when its content hash matches the one recorded; the returned set never equals the training set
    (``alignment_plugins.drift_stats.fresh_anchors``). A matrix trained on an older built-in corpus (e.g.
    ``builtin:v1``) is revalidated on that corpus.
    """
    anchors_meta = dict(matrix_header(matrix).get("anchors", {})) if matrix.file else {}
    anchors_meta.setdefault("hash", matrix.anchor_set_hash)
    return fresh_anchors(anchors_meta, num_anchors, seed=_date_seed(today))


def _date_seed(today: date | None = None) -> int:
    return int((today or timezone.now().date()).strftime("%Y%m%d"))


def run_drift_check(matrix: WMatrix, *, anchors: Any = None, num_anchors: int = 200, source_model: str | None = None,
                    target_model: str | None = None, act: bool | None = None) -> DriftCheck:
    """Check `matrix` with the engine's ``WMatrixMonitor`` (GPU path: it loads both models) and record a DriftCheck.

    Fresh anchors: `anchors`, else ``drift_anchors`` (a date-seeded sample disjoint from the training set). The
    monitor's structured result (fingerprints compared, metric deltas with bootstrap intervals, the paired probe test
    at false-alarm rate ``DRIFT_ALPHA``) is stored in ``result``; its recommendation decides: keep → OK and
    ``validated_at`` = now; recalibrate / retrain → DRIFTED (the matrix stops being offered) and, with `act`
    (default ``DRIFT_AUTO_ACT``), the recalibration or the alignment job is queued (``act_on_check``).
    `source_model` / `target_model` override where the models are found. An error records a FAILED check and
    re-raises.
    """
    # Model-running engine code (it loads both models): imported on the GPU path only.
    from alignment_plugins.monitor import KEEP, WMatrixMonitor

    baseline = json_safe(matrix.headline_metrics)
    try:
        anchor_set = anchors if anchors is not None else drift_anchors(matrix, num_anchors)
        monitor = WMatrixMonitor(
            anchors=anchor_set, source_model=source_model, target_model=target_model, alpha=settings.DRIFT_ALPHA,
            tolerance=settings.DRIFT_TOLERANCE, retrain_drop=max(settings.DRIFT_RETRAIN_DROP, settings.DRIFT_TOLERANCE),
            seed=_date_seed(), version=matrix.version,
            last_validated=matrix.validated_at.isoformat() if matrix.validated_at else None)
        status = monitor.check(load_engine_matrix(matrix))
    except Exception as exc:
        DriftCheck.objects.create(matrix=matrix, status=DriftCheck.Status.FAILED, baseline=baseline,
                                  detail=f"{type(exc).__name__}: {exc}"[:5000])
        raise
    result = status.to_dict()
    drifted = status.recommendation != KEEP
    detail = status.reason
    for arch, recorded in ((matrix.source, matrix.source_fingerprint), (matrix.target, matrix.target_fingerprint)):
        if recorded and arch.weight_fingerprint and arch.weight_fingerprint != recorded:
            detail += (f"; note: {arch.name} is registered with fingerprint {arch.weight_fingerprint}, trained on "
                       f"{recorded}")
    drop = status.quality_drop
    check = DriftCheck.objects.create(
        matrix=matrix, status=DriftCheck.Status.DRIFTED if drifted else DriftCheck.Status.OK, baseline=baseline,
        observed=json_safe({**status.metrics, "anchors": result["anchors"]}),
        drift=float(drop) if drop is not None and math.isfinite(drop) else (1.0 if drifted else 0.0),
        fingerprint_changed=status.fingerprint_changed, detail=detail[:5000], drift_detected=status.drift_detected,
        recommendation=status.recommendation, result=result,
    )
    if drifted:
        WMatrix.objects.filter(pk=matrix.pk).update(status=WMatrix.Status.DRIFTED)
        matrix.status = WMatrix.Status.DRIFTED
        log.warning("matrix %s drifted (%s): %s", matrix, status.recommendation, detail)
        if settings.DRIFT_AUTO_ACT if act is None else act:
            act_on_check(check)
    else:
        now = timezone.now()
        WMatrix.objects.filter(pk=matrix.pk).update(validated_at=now)
        matrix.validated_at = now
    return check


def act_on_check(check: DriftCheck, *, user: Any = None) -> str:
    """Do what a check recommends, through the event path: recalibrate → the gpu task that recalibrates the matrix on
    fresh anchors and stores a new version; retrain → an alignment job for the pair. Returns (and records on the
    check) what was done; keep does nothing."""
    matrix = check.matrix
    if check.recommendation == "recalibrate":
        events.recalibration_requested(check.id)
        action = "recalibration queued"
    elif check.recommendation == "retrain":
        total = sum(int(v) for v in (matrix_header(matrix).get("anchors", {}).get("counts") or {}).values())
        num = min(max(total or 2000, jobs.MIN_ALIGNMENT_ANCHORS), jobs.MAX_ALIGNMENT_ANCHORS)
        try:
            job = jobs.request_alignment(user=user, source=matrix.source, target=matrix.target, num_anchors=num,
                                         trigger=f"drift check {check.id}: retrain")
            action = f"alignment job {job.public_id} queued"
        except Conflict as exc:
            action = f"not queued: {exc}"
    else:
        action = "nothing to do (keep)"
    DriftCheck.objects.filter(pk=check.pk).update(action=action[:200])
    check.action = action[:200]
    return action


def recalibrate_matrix(check: DriftCheck, *, num_anchors: int = 1000, epochs: int = 50) -> WMatrix:
    """Recalibrate a drifted matrix on fresh anchors against today's models (GPU path) and store the result as the
    pair's next version (certificate issued, estimates recomputed), superseding it."""
    # Model-running engine code: the GPU path only.
    from alignment_plugins.recalibration import recalibrate

    matrix = check.matrix
    engine = recalibrate(load_engine_matrix(matrix), num_anchors=num_anchors, epochs=epochs, seed=_date_seed())
    path = Path(settings.ALIGNMENT_MATRIX_DIR) / f"{matrix.source.name}-to-{matrix.target.name}-recal-{check.id}" \
        ".wmatrix"
    stored = store_matrix(engine.save(path), owner=matrix.owner, name=matrix.name)
    DriftCheck.objects.filter(pk=check.pk).update(action=f"recalibrated: v{stored.version} ({stored.public_id})")
    return stored
