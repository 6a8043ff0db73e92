"""Money under real concurrency on PostgreSQL: crossing purchases never deadlock, 100 concurrent purchases on one
account never overdraw it, and the ledger stays exact to the unit.

Each purchase is a real HTTP request (DRF's APIClient, API keys) made from its own thread, so each has its own
PostgreSQL connection and its own transaction; a barrier releases them together. Before the fix (buyer's account
locked first, then both in key order) "A buys from B while B buys from A" deadlocked: PostgreSQL aborted one of
them with "deadlock detected", a 500 for the client. Delivery is not under test here: the purchase event is recorded
instead of being sent. Database: ``live_database`` (conftest.py), a fresh migrated PostgreSQL database.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.integration

CROSSING_TRIALS = 20
CONCURRENT_PURCHASES = 100
AFFORDABLE = 60  # of the 100, the buyer can pay for exactly this many
THREADS = 20  # database connections at once (PostgreSQL allows 100 in all, shared with other users)


@pytest.fixture
def pg(live_database: Any, live_settings: None, transactional_db: None,
       monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The live PostgreSQL database, committed writes; purchase events recorded (ids) instead of delivered."""
    from marketplace import events

    sent: list[int] = []
    monkeypatch.setattr(events, "purchase_created", sent.append)
    monkeypatch.setattr(events, "listing_created", lambda listing_id: None)
    yield sent


