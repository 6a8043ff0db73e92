"""The database goes away in the middle of a purchase: nothing is half-applied, the buyer is told to retry, and the
retry with the same idempotency key buys exactly once.

"Goes away" is PostgreSQL terminating the purchase's session (``pg_terminate_backend``) right after the ledger rows
are written and before the commit — what a restart or a failover does to an open transaction — without stopping the
shared server other tests use. Database: ``live_database`` (conftest.py), a fresh migrated PostgreSQL database.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from test_money import _assert_ledger_exact, _client, _concurrently, _listing

pytestmark = pytest.mark.integration


def _post_in_own_thread(api: Any, order: dict[str, str]) -> Any:
    """POST the purchase from a thread of its own (its own database connection); the response, or the repr of the
    exception that escaped the view."""
    return _concurrently([lambda: api.post("/api/v1/purchases/", order, format="json")], threads=1)[0]


def _terminate(pid: int, role: str, dbname: str) -> None:
    import psycopg
    from django.db import connections

    params = connections["default"].settings_dict
    with psycopg.connect(host=params["HOST"] or "127.0.0.1", port=params["PORT"] or 5432, user=role, dbname=dbname,
                         autocommit=True) as admin:
        assert admin.execute("select pg_terminate_backend(%s)", [pid]).fetchone()[0]


def test_a_purchase_whose_database_session_dies_before_commit_is_not_applied_and_can_be_retried(
    live_database: Any, live_settings: None, transactional_db: None, django_user_model: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.db import connection, transaction

    from marketplace import events
    from marketplace.catalog import ledger, purchases
    from marketplace.catalog.ledger import deposit
    from marketplace.catalog.models import Account, LedgerEntry, Purchase

    sent: list[int] = []  # purchase events that left the transaction (committed), as the outbox sends them
    monkeypatch.setattr(events, "purchase_created", lambda pk: transaction.on_commit(lambda: sent.append(pk)))
    monkeypatch.setattr(events, "listing_created", lambda listing_id: None)
    buyer = django_user_model.objects.create_user("db-loss-buyer", password="x")
    seller = django_user_model.objects.create_user("db-loss-seller", password="x")
    deposit(buyer, Decimal("10"))
    listing = _listing(seller, "4", "a vector")
    api = _client(buyer)
    order = {"listing": listing.public_id, "target_model": "money-src", "idempotency_key": "once"}

    original = ledger.record_sale
    killed: list[int] = []

    def sale_then_database_loss(purchase: Any, buyer_account: Any, seller_account: Any) -> Any:
        txid = original(purchase, buyer_account, seller_account)  # debit, credit and entries written, not committed
        pid = connection.cursor().connection.info.backend_pid
        _terminate(pid, live_database.role, live_database.name)
        killed.append(pid)
        return txid

    monkeypatch.setattr(purchases, "record_sale", sale_then_database_loss)
    response = _post_in_own_thread(api, order)
    assert killed, "the session was not terminated"
    assert not isinstance(response, str), f"the database loss escaped as an exception: {response}"
    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == "database_unavailable"
    assert response["Retry-After"]

    # nothing of the purchase was applied: no purchase, no entry, no event, balances as deposited
    assert Purchase.objects.count() == 0 and sent == []
    assert not LedgerEntry.objects.exclude(kind__in=[LedgerEntry.Kind.DEPOSIT, LedgerEntry.Kind.MINT]).exists()
    assert Account.objects.get(user=buyer).balance == Decimal("10")
    _assert_ledger_exact(Decimal("10"))

    # the database is back: the same request buys once, and a repeat is the same purchase
    monkeypatch.setattr(purchases, "record_sale", original)
    first = _post_in_own_thread(api, order)
    again = _post_in_own_thread(api, order)
    assert (first.status_code, again.status_code) == (202, 200), (first.content, again.content)
    assert first.json()["id"] == again.json()["id"]
    assert Purchase.objects.count() == 1 and len(sent) == 1
    assert Account.objects.get(user=buyer).balance == Decimal("6")
    assert Account.objects.get(user=seller).balance == Decimal("4")
    _assert_ledger_exact(Decimal("10"))
