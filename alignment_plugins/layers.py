"""Layer correspondence between a source and a target model: CKA similarity matrices, monotone maps, heatmaps.

Every function works on per-layer activation matrices of the SAME N anchor prompts, keyed by layer index
(``{layer: array (N, d_layer)}``). Matrices and maps are always in sorted-key order: row i of a similarity matrix is
the i-th smallest source layer, column j the j-th smallest target layer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from alignment_plugins.metrics import _as_matrix, _unbiased_hsic

__all__ = ["best_pair", "cka_matrix", "monotone_layer_map", "plot_cka_heatmap"]

# Up to this many anchors, CKA uses NxN linear kernels (computed once per layer; every layer pair is then a dot
# product). Memory: one packed Gram holds N(N+1)/2 float64s (67 MB at N = 4096) per source layer.
GRAM_MAX_N = 4096


class _LayerStats:
    """Per-layer quantities from which every CKA / debiased-CKA entry is assembled."""

    def __init__(self, layers: Mapping[int, np.ndarray], side: str, n: int | None) -> None:
        if not layers:
            raise ValueError(f"{side} has no layers")
        self.keys = sorted(layers)
        self.centred: list[np.ndarray] = []
        for key in self.keys:
            arr = _as_matrix(layers[key], f"{side}[{key}]")
            if n is None:
                n = arr.shape[0]
            if arr.shape[0] != n:
                raise ValueError(f"{side}[{key}] has N={arr.shape[0]} rows but other layers have N={n}")
            self.centred.append(arr - arr.mean(axis=0))
        self.n = int(n)
        # a_i = ‖x_i‖² of the centred rows (for the unbiased HSIC); shape (L, N).
        self.row_sq = np.stack([np.sum(xc * xc, axis=1) for xc in self.centred])


def _packed_gram(xc: np.ndarray, iu: tuple[np.ndarray, np.ndarray], weights: np.ndarray) -> np.ndarray:
    """Upper triangle of K = XcXcᵀ weighted so that packed(K)·packed(L) = ⟨K, L⟩_F (off-diagonal weight √2)."""
    k = xc @ xc.T
    return k[iu] * weights


def cka_matrix(
    source: Mapping[int, np.ndarray],
    target: Mapping[int, np.ndarray],
    debiased: bool = False,
    *,
    gram_max_n: int = GRAM_MAX_N,
) -> np.ndarray:
    """Linear CKA in [0, 1] of every (source, target) layer pair, shape (Ls, Lt): ⟨Kc, Lc⟩ / (‖Kc‖_F ‖Lc‖_F), K = XcXcᵀ.

    With ``debiased=True`` each entry is HSIC_u(K, L) / √(HSIC_u(K, K)·HSIC_u(L, L)) (unbiased HSIC, needs N ≥ 4),
    which is ≈ 0 for unrelated layers. Both use only ⟨Kc, Lc⟩ = ‖YcᵀXc‖_F², per-row norms and N; ⟨Kc, Lc⟩ comes from
    precomputed per-layer NxN Grams when N ≤ ``gram_max_n`` and from the feature-space form otherwise. Raw (not
    standardized) activations are compared: CKA is invariant to rotation and isotropic scale, not to per-dim scaling.
    """
    src = _LayerStats(source, "source", None)
    tgt = _LayerStats(target, "target", src.n)
    n = src.n
    if debiased and n < 4:
        raise ValueError(f"debiased CKA needs at least 4 rows (N >= 4); got N={n}")

    cross = np.empty((len(src.keys), len(tgt.keys)))
    if n <= gram_max_n:
        iu = np.triu_indices(n)
        weights = np.where(iu[0] == iu[1], 1.0, np.sqrt(2.0))
        src_packed = np.stack([_packed_gram(xc, iu, weights) for xc in src.centred])  # (Ls, N(N+1)/2)
        self_src = np.einsum("ij,ij->i", src_packed, src_packed)
        self_tgt = np.empty(len(tgt.keys))
        for j, yc in enumerate(tgt.centred):  # stream the target side: only one target Gram in memory at a time
            packed = _packed_gram(yc, iu, weights)
            cross[:, j] = src_packed @ packed
            self_tgt[j] = packed @ packed
        del src_packed
    else:
        self_src = np.array([np.sum((xc.T @ xc) ** 2) for xc in src.centred])
        self_tgt = np.array([np.sum((yc.T @ yc) ** 2) for yc in tgt.centred])
        for i, xc in enumerate(src.centred):
            for j, yc in enumerate(tgt.centred):
                cross[i, j] = np.sum((yc.T @ xc) ** 2)

    if debiased:
        sum_s, sum_t = src.row_sq.sum(axis=1), tgt.row_sq.sum(axis=1)
        num = _unbiased_hsic(cross, src.row_sq @ tgt.row_sq.T, np.outer(sum_s, sum_t), n)
        self_src = _unbiased_hsic(self_src, np.sum(src.row_sq**2, axis=1), sum_s**2, n)
        self_tgt = _unbiased_hsic(self_tgt, np.sum(tgt.row_sq**2, axis=1), sum_t**2, n)
    else:
        num = cross
    for side, keys, selfs in (("source", src.keys, self_src), ("target", tgt.keys, self_tgt)):
        bad = [k for k, v in zip(keys, selfs, strict=True) if not v > 0.0]
        if bad:
            raise ValueError(
                f"CKA is undefined for {side} layers {bad}: zero (or non-positive unbiased) self-similarity"
            )
    return np.asarray(num / np.sqrt(np.outer(self_src, self_tgt)), dtype=np.float64)


def _check_similarity(similarity: np.ndarray, source_layers: Sequence[int], target_layers: Sequence[int]) -> np.ndarray:
    """Validate a (len(source_layers), len(target_layers)) finite similarity matrix."""
    sim = np.asarray(similarity, dtype=np.float64)
    expected = (len(source_layers), len(target_layers))
    if sim.ndim != 2 or sim.shape != expected:
        raise ValueError(f"similarity has shape {sim.shape}; expected {expected} (source layers x target layers)")
    if 0 in expected:
        raise ValueError("similarity must have at least one source and one target layer")
    if not np.all(np.isfinite(sim)):
        raise ValueError("similarity contains non-finite values (NaN or inf)")
    return sim


def monotone_layer_map(
    similarity: np.ndarray, source_layers: Sequence[int], target_layers: Sequence[int]
) -> list[tuple[int, int]]:
    """Source→target layer map maximizing Σ_i S[i, j_i] subject to j_0 ≤ j_1 ≤ … (DP, O(Ls·Lt)); returns layer pairs.

    Rows are taken in the given ``source_layers`` order, columns in the given ``target_layers`` order. Ties go to the
    smallest target index (the earliest target layer).
    """
    sim = _check_similarity(similarity, source_layers, target_layers)
    n_s, n_t = sim.shape
    # best[i, j]: max total for rows 0..i with row i on column j; prev[i, j]: argmax_{j' ≤ j} best[i-1, j'].
    best = np.empty((n_s, n_t))
    prev = np.zeros((n_s, n_t), dtype=np.int64)
    best[0] = sim[0]
    for i in range(1, n_s):
        run_arg = 0
        for j in range(n_t):
            if best[i - 1, j] > best[i - 1, run_arg]:
                run_arg = j
            prev[i, j] = run_arg
        best[i] = sim[i] + best[i - 1, prev[i]]
    cols = [int(np.argmax(best[-1]))]
    for i in range(n_s - 1, 0, -1):
        cols.append(int(prev[i, cols[-1]]))
    cols.reverse()
    return [(int(source_layers[i]), int(target_layers[j])) for i, j in enumerate(cols)]


def best_pair(similarity: np.ndarray, source_layers: Sequence[int], target_layers: Sequence[int]) -> tuple[int, int]:
    """(source_layer, target_layer) of the single most similar pair: argmax_{i,j} S[i, j] (first one on ties)."""
    sim = _check_similarity(similarity, source_layers, target_layers)
    i, j = np.unravel_index(int(np.argmax(sim)), sim.shape)
    return int(source_layers[i]), int(target_layers[j])


def plot_cka_heatmap(
    similarity: np.ndarray,
    source_layers: Sequence[int],
    target_layers: Sequence[int],
    path: str | Path,
    *,
    title: str,
    layer_map: Sequence[tuple[int, int]] | None = None,
) -> Path:
    """Write a PNG heatmap of S (source layers on y, target on x, unitless similarity) with a layer map as dots.

    ``layer_map=None`` overlays :func:`monotone_layer_map` of ``similarity``; pass ``[]`` for no overlay.
    """
    sim = _check_similarity(similarity, source_layers, target_layers)
    if layer_map is None:
        layer_map = monotone_layer_map(sim, source_layers, target_layers)
    row_of = {int(s): i for i, s in enumerate(source_layers)}
    col_of = {int(t): j for j, t in enumerate(target_layers)}
    missing = [pair for pair in layer_map if int(pair[0]) not in row_of or int(pair[1]) not in col_of]
    if missing:
        raise ValueError(f"layer_map pairs {missing} are not in source_layers x target_layers")

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n_s, n_t = sim.shape
    fig = Figure(figsize=(max(4.0, 0.3 * n_t + 2.5), max(3.5, 0.3 * n_s + 1.5)), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(sim, origin="lower", aspect="auto", cmap="viridis", interpolation="nearest")
    fig.colorbar(image, ax=ax, label="similarity")
    if layer_map:
        xs = [col_of[int(t)] for _, t in layer_map]
        ys = [row_of[int(s)] for s, _ in layer_map]
        ax.plot(xs, ys, color="white", linewidth=0.8, alpha=0.7)
        ax.scatter(xs, ys, s=18, c="red", edgecolors="white", linewidths=0.6, zorder=3, label="layer map")
        ax.legend(loc="upper left", fontsize="small")
    step_x, step_y = max(1, n_t // 20), max(1, n_s // 20)
    ax.set_xticks(range(0, n_t, step_x), [str(t) for t in target_layers][::step_x])
    ax.set_yticks(range(0, n_s, step_y), [str(s) for s in source_layers][::step_y])
    ax.set_xlabel("target layer")
    ax.set_ylabel("source layer")
    ax.set_title(title)
    fig.tight_layout()

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png")
    return out
