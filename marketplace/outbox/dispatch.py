"""Write an event's outbox row in the caller's transaction; publish it after commit (the fast path).

A publish that fails (broker down or unreachable) is logged and recorded on the row, never raised to the caller:
the row stays unsent and the relay (``marketplace.outbox.relay``) sends it when the broker is back. Sending is
at-least-once (a crash between the broker's acceptance and the ``sent_at`` update sends the row again), which the
tasks absorb: each runs its body once per idempotency key (``TaskRun``).

Claiming: a row is *due* when unsent and not tried within ``OUTBOX_RETRY_SECONDS``; a sender first claims it with
a conditional UPDATE (``attempts + 1``, ``last_attempt_at = now``), so the fast path and concurrent relays never
publish the same row at the same time, and a sender that died after claiming leaves a row that is due again later.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from enum import StrEnum
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from marketplace.celery import app
from marketplace.outbox.models import OutboxEvent

log = logging.getLogger(__name__)

#: kombu's publish retry policy here: reconnect once, at once (a broker that is down fails the send in about the
#: connection timeout, ``broker_connection_timeout``, instead of Celery's default of three retries).
PUBLISH_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}


class Outcome(StrEnum):
    """What one send did: published, failed to publish (kept for the relay), or another sender had it."""

    SENT = "sent"
    FAILED = "failed"
    TAKEN = "taken"


def due(retry_after: float | None = None) -> Q:
    """Unsent rows not tried within `retry_after` seconds (default ``settings.OUTBOX_RETRY_SECONDS``)."""
    wait = settings.OUTBOX_RETRY_SECONDS if retry_after is None else retry_after
    before = timezone.now() - timedelta(seconds=wait)
    return Q(sent_at__isnull=True) & (Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lte=before))


def record(name: str, args: list[Any]) -> OutboxEvent:
    """Write the outbox row for task `name` with `args` in the current transaction; publish it once that commits."""
    event = OutboxEvent.objects.create(task_name=name, args=list(args))
    log.debug("outbox %s: %s%s", event.pk, name, tuple(args))
    transaction.on_commit(partial(send, event.pk, name, list(args)))  # never tried: due
    return event


def send(event_id: int, name: str, args: list[Any], *, retry_after: float | None = None) -> Outcome:
    """Claim row `event_id` if due (`retry_after` seconds since its last try) and publish task `name`(`args`)."""
    claimed = OutboxEvent.objects.filter(due(retry_after), pk=event_id).update(
        attempts=F("attempts") + 1, last_attempt_at=timezone.now())
    if not claimed:
        return Outcome.TAKEN
    if app.conf.task_always_eager:
        # Eager (tests, the demo): the task runs inline inside apply_async, and its own exceptions propagate as
        # they always did; the row counts as sent before it runs.
        OutboxEvent.objects.filter(pk=event_id).update(sent_at=timezone.now(), last_error="")
        _publish(name, args)
        return Outcome.SENT
    try:
        _publish(name, args)
    except Exception as exc:  # any publish failure keeps the row for the relay
        log.warning("outbox %s: %s%s not sent (kept for the relay): %s: %s", event_id, name, tuple(args),
                    type(exc).__name__, exc)
        OutboxEvent.objects.filter(pk=event_id).update(last_error=f"{type(exc).__name__}: {exc}"[:2000])
        return Outcome.FAILED
    OutboxEvent.objects.filter(pk=event_id).update(sent_at=timezone.now(), last_error="")
    return Outcome.SENT


def _publish(name: str, args: list[Any]) -> None:
    if name not in app.tasks:  # first send in this process: autodiscover the task modules, as a worker does at start
        app.loader.import_default_modules()
    # The registered task runs inline under eager Celery; otherwise it is published through app.send_task, where
    # the router picks the queue. One quick retry (which also replaces a pooled connection the broker dropped):
    # a send that still fails waits for the relay, not inside a request.
    app.signature(name, args=args).apply_async(retry=True, retry_policy=PUBLISH_RETRY)
