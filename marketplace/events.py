"""Domain events: services call these inside their transaction; the tasks are enqueued only after it commits.

Each helper registers ``transaction.on_commit(partial(task.apply_async, args=[id], queue=...))`` (Saleor/NetBox
shape): a rolled-back transaction enqueues nothing, and a worker never receives an id whose row is not committed.
Outside a transaction (autocommit) the task is enqueued at once. Tasks are imported lazily: this module is
imported by the services, which the task module imports.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction

from marketplace.celery import Queue

log = logging.getLogger(__name__)


def _enqueue(task: Any, object_id: int, queue: Queue) -> None:
    log.debug("on commit: %s(%s) -> %s", task.name, object_id, queue)
    transaction.on_commit(partial(task.apply_async, args=[object_id], queue=queue.value))


def file_is_local(field_file: Any) -> bool:
    """Whether a stored file can be opened from this machine's filesystem (FileSystemStorage on a shared volume)."""
    if not field_file:
        return False
    try:
        from pathlib import Path

        return Path(field_file.path).is_file()
    except (NotImplementedError, ValueError):
        return False


def estimates_queue(source_model_id: int) -> Queue:
    """The queue for estimate work of a source model: default when every active matrix file from it is local."""
    from marketplace.alignment.models import WMatrix

    matrices = WMatrix.objects.filter(source_id=source_model_id, status=WMatrix.Status.ACTIVE)
    return Queue.DEFAULT if all(file_is_local(m.file) for m in matrices) else Queue.GPU


def listing_created(listing_id: int) -> None:
    """A listing was created: precompute its compatibility estimates for every target with an active matrix."""
    from marketplace.alignment import tasks
    from marketplace.catalog.models import VectorListing

    source_id = VectorListing.objects.filter(pk=listing_id).values_list("source_model_id", flat=True).first()
    queue = estimates_queue(source_id) if source_id is not None else Queue.DEFAULT
    _enqueue(tasks.precompute_estimates, listing_id, queue)


def purchase_created(purchase_id: int) -> None:
    """A purchase was paid: translate the vector into the target model's space and store it (gpu queue)."""
    from marketplace.alignment import tasks

    _enqueue(tasks.translate_purchase, purchase_id, Queue.GPU)


def matrix_version_created(matrix_id: int) -> None:
    """A new matrix version became active: recompute the estimates computed from the version it superseded, and
    (``settings.MEASURE_STITCHING_ON_NEW_MATRIX``) measure its stitching metrics on the gpu queue."""
    from marketplace.alignment import tasks
    from marketplace.alignment.models import WMatrix

    source_id = WMatrix.objects.filter(pk=matrix_id).values_list("source_id", flat=True).first()
    queue = estimates_queue(source_id) if source_id is not None else Queue.DEFAULT
    _enqueue(tasks.recompute_estimates, matrix_id, queue)
    if settings.MEASURE_STITCHING_ON_NEW_MATRIX:
        _enqueue(tasks.measure_stitching, matrix_id, Queue.GPU)


def alignment_requested(job_id: int) -> None:
    """An alignment job was queued: train the matrix on the gpu queue."""
    from marketplace.alignment import tasks

    _enqueue(tasks.run_alignment_job, job_id, Queue.GPU)


def drift_check_due(matrix_id: int) -> None:
    """A matrix is due for revalidation on fresh anchors (gpu queue: it runs both models)."""
    from marketplace.alignment import tasks

    _enqueue(tasks.revalidate_drift, matrix_id, Queue.GPU)
