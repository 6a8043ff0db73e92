"""alignment_plugins.formats: canonical JSON, JSON-safe values and safetensors documents (bytes and files)."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest

from alignment_plugins.formats import (
    canonical_json,
    document_header,
    finite_or_none,
    integrity_digest,
    json_safe,
    read_document,
    read_document_metadata,
    read_safetensors,
    safetensors_header,
)


class Bad(ValueError):
    """The error class a format module passes in."""


META = {"b": [1, 2.5], "a": "é", "n": None}
TENSORS = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.ones(3, dtype=np.float32)}


def _document(meta=META, tensors=TENSORS, fmt: str = "thing", version: int = 1) -> bytes:
    from safetensors.numpy import save

    return save(tensors, metadata=document_header(fmt, version, meta, tensors))


def _read(data: bytes, **kwargs):
    return read_document(data, format_name="thing", supported_versions=(1,), label="thing file", error=Bad,
                         origin="up", **kwargs)


def test_canonical_json_and_json_safe() -> None:
    assert canonical_json(META) == '{"a":"\\u00e9","b":[1,2.5],"n":null}'
    with pytest.raises(ValueError):
        canonical_json({"x": math.inf})
    value = {1: np.float32(0.5), "nan": math.nan, "arr": np.array([1.0, np.inf]), "t": (np.int64(3), np.bool_(True))}
    assert json_safe(value) == {"1": 0.5, "nan": None, "arr": [1.0, None], "t": [3, True]}
    assert canonical_json(json_safe(value))  # now serializable
    assert finite_or_none(np.float64(-math.inf)) is None and finite_or_none(2) == 2.0


def test_document_round_trip_bytes_and_file(tmp_path: Path) -> None:
    data = _document()
    meta, tensors = _read(data)
    assert meta == META
    np.testing.assert_array_equal(tensors["w"], TENSORS["w"])
    path = tmp_path / "doc.thing"
    path.write_bytes(data)
    meta_file, tensors_file = read_document(path, format_name="thing", supported_versions=(1,), label="thing file",
                                            error=Bad)
    assert meta_file == META and set(tensors_file) == {"w", "b"}
    assert read_document_metadata(path) == META
    header, _ = read_safetensors(data)
    assert header["integrity"] == integrity_digest(META, TENSORS) and header["format_version"] == "1"
    assert safetensors_header(data)["w"]["shape"] == [2, 3]


def test_integrity_covers_metadata_and_tensor_bytes() -> None:
    base = integrity_digest(META, TENSORS)
    assert integrity_digest(dict(reversed(list(META.items()))), TENSORS) == base  # key order does not matter
    assert integrity_digest({**META, "n": 0}, TENSORS) != base
    flipped = {**TENSORS, "b": TENSORS["b"].copy()}
    flipped["b"][0] = 2.0
    assert integrity_digest(META, flipped) != base
    assert integrity_digest(META, {**TENSORS, "b": TENSORS["b"].astype(np.float64)}) != base  # dtype counts


def _rewrite(data: bytes, edit) -> bytes:
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    edit(header["__metadata__"])
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + data[8 + n :]


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (lambda d: d[:5], r"up: not a thing file \(truncated: 5 bytes\)"),
        (lambda d: d[:40], r"not a readable thing file \(truncated or not safetensors"),
        (lambda d: d[:-3], r"not a readable thing file \(truncated, corrupted"),
        (lambda d: b"\x08" + b"\x00" * 7 + b"[1, 2]  ", "not a JSON object"),
        (lambda d: b"\x08" + b"\x00" * 7 + b"{nojson}", "not valid JSON"),
        (lambda d: _rewrite(d, lambda m: m.update(format="other")), "header format is 'other', expected 'thing'"),
        (lambda d: _rewrite(d, lambda m: m.update(format_version="2")), r"version 2 is not supported.*upgrade"),
        (lambda d: _rewrite(d, lambda m: m.update(format_version="x")), "bad format_version 'x'"),
        (lambda d: _rewrite(d, lambda m: m.pop("metadata")), "metadata header is missing"),
        (lambda d: _rewrite(d, lambda m: m.update(metadata='{"a": 1}')), "integrity check failed"),
        (lambda d: d[:-1] + bytes([d[-1] ^ 1]), "integrity check failed"),
    ],
)
def test_bad_documents_raise_the_callers_error(corrupt, message: str) -> None:
    with pytest.raises(Bad, match=message):
        _read(corrupt(_document()))
