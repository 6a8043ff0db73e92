"""Send the outbox rows the fast path could not (the broker was down), and drop old sent rows."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from marketplace.outbox.dispatch import Outcome, due, send
from marketplace.outbox.models import OutboxEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RelayResult:
    """Counts of one relay pass: rows published, rows that failed (the pass stops at the first), rows pruned."""

    sent: int
    failed: int
    pruned: int


def relay_due(*, retry_after: float | None = None, limit: int | None = None) -> RelayResult:
    """Publish due unsent rows, oldest first (at most `limit`); stop at the first failure (the broker is down)."""
    limit = settings.OUTBOX_RELAY_BATCH if limit is None else limit
    rows = list(OutboxEvent.objects.filter(due(retry_after)).order_by("id")
                .values_list("id", "task_name", "args")[:limit])
    sent = failed = 0
    for event_id, name, args in rows:
        outcome = send(event_id, name, args, retry_after=retry_after)
        if outcome is Outcome.SENT:
            sent += 1
        elif outcome is Outcome.FAILED:
            failed += 1
            break
    pruned = prune_sent()
    if sent or failed:
        log.info("outbox relay: %d sent, %d failed, %d still unsent", sent, failed, unsent_count())
    return RelayResult(sent=sent, failed=failed, pruned=pruned)


def prune_sent() -> int:
    """Delete rows sent more than ``settings.OUTBOX_KEEP_DAYS`` days ago; return how many."""
    cutoff = timezone.now() - timedelta(days=settings.OUTBOX_KEEP_DAYS)
    deleted, _ = OutboxEvent.objects.filter(sent_at__lt=cutoff).delete()
    return deleted


def unsent_count() -> int:
    """Rows not yet taken by the broker."""
    return OutboxEvent.objects.filter(sent_at__isnull=True).count()
