"""Head mapping: heads of source block i matched one-to-one to heads of target block j by attention patterns."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from alignment_plugins.solvers.base import LinearMap
from alignment_plugins.stitching.splice import BATCH, MapLike, Pair, resolve_pair, run_forward, trimmed_spans
from alignment_plugins.types import LoadedModel

_WORD = re.compile(r"\w+|[^\w\s]")


def _word_spans(text: str) -> np.ndarray:
    return np.array([m.span() for m in _WORD.finditer(text)], dtype=np.int64).reshape(-1, 2)


def _word_membership(text: str, words: np.ndarray, offsets: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """(W, T) 0/1 matrix: token t (content, position > 0) overlaps word w."""
    spans = trimmed_spans(text, offsets)
    valid = ok & (spans[:, 1] > spans[:, 0])
    overlap = (spans[None, :, 0] < words[:, None, 1]) & (spans[None, :, 1] > words[:, None, 0])
    return (overlap & valid[None, :]).astype(np.float64)


def _word_grid(attn: np.ndarray, member: np.ndarray) -> np.ndarray:
    """(H, W, W) word-level attention: mean over a word's query tokens, sum over its key tokens, rows renormalized."""
    counts = member.sum(axis=1, keepdims=True)
    query = np.divide(member, counts, out=np.zeros_like(member), where=counts > 0)
    grid = np.einsum("wq,hqk,vk->hwv", query, attn, member)
    sums = grid.sum(axis=-1, keepdims=True)
    return np.divide(grid, sums, out=np.zeros_like(grid), where=sums > 0)


def _native_attention(model: LoadedModel, texts: list[str], block: int, max_length: int) -> list[tuple[Any, ...]]:
    """Per text: (attention probs (H, T, T) of `block`, offsets (T, 2), content mask (T,), uniform attention over
    the visible real keys (1, T, T)), native forward."""
    import torch

    with torch.inference_mode():
        out = run_forward(model, texts, ["attentions"], max_length=max_length)
    probs = out.attentions[block].float().cpu().numpy().astype(np.float64)
    content = out.content.numpy()
    offsets = out.offsets.numpy()
    real = out.attention_mask.bool().numpy()
    length = real.shape[1]
    allowed = np.tril(np.ones((length, length), dtype=bool)) if model.info.kind == "causal" else np.ones(
        (length, length), dtype=bool)
    out_rows = []
    for b in range(len(texts)):
        uniform = (allowed & real[b][None, :]).astype(np.float64)
        uniform /= np.maximum(uniform.sum(axis=1, keepdims=True), 1.0)
        out_rows.append((probs[b], offsets[b], content[b], uniform[None]))
    return out_rows


def _similarity_matrix(source: LoadedModel, target: LoadedModel, blocks: Pair, texts: Sequence[str],
                       max_length: int, batch_size: int = BATCH) -> np.ndarray:
    """(Hs, Ht) Pearson correlation of per-head word-level attention patterns minus the model's uniform-attention
    pattern (so the shared causal/positional baseline does not make every pair look alike), over all texts."""
    causal = source.info.kind == "causal" and target.info.kind == "causal"
    acc: dict[str, Any] = {}
    count = 0
    texts = list(texts)
    for start in range(0, len(texts), batch_size):
        chunk = texts[start : start + batch_size]
        src = _native_attention(source, chunk, blocks[0], max_length)
        tgt = _native_attention(target, chunk, blocks[1], max_length)
        for text, (sa, so, sc, su), (ta, to, tc, tu) in zip(chunk, src, tgt, strict=True):
            words = _word_spans(text)
            if len(words) == 0:
                continue
            sm, tm = _word_membership(text, words, so, sc), _word_membership(text, words, to, tc)
            keep = (sm.sum(axis=1) > 0) & (tm.sum(axis=1) > 0)
            if not keep.any():
                continue
            sg = _word_grid(sa, sm[keep]) - _word_grid(su, sm[keep])  # deviation from uniform attention
            tg = _word_grid(ta, tm[keep]) - _word_grid(tu, tm[keep])
            n_words = int(keep.sum())
            cells = np.tril(np.ones((n_words, n_words), dtype=bool)) if causal else np.ones((n_words, n_words), bool)
            x, y = sg[:, cells], tg[:, cells]  # (Hs, F), (Ht, F)
            for key, value in (("x", x.sum(1)), ("y", y.sum(1)), ("xx", (x * x).sum(1)), ("yy", (y * y).sum(1)),
                               ("xy", x @ y.T)):
                acc[key] = acc.get(key, 0.0) + value
            count += x.shape[1]
    if count < 2:
        raise ValueError("the texts give too few word pairs to compare attention patterns")
    mx, my = acc["x"] / count, acc["y"] / count
    cov = acc["xy"] / count - np.outer(mx, my)
    vx = np.maximum(acc["xx"] / count - mx * mx, 0.0)
    vy = np.maximum(acc["yy"] / count - my * my, 0.0)
    den = np.sqrt(np.outer(vx, vy))
    return np.clip(np.divide(cov, den, out=np.zeros_like(cov), where=den > 1e-18), -1.0, 1.0)


