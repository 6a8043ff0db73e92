"""Weight-quantized copies (alignment_plugins.requantize) and the retention bench's target configurations."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alignment_plugins.requantize import load_float32, quantization_name, quantized_copy, requantize_weights


def _weights(model: Any) -> dict[str, np.ndarray]:
    return {name: p.detach().numpy().copy() for name, p in model.named_parameters()}


def test_quantization_names_are_checked() -> None:
    assert quantization_name("Q8_0") == "q8_0" and quantization_name("q4_0") == "q4_0"
    for bad in ("int3", "Q4_K_M_X", ""):
        with pytest.raises(ValueError, match="unknown or unsupported GGML quantization"):
            quantization_name(bad)


def test_requantizing_rounds_matrices_only_and_more_for_fewer_bits(tiny_model: Callable[[str], Path]) -> None:
    before, _ = load_float32(tiny_model("llama"))
    original = _weights(before)
    errors = {}
    for quant in ("Q8_0", "Q4_0"):
        model, causal = load_float32(tiny_model("llama"))
        assert causal
        changed = requantize_weights(model, quant)
        after = _weights(model)
        assert changed > 0
        for name, value in original.items():
            if value.ndim == 1:  # norms, biases: untouched
                np.testing.assert_array_equal(after[name], value)
        matrices = [n for n, v in original.items() if v.ndim == 2 and v.shape[-1] % 32 == 0]
        assert matrices and all(not np.array_equal(after[n], original[n]) for n in matrices)
        errors[quant] = max(float(np.abs(after[n] - original[n]).max() / np.abs(original[n]).max()) for n in matrices)
    assert 0 < errors["Q8_0"] < 0.01 < errors["Q4_0"] < 0.2


def test_quantized_copy_is_written_once_with_the_tokenizer(tiny_model: Callable[[str], Path], tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from alignment_plugins.models import load_model

    out = quantized_copy(tiny_model("llama"), tmp_path / "q8", "Q8_0")
    base, copy = load_model(str(tiny_model("llama"))), load_model(str(out))
    assert copy.fingerprint != base.fingerprint and copy.info.hidden_size == base.info.hidden_size
    assert copy.tokenizer("a test")["input_ids"] == base.tokenizer("a test")["input_ids"]
    monkeypatch.setattr("alignment_plugins.requantize.load_float32", _no_load)
    assert quantized_copy(tiny_model("llama"), tmp_path / "q8", "q8_0") == out  # reused, not rebuilt
    with pytest.raises(ValueError, match="unsupported GGML"):
        quantized_copy(tiny_model("llama"), tmp_path / "bad", "Q3_X")
    assert not (tmp_path / "bad").exists()


def _no_load(*args: object, **kwargs: object) -> None:
    raise AssertionError("the copy was rebuilt although it exists")


def test_bench_configurations_name_their_files_and_prompts(bench: Any, tiny_model: Callable[[str], Path]) -> None:
    from alignment_plugins.capabilities import get_capability
    from alignment_plugins.models import load_model

    plain = argparse.Namespace(quantization=None, context_length=None)
    both = argparse.Namespace(quantization="q8_0", context_length=1024)
    assert bench.config_suffix(plain) == "" and bench.target_config(plain) == {"quantization": None,
                                                                              "context_length": None}
    assert bench.config_suffix(both) == ".q8_0.ctx1024"
    assert bench.target_config(both) == {"quantization": "q8_0", "context_length": 1024}
    model = load_model(str(tiny_model("llama")))
    cap = get_capability("weddings")
    assert bench.with_context(cap, model, None) is cap
    long = bench.with_context(cap, model, 300)
    assert len(long.prompts) == len(cap.prompts) and long.answers == cap.answers
    preamble = long.prompts[0][: -len(cap.prompts[0])]
    assert all(p == preamble + q for p, q in zip(long.prompts, cap.prompts, strict=True))
    assert len(model.tokenizer(preamble, add_special_tokens=False)["input_ids"]) >= 300


def test_measure_reuse_keys_change_with_any_vector_bit_prompt_or_model(bench: Any) -> None:
    arms = {"native": np.linspace(-1, 1, 8, dtype=np.float32), "random#0": np.ones(8, dtype=np.float32)}
    keys = bench.arm_hashes(arms, ["a", "b"], 20, "sha256:m")
    assert keys == bench.arm_hashes({k: v.astype(np.float64) for k, v in reversed(arms.items())}, ["a", "b"], 20,
                                    "sha256:m")
    nudged = bench.arm_hashes(dict(arms, native=np.nextafter(arms["native"], np.float32(2))), ["a", "b"], 20,
                              "sha256:m")
    assert nudged["native"] != keys["native"] and nudged["random#0"] == keys["random#0"]  # per arm
    for other in (bench.arm_hashes(arms, ["a", "c"], 20, "sha256:m"),
                  bench.arm_hashes(arms, ["a", "b"], 24, "sha256:m"),
                  bench.arm_hashes(arms, ["a", "b"], 20, "sha256:q8")):
        assert all(other[k] != keys[k] for k in arms)


def test_measured_arms_are_reused_for_vectors_equal_up_to_float32_rounding(bench: Any) -> None:
    rng = np.random.default_rng(0)
    arms = {"native": rng.normal(size=64).astype(np.float32), "transferred:a": rng.normal(size=64).astype(np.float32)}
    cosines = {"ridge:a": {"standardized": 0.7, "raw": 0.6}}
    context = bench.measurement_context(["p"], 20, "sha256:m")
    record = {"effects": {a: {"1.0": [0.1]} for a in arms}, "inputs_sha256": bench.arm_hashes(arms, ["p"], 20, "m"),
              "context_sha256": context, "sketches": {a: bench.vector_sketch(v) for a, v in arms.items()},
              "norms": {a: float(np.linalg.norm(v)) for a, v in arms.items()}, "cosines": cosines,
              "unsteered_mean": 0.25}
    inputs = bench.arm_hashes(arms, ["p"], 20, "m")
    assert bench.reusable_arms(record, arms, inputs, context, cosines, 0.25) == {"native": "exact",
                                                                                 "transferred:a": "exact"}
    rounded = dict(arms, native=arms["native"] * np.float32(1 + 2e-7))  # what two prepare runs differ by
    new_inputs = bench.arm_hashes(rounded, ["p"], 20, "m")
    assert new_inputs["native"] != inputs["native"]
    assert bench.reusable_arms(record, rounded, new_inputs, context, cosines, 0.25) == {"native": "rounding",
                                                                                        "transferred:a": "exact"}
    moved = dict(arms, native=arms["native"] + np.float32(1e-3) * rng.normal(size=64).astype(np.float32))
    assert "native" not in bench.reusable_arms(record, moved, bench.arm_hashes(moved, ["p"], 20, "m"), context,
                                               cosines, 0.25)
    other = bench.measurement_context(["q"], 20, "sha256:m")  # other prompts: only bit-identical inputs would do
    assert bench.reusable_arms(record, rounded, new_inputs, other, cosines, 0.25) == {"transferred:a": "exact"}
    # a record from before sketches: every norm, cosine and the unsteered score must agree, then all arms are reused
    legacy = {k: v for k, v in record.items() if k not in ("context_sha256", "sketches", "inputs_sha256")}
    assert bench.reusable_arms(legacy, rounded, new_inputs, context, cosines, 0.25) == {"native": "legacy",
                                                                                        "transferred:a": "legacy"}
    assert bench.reusable_arms(legacy, rounded, new_inputs, context, cosines, 0.26) == {}
    assert bench.reusable_arms(legacy, moved, new_inputs, context, cosines, 0.25) == {}
    drifted = {"ridge:a": {"standardized": 0.71, "raw": 0.6}}
    assert bench.reusable_arms(legacy, rounded, new_inputs, context, drifted, 0.25) == {}
    cap = {"effects": {"native": {}, "random#0": {}, "random": {}}, "reused": {"native": "legacy"}}
    assert "1 of the 2 arm × capability records" in bench._reuse_sentence({"t": {"capabilities": {"c": cap}}})
    assert bench._reuse_sentence({"t": {"capabilities": {"c": {**cap, "reused": {"native": "exact"}}}}}) == ""


def test_a_partial_run_names_the_capabilities_measured_per_target(bench: Any) -> None:
    models = {"smollm2-135m-instruct": {}, "gemma3-270m": {}, "qwen2.5-coder-0.5b-instruct": {}}
    every = {name: {} for name in bench.COEFFICIENTS}
    pairs = [{"target": "smollm2-135m-instruct", "capabilities": every},
             {"target": "gemma3-270m", "capabilities": {"sentiment": {}, "weddings": {}}}]
    text = bench._measured_scope({"models": models, "pairs": pairs})
    assert "SmolLM2 sentiment, weddings, risk_seeking, french, space, enthusiasm" in text
    assert "Gemma-3 sentiment, weddings;" in text and "Qwen2.5 none" in text
    pairs.append({"target": "qwen2.5-coder-0.5b-instruct", "capabilities": every})
    pairs[1]["capabilities"] = every
    assert bench._measured_scope({"models": models, "pairs": pairs}) == ""
