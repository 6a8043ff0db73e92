"""Streaming sufficient statistics for fitting a linear map between two activation spaces.

Memory is O(dx² + dy² + dx·dy) whatever the number of anchors N: rows are folded into running means and
*centred* co-moments (Chan et al. pairwise update) and then dropped, so covariances stay accurate even when
activations have large means relative to their spread (the naive ``sxx/n − μμᵀ`` loses digits there).

Notation (population statistics, 1/n):
    μx = (1/n) Σ x,   Cxx = (1/n) Σ (x − μx)(x − μx)ᵀ,   Cxy = (1/n) Σ (x − μx)(y − μy)ᵀ.
Normalized coordinates: x̃ = (x − μx)/sx, ỹ = (y − μy)/sy, hence C_x̃x̃ = Cxx / (sx sxᵀ), C_x̃ỹ = Cxy / (sx syᵀ).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = [
    "NORMALIZATION_MODES",
    "CrossStats",
    "normalization_scales",
    "normalized_covariances",
]

NORMALIZATION_MODES: tuple[str, ...] = ("standardize", "scalar", "none")

_STD_FLOOR_REL = 1e-8


def _as_batch(a: Any, side: str, symbol: str) -> np.ndarray:
    """Validate one side of a batch; float32 input stays float32 (chunk products), anything else becomes float64."""
    arr = np.asarray(a)
    if arr.ndim != 2:
        raise ValueError(f"{side} activations must be a 2-D array (N, {symbol}), got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{side} activations must be real numbers, got dtype {arr.dtype}")
    if arr.dtype != np.float32:
        arr = arr.astype(np.float64, copy=False)
    if not np.isfinite(arr).all():
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"non-finite values in {side} activations ({bad} NaN/inf entries)")
    return arr


class CrossStats:
    """Streaming float64 statistics of paired activations: count, means and centred (co-)moments.

    Internal state: ``n``; ``_mean_x`` (dx,), ``_mean_y`` (dy,); ``_m_xx = Σ (x−μx)(x−μx)ᵀ`` (dx,dx),
    ``_m_yy`` (dy,dy), ``_m_xy = Σ (x−μx)(y−μy)ᵀ`` (dx,dy).  The raw sums of the classic formulation
    (``sum_x = n μx``, ``sxx = Σ x xᵀ = M_xx + n μx μxᵀ`` …) are available as read-only properties.
    """

    def __init__(self, dx: int, dy: int) -> None:
        """Create empty statistics for source dim ``dx`` and target dim ``dy`` (both positive ints)."""
        for label, d in (("dx", dx), ("dy", dy)):
            if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
                raise ValueError(f"{label} must be a positive integer, got {d!r}")
        self.dx = int(dx)
        self.dy = int(dy)
        self.n = 0
        self._mean_x = np.zeros(self.dx, dtype=np.float64)
        self._mean_y = np.zeros(self.dy, dtype=np.float64)
        self._m_xx = np.zeros((self.dx, self.dx), dtype=np.float64)
        self._m_yy = np.zeros((self.dy, self.dy), dtype=np.float64)
        self._m_xy = np.zeros((self.dx, self.dy), dtype=np.float64)

    def __repr__(self) -> str:
        """Short description: dims and sample count."""
        return f"CrossStats(dx={self.dx}, dy={self.dy}, n={self.n})"

    # ------------------------------------------------------------------ accumulation
    def _combine(
        self,
        n_b: int,
        mean_x_b: np.ndarray,
        mean_y_b: np.ndarray,
        m_xx_b: np.ndarray,
        m_yy_b: np.ndarray,
        m_xy_b: np.ndarray,
    ) -> None:
        """Fold a second set of centred statistics into this one in place (Chan et al. pairwise formula)."""
        if n_b == 0:
            return
        n_a = self.n
        if n_a == 0:
            self.n = int(n_b)
            self._mean_x = mean_x_b.copy()
            self._mean_y = mean_y_b.copy()
            self._m_xx = m_xx_b.copy()
            self._m_yy = m_yy_b.copy()
            self._m_xy = m_xy_b.copy()
            return
        n = n_a + n_b
        dmx = mean_x_b - self._mean_x
        dmy = mean_y_b - self._mean_y
        w = n_a * n_b / n
        self._m_xx = self._m_xx + m_xx_b + w * np.outer(dmx, dmx)
        self._m_yy = self._m_yy + m_yy_b + w * np.outer(dmy, dmy)
        self._m_xy = self._m_xy + m_xy_b + w * np.outer(dmx, dmy)
        self._mean_x = self._mean_x + dmx * (n_b / n)
        self._mean_y = self._mean_y + dmy * (n_b / n)
        self.n = int(n)

    def update(self, x: np.ndarray, y: np.ndarray) -> CrossStats:
        """Add a batch of paired rows x (N, dx) and y (N, dy) (activation units) in place; returns ``self``."""
        xb = _as_batch(x, "source", "dx")
        yb = _as_batch(y, "target", "dy")
        if xb.shape[1] != self.dx:
            raise ValueError(f"source activations: expected dx={self.dx} columns, got {xb.shape[1]}")
        if yb.shape[1] != self.dy:
            raise ValueError(f"target activations: expected dy={self.dy} columns, got {yb.shape[1]}")
        if xb.shape[0] != yb.shape[0]:
            raise ValueError(
                f"source and target batches must have the same number of rows (paired anchors), "
                f"got {xb.shape[0]} and {yb.shape[0]}"
            )
        nb = xb.shape[0]
        if nb == 0:
            return self
        # Means in float64; the centred chunk products in the input's precision (float32 activations: the
        # per-chunk sums are single precision, the running totals across chunks stay float64).
        mx = xb.mean(axis=0, dtype=np.float64)
        my = yb.mean(axis=0, dtype=np.float64)
        xc = xb - mx.astype(xb.dtype)
        yc = yb - my.astype(yb.dtype)
        m_xx = (xc.T @ xc).astype(np.float64)
        m_yy = (yc.T @ yc).astype(np.float64)
        m_xy = (xc.T @ yc).astype(np.float64)
        self._combine(nb, mx, my, 0.5 * (m_xx + m_xx.T), 0.5 * (m_yy + m_yy.T), m_xy)
        return self

    def merge(self, other: CrossStats, weight: float = 1.0) -> CrossStats:
        """Return new statistics equal to those of the union of both sample sets (shards merge in any order).

        With `weight` w ≠ 1 every row of `other` counts w times: its count becomes round(w·n) and its centred
        moments are scaled by the same factor (a weighted least-squares fit sees its rows w times as heavily).
        """
        if not isinstance(weight, (int, float, np.integer, np.floating)) or isinstance(weight, bool) or not (
                math.isfinite(weight) and weight > 0):
            raise ValueError(f"weight must be a positive finite number, got {weight!r}")
        if not isinstance(other, CrossStats):
            raise TypeError(f"can only merge CrossStats, got {type(other).__name__}")
        if (self.dx, self.dy) != (other.dx, other.dy):
            raise ValueError(
                f"cannot merge CrossStats with different dims: (dx={self.dx}, dy={self.dy}) vs "
                f"(dx={other.dx}, dy={other.dy})"
            )
        out = self.copy()
        n_b = max(1, round(other.n * float(weight))) if other.n else 0
        f = n_b / other.n if other.n else 1.0
        out._combine(n_b, other._mean_x, other._mean_y, f * other._m_xx, f * other._m_yy, f * other._m_xy)
        return out

    def copy(self) -> CrossStats:
        """Return an independent deep copy."""
        out = CrossStats(self.dx, self.dy)
        out._combine(self.n, self._mean_x, self._mean_y, self._m_xx, self._m_yy, self._m_xy)
        return out

    def swapped(self) -> CrossStats:
        """The statistics of the same pairs read the other way round (target as x, source as y)."""
        out = CrossStats(self.dy, self.dx)
        out._combine(self.n, self._mean_y, self._mean_x, self._m_yy, self._m_xx, self._m_xy.T)
        return out

    @classmethod
    def from_arrays_xy(cls, x: np.ndarray, y: np.ndarray, chunk: int = 4096) -> CrossStats:
        """Build statistics from full paired arrays x (N, dx), y (N, dy), streaming ``chunk`` rows at a time."""
        if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
            raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
        xa = np.asarray(x)
        ya = np.asarray(y)
        if xa.ndim != 2:
            raise ValueError(f"source activations must be a 2-D array (N, dx), got shape {xa.shape}")
        if ya.ndim != 2:
            raise ValueError(f"target activations must be a 2-D array (N, dy), got shape {ya.shape}")
        if xa.shape[0] != ya.shape[0]:
            raise ValueError(
                f"source and target arrays must have the same number of rows (paired anchors), "
                f"got {xa.shape[0]} and {ya.shape[0]}"
            )
        stats = cls(xa.shape[1], ya.shape[1])
        for start in range(0, xa.shape[0], int(chunk)):
            stats.update(xa[start : start + chunk], ya[start : start + chunk])
        return stats

    # ------------------------------------------------------------------ raw-sum views
    @property
    def sum_x(self) -> np.ndarray:
        """Σ x over all rows, shape (dx,), source units."""
        return self.n * self._mean_x

    @property
    def sum_y(self) -> np.ndarray:
        """Σ y over all rows, shape (dy,), target units."""
        return self.n * self._mean_y

    @property
    def sxx(self) -> np.ndarray:
        """Σ x xᵀ = M_xx + n μx μxᵀ, shape (dx, dx), source units²."""
        return self._m_xx + self.n * np.outer(self._mean_x, self._mean_x)

    @property
    def syy(self) -> np.ndarray:
        """Σ y yᵀ = M_yy + n μy μyᵀ, shape (dy, dy), target units²."""
        return self._m_yy + self.n * np.outer(self._mean_y, self._mean_y)

    @property
    def sxy(self) -> np.ndarray:
        """Σ x yᵀ = M_xy + n μx μyᵀ, shape (dx, dy), source·target units."""
        return self._m_xy + self.n * np.outer(self._mean_x, self._mean_y)

    # ------------------------------------------------------------------ moments
    def _require_samples(self) -> None:
        """Raise ValueError if no rows have been added yet."""
        if self.n < 1:
            raise ValueError("CrossStats has no samples; call update() with at least one row first")

    @property
    def mean_x(self) -> np.ndarray:
        """Source mean μx = Σx / n, shape (dx,), source units."""
        self._require_samples()
        return self._mean_x.copy()

    @property
    def mean_y(self) -> np.ndarray:
        """Target mean μy = Σy / n, shape (dy,), target units."""
        self._require_samples()
        return self._mean_y.copy()

    def cov_xx(self) -> np.ndarray:
        """Population source covariance Cxx = (1/n) Σ (x−μx)(x−μx)ᵀ, symmetric (dx, dx), source units²."""
        self._require_samples()
        c = self._m_xx / self.n
        return 0.5 * (c + c.T)

    def cov_yy(self) -> np.ndarray:
        """Population target covariance Cyy = (1/n) Σ (y−μy)(y−μy)ᵀ, symmetric (dy, dy), target units²."""
        self._require_samples()
        c = self._m_yy / self.n
        return 0.5 * (c + c.T)

    def cov_xy(self) -> np.ndarray:
        """Population cross-covariance Cxy = (1/n) Σ (x−μx)(y−μy)ᵀ, shape (dx, dy), source·target units."""
        self._require_samples()
        return self._m_xy / self.n

    def std_x(self) -> np.ndarray:
        """Per-dimension source standard deviation sqrt(diag Cxx), shape (dx,), source units."""
        return np.sqrt(np.clip(np.diag(self.cov_xx()), 0.0, None))

    def std_y(self) -> np.ndarray:
        """Per-dimension target standard deviation sqrt(diag Cyy), shape (dy,), target units."""
        return np.sqrt(np.clip(np.diag(self.cov_yy()), 0.0, None))

    # ------------------------------------------------------------------ (de)serialization
    def to_arrays(self) -> dict[str, np.ndarray]:
        """Export the state as float64 arrays: n (0-d int64), mean_x, mean_y, m_xx, m_yy, m_xy (centred sums)."""
        return {
            "n": np.asarray(self.n, dtype=np.int64),
            "mean_x": self._mean_x.copy(),
            "mean_y": self._mean_y.copy(),
            "m_xx": self._m_xx.copy(),
            "m_yy": self._m_yy.copy(),
            "m_xy": self._m_xy.copy(),
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> CrossStats:
        """Rebuild from ``to_arrays()`` output, or from raw sums (n, sum_x, sum_y, sxx, syy, sxy)."""
        if "n" not in arrays:
            raise ValueError("CrossStats arrays need key 'n'")
        n_arr = np.asarray(arrays["n"])
        if n_arr.size != 1 or not np.isfinite(n_arr).all() or float(n_arr) < 0 or float(n_arr) != int(n_arr):
            raise ValueError(f"CrossStats 'n' must be a non-negative integer, got {n_arr!r}")
        n = int(n_arr)
        centred = ("mean_x", "mean_y", "m_xx", "m_yy", "m_xy")
        raw = ("sum_x", "sum_y", "sxx", "syy", "sxy")
        if all(k in arrays for k in centred):
            a = {k: np.asarray(arrays[k], dtype=np.float64) for k in centred}
            mean_x, mean_y = a["mean_x"], a["mean_y"]
            m_xx, m_yy, m_xy = a["m_xx"], a["m_yy"], a["m_xy"]
        elif all(k in arrays for k in raw):
            a = {k: np.asarray(arrays[k], dtype=np.float64) for k in raw}
            if n > 0:
                mean_x, mean_y = a["sum_x"] / n, a["sum_y"] / n
            else:
                mean_x, mean_y = np.zeros_like(a["sum_x"]), np.zeros_like(a["sum_y"])
            m_xx = a["sxx"] - n * np.outer(mean_x, mean_x)
            m_yy = a["syy"] - n * np.outer(mean_y, mean_y)
            m_xy = a["sxy"] - n * np.outer(mean_x, mean_y)
        else:
            raise ValueError(f"CrossStats arrays need keys {centred} or {raw}, got {sorted(arrays)}")
        if mean_x.ndim != 1 or mean_y.ndim != 1:
            raise ValueError("CrossStats means must be 1-D")
        dx, dy = mean_x.shape[0], mean_y.shape[0]
        for key, arr, shape in (("xx", m_xx, (dx, dx)), ("yy", m_yy, (dy, dy)), ("xy", m_xy, (dx, dy))):
            if arr.shape != shape:
                raise ValueError(f"CrossStats second moment '{key}' must have shape {shape}, got {arr.shape}")
        for arr in (mean_x, mean_y, m_xx, m_yy, m_xy):
            if not np.isfinite(arr).all():
                raise ValueError("non-finite values in CrossStats arrays")
        stats = cls(dx, dy)
        stats.n = n
        stats._mean_x = mean_x.copy()
        stats._mean_y = mean_y.copy()
        stats._m_xx = 0.5 * (m_xx + m_xx.T)
        stats._m_yy = 0.5 * (m_yy + m_yy.T)
        stats._m_xy = m_xy.copy()
        return stats


# ---------------------------------------------------------------------- normalization
def _side_scales(std: np.ndarray, mode: str) -> np.ndarray:
    """Scale vector for one side given its per-dim std (units of that side)."""
    d = std.shape[0]
    if mode == "none":
        return np.ones(d, dtype=np.float64)
    if mode == "scalar":
        s = float(np.sqrt(np.mean(std**2)))
        return np.full(d, s if s > 0.0 and np.isfinite(s) else 1.0, dtype=np.float64)
    # standardize
    top = float(std.max()) if d else 0.0
    if not top > 0.0:
        return np.ones(d, dtype=np.float64)
    return np.maximum(std, _STD_FLOOR_REL * top)


def normalization_scales(stats: CrossStats, mode: str = "standardize") -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension scales (sx (dx,), sy (dy,)) in raw activation units for x̃ = (x − μx)/sx, ỹ = (y − μy)/sy.

    Modes: "standardize": s_i = max(std_i, 1e-8·max_j std_j) (all ones if the side is constant);
    "scalar": s_i = sqrt(mean_j Var_j) for every i (one isotropic scale per side, preserves geometry);
    "none": s_i = 1.
    """
    if mode not in NORMALIZATION_MODES:
        raise ValueError(f"unknown normalization {mode!r}; expected one of {list(NORMALIZATION_MODES)}")
    return _side_scales(stats.std_x(), mode), _side_scales(stats.std_y(), mode)


def normalized_covariances(
    stats: CrossStats, scale_x: np.ndarray, scale_y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dimensionless covariances (C_x̃x̃, C_ỹỹ, C_x̃ỹ) = (Cxx/(sx sxᵀ), Cyy/(sy syᵀ), Cxy/(sx syᵀ)) from stats only."""
    sx = np.asarray(scale_x, dtype=np.float64)
    sy = np.asarray(scale_y, dtype=np.float64)
    if sx.shape != (stats.dx,) or sy.shape != (stats.dy,):
        raise ValueError(f"scales must have shapes ({stats.dx},) and ({stats.dy},), got {sx.shape} and {sy.shape}")
    cxx = stats.cov_xx() / np.outer(sx, sx)
    cyy = stats.cov_yy() / np.outer(sy, sy)
    cxy = stats.cov_xy() / np.outer(sx, sy)
    return 0.5 * (cxx + cxx.T), 0.5 * (cyy + cyy.T), cxy
