"""Refunds: a purchase's price goes back to its buyer through reversing ledger entries, at most once.

Two ways in: a failed delivery (the translation task gives up) is refunded automatically, and an operator refunds
selected purchases from the admin with a reason. Either way the purchase ends ``refunded`` with ``refunded_at``,
``refund_reason`` and the ledger transaction id, which the buyer sees in the API and the operator in the admin. A
refund is idempotent: the purchase row is locked and a refunded purchase is returned as it is (and the database
holds one refund entry per purchase and account). Retrying after a failure is a new purchase with a new
idempotency key; the old key keeps answering with the refunded purchase (Stripe's idempotency-key semantics).
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from marketplace.catalog.ledger import record_refund
from marketplace.catalog.models import Purchase

log = logging.getLogger(__name__)

#: What the buyer reads in ``Purchase.error`` after a failed delivery (the exception itself goes to the logs only).
DELIVERY_FAILED_MESSAGE = (
    "Delivery failed: the vector could not be translated into the target model. The price was refunded to your "
    "account; to try again, buy again with a new idempotency key."
)
DELIVERY_FAILED_REASON = "delivery failed"


def refund_purchase(purchase: Purchase, reason: str, *, error: str | None = None) -> tuple[Purchase, bool]:
    """Refund `purchase` (any state but refunded) with `reason`; return (fresh purchase, refunded by this call).

    In one transaction: the purchase row is locked (select_for_update) first, then the accounts
    (``ledger.record_refund``); an already refunded purchase is returned unchanged with False. `error`, when given,
    replaces the purchase's public error message. A delivery still running afterwards stores nothing
    (``delivery.deliver_purchase`` checks the status under the same row lock).
    """
    reason = (reason or "").strip()[:200] or "refund"
    with transaction.atomic():
        locked = Purchase.objects.select_for_update().get(pk=purchase.pk)
        if locked.refund_transaction_id is not None or locked.status == Purchase.Status.REFUNDED:
            return locked, False
        txid = record_refund(locked, memo=f"refund {locked.public_id}: {reason}")
        locked.status = Purchase.Status.REFUNDED
        locked.refunded_at = timezone.now()
        locked.refund_reason = reason
        locked.refund_transaction_id = txid
        fields = ["status", "refunded_at", "refund_reason", "refund_transaction_id"]
        if error is not None:
            locked.error = error
            fields.append("error")
        locked.save(update_fields=fields)
    log.info("purchase %s refunded (%s AMEM): %s; ledger transaction %s", locked.public_id, locked.price, reason,
             txid)
    return locked, True


def refund_failed_delivery(purchase: Purchase, exc: BaseException) -> Purchase:
    """The delivery of `purchase` failed for good with `exc`: log it, refund the buyer; return the fresh purchase.

    The exception (type, message, traceback) goes to the log only; the buyer reads DELIVERY_FAILED_MESSAGE. A
    purchase delivered meanwhile is left as it is; one already refunded is not refunded again (running this twice
    is safe).
    """
    log.error("delivery of purchase %s failed: %s: %s", purchase.public_id, type(exc).__name__, exc, exc_info=exc)
    with transaction.atomic():
        locked = Purchase.objects.select_for_update().get(pk=purchase.pk)
        if locked.status == Purchase.Status.DELIVERED:
            return locked
        refunded, _ = refund_purchase(locked, DELIVERY_FAILED_REASON, error=DELIVERY_FAILED_MESSAGE)
    return refunded
