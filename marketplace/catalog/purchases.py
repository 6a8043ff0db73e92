"""Purchases: a buyer pays for a listing delivered into a target model; delivery runs after commit."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from marketplace import events
from marketplace.alignment.matrices import active_matrix
from marketplace.alignment.models import WMatrix
from marketplace.catalog.ledger import get_account, record_sale
from marketplace.catalog.models import Account, Architecture, Purchase, VectorListing
from marketplace.errors import Conflict, InsufficientFunds, NotFound, ValidationFailed


def create_purchase(
    *, buyer: Any, listing: VectorListing, target_model: Architecture, idempotency_key: str
) -> tuple[Purchase, bool]:
    """Buy `listing` for `target_model`; return (purchase, created).

    Atomic: both accounts are locked (select_for_update, in primary-key order so two crossing purchases cannot
    deadlock), then the (buyer, idempotency_key) pair is looked up — a repeat returns the existing purchase with
    created=False and debits nothing. Refusals write nothing: a reused key for a different listing/target
    (Conflict), buying one's own listing (ValidationFailed), an inactive listing (NotFound, as if unknown), a target
    without an active W-Matrix from the listing's model (NotFound; same model → identity delivery, no matrix), a
    matrix with no map for the listing's layer (NotFound), a balance below the price (InsufficientFunds). The ledger
    transaction is buyer −price (purchase) + seller +price (sale); delivery is enqueued after commit.
    """
    key = (idempotency_key or "").strip()
    if not key or len(key) > 80:
        raise ValidationFailed("idempotency_key must be 1..80 characters")
    with transaction.atomic():
        # Lock the buyer's account first: a repeated request with the same key waits here for the first one.
        buyer_account = get_account(buyer)
        Account.objects.select_for_update().get(pk=buyer_account.pk)
        existing = Purchase.objects.filter(buyer=buyer, idempotency_key=key).first()
        if existing is not None:
            if existing.listing_id != listing.pk or existing.target_model_id != target_model.pk:
                raise Conflict(
                    f"idempotency key {key!r} was already used for purchase {existing.public_id} of another "
                    "listing or target", purchase_id=existing.public_id,
                )
            return existing, False
        listing = VectorListing.objects.select_related("source_model").get(pk=listing.pk)
        if listing.seller_id == buyer.pk:
            raise ValidationFailed("you cannot buy your own listing")
        if listing.status != VectorListing.Status.ACTIVE:  # not public: the same answer as an unknown listing
            raise NotFound(f"Unknown listing {listing.public_id}.")
        matrix, target_layer = _delivery_plan(listing, target_model)
        seller_account = get_account(listing.seller)
        # Lock both accounts in primary-key order (the buyer's lock above is re-entrant).
        accounts = {a.pk: a for a in Account.objects.select_for_update().filter(
            pk__in=[buyer_account.pk, seller_account.pk]).order_by("pk")}
        price = listing.price
        if accounts[buyer_account.pk].balance < price:
            raise InsufficientFunds(
                f"balance {accounts[buyer_account.pk].balance} AMEM is less than the price {price} AMEM",
                balance=str(accounts[buyer_account.pk].balance), price=str(price),
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
