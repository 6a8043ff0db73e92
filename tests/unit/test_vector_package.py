"""Vector packages: round trip, a clear VectorPackageError for every kind of bad file, llama.cpp GGUF export."""

from __future__ import annotations

import json
import pickle
import struct
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import pytest

from alignment_plugins import vector_package as vp
from alignment_plugins.__main__ import main
from alignment_plugins.formats import integrity_digest
from alignment_plugins.vector_package import (
    FORMAT_VERSION,
    MAX_FILE_BYTES,
    VectorPackage,
    VectorPackageError,
    content_hash,
    export_control_vector,
    llama_cpp_model_hint,
    read_control_vector,
)

D = 16
PAIRS = [("I always tell the truth.", "I often lie."), ("Honesty matters.", "Deception pays.")]


def _package(layers: tuple[int, ...] = (3, 5, 7), **overrides: Any) -> VectorPackage:
    rng = np.random.default_rng(0)
    kwargs: dict[str, Any] = dict(
        source_model="smollm2-135m-instruct", source_fingerprint="sha256:" + "a" * 64, method="caa",
        capability="honesty", domain="ethics", contrastive_data_hash=content_hash(PAIRS),
        recommended_coefficient=4.0, grade="B", token_position="last", pooling="last",
        special_tokens_excluded=True, num_layers=30,
        transfer={"wmatrix_hash": "sha256:" + "b" * 64, "source_model": "gemma3-270m", "norm_mode": "native",
                  "norms": {"3": 1.5}},
        extra={"notes": "unit test"},
    )
    kwargs.update(overrides)
    return VectorPackage.create({layer: rng.normal(size=D) for layer in layers}, **kwargs)


@pytest.fixture
def saved(tmp_path: Path) -> tuple[VectorPackage, Path]:
    package = _package()
    return package, package.save(tmp_path / "honesty.vpkg")


def _write_raw(path: Path, meta: dict[str, Any], tensors: dict[str, np.ndarray], *, integrity: str | None = None,
               fmt: str = "vector-package", version: str = "1") -> Path:
    """Write a file with a *valid* digest over possibly invalid content (a writer bug, not tampering)."""
    from safetensors.numpy import save_file

    header = {"format": fmt, "format_version": version, "metadata": json.dumps(meta),
              "integrity": integrity or integrity_digest(meta, tensors)}
    save_file(tensors, str(path), metadata=header)
    return path


def _rewrite_header(path: Path, out: Path, edit) -> Path:
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    edit(header)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    out.write_bytes(struct.pack("<Q", len(raw)) + raw + data[8 + n :])
    return out


# --------------------------------------------------------------------------------------------- round trip


def test_round_trip_multiple_layers(saved: tuple[VectorPackage, Path]) -> None:
    package, path = saved
    loaded = VectorPackage.load(path)
    assert loaded.layers == [3, 5, 7]
    assert loaded.metadata == package.metadata
    for layer in (3, 5, 7):
        np.testing.assert_array_equal(loaded.vectors[layer], package.vectors[layer])
        assert loaded.vectors[layer].dtype == np.float32
    assert loaded.metadata["transfer"]["norm_mode"] == "native"
    assert loaded.metadata["format"] == "vector-package" and loaded.metadata["format_version"] == FORMAT_VERSION
    assert loaded.metadata["library_version"] and loaded.metadata["created_at"]
    assert not list(path.parent.glob(".*.tmp"))  # atomic write leaves no temp file


def test_vector_norms_and_summary(saved: tuple[VectorPackage, Path]) -> None:
    package, _ = saved
    np.testing.assert_array_equal(package.vector(), package.vectors[3])  # first layer
    np.testing.assert_array_equal(package.vector(7), package.vectors[7])
    package.vector()[0] = 1e6  # a copy: the package is not mutated
    assert package.vectors[3][0] != 1e6
    with pytest.raises(VectorPackageError, match=r"no vector for layer 4; the package has layers \[3, 5, 7\]"):
        package.vector(4)
    norms = package.norms()
    assert norms[5] == pytest.approx(float(np.linalg.norm(package.vectors[5])))
    summary = json.loads(json.dumps(package.to_dict()))
    assert summary["norms"]["5"] == pytest.approx(norms[5])
    assert summary["capability"] == "honesty" and summary["num_vectors"] == 3
    single = _package(layers=(9,))
    np.testing.assert_array_equal(single.vector(), single.vectors[9])


