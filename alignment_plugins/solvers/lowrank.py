"""Reduced-rank (low-rank) regression between activation spaces."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from alignment_plugins.solvers.base import LinearMap, Solver
from alignment_plugins.solvers.ridge import ridge_weight
from alignment_plugins.solvers.stats import CrossStats

__all__ = ["LowRankSolver"]


class LowRankSolver(Solver):
    """Reduced-rank regression: W_r = V_r V_rᵀ B, B the ridge solution, V_r top-r eigvecs of B C_x̃x̃ Bᵀ.

    B = ((C_x̃x̃ + λ' I)⁻¹ C_x̃ỹ)ᵀ with λ' = λ·tr(C_x̃x̃)/dx; projecting onto the top principal directions of the
    fitted values gives the least-squares optimal rank-r map (for λ = 0). Inverse: the reverse ridge regression
    projected on the same rank-r target subspace.
    Hyperparameters: ``rank`` r (default max(1, min(dx, dy)//4), clamped to min(dx, dy)),
    ``regularization`` λ >= 0 (default 1e-2).
    """

    name: ClassVar[str] = "lowrank"
    description: ClassVar[str] = (
        "Reduced-rank regression: least-squares map constrained to rank r (keeps the dominant shared subspace)."
    )
    defaults: ClassVar[dict[str, Any]] = {"rank": None, "regularization": 1e-2}

    def validate_hyperparams(self, params: dict[str, Any]) -> dict[str, Any]:
        """Require rank a positive int or None (auto) and regularization a finite float >= 0."""
        params["rank"] = self._positive_int("rank", params["rank"], allow_none=True)
        params["regularization"] = self._nonneg_float("regularization", params["regularization"])
        return params

    def fit(self, stats: CrossStats) -> LinearMap:
        """Fit the rank-constrained map in normalized coordinates (dimensionless weight)."""
        prob = self.prepare(stats)
        dx, dy = prob.cxy.shape
        requested = self.hyperparams["rank"]
        rank = max(1, min(dx, dy) // 4) if requested is None else min(requested, dx, dy)
        b = ridge_weight(prob.cxx, prob.cxy, self.hyperparams["regularization"])  # (dy, dx)
        fitted_cov = b @ prob.cxx @ b.T
        _, vecs = np.linalg.eigh(0.5 * (fitted_cov + fitted_cov.T))
        v_r = vecs[:, ::-1][:, :rank]  # eigh sorts ascending
        weight = v_r @ (v_r.T @ b)
        # Inverse: the reverse ridge regression restricted to the same rank-r target subspace.
        reverse = ridge_weight(prob.cyy, prob.cxy.T, self.hyperparams["regularization"])  # (dx, dy)
        inverse = (reverse @ v_r) @ v_r.T
        return self.make_map(prob, weight, inverse, effective_rank=int(rank))
