"""Delivery: a paid purchase's vector translated into the target model's space and stored (gpu queue), and the
buyer's downloads of it (safetensors, vector package, llama.cpp control vector)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from django.core.files.base import ContentFile
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
from marketplace.catalog.vector_files import package_provenance, read_vector_file, vector_file_bytes, vector_sha256
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
    the listing's package provenance (``package_provenance``, null for a plain upload) and the vector's sha256 go
    into the file's JSON metadata header (the vpkg and GGUF downloads are built from it).
    Same source and target: the vector is copied. Already delivered: nothing happens.
    """
    purchase = Purchase.objects.select_related("listing__source_model", "target_model", "matrix").get(pk=purchase.pk)
    if purchase.status == Purchase.Status.DELIVERED and purchase.translated_vector:
        return
    listing = purchase.listing
    Purchase.objects.filter(pk=purchase.pk).update(status=Purchase.Status.PROCESSING)
    vector, _ = read_vector_file(listing.vector_file)
    source_norm = float(np.linalg.norm(vector.astype(np.float64)))
    meta: dict[str, Any] = {
        "purchase": purchase.public_id, "listing": listing.public_id,
        "source_model": listing.source_model.name, "target_model": purchase.target_model.name,
        "source_layer": listing.layer, "source_norm": source_norm, "source_sha256": listing.vector_sha256,
        "package": package_provenance(listing.package),
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
    content = vector_file_bytes(delivered, json_safe(meta))
    purchase.translated_vector.save(f"{purchase.public_id}.safetensors", ContentFile(content), save=False)
    purchase.target_layer = meta["target_layer"]
    purchase.status = Purchase.Status.DELIVERED
    purchase.delivered_at = timezone.now()
    purchase.error = ""
    purchase.save(update_fields=["translated_vector", "target_layer", "status", "delivered_at", "error", "matrix"])


# ------------------------------------------------------------------------------------------------ downloads
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
