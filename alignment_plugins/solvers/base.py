"""Fitted linear maps between activation spaces and the abstract solver interface.

A ``LinearMap`` works in normalized coordinates x̃ = (x − μx)/sx, ỹ = (y − μy)/sy:
    ỹ = W x̃                      (forward,  W (dy, dx))
    x̃ ≈ W⁺ ỹ                     (inverse,  W⁺ = inverse_weight (dx, dy))
so in raw coordinates y = μy + sy ⊙ (W ((x − μx)/sx)) = E x + b, with E = diag(sy) W diag(1/sx), b = μy − E μx.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import numpy as np

from alignment_plugins.solvers.stats import (
    NORMALIZATION_MODES,
    CrossStats,
    normalization_scales,
    normalized_covariances,
)

__all__ = ["TENSOR_KEYS", "LinearMap", "NormalizedProblem", "Solver", "pseudo_inverse", "thin_svd"]

TENSOR_KEYS: tuple[str, ...] = ("weight", "inverse_weight", "mean_x", "scale_x", "mean_y", "scale_y")


def thin_svd(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thin SVD A = U diag(s) Vᵀ (s descending); falls back to the eigendecomposition of the smaller Gram matrix
    when LAPACK's divide-and-conquer driver does not converge (seen on rank-deficient maps, N < d)."""
    a = np.asarray(a, dtype=np.float64)
    try:
        return np.linalg.svd(a, full_matrices=False)
    except np.linalg.LinAlgError:
        pass
    transpose = a.shape[0] < a.shape[1]
    m = a.T if transpose else a  # (rows >= cols)
    evals, v = np.linalg.eigh(m.T @ m)
    order = np.argsort(evals)[::-1]
    s = np.sqrt(np.clip(evals[order], 0.0, None))
    v = v[:, order]
    # Squaring the matrix squares its condition number: singular values below √eps·max are not resolved.
    keep = s > (s[0] * 1e-7 if s.size and s[0] > 0 else 0.0)
    s = np.where(keep, s, 0.0)
    u = np.zeros((m.shape[0], s.size))
    u[:, keep] = (m @ v[:, keep]) / s[keep]
    if transpose:
        return v, s, u.T
    return u, s, v.T


def pseudo_inverse(a: np.ndarray, rcond: float = 1e-10) -> np.ndarray:
    """Moore–Penrose pseudo-inverse A⁺ = V diag(1/s) Uᵀ keeping singular values s > rcond·max(s) (shape (n, m))."""
    a = np.asarray(a, dtype=np.float64)
    u, s, vt = thin_svd(a)
    if s.size == 0 or not s[0] > 0.0:
        return np.zeros((a.shape[1], a.shape[0]), dtype=np.float64)
    keep = s > rcond * s[0]
    inv_s = np.zeros_like(s)
    inv_s[keep] = 1.0 / s[keep]
    return (vt.T * inv_s) @ u.T


