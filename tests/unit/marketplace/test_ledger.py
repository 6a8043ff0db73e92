"""The AMEM ledger: double entry, no negative balance, refusals write nothing, idempotent purchases."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Sum

from marketplace.catalog.ledger import deposit, get_account
from marketplace.catalog.models import Account, LedgerEntry, Purchase, VectorListing
from marketplace.catalog.purchases import create_purchase
from marketplace.errors import Conflict, InsufficientFunds, NotFound, ValidationFailed

pytestmark = pytest.mark.django_db


def _balance(user: Any) -> Decimal:
    return Account.objects.get(user=user).balance


def _assert_books_balance() -> None:
    """Every transaction sums to zero, and each account's balance equals the sum of its entries."""
    for txid in LedgerEntry.objects.values_list("transaction_id", flat=True).distinct():
        assert LedgerEntry.objects.filter(transaction_id=txid).aggregate(s=Sum("amount"))["s"] == 0
    for account in Account.objects.all():
        total = LedgerEntry.objects.filter(account=account).aggregate(s=Sum("amount"))["s"] or Decimal("0")
        assert account.balance == total


def test_deposit_is_double_entry(users: dict[str, Any]) -> None:
    txid = deposit(users["buyer"], Decimal("25.5"), memo="top-up")
    entries = LedgerEntry.objects.filter(transaction_id=txid)
    assert sorted((e.kind, e.amount, e.account_id is None) for e in entries) == [
        ("deposit", Decimal("25.5"), False), ("mint", Decimal("-25.5"), True)]
    assert _balance(users["buyer"]) == Decimal("25.5")
    _assert_books_balance()


@pytest.mark.parametrize("amount", ["0", "-1", "1.00001", "NaN", "abc"])
def test_deposit_refuses_bad_amounts(users: dict[str, Any], amount: str) -> None:
    with pytest.raises(ValidationFailed):
        deposit(users["buyer"], amount)
    assert not LedgerEntry.objects.exists()


def test_purchase_moves_money_in_one_balanced_transaction(users: dict[str, Any], toy: dict, make_listing: Any) -> None:
    listing = make_listing(price="12.5")
    deposit(users["buyer"], Decimal("20"))
    purchase, created = create_purchase(buyer=users["buyer"], listing=listing, target_model=toy["source"],
                                        idempotency_key="k1")
    assert created and purchase.status == Purchase.Status.PENDING and purchase.price == Decimal("12.5")
    assert purchase.matrix is None and purchase.target_layer == listing.layer  # same model: identity delivery
    assert _balance(users["buyer"]) == Decimal("7.5")
    assert _balance(users["seller"]) == Decimal("12.5")
    entries = list(purchase.ledger_entries.all())
    assert {e.kind for e in entries} == {"purchase", "sale"}
    assert len({e.transaction_id for e in entries}) == 1
    _assert_books_balance()


def test_insufficient_funds_writes_nothing(users: dict[str, Any], toy: dict, make_listing: Any) -> None:
    listing = make_listing(price="30")
    deposit(users["buyer"], Decimal("29.9999"))
    before = LedgerEntry.objects.count()
    with pytest.raises(InsufficientFunds) as info:
        create_purchase(buyer=users["buyer"], listing=listing, target_model=toy["source"], idempotency_key="k")
    assert info.value.status == 402 and "29.9999" in str(info.value)
    assert LedgerEntry.objects.count() == before
    assert not Purchase.objects.exists()
    assert _balance(users["buyer"]) == Decimal("29.9999")
    # the seller's account exists (created empty before the money transaction) but holds nothing
    assert _balance(users["seller"]) == 0 and not LedgerEntry.objects.filter(account__user=users["seller"]).exists()


def test_no_negative_balance(users: dict[str, Any], toy: dict, make_listing: Any) -> None:
    listing = make_listing(price="30")
    deposit(users["buyer"], Decimal("50"))
    create_purchase(buyer=users["buyer"], listing=listing, target_model=toy["source"], idempotency_key="a")
    with pytest.raises(InsufficientFunds):
        create_purchase(buyer=users["buyer"], listing=listing, target_model=toy["source"], idempotency_key="b")
    assert _balance(users["buyer"]) == Decimal("20")
    # and the database refuses a negative balance even if a bug bypassed the service
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(user=users["buyer"]).update(balance=Decimal("-1"))
    _assert_books_balance()


