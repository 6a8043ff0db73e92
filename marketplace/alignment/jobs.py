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
from marketplace.alignment.quota import check_alignment_quota
from marketplace.catalog.models import Architecture
from marketplace.errors import Conflict, ServiceError, ValidationFailed

log = logging.getLogger(__name__)

#: The 80/10/10 split needs at least 10 validation and 10 test anchors; the built-in corpus has ~10.5k.
MIN_ALIGNMENT_ANCHORS, MAX_ALIGNMENT_ANCHORS = 100, 10_000


def valid_anchor_count(num_anchors: Any) -> bool:
    """Whether `num_anchors` is an integer from MIN_ALIGNMENT_ANCHORS to MAX_ALIGNMENT_ANCHORS."""
    return not isinstance(num_anchors, bool) and isinstance(num_anchors, int) and (
        MIN_ALIGNMENT_ANCHORS <= num_anchors <= MAX_ALIGNMENT_ANCHORS)


def request_alignment(
    *, user: Any, source: Architecture, target: Architecture, num_anchors: int = 2000, trigger: str = "",
    locations: dict[str, dict[str, Any]] | None = None, estimate: dict[str, Any] | None = None,
    enforce_quota: bool = False,
) -> AlignmentJob:
    """Queue training of a matrix for a pair without one; the job runs on the gpu queue after commit.

    Refused: the same model twice, a metadata-only model, a num_anchors outside 100..10000 (the trainer's 80/10/10
    split needs ≥ 10 held-out anchors per side; the built-in corpus has ~10.5k) (ValidationFailed); an active
    matrix for the pair, or a queued/running job for it (Conflict, with ``extra["job_id"]`` /
    ``extra["matrix_id"]`` naming the existing one). `locations` say where a model given by path or endpoint is
    (``ondemand.locate_model``), `estimate` is the ETA at request time (``ondemand.request_estimate``).
    `enforce_quota` (a user's request through the API): QuotaExceeded once `user` has spent the daily quota
    (``quota.check_alignment_quota``, checked under a lock on the user's row).
    """
    if source.pk == target.pk:
        raise ValidationFailed("source and target are the same model; no matrix is needed")
    for side, model in (("source", source), ("target", target)):
        if not model.runnable:
            raise ValidationFailed(f"{side} {model.name} is metadata-only (not runnable); it cannot be aligned")
    if not valid_anchor_count(num_anchors):
        raise ValidationFailed(f"num_anchors must be an integer from {MIN_ALIGNMENT_ANCHORS} to "
                               f"{MAX_ALIGNMENT_ANCHORS}, got {num_anchors!r}")
    with transaction.atomic():
        if enforce_quota:
            check_alignment_quota(user, lock=True)
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
        locations = locations or {}
        estimate = estimate or {}
        job = AlignmentJob.objects.create(
            requested_by=user, source=source, target=target, num_anchors=num_anchors, message="queued",
            trigger=trigger[:200], source_location=locations.get("source") or {},
            target_location=locations.get("target") or {}, estimate=estimate, eta_seconds=estimate.get("eta_seconds"))
        events.alignment_requested(job.id)
    return job


def _eta(fraction: float, elapsed: float, planned: float | None) -> float | None:
    """Seconds left: the pace so far (elapsed · (1 − f) / f) once a tenth is done, before that the request-time
    estimate minus the time spent (None when neither is known)."""
    if fraction >= 0.1:
        return elapsed * (1.0 - fraction) / fraction
    if planned is not None:
        return max(float(planned) - elapsed, 0.0)
    return None


def public_error(exc: BaseException, reference: str) -> str:
    """The failure message users see: what failed and the reference operators find in the log, never the exception
    text (paths, hosts, internals)."""
    if isinstance(exc, ServiceError):  # our own refusals are written for users
        return f"{exc}"[:300]
    return f"alignment failed (reference {reference}); the operators have the details"


def run_alignment_job(job: AlignmentJob, progress_cb: training.Progress | None = None) -> WMatrix:
    """Train the job's matrix (GPU worker) with ``training.train_and_store``; job SUCCEEDED with the new version.

    Progress (0..1), an ETA (elapsed/progress − elapsed) and a message per phase are written to the job row as
    they happen (outside any transaction, so clients see them), and passed to `progress_cb`. Any failure marks the
    job FAILED with a short public message in ``error`` (the exception and its traceback go to the log, under the
    job's id) and re-raises.
    """
    started = time.monotonic()

    planned = (job.estimate or {}).get("eta_seconds")

    def report(fraction: float, message: str) -> None:
        elapsed = time.monotonic() - started
        eta = _eta(fraction, elapsed, planned)
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
        measured: dict[str, float] = {}
        matrix = training.train_and_store(job.source.name, job.target.name, num_anchors=job.num_anchors, path=path,
                                          report=report, measured=measured,
                                          locations={"source": job.source_location, "target": job.target_location})
        job.estimate = {**(job.estimate or {}), "measured": measured,
                        "elapsed_seconds": time.monotonic() - started}
        AlignmentJob.objects.filter(pk=job.pk).update(estimate=job.estimate)
        report(1.0, f"done: v{matrix.version}, tier {matrix_tier(matrix)}")
    except Exception as exc:
        log.exception("alignment job %s (%s→%s) failed", job.public_id, job.source.name, job.target.name)
        AlignmentJob.objects.filter(pk=job.pk).update(status=AlignmentJob.Status.FAILED, finished_at=timezone.now(),
                                                      error=public_error(exc, job.public_id))
        job.status = AlignmentJob.Status.FAILED
        raise
    AlignmentJob.objects.filter(pk=job.pk).update(status=AlignmentJob.Status.SUCCEEDED, matrix=matrix,
                                                  finished_at=timezone.now(), eta_seconds=0.0)
    job.status, job.matrix = AlignmentJob.Status.SUCCEEDED, matrix
    return matrix
