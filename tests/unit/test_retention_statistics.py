"""Retention statistics with known answers (alignment_plugins.retention)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alignment_plugins.retention import as_arrays, best_coefficient, bootstrap_interval, retention_statistics

COEFS = ("1.0", "2.0", "4.0")


def _effects(native: float = 1.0, transferred: float = 0.5, random: float = 0.0, n: int = 20) -> dict:
    """Effects linear in the coefficient: arm a at c has effect slope_a · c on every prompt."""
    return {arm: {c: [slope * float(c)] * n for c in COEFS}
            for arm, slope in (("native", native), ("random", random), ("moved", transferred))}


def test_linear_effects_give_the_slope_ratio() -> None:
    stats = retention_statistics(_effects(), "moved")
    assert stats["retention"] == pytest.approx(0.5)
    assert stats["retention_matched_norm"] == pytest.approx(0.5)
    assert stats["random_control"] == pytest.approx(0.0)
    assert stats["best_coefficient"] == 4.0 and stats["native_best_coefficient"] == 4.0
    assert stats["anti_steerable_fraction"] == 0.0


def test_random_effect_is_subtracted() -> None:
    effects = _effects(native=1.0, transferred=0.6, random=0.2)
    stats = retention_statistics(effects, "moved")
    assert stats["retention"] == pytest.approx((2.4 - 0.8) / (4.0 - 0.8))
    assert stats["random_control"] == pytest.approx(0.2)


def test_best_coefficients_are_chosen_per_arm() -> None:
    effects = {"native": {"1.0": [1.0], "2.0": [3.0], "4.0": [2.0]},
               "random": {"1.0": [0.0], "2.0": [0.0], "4.0": [0.0]},
               "moved": {"1.0": [0.5], "2.0": [1.0], "4.0": [2.7]}}
    stats = retention_statistics(effects, "moved")
    assert stats["native_best_coefficient"] == 2.0 and stats["best_coefficient"] == 4.0
    assert stats["retention"] == pytest.approx(2.7 / 3.0)
    assert stats["retention_matched_norm"] == pytest.approx(1.0 / 3.0)  # at the native's c = 2


def test_anti_steerable_prompts_are_counted() -> None:
    effects = _effects(n=10)
    effects["moved"]["4.0"] = [2.0] * 7 + [-1.0] * 3
    assert retention_statistics(effects, "moved")["anti_steerable_fraction"] == pytest.approx(0.3)


def test_a_native_no_better_than_random_gives_nan() -> None:
    stats = retention_statistics(_effects(native=0.1, random=0.3), "moved")
    assert math.isnan(stats["retention"]) and math.isnan(stats["retention_matched_norm"])


def test_rows_select_prompts() -> None:
    effects = _effects(n=4)
    effects["moved"] = {c: [0.0, 0.0, 4.0 * float(c), 4.0 * float(c)] for c in COEFS}
    assert retention_statistics(effects, "moved", np.array([2, 3]))["retention"] == pytest.approx(4.0)
    assert retention_statistics(effects, "moved", np.array([0, 1]))["retention"] == pytest.approx(0.0)


def test_missing_arm_and_ragged_effects_are_rejected() -> None:
    with pytest.raises(KeyError, match="'other'"):
        retention_statistics(_effects(), "other")
    ragged = _effects()
    ragged["moved"]["1.0"] = [1.0]
    with pytest.raises(ValueError, match="different numbers of prompts"):
        as_arrays(ragged)
    with pytest.raises(ValueError, match="no coefficients"):
        best_coefficient({})


def test_bootstrap_interval_covers_the_mean_and_shrinks_with_n() -> None:
    rng = np.random.default_rng(0)
    small, large = rng.normal(1.0, 1.0, 30), rng.normal(1.0, 1.0, 3000)
    lo_s, hi_s = bootstrap_interval(lambda r: float(small[r].mean()), len(small))
    lo_l, hi_l = bootstrap_interval(lambda r: float(large[r].mean()), len(large))
    assert lo_s < small.mean() < hi_s and lo_l < 1.0 < hi_l
    assert hi_l - lo_l < (hi_s - lo_s) / 5
    assert all(math.isnan(v) for v in bootstrap_interval(lambda r: float("nan"), 5, reps=10))
