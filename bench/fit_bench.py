"""Fit time and error of the streaming solvers against scikit-learn Ridge and scipy's orthogonal_procrustes.

Synthetic anchors: X (N, d) with a decaying spectrum, Y = c·X·Q + b + noise for a random orthogonal Q. Each
contender is timed on the same arrays in the same run; error = relative Frobenius error of the recovered raw-space
weight against the planted one. Prints a table and the time ratios (ours / reference).

    python bench/fit_bench.py --dims 1024 4096 --n 100000
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _planted(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    spectrum = np.linspace(1.0, 0.2, d).astype(np.float32)
    x = (rng.standard_normal((n, d), dtype=np.float32) * spectrum).astype(np.float32)
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    c, b = 1.7, rng.normal(size=d)
    y = (c * (x @ q.astype(np.float32)) + b + 0.01 * rng.standard_normal((n, d), dtype=np.float32)).astype(np.float32)
    return x, y, c * q.T, b  # raw-space weight in (d_out, d_in) convention


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def run(d: int, n: int, chunk: int) -> list[tuple[str, float, float]]:
    """Time each contender at one dimension; return (name, seconds, relative weight error)."""
    from scipy.linalg import orthogonal_procrustes
    from sklearn.linear_model import Ridge

    from alignment_plugins.solvers import CrossStats, ProcrustesSolver, RidgeSolver

    x, y, w_true, _ = _planted(n, d, seed=d)
    rows = []

    t = time.perf_counter()
    stats = CrossStats(d, d)
    for start in range(0, n, chunk):
        stats.update(x[start : start + chunk], y[start : start + chunk])
    t_stats = time.perf_counter() - t
    t = time.perf_counter()
    ours_ridge = RidgeSolver(regularization=1e-6, normalization="none").fit(stats)
    rows.append(("ours ridge (stats + solve)", t_stats + time.perf_counter() - t,
                 _rel(ours_ridge.effective_weight(), w_true)))
    t = time.perf_counter()
    ours_proc = ProcrustesSolver(normalization="scalar").fit(stats)
    rows.append(("ours svd/procrustes (stats + solve)", t_stats + time.perf_counter() - t,
                 _rel(ours_proc.effective_weight(), w_true)))

    t = time.perf_counter()
    ridge = Ridge(alpha=1e-6 * n, solver="cholesky").fit(x, y)
    rows.append(("sklearn Ridge(cholesky)", time.perf_counter() - t, _rel(ridge.coef_, w_true)))

    t = time.perf_counter()
    xc, yc = x - x.mean(0), y - y.mean(0)
    r, scale = orthogonal_procrustes(xc, yc)
    c = scale / float((xc * xc).sum())
    rows.append(("scipy orthogonal_procrustes", time.perf_counter() - t, _rel(c * r.T, w_true)))
    return rows


def main() -> None:
    """Run the benchmark for every requested dimension and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dims", type=int, nargs="+", default=[1024, 4096])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=8192)
    args = parser.parse_args()
    for d in args.dims:
        rows = run(d, args.n, args.chunk)
        print(f"\nd = {d}, N = {args.n} synthetic anchors (float32 input)")
        print(f"{'method':40} {'seconds':>9} {'rel. weight error':>18}")
        for name, seconds, err in rows:
            print(f"{name:40} {seconds:9.2f} {err:18.2e}")
        by = {name: s for name, s, _ in rows}
        ridge_ratio = by["ours ridge (stats + solve)"] / by["sklearn Ridge(cholesky)"]
        print(f"time ratio ours ridge / sklearn Ridge: {ridge_ratio:.2f}")
        print(f"time ratio ours svd / scipy procrustes: "
              f"{by['ours svd/procrustes (stats + solve)'] / by['scipy orthogonal_procrustes']:.2f}")


if __name__ == "__main__":
    main()
