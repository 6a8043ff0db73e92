"""Domain events: services call these inside their transaction; the tasks are sent only after it commits.

A leaf dispatcher (Saleor/NetBox shape): each event writes an outbox row naming a task by its stable name
(``marketplace.celery.TaskName``) with ids as arguments, in the caller's transaction, and publishes it once that
commits (``marketplace.outbox.dispatch``). A rolled-back transaction leaves no row and sends nothing, and a worker
never receives an id whose row is not committed; outside a transaction (autocommit) the task is sent at once. A
broker that is down loses nothing and fails no request: the row stays unsent and the relay (beat every 30 s,
``manage.py relay_events``) sends it when the broker is back. This module imports no task, service or model module
of the other apps: the queue is the router's choice (``marketplace.routing``), the same for services, admin actions
and management commands, which all send through here.
"""

from __future__ import annotations

import logging

from django.conf import settings

from marketplace.celery import TaskName
from marketplace.outbox import dispatch

log = logging.getLogger(__name__)


def send_on_commit(name: TaskName, *args: int) -> None:
    """Keep task `name` with `args` (ids) in the outbox; publish it once the current transaction commits."""
    log.debug("on commit: %s%s", name.value, args)
    dispatch.record(name.value, list(args))


def listing_created(listing_id: int) -> None:
    """A listing was created: precompute its compatibility estimates for every target with an active matrix."""
    send_on_commit(TaskName.PRECOMPUTE_ESTIMATES, listing_id)


def purchase_created(purchase_id: int) -> None:
    """A purchase was paid: translate the vector into the target model's space and store it (gpu queue)."""
    send_on_commit(TaskName.TRANSLATE_PURCHASE, purchase_id)


def estimates_outdated(matrix_id: int) -> None:
    """The estimates of a matrix's pair must be brought up to date with it (a new version, or an operator asked)."""
    send_on_commit(TaskName.RECOMPUTE_ESTIMATES, matrix_id)


def matrix_version_created(matrix_id: int) -> None:
    """A new matrix version became active: recompute the estimates computed from the version it superseded, and
    (``settings.MEASURE_STITCHING_ON_NEW_MATRIX``) measure its stitching metrics on the gpu queue."""
    estimates_outdated(matrix_id)
    if settings.MEASURE_STITCHING_ON_NEW_MATRIX:
        send_on_commit(TaskName.MEASURE_STITCHING, matrix_id)


def alignment_requested(job_id: int) -> None:
    """An alignment job was queued: train the matrix on the gpu queue."""
    send_on_commit(TaskName.RUN_ALIGNMENT_JOB, job_id)


def drift_check_due(matrix_id: int) -> None:
    """A matrix is due for revalidation on fresh anchors (gpu queue: it runs both models)."""
    send_on_commit(TaskName.REVALIDATE_DRIFT, matrix_id)


def recalibration_requested(check_id: int) -> None:
    """A drift check recommended a recalibration: recalibrate its matrix on fresh anchors (gpu queue)."""
    send_on_commit(TaskName.RECALIBRATE_MATRIX, check_id)
