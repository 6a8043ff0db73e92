"""Vector files: uploads (a plain safetensors vector or a vector package, validated in full), the stored vector
files (float32 safetensors with a JSON metadata header) and their digests.

A leaf module (numpy, safetensors, the engine's ``vector_package``): it imports no service and queries nothing.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from safetensors.numpy import load, save

from alignment_plugins.vector_package import FORMAT as PACKAGE_FORMAT
from alignment_plugins.vector_package import VectorPackage, VectorPackageError
from marketplace.errors import ValidationFailed

VECTOR_KEY = "vector"
_DTYPES = {"F16": "float16", "F32": "float32", "F64": "float64"}
#: Package keys a delivered vector keeps from the listing's package (its provenance).
PROVENANCE_KEYS = ("method", "capability", "domain", "contrastive_data_hash", "recommended_coefficient",
                   "token_position", "pooling", "special_tokens_excluded", "source_fingerprint")


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
    header = _safetensors_header(data)
    file_meta = header.get("__metadata__")
    if isinstance(file_meta, dict) and file_meta.get("format") == PACKAGE_FORMAT:
        return _read_package_upload(data, expected_dim=expected_dim, source_model=source_model, layer=layer)
    return VectorUpload(_plain_vector(data, header, expected_dim), layer, None)


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


def vector_file_bytes(vector: np.ndarray, metadata: dict[str, Any]) -> bytes:
    """A float32 safetensors file holding ``vector`` under the key "vector" with a JSON metadata header."""
    header = {"format": "capability-vector", "metadata": json.dumps(metadata, sort_keys=True, allow_nan=False)}
    return save({VECTOR_KEY: np.ascontiguousarray(vector, dtype=np.float32)}, metadata=header)


def read_vector_file(field_file: Any) -> tuple[np.ndarray, dict[str, Any]]:
    """Read a stored vector file (a FieldFile); return (float32 vector, its JSON metadata)."""
    with field_file.open("rb") as handle:
        data = handle.read()
    header = _safetensors_header(data)
    meta = header.get("__metadata__") or {}
    return load(data)[VECTOR_KEY].astype(np.float32), json.loads(meta.get("metadata", "{}"))


def package_provenance(package: dict[str, Any] | None) -> dict[str, Any] | None:
    """The provenance keys of a listing's package metadata (None for a plain upload)."""
    if not package:
        return None
    return {key: package[key] for key in PROVENANCE_KEYS if key in package}
