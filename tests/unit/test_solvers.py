"""Unit tests for the numpy W-Matrix solvers (alignment_plugins.solvers): fast, no services, no torch."""

from __future__ import annotations

import functools
import itertools
import json

import numpy as np
import pytest

from alignment_plugins.solvers import (
    BUILTIN_SOLVERS,
    CCASolver,
    CrossStats,
    LinearMap,
    LowRankSolver,
    ProcrustesSolver,
    RidgeSolver,
    Solver,
    normalization_scales,
)

DIMS = [(8, 8), (12, 7), (7, 12), (64, 40)]
TOL = 1e-6


# ---------------------------------------------------------------------- helpers
def semi_orthogonal(rng: np.random.Generator, dx: int, dy: int) -> np.ndarray:
    """Random Q (dx, dy) with orthonormal columns (dx >= dy) or orthonormal rows (dx < dy)."""
    q, _ = np.linalg.qr(rng.standard_normal((max(dx, dy), min(dx, dy))))
    return q if dx >= dy else q.T


def general_x(rng: np.random.Generator, n: int, dx: int) -> np.ndarray:
    """Correlated, anisotropic source activations with a couple of huge-variance dims and a non-zero mean."""
    rot, _ = np.linalg.qr(rng.standard_normal((dx, dx)))
    x = (rng.standard_normal((n, dx)) * np.logspace(0.0, 1.0, dx)) @ rot
    x[:, :2] *= 50.0
    return x + rng.normal(0.0, 3.0, dx)


def isotropic_x(rng: np.random.Generator, n: int, dx: int, sigma: float = 2.0) -> np.ndarray:
    """Source activations whose centred population covariance is exactly sigma² I."""
    z = rng.standard_normal((n, dx))
    z -= z.mean(axis=0)
    q, _ = np.linalg.qr(z)  # columns orthonormal and (being in the span of centred data) zero-mean
    return q * (np.sqrt(n) * sigma) + rng.normal(0.0, 1.0, dx)


def planted(rng: np.random.Generator, dx: int, dy: int) -> tuple[float, np.ndarray, np.ndarray]:
    """Planted (c, Q, b) for Y = c X Q + b."""
    return 1.7, semi_orthogonal(rng, dx, dy), rng.normal(0.0, 2.0, dy)


def n_rows(dx: int, dy: int) -> int:
    """Number of anchors for a recovery test: at least 5·max(d)."""
    return 6 * max(dx, dy) + 40


def max_err(a: np.ndarray, b: np.ndarray) -> float:
    """Max absolute difference."""
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


