"""Listings: a seller offers a capability vector of one layer of a source model, at a price in AMEM."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q, QuerySet

from marketplace import events
from marketplace.catalog.ledger import as_amount
from marketplace.catalog.models import Architecture, VectorListing
from marketplace.catalog.vector_files import listing_package, read_vector_upload, vector_sha256
from marketplace.errors import ValidationFailed
from marketplace.stored_files import removed_on_failure
from marketplace.stored_json import check_storable

DEFAULT_PACKAGE_METADATA_MAX_BYTES = 64 << 10


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
    stored as a one-layer vector package (``vector_files.listing_package``); ``vector_sha256`` is the digest of its
    float32 bytes. The package metadata must be storable JSON of at most ``MAX_PACKAGE_METADATA_BYTES`` (64 KiB by
    default; over it: TooLarge, 413). Nothing is stored when any rule fails, nor when storing fails.
    """
    if not source_model.runnable:
        raise ValidationFailed(
            f"{source_model.name} is a metadata-only architecture; vectors can be listed only for runnable models"
        )
    if source_model.hidden_size <= 0:
        raise ValidationFailed(f"{source_model.name} has no known hidden size; register the model first")
    if layer is not None:
        check_layer(layer, source_model)
    price = as_amount(price, "price")
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
    check_layer(layer, source_model)
    package = upload.package or {}
    blocks = package.get("num_layers")
    if blocks is not None and source_model.num_layers and blocks != source_model.num_layers:
        raise ValidationFailed(
            f"the vector package is for a model with {blocks} blocks but {source_model.name} has "
            f"{source_model.num_layers}"
        )
    check_storable(package, "the vector package's metadata", max_bytes=package_metadata_max_bytes())
    vector = upload.vector
    digest = vector_sha256(vector)
    with transaction.atomic():
        listing = VectorListing(
            seller=seller, name=name[:120], description=description or "", source_model=source_model, layer=layer,
            capability_domain=capability_domain[:60], grade=grade, price=price, vector_dim=int(vector.shape[0]),
            vector_norm=float(np.linalg.norm(vector.astype(np.float64))), vector_sha256=digest,
            package=package, status=VectorListing.Status.ACTIVE,
        )
        content = listing_package(listing, vector, package).to_bytes()
        with removed_on_failure(listing.vector_file):
            listing.vector_file.save(f"{listing.public_id}.vpkg", ContentFile(content), save=False)
            listing.save()
            events.listing_created(listing.id)
    return listing


def visible_listings(user: Any, queryset: QuerySet | None = None) -> QuerySet:
    """Listings `user` may see: ACTIVE ones (public), plus the user's own in any status; staff see every listing.

    A draft, suspended or removed listing is thus absent from the list, its detail and estimate (404) for everyone
    else; its buyers keep their purchases and deliveries, which do not go through this filter.
    """
    queryset = VectorListing.objects.all() if queryset is None else queryset
    if user is not None and user.is_authenticated:
        if user.is_staff:
            return queryset
        return queryset.filter(Q(status=VectorListing.Status.ACTIVE) | Q(seller=user))
    return queryset.filter(status=VectorListing.Status.ACTIVE)


def package_metadata_max_bytes() -> int:
    """The largest vector-package metadata a listing keeps, in bytes of canonical JSON (MAX_PACKAGE_METADATA_BYTES)."""
    return int(getattr(settings, "MAX_PACKAGE_METADATA_BYTES", None) or DEFAULT_PACKAGE_METADATA_MAX_BYTES)


def check_layer(layer: Any, source_model: Architecture) -> None:
    """ValidationFailed unless `layer` is a hidden-state layer of `source_model` (0 = embeddings .. num_layers)."""
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer <= source_model.num_layers:
        raise ValidationFailed(
            f"layer {layer!r} is out of range: {source_model.name} has layers 0..{source_model.num_layers} "
            "(0 = embeddings)"
        )