def _as_float64(name: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Coerce a parameter to a contiguous finite float64 array of the given shape."""
    arr = np.ascontiguousarray(np.asarray(value, dtype=np.float64))
    if arr.shape != shape:
        raise ValueError(f"LinearMap.{name}: expected shape {shape}, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"LinearMap.{name}: non-finite values")
    return arr


@dataclass(eq=False)
class LinearMap:
    """A fitted affine map source → target, stored in normalized coordinates (ỹ = weight @ x̃)."""

    method: str
    weight: np.ndarray
    inverse_weight: np.ndarray
    mean_x: np.ndarray
    scale_x: np.ndarray
    mean_y: np.ndarray
    scale_y: np.ndarray
    hyperparams: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Validate shapes (weight (dy,dx), inverse (dx,dy), means/scales (dx,)/(dy,)) and upcast to float64."""
        w = np.asarray(self.weight)
        if w.ndim != 2:
            raise ValueError(f"LinearMap.weight must be 2-D (dy, dx), got shape {w.shape}")
        dy, dx = w.shape
        self.weight = _as_float64("weight", w, (dy, dx))
        self.inverse_weight = _as_float64("inverse_weight", self.inverse_weight, (dx, dy))
        self.mean_x = _as_float64("mean_x", self.mean_x, (dx,))
        self.scale_x = _as_float64("scale_x", self.scale_x, (dx,))
        self.mean_y = _as_float64("mean_y", self.mean_y, (dy,))
        self.scale_y = _as_float64("scale_y", self.scale_y, (dy,))
        if np.any(self.scale_x == 0.0) or np.any(self.scale_y == 0.0):
            raise ValueError("LinearMap scales must be non-zero")
        self.method = str(self.method)
        self.hyperparams = dict(self.hyperparams or {})

    @property
    def dx(self) -> int:
        """Source hidden size."""
        return int(self.weight.shape[1])

    @property
    def dy(self) -> int:
        """Target hidden size."""
        return int(self.weight.shape[0])

    # ------------------------------------------------------------------ application
    @staticmethod
    def _check_input(v: Any, dim: int, side: str) -> tuple[np.ndarray, Any]:
        """Return (float64 view of v, output dtype) after checking v is (dim,) or (N, dim)."""
        arr = np.asarray(v)
        if arr.ndim not in (1, 2):
            raise ValueError(f"expected {side} vectors of shape ({dim},) or (N, {dim}), got shape {arr.shape}")
        if arr.shape[-1] != dim:
            raise ValueError(f"expected {side} dim {dim}, got {arr.shape[-1]} (input shape {arr.shape})")
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"expected real-valued {side} vectors, got dtype {arr.dtype}")
        out_dtype = np.float32 if arr.dtype == np.float32 else np.float64
        return arr.astype(np.float64, copy=False), out_dtype

    @staticmethod
    def _apply(mat: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Apply mat to a vector (d,) or to each row of (N, d)."""
        return mat @ v if v.ndim == 1 else v @ mat.T

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Map raw source activations (dx,) or (N, dx) to raw target units: y = μy + sy ⊙ (W ((x − μx)/sx))."""
        xa, out = self._check_input(x, self.dx, "source")
        y = self._apply(self.weight, (xa - self.mean_x) / self.scale_x) * self.scale_y + self.mean_y
        return y.astype(out, copy=False)

    def transform_direction(self, v: np.ndarray) -> np.ndarray:
        """Map a source direction/difference (dx,) or (N, dx) to target units without mean shift: sy ⊙ (W (v/sx))."""
        va, out = self._check_input(v, self.dx, "source")
        y = self._apply(self.weight, va / self.scale_x) * self.scale_y
        return y.astype(out, copy=False)

    def inverse(self, y: np.ndarray) -> np.ndarray:
        """Map raw target activations (dy,) or (N, dy) back to source units: x = μx + sx ⊙ (W⁺ ((y − μy)/sy))."""
        ya, out = self._check_input(y, self.dy, "target")
        x = self._apply(self.inverse_weight, (ya - self.mean_y) / self.scale_y) * self.scale_x + self.mean_x
        return x.astype(out, copy=False)

    def inverse_direction(self, v: np.ndarray) -> np.ndarray:
        """Map a target direction (dy,) or (N, dy) back to source units without mean shift: sx ⊙ (W⁺ (v/sy))."""
        va, out = self._check_input(v, self.dy, "target")
        x = self._apply(self.inverse_weight, va / self.scale_y) * self.scale_x
        return x.astype(out, copy=False)

    def effective_weight(self) -> np.ndarray:
        """Raw-coordinate weight E = diag(sy) W diag(1/sx), shape (dy, dx), target units per source unit."""
        return self.scale_y[:, None] * self.weight / self.scale_x[None, :]

    def bias(self) -> np.ndarray:
        """Raw-coordinate bias b = μy − E μx, shape (dy,), target units (so y = E x + b)."""
        return self.mean_y - self.effective_weight() @ self.mean_x

    # ------------------------------------------------------------------ storage
    def tensors(self) -> dict[str, np.ndarray]:
        """Storage tensors as float32 copies: weight, inverse_weight, mean_x, scale_x, mean_y, scale_y."""
        return {key: np.asarray(getattr(self, key), dtype=np.float32).copy() for key in TENSOR_KEYS}

    @classmethod
    def from_tensors(
        cls, method: str, tensors: Mapping[str, np.ndarray], hyperparams: Mapping[str, Any] | None = None
    ) -> LinearMap:
        """Rebuild a map from ``tensors()`` output (float32 or float64, upcast to float64) plus hyperparams."""
        missing = [key for key in TENSOR_KEYS if key not in tensors]
        if missing:
            raise ValueError(f"LinearMap tensors missing keys {missing}; expected {list(TENSOR_KEYS)}")
        arrays = {key: np.array(tensors[key], dtype=np.float64) for key in TENSOR_KEYS}
        return cls(method=method, hyperparams=dict(hyperparams or {}), **arrays)


# ---------------------------------------------------------------------- solvers
class NormalizedProblem(NamedTuple):
    """Normalized-coordinate fitting problem derived from CrossStats (all float64)."""

    mean_x: np.ndarray  # (dx,) source units
    scale_x: np.ndarray  # (dx,) source units
    mean_y: np.ndarray  # (dy,) target units
    scale_y: np.ndarray  # (dy,) target units
    cxx: np.ndarray  # (dx, dx) dimensionless C_x̃x̃
    cyy: np.ndarray  # (dy, dy) dimensionless C_ỹỹ
    cxy: np.ndarray  # (dx, dy) dimensionless C_x̃ỹ
    n: int


class Solver(abc.ABC):
    """Fits a ``LinearMap`` from ``CrossStats``; subclasses declare ``name``, ``description`` and ``defaults``."""

    name: ClassVar[str]
    description: ClassVar[str]
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, normalization: str = "standardize", **hyperparams: Any) -> None:
        """Store validated hyperparameters; unknown names raise TypeError listing the valid ones."""
        valid = ["normalization", *self.defaults]
        unknown = sorted(set(hyperparams) - set(self.defaults))
        if unknown:
            raise TypeError(
                f"{type(self).__name__} ({self.name!r}) got unknown hyperparameter(s) {unknown}; valid: {valid}"
            )
        if normalization not in NORMALIZATION_MODES:
            raise ValueError(f"unknown normalization {normalization!r}; expected one of {list(NORMALIZATION_MODES)}")
        self.normalization: str = normalization
        params = dict(self.defaults)
        params.update(hyperparams)
        self.hyperparams: dict[str, Any] = self.validate_hyperparams(params)

    def __repr__(self) -> str:
        """Solver name and hyperparameters."""
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparams.items())
        return f"{type(self).__name__}(normalization={self.normalization!r}{', ' if args else ''}{args})"

    def validate_hyperparams(self, params: dict[str, Any]) -> dict[str, Any]:
        """Check and coerce hyperparameter values to JSON-serializable Python types; returns the clean dict."""
        return params

    @staticmethod
    def _nonneg_float(name: str, value: Any) -> float:
        """Coerce a non-negative finite float hyperparameter (TypeError for non-numbers, ValueError if < 0)."""
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name} must be a non-negative number, got {value!r}")
        out = float(value)
        if not math.isfinite(out) or out < 0.0:
            raise ValueError(f"{name} must be a non-negative finite number, got {value!r}")
        return out

    @staticmethod
    def _positive_int(name: str, value: Any, allow_none: bool = False) -> int | None:
        """Coerce a positive int hyperparameter (or None when allowed); TypeError for non-ints, ValueError if < 1."""
        if value is None and allow_none:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be a positive integer{' or None' if allow_none else ''}, got {value!r}")
        if value < 1:
            raise ValueError(f"{name} must be a positive integer{' or None' if allow_none else ''}, got {value!r}")
        return int(value)

    def prepare(self, stats: CrossStats) -> NormalizedProblem:
        """Means, scales and normalized covariances C_x̃x̃, C_ỹỹ, C_x̃ỹ for this solver's normalization."""
        if not isinstance(stats, CrossStats):
            raise TypeError(f"fit() expects CrossStats, got {type(stats).__name__}")
        if stats.n < 1:
            raise ValueError("cannot fit from empty CrossStats (n=0)")
        sx, sy = normalization_scales(stats, self.normalization)
        cxx, cyy, cxy = normalized_covariances(stats, sx, sy)
        return NormalizedProblem(stats.mean_x, sx, stats.mean_y, sy, cxx, cyy, cxy, int(stats.n))

    def make_map(
        self, prob: NormalizedProblem, weight: np.ndarray, inverse_weight: np.ndarray, **extra: Any
    ) -> LinearMap:
        """Wrap normalized-coordinate weights into a LinearMap recording normalization, hyperparams and extras."""
        hp: dict[str, Any] = {"normalization": self.normalization, **self.hyperparams, "n_samples": prob.n}
        hp.update(extra)
        return LinearMap(
            method=self.name,
            weight=weight,
            inverse_weight=inverse_weight,
            mean_x=prob.mean_x,
            scale_x=prob.scale_x,
            mean_y=prob.mean_y,
            scale_y=prob.scale_y,
            hyperparams=hp,
        )

    @abc.abstractmethod
    def fit(self, stats: CrossStats) -> LinearMap:
        """Fit the map from sufficient statistics (O(d²) memory)."""

    def fit_arrays(self, x: np.ndarray, y: np.ndarray) -> LinearMap:
        """Convenience: fit from paired arrays x (N, dx), y (N, dy) via ``CrossStats.from_arrays_xy``."""
        return self.fit(CrossStats.from_arrays_xy(x, y))
