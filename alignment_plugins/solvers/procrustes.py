"""Orthogonal Procrustes with a global scale, generalized to rectangular (dx != dy) spaces."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from alignment_plugins.solvers.base import LinearMap, Solver, thin_svd
from alignment_plugins.solvers.stats import CrossStats

__all__ = ["ProcrustesSolver"]


class ProcrustesSolver(Solver):
    """Scaled orthogonal Procrustes (``optimization="svd"``): ỹ ≈ c Qᵀ x̃ with Q (dx, dy) semi-orthogonal.

    M = C_x̃ỹ = U S Vᵀ (thin SVD), Q = U Vᵀ (the polar factor of M, maximizing tr(Qᵀ M));
    c = tr(S) / tr(Qᵀ C_x̃x̃ Q), the least-squares scale for fixed Q (equals the classical tr(S)/tr(C_x̃x̃)
    whenever dx <= dy, where Q Qᵀ = I); weight = c Qᵀ (dy, dx), inverse_weight = Q / c (dx, dy).
    """

    name: ClassVar[str] = "svd"
    description: ClassVar[str] = (
        "Orthogonal Procrustes with a global scale (SVD of the normalized cross-covariance); "
        "preserves angles, exact for rotations/isometric embeddings between spaces."
    )
    defaults: ClassVar[dict[str, Any]] = {}

    def fit(self, stats: CrossStats) -> LinearMap:
        """Fit c·Qᵀ in normalized coordinates from the statistics (dimensionless weight)."""
        prob = self.prepare(stats)
        u, s, vt = thin_svd(prob.cxy)
        q = u @ vt  # (dx, dy), QᵀQ = I if dx >= dy, QQᵀ = I if dx <= dy
        denom = float(np.trace(q.T @ prob.cxx @ q))
        num = float(s.sum())
        c = num / denom if denom > 0.0 else 0.0
        if c > 0.0:
            weight, inverse_weight = c * q.T, q / c
        else:
            weight, inverse_weight = np.zeros_like(q.T), np.zeros_like(q)
        return self.make_map(prob, weight, inverse_weight, scale=float(c))
