"""Gradient calibration of a closed-form map: Adam on the standardized-space loss, early-stopped on validation."""

from __future__ import annotations

from typing import Any

import numpy as np

from alignment_plugins.solvers import LinearMap, pseudo_inverse

__all__ = ["calibrate"]


def calibrate(
    linear: LinearMap,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    *,
    epochs: int,
    patience: int,
    learning_rate: float,
    batch_size: int,
    seed: int = 0,
) -> tuple[LinearMap, dict[str, Any]]:
    """Refine W by Adam on the standardized-space loss MSE + (1 − cosine), early-stopped on validation loss."""
    import torch

    gen = torch.Generator().manual_seed(seed)

    def norm(a: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> torch.Tensor:
        return torch.as_tensor((a.astype(np.float64) - mean) / scale, dtype=torch.float32)

    xt, yt = norm(x_train, linear.mean_x, linear.scale_x), norm(y_train, linear.mean_y, linear.scale_y)
    xv, yv = norm(x_val, linear.mean_x, linear.scale_x), norm(y_val, linear.mean_y, linear.scale_y)
    weight = torch.nn.Parameter(torch.as_tensor(linear.weight, dtype=torch.float32).clone())
    optimizer = torch.optim.Adam([weight], lr=learning_rate)

    def loss_fn(xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        pred = xb @ weight.T
        mse = ((pred - yb) ** 2).mean()
        cos = torch.nn.functional.cosine_similarity(pred, yb, dim=1).mean()
        return mse + (1.0 - cos)

    with torch.no_grad():
        best_val = float(loss_fn(xv, yv))
    initial_val = best_val
    best_weight = weight.detach().clone()
    history: list[float] = []
    stale = 0
    for _ in range(epochs):
        order = torch.randperm(len(xt), generator=gen)
        for start in range(0, len(xt), batch_size):
            batch = order[start : start + batch_size]
            optimizer.zero_grad()
            loss_fn(xt[batch], yt[batch]).backward()
            optimizer.step()
        with torch.no_grad():
            val = float(loss_fn(xv, yv))
        history.append(val)
        if val < best_val - 1e-6:
            best_val, best_weight, stale = val, weight.detach().clone(), 0
        else:
            stale += 1
            if stale >= patience:
                break
    new_weight = best_weight.double().numpy()
    improved = best_val < initial_val
    calibrated = LinearMap(
        method=linear.method, weight=new_weight if improved else linear.weight,
        inverse_weight=pseudo_inverse(new_weight) if improved else linear.inverse_weight,
        mean_x=linear.mean_x, scale_x=linear.scale_x, mean_y=linear.mean_y, scale_y=linear.scale_y,
        hyperparams={**linear.hyperparams, "calibrated": improved},
    )
    return calibrated, {"initial_validation_loss": initial_val, "best_validation_loss": best_val,
                        "epochs_run": len(history), "validation_loss": history, "kept": improved}
