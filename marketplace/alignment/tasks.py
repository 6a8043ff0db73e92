"""Celery tasks of the alignment app: thin wrappers that re-load rows by id and call the services.

Conventions (see docs in marketplace/celery.py): explicit stable names, ids only as arguments, ``acks_late`` with
``reject_on_worker_lost`` (a message is redelivered if its worker dies), retries with exponential backoff on
database errors and on rows that are not visible yet, and every body inside :func:`run_once`, so a redelivered
message finds its TaskRun SUCCEEDED and does nothing twice. Nothing here imports torch at module level: the gpu
tasks reach torch only through the services' GPU paths (training, drift checks, stitching).

Lease: a running body holds its TaskRun's lease (``TASK_LEASE_SECONDS``, renewed every third of it by a heartbeat
thread). A copy of the message that arrives meanwhile (Redis redelivers after the visibility timeout even while the
first worker still runs the task) finds the lease live: it does not run the body but sends itself again with a
``lease_watch`` header to look later (a *watcher*). A watcher stops once the run SUCCEEDED or FAILED, and runs the
body itself only when the lease expired: its worker died (SIGKILL, OOM, node loss) and stopped renewing it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, TypeVar

from celery import shared_task
from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F, Model, Q
from django.utils import timezone

from marketplace import events
from marketplace.alignment import drift, estimates, jobs, sharded_training, stitching
from marketplace.alignment.models import AlignmentJob, DriftCheck, TaskRun, WMatrix
from marketplace.catalog import delivery, refunds
from marketplace.catalog.models import Purchase, VectorListing
from marketplace.celery import TaskName

log = logging.getLogger(__name__)

M = TypeVar("M", bound=Model)

#: Message header of a copy re-sent to watch a lease held by another worker.
LEASE_WATCH_HEADER = "lease_watch"


class RetryLater(Exception):
    """The row a message names is not there (yet): retry with backoff (e.g. a replica behind the primary)."""


class LeaseHeld(Exception):
    """The run of `key` is live in another worker (`owner`): look again in `retry_in` seconds."""

    def __init__(self, key: str, owner: str, retry_in: float) -> None:
        super().__init__(f"{key}: lease held by {owner}; looking again in {retry_in:.0f} s")
        self.key, self.owner, self.retry_in = key, owner, retry_in


TASK_OPTIONS: dict[str, Any] = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError, RetryLater),
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
}


def _load(model: type[M], pk: int, **related: Any) -> M:
    queryset = model.objects.all()
    if related.get("select"):
        queryset = queryset.select_related(*related["select"])
    try:
        return queryset.get(pk=pk)
    except model.DoesNotExist:
        raise RetryLater(f"{model.__name__} {pk} does not exist (yet)") from None


def _lease_seconds() -> float:
    return float(settings.TASK_LEASE_SECONDS)


def _new_owner() -> str:
    """This attempt's lease token: host, pid and a random part (readable by operators, unique per attempt)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@contextmanager
def _heartbeat(run_pk: int, owner: str) -> Iterator[None]:
    """Renew the lease of `run_pk` held by `owner` every third of ``TASK_LEASE_SECONDS`` while the body runs."""
    stop = threading.Event()
    interval = _lease_seconds() / 3

    def beat() -> None:
        try:
            while not stop.wait(interval):
                try:
                    kept = TaskRun.objects.filter(pk=run_pk, lease_owner=owner).update(
                        lease_expires_at=timezone.now() + timedelta(seconds=_lease_seconds()))
                except Exception:  # the database is away: try again next beat (the lease may lapse)
                    log.warning("lease of TaskRun %s not renewed", run_pk, exc_info=True)
                    continue
                if not kept:
                    log.warning("lease of TaskRun %s was taken over by another worker", run_pk)
                    return
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"lease-{run_pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def _claim(run: TaskRun, owner: str, *, watching: bool) -> bool:
    """Take the lease of `run` if nobody holds a live one (a watcher takes only an expired STARTED run)."""
    now = timezone.now()
    free = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now)
    claimable = Q(status=TaskRun.Status.STARTED) & free
    if not watching:
        claimable |= Q(status=TaskRun.Status.FAILED)
    return bool(TaskRun.objects.filter(claimable, pk=run.pk).update(
        attempts=F("attempts") + 1, status=TaskRun.Status.STARTED, error="", lease_owner=owner,
        lease_expires_at=now + timedelta(seconds=_lease_seconds())))


