"""File-format building blocks shared by ``.wmatrix``, ``.vpkg``, certificates (and the marketplace).

* **Canonical JSON**: sorted keys, no whitespace, ASCII escapes, NaN/inf refused — what digests and signatures are
  computed over, byte for byte the same on every machine.
* **JSON-safe values**: non-finite floats become None (JSON and PostgreSQL jsonb have no NaN), numpy scalars and
  arrays become Python values, mapping keys become strings.
* **Safetensors documents**: a safetensors file whose header metadata holds ``format`` (a tag), ``format_version``
  (a decimal string), ``metadata`` (canonical JSON) and ``integrity`` ("sha256:<hex>" over the canonical metadata
  and every tensor's name, dtype, shape and bytes), so an edit of metadata or tensor bytes after writing is found.
  Reading never unpickles anything.

numpy at import; safetensors inside the functions that read or write tensors. No torch.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "MAX_JSON_DEPTH", "canonical_json", "document_header", "finite_or_none", "integrity_digest", "json_depth",
    "json_safe", "read_document", "read_document_metadata", "read_safetensors", "safetensors_header", "strict_json",
]

#: The deepest nesting of arrays/objects a document's JSON may have (real metadata is 4-5 levels deep); deeper input
#: is refused before anything recurses over it.
MAX_JSON_DEPTH = 64


# ----------------------------------------------------------------------------------------------------------- JSON
def canonical_json(value: Any) -> str:
    """The canonical JSON of a value: sorted keys, no whitespace, ASCII, no NaN (ValueError on NaN/inf)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def finite_or_none(value: Any) -> float | None:
    """A Python float, or None where the number is NaN or ±inf."""
    value = float(value)
    return value if math.isfinite(value) else None


def json_safe(value: Any) -> Any:
    """A JSON-safe copy: non-finite floats become None, numpy scalars/arrays become Python values, keys str."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return finite_or_none(value)
    return value


def json_depth(value: Any) -> int:
    """The nesting depth of a parsed JSON value (0 for a scalar), computed without recursion."""
    depth, stack = 0, [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, Mapping):
            children: Any = node.values()
        elif isinstance(node, (list, tuple)):
            children = node
        else:
            depth = max(depth, level)
            continue
        depth = max(depth, level + 1)
        stack.extend((child, level + 1) for child in children)
    return depth


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (no NaN or Infinity)")


def strict_json(text: str | bytes, *, error: type[Exception] = ValueError, what: str = "JSON",
                max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse untrusted JSON: NaN/Infinity refused, at most `max_depth` levels deep; `error` saying what is wrong."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise error(f"{what} is nested too deeply (more than {max_depth} levels)") from None
    except (UnicodeDecodeError, ValueError, TypeError) as exc:
        raise error(f"{what} is not valid JSON: {exc}") from None
    if json_depth(value) > max_depth:
        raise error(f"{what} is nested too deeply (more than {max_depth} levels)")
    return value


# ------------------------------------------------------------------------------------------ safetensors documents
def integrity_digest(metadata: Any, tensors: Mapping[str, np.ndarray]) -> str:
    """"sha256:<hex>" over the canonical metadata JSON, then each tensor (sorted by name): name, dtype, shape, bytes."""
    digest = hashlib.sha256(canonical_json(metadata).encode())
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
        digest.update(array.tobytes())
    return "sha256:" + digest.hexdigest()


def document_header(format_name: str, version: int, metadata: Mapping[str, Any],
                    tensors: Mapping[str, np.ndarray]) -> dict[str, str]:
    """The safetensors header metadata of a document: format tag, version, canonical metadata and integrity."""
    return {"format": format_name, "format_version": str(version), "metadata": canonical_json(metadata),
            "integrity": integrity_digest(metadata, tensors)}


def safetensors_header(data: bytes, *, label: str = "safetensors file", error: type[Exception] = ValueError,
                       origin: str = "data") -> dict[str, Any]:
    """The JSON header of safetensors bytes (8-byte little-endian length, then a JSON object); `error` if malformed.

    The header maps tensor names to {dtype, shape, data_offsets}; the string metadata sits under "__metadata__".
    """
    if len(data) < 8:
        raise error(f"{origin}: not a {label} (truncated: {len(data)} bytes)")
    (length,) = struct.unpack("<Q", data[:8])
    if length == 0 or length > len(data) - 8:
        raise error(f"{origin}: not a readable {label} (truncated or not safetensors: header claims {length} "
                    f"bytes, file has {len(data) - 8})")
    try:
        text = data[8 : 8 + length].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{origin}: not a readable {label} (its header is not UTF-8: {exc})") from None
    header = strict_json(text, error=error, what=f"{origin}: not a readable {label} (its header)")
    if not isinstance(header, dict):
        raise error(f"{origin}: not a readable {label} (its header is not a JSON object)")
    return header


def read_safetensors(source: bytes | str | os.PathLike, *, label: str = "safetensors file",
                     error: type[Exception] = ValueError, origin: str | None = None
                     ) -> tuple[dict[str, str], dict[str, np.ndarray]]:
    """(header metadata strings, tensors as numpy arrays) of safetensors bytes or a file; `error` when unreadable."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        from safetensors.numpy import load

        data = bytes(source)
        origin = origin or "data"
        metadata = safetensors_header(data, label=label, error=error, origin=origin).get("__metadata__") or {}
        try:
            tensors = load(data)
        except Exception as exc:  # SafetensorError, numpy refusing the bytes: untrusted input
            raise error(f"{origin}: not a readable {label} (truncated, corrupted or not safetensors): {exc}") from None
        return metadata, tensors
    from safetensors import safe_open

    origin = origin or str(source)
    try:
        with safe_open(str(source), framework="numpy") as handle:
            metadata = handle.metadata() or {}
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    except Exception as exc:  # safetensors raises its own error types for truncation and bad headers
        raise error(f"{origin}: not a readable {label} (truncated, corrupted or not safetensors): {exc}") from None
    return metadata, tensors


