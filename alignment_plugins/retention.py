"""Retention of a steering effect after transfer: the statistics behind the support matrix.

Inputs are antisymmetric effects per arm, coefficient and prompt: ``effects[arm][c][k]`` = score(+c·v_arm) −
score(−c·v_arm) on prompt k (scorer units: VADER compound or nats). Arms: ``native`` (the target's own vector),
``random`` (equal-norm random directions, averaged per prompt), and any transferred / control arm.

With E_a(c) = mean_k effects[a][c][k] over the prompts used and c*_a = argmax_c E_a(c):

* retention (best coefficients): R = (E_arm(c*_arm) − E_rnd(c*_rnd)) / (E_native(c*_native) − E_rnd(c*_rnd))
* retention at matched norm:     R_m = (E_arm(c*_native) − E_rnd(c*_native)) / (E_native(c*_native) − E_rnd(c*_native))
* random control:                E_rnd(c*_rnd) / E_native(c*_native)
* anti-steerable fraction:       fraction of prompts k with effects[arm][c*_arm][k] < 0

A ratio whose denominator is ≤ 0 (the native vector does no better than random) is NaN. Intervals are percentile
bootstraps over prompts with every best coefficient re-chosen inside each replicate. Nothing here imports torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

Effects = Mapping[str, Mapping[str, Any]]


def as_arrays(effects: Effects) -> dict[str, dict[str, np.ndarray]]:
    """Return effects as float64 arrays ({arm: {coefficient key: (n_prompts,)}}), checking equal lengths."""
    out = {arm: {str(c): np.asarray(v, dtype=np.float64) for c, v in by_c.items()} for arm, by_c in effects.items()}
    lengths = {v.shape for by_c in out.values() for v in by_c.values()}
    if len(lengths) > 1:
        raise ValueError(f"effects have different numbers of prompts: {sorted(lengths)}")
    return out


def best_coefficient(effects: Mapping[str, np.ndarray], rows: np.ndarray | None = None) -> tuple[str, float]:
    """(coefficient key, mean effect) of the coefficient with the largest mean effect over `rows` (all if None)."""
    if not effects:
        raise ValueError("no coefficients")
    means = {c: float(e.mean() if rows is None else e[rows].mean()) for c, e in effects.items()}
    best = max(means, key=lambda c: means[c])
    return best, means[best]


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else float("nan")


def retention_statistics(effects: Effects, arm: str, rows: np.ndarray | None = None) -> dict[str, float]:
    """Retention (best coefficients and matched norm), random control and anti-steerable fraction of `arm`."""
    e = effects if _is_arrays(effects) else as_arrays(effects)
    for needed in ("native", "random", arm):
        if needed not in e:
            raise KeyError(f"effects have no {needed!r} arm")
    c_nat, e_nat = best_coefficient(e["native"], rows)
    _, e_rnd = best_coefficient(e["random"], rows)
    c_arm, e_arm = best_coefficient(e[arm], rows)

    def mean(a: str, c: str) -> float:
        values = e[a][c]
        return float(values.mean() if rows is None else values[rows].mean())

    rnd_at_nat = mean("random", c_nat)
    chosen = e[arm][c_arm] if rows is None else e[arm][c_arm][rows]
    return {
        "retention": _ratio(e_arm - e_rnd, e_nat - e_rnd),
        "retention_matched_norm": _ratio(mean(arm, c_nat) - rnd_at_nat, e_nat - rnd_at_nat),
        "random_control": _ratio(e_rnd, e_nat),
        "anti_steerable_fraction": float((chosen < 0).mean()),
        "best_coefficient": float(c_arm), "native_best_coefficient": float(c_nat),
        "effect": e_arm, "native_effect": e_nat, "random_effect": e_rnd,
    }


def _is_arrays(effects: Effects) -> bool:
    return all(isinstance(v, np.ndarray) for by_c in effects.values() for v in by_c.values())


def bootstrap_interval(
    statistic: Callable[[np.ndarray], float], n: int, *, reps: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of statistic(rows) over `n` prompts resampled with replacement (NaN-safe)."""
    rng = np.random.default_rng(seed)
    values = [statistic(rng.integers(0, n, n)) for _ in range(reps)]
    values = [v for v in values if math.isfinite(v)]
    if not values:
        return float("nan"), float("nan")
    tail = (1.0 - level) / 2 * 100
    return float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))