def once(key: str, task_name: str, work: Callable[[], dict[str, Any] | None], *,
         watching: bool = False) -> dict[str, Any]:
    """Run `work` at most once to success per idempotency `key`; return its (JSON) result.

    A TaskRun row with the unique key is inserted (STARTED, with this attempt's lease) before the work. If the key
    already SUCCEEDED, the stored result is returned (with ``"skipped": True``) and nothing runs. A run whose lease
    is live elsewhere raises :class:`LeaseHeld`. A STARTED run whose lease expired (its worker died) or a FAILED
    run (an earlier attempt raised; not for a `watching` copy, which then stops) counts another attempt and runs
    again — the services are themselves idempotent, so a half-finished attempt is safe to repeat. Exceptions mark
    the run FAILED and propagate (so Celery's autoretry sees them).
    """
    owner = _new_owner()
    lease_until = timezone.now() + timedelta(seconds=_lease_seconds())
    try:
        with transaction.atomic():
            run, created = TaskRun.objects.get_or_create(
                idempotency_key=key,
                defaults={"task_name": task_name, "lease_owner": owner, "lease_expires_at": lease_until})
    except IntegrityError:  # a concurrent insert of the same key won
        run, created = TaskRun.objects.get(idempotency_key=key), False
    if not created and not _claim(run, owner, watching=watching):
        run.refresh_from_db()
        if run.status == TaskRun.Status.SUCCEEDED:
            log.info("%s already succeeded; skipping", key)
            return {**run.result, "skipped": True}
        if run.status == TaskRun.Status.FAILED:  # only a watcher gets here: the failed run has its own retries
            log.info("%s failed in its own attempt; this copy stops", key)
            return {"skipped": True, "failed": True}
        remaining = (run.lease_expires_at - timezone.now()).total_seconds() if run.lease_expires_at else 0.0
        raise LeaseHeld(key, run.lease_owner, max(remaining, 0.0) + 1.0)
    try:
        with _heartbeat(run.pk, owner):
            result = work() or {}
    except Exception as exc:
        TaskRun.objects.filter(pk=run.pk).update(status=TaskRun.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[
            :5000], finished_at=timezone.now(), lease_expires_at=None)
        raise
    TaskRun.objects.filter(pk=run.pk).update(status=TaskRun.Status.SUCCEEDED, result=result,
                                             finished_at=timezone.now(), lease_expires_at=None)
    return result


def watch_interval(retry_in: float) -> float:
    """Seconds until a watcher looks again: when the lease expires, but under half Redis's visibility timeout (an
    ETA message held longer than that would be redelivered too)."""
    visibility = float((settings.CELERY_BROKER_TRANSPORT_OPTIONS or {}).get("visibility_timeout", 3600))
    return max(min(retry_in, visibility / 2), 1.0)


def run_once(task: Any, key: str, work: Callable[[], dict[str, Any] | None]) -> dict[str, Any]:
    """:func:`once` for the bound `task`; when another worker holds the lease, re-send the message as a watcher."""
    watching = bool(getattr(task.request, LEASE_WATCH_HEADER, None)
                    or (task.request.headers or {}).get(LEASE_WATCH_HEADER))
    try:
        return once(key, task.name, work, watching=watching)
    except LeaseHeld as held:
        if task.request.is_eager:
            raise
        countdown = watch_interval(held.retry_in)
        log.info("%s: lease held by %s; this copy looks again in %.0f s", key, held.owner, countdown)
        task.apply_async(args=task.request.args, kwargs=task.request.kwargs, countdown=countdown,
                         headers={LEASE_WATCH_HEADER: True})
        return {"deferred": True, "lease_owner": held.owner}


