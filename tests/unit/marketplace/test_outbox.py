"""The event outbox: rows written with the business rows, sent after commit, relayed when the fast path failed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from marketplace import events
from marketplace.celery import TaskName, app
from marketplace.outbox import dispatch, relay
from marketplace.outbox.models import OutboxEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def failing_publish(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list]]:
    """Not eager, and every publish raises as a dead broker does; the attempted sends are recorded."""
    from kombu.exceptions import OperationalError

    attempts: list[tuple[str, list]] = []

    def publish(name: str, args: list) -> None:
        attempts.append((name, list(args)))
        raise OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    monkeypatch.setitem(app.conf, "task_always_eager", False)
    monkeypatch.setattr(dispatch, "_publish", publish)
    return attempts


def test_an_event_is_a_row_of_its_transaction(sent_tasks: list, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        events.purchase_created(41)
        raise RuntimeError("rolled back")
    assert not OutboxEvent.objects.exists() and sent_tasks == []
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        events.purchase_created(42)
        event = OutboxEvent.objects.get()
        assert event.sent_at is None and event.attempts == 0  # written now, sent after commit
    assert len(callbacks) == 1 and sent_tasks == [("alignment.translate_purchase", [42], "gpu")]
    event.refresh_from_db()
    assert event.sent_at is not None and event.attempts == 1 and event.last_error == ""
    assert relay.relay_due(retry_after=0).sent == 0 and len(sent_tasks) == 1  # a sent row is never sent again


def test_a_failed_publish_is_kept_and_relayed(failing_publish: list, monkeypatch: pytest.MonkeyPatch,
                                              django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        events.listing_created(7)
        events.purchase_created(8)
    assert failing_publish == [("alignment.precompute_estimates", [7]), ("alignment.translate_purchase", [8])]
    rows = list(OutboxEvent.objects.order_by("id"))
    assert [(r.sent_at, r.attempts) for r in rows] == [(None, 1), (None, 1)]
    assert all("Connection refused" in r.last_error for r in rows)

    # Tried just now: not due before OUTBOX_RETRY_SECONDS; a relay pass with the broker still down stops at the
    # first failure instead of trying every row.
    assert relay.relay_due() == relay.RelayResult(sent=0, failed=0, pruned=0)
    assert relay.relay_due(retry_after=0) == relay.RelayResult(sent=0, failed=1, pruned=0)
    assert len(failing_publish) == 3

    sent: list[tuple[str, list]] = []
    monkeypatch.setattr(dispatch, "_publish", lambda name, args: sent.append((name, list(args))))  # broker back
    OutboxEvent.objects.update(last_attempt_at=timezone.now() - timedelta(minutes=1))
    assert relay.relay_due().sent == 2
    assert sent == [("alignment.precompute_estimates", [7]), ("alignment.translate_purchase", [8])]
    assert relay.unsent_count() == 0
    assert list(OutboxEvent.objects.values_list("attempts", "last_error")) in ([(3, ""), (2, "")], [(2, ""), (3, "")])


def test_a_claimed_row_is_sent_by_one_sender_only(failing_publish: list) -> None:
    event = OutboxEvent.objects.create(task_name=TaskName.TRANSLATE_PURCHASE.value, args=[5])
    assert dispatch.send(event.pk, event.task_name, event.args) is dispatch.Outcome.FAILED
    # A second sender within OUTBOX_RETRY_SECONDS of the claim (e.g. a relay racing the fast path) backs off.
    assert dispatch.send(event.pk, event.task_name, event.args) is dispatch.Outcome.TAKEN
    assert len(failing_publish) == 1


def test_old_sent_rows_are_pruned(settings: Any) -> None:
    old = timezone.now() - timedelta(days=settings.OUTBOX_KEEP_DAYS + 1)
    OutboxEvent.objects.create(task_name="t", args=[1], sent_at=old)
    OutboxEvent.objects.create(task_name="t", args=[2], sent_at=timezone.now())
    kept_unsent = OutboxEvent.objects.create(task_name="t", args=[3])
    OutboxEvent.objects.filter(pk=kept_unsent.pk).update(created_at=old)
    assert relay.prune_sent() == 1
    assert sorted(OutboxEvent.objects.values_list("args", flat=True)) == [[2], [3]]


def test_relay_task_and_command(failing_publish: list, monkeypatch: pytest.MonkeyPatch) -> None:
    from io import StringIO

    from django.core.management import call_command

    from marketplace.outbox.tasks import relay_events

    OutboxEvent.objects.create(task_name=TaskName.PRECOMPUTE_ESTIMATES.value, args=[3])
    assert relay_events.apply().get() == {"sent": 0, "failed": 1, "pruned": 0}
    out = StringIO()
    call_command("relay_events", stdout=out)  # tried just now: not due yet
    assert out.getvalue().strip() == "sent 0, failed 0, pruned 0, unsent 1"
    monkeypatch.setattr(dispatch, "_publish", lambda name, args: None)
    call_command("relay_events", "--now", stdout=out)
    assert out.getvalue().splitlines()[-1] == "sent 1, failed 0, pruned 0, unsent 0"


def test_admin_lists_unsent_and_failed_rows_and_sends_them(admin_client: Any, failing_publish: list,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    failed = OutboxEvent.objects.create(task_name=TaskName.TRANSLATE_PURCHASE.value, args=[11])
    dispatch.send(failed.pk, failed.task_name, failed.args)
    OutboxEvent.objects.create(task_name=TaskName.PRECOMPUTE_ESTIMATES.value, args=[12],
                               sent_at=timezone.now(), attempts=1)
    url = "/admin/outbox/outboxevent/"
    listed = admin_client.get(url, {"state": "failed"})
    assert [e.pk for e in listed.context["cl"].result_list] == [failed.pk]
    assert "Connection refused" in listed.content.decode()
    assert [e.args for e in admin_client.get(url, {"state": "unsent"}).context["cl"].result_list] == [[11]]
    assert len(admin_client.get(url, {"state": "sent"}).context["cl"].result_list) == 1
    assert admin_client.get(f"{url}add/").status_code == 403

    monkeypatch.setattr(dispatch, "_publish", lambda name, args: None)  # the broker is back
    response = admin_client.post(url, {"action": "send_now", "_selected_action": [failed.pk]}, follow=True)
    assert "1 sent, 0 failed" in response.content.decode()
    failed.refresh_from_db()
    assert failed.sent_at is not None and failed.attempts == 2
