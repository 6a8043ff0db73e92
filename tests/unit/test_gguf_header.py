"""GGUF metadata from the file header: the same config transformers reads from the whole file, for whole and split
files, without converting the weights (`python -m alignment_plugins models`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alignment_plugins.gguf_header import GGUFHeaderError, gguf_config, read_header

VOCAB = 50


def _tiny_gguf(path: Path, *, tied: bool = True) -> Path:
    """A tiny llama GGUF: 2 blocks of width 16, a 50-token vocabulary with merges, float32 tensors."""
    import gguf

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("tiny-llama")
    writer.add_context_length(64)
    writer.add_embedding_length(16)
    writer.add_block_count(2)
    writer.add_feed_forward_length(32)
    writer.add_head_count(4)
    writer.add_head_count_kv(2)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_freq_base(10000.0)
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list([f"t{i}" for i in range(VOCAB)])
    writer.add_token_types([1] * VOCAB)
    writer.add_token_merges([f"t {i}" for i in range(20)])
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    rng = np.random.default_rng(0)
    writer.add_tensor("token_embd.weight", rng.normal(size=(VOCAB, 16)).astype(np.float32))
    for block in range(2):
        writer.add_tensor(f"blk.{block}.attn_norm.weight", np.ones(16, dtype=np.float32))
    if not tied:
        writer.add_tensor("output.weight", rng.normal(size=(VOCAB, 16)).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _split(path: Path, pieces: int) -> list[Path]:
    data = path.read_bytes()
    size = -(-len(data) // pieces)
    parts = []
    for i in range(pieces):
        part = path.with_name(f"{path.name}.part{i}")
        part.write_bytes(data[i * size:(i + 1) * size])
        parts.append(part)
    return parts


def _whole_file_config(path: Path) -> dict[str, Any]:
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(str(path.parent), gguf_file=path.name).to_dict()
    config.pop("_name_or_path", None)
    return config


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("pieces", [1, 3])
def test_header_config_is_the_whole_files_config(tmp_path: Path, tied: bool, pieces: int) -> None:
    path = _tiny_gguf(tmp_path / "tiny.gguf", tied=tied)
    parts = [path] if pieces == 1 else _split(path, pieces)
    config = gguf_config(parts)
    assert config._name_or_path == str(parts[0])
    got = config.to_dict()
    got.pop("_name_or_path", None)
    assert got == _whole_file_config(path)
    assert (config.hidden_size, config.num_hidden_layers, config.vocab_size) == (16, 2, VOCAB)
    assert config.tie_word_embeddings is tied and config.num_key_value_heads == 2


def test_read_header_sizes_and_vocabulary(tmp_path: Path) -> None:
    import gguf

    path = _tiny_gguf(tmp_path / "tiny.gguf")
    header = read_header(_split(path, 4))
    reader = gguf.GGUFReader(path)
    assert header.size == reader.data_offset and header.total == path.stat().st_size
    assert header.architecture == "llama" and header.vocabulary == VOCAB and header.tensor_count == 3


def test_bad_headers_are_refused(tmp_path: Path) -> None:
    notes = tmp_path / "notes.gguf"
    notes.write_bytes(b"not a gguf file at all")
    with pytest.raises(GGUFHeaderError, match="bad magic"):
        read_header([notes])
    path = _tiny_gguf(tmp_path / "tiny.gguf")
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(path.read_bytes()[:200])
    with pytest.raises(GGUFHeaderError, match="runs past the end"):
        read_header([truncated])


def test_models_command_reads_headers_without_converting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: Any) -> None:
    import alignment_plugins.models as engine_models
    from alignment_plugins.__main__ import main
    from alignment_plugins.types import ModelSpec

    monkeypatch.setenv("ALIGNMENT_CACHE_DIR", str(tmp_path / "cache"))  # this test's own, empty cache
    parts = _split(_tiny_gguf(tmp_path / "tiny.gguf"), 3)
    specs = {"tiny-split": ModelSpec(name="tiny-split", family="llama", kind="causal", locate=lambda: parts,
                                     package="tiny-pkg", description="tiny split GGUF")}

    def no_conversion(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("models must not convert GGUF weights")

    monkeypatch.setattr(engine_models, "known_models", lambda: specs)
    monkeypatch.setattr(engine_models, "convert_gguf", no_conversion)
    monkeypatch.setattr(engine_models, "_dequantize_to", no_conversion)
    assert main(["models", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert "error" not in row, row
    assert (row["name"], row["hidden_size"], row["num_layers"], row["vocab_size"]) == ("tiny-split", 16, 2, VOCAB)
    assert row["runnable"] and row["source"] == str(parts[0]) and row["package"] == "tiny-pkg"
    assert not (engine_models.cache_dir() / "models").exists()


def test_weights_fingerprint_is_the_digest_conversion_records(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Registering a model fingerprints its GGUF without converting it, to the value a later conversion records."""
    import hashlib

    import alignment_plugins.models as engine_models
    from alignment_plugins.types import ModelSpec

    monkeypatch.setenv("ALIGNMENT_CACHE_DIR", str(tmp_path / "cache"))  # this test's own, empty cache
    path = _tiny_gguf(tmp_path / "tiny.gguf")
    parts = _split(path, 3)
    specs = {"tiny-split": ModelSpec(name="tiny-split", family="llama", kind="causal", locate=lambda: parts)}
    monkeypatch.setattr(engine_models, "known_models", lambda: specs)
    expected = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    assert engine_models.weights_fingerprint("tiny-split") == expected
    assert not (engine_models.cache_dir() / "models").exists()  # nothing converted
    assert engine_models.weights_fingerprint(str(path)) == expected  # a .gguf path

    monkeypatch.setattr(engine_models, "_dequantize_to", lambda gguf, out: out.mkdir())  # conversion, no weights
    converted = engine_models.convert_gguf(parts, "tiny-split")
    assert engine_models.model_fingerprint(str(converted)) == expected


