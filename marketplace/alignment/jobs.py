"""Alignment jobs: a client asks for a matrix of a pair without one; the gpu queue trains and stores it."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from marketplace import events
from marketplace.alignment import training
from marketplace.alignment.certificates import matrix_tier
from marketplace.alignment.matrices import active_matrix
from marketplace.alignment.models import AlignmentJob, WMatrix
from marketplace.catalog.models import Architecture
from marketplace.errors import Conflict, ValidationFailed

log = logging.getLogger(__name__)

#: The 80/10/10 split needs at least 10 validation and 10 test anchors; the built-in corpus has ~10.5k.
MIN_ALIGNMENT_ANCHORS, MAX_ALIGNMENT_ANCHORS = 100, 10_000


def request_alignment(
    *, user: Any, source: Architecture, target: Architecture, num_anchors: int = 2000, trigger: str = "",
) -> AlignmentJob:
    """Queue training of a matrix for a pair without one; the job runs on the gpu queue after commit.

    Refused: the same model twice, a metadata-only model, a num_anchors outside 100..10000 (the trainer's 80/10/10
    split needs ≥ 10 held-out anchors per side; the built-in corpus has ~10.5k) (ValidationFailed); an active
    matrix for the pair, or a queued/running job for it (Conflict, with ``extra["job_id"]`` /
    ``extra["matrix_id"]`` naming the existing one).
    """
    if source.pk == target.pk:
        raise ValidationFailed("source and target are the same model; no matrix is needed")
    for side, model in (("source", source), ("target", target)):
        if not model.runnable:
            raise ValidationFailed(f"{side} {model.name} is metadata-only (not runnable); it cannot be aligned")
    if isinstance(num_anchors, bool) or not isinstance(num_anchors, int) or not (
            MIN_ALIGNMENT_ANCHORS <= num_anchors <= MAX_ALIGNMENT_ANCHORS):
        raise ValidationFailed(f"num_anchors must be an integer from {MIN_ALIGNMENT_ANCHORS} to "
                               f"{MAX_ALIGNMENT_ANCHORS}, got {num_anchors!r}")
    with transaction.atomic():
        Architecture.objects.select_for_update().filter(pk=source.pk).first()  # serialize requests for the pair
        matrix = active_matrix(source, target)
        if matrix is not None:
            raise Conflict(
                f"an active W-Matrix already exists for {source.name}→{target.name} "
                f"(v{matrix.version}, {matrix.public_id})", matrix_id=matrix.public_id,
            )
        running = AlignmentJob.objects.filter(
            source=source, target=target, status__in=[AlignmentJob.Status.QUEUED, AlignmentJob.Status.RUNNING]
        ).first()
        if running is not None:
            raise Conflict(
                f"alignment job {running.public_id} for {source.name}→{target.name} is already {running.status}",
                job_id=running.public_id,
            )
        job = AlignmentJob.objects.create(requested_by=user, source=source, target=target, num_anchors=num_anchors,
                                          message="queued", trigger=trigger[:200])
        events.alignment_requested(job.id)
    return job


def run_alignment_job(job: AlignmentJob, progress_cb: training.Progress | None = None) -> WMatrix:
    """Train the job's matrix (GPU worker) with ``training.train_and_store``; job SUCCEEDED with the new version.

    Progress (0..1), an ETA (elapsed/progress − elapsed) and a message per phase are written to the job row as
    they happen (outside any transaction, so clients see them), and passed to `progress_cb`. Any failure marks the
    job FAILED with the error and re-raises.
    """
    started = time.monotonic()

    def report(fraction: float, message: str) -> None:
        elapsed = time.monotonic() - started
        eta = elapsed * (1.0 - fraction) / fraction if fraction > 0 else None
        AlignmentJob.objects.filter(pk=job.pk).update(progress=fraction, eta_seconds=eta, message=message[:200])
        job.progress, job.eta_seconds, job.message = fraction, eta, message[:200]
        log.info("job %s: %.0f%% %s", job.public_id, fraction * 100, message)
        if progress_cb is not None:
            progress_cb(fraction, message)

    AlignmentJob.objects.filter(pk=job.pk).update(status=AlignmentJob.Status.RUNNING, started_at=timezone.now(),
                                                  error="")
    job.status = AlignmentJob.Status.RUNNING
    try:
        path = Path(settings.ALIGNMENT_MATRIX_DIR) / f"{job.source.name}-to-{job.target.name}-{job.public_id}.wmatrix"
        matrix = training.train_and_store(job.source.name, job.target.name, num_anchors=job.num_anchors, path=path,
                                          report=report)
        report(1.0, f"done: v{matrix.version}, tier {matrix_tier(matrix)}")
    except Exception as exc:
        AlignmentJob.objects.filter(pk=job.pk).update(status=AlignmentJob.Status.FAILED, finished_at=timezone.now(),
                                                      error=f"{type(exc).__name__}: {exc}"[:5000])
        job.status = AlignmentJob.Status.FAILED
        raise
    AlignmentJob.objects.filter(pk=job.pk).update(status=AlignmentJob.Status.SUCCEEDED, matrix=matrix,
                                                  finished_at=timezone.now(), eta_seconds=0.0)
    job.status, job.matrix = AlignmentJob.Status.SUCCEEDED, matrix
    return matrix