def _client(user: Any) -> APIClient:
    from marketplace.catalog.models import ApiKey

    _, raw = ApiKey.issue(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def _listing(seller: Any, price: str, name: str) -> Any:
    from safetensors.numpy import save

    from marketplace.catalog.listings import create_listing
    from marketplace.catalog.models import Architecture

    source, _ = Architecture.objects.get_or_create(
        name="money-src", defaults={"family": "llama", "hidden_size": 4, "num_layers": 2,
                                    "support_level": Architecture.Support.FULL})
    vector = save({"vector": np.arange(1, 5, dtype=np.float32)})
    return create_listing(seller=seller, layer=1, price=Decimal(price), vector_bytes=vector, name=name,
                          description="", source_model=source, capability_domain="code", grade="B")


def _concurrently(calls: list[Callable[[], Any]], threads: int) -> list[Any]:
    """Run `calls` from `threads` threads released together, each thread on its own database connection (closed
    afterwards); each result what its call returned (here an HTTP status) or the repr of the exception it raised."""
    from django.db import connections

    start = threading.Barrier(min(threads, len(calls)))

    def run(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as exc:  # an unhandled error in the view: the client would have had a 500
            return repr(exc)

    def first(call: Callable[[], Any]) -> Any:
        start.wait(timeout=60)
        return run(call)

    def worker(indices: list[int]) -> list[tuple[int, Any]]:
        try:
            return [(i, first(calls[i]) if n == 0 else run(calls[i])) for n, i in enumerate(indices)]
        finally:
            connections.close_all()  # this thread's connection

    chunks = [list(range(len(calls)))[t::threads] for t in range(min(threads, len(calls)))]
    with ThreadPoolExecutor(len(chunks)) as pool:
        results = dict(r for rs in pool.map(worker, chunks) for r in rs)
    return [results[i] for i in range(len(calls))]


def _summary(outcomes: list[int | str]) -> dict[str, int]:
    """Outcomes counted: HTTP statuses, and exceptions by their first line (e.g. "deadlock detected")."""
    return dict(Counter(o if isinstance(o, int) else o.splitlines()[0][:80] for o in outcomes))


def _buy(client: APIClient, listing: Any, key: str) -> Callable[[], int]:
    order = {"listing": listing.public_id, "target_model": "money-src", "idempotency_key": key}
    return lambda: client.post("/api/v1/purchases/", order, format="json").status_code


def _assert_ledger_exact(deposited: Decimal) -> None:
    """Every transaction sums to zero, each balance is the sum of its entries, the total is what was deposited."""
    from django.db.models import Sum

    from marketplace.catalog.models import Account, LedgerEntry

    sums = LedgerEntry.objects.values("transaction_id").annotate(s=Sum("amount")).values_list("s", flat=True)
    assert set(sums) == {Decimal("0")}
    for account in Account.objects.all():
        assert account.balance == (LedgerEntry.objects.filter(account=account).aggregate(s=Sum("amount"))["s"]
                                   or Decimal("0")), account
    assert Account.objects.aggregate(s=Sum("balance"))["s"] == deposited
    platform = LedgerEntry.objects.filter(account=None).aggregate(s=Sum("amount"))["s"]  # mints (and covers)
    assert -platform == deposited


def test_crossing_purchases_never_deadlock(pg: list[int], django_user_model: Any) -> None:
    """A buys from B while B buys from A, 20 times: every purchase 202, no deadlock, the books exact."""
    from marketplace.catalog.ledger import deposit
    from marketplace.catalog.models import Account, Purchase

    a = django_user_model.objects.create_user("money-a", password="x")
    b = django_user_model.objects.create_user("money-b", password="x")
    deposit(a, Decimal("100"))
    deposit(b, Decimal("100"))
    of_a, of_b = _listing(a, "3.0001", "a's vector"), _listing(b, "2", "b's vector")
    api_a, api_b = _client(a), _client(b)
    outcomes = []
    for trial in range(CROSSING_TRIALS):
        outcomes += _concurrently([_buy(api_a, of_b, f"a-{trial}"), _buy(api_b, of_a, f"b-{trial}")], threads=2)
    assert outcomes == [202] * (2 * CROSSING_TRIALS), _summary(outcomes)
    assert Purchase.objects.count() == 2 * CROSSING_TRIALS == len(pg)
    assert Account.objects.get(user=a).balance == Decimal("100") + CROSSING_TRIALS * (Decimal("3.0001") - 2)
    assert Account.objects.get(user=b).balance == Decimal("100") - CROSSING_TRIALS * (Decimal("3.0001") - 2)
    _assert_ledger_exact(Decimal("200"))


def test_concurrent_purchases_on_one_account_are_exact(pg: list[int], django_user_model: Any) -> None:
    """100 purchases at once by one buyer who can pay for 60 (sellers buying back meanwhile): 60 × 202, 40 × 402."""
    from marketplace.catalog.ledger import deposit
    from marketplace.catalog.models import Account, Purchase

    price = Decimal("1.2345")
    buyer = django_user_model.objects.create_user("money-buyer", password="x")
    sellers = [django_user_model.objects.create_user(f"money-seller-{i}", password="x") for i in range(4)]
    deposit(buyer, price * AFFORDABLE)
    for seller in sellers:
        deposit(seller, Decimal("10"))
    listings = [_listing(seller, str(price), f"vector {i}") for i, seller in enumerate(sellers)]
    buyers_listing = _listing(buyer, "0.5", "the buyer's own")
    api = _client(buyer)
    calls = [_buy(api, listings[i % len(listings)], f"k-{i}") for i in range(CONCURRENT_PURCHASES)]
    # the sellers buy the buyer's listing at the same time: every pair of accounts is crossed
    calls += [_buy(_client(seller), buyers_listing, f"back-{i}") for i, seller in enumerate(sellers)]
    outcomes = _concurrently(calls, threads=THREADS)
    mine, back = outcomes[:CONCURRENT_PURCHASES], outcomes[CONCURRENT_PURCHASES:]
    assert set(mine) == {202, 402} and back == [202] * len(sellers), (_summary(mine), _summary(back))
    paid = mine.count(202)
    income = Decimal("0.5") * len(sellers)
    assert AFFORDABLE <= paid <= AFFORDABLE + int(income // price), paid  # the buy-backs' income may come in time
    assert Purchase.objects.filter(buyer=buyer).count() == paid
    assert Account.objects.get(user=buyer).balance == price * AFFORDABLE + income - price * paid >= 0
    _assert_ledger_exact(price * AFFORDABLE + Decimal("10") * len(sellers))


def test_concurrent_refunds_pay_back_once(pg: list[int], django_user_model: Any) -> None:
    """Each of 10 purchases refunded 3 times at once (the failure path twice, an operator), while the two accounts
    keep buying from each other: every refund lands once, nothing deadlocks, the books are exact."""
    from marketplace.catalog.ledger import deposit
    from marketplace.catalog.models import Account, LedgerEntry, Purchase
    from marketplace.catalog.refunds import refund_failed_delivery, refund_purchase

    a = django_user_model.objects.create_user("refund-a", password="x")
    b = django_user_model.objects.create_user("refund-b", password="x")
    deposit(a, Decimal("50"))
    deposit(b, Decimal("50"))
    of_a, of_b = _listing(a, "1", "a's"), _listing(b, "2", "b's")
    api_a, api_b = _client(a), _client(b)
    outcomes = _concurrently([_buy(api_a, of_b, f"first-{i}") for i in range(10)], threads=10)
    assert outcomes == [202] * 10, _summary(outcomes)
    bought = list(Purchase.objects.filter(buyer=a))

    def refund(purchase: Any, how: str) -> Callable[[], int]:
        def call() -> int:
            if how == "operator":
                refund_purchase(purchase, "operator")
            else:
                refund_failed_delivery(purchase, RuntimeError("translation failed"))
            return 200
        return call

    calls = [refund(p, how) for p in bought for how in ("failed", "failed", "operator")]
    calls += [_buy(api_b, of_a, f"back-{i}") for i in range(10)] + [_buy(api_a, of_b, f"more-{i}") for i in range(5)]
    outcomes = _concurrently(calls, threads=THREADS)
    assert set(outcomes[:30]) == {200} and set(outcomes[30:]) == {202}, _summary(outcomes)
    for purchase in bought:
        purchase.refresh_from_db()
        assert purchase.status == "refunded" and purchase.refund_transaction_id is not None
        refund_rows = LedgerEntry.objects.filter(purchase=purchase, kind="refund")
        assert {r.transaction_id for r in refund_rows} == {purchase.refund_transaction_id} and len(refund_rows) == 2
    # a: −10×2 bought, +10×2 refunded, +10×1 sold back, −5×2 bought more; b the other side of each
    assert Account.objects.get(user=a).balance == Decimal("50") - 20 + 20 + 10 - 10
    assert Account.objects.get(user=b).balance == Decimal("50") + 20 - 20 - 10 + 10
    _assert_ledger_exact(Decimal("100"))
