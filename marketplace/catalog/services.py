"""Catalog services: the AMEM ledger, capability-vector uploads, listings and purchases.

Views, admin actions and commands call these functions; they never write ledger rows or balances themselves.
Every function that triggers background work does so through ``marketplace.events`` on commit.
"""

from __future__ import annotations

import hashlib
import json
import logging
import struct
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F

from marketplace import events
from marketplace.catalog.models import Account, Architecture, LedgerEntry, Purchase, VectorListing

log = logging.getLogger(__name__)

VECTOR_KEY = "vector"
_DTYPES = {"F16": "float16", "F32": "float32", "F64": "float64"}


# ------------------------------------------------------------------------------------------------------ errors
class ServiceError(Exception):
    """A refused operation; ``str(exc)`` is the message shown to the client, ``extra`` optional details."""

    code = "error"
    status = 400

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.extra = extra


class ValidationFailed(ServiceError):
    """The request is malformed or violates a rule (400)."""

    code = "invalid"
    status = 400


class InsufficientFunds(ServiceError):
    """The buyer's AMEM balance does not cover the price (402)."""

    code = "insufficient_funds"
    status = 402


class NotFound(ServiceError):
    """A needed object does not exist (404), e.g. no active W-Matrix for the pair."""

    code = "not_found"
    status = 404


class Conflict(ServiceError):
    """The request conflicts with the current state (409), e.g. a job for the pair is already queued."""

    code = "conflict"
    status = 409


# ------------------------------------------------------------------------------------------------------ ledger
def _as_amount(value: Any, what: str) -> Decimal:
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


def deposit(user: Any, amount: Decimal, memo: str = "") -> uuid.UUID:
    """Credit `amount` AMEM to the user; returns the ledger transaction id.

    Double entry: the platform's issuance side (account=None, kind=mint, −amount) and the user's side
    (kind=deposit, +amount) share one transaction id, so every transaction sums to zero.
    """
    amount = _as_amount(amount, "deposit amount")
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


