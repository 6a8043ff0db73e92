"""Regularized canonical correlation analysis (CCA) map between activation spaces."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from alignment_plugins.solvers.base import LinearMap, Solver, thin_svd
from alignment_plugins.solvers.stats import CrossStats

__all__ = ["CCASolver", "psd_inv_sqrt"]

_MAX_STORED_CORRELATIONS = 64


def psd_inv_sqrt(c: np.ndarray, ridge: float) -> np.ndarray:
    """A^{-1/2} of A = C + ridge·I for symmetric PSD C (dimensionless); eigenvalues <= d·eps·max are pseudo-inverted."""
    w, v = np.linalg.eigh(0.5 * (c + c.T))
    w = np.clip(w, 0.0, None) + ridge
    top = float(w.max()) if w.size else 0.0
    keep = w > w.size * np.finfo(np.float64).eps * top
    inv_sqrt_w = np.zeros_like(w)
    inv_sqrt_w[keep] = 1.0 / np.sqrt(w[keep])
    return (v * inv_sqrt_w) @ v.T


class CCASolver(Solver):
    """Regularized CCA regression: ỹ ≈ Ky⁻¹ V_k S_k U_kᵀ Kx x̃, Kx = (C_x̃x̃ + rx I)^{-1/2}, Ky = (C_ỹỹ + ry I)^{-1/2}.

    Kx C_x̃ỹ Ky = U S Vᵀ (thin SVD; S = canonical correlations), rx = r·tr(C_x̃x̃)/dx, ry = r·tr(C_ỹỹ)/dy.
    With all components and r → 0 this is OLS: W = C_ỹx̃ C_x̃x̃⁻¹. Inverse: x̃ ≈ Kx⁻¹ U_k S_k V_kᵀ Ky ỹ.
    Evaluated without the ill-conditioned product Ky⁻¹·Ky, using V_k S_k = Tᵀ U_k and U_k S_k = T V_k:
    W = C_ỹx̃ Kx U_k U_kᵀ Kx (dy, dx) and W⁺ = C_x̃ỹ Ky V_k V_kᵀ Ky (dx, dy) (identical in exact arithmetic).
    Hyperparameters: ``regularization`` r >= 0 (default 1e-3), ``n_components`` k (None = min(dx, dy)).
    """

    name: ClassVar[str] = "cca"
    description: ClassVar[str] = (
        "Regularized canonical correlation analysis; regression through the top-k canonical pairs, "
        "robust to anisotropic and correlated dimensions."
    )
    defaults: ClassVar[dict[str, Any]] = {"regularization": 1e-3, "n_components": None}

    def validate_hyperparams(self, params: dict[str, Any]) -> dict[str, Any]:
        """Require regularization >= 0 (finite float) and n_components a positive int or None."""
        params["regularization"] = self._nonneg_float("regularization", params["regularization"])
        params["n_components"] = self._positive_int("n_components", params["n_components"], allow_none=True)
        return params

    def fit(self, stats: CrossStats) -> LinearMap:
        """Fit the CCA map in normalized coordinates; canonical correlations go to hyperparams (dimensionless)."""
        prob = self.prepare(stats)
        dx, dy = prob.cxy.shape
        r = self.hyperparams["regularization"]
        rx = r * float(np.trace(prob.cxx)) / dx
        ry = r * float(np.trace(prob.cyy)) / dy
        kx = psd_inv_sqrt(prob.cxx, rx)
        ky = psd_inv_sqrt(prob.cyy, ry)
        u, s, vt = thin_svd(kx @ prob.cxy @ ky)
        requested = self.hyperparams["n_components"]
        k = min(dx, dy) if requested is None else min(requested, dx, dy)
        a = kx @ u[:, :k]  # canonical source directions Kx U_k, (dx, k)
        b = ky @ vt[:k].T  # canonical target directions Ky V_k, (dy, k)
        weight = (prob.cxy.T @ a) @ a.T  # = Ky⁻¹ V_k S_k U_kᵀ Kx, (dy, dx)
        inverse_weight = (prob.cxy @ b) @ b.T  # = Kx⁻¹ U_k S_k V_kᵀ Ky, (dx, dy)
        return self.make_map(
            prob,
            weight,
            inverse_weight,
            effective_components=int(k),
            canonical_correlations=[float(v) for v in s[: min(k, _MAX_STORED_CORRELATIONS)]],
        )
