"""Shared constants and helpers of the marketplace unit tests (imported by conftest and the test modules)."""

from __future__ import annotations

from typing import Any

import numpy as np

D_SOURCE, D_TARGET = 8, 6
LAYER_MAP = [(0, 0), (1, 1), (2, 1), (3, 2)]
DEFAULT_METRICS = {
    "0->0": {"accuracy": 0.5, "semantic_preservation": 0.55, "reconstruction_error": 0.4},
    "1->1": {"accuracy": 0.9, "semantic_preservation": 0.84, "reconstruction_error": 0.1},
    "2->1": {"accuracy": 0.7, "semantic_preservation": 0.6, "reconstruction_error": 0.2,
             "semantic_preservation_ci_low": 0.55, "semantic_preservation_ci_high": 0.66},
    # 3->2 deliberately has no metrics
}


def vector_bytes(vector: Any, name: str = "vector", dtype: Any = np.float32, **extra: Any) -> bytes:
    """A safetensors file holding `vector` (plus any `extra` tensors)."""
    from safetensors.numpy import save

    tensors = {name: np.asarray(vector, dtype=dtype)}
    tensors.update({k: np.asarray(v) for k, v in extra.items()})
    return save(tensors)


#: The estimator the marketplace tests use (written to a file by the conftest): ŷ = b + Σ β_k (x_k − m_k) / s_k with
#: the numbers below, case interval ± 0.1, wide interval ± 0.2, quantization measured up to 8 bits (loss ≤ 1).
TEST_ESTIMATOR = {
    "features": ["semantic_preservation", "dimensional_loss", "structural_mismatch", "quantization_loss",
                 "context_log_ratio"],
    "mean": [0.8, 0.2, 0.25, 0.5, 0.0], "scale": [0.1, 0.2, 0.25, 0.5, 1.0], "coef": [0.1, 0.0, -0.02, -0.05, 0.0],
    "intercept": 0.71, "case_quantile": 0.1, "pair_quantile": 0.2,
    "ranges": {"semantic_preservation": [0.5, 0.95], "dimensional_loss": [0.0, 1.0], "structural_mismatch": [0.0, 1.0],
               "quantization_loss": [0.0, 1.0], "context_log_ratio": [0.0, 0.0]},
}


def expected_retention(sp: float, quantization_loss: float = 0.0, structural_mismatch: float = 0.5) -> float:
    """TEST_ESTIMATOR's point estimate for a semantic preservation, quantization loss and structural mismatch."""
    e = TEST_ESTIMATOR
    x = [sp, 0.0, structural_mismatch, quantization_loss, 0.0]
    return e["intercept"] + sum(c * (v - m) / s for c, v, m, s in zip(e["coef"], x, e["mean"], e["scale"],
                                                                       strict=True))


def write_test_estimator(path: Any) -> Any:
    """Write TEST_ESTIMATOR as a retention-estimator JSON file; return its path."""
    from alignment_plugins.estimator import RetentionEstimator

    e = TEST_ESTIMATOR
    model = RetentionEstimator(
        features=tuple(e["features"]), mean=np.array(e["mean"]), scale=np.array(e["scale"]), coef=np.array(e["coef"]),
        intercept=e["intercept"], ridge=1.0, alpha=0.1, case_quantile=e["case_quantile"], case_guaranteed=True,
        pair_quantile=e["pair_quantile"], pair_guaranteed=True, ranges=e["ranges"], training={"cases": 24},
    )
    return model.save(path)