# --------------------------------------------------------------------------------------------------- uploads
def _safetensors_header(data: bytes) -> dict[str, Any]:
    """Parse the JSON header of a safetensors file (8-byte little-endian length, then JSON)."""
    if len(data) < 8:
        raise ValidationFailed("not a safetensors file: it is shorter than the 8-byte header length")
    (length,) = struct.unpack("<Q", data[:8])
    if length == 0 or 8 + length > len(data):
        raise ValidationFailed(
            f"not a safetensors file: the header claims {length} bytes but the file has {len(data) - 8} after it "
            "(truncated or not safetensors)"
        )
    try:
        header = json.loads(data[8 : 8 + length].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationFailed(f"not a safetensors file: its header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise ValidationFailed("not a safetensors file: its header is not a JSON object")
    return header


def validate_vector_upload(data: bytes, *, expected_dim: int) -> np.ndarray:
    """Check an uploaded capability vector and return it as a float32 array of shape (expected_dim,).

    Accepted: a safetensors file of at most ``MAX_VECTOR_UPLOAD_BYTES`` holding one tensor (or several, one of
    them named ``vector``) of shape (d,) or (1, d), dtype float16/float32/float64, finite, not all zeros, with
    d == `expected_dim` (the source model's hidden size). Anything else raises ValidationFailed saying what is wrong.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValidationFailed(f"vector upload must be bytes (a safetensors file), got {type(data).__name__}")
    data = bytes(data)
    limit = int(settings.MAX_VECTOR_UPLOAD_BYTES)
    if len(data) > limit:
        raise ValidationFailed(f"vector file is {len(data)} bytes; the limit is {limit} bytes")
    if not data:
        raise ValidationFailed("vector file is empty")
    header = _safetensors_header(data)
    names = sorted(k for k in header if k != "__metadata__")
    if not names:
        raise ValidationFailed("the safetensors file holds no tensor")
    if len(names) > 1 and VECTOR_KEY not in names:
        shown = ", ".join(names[:5]) + (", …" if len(names) > 5 else "")
        raise ValidationFailed(
            f"the file holds {len(names)} tensors ({shown}); upload a single tensor or name the vector "
            f"{VECTOR_KEY!r}"
        )
    name = VECTOR_KEY if VECTOR_KEY in names else names[0]
    entry = header[name]
    dtype = entry.get("dtype") if isinstance(entry, dict) else None
    if dtype not in _DTYPES:
        raise ValidationFailed(
            f"tensor {name!r} has dtype {dtype}; use float16, float32 or float64"
        )
    from safetensors.numpy import load

    try:
        tensors = load(data)
    except Exception as exc:  # SafetensorError, or numpy refusing the bytes: untrusted input either way
        raise ValidationFailed(f"not a valid safetensors file: {exc}") from None
    array = np.asarray(tensors[name])
    if array.ndim == 2 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 1:
        raise ValidationFailed(f"tensor {name!r} has shape {tuple(array.shape)}; a vector must be (d,) or (1, d)")
    if array.shape[0] != expected_dim:
        raise ValidationFailed(
            f"vector has dimension {array.shape[0]} but the source model's hidden size is {expected_dim}"
        )
    if not np.isfinite(array).all():
        raise ValidationFailed("vector contains NaN or infinite values")
    if np.abs(array.astype(np.float64)).max() > np.finfo(np.float32).max:
        raise ValidationFailed("vector has values beyond the float32 range")
    vector = array.astype(np.float32)
    if not np.any(vector):
        raise ValidationFailed("vector is all zeros (it has no direction)")
    return vector


def vector_sha256(vector: np.ndarray) -> str:
    """sha256 hex digest of a vector's float32 little-endian bytes (independent of the file's metadata)."""
    return hashlib.sha256(np.ascontiguousarray(vector, dtype="<f4").tobytes()).hexdigest()


def vector_file_bytes(vector: np.ndarray, metadata: dict[str, Any]) -> bytes:
    """A float32 safetensors file holding ``vector`` under the key "vector" with a JSON metadata header."""
    from safetensors.numpy import save

    header = {"format": "capability-vector", "metadata": json.dumps(metadata, sort_keys=True, allow_nan=False)}
    return save({VECTOR_KEY: np.ascontiguousarray(vector, dtype=np.float32)}, metadata=header)


def read_vector_file(field_file: Any) -> tuple[np.ndarray, dict[str, Any]]:
    """Read a stored vector file (a FieldFile); return (float32 vector, its JSON metadata)."""
    from safetensors.numpy import load

    with field_file.open("rb") as handle:
        data = handle.read()
    header = _safetensors_header(data)
    meta = header.get("__metadata__") or {}
    return load(data)[VECTOR_KEY].astype(np.float32), json.loads(meta.get("metadata", "{}"))


# -------------------------------------------------------------------------------------------------- listings
def create_listing(
    *,
    seller: Any,
    name: str,
    description: str,
    source_model: Architecture,
    layer: int,
    capability_domain: str,
    grade: str,
    price: Decimal,
    vector_bytes: bytes,
) -> VectorListing:
    """Validate and store a new ACTIVE listing; estimates for every target are precomputed after commit.

    Rules: the source model is runnable (not metadata-only) with a known hidden size, 0 ≤ layer ≤ num_layers
    (0 = embeddings), price ≥ 0 with at most 4 decimals, a known grade, a non-empty name and domain, and a valid
    vector (``validate_vector_upload``). The vector is stored as a float32 safetensors file; ``vector_sha256``
    is the digest of its float32 bytes.
    """
    if not source_model.runnable:
        raise ValidationFailed(
            f"{source_model.name} is a metadata-only architecture; vectors can be listed only for runnable models"
        )
    if source_model.hidden_size <= 0:
        raise ValidationFailed(f"{source_model.name} has no known hidden size; register the model first")
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer <= source_model.num_layers:
        raise ValidationFailed(
            f"layer {layer!r} is out of range: {source_model.name} has layers 0..{source_model.num_layers} "
            "(0 = embeddings)"
        )
    price = _as_amount(price, "price")
    if price < 0:
        raise ValidationFailed(f"price must be ≥ 0, got {price}")
    if grade not in VectorListing.Grade.values:
        raise ValidationFailed(f"grade must be one of {', '.join(VectorListing.Grade.values)}, got {grade!r}")
    name, capability_domain = (name or "").strip(), (capability_domain or "").strip()
    if not name:
        raise ValidationFailed("name must not be empty")
    if not capability_domain:
        raise ValidationFailed("capability_domain must not be empty")
    vector = validate_vector_upload(vector_bytes, expected_dim=source_model.hidden_size)
    digest = vector_sha256(vector)
    with transaction.atomic():
        listing = VectorListing(
            seller=seller, name=name[:120], description=description or "", source_model=source_model, layer=layer,
            capability_domain=capability_domain[:60], grade=grade, price=price, vector_dim=int(vector.shape[0]),
            vector_norm=float(np.linalg.norm(vector.astype(np.float64))), vector_sha256=digest,
            status=VectorListing.Status.ACTIVE,
        )
        content = vector_file_bytes(vector, {"listing": listing.public_id, "source_model": source_model.name,
                                             "layer": layer, "sha256": digest})
        listing.vector_file.save(f"{listing.public_id}.safetensors", ContentFile(content), save=False)
        listing.save()
        events.listing_created(listing.id)
    return listing


# ------------------------------------------------------------------------------------------------- purchases
def create_purchase(
    *, buyer: Any, listing: VectorListing, target_model: Architecture, idempotency_key: str
) -> tuple[Purchase, bool]:
    """Buy `listing` for `target_model`; return (purchase, created).

    Atomic: both accounts are locked (select_for_update, in primary-key order so two crossing purchases cannot
    deadlock), then the (buyer, idempotency_key) pair is looked up — a repeat returns the existing purchase with
    created=False and debits nothing. Refusals write nothing: a reused key for a different listing/target
    (Conflict), buying one's own listing (ValidationFailed), an inactive listing (Conflict), a target without an
    active W-Matrix from the listing's model (NotFound; same model → identity delivery, no matrix), a matrix with
    no map for the listing's layer (NotFound), a balance below the price (InsufficientFunds). The ledger
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
        if listing.status != VectorListing.Status.ACTIVE:
            raise Conflict(f"listing {listing.public_id} is {listing.status}, not for sale")
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
        txid = uuid.uuid4()
        Account.objects.filter(pk=buyer_account.pk).update(balance=F("balance") - price)
        Account.objects.filter(pk=seller_account.pk).update(balance=F("balance") + price)
        memo = f"{purchase.public_id} {listing.public_id}"
        LedgerEntry.objects.bulk_create([
            LedgerEntry(transaction_id=txid, account=buyer_account, amount=-price, kind=LedgerEntry.Kind.PURCHASE,
                        purchase=purchase, memo=memo),
            LedgerEntry(transaction_id=txid, account=seller_account, amount=price, kind=LedgerEntry.Kind.SALE,
                        purchase=purchase, memo=memo),
        ])
        events.purchase_created(purchase.id)
    return purchase, True


def _delivery_plan(listing: VectorListing, target_model: Architecture) -> tuple[Any, int]:
    """Return (matrix or None for identity, target layer) for delivering `listing` into `target_model`."""
    if target_model.pk == listing.source_model_id:
        return None, listing.layer
    from marketplace.alignment.services import active_matrix

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