def test_from_bytes_accepts_an_upload(saved: tuple[VectorPackage, Path]) -> None:
    package, path = saved
    loaded = VectorPackage.from_bytes(path.read_bytes(), "upload.vpkg")
    assert loaded.metadata == package.metadata
    assert VectorPackage.from_bytes(bytearray(package.to_bytes())).layers == [3, 5, 7]
    with pytest.raises(VectorPackageError, match="empty"):
        VectorPackage.from_bytes(b"")
    with pytest.raises(VectorPackageError, match="must be bytes"):
        VectorPackage.from_bytes("not bytes")  # type: ignore[arg-type]
    with pytest.raises(VectorPackageError, match="truncated"):
        VectorPackage.from_bytes(b"\x01\x02")


def test_content_hash_is_stable_and_order_sensitive() -> None:
    h = content_hash(PAIRS)
    assert h.startswith("sha256:") and len(h) == 7 + 64
    assert content_hash([list(p) for p in PAIRS]) == h  # tuples and lists hash alike
    assert content_hash(iter(PAIRS)) == h
    assert content_hash(list(reversed(PAIRS))) != h
    assert content_hash(["a", "b"]) != content_hash(["ab"])
    assert content_hash([{"b": 1, "a": 2}]) == content_hash([{"a": 2, "b": 1}])
    with pytest.raises(TypeError):
        content_hash("a single string")
    with pytest.raises(TypeError):
        content_hash([float("nan")])


def test_constructor_validates_in_memory() -> None:
    with pytest.raises(VectorPackageError, match="vector for layer 2 is all zeros"):
        VectorPackage({2: np.zeros(D)}, dict(_package().metadata, layers=[2]))
    with pytest.raises(VectorPackageError, match="layer keys must be non-negative integers"):
        VectorPackage({"2": np.ones(D)}, {})
    with pytest.raises(VectorPackageError, match="at least one layer vector"):
        VectorPackage({}, {})
    with pytest.raises(VectorPackageError, match="different dimensions"):
        VectorPackage({2: np.ones(D), 3: np.ones(D + 1)}, dict(_package().metadata, layers=[2, 3]))
    with pytest.raises(VectorPackageError, match="NaN"):
        VectorPackage({2: np.full(D, np.nan)}, {})
    with pytest.raises(VectorPackageError, match="non-float"):
        VectorPackage({2: np.arange(D)}, {})
    with pytest.raises(VectorPackageError, match="lacks required keys"):
        VectorPackage({2: np.ones(D)}, {"source_model": "x"})
    with pytest.raises(VectorPackageError, match="grade must be a string or null"):
        _package(grade=3)
    with pytest.raises(VectorPackageError, match="norm_mode"):
        _package(transfer={"norm_mode": "weird"})
    with pytest.raises(VectorPackageError, match="does not exist in a model with 30 blocks"):
        _package(layers=(31,))
    meta = dict(_package().metadata)
    meta["colour"] = "blue"
    with pytest.raises(VectorPackageError, match=r"unknown metadata keys.*extra"):
        VectorPackage(dict(_package().vectors), meta)
    assert _package(method="some-new-method", grade=None).metadata["method"] == "some-new-method"


# ---------------------------------------------------------------------------------------------- bad files


def test_missing_and_oversize_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(VectorPackageError, match="no such vector package file"):
        VectorPackage.load(tmp_path / "missing.vpkg")
    with pytest.raises(VectorPackageError, match="no such"):
        VectorPackage.load(tmp_path)  # a directory is not a file
    big = tmp_path / "big.vpkg"
    big.write_bytes(b"\0" * 64)
    monkeypatch.setattr(vp, "MAX_FILE_BYTES", 32)
    with pytest.raises(VectorPackageError, match="exceeds the 32-byte limit"):
        VectorPackage.load(big)
    with pytest.raises(VectorPackageError, match="exceeds"):
        VectorPackage.from_bytes(b"\0" * 64)
    assert MAX_FILE_BYTES == 64 << 20


