"""Held-out quality metrics for a fitted W-Matrix (numpy only, float64 internally).

Real hidden states carry a few "massive" dimensions (one dimension can hold half of the variance), so a cosine in raw
coordinates mostly measures those dimensions. Every similarity reported here is therefore computed in per-dimension
*standardized* coordinates of the space being compared::

    ã = (a - mean) / scale

where ``mean`` / ``scale`` are the TRAINING mean and per-dimension standard deviation of that space (target space for
mapped-vs-true comparisons, source space for round trips). ``mean=None`` centres by the mean of the reference array
(``target`` / ``x``) of the data given; ``scale=None`` means no scaling (raw, centred coordinates). Both arrays of a
comparison are always transformed with the SAME mean and scale.

Retrieval ties are broken pessimistically: a distractor that scores exactly as high as the true row counts as a miss,
so degenerate inputs (e.g. all-zero predictions) can never score as perfect.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "compute_all",
    "csls_top1",
    "debiased_cka",
    "linear_cka",
    "r2_score",
    "reconstruction_error",
    "retrieval_ranks",
    "semantic_preservation",
    "standardize",
    "top1_accuracy",
]

# Float64 elements per similarity block (2**22 * 8 B = 32 MiB), so N = 20k never materialises an N x N matrix.
_CHUNK_ELEMENTS = 1 << 22
# Per-dimension scales at or below this are treated as 1 (a constant dimension carries no information to divide by).
_MIN_SCALE = 1e-12
_NORM_EPS = 1e-300


# --------------------------------------------------------------------------------------------------------------------
# validation and standardization
# --------------------------------------------------------------------------------------------------------------------


def _as_matrix(a: np.ndarray, name: str, min_rows: int = 2) -> np.ndarray:
    """Return ``a`` as a finite float64 (N, d) matrix with N >= ``min_rows`` or raise ValueError."""
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of shape (N, d); got shape {arr.shape}")
    if arr.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} rows (N >= {min_rows}); got N={arr.shape[0]}")
    if arr.shape[1] < 1:
        raise ValueError(f"{name} needs at least one column; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite values (NaN or inf)")
    return arr


def _pair(
    a: np.ndarray, b: np.ndarray, name_a: str, name_b: str, *, same_dim: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Validate two matrices that describe the same N rows (and, if ``same_dim``, the same space)."""
    a = _as_matrix(a, name_a)
    b = _as_matrix(b, name_b)
    if same_dim and a.shape != b.shape:
        raise ValueError(f"shape mismatch: {name_a} has shape {a.shape} but {name_b} has shape {b.shape}")
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"row-count mismatch: {name_a} has N={a.shape[0]} rows but {name_b} has N={b.shape[0]}")
    return a, b


def _vector(v: np.ndarray | None, d: int, name: str) -> np.ndarray | None:
    """Validate an optional per-dimension statistic of length ``d``."""
    if v is None:
        return None
    arr = np.asarray(v, dtype=np.float64).reshape(-1)
    if arr.shape[0] != d:
        raise ValueError(f"{name} must have length {d} (one entry per dimension); got shape {np.shape(v)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite values (NaN or inf)")
    return arr


def standardize(a: np.ndarray, mean: np.ndarray | None = None, scale: np.ndarray | None = None) -> np.ndarray:
    """Per-dimension standardized copy of ``a`` (N, d), unitless: ã = (a - mean) / scale (mean=None → a's own mean)."""
    arr = _as_matrix(a, "a", min_rows=1)
    mu = _vector(mean, arr.shape[1], "mean")
    sd = _vector(scale, arr.shape[1], "scale")
    out = arr - (arr.mean(axis=0) if mu is None else mu)
    if sd is not None:
        sd = np.abs(sd)
        out /= np.where(sd > _MIN_SCALE, sd, 1.0)
    return out


