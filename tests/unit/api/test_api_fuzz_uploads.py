"""Hypothesis over the upload endpoints: vector packages whose metadata holds any JSON (NUL characters, lone
surrogates, NaN, deep nesting, large values) with a valid digest, and .wmatrix files with edited headers or flipped
bytes. Every answer is 201 or a 4xx with the error shape (0 crashes), and media storage gains exactly the stored
file on a 201 and nothing otherwise (0 orphan files)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from api_helpers import LAYERS, SRC_DIM, error_of, write_wmatrix
from django.core.files.base import ContentFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=10)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats() | TEXT
    | st.integers(0, 80 << 10).map(lambda n: "x" * n),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3)
    | st.integers(50, 200).map(lambda depth: json.loads("[" * depth + "]" * depth)),
    max_leaves=8,
)


def _media(root: Any) -> set[Path]:
    root = Path(root)
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def _resigned(data: bytes, meta: Any) -> bytes:
    """`data` (a safetensors document) with metadata `meta` and a recomputed digest where one can be computed."""
    from safetensors.numpy import load, save

    from alignment_plugins.formats import canonical_json, integrity_digest, read_safetensors

    header, tensors = read_safetensors(data)
    try:
        text, digest = canonical_json(meta), integrity_digest(meta if isinstance(meta, dict) else {}, tensors)
    except (TypeError, ValueError, RecursionError):
        text, digest = json.dumps(meta), header["integrity"]
    return save(dict(load(data)), metadata={**header, "metadata": text, "integrity": digest})


def _package_meta() -> tuple[bytes, dict]:
    from alignment_plugins.vector_package import VectorPackage

    vector = np.random.default_rng(7).standard_normal(SRC_DIM).astype(np.float32)
    package = VectorPackage.create({2: vector}, source_model="src-model", source_fingerprint="fp-src", method="caa",
                                   capability="formality", contrastive_data_hash="", num_layers=LAYERS)
    return package.to_bytes(), dict(package.metadata)


def _check(response, before: set[Path], after: set[Path]) -> None:
    assert response.status_code < 500, response.content[:300]
    if response.status_code == 201:
        assert len(after - before) == 1 and before <= after
    else:
        error_of(response)
        assert after == before, sorted(after - before)


@FUZZ
@given(key=st.sampled_from(["extra", "description", "capability", "domain", "transfer", "grade"]) | TEXT,
       value=JSON)
def test_vector_uploads_with_any_metadata_answer_4xx_or_201_and_leave_no_orphans(client_for, seller, archs,
                                                                                 settings, key, value):
    data, meta = _package_meta()
    body = _resigned(data, {**meta, key: value})
    before = _media(settings.MEDIA_ROOT)
    form = {"name": "Fuzzed", "source_model": "src-model", "capability_domain": "style", "grade": "A", "price": "1",
            "vector": ContentFile(body, name="fuzz.vpkg")}
    response = client_for(seller).post("/api/v1/vectors/", form, format="multipart")
    _check(response, before, _media(settings.MEDIA_ROOT))


@pytest.fixture
def wmatrix_bytes(tmp_path_factory) -> bytes:
    return write_wmatrix(tmp_path_factory.mktemp("fuzz") / "m.wmatrix", "fuzz-src", "fuzz-tgt").read_bytes()


@FUZZ
@given(key=st.sampled_from(["source", "target", "metrics", "anchors", "pairs", "best_pair", "layer_map", "method",
                            "training", "probe", "version"]) | TEXT,
       value=JSON, flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=2))
def test_matrix_uploads_with_edited_headers_answer_4xx_or_201_and_leave_no_orphans(client_for, user, settings,
                                                                                   wmatrix_bytes, key, value, flips):
    from alignment_plugins.formats import read_safetensors

    meta = json.loads(read_safetensors(wmatrix_bytes)[0]["metadata"])
    body = bytearray(_resigned(wmatrix_bytes, {**meta, key: value}))
    for position, byte in flips:
        body[position % len(body)] = byte
    before = _media(settings.MEDIA_ROOT)
    form = {"name": "fuzzed", "file": ContentFile(bytes(body), name="fuzz.wmatrix")}
    response = client_for(user).post("/api/v1/wmatrices/", form, format="multipart")
    _check(response, before, _media(settings.MEDIA_ROOT))
