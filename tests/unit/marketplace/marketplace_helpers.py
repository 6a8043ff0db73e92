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