def _standardize_pair(
    pred: np.ndarray, ref: np.ndarray, mean: np.ndarray | None, scale: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Standardize ``pred`` and ``ref`` with the same statistics (``mean=None`` → the mean of ``ref``)."""
    mu = _vector(mean, ref.shape[1], "mean")
    if mu is None:
        mu = ref.mean(axis=0)
    return standardize(pred, mu, scale), standardize(ref, mu, scale)


def _unit_rows(a: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero, so their cosine with anything is 0)."""
    norms = np.linalg.norm(a, axis=1, keepdims=True)
    return a / np.maximum(norms, _NORM_EPS)


def _chunk_size(n_cols: int) -> int:
    """Rows per similarity block so that one block holds at most ``_CHUNK_ELEMENTS`` entries."""
    return max(1, _CHUNK_ELEMENTS // max(1, n_cols))


# --------------------------------------------------------------------------------------------------------------------
# retrieval
# --------------------------------------------------------------------------------------------------------------------


def _unit_pair(
    mapped: np.ndarray, target: np.ndarray, mean: np.ndarray | None, scale: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Validated, jointly standardized, unit-norm rows of ``mapped`` and ``target`` (their dot products are cosines)."""
    m, t = _pair(mapped, target, "mapped", "target")
    ms, ts = _standardize_pair(m, t, mean, scale)
    return _unit_rows(ms), _unit_rows(ts)


def _true_rank(sims: np.ndarray, start: int) -> np.ndarray:
    """Per row of a (chunk, N) score block for queries start.., #{j≠i : s_ij ≥ s_ii} (ties count against the query)."""
    rows = np.arange(sims.shape[0])
    true = sims[rows, rows + start]
    return (sims >= true[:, None]).sum(axis=1) - 1  # the true column always equals itself


def _ranks(mu: np.ndarray, tu: np.ndarray) -> np.ndarray:
    """Plain-cosine ranks of the true target, one (chunk, N) similarity block at a time."""
    n = mu.shape[0]
    step = _chunk_size(n)
    ranks = np.empty(n, dtype=np.int64)
    for start in range(0, n, step):
        ranks[start : start + step] = _true_rank(mu[start : start + step] @ tu.T, start)
    return ranks


def _mean_topk_rows(sims: np.ndarray, k: int) -> np.ndarray:
    """Mean of the k largest entries of each row of ``sims``."""
    if k >= sims.shape[1]:
        return sims.mean(axis=1)
    return np.partition(sims, sims.shape[1] - k, axis=1)[:, sims.shape[1] - k :].mean(axis=1)


def _csls_accuracy(mu: np.ndarray, tu: np.ndarray, k: int, ranks_out: np.ndarray | None = None) -> float:
    """CSLS top-1 accuracy from unit rows in two chunked passes; pass 1 also fills plain-cosine ``ranks_out``."""
    n = mu.shape[0]
    k = min(k, n)
    step = _chunk_size(n)
    # Pass 1: r_T per query row, and a running top-k per target column for r_S.
    r_t = np.empty(n)
    col_top = np.empty((0, n))
    for start in range(0, n, step):
        sims = mu[start : start + step] @ tu.T
        if ranks_out is not None:
            ranks_out[start : start + step] = _true_rank(sims, start)
        r_t[start : start + step] = _mean_topk_rows(sims, k)
        col_top = np.vstack([col_top, sims])
        if col_top.shape[0] > k:
            col_top = np.partition(col_top, col_top.shape[0] - k, axis=0)[col_top.shape[0] - k :]
    r_s = col_top.mean(axis=0)
    # Pass 2: CSLS scores and pessimistic top-1.
    hits = 0
    for start in range(0, n, step):
        csls = 2.0 * (mu[start : start + step] @ tu.T) - r_t[start : start + step, None] - r_s[None, :]
        hits += int(np.count_nonzero(_true_rank(csls, start) == 0))
    return hits / n


def retrieval_ranks(
    mapped: np.ndarray, target: np.ndarray, mean: np.ndarray | None = None, scale: np.ndarray | None = None
) -> np.ndarray:
    """Rank of target[i] for query mapped[i] (0 = best), standardized cosine: #{j≠i : cos(m̃_i, ỹ_j) ≥ cos(m̃_i, ỹ_i)}."""
    return _ranks(*_unit_pair(mapped, target, mean, scale))


def top1_accuracy(
    mapped: np.ndarray, target: np.ndarray, mean: np.ndarray | None = None, scale: np.ndarray | None = None
) -> float:
    """Top-1 retrieval accuracy in [0, 1] among all N rows, standardized cosine: mean_i [argmax_j cos(m̃_i, ỹ_j) = i]."""
    return float(np.mean(retrieval_ranks(mapped, target, mean, scale) == 0))


def _check_k(k: int) -> int:
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer; got {k!r}")
    return int(k)


def csls_top1(
    mapped: np.ndarray,
    target: np.ndarray,
    k: int = 10,
    mean: np.ndarray | None = None,
    scale: np.ndarray | None = None,
) -> float:
    """CSLS top-1 accuracy in [0, 1], standardized cosines: CSLS(x, y) = 2cos(x, y) - r_T(x) - r_S(y) (Conneau 2018).

    r_T(x) is the mean cosine of mapped row x to its k nearest target rows and r_S(y) the mean cosine of target row y to
    its k nearest mapped rows (k is capped at N). Query i is correct when target[i] strictly beats every other target.
    """
    k = _check_k(k)
    return _csls_accuracy(*_unit_pair(mapped, target, mean, scale), k)


# --------------------------------------------------------------------------------------------------------------------
# regression-style metrics
# --------------------------------------------------------------------------------------------------------------------


def semantic_preservation(
    mapped: np.ndarray, target: np.ndarray, mean: np.ndarray | None = None, scale: np.ndarray | None = None
) -> float:
    """Mean row-wise cosine in [-1, 1] between mapped and true rows, standardized target space: mean_i cos(m̃_i, ỹ_i)."""
    return float(np.mean(row_cosines(mapped, target, mean, scale)))


def row_cosines(
    mapped: np.ndarray, target: np.ndarray, mean: np.ndarray | None = None, scale: np.ndarray | None = None
) -> np.ndarray:
    """Per-row cosines cos(m̃_i, ỹ_i) in [-1, 1], standardized target space, shape (N,)."""
    m, t = _pair(mapped, target, "mapped", "target")
    ms, ts = _standardize_pair(m, t, mean, scale)
    return np.sum(_unit_rows(ms) * _unit_rows(ts), axis=1)


def bootstrap_ci(
    values: np.ndarray, *, level: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval (same units as `values`) of the mean of `values` over resampled rows."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size < 2 or not np.isfinite(v).all():
        raise ValueError("bootstrap_ci needs at least 2 finite values")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples)
    for start in range(0, n_resamples, 256):
        stop = min(start + 256, n_resamples)
        means[start:stop] = v[rng.integers(0, v.size, size=(stop - start, v.size))].mean(axis=1)
    alpha = (1.0 - level) / 2.0
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1.0 - alpha))


def _relative_sse(pred: np.ndarray, ref: np.ndarray, mean: np.ndarray | None, scale: np.ndarray | None) -> float:
    """Σ‖r̃ - p̃‖² / Σ‖r̃ - mean(r̃)‖² in standardized coordinates (the mean cancels; only the scale matters)."""
    ps, rs = _standardize_pair(pred, ref, mean, scale)
    denom = float(np.sum((rs - rs.mean(axis=0)) ** 2))
    if denom <= 0.0:
        raise ValueError("reference data has zero variance; a relative squared error is undefined")
    return float(np.sum((rs - ps) ** 2)) / denom


def reconstruction_error(
    x: np.ndarray, x_roundtrip: np.ndarray, mean: np.ndarray | None = None, scale: np.ndarray | None = None
) -> float:
    """Relative squared round-trip error, standardized source space (0 best, 1 = mean): Σ‖x̃ - x̃̂‖² / Σ‖x̃ - mean(x̃)‖²."""
    x, xr = _pair(x, x_roundtrip, "x", "x_roundtrip")
    return _relative_sse(xr, x, mean, scale)


def r2_score(
    pred: np.ndarray, target: np.ndarray, mean: np.ndarray | None = None, scale: np.ndarray | None = None
) -> float:
    """Variance-weighted R², standardized target space (1 perfect, 0 = the mean): 1 - Σ‖ỹ - ỹ̂‖² / Σ‖ỹ - mean(ỹ)‖²."""
    p, t = _pair(pred, target, "pred", "target")
    return 1.0 - _relative_sse(p, t, mean, scale)


# --------------------------------------------------------------------------------------------------------------------
# CKA
# --------------------------------------------------------------------------------------------------------------------


def _centre(a: np.ndarray) -> np.ndarray:
    return a - a.mean(axis=0)


def _use_gram(n: int, dx: int, dy: int) -> bool:
    """NxN kernels cost ~N²(dx+dy) flops, the feature-space form ~N(dx+dy)²: pick the cheaper one."""
    return n < dx + dy


def _biased_cka_terms(p_xy: float, p_xx: float, p_yy: float) -> float:
    denom = np.sqrt(p_xx) * np.sqrt(p_yy)
    if not denom > 0.0:
        raise ValueError("CKA is undefined for data with zero variance (a constant representation)")
    return float(p_xy / denom)


def _unbiased_hsic(p: np.ndarray | float, a_dot_b: np.ndarray | float, sa_sb: np.ndarray | float, n: int) -> np.ndarray:
    """Unbiased linear HSIC (Song 2012) of centred X, Y from ⟨K, L⟩, a·b and (Σa)(Σb), with a_i = ‖x_i‖², b_i = ‖y_i‖².

    With K̃ = K - diag(K) and centred features, K̃1 = -a, so tr(K̃L̃) = ⟨K, L⟩ - a·b, 1ᵀK̃L̃1 = a·b and
    (1ᵀK̃1)(1ᵀL̃1) = (Σa)(Σb); HSIC_u = [tr(K̃L̃) + (1ᵀK̃1)(1ᵀL̃1)/((n-1)(n-2)) - 2·1ᵀK̃L̃1/(n-2)] / (n(n-3)).
    """
    return (np.asarray(p) - a_dot_b + sa_sb / ((n - 1) * (n - 2)) - 2.0 * a_dot_b / (n - 2)) / (n * (n - 3))


def _hsic_u_gram(k: np.ndarray, l_: np.ndarray) -> float:
    """Unbiased HSIC from two NxN linear kernels, literally as in Song et al. (2012), eq. (5)."""
    n = k.shape[0]
    kt = k.copy()
    lt = l_.copy()
    np.fill_diagonal(kt, 0.0)
    np.fill_diagonal(lt, 0.0)
    k1 = kt.sum(axis=1)
    l1 = lt.sum(axis=1)
    term = float(np.sum(kt * lt)) + k1.sum() * l1.sum() / ((n - 1) * (n - 2)) - 2.0 * float(k1 @ l1) / (n - 2)
    return term / (n * (n - 3))


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA in [0, 1] of (N, dx) vs (N, dy), centred data (Kornblith 2019): ‖YcᵀXc‖_F² / (‖XcᵀXc‖_F ‖YcᵀYc‖_F)."""
    x, y = _pair(x, y, "x", "y", same_dim=False)
    xc, yc = _centre(x), _centre(y)
    if _use_gram(x.shape[0], x.shape[1], y.shape[1]):
        kx, ky = xc @ xc.T, yc @ yc.T
        return _biased_cka_terms(float(np.sum(kx * ky)), float(np.sum(kx * kx)), float(np.sum(ky * ky)))
    return _biased_cka_terms(
        float(np.sum((yc.T @ xc) ** 2)), float(np.sum((xc.T @ xc) ** 2)), float(np.sum((yc.T @ yc) ** 2))
    )


def debiased_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Debiased linear CKA (≈0 if independent; Nguyen 2021): HSIC_u(K, L) / √(HSIC_u(K, K)·HSIC_u(L, L)), K = XcXcᵀ.

    HSIC_u is the unbiased estimator of Song et al. (2012) on linear kernels of the centred data (requires N ≥ 4). It is
    evaluated with NxN kernels when N < dx + dy and otherwise with the algebraically identical feature-space form.
    """
    x, y = _pair(x, y, "x", "y", same_dim=False)
    n = x.shape[0]
    if n < 4:
        raise ValueError(f"debiased CKA needs at least 4 rows (N >= 4); got N={n}")
    xc, yc = _centre(x), _centre(y)
    if _use_gram(n, x.shape[1], y.shape[1]):
        kx, ky = xc @ xc.T, yc @ yc.T
        h_xy, h_xx, h_yy = _hsic_u_gram(kx, ky), _hsic_u_gram(kx, kx), _hsic_u_gram(ky, ky)
    else:
        a, b = np.sum(xc * xc, axis=1), np.sum(yc * yc, axis=1)
        h_xy = float(_unbiased_hsic(np.sum((yc.T @ xc) ** 2), a @ b, a.sum() * b.sum(), n))
        h_xx = float(_unbiased_hsic(np.sum((xc.T @ xc) ** 2), a @ a, a.sum() ** 2, n))
        h_yy = float(_unbiased_hsic(np.sum((yc.T @ yc) ** 2), b @ b, b.sum() ** 2, n))
    if not (h_xx > 0.0 and h_yy > 0.0):
        raise ValueError("debiased CKA is undefined: a representation has non-positive unbiased self-HSIC")
    return float(h_xy / np.sqrt(h_xx * h_yy))


# --------------------------------------------------------------------------------------------------------------------
# everything at once
# --------------------------------------------------------------------------------------------------------------------


def compute_all(
    mapped: np.ndarray,
    target: np.ndarray,
    x: np.ndarray,
    x_roundtrip: np.ndarray,
    *,
    target_mean: np.ndarray | None,
    target_scale: np.ndarray | None,
    source_mean: np.ndarray | None,
    source_scale: np.ndarray | None,
) -> dict[str, float]:
    """All held-out metrics (unitless) in standardized space: ỹ = (y - target_mean)/target_scale, x̃ likewise for source.

    Keys: ``accuracy`` (top-1), ``csls_accuracy`` (CSLS top-1, k=10), ``semantic_preservation`` (mean row cosine,
    with its 95% percentile-bootstrap interval over rows ``semantic_preservation_ci_low/high``), ``n`` (rows),
    ``r2`` (all in standardized target space), ``reconstruction_error`` (standardized source space) and ``cka`` (linear
    CKA of standardized mapped vs standardized target).
    """
    m, t = _pair(mapped, target, "mapped", "target")
    ms, ts = _standardize_pair(m, t, target_mean, target_scale)
    mu, tu = _unit_rows(ms), _unit_rows(ts)
    ranks = np.empty(m.shape[0], dtype=np.int64)
    csls = _csls_accuracy(mu, tu, 10, ranks_out=ranks)  # one pass over the N x N cosines serves both retrievals
    cosines = np.sum(mu * tu, axis=1)
    ci_low, ci_high = bootstrap_ci(cosines)
    return {
        "accuracy": float(np.mean(ranks == 0)),
        "csls_accuracy": csls,
        "semantic_preservation": float(np.mean(cosines)),
        "semantic_preservation_ci_low": ci_low,
        "semantic_preservation_ci_high": ci_high,
        "n": int(m.shape[0]),
        "reconstruction_error": reconstruction_error(x, x_roundtrip, source_mean, source_scale),
        "r2": r2_score(m, t, target_mean, target_scale),
        "cka": linear_cka(ms, ts),
    }
