"""The broker is down when a purchase or a listing is made: the API still answers, nothing is lost.

Not eager: Celery publishes to a broker URL on a closed local port, so every send fails with a connection error
(what a stopped Redis or RabbitMQ looks like to the producer). The transactions are real (``transaction=True``):
the events' on-commit sends run inside the request, as in production.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from dead_broker import broker_down
from django.core.management import call_command

from marketplace.catalog.models import Purchase
from marketplace.outbox.models import OutboxEvent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def funded(user):
    from marketplace.catalog.ledger import deposit

    deposit(user, Decimal("100"), memo="test funds")
    return user


def test_purchase_with_the_broker_down_is_accepted_and_relayed_later(
    funded, key_client, listing, wmatrix
) -> None:
    key_client.raise_request_exception = False  # see the status code a client would get
    payload = {"listing": listing.public_id, "target_model": "tgt-model", "idempotency_key": "down-1"}
    with broker_down():
        response = key_client.post("/api/v1/purchases/", payload, format="json")
        assert response.status_code == 202, response.content
        again = key_client.post("/api/v1/purchases/", payload, format="json")  # a client's retry
        assert again.status_code == 200 and again.json()["id"] == response.json()["id"]
    purchase = Purchase.objects.get(idempotency_key="down-1")
    assert purchase.status == Purchase.Status.PENDING
    event = OutboxEvent.objects.get()
    assert (event.task_name, event.args, event.sent_at) == ("alignment.translate_purchase", [purchase.id], None)
    assert event.attempts == 1 and "connect" in event.last_error.lower()

    # The broker is back (eager here: the relayed task runs inline) and the relay sends what was kept.
    call_command("relay_events", "--now")
    event.refresh_from_db()
    purchase.refresh_from_db()
    assert event.sent_at is not None and event.attempts == 2 and event.last_error == ""
    assert purchase.status == Purchase.Status.DELIVERED
    call_command("relay_events", "--now")  # nothing left: a second pass sends nothing
    event.refresh_from_db()
    assert event.attempts == 2