def test_idempotent_purchase_debits_once(users: dict[str, Any], toy: dict, make_listing: Any) -> None:
    listing = make_listing(price="10")
    deposit(users["buyer"], Decimal("100"))
    first, created1 = create_purchase(buyer=users["buyer"], listing=listing, target_model=toy["source"],
                                      idempotency_key="same")
    again, created2 = create_purchase(buyer=users["buyer"], listing=listing, target_model=toy["source"],
                                      idempotency_key="same")
    assert (created1, created2) == (True, False) and again.pk == first.pk
    assert _balance(users["buyer"]) == Decimal("90")
    assert Purchase.objects.count() == 1 and LedgerEntry.objects.filter(kind="purchase").count() == 1
    other = make_listing(price="1", name="another")
    with pytest.raises(Conflict):  # the same key for something else is a client bug, not a repeat
        create_purchase(buyer=users["buyer"], listing=other, target_model=toy["source"], idempotency_key="same")
    assert _balance(users["buyer"]) == Decimal("90")


def test_purchase_locks_all_accounts_once_in_key_order(
    users: dict[str, Any], toy: dict, make_listing: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One SELECT ... FOR UPDATE takes both accounts in primary-key order, nothing is locked before it (the buyer
    first, then both, deadlocked crossing purchases on PostgreSQL; SQLite ignores FOR UPDATE, so the query is
    checked here and the deadlock in tests/integration/marketplace/test_money.py)."""
    from django.db.models import QuerySet

    listing = make_listing(price="5")
    deposit(users["seller"], Decimal("1"))  # the seller's account is created first: its pk is below the buyer's
    deposit(users["buyer"], Decimal("5"))
    locked: list[tuple[tuple, list[int]]] = []
    original = QuerySet._fetch_all

    def spy(self: QuerySet) -> None:
        original(self)
        if self.model is Account and self.query.select_for_update:
            locked.append((self.query.order_by, [a.pk for a in self._result_cache]))

    monkeypatch.setattr(QuerySet, "_fetch_all", spy)
    create_purchase(buyer=users["buyer"], listing=listing, target_model=toy["source"], idempotency_key="lock")
    seller_pk, buyer_pk = (Account.objects.get(user=users[u]).pk for u in ("seller", "buyer"))
    assert seller_pk < buyer_pk
    assert locked == [(("pk",), [seller_pk, buyer_pk])]  # once, both, in key order: the seller's first here
    assert _balance(users["buyer"]) == 0 and _balance(users["seller"]) == Decimal("6")


def test_purchase_refusals(users: dict[str, Any], toy: dict, make_listing: Any) -> None:
    listing = make_listing(price="1")
    deposit(users["buyer"], Decimal("10"))
    deposit(users["seller"], Decimal("10"))
    with pytest.raises(ValidationFailed, match="own listing"):
        create_purchase(buyer=users["seller"], listing=listing, target_model=toy["source"], idempotency_key="x")
    with pytest.raises(NotFound, match="no active W-Matrix"):
        create_purchase(buyer=users["buyer"], listing=listing, target_model=toy["target"], idempotency_key="x")
    VectorListing.objects.filter(pk=listing.pk).update(status=VectorListing.Status.SUSPENDED)
    with pytest.raises(NotFound, match="Unknown listing"):  # not public: as if it did not exist
        create_purchase(buyer=users["buyer"], listing=listing, target_model=toy["source"], idempotency_key="x")
    with pytest.raises(ValidationFailed):
        create_purchase(buyer=users["buyer"], listing=listing, target_model=toy["source"], idempotency_key="")
    assert not Purchase.objects.exists()
    assert get_account(users["buyer"]).balance == Decimal("10")
    _assert_books_balance()


def test_purchase_through_matrix_records_version_and_target_layer(
    users: dict[str, Any], toy: dict, make_listing: Any, stored_matrix: Any
) -> None:
    listing = make_listing(layer=2, price="3")
    deposit(users["buyer"], Decimal("3"))
    purchase, _ = create_purchase(buyer=users["buyer"], listing=listing, target_model=toy["target"],
                                  idempotency_key="m")
    assert purchase.matrix_id == stored_matrix.id and purchase.target_layer == 1  # layer map 2 -> 1
    layer3 = make_listing(layer=3, price="0", name="deep")
    assert create_purchase(buyer=users["buyer"], listing=layer3, target_model=toy["target"],
                           idempotency_key="n")[0].target_layer == 2