def test_conversion_parses_each_gguf_file_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside the conversion, metadata-only loads of one file share one parse (as independent copies) and the reader
    is reused; tensor loads still run; everything is restored afterwards."""
    import gguf
    from transformers import modeling_gguf_pytorch_utils as gguf_utils

    from alignment_plugins import models as engine_models

    calls: list[tuple[str, bool]] = []
    readers: list[str] = []

    def fake_load(path: str, return_tensors: bool = False, **kwargs: Any) -> dict[str, Any]:
        calls.append((path, return_tensors))
        return {"config": {"model_type": "llama", "layers": [1, 2]}, "tensors": {} if return_tensors else None}

    class FakeReader:
        def __init__(self, path: str, mode: str = "r") -> None:
            readers.append(path)

    monkeypatch.setattr(gguf_utils, "load_gguf_checkpoint", fake_load)
    monkeypatch.setattr(gguf, "GGUFReader", FakeReader)
    with engine_models._gguf_parsed_once():
        first = gguf_utils.load_gguf_checkpoint("a.gguf", return_tensors=False)
        first["config"]["layers"].append(3)  # a caller editing its copy changes nobody else's
        second = gguf_utils.load_gguf_checkpoint("a.gguf")
        gguf_utils.load_gguf_checkpoint("a.gguf", return_tensors=True)
        gguf_utils.load_gguf_checkpoint("b.gguf")
        assert gguf.GGUFReader("a.gguf") is gguf.GGUFReader("a.gguf")
    assert second["config"]["layers"] == [1, 2]
    assert calls == [("a.gguf", False), ("a.gguf", True), ("b.gguf", False)]
    assert readers == ["a.gguf"]
    assert gguf_utils.load_gguf_checkpoint is fake_load and gguf.GGUFReader is FakeReader