def read_document(source: bytes | str | os.PathLike, *, format_name: str, supported_versions: tuple[int, ...],
                  label: str, error: type[Exception] = ValueError, origin: str | None = None
                  ) -> tuple[Any, dict[str, np.ndarray]]:
    """Read a document (see the module docstring), checking its format tag, version and integrity digest.

    `label` names the kind of file in messages ("vector package"). Returns (metadata as parsed from its JSON,
    tensors); the caller validates the metadata's content. Raises
    `error` saying what is wrong: unreadable, another format, an unsupported version, bad metadata JSON, or an
    integrity mismatch (bytes edited after writing).
    """
    origin = origin or ("data" if isinstance(source, (bytes, bytearray, memoryview)) else str(source))
    header, tensors = read_safetensors(source, label=label, error=error, origin=origin)
    if header.get("format") != format_name:
        raise error(f"{origin}: not a {label} (header format is {header.get('format')!r}, expected {format_name!r})")
    try:
        version = int(header.get("format_version", ""))
    except (TypeError, ValueError):
        raise error(f"{origin}: bad format_version {header.get('format_version')!r}") from None
    if version not in supported_versions:
        raise error(f"{origin}: format version {version} is not supported by this library (supports "
                    f"{supported_versions}); upgrade alignment_plugins")
    if not isinstance(header.get("metadata"), str):
        raise error(f"{origin}: metadata header is missing or not a string")
    metadata = strict_json(header["metadata"], error=error, what=f"{origin}: the metadata header")
    try:
        expected = integrity_digest(metadata if isinstance(metadata, dict) else {}, tensors)
    except (TypeError, ValueError, RecursionError) as exc:
        raise error(f"{origin}: the metadata cannot be canonicalized: {exc}") from None
    if header.get("integrity") != expected:
        raise error(f"{origin}: integrity check failed: metadata or tensor bytes were modified after the file was "
                    "written")
    return metadata, tensors


def read_document_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The JSON metadata of a document file, read from its header alone (no tensors, no integrity check)."""
    from safetensors import safe_open

    with safe_open(str(Path(path)), framework="numpy") as handle:
        return json.loads((handle.metadata() or {}).get("metadata", "{}"))