@shared_task(name=TaskName.PRECOMPUTE_ESTIMATES.value, **TASK_OPTIONS)
def precompute_estimates(self: Any, listing_id: int) -> dict[str, Any]:
    """Default-config compatibility estimates of a new listing for every target with an active matrix."""
    listing = _load(VectorListing, listing_id, select=["source_model"])

    def work() -> dict[str, Any]:
        made = estimates.precompute_estimates(listing)
        return {"listing": listing.public_id, "estimates": len(made),
                "targets": sorted(e.target.name for e in made)}

    return run_once(self, f"precompute_estimates:{listing_id}", work)


@shared_task(name=TaskName.RECOMPUTE_ESTIMATES.value, **TASK_OPTIONS)
def recompute_estimates(self: Any, matrix_id: int) -> dict[str, Any]:
    """Recompute the estimates of a matrix's pair after it became the active version."""
    matrix = _load(WMatrix, matrix_id, select=["source", "target"])

    def work() -> dict[str, Any]:
        return {"matrix": matrix.public_id, "estimates": len(estimates.recompute_estimates(matrix))}

    return run_once(self, f"recompute_estimates:{matrix_id}", work)


@shared_task(name=TaskName.TRANSLATE_PURCHASE.value, **TASK_OPTIONS)
def translate_purchase(self: Any, purchase_id: int) -> dict[str, Any]:
    """Translate a purchased vector into the target space and store it (gpu queue)."""
    purchase = _load(Purchase, purchase_id)

    def work() -> dict[str, Any]:
        try:
            delivery.deliver_purchase(purchase)
        except (OperationalError, RetryLater) as exc:
            if self.request.retries >= self.max_retries:  # the last attempt: give up and refund
                refunds.refund_failed_delivery(purchase, exc)
            raise
        except Exception as exc:  # permanent: refund the buyer (a short public message; the details are logged)
            refunds.refund_failed_delivery(purchase, exc)
            raise
        purchase.refresh_from_db()
        return {"purchase": purchase.public_id, "status": purchase.status, "file": purchase.translated_vector.name}

    return run_once(self, f"translate_purchase:{purchase_id}", work)


@shared_task(name=TaskName.REVALIDATE_DRIFT.value, **TASK_OPTIONS)
def revalidate_drift(self: Any, matrix_id: int) -> dict[str, Any]:
    """Re-measure a matrix on fresh anchors (gpu queue); once per validation (key includes validated_at)."""
    matrix = _load(WMatrix, matrix_id, select=["source", "target"])
    stamp = matrix.validated_at.isoformat() if matrix.validated_at else "never"

    def work() -> dict[str, Any]:
        if matrix.status != WMatrix.Status.ACTIVE:
            return {"matrix": matrix.public_id, "status": matrix.status, "checked": False}
        check = drift.run_drift_check(matrix)
        return {"matrix": matrix.public_id, "checked": True, "status": check.status, "drift": check.drift}

    return run_once(self, f"revalidate_drift:{matrix_id}:{stamp}", work)


@shared_task(name=TaskName.MEASURE_STITCHING.value, **TASK_OPTIONS)
def measure_stitching(self: Any, matrix_id: int) -> dict[str, Any]:
    """Measure a new matrix version's task transfer, stitching and head mapping on its models (gpu queue)."""
    matrix = _load(WMatrix, matrix_id, select=["source", "target"])

    def work() -> dict[str, Any]:
        result = stitching.measure_stitching(matrix)
        if "not_measured" in result:
            return {"matrix": matrix.public_id, "not_measured": result["not_measured"]}
        return {"matrix": matrix.public_id, "pair": result.get("pair"),
                "attention_fidelity": result.get("attention_fidelity", {}).get("value")}

    return run_once(self, f"measure_stitching:{matrix_id}", work)


