"""Known-answer tests for alignment_plugins.metrics."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from alignment_plugins import metrics
from alignment_plugins.metrics import (
    compute_all,
    csls_top1,
    debiased_cka,
    linear_cka,
    r2_score,
    reconstruction_error,
    retrieval_ranks,
    semantic_preservation,
    standardize,
    top1_accuracy,
)


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _random_orthogonal(d: int, rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(d, d)))
    return q * np.sign(np.diag(r))


def _derangement(n: int, rng: np.random.Generator) -> np.ndarray:
    while True:
        perm = rng.permutation(n)
        if not np.any(perm == np.arange(n)):
            return perm


# --------------------------------------------------------------------------------------------------------------------
# standardize
# --------------------------------------------------------------------------------------------------------------------


def test_standardize_uses_given_statistics() -> None:
    a = np.array([[1.0, 10.0], [3.0, 30.0]])
    out = standardize(a, mean=np.array([1.0, 10.0]), scale=np.array([2.0, 10.0]))
    np.testing.assert_allclose(out, [[0.0, 0.0], [1.0, 2.0]])
    np.testing.assert_allclose(standardize(a), [[-1.0, -10.0], [1.0, 10.0]])  # own mean, no scaling


def test_standardize_zero_scale_is_treated_as_one() -> None:
    a = np.array([[1.0, 5.0], [3.0, 5.0]])
    out = standardize(a, mean=np.array([2.0, 5.0]), scale=np.array([1.0, 0.0]))
    np.testing.assert_allclose(out, [[-1.0, 0.0], [1.0, 0.0]])


# --------------------------------------------------------------------------------------------------------------------
# perfect / useless / permuted maps
# --------------------------------------------------------------------------------------------------------------------


def test_perfect_map_scores_perfectly() -> None:
    rng = _rng(1)
    y = rng.normal(size=(200, 16)) * rng.uniform(0.1, 30.0, size=16) + rng.normal(size=16) * 5
    x = rng.normal(size=(200, 12))
    out = compute_all(
        y.copy(),
        y,
        x,
        x.copy(),
        target_mean=y.mean(axis=0),
        target_scale=y.std(axis=0),
        source_mean=x.mean(axis=0),
        source_scale=x.std(axis=0),
    )
    assert set(out) == {
        "accuracy", "csls_accuracy", "semantic_preservation", "semantic_preservation_ci_low",
        "semantic_preservation_ci_high", "n", "reconstruction_error", "r2", "cka",
    }
    assert out["accuracy"] == 1.0
    assert out["csls_accuracy"] == 1.0
    assert out["semantic_preservation"] == pytest.approx(1.0, abs=1e-12)
    assert out["reconstruction_error"] == pytest.approx(0.0, abs=1e-12)
    assert out["r2"] == pytest.approx(1.0, abs=1e-12)
    assert out["cka"] == pytest.approx(1.0, abs=1e-12)
    assert out["n"] == len(y)
    assert all(isinstance(v, float) for k, v in out.items() if k != "n")


def test_noise_map_scores_at_chance() -> None:
    rng = _rng(2)
    n, d = 1000, 32
    y = rng.normal(size=(n, d))
    noise = rng.normal(size=(n, d))
    mean, scale = y.mean(axis=0), y.std(axis=0)
    # chance is 1/N; a top-1 hit rate of a few /N is already generous
    assert top1_accuracy(noise, y, mean, scale) <= 5 / n
    assert csls_top1(noise, y, 10, mean, scale) <= 5 / n
    assert abs(semantic_preservation(noise, y, mean, scale)) < 0.02
    assert r2_score(noise, y, mean, scale) <= 0.0  # noise is worse than predicting the mean
    assert abs(linear_cka(noise, y) - d / n) < 0.05  # biased CKA of independent data ≈ d/N, not 0
    ranks = retrieval_ranks(noise, y, mean, scale)
    assert abs(ranks.mean() / (n - 1) - 0.5) < 0.05  # ranks uniform on 0..N-1


def test_derangement_has_zero_accuracy_exactly() -> None:
    rng = _rng(3)
    y = rng.normal(size=(300, 8))
    perm = _derangement(300, rng)
    mapped = y[perm]
    assert top1_accuracy(mapped, y) == 0.0
    assert top1_accuracy(mapped, y, y.mean(axis=0), y.std(axis=0)) == 0.0
    assert csls_top1(mapped, y) == 0.0
    # ... and the identity of the retrieved row is exactly the permuted one: rank of target[i] is ≥ 1
    assert np.all(retrieval_ranks(mapped, y) >= 1)


def test_predicting_the_mean() -> None:
    rng = _rng(4)
    x = rng.normal(size=(100, 6)) * np.arange(1, 7) + 3.0
    mean_pred = np.broadcast_to(x.mean(axis=0), x.shape)
    assert reconstruction_error(x, mean_pred) == pytest.approx(1.0, abs=1e-12)
    assert reconstruction_error(x, mean_pred, mean=np.zeros(6), scale=x.std(axis=0)) == pytest.approx(1.0, abs=1e-12)
    assert r2_score(mean_pred, x, scale=x.std(axis=0)) == pytest.approx(0.0, abs=1e-12)
    assert reconstruction_error(x, x) == 0.0


def test_r2_is_variance_weighted_over_standardized_dims() -> None:
    # Target has one huge and one small dimension; the prediction gets only the huge one right.
    rng = _rng(5)
    y = rng.normal(size=(500, 2)) * np.array([100.0, 1.0])
    pred = np.column_stack([y[:, 0], np.full(500, y[:, 1].mean())])
    assert r2_score(pred, y) > 0.999  # raw coordinates: dominated by the huge dimension
    assert r2_score(pred, y, y.mean(axis=0), y.std(axis=0)) == pytest.approx(0.5, abs=1e-12)  # standardized: half


def test_hand_computed_small_retrieval() -> None:
    target = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    mapped = np.array([[1.0, 0.1], [0.9, 0.2], [-1.0, -0.1]])  # row 1 lands nearest to target 0
    mean = np.zeros(2)
    assert top1_accuracy(mapped, target, mean=mean) == pytest.approx(2 / 3)
    np.testing.assert_array_equal(retrieval_ranks(mapped, target, mean=mean), [0, 1, 0])


def test_csls_removes_hubness() -> None:
    # A "hub" target row close to every query steals plain nearest-neighbour retrieval; CSLS penalises it.
    rng = _rng(6)
    n, d = 400, 24
    y = rng.normal(size=(n, d))
    hub = np.ones(d)
    y[0] = 3.0 * hub
    mapped = y + 0.9 * rng.normal(size=(n, d)) + 0.6 * hub
    mapped[0] = y[0]
    mean = np.zeros(d)
    plain = top1_accuracy(mapped, y, mean=mean)
    csls = csls_top1(mapped, y, k=10, mean=mean)
    assert csls > plain


def test_csls_matches_dense_reference() -> None:
    rng = _rng(7)
    n, d, k = 60, 5, 4
    y = rng.normal(size=(n, d))
    mapped = y + 1.5 * rng.normal(size=(n, d))
    mean, scale = y.mean(axis=0), y.std(axis=0)
    mu = (mapped - mean) / scale
    tu = (y - mean) / scale
    mu /= np.linalg.norm(mu, axis=1, keepdims=True)
    tu /= np.linalg.norm(tu, axis=1, keepdims=True)
    s = mu @ tu.T
    r_t = np.sort(s, axis=1)[:, -k:].mean(axis=1)
    r_s = np.sort(s, axis=0)[-k:, :].mean(axis=0)
    ref = np.mean(np.argmax(2 * s - r_t[:, None] - r_s[None, :], axis=1) == np.arange(n))
    assert csls_top1(mapped, y, k, mean, scale) == pytest.approx(ref)


def test_chunking_gives_same_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = _rng(8)
    y = rng.normal(size=(97, 6))
    mapped = y + rng.normal(size=y.shape)
    full = (top1_accuracy(mapped, y), csls_top1(mapped, y, k=5), retrieval_ranks(mapped, y))
    monkeypatch.setattr(metrics, "_CHUNK_ELEMENTS", 97 * 7)  # 7-row blocks, ragged last block
    chunked = (top1_accuracy(mapped, y), csls_top1(mapped, y, k=5), retrieval_ranks(mapped, y))
    assert chunked[0] == full[0]
    assert chunked[1] == full[1]
    np.testing.assert_array_equal(chunked[2], full[2])


def test_degenerate_predictions_never_count_as_hits() -> None:
    y = _rng(9).normal(size=(50, 4))
    zeros = np.zeros_like(y)
    assert top1_accuracy(zeros, y, mean=np.zeros(4)) == 0.0
    assert csls_top1(zeros, y, mean=np.zeros(4)) == 0.0


# --------------------------------------------------------------------------------------------------------------------
# why standardization matters
# --------------------------------------------------------------------------------------------------------------------


def test_standardization_removes_massive_dimension_effect() -> None:
    # One "massive activation" dimension with variance 1e4 that both sides share (e.g. a position/BOS feature);
    # the remaining 63 unit-variance dimensions of mapped and target are independent, i.e. the rows are unrelated.
    rng = _rng(10)
    n, d = 2000, 64
    shared = rng.normal(size=n) * 100.0
    target = rng.normal(size=(n, d))
    mapped = rng.normal(size=(n, d))
    target[:, 0] = shared
    mapped[:, 0] = shared
    mean, scale = target.mean(axis=0), target.std(axis=0)

    raw = np.mean(np.sum(target * mapped, axis=1) / (np.linalg.norm(target, axis=1) * np.linalg.norm(mapped, axis=1)))
    assert raw > 0.85  # raw-space cosine between unrelated rows looks like a near-perfect map

    std_t, std_m = standardize(target, mean, scale), standardize(mapped, mean, scale)
    std_cos = np.sum(std_t * std_m, axis=1) / (np.linalg.norm(std_t, axis=1) * np.linalg.norm(std_m, axis=1))
    assert abs(std_cos.mean() - 1 / d) < 0.02  # only 1 of 64 standardized dims agrees

    reported = semantic_preservation(mapped, target, mean, scale)
    assert reported == pytest.approx(std_cos.mean(), abs=1e-12)  # the metric reports the standardized value
    assert reported < 0.05
    assert semantic_preservation(mapped, target) > 0.85  # without scale it would be fooled
    assert r2_score(mapped, target, mean, scale) < 0.0


# --------------------------------------------------------------------------------------------------------------------
# CKA
# --------------------------------------------------------------------------------------------------------------------


def test_linear_cka_hand_computed() -> None:
    # x = [1, 2, 3, 4], y = [1, 3, 2, 4] (both 1-D): CKA = corr(x, y)² = 0.8² = 0.64.
    x = np.array([[1.0], [2.0], [3.0], [4.0]])
    y = np.array([[1.0], [3.0], [2.0], [4.0]])
    assert linear_cka(x, y) == pytest.approx(0.64, abs=1e-14)
    # 2-D example: xc = [[-1, 0], [1, 0], [0, -1], [0, 1]] ⇒ XcᵀXc = 2I, ‖·‖_F = 2√2; y = xc[:, :1]:
    # YcᵀXc = [2, 0] ⇒ 4; YcᵀYc = [2] ⇒ 2 ⇒ CKA = 4 / (2√2 · 2) = 1/√2.
    x2 = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, -1.0], [0.0, 1.0]])
    assert linear_cka(x2, x2[:, :1]) == pytest.approx(1 / np.sqrt(2), abs=1e-14)


def test_cka_self_is_one_and_both_forms_agree() -> None:
    rng = _rng(11)
    for n, dx, dy in ((300, 10, 7), (20, 50, 40)):  # feature-space form, then NxN form
        x = rng.normal(size=(n, dx))
        y = x[:, : min(dx, dy)] @ rng.normal(size=(min(dx, dy), dy)) + rng.normal(size=(n, dy))
        assert linear_cka(x, x) == pytest.approx(1.0, abs=1e-12)
        assert debiased_cka(x, x) == pytest.approx(1.0, abs=1e-12)
        xc, yc = x - x.mean(0), y - y.mean(0)
        kx, ky = xc @ xc.T, yc @ yc.T
        gram = np.sum(kx * ky) / (np.linalg.norm(kx) * np.linalg.norm(ky))
        feat = np.sum((yc.T @ xc) ** 2) / (np.linalg.norm(xc.T @ xc) * np.linalg.norm(yc.T @ yc))
        assert gram == pytest.approx(feat, abs=1e-12)
        assert linear_cka(x, y) == pytest.approx(gram, abs=1e-12)


def test_cka_invariances() -> None:
    rng = _rng(12)
    n, dx, dy = 150, 12, 9
    x = rng.normal(size=(n, dx)) * rng.uniform(0.2, 5.0, size=dx)
    y = np.tanh(x[:, :dy] @ rng.normal(size=(dy, dy))) + 0.3 * rng.normal(size=(n, dy))
    base, base_d = linear_cka(x, y), debiased_cka(x, y)
    qx, qy = _random_orthogonal(dx, rng), _random_orthogonal(dy, rng)
    for xt, yt in ((x @ qx, y), (x, y @ qy), (7.5 * x, y), (x, 0.01 * y), (3.0 * x @ qx + 2.0, y @ qy - 5.0)):
        assert linear_cka(xt, yt) == pytest.approx(base, abs=1e-10)
        assert debiased_cka(xt, yt) == pytest.approx(base_d, abs=1e-10)
    aniso = np.ones(dx)
    aniso[0] = 50.0
    assert abs(linear_cka(x * aniso, y) - base) > 1e-3  # NOT invariant to per-dimension scaling
    assert abs(debiased_cka(x * aniso, y) - base_d) > 1e-3


def test_debiased_cka_near_zero_for_independent_data() -> None:
    rng = _rng(13)
    n, d = 500, 20
    x, y = rng.normal(size=(n, d)), rng.normal(size=(n, d))
    biased, unbiased = linear_cka(x, y), debiased_cka(x, y)
    assert abs(unbiased) < 0.05
    assert biased > 0.02  # biased CKA ≈ d/N = 0.04 for independent data
    assert biased > abs(unbiased)


def test_debiased_cka_gram_and_feature_forms_agree() -> None:
    rng = _rng(14)
    x = rng.normal(size=(40, 6))
    y = x @ rng.normal(size=(6, 5)) + rng.normal(size=(40, 5))
    # Reference: Kornblith et al.'s feature-space debiased CKA (centred features).
    n = x.shape[0]
    xc, yc = x - x.mean(0), y - y.mean(0)

    def hsic_u(a: np.ndarray, b: np.ndarray) -> float:
        k, l_ = a @ a.T, b @ b.T
        np.fill_diagonal(k, 0)
        np.fill_diagonal(l_, 0)
        one = np.ones(n)
        t = (
            np.trace(k @ l_)
            + (one @ k @ one) * (one @ l_ @ one) / ((n - 1) * (n - 2))
            - 2 * one @ k @ l_ @ one / (n - 2)
        )
        return t / (n * (n - 3))

    ref = hsic_u(xc, yc) / np.sqrt(hsic_u(xc, xc) * hsic_u(yc, yc))
    assert debiased_cka(x, y) == pytest.approx(ref, abs=1e-12)  # N=40 ≥ dx+dy: feature-space path
    wide_x = np.hstack([x, np.zeros((n, 40))])  # N < dx+dy: NxN path, same value (zero columns change nothing)
    assert debiased_cka(wide_x, y) == pytest.approx(ref, abs=1e-12)


# --------------------------------------------------------------------------------------------------------------------
# guards
# --------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn",
    [top1_accuracy, csls_top1, semantic_preservation, reconstruction_error, r2_score, retrieval_ranks],
)
def test_guards(fn: Callable[..., object]) -> None:
    good = np.ones((5, 3)) * np.arange(5)[:, None] + np.arange(3)
    with pytest.raises(ValueError, match="shape mismatch"):
        fn(good, good[:, :2])
    with pytest.raises(ValueError, match="shape mismatch"):
        fn(good, good[:4])
    with pytest.raises(ValueError, match="N >= 2"):
        fn(good[:1], good[:1])
    bad = good.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        fn(bad, good)
    bad[2, 1] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        fn(good, bad)
    with pytest.raises(ValueError, match="2-D"):
        fn(good[0], good[0])


def test_cka_guards() -> None:
    x = _rng(15).normal(size=(10, 3))
    with pytest.raises(ValueError, match="row-count mismatch"):
        linear_cka(x, x[:9])
    with pytest.raises(ValueError, match="N >= 4"):
        debiased_cka(x[:3], x[:3])
    with pytest.raises(ValueError, match="zero variance"):
        linear_cka(x, np.ones((10, 2)))
    with pytest.raises(ValueError, match="non-finite"):
        linear_cka(x, np.full((10, 2), np.nan))


def test_bad_statistics_and_k() -> None:
    y = _rng(16).normal(size=(10, 3))
    with pytest.raises(ValueError, match="mean must have length 3"):
        semantic_preservation(y, y, mean=np.zeros(2))
    with pytest.raises(ValueError, match="scale contains non-finite"):
        semantic_preservation(y, y, scale=np.array([1.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match="positive integer"):
        csls_top1(y, y, k=0)
    with pytest.raises(ValueError, match="zero variance"):
        reconstruction_error(np.ones((4, 2)), np.ones((4, 2)))


def test_compute_all_matches_individual_metrics() -> None:
    rng = _rng(17)
    y = rng.normal(size=(300, 10)) * rng.uniform(0.5, 20.0, size=10) + 4.0
    mapped = y + rng.normal(size=y.shape) * y.std(axis=0)
    x = rng.normal(size=(300, 7))
    x_rt = x + 0.3 * rng.normal(size=x.shape)
    tm, ts, sm, ss = y.mean(0) + 0.1, y.std(0) * 1.1, x.mean(0) - 0.2, x.std(0) * 0.9
    out = compute_all(mapped, y, x, x_rt, target_mean=tm, target_scale=ts, source_mean=sm, source_scale=ss)
    assert out["accuracy"] == top1_accuracy(mapped, y, tm, ts)
    assert out["csls_accuracy"] == csls_top1(mapped, y, 10, tm, ts)
    assert 0.0 < out["accuracy"] < 1.0
    assert out["semantic_preservation"] == pytest.approx(semantic_preservation(mapped, y, tm, ts), abs=1e-14)
    assert out["reconstruction_error"] == pytest.approx(reconstruction_error(x, x_rt, sm, ss), abs=1e-14)
    assert out["r2"] == pytest.approx(r2_score(mapped, y, tm, ts), abs=1e-14)
    assert out["cka"] == pytest.approx(linear_cka(standardize(mapped, tm, ts), standardize(y, tm, ts)), abs=1e-14)


def test_standardize_single_row_with_given_statistics() -> None:
    out = standardize(np.array([[2.0, 4.0]]), mean=np.array([1.0, 1.0]), scale=np.array([1.0, 3.0]))
    np.testing.assert_allclose(out, [[1.0, 1.0]])


def test_bootstrap_ci_brackets_the_mean_and_shrinks_with_n() -> None:
    from alignment_plugins.metrics import bootstrap_ci

    rng = np.random.default_rng(0)
    small = rng.normal(0.7, 0.1, size=50)
    large = rng.normal(0.7, 0.1, size=5000)
    lo_s, hi_s = bootstrap_ci(small)
    lo_l, hi_l = bootstrap_ci(large)
    assert lo_s < small.mean() < hi_s and lo_l < large.mean() < hi_l
    assert (hi_l - lo_l) < (hi_s - lo_s) / 5
    # the 95% interval of a mean with sd 0.1 over 5000 rows is about ±1.96·0.1/√5000 ≈ ±0.0028
    assert (hi_l - lo_l) / 2 == pytest.approx(1.96 * large.std() / np.sqrt(large.size), rel=0.15)
    with pytest.raises(ValueError):
        bootstrap_ci(np.array([np.nan, 1.0]))


def test_compute_all_reports_interval_around_semantic_preservation() -> None:
    from alignment_plugins.metrics import compute_all

    rng = np.random.default_rng(1)
    y = rng.normal(size=(200, 6))
    mapped = y + 0.5 * rng.normal(size=y.shape)
    out = compute_all(mapped, y, y, y, target_mean=None, target_scale=None, source_mean=None, source_scale=None)
    assert out["semantic_preservation_ci_low"] < out["semantic_preservation"] < out["semantic_preservation_ci_high"]
    assert out["n"] == 200
