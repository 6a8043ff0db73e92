"""The learned retention estimator: target configurations, dimensional loss, feature selection and prior features,
split- and cross-conformal coverage on synthetic data, leave-one-pair-out evaluation and the JSON model file."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from alignment_plugins.estimator import (
    FEATURES,
    PRIOR_FEATURES,
    MeasuredCase,
    RetentionEstimator,
    conformal_quantile,
    leave_one_pair_out,
    measured_cases,
)
from alignment_plugins.target_config import TargetConfigError, config_features, normalize_config, quantization_bits
from alignment_plugins.transfer_features import (
    carried_basis,
    dimensional_loss,
    expected_dimensional_loss,
    structural_mismatch,
)

TRUE_COEF = {"semantic_preservation": 1.2, "dimensional_loss": -0.5, "quantization_loss": -0.08}
#: the features a case carries itself (the priors are computed from the other pairs' measurements)
OWN = tuple(f for f in FEATURES if f not in PRIOR_FEATURES)


def synthetic_cases(n_pairs: int, seed: int, *, per_pair: int = 4, offset: int = 0) -> list[MeasuredCase]:
    """Pairs with random features, a pair effect and noise; retention linear in three features."""
    rng = np.random.default_rng(seed)
    cases = []
    for p in range(n_pairs):
        pair_features = {"semantic_preservation": rng.uniform(0.5, 0.9), "r2": rng.uniform(0.3, 0.8),
                         "cka": rng.uniform(0.8, 1.0), "reconstruction_error": rng.uniform(0.05, 0.3),
                         "structural_mismatch": rng.choice([0.0, 0.25, 0.5])}
        effect = rng.normal(0, 0.04)
        for k in range(per_pair):
            quant = k % 3  # 0, 1 or 2 (fp16, int8, int4)
            f = {**pair_features, "dimensional_loss": rng.uniform(0, 0.5), "quantization_loss": float(quant),
                 "context_log_ratio": 0.0}
            y = -0.2 + sum(TRUE_COEF[name] * f[name] for name in TRUE_COEF) + effect + rng.normal(0, 0.05)
            cases.append(MeasuredCase(f"m{p + offset}", "t", f"cap{(k + p) % 4}", float(y), f))
    return cases


def raw(model: RetentionEstimator, case: MeasuredCase) -> float:
    """The unclipped point estimate of a case (its priors from the model's measured rows)."""
    return model.predict(case.features, source=case.source, target=case.target, capability=case.capability).raw


# ------------------------------------------------------------------------------------------ configuration
def test_every_config_key_is_used_or_refused() -> None:
    base = config_features(normalize_config({}))
    assert base == {"quantization_loss": 0.0, "context_log_ratio": 0.0}
    assert config_features(normalize_config({"quantization": "INT8"}))["quantization_loss"] == 1.0
    assert config_features(normalize_config({"quantization": "q4_k_m"}))["quantization_loss"] == 2.0
    assert normalize_config({"quantization": "fp32"})["quantization"] is None
    assert config_features(normalize_config({"context_length": 2048}))["context_log_ratio"] == 3.0
    assert config_features(normalize_config({"context_length": 100}))["context_log_ratio"] == 0.0
    assert normalize_config({"custom_fine_tune": "my-checkpoint-v2"})["custom_fine_tune"] == "my-checkpoint-v2"
    assert normalize_config({"custom_fine_tune": False})["custom_fine_tune"] is None
    with pytest.raises(TargetConfigError, match=r"unknown target_config key\(s\) \['batch_size'\]"):
        normalize_config({"quantization": "int8", "batch_size": 4})
    with pytest.raises(TargetConfigError, match="unknown quantization 'int3'"):
        normalize_config({"quantization": "int3"})
    with pytest.raises(TargetConfigError, match="exceeds the target model's maximum of 32768"):
        normalize_config({"context_length": 128000}, max_positions=32768)
    for bad in (0, -5, 1.5, "long", True):
        with pytest.raises(TargetConfigError, match="context_length"):
            normalize_config({"context_length": bad})
    with pytest.raises(TargetConfigError, match="custom_fine_tune"):
        normalize_config({"custom_fine_tune": 3})
    assert quantization_bits(None) == 32 and quantization_bits("bf16") == 16


# ------------------------------------------------------------------------------------------ features
def test_dimensional_loss_is_the_energy_outside_the_carried_subspace() -> None:
    w = np.zeros((2, 4))
    w[0, 0], w[1, 1] = 2.0, 1.0  # carries source dims 0 and 1 (standardized), drops 2 and 3
    basis = carried_basis(w)
    scale = np.array([1.0, 1.0, 2.0, 2.0])
    assert dimensional_loss([1, 0, 0, 0], scale, basis) == pytest.approx(0.0)
    assert dimensional_loss([0, 0, 2, 0], scale, basis) == pytest.approx(1.0)
    # z = v / s = (1, 1, 1, 1): half of its energy is in the carried plane
    assert dimensional_loss([1, 1, 2, 2], scale, basis) == pytest.approx(0.5)
    w[1, 1] = 0.05  # below 0.1 × σ₁: no longer carried well
    assert dimensional_loss([0, 1, 0, 0], scale, carried_basis(w)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="zero vector"):
        dimensional_loss(np.zeros(4), scale, basis)
    rng = np.random.default_rng(0)  # isotropic vectors through a full-rank 48 -> 64 map: ~1 - 48/64 ... of 64 dims
    full = rng.normal(size=(48, 64))
    losses = [dimensional_loss(rng.normal(size=64), np.ones(64), carried_basis(full, 1e-6)) for _ in range(200)]
    assert np.mean(losses) == pytest.approx(expected_dimensional_loss(64, 48), abs=0.02)


def test_structural_mismatch_over_known_fields() -> None:
    a = {"family": "llama", "normalization": "rmsnorm", "positional_encoding": "rope", "activation": "silu"}
    assert structural_mismatch(a, {**a, "family": "Qwen2"}) == 0.25
    assert structural_mismatch(a, {"family": "LLAMA"}) == 0.0  # only family is known on both
    assert structural_mismatch({}, a) is None


# ------------------------------------------------------------------------------------------ conformal
def test_conformal_quantile_rank_and_guarantee() -> None:
    assert conformal_quantile(list(range(1, 20)), 0.1) == (18.0, True)  # k = ⌈20 × 0.9⌉ = 18
    assert conformal_quantile([0.3, 0.1, 0.2], 0.1) == (0.3, False)  # k = 4 > n = 3


def test_split_conformal_intervals_reach_nominal_coverage_on_synthetic_data() -> None:
    coverage, wide_pair_coverage = [], []
    for seed in range(6):
        model = RetentionEstimator.fit(synthetic_cases(120, seed), alpha=0.1, seed=seed, calibration="split",
                                       select=False, features=OWN)
        assert model.case_guaranteed and model.pair_guaranteed and model.training["calibration"] == "split"
        assert model.predict(synthetic_cases(1, 9)[0].features).guaranteed
        fresh = synthetic_cases(400, 1000 + seed, offset=10_000)
        # raw intervals (no clipping) so that coverage is the conformal statement itself
        hits = [abs(c.retention - raw(model, c)) <= model.case_quantile for c in fresh]
        coverage.append(np.mean(hits))
        by_pair: dict[str, list[bool]] = {}
        for c in fresh:
            by_pair.setdefault(c.pair, []).append(abs(c.retention - raw(model, c)) <= model.pair_quantile)
        wide_pair_coverage.append(np.mean([all(v) for v in by_pair.values()]))
    assert 0.88 <= np.mean(coverage) <= 0.96, coverage
    assert 0.88 <= np.mean(wide_pair_coverage) <= 0.98, wide_pair_coverage  # every case of a new pair at once


def test_cross_conformal_intervals_cover_new_pairs_on_synthetic_data() -> None:
    coverage = []
    for seed in range(3):
        model = RetentionEstimator.fit(synthetic_cases(24, seed), alpha=0.1)
        assert model.training["calibration"] == "cross" and model.training["calibration_cases"] == 96
        assert model.training["calibration_pairs"] == model.training["training_pairs"]  # every pair does both
        assert model.case_guaranteed
        estimate = model.predict(synthetic_cases(1, 9)[0].features, source="m0", target="t", capability="cap0")
        # the rank exists, but cross-conformal coverage is measured, not a finite-sample guarantee
        assert estimate.calibration == "cross" and estimate.ranked and not estimate.guaranteed
        fresh = synthetic_cases(300, 2000 + seed, offset=10_000)
        coverage.append(np.mean([abs(c.retention - raw(model, c)) <= model.case_quantile for c in fresh]))
    assert 0.85 <= np.mean(coverage) <= 0.98, coverage


def test_selection_keeps_the_planted_features_and_drops_the_rest() -> None:
    model = RetentionEstimator.fit(synthetic_cases(16, 4))
    assert set(model.training["selected_features"]) == set(TRUE_COEF)
    unused = [k for k, f in enumerate(model.features) if f not in TRUE_COEF]
    assert all(model.coef[k] == 0.0 for k in unused)
    # noise alone: nothing enters, the model is the training mean
    rng = np.random.default_rng(5)
    noise = [MeasuredCase(c.source, c.target, c.capability, float(rng.normal(0.7, 0.05)), c.features)
             for c in synthetic_cases(10, 6)]
    flat = RetentionEstimator.fit(noise)
    assert flat.training["selected_features"] == [] and not flat.coef.any()
    assert raw(flat, noise[0]) == pytest.approx(np.mean([c.retention for c in noise]))
    # a missing feature the model does not use is imputed without widening the interval; a used one widens it
    features = dict(synthetic_cases(1, 7)[0].features)
    unused_missing = model.predict({**features, "cka": None}, source="new", target="t", capability="cap0")
    assert unused_missing.imputed == ("cka",) and not unused_missing.wide
    used_missing = model.predict({**features, "dimensional_loss": None})
    assert used_missing.wide and "dimensional_loss" in used_missing.reasons[0]


def test_prior_features_average_the_other_pairs_measurements() -> None:
    rng = np.random.default_rng(8)
    offsets = {"t0": 0.95, "t1": 0.55, "t2": 0.75}  # how much a target keeps, whoever sends
    cases = [MeasuredCase(f"s{p}", t, f"cap{k}", float(offsets[t] + rng.normal(0, 0.03)),
                          {**synthetic_cases(1, p)[0].features})
             for p in range(8) for t in offsets for k in range(3)]
    model = RetentionEstimator.fit(cases)
    assert "target_prior" in model.training["selected_features"]
    # the prior of a pair never includes its own measurements
    own = [c for c in cases if c.pair == "s0->t1"]
    expected = np.mean([c.retention for c in cases if c.target == "t1" and c.pair != "s0->t1"])
    x, _ = __import__("alignment_plugins.estimator", fromlist=["_design"])._design(own, ("target_prior",), [
        (c.source, c.target, c.capability, c.retention) for c in cases])
    assert np.allclose(x[:, 0], expected)
    new_pair = model.predict(own[0].features, source="s-new", target="t1", capability="cap0")
    assert new_pair.retention == pytest.approx(0.55, abs=0.06) and not new_pair.wide
    unknown_target = model.predict(own[0].features, source="s-new", target="t-new", capability="cap0")
    assert unknown_target.wide and "target_prior" in unknown_target.imputed
    assert set(PRIOR_FEATURES) <= set(FEATURES)


def test_fit_recovers_the_planted_signal_and_beats_the_mean() -> None:
    result = leave_one_pair_out(synthetic_cases(12, 3))
    assert result["n"] == 48 and len(result["pairs"]) == 12 and not result["skipped"]
    assert result["mae"] < 0.75 * result["baselines"]["training_mean"]
    assert result["coverage"] >= 0.8 and result["wide_coverage"] >= result["coverage"]
    assert all(0.0 <= r["ci"][0] <= r["estimate"] <= r["ci"][1] <= 1.0 for r in result["rows"])


def test_small_calibration_sets_say_they_carry_no_guarantee() -> None:
    cases = synthetic_cases(4, 1, per_pair=2)
    model = RetentionEstimator.fit(cases, seed=0, calibration="split")
    assert model.training["calibration_pairs"] and not model.case_guaranteed
    assert model.case_quantile == max(abs(c.retention - raw(model, c)) for c in cases
                                      if c.pair in model.training["calibration_pairs"])
    cross = RetentionEstimator.fit(cases)  # 8 calibration cases: rank ⌈9 × 0.9⌉ = 9 > 8
    assert cross.training["calibration_cases"] == 8 and not cross.case_guaranteed
    with pytest.raises(ValueError, match="at least 2 pairs"):
        RetentionEstimator.fit(synthetic_cases(1, 1))


def test_wide_interval_for_unmeasured_configurations_and_missing_features() -> None:
    cases = [c for c in synthetic_cases(40, 5) if c.features["quantization_loss"] == 0.0]  # only unquantized
    model = RetentionEstimator.fit(cases, seed=1, calibration="split", select=False, features=OWN)
    features = dict(cases[0].features)
    plain = model.predict(features)
    assert not plain.wide and plain.ci_high - plain.ci_low <= 2 * model.case_quantile + 1e-12
    quantized = model.predict({**features, "quantization_loss": 2.0})
    assert quantized.wide and "quantization loss 2.00 is outside the measured range" in quantized.reasons[0]
    assert model.pair_quantile >= model.case_quantile
    missing = model.predict({**features, "cka": None})
    assert missing.wide and missing.imputed == ("cka",)
    told = model.predict(features, wide_reasons=["an unverified fine-tune"])
    assert told.wide and told.reasons == ("an unverified fine-tune",)


def test_model_file_round_trip(tmp_path: Path) -> None:
    model = RetentionEstimator.fit(synthetic_cases(12, 2), seed=0, sources=[{"path": "x.json"}])
    loaded = RetentionEstimator.load(model.save(tmp_path / "m.json"))
    features = synthetic_cases(1, 99)[0].features
    assert loaded.predict(features) == model.predict(features)
    where = {"source": "m3", "target": "t", "capability": "cap1"}
    assert loaded.predict(features, **where) == model.predict(features, **where)
    assert loaded.reference == model.reference and len(model.reference) == 48
    assert loaded.training["sources"] == [{"path": "x.json"}] and loaded.features == FEATURES
    data = json.loads((tmp_path / "m.json").read_text())
    data["coef"] = data["coef"][:-1]
    (tmp_path / "bad.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="do not match"):
        RetentionEstimator.load(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="not a retention-estimator"):
        RetentionEstimator.from_dict({"format": "support-matrix"})


def test_measured_cases_from_a_support_matrix_document() -> None:
    held = {"semantic_preservation": 0.8, "r2": 0.6, "cka": 0.95, "reconstruction_error": 0.15}
    arch = {"family": "llama", "normalization": "rmsnorm", "positional_encoding": "rope", "activation": "silu"}
    doc = {"models": {"a": {"architecture": arch}, "b": {"architecture": {**arch, "family": "qwen2"}}},
           "target_config": {"quantization": "int8"},
           "pairs": [{"source": "a", "target": "b", "source_layer": 3, "target_layer": 4, "held_out": held,
                      "capabilities": {"x": {"retention": 0.7, "ci": [0.6, 0.8], "dimensional_loss": 0.2},
                                       "y": {"retention": None}}}]}
    (case,) = measured_cases(doc)
    assert case.pair == "a->b" and case.retention == 0.7 and case.ci == (0.6, 0.8)
    assert case.features["structural_mismatch"] == 0.25 and case.features["quantization_loss"] == 1.0
    assert case.config["quantization"] == "int8" and case.source_layer == 3
    del doc["pairs"][0]["capabilities"]["x"]["dimensional_loss"]
    with pytest.raises(ValueError, match=r"a -> b x: no value for \['dimensional_loss'\]"):
        measured_cases(doc)
    (case,) = measured_cases(doc, dimensional_loss=lambda pair, cap: 0.4)
    assert math.isclose(case.features["dimensional_loss"], 0.4)
