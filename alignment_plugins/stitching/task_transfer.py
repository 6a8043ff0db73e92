"""Task transfer: a linear probe trained on source states, scored on target states mapped back by W's inverse."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from alignment_plugins.formats import finite_or_none
from alignment_plugins.solvers.base import LinearMap
from alignment_plugins.stitching.metrics import interval
from alignment_plugins.stitching.splice import Pair, resolve_pair
from alignment_plugins.wmatrix import WMatrix


def _fit_softmax(z: np.ndarray, y: np.ndarray, k: int, l2: float, max_iter: int) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression (mean cross-entropy + l2/2·‖W‖²) by L-BFGS; returns W (k, d), b (k,).

    With fewer rows than dimensions the problem is solved in the row space of z (z = U S Vᵀ, features z V, V from
    the eigendecomposition of the Gram matrix z zᵀ): the regularized optimum lies in that span, so this is exact
    and costs O(N²) per step instead of O(N·d).
    """
    import torch

    basis = None
    if z.shape[0] < z.shape[1]:
        evals, u = np.linalg.eigh(z @ z.T)
        keep = evals > max(float(evals.max()), 0.0) * 1e-12
        basis = (z.T @ u[:, keep]) / np.sqrt(evals[keep])  # (d, r) orthonormal columns spanning the rows of z
        z = z @ basis
    x = torch.as_tensor(z, dtype=torch.float64)
    target = torch.as_tensor(y, dtype=torch.long)
    weight = torch.zeros(k, x.shape[1], dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(k, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=max_iter, tolerance_grad=1e-9,
                                  tolerance_change=1e-12, history_size=20, line_search_fn="strong_wolfe")

    def closure() -> Any:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ weight.T + bias, target) + 0.5 * l2 * (weight * weight).sum()
        loss.backward()
        return loss

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # (N, r) problems: thread start-up costs more than it saves, badly so on a busy host
    try:
        with torch.enable_grad():
            optimizer.step(closure)
    finally:
        torch.set_num_threads(threads)
    w = weight.detach().numpy()
    return (w if basis is None else w @ basis.T), bias.detach().numpy()


def task_transfer_accuracy(
    src_train: np.ndarray,
    y_train: Sequence[Any],
    src_test: np.ndarray,
    tgt_test: np.ndarray,
    y_test: Sequence[Any],
    wmatrix_or_linear_map: WMatrix | LinearMap | tuple[Pair, LinearMap],
    *,
    layer: int | None = None,
    l2: float = 1e-2,
    max_iter: int = 100,
    seed: int = 0,
) -> dict[str, Any]:
    """Accuracy (fraction, 0..1) of a source-space linear probe on target states mapped back by the map's inverse.

    A multinomial logistic-regression probe is trained on source pooled states standardized with the map's source
    statistics, z = (x − μx)/sx. It is scored on source test states (``source_accuracy``) and on target test states
    mapped into the source space, x̂ = μx + sx ⊙ (W⁺ ((y − μy)/sy)) (``transferred_accuracy``).
    relative_accuracy = transferred_accuracy / source_accuracy (None when the source probe scores 0), with a 95%
    percentile bootstrap interval over test rows (``ci_low``, ``ci_high``). ``chance_accuracy`` is the accuracy of
    always predicting the most frequent training class. `layer` picks the WMatrix pair by source layer.
    """
    if isinstance(wmatrix_or_linear_map, LinearMap):
        linear = wmatrix_or_linear_map
    else:
        _, linear = resolve_pair(wmatrix_or_linear_map, layer)
    xs_train = np.asarray(src_train, dtype=np.float64)
    xs_test = np.asarray(src_test, dtype=np.float64)
    yt_test = np.asarray(tgt_test, dtype=np.float64)
    labels_train = list(y_train)
    labels_test = list(y_test)
    if xs_train.ndim != 2 or xs_train.shape[0] != len(labels_train):
        raise ValueError(f"src_train must be (N, d) with one label per row; got {xs_train.shape}, {len(labels_train)}")
    if xs_test.shape[0] != len(labels_test) or yt_test.shape[0] != len(labels_test):
        raise ValueError("src_test, tgt_test and y_test must have the same number of rows")
    if len(labels_test) == 0:
        raise ValueError("no test rows")
    classes = sorted(set(labels_train), key=str)
    if len(classes) < 2:
        raise ValueError("the probe needs at least two classes in y_train")
    index = {label: k for k, label in enumerate(classes)}
    train_idx = np.array([index[label] for label in labels_train])
    test_idx = np.array([index.get(label, -1) for label in labels_test])

    def _z(x: np.ndarray) -> np.ndarray:
        return (x - linear.mean_x) / linear.scale_x

    weight, bias = _fit_softmax(_z(xs_train), train_idx, len(classes), float(l2), int(max_iter))
    correct_source = (np.argmax(_z(xs_test) @ weight.T + bias, axis=1) == test_idx).astype(np.float64)
    mapped_back = linear.inverse(yt_test)
    correct_transfer = (np.argmax(_z(mapped_back) @ weight.T + bias, axis=1) == test_idx).astype(np.float64)
    source_acc = float(correct_source.mean())
    transfer_acc = float(correct_transfer.mean())

    def _relative(rows: np.ndarray) -> float:
        den = correct_source[rows].mean()
        return float(correct_transfer[rows].mean() / den) if den > 0 else float("nan")

    low, high = interval(_relative, len(labels_test), seed=seed)
    majority = np.bincount(train_idx, minlength=len(classes)).argmax()
    return {
        "source_accuracy": source_acc,
        "transferred_accuracy": transfer_acc,
        "relative_accuracy": finite_or_none(transfer_acc / source_acc) if source_acc > 0 else None,
        "ci_low": low,
        "ci_high": high,
        "chance_accuracy": float(np.mean(test_idx == majority)),
        "n_train": len(labels_train),
        "n_test": len(labels_test),
        "classes": [c.item() if isinstance(c, np.generic) else c for c in classes],
    }
