"""The .wmatrix file: round trip, transform semantics, and a clear error for every kind of corruption."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from alignment_plugins.solvers import RidgeSolver
from alignment_plugins.wmatrix import FORMAT_VERSION, WMatrix, WMatrixFormatError, read_file

DX, DY = 12, 9


def _wmatrix(rng: np.random.Generator) -> WMatrix:
    x = rng.normal(size=(200, DX))
    maps = {}
    for pair in [(0, 0), (1, 1), (2, 1)]:
        a = rng.normal(size=(DX, DY))
        maps[pair] = RidgeSolver(regularization=1e-9).fit_arrays(x, x @ a + rng.normal(size=DY))
    return WMatrix(
        source={"name": "src", "fingerprint": "sha256:aa", "hidden_size": DX, "num_layers": 2},
        target={"name": "tgt", "fingerprint": "sha256:bb", "hidden_size": DY, "num_layers": 1},
        maps=maps,
        layer_map=[(0, 0), (1, 1), (2, 1)],
        best_pair=(1, 1),
        method="ridge",
        hyperparams={"regularization": 1e-9},
        anchors={"hash": "sha256:cc", "counts": {"train": 160, "validation": 20, "test": 20}},
        pair_metrics={"1->1": {"accuracy": 0.9, "semantic_preservation": 0.8, "reconstruction_error": 0.1}},
        cka=rng.random((3, 2)),
        cka_layers={"source": [0, 1, 2], "target": [0, 1]},
    )


@pytest.fixture
def saved(tmp_path: Path) -> tuple[WMatrix, Path]:
    wm = _wmatrix(np.random.default_rng(0))
    return wm, wm.save(tmp_path / "m.wmatrix")


def test_round_trip_preserves_maps_and_metadata(saved: tuple[WMatrix, Path]) -> None:
    wm, path = saved
    loaded = WMatrix.load(path)
    assert loaded.layer_map == wm.layer_map
    assert loaded.best_pair == (1, 1)
    assert loaded.accuracy == pytest.approx(0.9)
    assert loaded.semantic_preservation == pytest.approx(0.8)
    assert loaded.reconstruction_error == pytest.approx(0.1)
    assert loaded.source["fingerprint"] == "sha256:aa"
    x = np.random.default_rng(1).normal(size=(5, DX))
    for layer in (0, 1, 2):
        np.testing.assert_allclose(loaded.transform(x, layer=layer), wm.transform(x, layer=layer), rtol=1e-5,
                                   atol=1e-5)
    np.testing.assert_allclose(loaded.cka, wm.cka.astype(np.float32))


def test_transform_direction_has_no_mean_shift(saved: tuple[WMatrix, Path]) -> None:
    wm, _ = saved
    x = np.random.default_rng(2).normal(size=(3, DX))
    v = np.random.default_rng(3).normal(size=DX)
    expected = wm.transform(x + v) - wm.transform(x)
    np.testing.assert_allclose(np.broadcast_to(wm.transform(v, direction=True), expected.shape), expected, atol=1e-9)
    assert wm.target_layer(2) == 1
    with pytest.raises(ValueError, match="no map fitted for source layer 7"):
        wm.transform(x, layer=7)


@pytest.mark.parametrize("bad", [np.full(DX, np.nan), np.array(["a"] * DX)])
def test_transform_rejects_nan_and_non_numeric(saved: tuple[WMatrix, Path], bad: np.ndarray) -> None:
    wm, _ = saved
    with pytest.raises(ValueError):
        wm.transform(bad)


def test_transform_rejects_wrong_dimension(saved: tuple[WMatrix, Path]) -> None:
    wm, _ = saved
    with pytest.raises(ValueError, match="expected source dim 12"):
        wm.transform(np.zeros(DX + 1))


def test_truncated_file(saved: tuple[WMatrix, Path], tmp_path: Path) -> None:
    _, path = saved
    data = path.read_bytes()
    for cut in (4, 100, len(data) // 2, len(data) - 3):
        bad = tmp_path / f"cut{cut}.wmatrix"
        bad.write_bytes(data[:cut])
        with pytest.raises(WMatrixFormatError, match=r"truncated, corrupted|integrity"):
            WMatrix.load(bad)


def test_flipped_tensor_byte_fails_integrity(saved: tuple[WMatrix, Path], tmp_path: Path) -> None:
    _, path = saved
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    bad = tmp_path / "flip.wmatrix"
    bad.write_bytes(bytes(data))
    with pytest.raises(WMatrixFormatError, match="integrity"):
        WMatrix.load(bad)


def _rewrite_header(path: Path, out: Path, edit) -> None:
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    edit(header)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    out.write_bytes(struct.pack("<Q", len(raw)) + raw + data[8 + n :])


def test_hand_edited_metrics_fail_integrity(saved: tuple[WMatrix, Path], tmp_path: Path) -> None:
    _, path = saved

    def edit(header: dict) -> None:
        meta = json.loads(header["__metadata__"]["metadata"])
        meta["metrics"]["1->1"]["accuracy"] = 1.0
        header["__metadata__"]["metadata"] = json.dumps(meta)

    bad = tmp_path / "edited.wmatrix"
    _rewrite_header(path, bad, edit)
    with pytest.raises(WMatrixFormatError, match="integrity check failed"):
        WMatrix.load(bad)


def test_unsupported_version(saved: tuple[WMatrix, Path], tmp_path: Path) -> None:
    _, path = saved
    bad = tmp_path / "future.wmatrix"
    _rewrite_header(path, bad, lambda h: h["__metadata__"].update(format_version=str(FORMAT_VERSION + 1)))
    with pytest.raises(WMatrixFormatError, match="not supported"):
        WMatrix.load(bad)


def test_not_a_wmatrix(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    other = tmp_path / "other.safetensors"
    save_file({"w": np.zeros((2, 2), dtype=np.float32)}, str(other))
    with pytest.raises(WMatrixFormatError, match=r"not a \.wmatrix file"):
        WMatrix.load(other)
    garbage = tmp_path / "garbage.wmatrix"
    garbage.write_bytes(b"\x00" * 64)
    with pytest.raises(WMatrixFormatError):
        WMatrix.load(garbage)
    with pytest.raises(FileNotFoundError):
        WMatrix.load(tmp_path / "missing.wmatrix")


def test_pickle_is_never_loaded(tmp_path: Path) -> None:
    import pickle

    evil = tmp_path / "evil.wmatrix"
    evil.write_bytes(pickle.dumps({"weight": 1}))
    with pytest.raises(WMatrixFormatError):
        WMatrix.load(evil)


def test_wrong_shape_dtype_and_nan_are_rejected_even_with_valid_integrity(tmp_path: Path) -> None:
    """A writer bug (not tampering) producing bad tensors is caught by validation, not only by the digest."""
    from safetensors.numpy import save_file

    from alignment_plugins.formats import document_header

    wm = _wmatrix(np.random.default_rng(4))
    cases = {
        "shape": lambda t: t.__setitem__("pair.1.1.weight", np.zeros((DY, DX + 1), dtype=np.float32)),
        "dtype": lambda t: t.__setitem__("pair.1.1.mean_x", t["pair.1.1.mean_x"].astype(np.float64)),
        "nan": lambda t: t["pair.1.1.weight"].__setitem__((0, 0), np.nan),
        "missing": lambda t: t.pop("pair.0.0.scale_y"),
        "scale": lambda t: t["pair.2.1.scale_x"].__setitem__(0, 0.0),
    }
    for name, corrupt in cases.items():
        tensors = wm.tensors()
        corrupt(tensors)
        meta = wm.metadata()
        header = document_header("wmatrix", 1, meta, tensors)
        path = tmp_path / f"{name}.wmatrix"
        save_file(tensors, str(path), metadata=header)
        with pytest.raises(WMatrixFormatError):
            read_file(path)


def test_report_is_json_serializable(saved: tuple[WMatrix, Path]) -> None:
    wm, _ = saved
    report = json.loads(json.dumps(wm.report()))
    assert report["best"]["pair"] == [1, 1]
    assert report["format_version"] == FORMAT_VERSION
    assert "created_at" in report and report["library_version"]