def noisy_pair(seed: int = 0, n: int = 500, dx: int = 10, dy: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """A generic noisy linear relation between anisotropic spaces."""
    rng = np.random.default_rng(seed)
    x = general_x(rng, n, dx)
    y = x @ rng.standard_normal((dx, dy)) * 0.1 + rng.standard_normal((n, dy)) * np.linspace(0.5, 4.0, dy) + 7.0
    return x, y


ALL_SOLVER_FACTORIES = {
    "svd": lambda: ProcrustesSolver(),
    "ridge": lambda: RidgeSolver(regularization=1e-3),
    "cca": lambda: CCASolver(regularization=1e-4, n_components=4),
    "lowrank": lambda: LowRankSolver(rank=3),
}


# ---------------------------------------------------------------------- planted recovery
EXACT_SOLVERS = {
    "ridge": lambda dx, dy: RidgeSolver(regularization=1e-12),
    "lowrank": lambda dx, dy: LowRankSolver(rank=min(dx, dy), regularization=1e-12),
    "cca": lambda dx, dy: CCASolver(regularization=1e-12),
}


@pytest.mark.parametrize(("dx", "dy"), DIMS)
@pytest.mark.parametrize("method", sorted(EXACT_SOLVERS))
def test_general_solvers_recover_planted_affine_map(method: str, dx: int, dy: int) -> None:
    rng = np.random.default_rng(dx * 100 + dy)
    c, q, b = planted(rng, dx, dy)
    n = n_rows(dx, dy)
    x = general_x(rng, n, dx)
    fitted = EXACT_SOLVERS[method](dx, dy).fit_arrays(x, c * x @ q + b)
    assert fitted.method == method
    assert fitted.hyperparams["normalization"] == "standardize"
    x_test = general_x(rng, 50, dx)
    assert max_err(fitted.transform(x_test), c * x_test @ q + b) < TOL
    assert max_err(fitted.effective_weight(), c * q.T) < TOL
    assert max_err(fitted.bias(), b) < TOL


@pytest.mark.parametrize(("dx", "dy"), DIMS)
def test_procrustes_recovers_planted_scaled_isometry(dx: int, dy: int) -> None:
    rng = np.random.default_rng(7 * dx + dy)
    c, q, b = planted(rng, dx, dy)
    x = isotropic_x(rng, n_rows(dx, dy), dx)
    np.testing.assert_allclose(np.cov(x.T, bias=True), 4.0 * np.eye(dx), atol=1e-9)
    fitted = ProcrustesSolver(normalization="scalar").fit_arrays(x, c * x @ q + b)
    assert fitted.method == "svd"
    eff = fitted.effective_weight()
    assert max_err(eff, c * q.T) < TOL
    assert max_err(fitted.bias(), b) < TOL
    assert max_err(np.linalg.svd(eff, compute_uv=False), np.full(min(dx, dy), c)) < TOL  # recovered scale c
    x_test = rng.standard_normal((30, dx)) * 3.0
    assert max_err(fitted.transform(x_test), c * x_test @ q + b) < TOL
    if dx <= dy:  # injective map: the inverse round-trips exactly
        assert max_err(fitted.inverse(fitted.transform(x_test)), x_test) < TOL


@pytest.mark.parametrize(("dx", "dy"), DIMS)
@pytest.mark.parametrize("normalization", ["standardize", "scalar", "none"])
def test_procrustes_weight_is_scaled_semi_orthogonal(dx: int, dy: int, normalization: str) -> None:
    rng = np.random.default_rng(dx + dy)
    x = general_x(rng, 300, dx)
    y = x @ rng.standard_normal((dx, dy)) + rng.standard_normal((300, dy))
    fitted = ProcrustesSolver(normalization=normalization).fit_arrays(x, y)
    w = fitted.weight
    c = fitted.hyperparams["scale"]
    assert c > 0
    gram = w @ w.T if dx >= dy else w.T @ w  # rows orthonormal if dx >= dy, else columns
    np.testing.assert_allclose(gram, c**2 * np.eye(min(dx, dy)), atol=1e-10 * max(1.0, c**2))
    np.testing.assert_allclose(fitted.inverse_weight, w.T / c**2, atol=1e-10)


def test_cca_full_components_equals_ols_and_reports_correlations() -> None:
    x, y = noisy_pair(seed=3)
    cca = CCASolver(regularization=0.0).fit_arrays(x, y)
    ols = RidgeSolver(regularization=0.0).fit_arrays(x, y)
    np.testing.assert_allclose(cca.weight, ols.weight, atol=1e-9)
    corr = cca.hyperparams["canonical_correlations"]
    assert len(corr) == min(x.shape[1], y.shape[1])
    assert all(isinstance(v, float) for v in corr)
    assert all(0.0 <= v <= 1.0 + 1e-9 for v in corr)
    assert corr == sorted(corr, reverse=True)
    json.dumps(cca.hyperparams)


def test_cca_planted_correlations_are_one() -> None:
    rng = np.random.default_rng(11)
    c, q, b = planted(rng, 12, 7)
    x = general_x(rng, 200, 12)
    fitted = CCASolver(regularization=1e-12).fit_arrays(x, c * x @ q + b)
    np.testing.assert_allclose(fitted.hyperparams["canonical_correlations"], np.ones(7), atol=1e-6)


def test_cca_truncated_components_rank() -> None:
    x, y = noisy_pair(seed=4)
    fitted = CCASolver(n_components=2).fit_arrays(x, y)
    assert np.linalg.matrix_rank(fitted.weight, tol=1e-8 * np.linalg.norm(fitted.weight, 2)) == 2
    assert len(fitted.hyperparams["canonical_correlations"]) == 2


# ---------------------------------------------------------------------- low rank
@pytest.mark.parametrize("rank", [1, 3, 5])
def test_lowrank_weight_has_requested_numerical_rank(rank: int) -> None:
    x, y = noisy_pair(seed=5, dx=12, dy=9)
    fitted = LowRankSolver(rank=rank).fit_arrays(x, y)
    s = np.linalg.svd(fitted.weight, compute_uv=False)
    assert int(np.sum(s > 1e-8 * s[0])) == rank
    assert fitted.hyperparams["effective_rank"] == rank
    assert np.linalg.matrix_rank(fitted.inverse_weight, tol=1e-8 * s[0] ** -1) == rank


def test_lowrank_default_rank_and_clamping() -> None:
    x, y = noisy_pair(seed=6, dx=12, dy=9)
    assert LowRankSolver().fit_arrays(x, y).hyperparams["effective_rank"] == 2  # min(12, 9) // 4
    assert LowRankSolver().fit_arrays(x[:, :3], y[:, :2]).hyperparams["effective_rank"] == 1  # at least 1
    assert LowRankSolver(rank=100).fit_arrays(x, y).hyperparams["effective_rank"] == 9


def test_lowrank_full_rank_matches_ridge() -> None:
    x, y = noisy_pair(seed=8)
    lr = LowRankSolver(rank=min(x.shape[1], y.shape[1]), regularization=1e-3).fit_arrays(x, y)
    rd = RidgeSolver(regularization=1e-3).fit_arrays(x, y)
    np.testing.assert_allclose(lr.weight, rd.weight, atol=1e-10)


# ---------------------------------------------------------------------- streaming
@pytest.mark.parametrize("method", sorted(ALL_SOLVER_FACTORIES))
def test_streamed_shuffled_merge_matches_full_fit(method: str) -> None:
    rng = np.random.default_rng(21)
    x, y = noisy_pair(seed=21, n=700, dx=9, dy=11)
    cuts = np.sort(rng.choice(np.arange(1, len(x)), size=6, replace=False))
    bounds = [0, *cuts.tolist(), len(x)]
    shards = [CrossStats(9, 11).update(x[a:b], y[a:b]) for a, b in itertools.pairwise(bounds)]
    assert len(shards) == 7
    assert len({s.n for s in shards}) > 1  # uneven
    order = rng.permutation(len(shards))
    merged = functools.reduce(CrossStats.merge, [shards[i] for i in order])
    full = CrossStats.from_arrays_xy(x, y)
    assert merged.n == full.n == len(x)
    np.testing.assert_allclose(merged.cov_xy(), full.cov_xy(), atol=1e-10)
    solver = ALL_SOLVER_FACTORIES[method]()
    a, b = solver.fit(merged), solver.fit(full)
    for key in ("weight", "inverse_weight", "mean_x", "scale_x", "mean_y", "scale_y"):
        np.testing.assert_allclose(getattr(a, key), getattr(b, key), atol=1e-10, rtol=1e-10, err_msg=key)
    np.testing.assert_allclose(a.bias(), b.bias(), atol=1e-10, rtol=1e-10)


def test_merge_is_new_object_and_order_independent() -> None:
    x, y = noisy_pair(seed=2, n=90)
    s1 = CrossStats.from_arrays_xy(x[:30], y[:30])
    s2 = CrossStats.from_arrays_xy(x[30:], y[30:])
    m12, m21 = s1.merge(s2), s2.merge(s1)
    assert m12 is not s1 and s1.n == 30
    for f in ("cov_xx", "cov_yy", "cov_xy", "std_x", "std_y"):
        np.testing.assert_allclose(getattr(m12, f)(), getattr(m21, f)(), atol=1e-12)
    np.testing.assert_allclose(m12.mean_x, m21.mean_x, atol=1e-12)
    merged_empty = CrossStats(x.shape[1], y.shape[1]).merge(s1)
    np.testing.assert_allclose(merged_empty.cov_xx(), s1.cov_xx())


def test_weighted_merge_equals_repeating_the_rows() -> None:
    x, y = noisy_pair(seed=5, n=60)
    a = CrossStats.from_arrays_xy(x[:40], y[:40])
    b = CrossStats.from_arrays_xy(x[40:], y[40:])
    weighted = a.merge(b, weight=3)
    repeated = CrossStats.from_arrays_xy(np.concatenate([x[:40]] + [x[40:]] * 3),
                                         np.concatenate([y[:40]] + [y[40:]] * 3))
    assert weighted.n == repeated.n == 100
    for f in ("cov_xx", "cov_yy", "cov_xy"):
        np.testing.assert_allclose(getattr(weighted, f)(), getattr(repeated, f)(), atol=1e-10)
    np.testing.assert_allclose(weighted.mean_x, repeated.mean_x, atol=1e-12)
    for bad in (0, -1.0, float("nan"), True):
        with pytest.raises(ValueError, match="weight"):
            a.merge(b, weight=bad)


def test_swapped_stats_equal_the_stats_of_the_reversed_pairs() -> None:
    x, y = noisy_pair(seed=4, n=120)
    swapped = CrossStats.from_arrays_xy(x, y, chunk=50).swapped()
    reverse = CrossStats.from_arrays_xy(y, x, chunk=50)
    assert (swapped.dx, swapped.dy, swapped.n) == (reverse.dx, reverse.dy, reverse.n)
    for f in ("cov_xx", "cov_yy", "cov_xy", "std_x", "std_y"):
        np.testing.assert_allclose(getattr(swapped, f)(), getattr(reverse, f)(), atol=1e-12)
    np.testing.assert_allclose(swapped.mean_x, y.mean(axis=0), atol=1e-12)


def test_merge_dimension_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="different dims"):
        CrossStats(4, 3).merge(CrossStats(4, 5))
    with pytest.raises(TypeError):
        CrossStats(4, 3).merge("nope")  # type: ignore[arg-type]


