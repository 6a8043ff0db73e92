"""The Celery app: two queues (default = CPU work, gpu = anything that runs a model), routes, beat schedule.

Broker, result backend and eager mode come from Django settings (``CELERY_`` namespace); the queues, routes,
delivery guarantees and the beat schedule are part of the code and fixed here. Importing this module reads no
settings and imports neither torch nor the task modules (they are autodiscovered when the app finalizes).

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
    """The broker queues; a task's queue is decided by its route (or, for a few events, at dispatch)."""

    DEFAULT = "default"
    GPU = "gpu"


# Stable task names -> queue. A snapshot test keeps this list and the registered tasks in step.
TASK_ROUTES: dict[str, dict[str, str]] = {
    "alignment.precompute_estimates": {"queue": Queue.DEFAULT.value},
    "alignment.recompute_estimates": {"queue": Queue.DEFAULT.value},
    "alignment.check_drift_due": {"queue": Queue.DEFAULT.value},
    "alignment.translate_purchase": {"queue": Queue.GPU.value},
    "alignment.revalidate_drift": {"queue": Queue.GPU.value},
    "alignment.run_alignment_job": {"queue": Queue.GPU.value},
    "alignment.measure_stitching": {"queue": Queue.GPU.value},
}

BEAT_SCHEDULE = {
    "alignment.check_drift_due": {
        "task": "alignment.check_drift_due",
        "schedule": crontab(minute=0),  # hourly; each matrix is re-checked DRIFT_REVALIDATE_AFTER_HOURS after the last
    },
}

app = Celery("marketplace")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Set before configuration: these values take precedence over settings and are applied lazily.
app.conf.update(
    task_default_queue=Queue.DEFAULT.value,
    # One direct exchange and routing key per queue (a bare Queue(name) would bind both to the default key).
    task_queues=tuple(KombuQueue(q.value, Exchange(q.value, type="direct"), routing_key=q.value) for q in Queue),
    task_routes=TASK_ROUTES,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    beat_schedule=BEAT_SCHEDULE,
)
app.autodiscover_tasks()
