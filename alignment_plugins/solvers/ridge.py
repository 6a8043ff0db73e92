"""Ridge (Tikhonov-regularized least-squares) regression between activation spaces."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from alignment_plugins.solvers.base import LinearMap, Solver
from alignment_plugins.solvers.stats import CrossStats

__all__ = ["RidgeSolver", "ridge_weight"]


def ridge_weight(cxx: np.ndarray, cxy: np.ndarray, regularization: float) -> np.ndarray:
    """Ridge weight W = ((C_x̃x̃ + λ' I)⁻¹ C_x̃ỹ)ᵀ, λ' = regularization·tr(C_x̃x̃)/dx; returns (dy, dx), dimensionless."""
    dx = cxx.shape[0]
    lam = float(regularization) * float(np.trace(cxx)) / dx
    a = cxx + lam * np.eye(dx)
    try:
        np.linalg.cholesky(a)  # positive-definite check: solve is then well posed
        b = np.linalg.solve(a, cxy)
    except np.linalg.LinAlgError:
        # singular system (λ' = 0 with rank-deficient C_x̃x̃): minimum-norm least-squares solution
        b = np.linalg.lstsq(a, cxy, rcond=None)[0]
    return np.ascontiguousarray(b.T)


class RidgeSolver(Solver):
    """Ridge regression ỹ ≈ W x̃ with W = ((C_x̃x̃ + λ' I)⁻¹ C_x̃ỹ)ᵀ, λ' = λ·tr(C_x̃x̃)/dx.

    The inverse is the reverse ridge regression x̃ ≈ V ỹ, V = ((C_ỹỹ + λ'' I)⁻¹ C_ỹx̃)ᵀ, fitted on the same anchors
    (not pinv(W): when d_target ≥ d_source, pinv(W)·W = I and a round trip would be exact by construction, so the
    reconstruction error would measure nothing).

    Hyperparameters: ``regularization`` λ >= 0 (relative to the mean normalized source variance, default 1e-2, the
    value every W-Matrix is trained with unless told otherwise).
    """

    name: ClassVar[str] = "ridge"
    description: ClassVar[str] = (
        "Ridge-regularized least squares (general linear map); inverse = the reverse ridge regression."
    )
    defaults: ClassVar[dict[str, Any]] = {"regularization": 1e-2}

    def validate_hyperparams(self, params: dict[str, Any]) -> dict[str, Any]:
        """Require regularization to be a finite float >= 0."""
        params["regularization"] = self._nonneg_float("regularization", params["regularization"])
        return params

    def fit(self, stats: CrossStats) -> LinearMap:
        """Fit the ridge map in normalized coordinates from the statistics (dimensionless weight)."""
        prob = self.prepare(stats)
        weight = ridge_weight(prob.cxx, prob.cxy, self.hyperparams["regularization"])
        inverse = ridge_weight(prob.cyy, prob.cxy.T, self.hyperparams["regularization"])
        return self.make_map(prob, weight, inverse)