@shared_task(name=TaskName.CHECK_DRIFT_DUE.value, **TASK_OPTIONS)
def check_drift_due(self: Any) -> dict[str, Any]:
    """Hourly (beat): enqueue revalidate_drift for every active matrix validated too long ago."""
    now = timezone.now()

    def work() -> dict[str, Any]:
        due = list(drift.due_for_drift_check(now).values_list("id", flat=True))
        for matrix_id in due:
            events.drift_check_due(matrix_id)
        return {"enqueued": due}

    return run_once(self, f"check_drift_due:{now:%Y-%m-%dT%H}", work)


@shared_task(name=TaskName.RUN_ALIGNMENT_JOB.value, **TASK_OPTIONS)
def run_alignment_job(self: Any, job_id: int) -> dict[str, Any]:
    """Train the matrix of a queued alignment job (gpu queue), with progress written to the job."""
    job = _load(AlignmentJob, job_id, select=["source", "target"])

    def work() -> dict[str, Any]:
        if job.status == AlignmentJob.Status.SUCCEEDED and job.matrix_id:
            return {"job": job.public_id, "matrix_id": job.matrix_id}
        matrix = jobs.run_alignment_job(job)
        return {"job": job.public_id, "matrix": matrix.public_id, "version": matrix.version}

    return run_once(self, f"run_alignment_job:{job_id}", work)


@shared_task(name=TaskName.RECALIBRATE_MATRIX.value, **TASK_OPTIONS)
def recalibrate_matrix(self: Any, check_id: int) -> dict[str, Any]:
    """Recalibrate the matrix of a drift check on fresh anchors and store the new version (gpu queue)."""
    check = _load(DriftCheck, check_id, select=["matrix__source", "matrix__target"])

    def work() -> dict[str, Any]:
        matrix = drift.recalibrate_matrix(check)
        return {"check": check.id, "matrix": matrix.public_id, "version": matrix.version}

    return run_once(self, f"recalibrate_matrix:{check_id}", work)


# ------------------------------------------------------------------ sharded training (see sharded_training)
@shared_task(name=TaskName.EXTRACT_ANCHOR_SHARD.value, **TASK_OPTIONS)
def extract_anchor_shard(self: Any, spec: dict[str, Any], shard: int) -> dict[str, Any]:
    """Pooled states of one anchor shard of a sharded training run into the shared cache (gpu queue)."""
    return run_once(self, f"sharded:{spec['run']}:extract:{shard}",
                    lambda: sharded_training.extract_anchor_shard(spec, shard))


@shared_task(name=TaskName.PLAN_TOKEN_SHARDS.value, **TASK_OPTIONS)
def plan_token_shards(self: Any, shard_results: list[dict[str, Any]], spec: dict[str, Any]) -> Any:
    """Chord callback: the layer pairs from the merged anchor shards, then replaced by the token-statistics chord."""
    result = run_once(self, f"sharded:{spec['run']}:plan",
                      lambda: {"pairs": sharded_training.layer_pairs(spec), "anchor_shards": shard_results})
    if result.get("deferred"):  # a redelivered copy while the first still plans: that one goes on
        return result
    return self.replace(sharded_training.token_pass(spec, result["pairs"]))


@shared_task(name=TaskName.TOKEN_STATS_SHARD.value, **TASK_OPTIONS)
def token_stats_shard(self: Any, spec: dict[str, Any], shard: int, pairs: list[list[int]]) -> dict[str, Any]:
    """Token-pair statistics of one training-text shard into the shared cache (gpu queue)."""
    return run_once(self, f"sharded:{spec['run']}:tokens:{shard}",
                    lambda: sharded_training.token_stats_shard(spec, shard, pairs))


@shared_task(name=TaskName.FIT_FROM_SHARDS.value, **TASK_OPTIONS)
def fit_from_shards(self: Any, shard_results: list[dict[str, Any]], spec: dict[str, Any]) -> dict[str, Any]:
    """Chord callback: merge every shard, fit (``WMatrixTrainer.train``) and write the matrix file (gpu queue)."""
    return run_once(self, f"sharded:{spec['run']}:fit",
                    lambda: {**sharded_training.fit_from_shards(spec), "token_shards": shard_results})
