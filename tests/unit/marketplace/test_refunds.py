"""Refunds: a failed delivery gives the buyer the price back through reversing ledger entries, exactly once; the
buyer sees it in the API and the SDK, the operator in the admin (and can refund with a reason); a retry with a new
idempotency key can succeed; the buyer never reads the raw exception."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Sum

from marketplace.alignment import tasks
from marketplace.alignment.models import TaskRun
from marketplace.catalog import delivery
from marketplace.catalog.ledger import deposit, record_refund
from marketplace.catalog.models import Account, LedgerEntry, Purchase
from marketplace.catalog.purchases import create_purchase
from marketplace.catalog.refunds import DELIVERY_FAILED_MESSAGE, refund_failed_delivery, refund_purchase

pytestmark = pytest.mark.django_db

SECRET = "disk full at /srv/media/vectors/secret.safetensors"  # what the buyer must never read


def _balance(user: Any) -> Decimal:
    return Account.objects.get(user=user).balance


def _assert_books_balance() -> None:
    """Every transaction sums to zero, each balance is the sum of its entries, no balance below zero."""
    for txid in LedgerEntry.objects.values_list("transaction_id", flat=True).distinct():
        assert LedgerEntry.objects.filter(transaction_id=txid).aggregate(s=Sum("amount"))["s"] == 0, txid
    for account in Account.objects.all():
        total = LedgerEntry.objects.filter(account=account).aggregate(s=Sum("amount"))["s"] or Decimal("0")
        assert account.balance == total >= 0, account


@pytest.fixture
def broken_delivery(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every delivery fails with an exception whose text must stay in the logs."""
    def fail(field: Any) -> Any:
        raise OSError(SECRET)

    monkeypatch.setattr(delivery, "read_package", fail)


@pytest.fixture
def paid(users: dict[str, Any], toy: dict, make_listing: Any) -> Purchase:
    """A purchase of a 12.5 AMEM listing by a buyer who deposited 20 (not delivered yet: no event ran)."""
    deposit(users["buyer"], Decimal("20"))
    purchase, _ = create_purchase(buyer=users["buyer"], listing=make_listing(price="12.5"),
                                  target_model=toy["source"], idempotency_key="order-1")
    return purchase


def _translate(purchase: Purchase) -> Any:
    return tasks.translate_purchase.apply(args=[purchase.id])


def _translate_failing(purchase: Purchase) -> None:
    """Run the delivery task, which fails for good (eager Celery propagates the exception, as a worker logs it)."""
    with pytest.raises(OSError, match="disk full"):
        _translate(purchase)


def test_failed_delivery_is_refunded_with_reversing_entries(
    paid: Purchase, users: dict[str, Any], broken_delivery: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="marketplace.catalog.refunds"):
        _translate_failing(paid)
    paid.refresh_from_db()
    assert paid.status == Purchase.Status.REFUNDED and paid.refunded_at is not None
    assert paid.refund_reason == "delivery failed" and paid.refund_transaction_id is not None
    assert paid.error == DELIVERY_FAILED_MESSAGE and SECRET not in paid.error and "OSError" not in paid.error
    assert SECRET in caplog.text and paid.public_id in caplog.text  # the details are in the logs
    assert _balance(users["buyer"]) == Decimal("20") and _balance(users["seller"]) == 0
    refund = LedgerEntry.objects.filter(transaction_id=paid.refund_transaction_id)
    assert sorted((e.kind, e.amount, e.account.user.username) for e in refund) == [
        ("refund", Decimal("-12.5"), "seller"), ("refund", Decimal("12.5"), "buyer")]
    sale = LedgerEntry.objects.filter(purchase=paid, kind__in=["purchase", "sale"])
    assert sorted(e.amount for e in sale) == [Decimal("-12.5"), Decimal("12.5")]  # the sale itself is untouched
    _assert_books_balance()


def test_failure_path_twice_refunds_once(paid: Purchase, users: dict[str, Any], broken_delivery: None) -> None:
    _translate_failing(paid)
    assert _translate(paid).get()["status"] == "refunded"  # a redelivered message: nothing delivered or refunded
    first = Purchase.objects.get(pk=paid.pk)
    again = refund_failed_delivery(paid, OSError("again"))
    _, refunded = refund_purchase(paid, "operator, too")
    assert not refunded and again.refund_transaction_id == first.refund_transaction_id
    assert LedgerEntry.objects.filter(purchase=paid, kind="refund").count() == 2
    assert _balance(users["buyer"]) == Decimal("20") and _balance(users["seller"]) == 0
    assert Purchase.objects.get(pk=paid.pk).refund_reason == "delivery failed"
    _assert_books_balance()


def test_database_refuses_a_second_refund(paid: Purchase) -> None:
    refund_purchase(paid, "first")
    with pytest.raises(IntegrityError), transaction.atomic():
        record_refund(paid, memo="a bug that bypassed the purchase lock")


