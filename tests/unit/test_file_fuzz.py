"""Hypothesis fuzzers over the engine's file loaders: a ``.wmatrix`` or ``.vpkg`` whose metadata was edited and whose
integrity digest was recomputed (so only the header's own validation stands between the edit and the caller), the
same files with bytes flipped or cut, and certificate documents of any JSON shape.

Each loader either returns or raises its own format error (WMatrixFormatError, VectorPackageError,
CertificateError); nothing else escapes, and the CLI (``inspect``, ``inspect-vector``, ``verify-certificate``)
exits 0, 1 or 2 with a one-line message, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alignment_plugins.__main__ import main
from alignment_plugins.certificate import CertificateError, verify_detail
from alignment_plugins.formats import integrity_digest
from alignment_plugins.vector_package import VectorPackage, VectorPackageError
from alignment_plugins.wmatrix import WMatrix, WMatrixFormatError

FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

#: Any JSON value, strings with NUL characters and lone surrogates included, floats with NaN and infinities.
TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=12)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


class RawJSON(str):
    """Metadata given as JSON text (for nesting deeper than ``json.dumps`` can write)."""


def deep_text(meta: dict[str, Any], depth: int) -> RawJSON:
    """`meta` as JSON text with a key "deep" holding `depth` nested arrays."""
    text = json.dumps(meta, ensure_ascii=True)
    return RawJSON(text[:-1] + ', "deep": ' + "[" * depth + "]" * depth + "}")


def _deep(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


def _wmatrix_bytes() -> bytes:
    from alignment_plugins.solvers import RidgeSolver

    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 6))
    y = x @ rng.standard_normal((6, 4))
    linear = RidgeSolver().fit_arrays(x, y)
    matrix = WMatrix(
        source={"name": "src-model", "hidden_size": 6, "num_layers": 3, "fingerprint": "fp-src"},
        target={"name": "tgt-model", "hidden_size": 4, "num_layers": 3, "fingerprint": "fp-tgt"},
        maps={(2, 1): linear}, layer_map=[(2, 1)], best_pair=(2, 1), method="ridge",
        anchors={"hash": "anchors-v1", "counts": {"train": 24, "validation": 4, "test": 4}},
        pair_metrics={"2->1": {"accuracy": 0.9, "reconstruction_error": 0.05, "semantic_preservation": 0.9}},
    )
    return matrix.to_bytes()


def _vpkg_bytes() -> bytes:
    vector = np.random.default_rng(1).standard_normal(6).astype(np.float32)
    return VectorPackage.create({2: vector}, source_model="src-model", source_fingerprint="fp-src", method="caa",
                                capability="formality", contrastive_data_hash="", extra={"note": "x"}).to_bytes()


WMATRIX, VPKG = _wmatrix_bytes(), _vpkg_bytes()


def resigned(data: bytes, edit: Any) -> bytes:
    """The document `data` with its JSON metadata edited by `edit(meta)` and its integrity digest recomputed (an
    unsignable edit, e.g. NaN, keeps the old digest and is written as JSON with NaN)."""
    from safetensors.numpy import load, save

    from alignment_plugins.formats import read_safetensors

    header, tensors = read_safetensors(data)
    meta = edit(json.loads(header["metadata"]))
    if isinstance(meta, RawJSON):
        return save(dict(load(data)), metadata={**header, "metadata": str(meta)})
    try:
        digest = integrity_digest(meta if isinstance(meta, dict) else {}, tensors)
        text = json.dumps(meta, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    except (TypeError, ValueError, RecursionError):
        digest, text = header["integrity"], json.dumps(meta, ensure_ascii=True)
    return save(dict(load(data)), metadata={**header, "metadata": text, "integrity": digest})


def edit_strategy(keys: list[str]) -> st.SearchStrategy:
    """An edit of a metadata dict: one key (known or new) set to any JSON value, or deleted, or the whole document
    replaced by another JSON value."""
    key = st.sampled_from(keys) | TEXT

    def set_key(k: str, v: Any):
        return lambda meta: {**meta, k: v}

    def drop_key(k: str):
        return lambda meta: {kk: vv for kk, vv in meta.items() if kk != k}

    def set_nested(k: str, inner: str, v: Any):
        return lambda meta: {**meta, k: {**meta[k], inner: v}} if isinstance(meta.get(k), dict) else meta

    return st.one_of(
        st.builds(set_key, key, JSON),
        st.builds(drop_key, key),
        st.builds(set_nested, st.sampled_from(keys), TEXT | st.sampled_from(["hidden_size", "name", "counts"]), JSON),
        JSON.map(lambda value: lambda meta: value),
        st.integers(60, 3000).map(lambda depth: lambda meta: deep_text(meta, depth)),
    )


def corrupted(data: bytes, flips: list[tuple[int, int]], cut: int | None) -> bytes:
    """`data` with bytes replaced at the given (position, value) pairs and optionally truncated."""
    buffer = bytearray(data)
    for position, value in flips:
        buffer[position % len(buffer)] = value
    return bytes(buffer[: cut % len(buffer)] if cut is not None else buffer)


def loads(load: Any, error: type[Exception]) -> bool:
    """True when `load()` returns, False when it raises `error`; any other exception propagates (the fuzz failure)."""
    try:
        load()
    except error:
        return False
    return True


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)  # an exception escaping here fails the test: the CLI must answer, not crash
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


# -------------------------------------------------------------------------------------------------- .wmatrix
WMATRIX_KEYS = sorted(json.loads(__import__("alignment_plugins.formats", fromlist=["x"]).read_safetensors(
    WMATRIX)[0]["metadata"]))


@FUZZ
@given(edit=edit_strategy(WMATRIX_KEYS))
def test_wmatrix_with_an_edited_header_and_a_valid_digest_is_loaded_or_refused(edit, tmp_path: Path, capsys):
    path = tmp_path / "edited.wmatrix"
    path.write_bytes(resigned(WMATRIX, edit))
    loaded = loads(lambda: WMatrix.load(path), WMatrixFormatError)
    code, err = _cli(["inspect", str(path)], capsys)
    assert code == (0 if loaded else 2), err
    assert loaded or err.startswith("error: "), err


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6),
       cut=st.none() | st.integers(0, 10**6))
def test_corrupted_wmatrix_bytes_are_refused_cleanly(flips, cut, tmp_path: Path):
    path = tmp_path / "corrupt.wmatrix"
    data = corrupted(WMATRIX, flips, cut)
    path.write_bytes(data)
    assert loads(lambda: WMatrix.load(path), WMatrixFormatError) or data != WMATRIX


def test_inspect_explains_an_edited_header_instead_of_a_traceback(tmp_path: Path, capsys):
    """Fault 5: a valid digest over a header whose structure is wrong (pairs as a number) used to escape as a
    TypeError from the loader."""
    path = tmp_path / "edited.wmatrix"
    path.write_bytes(resigned(WMATRIX, lambda meta: {**meta, "pairs": 5}))
    with pytest.raises(WMatrixFormatError, match="pairs must be a list"):
        WMatrix.load(path)
    code, err = _cli(["inspect", str(path)], capsys)
    assert code == 2 and "pairs must be a list of [source layer, target layer] pairs" in err
    path.write_bytes(resigned(WMATRIX, lambda meta: {**meta, "source": ["src-model"]}))
    code, err = _cli(["inspect", str(path)], capsys)
    assert code == 2 and "metadata 'source' must be an object" in err


def test_inspect_shows_missing_metrics_as_not_available(tmp_path: Path, capsys):
    path = tmp_path / "nulls.wmatrix"
    path.write_bytes(resigned(WMATRIX, lambda meta: {**meta, "anchors": {}, "metrics": {"2->1": {"accuracy": None}}}))
    assert main(["inspect", str(path)]) == 0
    assert "accuracy               n/a" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------------------ .vpkg
VPKG_KEYS = sorted(VectorPackage.from_bytes(VPKG).metadata)


@FUZZ
@given(edit=edit_strategy(VPKG_KEYS))
def test_vpkg_with_edited_metadata_and_a_valid_digest_is_loaded_or_refused(edit, tmp_path: Path, capsys):
    data = resigned(VPKG, edit)
    loaded = loads(lambda: VectorPackage.from_bytes(data), VectorPackageError)
    path = tmp_path / "edited.vpkg"
    path.write_bytes(data)
    code, err = _cli(["inspect-vector", str(path)], capsys)
    assert code == (0 if loaded else 2), err


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6),
       cut=st.none() | st.integers(0, 10**6))
def test_corrupted_vpkg_bytes_are_refused_cleanly(flips, cut):
    data = corrupted(VPKG, flips, cut)
    assert loads(lambda: VectorPackage.from_bytes(data), VectorPackageError) or data != VPKG


def test_deeply_nested_or_nan_package_metadata_is_a_package_error():
    """Fault 5: RecursionError and the digest's ValueError escaped the loader (a 500 behind the upload API)."""
    with pytest.raises(VectorPackageError, match="nested too deeply"):
        VectorPackage.from_bytes(resigned(VPKG, lambda meta: deep_text(meta, 5000)))
    with pytest.raises(VectorPackageError, match="nested too deeply"):
        VectorPackage.from_bytes(resigned(VPKG, lambda meta: {**meta, "extra": _deep(80)}))
    with pytest.raises(VectorPackageError, match="NaN"):
        VectorPackage.from_bytes(resigned(VPKG, lambda meta: {**meta, "extra": {"x": float("nan")}}))