def _head_blocks(source: LoadedModel, target: LoadedModel, pair: Pair) -> Pair:
    """Blocks reading hidden-state layers i and j (the last block when the layer is the final hidden state)."""
    return min(pair[0], source.num_layers - 1), min(pair[1], target.num_layers - 1)


def match_heads(similarity: np.ndarray) -> list[dict[str, Any]]:
    """One-to-one head pairs maximizing Σ similarity (scipy's linear_sum_assignment; min(Hs, Ht) pairs, rows ascending).

    Returns [{"source_head", "target_head", "similarity"}]; a non-finite or non-2-D matrix raises ValueError.
    """
    from scipy.optimize import linear_sum_assignment

    sim = np.asarray(similarity, dtype=np.float64)
    if sim.ndim != 2:
        raise ValueError(f"similarity must be a 2-D matrix, got shape {sim.shape}")
    if not np.isfinite(sim).all():
        raise ValueError("similarity contains non-finite values")
    rows, cols = linear_sum_assignment(sim, maximize=True)
    return [{"source_head": int(r), "target_head": int(c), "similarity": float(sim[r, c])}
            for r, c in zip(rows, cols, strict=True)]


def head_mapping(
    source: LoadedModel,
    target: LoadedModel,
    wmatrix_or_pair: MapLike | Pair,
    texts: Sequence[str],
    max_length: int = 128,
) -> dict[str, Any]:
    """Heads of source block i matched one-to-one to heads of target block j by attention-pattern correlation (−1..1).

    Each head's attention matrix is pooled onto the words of the text (``\\w+`` runs and punctuation, shared by
    both tokenizers): word-level A_w[u, v] = mean over u's query tokens of Σ over v's key tokens, rows
    renormalized; special tokens and position 0 (attention sinks) are dropped as queries and keys first, and the
    same pooling of uniform attention over the visible keys is subtracted (the baseline every head shares).
    similarity = Pearson correlation of the two heads' word-level deviations over all texts (lower triangle for
    causal pairs); the assignment maximizing Σ similarity is ``match_heads`` (min(Hs, Ht) pairs). Blocks i and j
    are those reading hidden-state layers i and j (the last block for the final layer). Returns {"value" (= mean
    similarity of the matched pairs), "pairs": [{"source_head", "target_head", "similarity"}], "similarity": (Hs, Ht)
    nested list, "source_block", "target_block", ...}.
    """
    if isinstance(wmatrix_or_pair, tuple) and len(wmatrix_or_pair) == 2 and not isinstance(wmatrix_or_pair[1],
                                                                                         LinearMap):
        pair = (int(wmatrix_or_pair[0]), int(wmatrix_or_pair[1]))
    else:
        pair, _ = resolve_pair(wmatrix_or_pair)  # type: ignore[arg-type]
    if len(texts) == 0:
        raise ValueError("no texts")
    blocks = _head_blocks(source, target, pair)
    sim = _similarity_matrix(source, target, blocks, texts, max_length)
    pairs = match_heads(sim)
    return {
        "value": float(np.mean([p["similarity"] for p in pairs])),
        "mean_similarity": float(np.mean([p["similarity"] for p in pairs])),
        "pairs": pairs,
        "similarity": sim.round(6).tolist(),
        "source_block": int(blocks[0]),
        "target_block": int(blocks[1]),
        "n_texts": len(texts),
        "space": "attention patterns pooled onto a common word grid (no special tokens, no position 0)",
        "definition": "Pearson correlation of per-head word-level attention matrices minus the uniform-attention "
                      "baseline; one-to-one head assignment "
                      "maximizing total correlation (Hungarian); value = mean correlation of assigned pairs",
    }