def test_stats_match_numpy_and_are_stable_with_large_offsets() -> None:
    rng = np.random.default_rng(9)
    x = rng.standard_normal((1000, 5)) * 1e-3 + 1e6  # huge mean, tiny spread: naive sums lose every digit
    y = rng.standard_normal((1000, 3)) + 5.0
    stats = CrossStats.from_arrays_xy(x, y, chunk=64)
    np.testing.assert_allclose(stats.mean_x, x.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(stats.cov_xx(), np.cov(x.T, bias=True), rtol=1e-6, atol=1e-14)
    np.testing.assert_allclose(stats.cov_yy(), np.cov(y.T, bias=True), atol=1e-12)
    full_cov = np.cov(np.hstack([x, y]).T, bias=True)
    np.testing.assert_allclose(stats.cov_xy(), full_cov[:5, 5:], atol=1e-10)
    np.testing.assert_allclose(stats.std_y(), y.std(axis=0), atol=1e-12)
    assert np.array_equal(stats.cov_xx(), stats.cov_xx().T)
    np.testing.assert_allclose(stats.sum_y, y.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(stats.syy, y.T @ y, rtol=1e-12)
    np.testing.assert_allclose(stats.sxy, x.T @ y, rtol=1e-12)


def test_stats_arrays_round_trip() -> None:
    x, y = noisy_pair(seed=12, n=120)
    stats = CrossStats.from_arrays_xy(x, y, chunk=17)
    back = CrossStats.from_arrays(stats.to_arrays())
    assert (back.dx, back.dy, back.n) == (stats.dx, stats.dy, stats.n)
    np.testing.assert_array_equal(back.cov_xy(), stats.cov_xy())
    np.testing.assert_array_equal(back.mean_y, stats.mean_y)
    raw = {
        "n": stats.n,
        "sum_x": stats.sum_x,
        "sum_y": stats.sum_y,
        "sxx": stats.sxx,
        "syy": stats.syy,
        "sxy": stats.sxy,
    }
    from_raw = CrossStats.from_arrays(raw)
    np.testing.assert_allclose(from_raw.cov_xx(), stats.cov_xx(), rtol=1e-8, atol=1e-8)
    with pytest.raises(ValueError, match="keys"):
        CrossStats.from_arrays({"n": 3})


def test_crossstats_memory_is_independent_of_row_count() -> None:
    dx, dy = 6, 5
    rng = np.random.default_rng(0)
    stats = CrossStats(dx, dy)

    def footprint() -> int:
        total = 0
        for value in vars(stats).values():
            assert not isinstance(value, (list, tuple, dict, set)), "CrossStats must not buffer rows"
            if isinstance(value, np.ndarray):
                assert value.size <= max(dx, dy) ** 2, f"array of shape {value.shape} is larger than O(d²)"
                total += value.nbytes
        return total

    stats.update(rng.standard_normal((100, dx)), rng.standard_normal((100, dy)))
    after_one = footprint()
    for _ in range(60):
        stats.update(rng.standard_normal((100, dx)), rng.standard_normal((100, dy)))
    assert stats.n == 6100
    assert footprint() == after_one
    assert after_one <= 8 * (dx * dx + dy * dy + dx * dy + dx + dy)


def test_normalization_scales_modes() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((400, 4)) * np.array([1.0, 10.0, 100.0, 0.0])  # one constant dim
    y = rng.standard_normal((400, 3)) * np.array([2.0, 2.0, 2.0])
    stats = CrossStats.from_arrays_xy(x, y)
    sx, sy = normalization_scales(stats, "standardize")
    np.testing.assert_allclose(sx[:3], x[:, :3].std(axis=0))
    assert sx[3] == pytest.approx(1e-8 * sx.max())  # floored, never 0
    sx, sy = normalization_scales(stats, "scalar")
    assert np.all(sx == sx[0]) and sx[0] == pytest.approx(np.sqrt(np.mean(x.var(axis=0))))
    assert np.all(sy == sy[0])
    sx, sy = normalization_scales(stats, "none")
    assert np.all(sx == 1.0) and np.all(sy == 1.0)
    const = CrossStats.from_arrays_xy(np.ones((5, 2)), np.ones((5, 2)))
    for mode in ("standardize", "scalar"):
        assert np.all(normalization_scales(const, mode)[0] == 1.0)
    with pytest.raises(ValueError, match="normalization"):
        normalization_scales(stats, "whiten")


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize("side", ["x", "y"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input_rejected(side: str, bad: float) -> None:
    x, y = noisy_pair(n=20)
    (x if side == "x" else y)[3, 1] = bad
    with pytest.raises(ValueError, match="non-finite"):
        CrossStats(x.shape[1], y.shape[1]).update(x, y)
    with pytest.raises(ValueError, match="non-finite"):
        RidgeSolver().fit_arrays(x, y)


def test_wrong_shapes_rejected() -> None:
    stats = CrossStats(4, 3)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="2-D"):
        stats.update(rng.standard_normal(4), rng.standard_normal((1, 3)))
    with pytest.raises(ValueError, match="2-D"):
        stats.update(rng.standard_normal((2, 4)), rng.standard_normal((2, 3, 1)))
    with pytest.raises(ValueError, match="same number of rows"):
        stats.update(rng.standard_normal((5, 4)), rng.standard_normal((6, 3)))
    with pytest.raises(ValueError, match="dx=4"):
        stats.update(rng.standard_normal((5, 5)), rng.standard_normal((5, 3)))
    with pytest.raises(ValueError, match="dy=3"):
        stats.update(rng.standard_normal((5, 4)), rng.standard_normal((5, 2)))
    with pytest.raises(ValueError, match="same number of rows"):
        CrossStats.from_arrays_xy(rng.standard_normal((5, 4)), rng.standard_normal((4, 3)))
    with pytest.raises(ValueError):
        CrossStats(0, 3)
    assert stats.n == 0  # failed updates leave no trace
    with pytest.raises(ValueError, match="no samples"):
        stats.cov_xx()
    with pytest.raises(ValueError, match="empty"):
        RidgeSolver().fit(stats)


@pytest.mark.parametrize("cls", [ProcrustesSolver, RidgeSolver, CCASolver, LowRankSolver])
def test_unknown_hyperparameter_is_type_error(cls: type[Solver]) -> None:
    with pytest.raises(TypeError, match="valid"):
        cls(learning_rate=0.1)
    with pytest.raises(ValueError, match="normalization"):
        cls(normalization="whiten")


def test_bad_hyperparameter_values() -> None:
    with pytest.raises(ValueError):
        RidgeSolver(regularization=-1.0)
    with pytest.raises(TypeError):
        RidgeSolver(regularization="big")
    with pytest.raises(ValueError):
        LowRankSolver(rank=0)
    with pytest.raises(TypeError):
        CCASolver(n_components=2.5)
    with pytest.raises(TypeError, match="regularization"):
        ProcrustesSolver(regularization=1e-3)


def test_transform_wrong_dim_rejected() -> None:
    x, y = noisy_pair(n=60, dx=8, dy=5)
    fitted = RidgeSolver().fit_arrays(x, y)
    with pytest.raises(ValueError, match="expected source dim 8, got 7"):
        fitted.transform(np.zeros((3, 7)))
    with pytest.raises(ValueError, match="expected source dim 8, got 5"):
        fitted.transform_direction(np.zeros(5))
    with pytest.raises(ValueError, match="expected target dim 5, got 8"):
        fitted.inverse(np.zeros(8))
    with pytest.raises(ValueError, match="expected target dim 5"):
        fitted.inverse_direction(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="shape"):
        fitted.transform(np.zeros((2, 2, 8)))


# ---------------------------------------------------------------------- LinearMap behaviour
@pytest.mark.parametrize("method", sorted(ALL_SOLVER_FACTORIES))
def test_tensors_round_trip(method: str) -> None:
    x, y = noisy_pair(seed=31)
    fitted = ALL_SOLVER_FACTORIES[method]().fit_arrays(x, y)
    tensors = fitted.tensors()
    assert set(tensors) == {"weight", "inverse_weight", "mean_x", "scale_x", "mean_y", "scale_y"}
    assert all(t.dtype == np.float32 for t in tensors.values())
    tensors["weight"][0, 0] += 0.0  # copies: mutating must not touch the map
    assert tensors["weight"] is not fitted.weight
    hp = json.loads(json.dumps(fitted.hyperparams))
    back = LinearMap.from_tensors(fitted.method, tensors, hp)
    assert back.method == method and back.hyperparams == fitted.hyperparams
    assert (back.dx, back.dy) == (fitted.dx, fitted.dy)
    for key, value in tensors.items():
        arr = getattr(back, key)
        assert arr.dtype == np.float64
        np.testing.assert_allclose(arr, getattr(fitted, key), rtol=1e-6, atol=1e-7 * np.abs(value).max())
    y_ref = fitted.transform(x[:20])
    np.testing.assert_allclose(back.transform(x[:20]), y_ref, rtol=1e-5, atol=1e-5 * np.abs(y_ref).max())
    back64 = LinearMap.from_tensors(method, {k: getattr(fitted, k) for k in tensors}, hp)
    np.testing.assert_array_equal(back64.weight, fitted.weight)
    with pytest.raises(ValueError, match="missing"):
        LinearMap.from_tensors(method, {"weight": tensors["weight"]}, hp)


@pytest.mark.parametrize("method", sorted(ALL_SOLVER_FACTORIES))
def test_transform_direction_is_difference_of_transforms(method: str) -> None:
    x, y = noisy_pair(seed=41)
    fitted = ALL_SOLVER_FACTORIES[method]().fit_arrays(x, y)
    rng = np.random.default_rng(41)
    v = rng.standard_normal((15, x.shape[1])) * 5.0
    base = x[:15]
    expected = fitted.transform(base + v) - fitted.transform(base)
    np.testing.assert_allclose(fitted.transform_direction(v), expected, atol=1e-9 * np.abs(expected).max())
    np.testing.assert_allclose(fitted.transform_direction(v[0]), expected[0], atol=1e-9 * np.abs(expected).max())
    w = rng.standard_normal((4, y.shape[1]))
    inv_expected = fitted.inverse(y[:4] + w) - fitted.inverse(y[:4])
    np.testing.assert_allclose(
        fitted.inverse_direction(w), inv_expected, atol=1e-9 * max(1.0, np.abs(inv_expected).max())
    )


def test_effective_weight_and_bias_reproduce_transform() -> None:
    x, y = noisy_pair(seed=51)
    fitted = CCASolver().fit_arrays(x, y)
    np.testing.assert_allclose(fitted.transform(x), x @ fitted.effective_weight().T + fitted.bias(), atol=1e-9)
    sx, sy = fitted.scale_x, fitted.scale_y
    np.testing.assert_allclose(fitted.effective_weight(), np.diag(sy) @ fitted.weight @ np.diag(1 / sx), atol=1e-12)


def test_transform_dtypes_and_shapes() -> None:
    x, y = noisy_pair(seed=61, dx=10, dy=6)
    fitted = RidgeSolver().fit_arrays(x, y)
    out64 = fitted.transform(x[:5])
    out32 = fitted.transform(x[:5].astype(np.float32))
    assert out64.dtype == np.float64 and out64.shape == (5, 6)
    assert out32.dtype == np.float32 and out32.shape == (5, 6)
    np.testing.assert_allclose(out32, out64, rtol=1e-4, atol=1e-4 * np.abs(out64).max())
    single = fitted.transform(x[0])
    assert single.shape == (6,)
    np.testing.assert_allclose(single, out64[0])
    assert fitted.transform(x[:2].astype(np.int64)).dtype == np.float64
    assert fitted.inverse(y[:3].astype(np.float32)).dtype == np.float32
    assert fitted.inverse(y[0]).shape == (10,)


def test_linear_map_validates_shapes() -> None:
    with pytest.raises(ValueError, match="inverse_weight"):
        LinearMap("x", np.zeros((3, 4)), np.zeros((3, 4)), np.zeros(4), np.ones(4), np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="scale"):
        LinearMap("x", np.zeros((3, 4)), np.zeros((4, 3)), np.zeros(4), np.zeros(4), np.zeros(3), np.ones(3))


def test_builtin_registry() -> None:
    assert set(BUILTIN_SOLVERS) == {"svd", "ridge", "cca", "lowrank"}
    for name, cls in BUILTIN_SOLVERS.items():
        assert issubclass(cls, Solver) and cls.name == name
        assert isinstance(cls.description, str) and cls.description
    assert BUILTIN_SOLVERS["svd"] is ProcrustesSolver


@pytest.mark.parametrize("method", sorted(ALL_SOLVER_FACTORIES))
def test_hyperparams_json_serializable(method: str) -> None:
    x, y = noisy_pair(seed=71)
    fitted = ALL_SOLVER_FACTORIES[method]().fit_arrays(x, y)
    assert json.loads(json.dumps(fitted.hyperparams)) == fitted.hyperparams
    assert fitted.hyperparams["n_samples"] == len(x)


def test_thin_svd_falls_back_when_lapack_does_not_converge(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rank-deficient maps (fewer anchors than dims) can make gesdd fail; the Gram fallback gives the same SVD."""
    from alignment_plugins.solvers import base

    rng = np.random.default_rng(0)
    a = rng.normal(size=(30, 8)) @ rng.normal(size=(8, 20))  # rank 8
    expected = np.linalg.pinv(a, rcond=1e-10)

    def failing_svd(*args: object, **kwargs: object) -> None:
        raise np.linalg.LinAlgError("SVD did not converge")

    monkeypatch.setattr(base.np.linalg, "svd", failing_svd)
    for matrix, reference in ((a, expected), (a.T, expected.T)):
        u, s, vt = base.thin_svd(matrix)
        np.testing.assert_allclose((u[:, :8] * s[:8]) @ vt[:8], matrix, atol=1e-8)
        np.testing.assert_allclose(base.pseudo_inverse(matrix), reference, atol=1e-8)


def test_ridge_inverse_is_the_reverse_regression_not_a_pseudo_inverse() -> None:
    """With d_target > d_source, pinv(W)·W = I would make every round trip exact; the reverse fit does not."""
    rng = np.random.default_rng(11)
    x = rng.normal(size=(400, 6))
    y = np.concatenate([x @ rng.normal(size=(6, 6)), rng.normal(size=(400, 4))], axis=1) + rng.normal(size=(400, 10))
    forward = RidgeSolver(regularization=1e-3).fit_arrays(x, y)
    backward = RidgeSolver(regularization=1e-3).fit_arrays(y, x)
    np.testing.assert_allclose(forward.inverse(y[:5]), backward.transform(y[:5]), atol=1e-9)
    roundtrip = forward.inverse(forward.transform(x))
    assert np.mean((roundtrip - x) ** 2) > 1e-3


def test_float32_activations_give_the_same_statistics_as_float64() -> None:
    """float32 input keeps single-precision chunk products (2x faster); totals stay float64 and agree to ~1e-6."""
    rng = np.random.default_rng(21)
    x = (rng.normal(size=(5000, 24)) * rng.uniform(0.1, 50, size=24) + 30).astype(np.float32)
    y = (x[:, :16] @ rng.normal(size=(16, 16)) + rng.normal(size=(5000, 16))).astype(np.float32)
    s32 = CrossStats(24, 16)
    s64 = CrossStats(24, 16)
    for start in range(0, 5000, 1024):
        s32.update(x[start : start + 1024], y[start : start + 1024])
        s64.update(x[start : start + 1024].astype(np.float64), y[start : start + 1024].astype(np.float64))
    for a, b in ((s32.cov_xx(), s64.cov_xx()), (s32.cov_xy(), s64.cov_xy()), (s32.cov_yy(), s64.cov_yy())):
        assert a.dtype == np.float64
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * np.abs(b).max())
    np.testing.assert_allclose(s32.mean_x, s64.mean_x, rtol=1e-6)