# ---------------------------------------------------------------------------------------------- certificates
KEY = b"fuzz-key"


@FUZZ
@given(doc=JSON | st.fixed_dictionaries({"payload": JSON, "signature": JSON}, optional={"key_id": JSON,
                                                                                         "algorithm": JSON}))
def test_certificate_documents_of_any_shape_verify_or_are_refused(doc, tmp_path: Path, capsys):
    try:
        ok, reason = verify_detail(doc, KEY)
        assert isinstance(ok, bool) and isinstance(reason, str)
    except CertificateError:
        pass
    path, key = tmp_path / "cert.json", tmp_path / "key"
    key.write_bytes(KEY)
    path.write_text(json.dumps(doc))
    code, err = _cli(["verify-certificate", str(path), "--key-file", str(key)], capsys)
    assert code in (0, 1, 2), err


def test_a_deeply_nested_certificate_is_refused_with_a_message(tmp_path: Path, capsys):
    path, key = tmp_path / "cert.json", tmp_path / "key"
    key.write_bytes(KEY)
    path.write_text('{"payload": ' + "[" * 5000 + "]" * 5000 + ', "signature": "00"}')
    code, err = _cli(["verify-certificate", str(path), "--key-file", str(key)], capsys)
    assert code == 2 and "nested too deeply" in err
    assert verify_detail({"payload": {"a": _deep(5000)}, "signature": "0" * 64}, KEY)[0] is False
