"""The relay task: beat sends it every ``OUTBOX_RELAY_SECONDS`` (``marketplace.celery.BEAT_SCHEDULE``)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from marketplace.celery import TaskName
from marketplace.outbox.relay import relay_due


@shared_task(name=TaskName.RELAY_EVENTS.value, ignore_result=True)
def relay_events() -> dict[str, Any]:
    """Publish the outbox rows the broker has not taken yet (idempotent: each row is claimed before it is sent)."""
    result = relay_due()
    return {"sent": result.sent, "failed": result.failed, "pruned": result.pruned}
