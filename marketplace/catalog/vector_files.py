"""Vector files: every capability vector the marketplace stores is an engine vector package (``.vpkg``).

Uploads are a plain safetensors vector or a vector package (``read_vector_upload``, validated in full); the listing
stores either as a one-layer package (``listing_package``). A delivery is stored as a package of the target model
(``delivered_package``). Downloads are that package, a plain safetensors file (``plain_vector_bytes``: tensor
"vector", the package metadata as JSON in the header) or a llama.cpp control vector built from it.

A leaf module (numpy, safetensors, the engine's ``vector_package``): it reads the fields of the rows it is given and
queries nothing, so services and data migrations (historical rows) share it.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from safetensors.numpy import load, save

from alignment_plugins.certificate import canonical_json, json_safe
from alignment_plugins.formats import strict_json
from alignment_plugins.vector_package import FORMAT as PACKAGE_FORMAT
from alignment_plugins.vector_package import VectorPackage, VectorPackageError
from marketplace.errors import ValidationFailed

VECTOR_KEY = "vector"
_DTYPES = {"F16": "float16", "F32": "float32", "F64": "float64"}
#: Package keys a delivered vector keeps from the listing's package (its provenance).
PROVENANCE_KEYS = ("method", "capability", "domain", "contrastive_data_hash", "recommended_coefficient",
                   "token_position", "pooling", "special_tokens_excluded", "source_fingerprint")
PLAIN_UPLOAD = ("plain safetensors upload: pooling, token position and special-token handling of the source vector "
                "are unknown")


# ---------------------------------------------------------------------------------------------------- uploads
@dataclass(frozen=True)
class VectorUpload:
    """A validated upload: the vector, its layer (None for a plain file without one) and the package metadata."""

    vector: np.ndarray
    layer: int | None
    package: dict[str, Any] | None  # None: a plain safetensors file


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
    header = safetensors_header(data)
    file_meta = header.get("__metadata__")
    if isinstance(file_meta, dict) and file_meta.get("format") == PACKAGE_FORMAT:
        return _read_package_upload(data, expected_dim=expected_dim, source_model=source_model, layer=layer)
    return VectorUpload(_plain_vector(data, header, expected_dim), layer, None)


def safetensors_header(data: bytes) -> dict[str, Any]:
    """Parse the JSON header of a safetensors file (8-byte little-endian length, then JSON); ValidationFailed when
    it is not one."""
    if len(data) < 8:
        raise ValidationFailed("not a safetensors file: it is shorter than the 8-byte header length")
    (length,) = struct.unpack("<Q", data[:8])
    if length == 0 or 8 + length > len(data):
        raise ValidationFailed(
            f"not a safetensors file: the header claims {length} bytes but the file has {len(data) - 8} after it "
            "(truncated or not safetensors)"
        )
    try:
        text = data[8 : 8 + length].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(f"not a safetensors file: its header is not UTF-8 ({exc})") from None
    header = strict_json(text, error=ValidationFailed, what="not a safetensors file: its header")
    if not isinstance(header, dict):
        raise ValidationFailed("not a safetensors file: its header is not a JSON object")
    return header


def _read_package_upload(data: bytes, *, expected_dim: int, source_model: str | None, layer: int | None
                         ) -> VectorUpload:
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


def plain_vector_bytes(vector: np.ndarray, metadata: Mapping[str, str] | None = None) -> bytes:
    """A plain safetensors file: the float32 vector under "vector" and `metadata` (strings) in its header."""
    return save({VECTOR_KEY: np.ascontiguousarray(vector, dtype=np.float32)}, metadata=dict(metadata or {}))


# ---------------------------------------------------------------------------------------------- stored files
def read_stored(field_file: Any) -> tuple[bytes, VectorPackage]:
    """The bytes of a stored package file (a FieldFile) and the package they hold, validated (integrity included)."""
    with field_file.open("rb") as handle:
        data = handle.read()
    return data, VectorPackage.from_bytes(data, field_file.name)


def read_package(field_file: Any) -> VectorPackage:
    """The vector package of a stored file (a FieldFile), validated (integrity digest included)."""
    return read_stored(field_file)[1]


def package_download(package: VectorPackage) -> bytes:
    """The safetensors download of a one-layer package: its vector under "vector", the package's metadata as
    canonical JSON under the header key "metadata" (no format tag or digest: a plain vector file, re-uploadable)."""
    return plain_vector_bytes(package.vector(), {"metadata": canonical_json(package.metadata)})


def package_provenance(package: dict[str, Any] | None) -> dict[str, Any] | None:
    """The provenance keys of a listing's package metadata (None for a plain upload)."""
    if not package:
        return None
    return {key: package[key] for key in PROVENANCE_KEYS if key in package}


