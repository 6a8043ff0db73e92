"""Purchases: a buyer pays for a listing delivered into a target model; delivery runs after commit."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from marketplace import events
from marketplace.alignment.matrices import active_matrix
from marketplace.alignment.models import WMatrix
from marketplace.catalog.ledger import ensure_accounts, lock_accounts, record_sale
from marketplace.catalog.models import Architecture, Purchase, VectorListing
from marketplace.errors import Conflict, InsufficientFunds, NotFound, ValidationFailed


def create_purchase(
    *, buyer: Any, listing: VectorListing, target_model: Architecture, idempotency_key: str
) -> tuple[Purchase, bool]:
    """Buy `listing` for `target_model`; return (purchase, created).

    Atomic. The buyer's and the seller's accounts (created empty beforehand if missing) are locked together by
    ``ledger.lock_accounts`` — one query, primary-key order, the same global order for every money transaction —
    so two crossing purchases (A buys from B while B buys from A) cannot deadlock, and a repeated request with the
    same key waits for the first one. Then the (buyer, idempotency_key) pair is looked up: a repeat returns the
    existing purchase with created=False and debits nothing, whatever became of it (pending, delivered, or
    refunded after a failed delivery — a retry after a failure takes a new key, as with Stripe's idempotency keys).
    Refusals move no money and write no purchase or ledger entry: a reused key for a different listing/target
    (Conflict), buying one's own listing (ValidationFailed), an inactive listing (NotFound, as if unknown), a
    target without an active W-Matrix from the listing's model (NotFound; same model → identity delivery, no
    matrix), a matrix with no map for the listing's layer (NotFound), a balance below the price
    (InsufficientFunds). The ledger
    transaction is buyer −price (purchase) + seller +price (sale); delivery is enqueued after commit.
    """
    key = (idempotency_key or "").strip()
    if not key or len(key) > 80:
        raise ValidationFailed("idempotency_key must be 1..80 characters")
    seller_id = VectorListing.objects.filter(pk=listing.pk).values_list("seller_id", flat=True).first()
    if seller_id is None:
        raise NotFound(f"listing {listing.public_id} does not exist")
    account_ids = ensure_accounts(buyer.pk, seller_id)  # outside the transaction: it then locks existing rows only
    with transaction.atomic():
        accounts = lock_accounts(*account_ids.values())
        buyer_account, seller_account = accounts[account_ids[buyer.pk]], accounts[account_ids[seller_id]]
        existing = Purchase.objects.filter(buyer=buyer, idempotency_key=key).first()
        if existing is not None:
            if existing.listing_id != listing.pk or existing.target_model_id != target_model.pk:
                raise Conflict(
                    f"idempotency key {key!r} was already used for purchase {existing.public_id} of another "
                    "listing or target", purchase_id=existing.public_id,
                )
            return existing, False
        listing = VectorListing.objects.select_related("source_model", "seller").get(pk=listing.pk)
        if listing.seller_id == buyer.pk:
            raise ValidationFailed("you cannot buy your own listing")
        if listing.status != VectorListing.Status.ACTIVE:  # not public: the same answer as an unknown listing
            raise NotFound(f"Unknown listing {listing.public_id}.")
        matrix, target_layer = _delivery_plan(listing, target_model)
        price = listing.price
        if buyer_account.balance < price:
            raise InsufficientFunds(
                f"balance {buyer_account.balance} AMEM is less than the price {price} AMEM",
                balance=str(buyer_account.balance), price=str(price),
            )
        purchase = Purchase.objects.create(
            buyer=buyer, listing=listing, target_model=target_model, price=price, idempotency_key=key,
            matrix=matrix, target_layer=target_layer, status=Purchase.Status.PENDING,
        )
        record_sale(purchase, buyer_account, seller_account)
        events.purchase_created(purchase.id)
    return purchase, True


def _delivery_plan(listing: VectorListing, target_model: Architecture) -> tuple[WMatrix | None, int]:
    """Return (matrix or None for identity, target layer) for delivering `listing` into `target_model`."""
    if target_model.pk == listing.source_model_id:
        return None, listing.layer
    matrix = active_matrix(listing.source_model, target_model)
    if matrix is None:
        raise NotFound(
            f"no active W-Matrix from {listing.source_model.name} to {target_model.name}; "
            "request an alignment job for this pair"
        )
    for source_layer, target_layer in matrix.layer_map:
        if int(source_layer) == listing.layer:
            return matrix, int(target_layer)
    raise NotFound(
        f"W-Matrix {matrix.public_id} ({listing.source_model.name}→{target_model.name} v{matrix.version}) has no map "
        f"for source layer {listing.layer}"
    )
