"""Capability-vector uploads: each bad input is refused with a message saying what is wrong; good ones round-trip."""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np
import pytest
from marketplace_helpers import D_SOURCE, vector_bytes

from marketplace.catalog.vector_files import read_package, validate_vector_upload
from marketplace.errors import ValidationFailed

GOOD = np.linspace(-1.0, 1.0, D_SOURCE)


def _raw_safetensors(header: dict[str, Any], payload: bytes) -> bytes:
    body = json.dumps(header).encode()
    return struct.pack("<Q", len(body)) + body + payload


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"not a safetensors file at all", "not a safetensors file"),
        (vector_bytes(GOOD)[:-5], "not a valid safetensors file"),
        (struct.pack("<Q", 4) + b"{]}x", "not valid JSON"),
        (vector_bytes(np.arange(D_SOURCE + 1)), f"dimension {D_SOURCE + 1} but the source model's hidden size is"),
        (vector_bytes(np.r_[GOOD[:-1], np.nan]), "NaN or infinite"),
        (vector_bytes(np.r_[GOOD[:-1], np.inf]), "NaN or infinite"),
        (vector_bytes(np.r_[GOOD[:-1], 1e300], dtype=np.float64), "beyond the float32 range"),
        (vector_bytes(np.zeros(D_SOURCE)), "all zeros"),
        (vector_bytes(np.arange(D_SOURCE), dtype=np.int32), "dtype I32; use float16, float32 or float64"),
        (_raw_safetensors({"vector": {"dtype": "BF16", "shape": [D_SOURCE], "data_offsets": [0, 2 * D_SOURCE]}},
                          bytes(2 * D_SOURCE)), "dtype BF16"),
        (vector_bytes(np.ones((2, D_SOURCE))), "shape (2, 8); a vector must be (d,) or (1, d)"),
        (vector_bytes(GOOD, name="a", b=np.ones(D_SOURCE, dtype=np.float32)), "holds 2 tensors (a, b)"),
        (_raw_safetensors({"__metadata__": {"x": "y"}}, b""), "holds no tensor"),
    ],
    ids=["empty", "garbage", "truncated", "bad-header", "wrong-dim", "nan", "inf", "f32-overflow", "zeros",
         "int-dtype", "bf16", "matrix", "several-tensors", "no-tensor"],
)
def test_bad_uploads_are_refused_with_a_clear_message(data: bytes, message: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        validate_vector_upload(data, expected_dim=D_SOURCE)
    assert message in str(info.value)
    assert info.value.status == 400 and info.value.code == "invalid"


def test_oversized_upload_is_refused_before_parsing(settings: Any) -> None:
    settings.MAX_VECTOR_UPLOAD_BYTES = 64
    data = vector_bytes(GOOD)
    with pytest.raises(ValidationFailed, match=f"{len(data)} bytes; the limit is 64 bytes"):
        validate_vector_upload(data, expected_dim=D_SOURCE)


def test_not_bytes_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="must be bytes"):
        validate_vector_upload("text", expected_dim=D_SOURCE)  # type: ignore[arg-type]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shape", ["flat", "row"])
def test_good_uploads_round_trip(dtype: Any, shape: str) -> None:
    vector = GOOD if shape == "flat" else GOOD[None, :]
    out = validate_vector_upload(vector_bytes(vector, dtype=dtype), expected_dim=D_SOURCE)
    assert out.dtype == np.float32 and out.shape == (D_SOURCE,)
    np.testing.assert_allclose(out, GOOD.astype(dtype).astype(np.float32))


def test_vector_key_is_chosen_among_several_tensors() -> None:
    data = vector_bytes(GOOD, extra=np.ones(3, dtype=np.float32))
    np.testing.assert_allclose(validate_vector_upload(data, expected_dim=D_SOURCE), GOOD.astype(np.float32))


@pytest.mark.django_db
def test_listing_stores_float32_file_with_digest(make_listing: Any) -> None:
    import hashlib

    vector = np.linspace(0.5, 4.0, D_SOURCE)
    listing = make_listing(vector=vector)
    stored = read_package(listing.vector_file)
    np.testing.assert_array_equal(stored.vector(1), vector.astype(np.float32))
    assert listing.vector_dim == D_SOURCE
    assert listing.vector_norm == pytest.approx(float(np.linalg.norm(vector.astype(np.float32))), rel=1e-6)
    extra = stored.metadata["extra"]
    assert listing.vector_sha256 == hashlib.sha256(vector.astype("<f4").tobytes()).hexdigest() == extra["sha256"]
    assert extra["listing"] == listing.public_id and stored.layers == [1]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "message"),
    [({"layer": 4}, "out of range"), ({"layer": -1}, "out of range"), ({"price": "-1"}, "price must be"),
     ({"grade": "Z"}, "grade must be"), ({"name": " "}, "name must not be empty")],
)
def test_listing_rules(make_listing: Any, fields: dict[str, Any], message: str) -> None:
    from marketplace.catalog.models import VectorListing

    with pytest.raises(ValidationFailed, match=message):
        make_listing(**fields)
    assert not VectorListing.objects.exists()


@pytest.mark.django_db
def test_listing_refuses_metadata_only_model(make_listing: Any, arch: Any) -> None:
    gpt = arch("gpt-x", D_SOURCE, 3, support_level="metadata")
    with pytest.raises(ValidationFailed, match="metadata-only"):
        make_listing(source_model=gpt)
