"""The AMEM ledger: accounts, deposits and the money movement of a sale, always as double entries.

Nothing else writes ledger rows or balances: every transaction's entries share one id and sum to zero.
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import F

from marketplace.catalog.models import Account, LedgerEntry, Purchase
from marketplace.errors import Conflict, ValidationFailed


def as_amount(value: Any, what: str) -> Decimal:
    """`value` as an AMEM amount (Decimal, finite, at most 4 decimals); ValidationFailed naming `what` otherwise."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationFailed(f"{what} must be a decimal number, got {value!r}") from None
    if not amount.is_finite():
        raise ValidationFailed(f"{what} must be finite, got {value!r}")
    if amount != amount.quantize(Decimal("0.0001")):
        raise ValidationFailed(f"{what} has more than 4 decimal places: {value!r}")
    return amount


def get_account(user: Any) -> Account:
    """Return the user's AMEM account, creating an empty one on first use."""
    account, _ = Account.objects.get_or_create(user=user)
    return account


def ensure_accounts(*user_ids: int) -> dict[int, int]:
    """Return {user id: account id} for `user_ids`, creating empty accounts for users without one.

    Call it before a money transaction, outside it: each missing account is inserted in its own short transaction,
    so the money transaction only ever locks rows that exist (two concurrent first inserts of a pair of accounts
    cannot wait on each other). An empty account moves no money and writes no ledger entry.
    """
    wanted = sorted(set(user_ids))
    found = dict(Account.objects.filter(user_id__in=wanted).values_list("user_id", "pk"))
    for user_id in wanted:
        if user_id not in found:
            with transaction.atomic():
                found[user_id] = Account.objects.get_or_create(user_id=user_id)[0].pk
    return found


def lock_accounts(*account_ids: int) -> dict[int, Account]:
    """Lock the accounts `account_ids` for this transaction and return them by id (fresh balances).

    One ``SELECT ... FOR UPDATE`` ordered by primary key: every money transaction takes all its account locks at
    once in this one global order and never locks an account before it, so no two transactions can each hold an
    account the other waits for (crossing purchases cannot deadlock). Call inside ``transaction.atomic``.
    """
    wanted = sorted(set(account_ids))
    locked = {a.pk: a for a in Account.objects.select_for_update().filter(pk__in=wanted).order_by("pk")}
    if len(locked) != len(wanted):
        raise Account.DoesNotExist(f"accounts {sorted(set(wanted) - set(locked))} do not exist")
    return locked


def deposit(user: Any, amount: Decimal, memo: str = "") -> uuid.UUID:
    """Credit `amount` AMEM to the user; returns the ledger transaction id.

    Double entry: the platform's issuance side (account=None, kind=mint, −amount) and the user's side
    (kind=deposit, +amount) share one transaction id, so every transaction sums to zero.
    """
    amount = as_amount(amount, "deposit amount")
    if amount <= 0:
        raise ValidationFailed(f"deposit amount must be positive, got {amount}")
    txid = uuid.uuid4()
    with transaction.atomic():
        account = get_account(user)
        Account.objects.select_for_update().filter(pk=account.pk).update(balance=F("balance") + amount)
        LedgerEntry.objects.bulk_create([
            LedgerEntry(transaction_id=txid, account=None, amount=-amount, kind=LedgerEntry.Kind.MINT,
                        memo=memo[:200]),
            LedgerEntry(transaction_id=txid, account=account, amount=amount, kind=LedgerEntry.Kind.DEPOSIT,
                        memo=memo[:200]),
        ])
    return txid


def record_sale(purchase: Purchase, buyer_account: Account, seller_account: Account) -> uuid.UUID:
    """Move the purchase's price (AMEM) from the buyer's to the seller's account; returns the transaction id.

    Double entry: buyer −price (kind=purchase) and seller +price (kind=sale) share one transaction id. Call inside
    the purchase's transaction with both accounts locked by ``lock_accounts`` (``create_purchase`` does).
    """
    price, txid = purchase.price, uuid.uuid4()
    Account.objects.filter(pk=buyer_account.pk).update(balance=F("balance") - price)
    Account.objects.filter(pk=seller_account.pk).update(balance=F("balance") + price)
    memo = f"{purchase.public_id} {purchase.listing.public_id}"
    LedgerEntry.objects.bulk_create([
        LedgerEntry(transaction_id=txid, account=buyer_account, amount=-price, kind=LedgerEntry.Kind.PURCHASE,
                    purchase=purchase, memo=memo),
        LedgerEntry(transaction_id=txid, account=seller_account, amount=price, kind=LedgerEntry.Kind.SALE,
                    purchase=purchase, memo=memo),
    ])
    return txid


def record_refund(purchase: Purchase, memo: str) -> uuid.UUID:
    """Reverse the sale of `purchase` (AMEM back to the buyer); returns the refund's transaction id.

    Reversing entries, never an edited balance: each entry of the sale (buyer −price, seller +price) gets its
    negation (kind=refund) in one new transaction. When the seller's balance no longer covers the price (spent
    meanwhile), the seller gives back what it holds and the platform's side (account=None) covers the rest, so the
    buyer always gets the full price back and the transaction still sums to zero. Call inside a transaction that
    holds the purchase row (``refunds.refund_purchase`` does); the accounts are locked here by ``lock_accounts``.
    A second refund of the same purchase is refused by the database (one refund entry per purchase and account).
    """
    sale = list(LedgerEntry.objects.filter(purchase=purchase, kind__in=[LedgerEntry.Kind.PURCHASE,
                                                                         LedgerEntry.Kind.SALE]).order_by("id"))
    if not sale:
        raise Conflict(f"purchase {purchase.public_id} has no sale in the ledger to reverse")
    accounts = lock_accounts(*(e.account_id for e in sale if e.account_id is not None))
    txid, memo, shortfall = uuid.uuid4(), memo[:200], Decimal("0")
    entries = []
    for entry in sale:
        amount = -entry.amount
        if entry.account_id is not None and amount < 0 and accounts[entry.account_id].balance < -amount:
            shortfall += -amount - accounts[entry.account_id].balance
            amount = -accounts[entry.account_id].balance
        if entry.account_id is not None:
            Account.objects.filter(pk=entry.account_id).update(balance=F("balance") + amount)
        entries.append(LedgerEntry(transaction_id=txid, account_id=entry.account_id, amount=amount,
                                   kind=LedgerEntry.Kind.REFUND, purchase=purchase, memo=memo))
    if shortfall:
        entries.append(LedgerEntry(transaction_id=txid, account=None, amount=-shortfall,
                                   kind=LedgerEntry.Kind.REFUND, purchase=purchase,
                                   memo=f"platform covers the seller's shortfall; {memo}"[:200]))
    LedgerEntry.objects.bulk_create(entries)
    return txid
