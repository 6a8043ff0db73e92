"""The Celery app: two queues (default = CPU work, gpu = anything that runs a model), routes, beat schedule.

Broker, result backend and eager mode come from Django settings (``CELERY_`` namespace); the queues, routes,
delivery guarantees and the beat schedule are part of the code and fixed here. Importing this module reads no
settings and imports neither torch nor the task modules (they are autodiscovered when the app finalizes).

Routing: every sender (``marketplace.events``, admin actions, management commands, beat) sends a task by its stable
name and the router picks its queue: ``marketplace.routing.route_task`` first (estimate work goes to the gpu queue
when a matrix file it needs is not on this machine's filesystem), then the static ``TASK_ROUTES``. The router is
named by its dotted path, so Celery imports it (and the models it reads) on the first send, after Django is set up.

Workers::

    celery -A marketplace worker -Q default            # web-adjacent CPU work (estimates, beat fan-out)
    celery -A marketplace worker -Q gpu --concurrency 1  # translation, drift checks, alignment training
    celery -A marketplace beat
"""

from __future__ import annotations

import os
from enum import StrEnum

from celery import Celery
from celery.schedules import crontab
from kombu import Exchange
from kombu import Queue as KombuQueue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.local")


class Queue(StrEnum):
    """The broker queues; a task's queue is decided by the router (see the module docstring)."""

    DEFAULT = "default"
    GPU = "gpu"


class TaskName(StrEnum):
    """The tasks' stable names: senders use these, never the task objects (so no sender imports a task module)."""

    PRECOMPUTE_ESTIMATES = "alignment.precompute_estimates"
    RECOMPUTE_ESTIMATES = "alignment.recompute_estimates"
    CHECK_DRIFT_DUE = "alignment.check_drift_due"
    TRANSLATE_PURCHASE = "alignment.translate_purchase"
    REVALIDATE_DRIFT = "alignment.revalidate_drift"
    RUN_ALIGNMENT_JOB = "alignment.run_alignment_job"
    MEASURE_STITCHING = "alignment.measure_stitching"
    RECALIBRATE_MATRIX = "alignment.recalibrate_matrix"
    RELAY_EVENTS = "outbox.relay_events"
    EXTRACT_ANCHOR_SHARD = "alignment.extract_anchor_shard"
    PLAN_TOKEN_SHARDS = "alignment.plan_token_shards"
    TOKEN_STATS_SHARD = "alignment.token_stats_shard"
    FIT_FROM_SHARDS = "alignment.fit_from_shards"


# Stable task name -> its queue when the router has no reason to move it. A snapshot test keeps this list and the
# registered tasks in step.
TASK_ROUTES: dict[str, dict[str, str]] = {
    TaskName.PRECOMPUTE_ESTIMATES.value: {"queue": Queue.DEFAULT.value},
    TaskName.RECOMPUTE_ESTIMATES.value: {"queue": Queue.DEFAULT.value},
    TaskName.CHECK_DRIFT_DUE.value: {"queue": Queue.DEFAULT.value},
    TaskName.TRANSLATE_PURCHASE.value: {"queue": Queue.GPU.value},
    TaskName.REVALIDATE_DRIFT.value: {"queue": Queue.GPU.value},
    TaskName.RUN_ALIGNMENT_JOB.value: {"queue": Queue.GPU.value},
    TaskName.MEASURE_STITCHING.value: {"queue": Queue.GPU.value},
    TaskName.RECALIBRATE_MATRIX.value: {"queue": Queue.GPU.value},
    TaskName.RELAY_EVENTS.value: {"queue": Queue.DEFAULT.value},
    # Sharded training (marketplace.alignment.sharded_training): every step loads both models.
    TaskName.EXTRACT_ANCHOR_SHARD.value: {"queue": Queue.GPU.value},
    TaskName.PLAN_TOKEN_SHARDS.value: {"queue": Queue.GPU.value},
    TaskName.TOKEN_STATS_SHARD.value: {"queue": Queue.GPU.value},
    TaskName.FIT_FROM_SHARDS.value: {"queue": Queue.GPU.value},
}

#: Seconds between two beat-sent outbox relays (each relay message expires after the same time, so relays do not
#: pile up while no worker consumes).
OUTBOX_RELAY_SECONDS = 30.0

BEAT_SCHEDULE = {
    TaskName.CHECK_DRIFT_DUE.value: {
        "task": TaskName.CHECK_DRIFT_DUE.value,
        "schedule": crontab(minute=0),  # hourly; each matrix is re-checked DRIFT_REVALIDATE_AFTER_HOURS after the last
    },
    TaskName.RELAY_EVENTS.value: {
        "task": TaskName.RELAY_EVENTS.value,
        "schedule": OUTBOX_RELAY_SECONDS,  # events the broker did not take at commit time (marketplace.outbox)
        "options": {"expires": OUTBOX_RELAY_SECONDS},
    },
}

app = Celery("marketplace")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Set before configuration: these values take precedence over settings and are applied lazily.
app.conf.update(
    task_default_queue=Queue.DEFAULT.value,
    # One direct exchange and routing key per queue (a bare Queue(name) would bind both to the default key).
    task_queues=tuple(KombuQueue(q.value, Exchange(q.value, type="direct"), routing_key=q.value) for q in Queue),
    task_routes=("marketplace.routing.route_task", TASK_ROUTES),
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    beat_schedule=BEAT_SCHEDULE,
)
app.autodiscover_tasks()