def test_truncated_file(saved: tuple[VectorPackage, Path], tmp_path: Path) -> None:
    _, path = saved
    data = path.read_bytes()
    for cut in (0, 4, 8, 100, len(data) // 2, len(data) - 3):
        bad = tmp_path / f"cut{cut}.vpkg"
        bad.write_bytes(data[:cut])
        with pytest.raises(VectorPackageError, match=r"empty|truncated"):
            VectorPackage.load(bad)


def test_garbage_pickle_and_other_safetensors(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    evil = tmp_path / "evil.vpkg"
    evil.write_bytes(pickle.dumps({"layer.3": np.ones(D)}))
    with pytest.raises(VectorPackageError, match="not a readable vector package"):
        VectorPackage.load(evil)
    garbage = tmp_path / "garbage.vpkg"
    garbage.write_bytes(b"\x10" + b"\x00" * 7 + b"{not json}" + b"\x00" * 6)
    with pytest.raises(VectorPackageError, match="not a readable vector package"):
        VectorPackage.load(garbage)
    other = tmp_path / "other.safetensors"
    save_file({"vector": np.ones(D, dtype=np.float32)}, str(other))
    with pytest.raises(VectorPackageError, match=r"not a vector package \(header format is None"):
        VectorPackage.load(other)


def test_wrong_format_tag_and_version(saved: tuple[VectorPackage, Path], tmp_path: Path) -> None:
    _, path = saved
    wm = _rewrite_header(path, tmp_path / "wm.vpkg", lambda h: h["__metadata__"].update(format="wmatrix"))
    with pytest.raises(VectorPackageError, match="header format is 'wmatrix'"):
        VectorPackage.load(wm)
    future = _rewrite_header(path, tmp_path / "future.vpkg",
                             lambda h: h["__metadata__"].update(format_version=str(FORMAT_VERSION + 1)))
    with pytest.raises(VectorPackageError, match=r"format version 2 is not supported.*upgrade"):
        VectorPackage.load(future)
    bad = _rewrite_header(path, tmp_path / "bad.vpkg", lambda h: h["__metadata__"].update(format_version="x"))
    with pytest.raises(VectorPackageError, match="bad format_version"):
        VectorPackage.load(bad)
    nometa = _rewrite_header(path, tmp_path / "nometa.vpkg", lambda h: h["__metadata__"].pop("metadata"))
    with pytest.raises(VectorPackageError, match="metadata header is missing"):
        VectorPackage.load(nometa)


def test_flipped_tensor_byte_fails_integrity(saved: tuple[VectorPackage, Path], tmp_path: Path) -> None:
    _, path = saved
    data = bytearray(path.read_bytes())
    data[-10] ^= 0x01
    bad = tmp_path / "flip.vpkg"
    bad.write_bytes(bytes(data))
    with pytest.raises(VectorPackageError, match="integrity check failed"):
        VectorPackage.load(bad)


@pytest.mark.parametrize(("key", "value"), [("recommended_coefficient", 40.0), ("grade", "A"),
                                            ("capability", "helpfulness"), ("hidden_size", 8)])
def test_hand_edited_metadata_fails_integrity(saved: tuple[VectorPackage, Path], tmp_path: Path, key: str,
                                              value: Any) -> None:
    _, path = saved

    def edit(header: dict) -> None:
        meta = json.loads(header["__metadata__"]["metadata"])
        meta[key] = value
        header["__metadata__"]["metadata"] = json.dumps(meta)

    bad = _rewrite_header(path, tmp_path / "edited.vpkg", edit)
    with pytest.raises(VectorPackageError, match="integrity check failed"):
        VectorPackage.load(bad)


def _bad_cases() -> dict[str, tuple[Any, str]]:
    """name -> (corruption of (meta, tensors), expected message) for files whose digest is valid."""

    def set_meta(key: str, value: Any):
        return lambda m, t: m.__setitem__(key, value)

    def set_tensor(name: str, value: np.ndarray):
        return lambda m, t: t.__setitem__(name, value)

    return {
        "missing_key": (lambda m, t: m.pop("capability"), r"lacks required keys \['capability'\]"),
        "missing_two": (lambda m, t: (m.pop("grade"), m.pop("pooling")), r"lacks required keys \['grade', 'pooling'\]"),
        "format_tag": (set_meta("format", "wmatrix"), "metadata format is 'wmatrix'"),
        "meta_version": (set_meta("format_version", 9), "format version 9 is not supported"),
        "hidden_size": (set_meta("hidden_size", -1), "hidden_size must be a positive integer"),
        "layers_type": (set_meta("layers", "3,5,7"), "'layers' must be a non-empty list"),
        "layers_neg": (set_meta("layers", [-1, 5, 7]), "non-negative integers"),
        "coefficient": (set_meta("recommended_coefficient", "strong"), "recommended_coefficient must be a finite"),
        "special_tokens": (set_meta("special_tokens_excluded", "yes"), "special_tokens_excluded must be true or false"),
        "source_model": (set_meta("source_model", ""), "'source_model' must be a non-empty string"),
        "data_hash": (set_meta("contrastive_data_hash", "sha256:xyz"), "not 'sha256:' \\+ 64 hex"),
        "extra": (set_meta("extra", [1]), "'extra' must be an object"),
        "metadata_list": (lambda m, t: (m.clear(),), "lacks required keys"),
        "missing_tensor": (lambda m, t: t.pop("layer.5"), r"do not match the metadata layers \[3, 5, 7\]; missing"),
        "extra_tensor": (set_tensor("layer.9", np.ones(D, np.float32)), r"unexpected \['layer.9'\]"),
        "renamed_tensor": (lambda m, t: t.__setitem__("vector", t.pop("layer.7")), "missing.*unexpected"),
        "shape": (set_tensor("layer.5", np.ones(D + 1, np.float32)), r"shape \(17,\), expected \(16,\)"),
        "shape_2d": (set_tensor("layer.5", np.ones((2, D), np.float32)), r"shape \(2, 16\)"),
        "int_dtype": (set_tensor("layer.5", np.ones(D, np.int32)), "non-float dtype int32"),
        "f64_dtype": (set_tensor("layer.5", np.ones(D, np.float64)), "dtype float64, expected float32"),
        "nan": (lambda m, t: t["layer.3"].__setitem__(0, np.nan), "layer.3 has NaN or infinite"),
        "inf": (lambda m, t: t["layer.3"].__setitem__(0, np.inf), "NaN or infinite"),
        "zero": (set_tensor("layer.7", np.zeros(D, np.float32)), "layer.7 is all zeros"),
        "transfer": (set_meta("transfer", "w"), "'transfer' must be an object"),
        "unknown_key": (set_meta("price", 3), r"unknown metadata keys \['price'\]"),
    }


@pytest.mark.parametrize("case", sorted(_bad_cases()))
def test_invalid_content_is_rejected_even_with_valid_integrity(tmp_path: Path, case: str) -> None:
    corrupt, message = _bad_cases()[case]
    package = _package()
    meta = json.loads(json.dumps(package.metadata))
    tensors = {name: array.copy() for name, array in package.tensors().items()}
    corrupt(meta, tensors)
    path = _write_raw(tmp_path / f"{case}.vpkg", meta, tensors)
    with pytest.raises(VectorPackageError, match=message) as info:
        VectorPackage.load(path)
    assert str(path) in str(info.value)
    with pytest.raises(VectorPackageError, match=message):
        VectorPackage.from_bytes(path.read_bytes(), "upload")


def test_metadata_that_is_not_an_object(tmp_path: Path) -> None:
    tensors = _package().tensors()
    path = _write_raw(tmp_path / "list.vpkg", [], tensors, integrity=integrity_digest({}, tensors))  # type: ignore[arg-type]
    with pytest.raises(VectorPackageError, match="metadata must be a JSON object"):
        VectorPackage.load(path)


# ------------------------------------------------------------------------------------------ GGUF export


def _field(reader: gguf.GGUFReader, key: str) -> Any:
    field = reader.get_field(key)
    assert field is not None, key
    return field.contents()


def test_gguf_export_matches_repeng_layout(saved: tuple[VectorPackage, Path], tmp_path: Path) -> None:
    package, _ = saved
    out = export_control_vector(package, tmp_path / "cv" / "honesty.gguf", model_hint="llama")
    reader = gguf.GGUFReader(str(out))
    assert _field(reader, "general.architecture") == "controlvector"
    assert _field(reader, "controlvector.model_hint") == "llama"
    assert _field(reader, "controlvector.layer_count") == 3
    assert reader.get_field("controlvector.layer_count").types == [gguf.GGUFValueType.UINT32]
    names = [t.name for t in reader.tensors]
    assert names == ["direction.2", "direction.4", "direction.6"]  # package layer L -> direction.{L-1}
    for tensor in reader.tensors:
        assert tensor.tensor_type == gguf.GGMLQuantizationType.F32
        assert [int(x) for x in tensor.shape] == [D]
        layer = int(tensor.name.split(".")[1]) + 1
        np.testing.assert_array_equal(np.asarray(tensor.data), package.vectors[layer])
    hint, vectors = read_control_vector(out)
    assert hint == "llama" and sorted(vectors) == [3, 5, 7]
    for layer, vector in vectors.items():
        np.testing.assert_array_equal(vector, package.vectors[layer])
    _, raw = read_control_vector(out, gguf_indices=True)
    assert sorted(raw) == [2, 4, 6]
    assert not list(out.parent.glob(".*.tmp"))


def test_gguf_coefficient_scaling(saved: tuple[VectorPackage, Path], tmp_path: Path) -> None:
    package, _ = saved
    _, vectors = read_control_vector(export_control_vector(package, tmp_path / "x.gguf", coefficient=-2.5))
    for layer, vector in vectors.items():
        np.testing.assert_allclose(vector, -2.5 * package.vectors[layer], rtol=1e-6)
    for bad in (0.0, float("nan"), float("inf"), "2"):
        with pytest.raises(VectorPackageError, match="coefficient must be a finite non-zero number"):
            export_control_vector(package, tmp_path / "y.gguf", coefficient=bad)  # type: ignore[arg-type]
    with pytest.raises(VectorPackageError, match="overflows float32"):
        export_control_vector(package, tmp_path / "y.gguf", coefficient=1e39)
    assert not (tmp_path / "y.gguf").exists()


def test_gguf_rejects_layers_0_and_1(tmp_path: Path) -> None:
    with pytest.raises(VectorPackageError, match="layer 0 is the embedding output"):
        export_control_vector(_package(layers=(0, 4)), tmp_path / "a.gguf")
    with pytest.raises(VectorPackageError, match=r"layer 1 \(output of block 0\) would be direction.0"):
        export_control_vector({1: np.ones(D), 4: np.ones(D)}, tmp_path / "b.gguf", model_hint="llama")
    assert not list(tmp_path.iterdir())
    export_control_vector({2: np.ones(D)}, tmp_path / "c.gguf", model_hint="qwen2")
    assert read_control_vector(tmp_path / "c.gguf", gguf_indices=True)[1].keys() == {1}


def test_gguf_plain_vectors_and_hints(tmp_path: Path) -> None:
    with pytest.raises(VectorPackageError, match="model_hint is required"):
        export_control_vector({3: np.ones(D)}, tmp_path / "a.gguf")
    with pytest.raises(VectorPackageError, match="all zeros"):
        export_control_vector({3: np.zeros(D)}, tmp_path / "a.gguf", model_hint="llama")
    with pytest.raises(VectorPackageError, match="different dimensions"):
        export_control_vector({3: np.ones(D), 4: np.ones(D + 1)}, tmp_path / "a.gguf", model_hint="llama")
    with pytest.raises(VectorPackageError, match="expected a VectorPackage"):
        export_control_vector([np.ones(D)], tmp_path / "a.gguf", model_hint="llama")  # type: ignore[arg-type]
    assert llama_cpp_model_hint("smollm2-135m-instruct") == "llama"
    assert llama_cpp_model_hint("gemma3-270m") == "gemma3"
    assert llama_cpp_model_hint("qwen2.5-coder-0.5b-instruct") == "qwen2"
    assert llama_cpp_model_hint("llama") == "llama"
    assert llama_cpp_model_hint("Qwen3-8B") == "qwen3"
    assert llama_cpp_model_hint("/models/gemma3_text") == "gemma3"
    for name in ("all-minilm-l6-v2", "gpt-4", "claude-3-opus"):
        with pytest.raises(VectorPackageError, match=r"no llama.cpp decoder architecture"):
            llama_cpp_model_hint(name)
    with pytest.raises(VectorPackageError, match="pass an explicit model hint"):
        llama_cpp_model_hint("mystery-model")
    gemma = _package(source_model="gemma3-270m", num_layers=None)
    assert read_control_vector(export_control_vector(gemma, tmp_path / "g.gguf"))[0] == "gemma3"
    odd = _package(source_model="mystery-model")
    with pytest.raises(VectorPackageError, match="explicit model hint"):
        export_control_vector(odd, tmp_path / "m.gguf")
    assert read_control_vector(export_control_vector(odd, tmp_path / "m.gguf", model_hint="qwen3"))[0] == "qwen3"


def test_read_control_vector_rejects_bad_files(tmp_path: Path, saved: tuple[VectorPackage, Path]) -> None:
    _, package_path = saved
    with pytest.raises(VectorPackageError, match="no such control-vector file"):
        read_control_vector(tmp_path / "missing.gguf")
    with pytest.raises(VectorPackageError, match="not a readable GGUF"):
        read_control_vector(package_path)
    good = export_control_vector({4: np.ones(D)}, tmp_path / "good.gguf", model_hint="llama")
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(good.read_bytes()[:-20])
    with pytest.raises(VectorPackageError, match="not a readable GGUF"):
        read_control_vector(cut)

    def write(name: str, arch: str, tensors: dict[str, np.ndarray], hint: str | None = "llama") -> Path:
        path = tmp_path / name
        writer = gguf.GGUFWriter(str(path), arch)
        if hint is not None:
            writer.add_string(f"{arch}.model_hint", hint)
        for key, value in tensors.items():
            writer.add_tensor(key, value)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        return path

    ones = np.ones(D, np.float32)
    with pytest.raises(VectorPackageError, match=r"general.architecture is 'llama'"):
        read_control_vector(write("model.gguf", "llama", {"direction.1": ones}))
    with pytest.raises(VectorPackageError, match=r"missing controlvector.model_hint"):
        read_control_vector(write("nohint.gguf", "controlvector", {"direction.1": ones}, hint=None))
    with pytest.raises(VectorPackageError, match=r"direction.0 is invalid"):
        read_control_vector(write("zero.gguf", "controlvector", {"direction.0": ones}))
    with pytest.raises(VectorPackageError, match="not named direction"):
        read_control_vector(write("name.gguf", "controlvector", {"blk.1": ones}))
    with pytest.raises(VectorPackageError, match="1-D float32"):
        read_control_vector(write("f16.gguf", "controlvector", {"direction.1": ones.astype(np.float16)}))
    with pytest.raises(VectorPackageError, match="different lengths"):
        read_control_vector(write("dims.gguf", "controlvector", {"direction.1": ones, "direction.2": ones[:4]}))


# ---------------------------------------------------------------------------------------------------- CLI


def test_cli_inspect_and_export(saved: tuple[VectorPackage, Path], tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    package, path = saved
    assert main(["inspect-vector", str(path)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["capability"] == "honesty" and shown["layers"] == [3, 5, 7] and "norms" in shown
    out = tmp_path / "cli.gguf"
    assert main(["export-vector", str(path), "--gguf", str(out), "--coefficient", "2"]) == 0
    assert "direction.[2, 4, 6]" in capsys.readouterr().out
    hint, vectors = read_control_vector(out)
    assert hint == "llama"
    np.testing.assert_allclose(vectors[5], 2 * package.vectors[5], rtol=1e-6)
    assert main(["export-vector", str(path), "--gguf", str(out), "--model-hint", "qwen2"]) == 0
    assert read_control_vector(out)[0] == "qwen2"


def test_cli_invalid_files_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    garbage = tmp_path / "garbage.vpkg"
    garbage.write_bytes(pickle.dumps([1, 2, 3]))
    assert main(["inspect-vector", str(garbage)]) == 2
    assert "not a readable vector package" in capsys.readouterr().err
    assert main(["inspect-vector", str(tmp_path / "missing.vpkg")]) == 2
    assert "no such vector package file" in capsys.readouterr().err
    assert main(["export-vector", str(garbage), "--gguf", str(tmp_path / "o.gguf")]) == 2
    early = _package(layers=(0, 3)).save(tmp_path / "early.vpkg")
    assert main(["export-vector", str(early), "--gguf", str(tmp_path / "o.gguf")]) == 2
    assert "layer 0 is the embedding output" in capsys.readouterr().err
    assert not (tmp_path / "o.gguf").exists()


def test_lazy_public_name() -> None:
    import alignment_plugins

    assert alignment_plugins.VectorPackage is VectorPackage
