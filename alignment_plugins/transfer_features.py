"""What a transfer looks like before it is made: the vector's dimensional loss through a map and the structural
mismatch of two architectures (numpy only; no torch).

**Dimensional loss.** A ``LinearMap`` works in standardized coordinates, ỹ = W x̃ with x̃ = x / s_x for a direction
(s_x the source's per-dimension training standard deviations). With the SVD W = U Σ Vᵀ (σ₁ ≥ σ₂ ≥ …), the subspace
the map carries well is S_τ = span{v_k : σ_k ≥ τ·σ₁} (τ = ``CARRIED_THRESHOLD`` = 0.1: directions the map passes on
with at least a tenth of its strongest gain; ridge shrinks the others toward zero, and a map into fewer dimensions
has at most d_target of them). For a vector v with z = v / s_x::

    dimensional_loss(v) = 1 − ‖V_Sᵀ z‖² / ‖z‖²          (0 = all of its standardized energy is carried, 1 = none)

For an isotropic z and a map of full rank whose singular values all pass the threshold this is 1 − d_target/d_source
in expectation (the old size-ratio formula), which ``expected_dimensional_loss`` returns when no vector is known.

**Structural mismatch** = the fraction of the fields (family, normalization, positional_encoding, activation) whose
values differ between two architectures (compared case-insensitively), over the fields known on both sides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["CARRIED_THRESHOLD", "STRUCTURAL_FIELDS", "carried_basis", "dimensional_loss",
           "expected_dimensional_loss", "structural_mismatch"]

CARRIED_THRESHOLD = 0.1
STRUCTURAL_FIELDS: tuple[str, ...] = ("family", "normalization", "positional_encoding", "activation")


def carried_basis(weight: np.ndarray, threshold: float = CARRIED_THRESHOLD) -> np.ndarray:
    """Orthonormal basis (d_source, k) of the source directions a standardized map W (d_target, d_source) carries with
    singular value ≥ threshold·σ₁ (k = 0 columns for a zero map)."""
    w = np.asarray(weight, dtype=np.float64)
    if w.ndim != 2:
        raise ValueError(f"weight must be 2-D (d_target, d_source), got shape {w.shape}")
    _, s, vt = np.linalg.svd(w, full_matrices=False)
    if s.size == 0 or not s[0] > 0:
        return np.zeros((w.shape[1], 0))
    keep = s >= threshold * s[0]
    return vt[keep].T


def dimensional_loss(vector: Any, scale_x: Any, basis: np.ndarray) -> float:
    """Share (0..1) of the vector's standardized energy (z = v / s_x) outside the carried subspace `basis`."""
    v = np.asarray(vector, dtype=np.float64).reshape(-1)
    s = np.asarray(scale_x, dtype=np.float64).reshape(-1)
    if v.shape != s.shape or basis.shape[0] != v.shape[0]:
        raise ValueError(f"vector of size {v.shape[0]} does not match the map's source size {s.shape[0]}")
    if not np.isfinite(v).all():
        raise ValueError("the vector has non-finite values")
    z = v / s
    energy = float(z @ z)
    if not energy > 0:
        raise ValueError("a zero vector has no direction to carry")
    kept = basis.T @ z
    return float(min(1.0, max(0.0, 1.0 - float(kept @ kept) / energy)))


def expected_dimensional_loss(d_source: int, d_target: int) -> float:
    """Dimensional loss of an isotropic vector through a full-rank map: max(0, 1 − d_target / d_source)."""
    return max(0.0, 1.0 - d_target / d_source) if d_source else 0.0


def _field(info: Any, name: str) -> str:
    value = info.get(name) if isinstance(info, Mapping) else getattr(info, name, None)
    return str(value or "").strip().lower()


def structural_mismatch(source: Any, target: Any) -> float | None:
    """Fraction of STRUCTURAL_FIELDS known on both sides that differ (mappings or objects with those attributes);
    None when no field is known on both."""
    known = [(a, b) for a, b in ((_field(source, f), _field(target, f)) for f in STRUCTURAL_FIELDS) if a and b]
    if not known:
        return None
    return sum(a != b for a, b in known) / len(known)
