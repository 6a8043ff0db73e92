"""CompatibilityChecker on a planted .wmatrix, a vector package, a measured support-matrix row and an estimator fit on
synthetic cases: measured vs learned basis, every config key used or refused, fine-tune checks, identity."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alignment_plugins.compatibility import CompatibilityChecker, capability_key, fine_tune_check
from alignment_plugins.estimator import RetentionEstimator
from alignment_plugins.solvers import RidgeSolver
from alignment_plugins.target_config import TargetConfigError
from alignment_plugins.vector_package import VectorPackage
from alignment_plugins.wmatrix import WMatrix

ARCH = {"family": "llama", "normalization": "rmsnorm", "positional_encoding": "rope", "activation": "silu",
        "max_positions": 4096}
ARCHITECTURES = {"src": ARCH, "tgt": {**ARCH, "family": "qwen2", "max_positions": 2048}}
BASE = "sha256:" + "b" * 64


@pytest.fixture(scope="module")
def estimator() -> RetentionEstimator:
    from test_estimator import synthetic_cases

    cases = [c for c in synthetic_cases(40, 7) if c.features["quantization_loss"] == 0.0]
    return RetentionEstimator.fit(cases, seed=0)


def planted_matrix(path: Path, target_fingerprint: str = BASE) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 8)) * rng.uniform(0.5, 2.0, size=8)
    a = np.zeros((8, 6))
    a[:4, :] = np.linalg.qr(rng.normal(size=(6, 4)))[0].T  # source dims 4..7 are not carried
    linear = RidgeSolver(regularization=1e-3).fit_arrays(x, x @ a + 0.01 * rng.normal(size=(300, 6)))
    metrics = {"semantic_preservation": 0.8, "r2": 0.6, "cka": 0.9, "reconstruction_error": 0.2}
    wm = WMatrix(source={"name": "src", "fingerprint": "sha256:" + "a" * 64, "hidden_size": 8},
                 target={"name": "tgt", "fingerprint": target_fingerprint, "hidden_size": 6},
                 maps={(2, 3): linear}, layer_map=[(2, 3)], best_pair=(2, 3), method="ridge",
                 pair_metrics={"2->3": metrics})
    return wm.save(path)


def package(vector: Any, capability: str = "sentiment") -> VectorPackage:
    return VectorPackage.create({2: np.asarray(vector, dtype=np.float32)}, source_model="src",
                                source_fingerprint="sha256:" + "a" * 64, method="caa", capability=capability,
                                contrastive_data_hash="sha256:" + "c" * 64)


def support_doc(**config: Any) -> dict[str, Any]:
    pair = {"source": "src", "target": "tgt", "source_layer": 2, "target_layer": 3,
            "capabilities": {"Sentiment": {"retention": 0.66, "ci": [0.6, 0.7]}}}
    if config:
        pair["target_config"] = config
    return {"format": "support-matrix", "version": 1, "generated_at": "2026-03-01T00:00:00+00:00",
            "anchors": {"hash": "sha256:x"}, "models": {"src": {}, "tgt": {}}, "pairs": [pair]}


@pytest.fixture
def checker(tmp_path: Path, estimator: RetentionEstimator) -> CompatibilityChecker:
    return CompatibilityChecker([planted_matrix(tmp_path / "m.wmatrix")], measurements=[support_doc()],
                                estimator=estimator, architectures=ARCHITECTURES)


def test_measured_capability_uses_the_measurement(checker: CompatibilityChecker) -> None:
    est = checker.estimate(vector_listing=package(np.ones(8)), target_model="tgt",
                           target_config={"quantization": "fp16", "context_length": 200})
    assert est.basis == "measured_retention" and (est.retention, est.ci_low, est.ci_high) == (0.66, 0.6, 0.7)
    assert est.level == 0.95 and est.risk_level == "medium" and est.alignment_quality == 0.8
    assert est.source_layer == 2 and est.target_layer == 3 and est.structural_mismatch == 0.25
    assert est.recommendation.startswith("Measured: keeps about 66% (95% CI 60–70%) of the 'Sentiment' steering")


def test_unmeasured_capability_gets_the_learned_estimate(checker: CompatibilityChecker,
                                                         estimator: RetentionEstimator) -> None:
    carried = np.r_[np.ones(4), np.zeros(4)]
    est = checker.estimate(vector_listing=package(carried, "french"), target_model="tgt")
    assert est.basis == "learned_estimate" and est.interval == "conformal" and not est.reasons
    assert est.dimensional_loss == pytest.approx(0.0, abs=1e-3)
    assert est.ci_low <= est.retention <= est.ci_high and est.level == pytest.approx(0.9)
    assert est.ci_high - est.ci_low <= 2 * estimator.case_quantile + 1e-9
    assert est.recommendation.startswith("Estimated (learned from")
    assert not est.coverage_guaranteed and "measured on pairs held out from the estimator" in est.recommendation
    dropped = checker.estimate(vector_listing=package(np.r_[np.zeros(4), np.ones(4)], "french"), target_model="tgt")
    assert dropped.dimensional_loss == pytest.approx(1.0, abs=1e-3)
    assert dropped.retention < est.retention  # the planted model penalizes dimensional loss
    assert "100% of the vector's standardized energy lies outside" in dropped.recommendation


def test_every_config_key_is_used_or_refused(checker: CompatibilityChecker) -> None:
    vec = package(np.ones(8), "french")
    base = checker.estimate(vec, "tgt")
    quant = checker.estimate(vec, "tgt", {"quantization": "int4"})  # the estimator never saw a quantized case
    assert quant.interval == "conformal_wide" and "quantization loss 2.00 is outside" in quant.reasons[0]
    assert quant.target_config["quantization"] == "int4" and quant.ci_high - quant.ci_low >= base.ci_high - base.ci_low
    long = checker.estimate(vec, "tgt", {"context_length": 2048})
    assert long.target_config["context_length"] == 2048 and "context log ratio 3.00" in long.reasons[0]
    with pytest.raises(TargetConfigError, match="maximum of 2048 positions"):
        checker.estimate(vec, "tgt", {"context_length": 128000})
    with pytest.raises(TargetConfigError, match="unknown target_config key"):
        checker.estimate(vec, "tgt", {"temperature": 0.7})
    # a quantized measurement is used only for that quantization
    measured = CompatibilityChecker(checker.matrices, measurements=[support_doc(quantization="int8")],
                                    estimator=checker.estimator, architectures=ARCHITECTURES)
    assert measured.estimate(package(np.ones(8)), "tgt", {"quantization": "q8_0"}).basis == "measured_retention"
    assert measured.estimate(package(np.ones(8)), "tgt").basis == "learned_estimate"


def test_fine_tune_compared_with_the_base_fingerprint(checker: CompatibilityChecker, tmp_path: Path) -> None:
    vec = package(np.ones(8))
    same = checker.estimate(vec, "tgt", {"custom_fine_tune": BASE})
    assert same.fine_tune["status"] == "identical" and same.basis == "measured_retention"
    assert "base model's weights" in same.recommendation
    named = checker.estimate(vec, "tgt", {"custom_fine_tune": "my-checkpoint-v2"})
    assert named.fine_tune["status"] == "unverified" and named.basis == "learned_estimate"
    assert named.interval == "conformal_wide" and "neither a local checkpoint path" in named.recommendation
    checkpoint = tmp_path / "ckpt"
    checkpoint.mkdir()
    from safetensors.numpy import save_file

    save_file({"w": np.ones(3, dtype=np.float32)}, str(checkpoint / "model.safetensors"))
    other = checker.estimate(vec, "tgt", {"custom_fine_tune": str(checkpoint)})
    assert other.fine_tune["status"] == "different" and other.fine_tune["fingerprint"].startswith("sha256:")
    assert other.interval == "conformal_wide" and "differs from the base model's weights" in other.reasons[0]
    # the same checkpoint as the base: the matrix's target fingerprint is the checkpoint's
    base = CompatibilityChecker([planted_matrix(tmp_path / "b.wmatrix", other.fine_tune["fingerprint"])],
                                measurements=[support_doc()], estimator=checker.estimator,
                                architectures=ARCHITECTURES)
    assert base.estimate(vec, "tgt", {"custom_fine_tune": str(checkpoint)}).fine_tune["status"] == "identical"
    assert fine_tune_check(True, BASE, allow_paths=False)["status"] == "unverified"
    assert fine_tune_check(str(checkpoint), BASE, allow_paths=False)["status"] == "unverified"  # never read


def test_identity_listing_objects_and_missing_matrix(checker: CompatibilityChecker, tmp_path: Path) -> None:
    same = checker.estimate({"source_model": "src", "layer": 2, "name": "x"}, "src")
    assert same.basis == "identity" and (same.retention, same.ci_low) == (1.0, 1.0) and same.risk_level == "low"
    unknown = checker.estimate({"source_model": "src", "layer": 2}, "src", {"custom_fine_tune": True})
    assert (unknown.ci_low, unknown.risk_level) == (0.0, "high")
    no_vector = checker.estimate({"source_model": "src", "layer": 2, "capability_domain": "french"}, "tgt")
    assert no_vector.dimensional_loss is None and "dimensional_loss" in no_vector.features["imputed"]
    assert no_vector.interval == "conformal_wide"
    path = package(np.ones(8)).save(tmp_path / "v.vpkg")
    assert checker.estimate(path, "tgt").basis == "measured_retention"
    with pytest.raises(LookupError, match="no W-Matrix from src to nowhere"):
        checker.estimate(path, "nowhere")
    assert capability_key("Formal  Tone!") == "formal_tone"
    assert set(checker.estimate(path, "tgt").to_dict()) >= {"retention", "ci_low", "ci_high", "alignment_quality",
                                                             "risk_level", "recommendation", "dimensional_loss",
                                                             "structural_mismatch"}
