"""Known-answer tests for alignment_plugins.layers."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from alignment_plugins.layers import best_pair, cka_matrix, monotone_layer_map, plot_cka_heatmap
from alignment_plugins.metrics import debiased_cka, linear_cka


def _layers(rng: np.random.Generator, n: int, keys: list[int], d: int) -> dict[int, np.ndarray]:
    """A toy residual stream: each layer is the previous one plus fresh noise (so nearby layers are similar)."""
    h = rng.normal(size=(n, d))
    out = {}
    for key in keys:
        h = h + 0.7 * rng.normal(size=(n, d))
        out[key] = h.copy()
    return out


# --------------------------------------------------------------------------------------------------------------------
# cka_matrix
# --------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("debiased", [False, True])
@pytest.mark.parametrize("gram_max_n", [4096, 0])  # NxN-kernel path, then feature-space path
def test_cka_matrix_matches_pairwise_metrics(debiased: bool, gram_max_n: int) -> None:
    rng = np.random.default_rng(0)
    source = _layers(rng, 60, [3, 0, 2, 1], 7)  # unsorted keys on purpose
    target = {
        k: v @ rng.normal(size=(7, 5)) + 0.5 * rng.normal(size=(60, 5))
        for k, v in _layers(rng, 60, [10, 4, 7], 7).items()
    }
    got = cka_matrix(source, target, debiased=debiased, gram_max_n=gram_max_n)
    assert got.shape == (4, 3)
    fn = debiased_cka if debiased else linear_cka
    expected = np.array([[fn(source[s], target[t]) for t in sorted(target)] for s in sorted(source)])
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_cka_matrix_self_is_one_on_diagonal() -> None:
    rng = np.random.default_rng(1)
    layers = _layers(rng, 80, [0, 1, 2, 3, 4], 6)
    for debiased in (False, True):
        sim = cka_matrix(layers, layers, debiased=debiased)
        np.testing.assert_allclose(np.diag(sim), 1.0, atol=1e-12)
        np.testing.assert_allclose(sim, sim.T, atol=1e-12)
        assert monotone_layer_map(sim, sorted(layers), sorted(layers)) == [(k, k) for k in sorted(layers)]


def test_cka_matrix_debiased_near_zero_for_unrelated_layers() -> None:
    rng = np.random.default_rng(2)
    source = {0: rng.normal(size=(500, 20)), 1: rng.normal(size=(500, 20))}
    target = {0: rng.normal(size=(500, 20))}
    biased, unbiased = cka_matrix(source, target), cka_matrix(source, target, debiased=True)
    assert np.all(np.abs(unbiased) < 0.05)
    assert np.all(biased > 0.02)


def test_cka_matrix_guards() -> None:
    rng = np.random.default_rng(3)
    good = {0: rng.normal(size=(10, 3))}
    with pytest.raises(ValueError, match="N=9"):
        cka_matrix(good, {0: rng.normal(size=(9, 3))})
    with pytest.raises(ValueError, match="no layers"):
        cka_matrix({}, good)
    with pytest.raises(ValueError, match="non-finite"):
        cka_matrix(good, {5: np.full((10, 3), np.inf)})
    with pytest.raises(ValueError, match=r"target layers \[5\]"):
        cka_matrix(good, {5: np.ones((10, 3))})
    with pytest.raises(ValueError, match="N >= 4"):
        cka_matrix({0: good[0][:3]}, {0: good[0][:3]}, debiased=True)


# --------------------------------------------------------------------------------------------------------------------
# monotone_layer_map / best_pair
# --------------------------------------------------------------------------------------------------------------------


def _diagonal_similarity(n_s: int, n_t: int) -> np.ndarray:
    i = np.arange(n_s)[:, None] / (n_s - 1)
    j = np.arange(n_t)[None, :] / (n_t - 1)
    return np.exp(-((i - j) ** 2) / 0.01)


def test_monotone_map_on_diagonal_similarity() -> None:
    n_s, n_t = 12, 24
    sim = _diagonal_similarity(n_s, n_t)
    source_layers = list(range(n_s))
    target_layers = list(range(100, 100 + n_t))
    got = monotone_layer_map(sim, source_layers, target_layers)
    # relative depth i/11 ↔ j/23: the nearest target index is round(i·23/11)
    expected = [(i, 100 + round(i * (n_t - 1) / (n_s - 1))) for i in range(n_s)]
    assert got == expected
    assert got[0] == (0, 100)
    assert got[-1] == (11, 123)


def test_monotone_map_is_non_decreasing_and_beats_greedy_when_needed() -> None:
    # Row-wise argmax would go 2 → 0 (not monotone); the DP must pick the best monotone alternative.
    sim = np.array([[0.0, 0.1, 1.0], [0.9, 0.0, 0.8]])
    got = monotone_layer_map(sim, [0, 1], [0, 1, 2])
    assert got == [(0, 2), (1, 2)]  # 1.0 + 0.8 = 1.8 beats 0.0 + 0.9 and 0.1 + 0.8
    rng = np.random.default_rng(4)
    for _ in range(20):
        s = rng.normal(size=(7, 9))
        cols = [t for _, t in monotone_layer_map(s, list(range(7)), list(range(9)))]
        assert all(a <= b for a, b in itertools.pairwise(cols))


def test_monotone_map_equals_brute_force() -> None:
    rng = np.random.default_rng(5)
    n_s, n_t = 4, 5
    monotone = [c for c in itertools.product(range(n_t), repeat=n_s) if all(a <= b for a, b in itertools.pairwise(c))]
    assert len(monotone) == 70  # C(5 + 4 - 1, 4)
    for _ in range(50):
        sim = rng.normal(size=(n_s, n_t))
        best = max(sum(sim[i, c[i]] for i in range(n_s)) for c in monotone)
        got = monotone_layer_map(sim, list(range(n_s)), list(range(n_t)))
        total = sum(sim[s, t] for s, t in got)
        assert total == pytest.approx(best, abs=1e-12)


def test_monotone_map_uses_given_layer_ids_and_single_row() -> None:
    sim = np.array([[0.2, 0.9, 0.1]])
    assert monotone_layer_map(sim, [7], [3, 5, 9]) == [(7, 5)]


def test_best_pair() -> None:
    sim = np.array([[0.1, 0.2], [0.7, 0.3], [0.0, 0.5]])
    assert best_pair(sim, [2, 4, 6], [1, 3]) == (4, 1)


def test_similarity_guards() -> None:
    with pytest.raises(ValueError, match="expected"):
        monotone_layer_map(np.zeros((2, 3)), [0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="non-finite"):
        best_pair(np.array([[np.nan, 0.0]]), [0], [0, 1])


# --------------------------------------------------------------------------------------------------------------------
# heatmap
# --------------------------------------------------------------------------------------------------------------------


def test_heatmap_writes_png(tmp_path: Path) -> None:
    sim = _diagonal_similarity(6, 9)
    out = plot_cka_heatmap(sim, list(range(6)), list(range(9)), tmp_path / "sub" / "cka.png", title="toy CKA")
    assert out == tmp_path / "sub" / "cka.png"
    assert out.is_file()
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    explicit = plot_cka_heatmap(sim, list(range(6)), list(range(9)), tmp_path / "b.png", title="t", layer_map=[(0, 0)])
    assert explicit.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="layer_map"):
        plot_cka_heatmap(sim, list(range(6)), list(range(9)), tmp_path / "c.png", title="t", layer_map=[(0, 99)])
