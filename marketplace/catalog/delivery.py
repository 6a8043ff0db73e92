"""Delivery: a paid purchase's vector translated into the target model's space and stored as a vector package of the
target model (gpu queue), and the buyer's downloads of it (safetensors, the package, llama.cpp control vector)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from alignment_plugins.certificate import json_safe
from alignment_plugins.vector_package import (
    VectorPackage,
    VectorPackageError,
    export_control_vector,
    llama_cpp_model_hint,
)
from marketplace.alignment.matrices import active_matrix
from marketplace.alignment.translation import RESCALE_RULE, translate_vector
from marketplace.catalog.models import Architecture, Purchase
from marketplace.catalog.vector_files import (
    delivered_package,
    package_download,
    read_package,
    read_stored,
    vector_sha256,
)
from marketplace.errors import Conflict, NotExportable, NotFound, ValidationFailed

#: Download formats of a delivered vector: format -> (file suffix, Content-Type).
DELIVERY_FORMATS: dict[str, tuple[str, str]] = {
    "safetensors": (".safetensors", "application/octet-stream"),
    "vpkg": (".vpkg", "application/octet-stream"),
    "gguf": (".gguf", "application/octet-stream"),
}


def deliver_purchase(purchase: Purchase) -> None:
    """Translate the purchased vector into the target model's space and store it; purchase DELIVERED.

    Translated with ``alignment.translation.translate_vector`` through the matrix recorded on the purchase (the
    version the buyer was quoted), else the pair's active one. Source, mapped and delivered norms, the
    factor, layers, matrix version, norm mode ("map": the norm the map implies; "native" for an identity delivery),
    the listing's package provenance and the vector's sha256 are recorded in the stored package
    (``vector_files.delivered_package``), from which every download is made.
    Same source and target: the vector is copied. Already delivered, or refunded (``refunds``): nothing happens,
    also when the refund lands while the vector is being translated (the status is checked under a row lock
    before anything is stored).
    """
    purchase = Purchase.objects.select_related("listing__source_model", "target_model", "matrix").get(pk=purchase.pk)
    if purchase.status == Purchase.Status.DELIVERED and purchase.translated_vector:
        return
    listing = purchase.listing
    if not Purchase.objects.filter(pk=purchase.pk).exclude(status=Purchase.Status.REFUNDED).update(
            status=Purchase.Status.PROCESSING):
        return  # refunded: the buyer has the money back, nothing is delivered
    vector = read_package(listing.vector_file).vector(listing.layer)
    source_norm = float(np.linalg.norm(vector.astype(np.float64)))
    meta: dict[str, Any] = {
        "purchase": purchase.public_id, "listing": listing.public_id,
        "source_model": listing.source_model.name, "target_model": purchase.target_model.name,
        "source_layer": listing.layer, "source_norm": source_norm, "source_sha256": listing.vector_sha256,
    }
    if purchase.target_model_id == listing.source_model_id:
        delivered = vector.astype(np.float32)
        meta.update(target_layer=listing.layer, matrix=None, matrix_version=None, method="identity",
                    norm_mode="native", mapped_norm=source_norm, delivered_norm=source_norm, rescale_factor=1.0)
    else:
        matrix = purchase.matrix or active_matrix(listing.source_model, purchase.target_model)
        if matrix is None:
            raise NotFound(f"no W-Matrix for {listing.source_model.name}→{purchase.target_model.name}")
        translation = translate_vector(matrix, vector, listing.layer)
        delivered = translation.vector
        meta.update(
            target_layer=translation.target_layer, matrix=matrix.public_id, matrix_version=matrix.version,
            method=matrix.method, mapped_norm=translation.mapped_norm, delivered_norm=translation.delivered_norm,
            rescale_factor=translation.rescale_factor, rescale=RESCALE_RULE, norm_mode="map",
            source_standardized_norm=translation.source_standardized_norm,
        )
        purchase.matrix = matrix
    if not np.isfinite(delivered).all():
        raise ValueError("the translated vector has non-finite values")
    meta.update(dim=int(delivered.shape[0]), sha256=vector_sha256(delivered),
                delivered_at=timezone.now().isoformat(timespec="seconds"))
    content = delivered_package(purchase, delivered, json_safe(meta)).to_bytes()
    with transaction.atomic():
        if Purchase.objects.select_for_update().get(pk=purchase.pk).status == Purchase.Status.REFUNDED:
            return  # refunded while it was being translated
        purchase.translated_vector.save(f"{purchase.public_id}.vpkg", ContentFile(content), save=False)
        purchase.target_layer = meta["target_layer"]
        purchase.status = Purchase.Status.DELIVERED
        purchase.delivered_at = timezone.now()
        purchase.error = ""
        purchase.save(update_fields=["translated_vector", "target_layer", "status", "delivered_at", "error",
                                     "matrix"])


# ------------------------------------------------------------------------------------------------ downloads
def _check_delivered(purchase: Purchase) -> None:
    if purchase.status != Purchase.Status.DELIVERED or not purchase.translated_vector:
        raise Conflict(
            f"purchase {purchase.public_id} is {purchase.status}; the vector can be downloaded once delivered",
            status=purchase.status,
        )


def delivery_filename(purchase: Purchase, fmt: str) -> str:
    """The download file name of a purchase in `fmt` (``<listing>__<target model><suffix>``)."""
    return f"{purchase.listing.public_id}__{purchase.target_model.name}{DELIVERY_FORMATS[fmt][0]}"


def delivery_package(purchase: Purchase) -> VectorPackage:
    """The delivered vector as stored: a ``VectorPackage`` of the target model (one layer: the delivered layer);
    Conflict (409) while it is not delivered. See ``vector_files.delivered_package`` for its metadata."""
    _check_delivered(purchase)
    return read_stored(purchase.translated_vector)[1]


def control_vector_hint(target: Architecture) -> str:
    """llama.cpp architecture name of `target` (its family, else its name); NotExportable when it has none."""
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
    """The delivered vector's file in `fmt` (see DELIVERY_FORMATS): "vpkg" the stored package file (validated),
    "safetensors" its vector as a plain safetensors file (``vector_files.package_download``), "gguf" a llama.cpp
    control vector."""
    if fmt not in DELIVERY_FORMATS:
        raise ValidationFailed(f"format must be one of {', '.join(DELIVERY_FORMATS)}, got {fmt!r}")
    if fmt == "gguf":
        return delivery_control_vector(purchase)
    _check_delivered(purchase)
    data, package = read_stored(purchase.translated_vector)
    return data if fmt == "vpkg" else package_download(package)