def test_refund_after_the_seller_spent_the_money(
    paid: Purchase, users: dict[str, Any], toy: dict, make_listing: Any, django_user_model: Any,
    broken_delivery: None,
) -> None:
    """The seller spent 10 of the 12.5: it gives back 2.5, the platform covers 10, the buyer gets 12.5."""
    third = django_user_model.objects.create_user("third", password="x")
    create_purchase(buyer=users["seller"], listing=make_listing(price="10", seller=third), target_model=toy["source"],
                    idempotency_key="spend")
    _translate_failing(paid)
    paid.refresh_from_db()
    assert paid.status == Purchase.Status.REFUNDED
    assert _balance(users["buyer"]) == Decimal("20") and _balance(users["seller"]) == 0
    refund = {(e.account.user.username if e.account else None): e.amount
              for e in LedgerEntry.objects.filter(transaction_id=paid.refund_transaction_id)}
    assert refund == {"buyer": Decimal("12.5"), "seller": Decimal("-2.5"), None: Decimal("-10")}
    _assert_books_balance()


def test_retry_after_failure(paid: Purchase, users: dict[str, Any], toy: dict, monkeypatch: pytest.MonkeyPatch,
                             broken_delivery: None) -> None:
    """The same key answers with the refunded purchase (no debit); a new key buys again and is delivered."""
    _translate_failing(paid)
    same, created = create_purchase(buyer=users["buyer"], listing=paid.listing, target_model=toy["source"],
                                    idempotency_key="order-1")
    assert not created and same.pk == paid.pk and same.status == Purchase.Status.REFUNDED
    assert _balance(users["buyer"]) == Decimal("20")
    monkeypatch.undo()  # the delivery works again
    retry, created = create_purchase(buyer=users["buyer"], listing=paid.listing, target_model=toy["source"],
                                     idempotency_key="order-2")
    assert created and retry.pk != paid.pk
    assert _translate(retry).get()["status"] == "delivered"
    retry.refresh_from_db()
    assert retry.status == Purchase.Status.DELIVERED and retry.refunded_at is None and retry.error == ""
    assert _balance(users["buyer"]) == Decimal("7.5") and _balance(users["seller"]) == Decimal("12.5")
    _assert_books_balance()


def test_refunded_while_translating_stores_nothing(paid: Purchase, users: dict[str, Any],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """An operator refund lands while the vector is being translated: nothing is delivered, nothing refunded twice."""
    real = delivery.read_package

    def refund_meanwhile(field: Any) -> Any:
        refund_purchase(paid, "buyer asked")
        return real(field)

    monkeypatch.setattr(delivery, "read_package", refund_meanwhile)
    assert _translate(paid).get()["status"] == "refunded"
    paid.refresh_from_db()
    assert paid.status == Purchase.Status.REFUNDED and not paid.translated_vector and paid.delivered_at is None
    assert tasks.translate_purchase.apply(args=[paid.id]).get()["skipped"] is True
    assert TaskRun.objects.get(idempotency_key=f"translate_purchase:{paid.id}").status == "succeeded"
    assert _balance(users["buyer"]) == Decimal("20")
    _assert_books_balance()


def test_buyer_sees_the_refund_in_the_api_and_the_sdk(paid: Purchase, users: dict[str, Any],
                                                      broken_delivery: None) -> None:
    from rest_framework.test import APIClient

    from awareness_sdk.types import Purchase as SdkPurchase
    from awareness_sdk.types import from_json

    _translate_failing(paid)
    client = APIClient()
    client.force_authenticate(users["buyer"])
    body = client.get(f"/api/v1/purchases/{paid.public_id}/").json()
    assert body["status"] == "refunded" and body["refund_reason"] == "delivery failed"
    assert body["refunded_at"] and body["error"] == DELIVERY_FAILED_MESSAGE and body["download_url"] is None
    result = from_json(SdkPurchase, body)
    assert result.refunded and result.finished and not result.delivered and result.refunded_at is not None
    ledger = client.get("/api/v1/accounts/me/").json()
    assert Decimal(ledger["balance"]) == Decimal("20")
    assert any(e["kind"] == "refund" and e["purchase"] == paid.public_id for e in ledger["recent_entries"])


def test_operator_refunds_from_the_admin(paid: Purchase, users: dict[str, Any], django_user_model: Any) -> None:
    from django.contrib.admin.models import LogEntry
    from django.test import Client
    from django.urls import reverse

    operator = django_user_model.objects.create_superuser("operator", "op@example.test", "pw")
    client = Client()
    client.force_login(operator)
    url = reverse("admin:catalog_purchase_changelist")
    action = {"action": "refund_selected", "_selected_action": [paid.pk]}
    client.post(url, {**action, "reason": "  "})  # no reason: refused
    assert Purchase.objects.get(pk=paid.pk).status == Purchase.Status.PENDING
    response = client.post(url, {**action, "reason": "vector did not match its description"}, follow=True)
    assert "1 purchase(s) refunded" in response.content.decode()
    paid.refresh_from_db()
    assert paid.status == Purchase.Status.REFUNDED and paid.refund_reason == "vector did not match its description"
    assert _balance(users["buyer"]) == Decimal("20") and _balance(users["seller"]) == 0
    assert LogEntry.objects.filter(object_id=str(paid.pk), change_message__contains="Refunded 12.5").exists()
    page = client.get(url).content.decode()
    assert "Refund selected purchases" in page and "vector did not match its description" in page
    client.post(url, {**action, "reason": "again"})  # already refunded: left as it is
    assert LedgerEntry.objects.filter(purchase=paid, kind="refund").count() == 2
    _assert_books_balance()
