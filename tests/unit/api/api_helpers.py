"""Helpers of the API tests: safetensors vectors, synthetic .wmatrix files, the JSON error shape."""

from __future__ import annotations

from pathlib import Path

import numpy as np

SRC_DIM, TGT_DIM, LAYERS = 8, 6, 4


def vector_bytes(dim: int, *, seed: int = 0, values: np.ndarray | None = None, name: str = "vector") -> bytes:
    """A safetensors file holding one float32 vector of `dim` values (or `values`)."""
    from safetensors.numpy import save

    array = values if values is not None else np.random.default_rng(seed).standard_normal(dim)
    return save({name: np.ascontiguousarray(array, dtype=np.float32)})


def write_wmatrix(path: Path, source: str = "src-model", target: str = "tgt-model", *, dx: int = SRC_DIM,
                  dy: int = TGT_DIM, pair: tuple[int, int] = (2, 1), seed: int = 0) -> Path:
    """Fit a ridge map on synthetic paired data (Y = X·A + noise) and save it as a .wmatrix file."""
    from alignment_plugins.solvers import RidgeSolver
    from alignment_plugins.wmatrix import WMatrix, pair_key

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((64, dx))
    y = x @ rng.standard_normal((dx, dy)) + 0.05 * rng.standard_normal((64, dy))
    linear = RidgeSolver().fit_arrays(x, y)
    metrics = {"semantic_preservation": 0.93, "accuracy": 0.88, "reconstruction_error": 0.04}
    matrix = WMatrix(
        source={"name": source, "hidden_size": dx, "num_layers": LAYERS, "fingerprint": "fp-src"},
        target={"name": target, "hidden_size": dy, "num_layers": LAYERS, "fingerprint": "fp-tgt"},
        maps={pair: linear}, layer_map=[pair], best_pair=pair, method="ridge",
        anchors={"hash": "anchors-v1", "count": 64}, pair_metrics={pair_key(pair): metrics},
    )
    return matrix.save(path)


def error_of(response) -> dict:
    """The `error` object of a JSON error response (asserts the shape)."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str)
    return body["error"]