def _num_layers(model: Any, layer: int) -> int | None:
    return model.num_layers if model.num_layers and model.num_layers >= layer else None


def listing_package(listing: Any, vector: np.ndarray, upload: dict[str, Any] | None) -> VectorPackage:
    """The file a listing stores: a one-layer package of its source model at ``listing.layer``.

    A package upload keeps its metadata (provenance, creation time, library version); a plain upload gets method,
    token position and pooling "unknown", capability = the listing's name, domain = its capability domain,
    recommended coefficient 1 and a provenance note. ``extra`` records the listing id and the vector's sha256.
    """
    layer, source = int(listing.layer), listing.source_model
    extra = {"listing": listing.public_id, "sha256": listing.vector_sha256}
    if upload:
        meta = {key: value for key, value in upload.items() if key not in ("layers", "hidden_size")}
        meta["extra"] = {**(upload.get("extra") or {}), **extra}
        return VectorPackage({layer: vector}, meta)
    return VectorPackage.create(
        {layer: vector}, source_model=source.name, source_fingerprint=source.weight_fingerprint or "",
        method="unknown", capability=listing.name, domain=listing.capability_domain, contrastive_data_hash="",
        grade=listing.grade, token_position="unknown", pooling="unknown", special_tokens_excluded=False,
        num_layers=_num_layers(source, layer), description=listing.description or None,
        extra={**extra, "provenance": PLAIN_UPLOAD},
    )


def delivered_package(purchase: Any, vector: np.ndarray, record: dict[str, Any]) -> VectorPackage:
    """The file a delivery stores: a one-layer package of the target model at the delivered layer.

    `record` describes the delivery (keys: target_layer, matrix, matrix_version, method (the matrix's), norm_mode,
    source_model/layer/sha256, the norms, rescale_factor, rescale, delivered_at, sha256). Translated through a
    W-Matrix: method "transferred" and a ``transfer`` record (matrix id, version, method and file digest, source
    model and layer, norm mode, norms, rescale factor). Same model (identity delivery): the listing's own method,
    ``transfer.matrix`` null and norm mode "native". Capability, domain, contrastive data hash, recommended
    coefficient, pooling and token position come from the listing's package; for a plain upload the capability
    is the listing's name and the unknown keys say "unknown".
    """
    listing, target = purchase.listing, purchase.target_model
    provenance = package_provenance(listing.package) or {}
    layer = int(record.get("target_layer", purchase.target_layer))
    matrix_id = record.get("matrix")
    transferred = matrix_id is not None
    norm_mode = record.get("norm_mode") or ("map" if transferred else "native")
    norms = {key: record[key] for key in ("source_norm", "mapped_norm", "delivered_norm", "source_standardized_norm")
             if record.get(key) is not None}
    transfer: dict[str, Any] = {
        "matrix": matrix_id, "matrix_version": record.get("matrix_version"),
        "matrix_method": record.get("method") if transferred else None,
        "wmatrix_sha256": purchase.matrix.file_sha256 if transferred and purchase.matrix_id else None,
        "source_model": record.get("source_model", listing.source_model.name),
        "source_layer": record.get("source_layer", listing.layer), "target_layer": layer,
        "source_sha256": record.get("source_sha256", listing.vector_sha256),
        "source_fingerprint": provenance.get("source_fingerprint", ""),
        "source_method": provenance.get("method"),
        "norm_mode": norm_mode, "norms": norms, "rescale_factor": record.get("rescale_factor"),
    }
    if record.get("rescale"):
        transfer["rescale"] = record["rescale"]
    extra: dict[str, Any] = {"purchase": purchase.public_id, "listing": listing.public_id,
                             "delivered_at": record.get("delivered_at"), "sha256": record.get("sha256")}
    if not provenance:
        extra["provenance"] = PLAIN_UPLOAD
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
        num_layers=_num_layers(target, layer),
        description=listing.description or None,
        transfer=json_safe(transfer),
        extra=json_safe(extra),
    )
