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
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F

from alignment_plugins.vector_package import FORMAT as PACKAGE_FORMAT
from marketplace import events
from marketplace.catalog.models import Account, Architecture, LedgerEntry, Purchase, VectorListing
from marketplace.errors import Conflict, InsufficientFunds, NotExportable, NotFound, ValidationFailed

log = logging.getLogger(__name__)

VECTOR_KEY = "vector"
_DTYPES = {"F16": "float16", "F32": "float32", "F64": "float64"}


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


def validate_vector_upload(
    data: bytes, *, expected_dim: int, source_model: str | None = None, layer: int | None = None
) -> np.ndarray:
    """Check an uploaded capability vector and return it as a float32 array of shape (expected_dim,).

    Accepted: a safetensors file of at most ``MAX_VECTOR_UPLOAD_BYTES`` holding one tensor (or several, one of
    them named ``vector``) of shape (d,) or (1, d), dtype float16/float32/float64, finite, not all zeros, with
    d == `expected_dim` (the source model's hidden size); or a vector package (``.vpkg``, see
    ``alignment_plugins.vector_package``), validated in full, whose hidden size is `expected_dim`, whose
    ``source_model`` is `source_model` (when given) and which has a vector for `layer` (None: its only layer).
    Anything else raises ValidationFailed saying what is wrong.
    """
    return read_vector_upload(data, expected_dim=expected_dim, source_model=source_model, layer=layer).vector


@dataclass(frozen=True)
class VectorUpload:
    """A validated upload: the vector, its layer (None for a plain file without one) and the package metadata."""

    vector: np.ndarray
    layer: int | None
    package: dict[str, Any] | None  # None: a plain safetensors file


def read_vector_upload(
    data: bytes, *, expected_dim: int, source_model: str | None = None, layer: int | None = None
) -> VectorUpload:
    """Validate an upload (plain safetensors vector or vector package, see ``validate_vector_upload``)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValidationFailed(f"vector upload must be bytes (a safetensors file), got {type(data).__name__}")
    data = bytes(data)
    limit = int(settings.MAX_VECTOR_UPLOAD_BYTES)
    if len(data) > limit:
        raise ValidationFailed(f"vector file is {len(data)} bytes; the limit is {limit} bytes")
    if not data:
        raise ValidationFailed("vector file is empty")
    header = _safetensors_header(data)
    file_meta = header.get("__metadata__")
    if isinstance(file_meta, dict) and file_meta.get("format") == PACKAGE_FORMAT:
        return _read_package_upload(data, expected_dim=expected_dim, source_model=source_model, layer=layer)
    return VectorUpload(_plain_vector(data, header, expected_dim), layer, None)


def _read_package_upload(data: bytes, *, expected_dim: int, source_model: str | None, layer: int | None
                         ) -> VectorUpload:
    from alignment_plugins.vector_package import VectorPackage, VectorPackageError

    try:
        package = VectorPackage.from_bytes(data, "vector package")
    except VectorPackageError as exc:
        raise ValidationFailed(str(exc)) from None
    meta = package.metadata
    if package.hidden_size != expected_dim:
        raise ValidationFailed(
            f"the vector package has hidden size {package.hidden_size} but the source model's hidden size is "
            f"{expected_dim}"
        )
    if source_model is not None and meta["source_model"] != source_model:
        raise ValidationFailed(
            f"the vector package was extracted from {meta['source_model']!r} but the listing's source model is "
            f"{source_model!r}"
        )
    if layer is None:
        if len(package.layers) != 1:
            raise ValidationFailed(
                f"the vector package has layers {package.layers}; say which one to sell (the listing's layer)"
            )
        layer = package.layers[0]
    elif layer not in package.vectors:
        raise ValidationFailed(f"the vector package has no vector for layer {layer}; it has layers {package.layers}")
    return VectorUpload(package.vector(layer), int(layer), dict(meta))


def _plain_vector(data: bytes, header: dict[str, Any], expected_dim: int) -> np.ndarray:
    """The vector of a plain safetensors upload (see ``validate_vector_upload``)."""
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
    layer: int | None,
    capability_domain: str,
    grade: str,
    price: Decimal,
    vector_bytes: bytes,
) -> VectorListing:
    """Validate and store a new ACTIVE listing; estimates for every target are precomputed after commit.

    Rules: the source model is runnable (not metadata-only) with a known hidden size, 0 ≤ layer ≤ num_layers
    (0 = embeddings), price ≥ 0 with at most 4 decimals, a known grade, a non-empty name and domain, and a valid
    vector (``validate_vector_upload``): a plain safetensors vector, or a vector package for this source model
    (layer None: the package's only layer), whose metadata is kept in ``listing.package``. The listing's vector is
    stored as a float32 safetensors file; ``vector_sha256`` is the digest of its float32 bytes. Nothing is stored
    when any rule fails.
    """
    if not source_model.runnable:
        raise ValidationFailed(
            f"{source_model.name} is a metadata-only architecture; vectors can be listed only for runnable models"
        )
    if source_model.hidden_size <= 0:
        raise ValidationFailed(f"{source_model.name} has no known hidden size; register the model first")
    if layer is not None:
        _check_layer(layer, source_model)
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
    upload = read_vector_upload(vector_bytes, expected_dim=source_model.hidden_size, source_model=source_model.name,
                                layer=layer)
    if upload.layer is None:
        raise ValidationFailed("layer is required: a plain safetensors vector does not say which layer it is from")
    layer = upload.layer
    _check_layer(layer, source_model)
    package = upload.package or {}
    blocks = package.get("num_layers")
    if blocks is not None and source_model.num_layers and blocks != source_model.num_layers:
        raise ValidationFailed(
            f"the vector package is for a model with {blocks} blocks but {source_model.name} has "
            f"{source_model.num_layers}"
        )
    vector = upload.vector
    digest = vector_sha256(vector)
    with transaction.atomic():
        listing = VectorListing(
            seller=seller, name=name[:120], description=description or "", source_model=source_model, layer=layer,
            capability_domain=capability_domain[:60], grade=grade, price=price, vector_dim=int(vector.shape[0]),
            vector_norm=float(np.linalg.norm(vector.astype(np.float64))), vector_sha256=digest,
            package=package, status=VectorListing.Status.ACTIVE,
        )
        file_meta: dict[str, Any] = {"listing": listing.public_id, "source_model": source_model.name,
                                     "layer": layer, "sha256": digest}
        if package:
            file_meta["package"] = package
        content = vector_file_bytes(vector, file_meta)
        listing.vector_file.save(f"{listing.public_id}.safetensors", ContentFile(content), save=False)
        listing.save()
        events.listing_created(listing.id)
    return listing


def _check_layer(layer: Any, source_model: Architecture) -> None:
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer <= source_model.num_layers:
        raise ValidationFailed(
            f"layer {layer!r} is out of range: {source_model.name} has layers 0..{source_model.num_layers} "
            "(0 = embeddings)"
        )


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


# ------------------------------------------------------------------------------------------------ deliveries
#: Download formats of a delivered vector: format -> (file suffix, Content-Type).
DELIVERY_FORMATS: dict[str, tuple[str, str]] = {
    "safetensors": (".safetensors", "application/octet-stream"),
    "vpkg": (".vpkg", "application/octet-stream"),
    "gguf": (".gguf", "application/octet-stream"),
}
#: Package keys a delivered vector keeps from the listing's package (its provenance).
PROVENANCE_KEYS = ("method", "capability", "domain", "contrastive_data_hash", "recommended_coefficient",
                   "token_position", "pooling", "special_tokens_excluded", "source_fingerprint")


def package_provenance(package: dict[str, Any] | None) -> dict[str, Any] | None:
    """The provenance keys of a listing's package metadata (None for a plain upload)."""
    if not package:
        return None
    return {key: package[key] for key in PROVENANCE_KEYS if key in package}


def _check_delivered(purchase: Purchase) -> None:
    if purchase.status != Purchase.Status.DELIVERED or not purchase.translated_vector:
        raise Conflict(
            f"purchase {purchase.public_id} is {purchase.status}; the vector can be downloaded once delivered",
            status=purchase.status,
        )


def delivered_vector(purchase: Purchase) -> tuple[np.ndarray, dict[str, Any]]:
    """(vector, metadata) of a delivered purchase's file; Conflict (409) while it is not delivered."""
    _check_delivered(purchase)
    return read_vector_file(purchase.translated_vector)


def delivery_filename(purchase: Purchase, fmt: str) -> str:
    """The download file name of a purchase in `fmt` (``<listing>__<target model><suffix>``)."""
    return f"{purchase.listing.public_id}__{purchase.target_model.name}{DELIVERY_FORMATS[fmt][0]}"


def delivery_package(purchase: Purchase) -> Any:
    """The delivered vector as a ``VectorPackage`` of the target model (one layer: the delivered layer).

    Translated through a W-Matrix: method "transferred" and a ``transfer`` record (matrix id, version, method and
    file digest, source model and layer, norm mode, norms, rescale factor). Same model (identity delivery): the
    listing's own method, ``transfer.matrix`` null and norm mode "native". Capability, domain, contrastive data
    hash, recommended coefficient, pooling and token position come from the listing's package; for a plain upload
    the capability is the listing's name and the unknown keys say "unknown".
    """
    from alignment_plugins.vector_package import VectorPackage, VectorPackageError

    vector, meta = delivered_vector(purchase)
    listing, target = purchase.listing, purchase.target_model
    provenance = meta.get("package") or package_provenance(listing.package) or {}
    layer = int(meta.get("target_layer", purchase.target_layer))
    matrix_id = meta.get("matrix")
    transferred = matrix_id is not None
    norm_mode = meta.get("norm_mode") or ("map" if transferred else "native")
    norms = {key: meta[key] for key in ("source_norm", "mapped_norm", "delivered_norm", "source_standardized_norm")
             if meta.get(key) is not None}
    transfer: dict[str, Any] = {
        "matrix": matrix_id, "matrix_version": meta.get("matrix_version"),
        "matrix_method": meta.get("method") if transferred else None,
        "wmatrix_sha256": purchase.matrix.file_sha256 if transferred and purchase.matrix_id else None,
        "source_model": meta.get("source_model", listing.source_model.name),
        "source_layer": meta.get("source_layer", listing.layer), "target_layer": layer,
        "source_sha256": meta.get("source_sha256", listing.vector_sha256),
        "source_fingerprint": provenance.get("source_fingerprint", ""),
        "source_method": provenance.get("method"),
        "norm_mode": norm_mode, "norms": norms, "rescale_factor": meta.get("rescale_factor"),
    }
    if meta.get("rescale"):
        transfer["rescale"] = meta["rescale"]
    extra: dict[str, Any] = {"purchase": purchase.public_id, "listing": listing.public_id,
                             "delivered_at": meta.get("delivered_at"), "sha256": meta.get("sha256")}
    if not provenance:
        extra["provenance"] = ("plain safetensors upload: pooling, token position and special-token handling of the "
                               "source vector are unknown")
    num_layers = target.num_layers if target.num_layers and target.num_layers >= layer else None
    try:
        return VectorPackage.create(
            {layer: vector},
            source_model=target.name,
            source_fingerprint=target.weight_fingerprint or "",
            method="transferred" if transferred else str(provenance.get("method") or "unknown"),
            capability=str(provenance.get("capability") or listing.name),
            domain=str(provenance.get("domain") or listing.capability_domain),
            contrastive_data_hash=str(provenance.get("contrastive_data_hash") or ""),
            recommended_coefficient=float(provenance.get("recommended_coefficient", 1.0)),
            grade=listing.grade,
            token_position=str(provenance.get("token_position") or "unknown"),
            pooling=str(provenance.get("pooling") or "unknown"),
            special_tokens_excluded=bool(provenance.get("special_tokens_excluded", False)),
            num_layers=num_layers,
            description=listing.description or None,
            transfer=json.loads(json.dumps(transfer, allow_nan=False)),
            extra=extra,
        )
    except (VectorPackageError, ValueError, TypeError) as exc:
        raise NotExportable(f"the delivered vector of {purchase.public_id} cannot be packaged: {exc}") from None


def control_vector_hint(target: Architecture) -> str:
    """llama.cpp architecture name of `target` (its family, else its name); NotExportable when it has none."""
    from alignment_plugins.vector_package import VectorPackageError, llama_cpp_model_hint

    try:
        return llama_cpp_model_hint(target.family)
    except VectorPackageError as first:
        try:
            return llama_cpp_model_hint(target.name)
        except VectorPackageError:
            raise NotExportable(f"{target.name}: {first}", format="gguf", family=target.family) from None


def delivery_control_vector(purchase: Purchase) -> bytes:
    """The delivered vector as a llama.cpp control-vector GGUF (layer L -> ``direction.{L-1}``, coefficient 1).

    The model hint is the target model's llama.cpp architecture. A vector delivered at layer 0 (embeddings) or 1
    (block 0, which llama.cpp never steers), or for a model llama.cpp cannot run, is refused with NotExportable
    (409).
    """
    import tempfile
    from pathlib import Path

    from alignment_plugins.vector_package import VectorPackageError, export_control_vector

    package = delivery_package(purchase)
    layer = package.layers[0]
    if layer < 2:
        what = "the embedding output" if layer == 0 else "the output of block 0, which would be direction.0"
        raise NotExportable(
            f"the vector of {purchase.public_id} (layer {layer} of {purchase.target_model.name}) cannot be exported "
            f"as a llama.cpp control vector: layer {layer} is {what}; llama.cpp steers block outputs from layer 2 "
            "on (layer L is written as direction.{L-1} and direction.0 is rejected)",
            format="gguf", layer=layer,
        )
    hint = control_vector_hint(purchase.target_model)
    with tempfile.TemporaryDirectory(prefix="cvec-") as tmp:
        path = Path(tmp) / "control_vector.gguf"
        try:
            export_control_vector(package, path, model_hint=hint)
        except VectorPackageError as exc:
            raise NotExportable(
                f"the vector of {purchase.public_id} (layer {package.layers[0]} of {purchase.target_model.name}) "
                f"cannot be exported as a llama.cpp control vector: {exc}",
                format="gguf", layer=package.layers[0],
            ) from None
        return path.read_bytes()


def delivery_bytes(purchase: Purchase, fmt: str) -> bytes:
    """The delivered vector's file in `fmt` ("safetensors", "vpkg" or "gguf"); see DELIVERY_FORMATS."""
    if fmt not in DELIVERY_FORMATS:
        raise ValidationFailed(f"format must be one of {', '.join(DELIVERY_FORMATS)}, got {fmt!r}")
    if fmt == "vpkg":
        return delivery_package(purchase).to_bytes()
    if fmt == "gguf":
        return delivery_control_vector(purchase)
    _check_delivered(purchase)
    stored = purchase.translated_vector
    with stored.storage.open(stored.name, "rb") as handle:
        return handle.read()
