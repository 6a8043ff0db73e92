"""What a stitch does to the target: attention fidelity (1 − JSD, bits) and next-token loss (nats/token).

Every interval is a 95% percentile bootstrap (paired where two runs are compared) over texts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from alignment_plugins.formats import finite_or_none
from alignment_plugins.retention import bootstrap_interval
from alignment_plugins.stitching.splice import (
    MapLike,
    SpliceBatch,
    batches,
    require_lm_head,
    resolve_pair,
    run_target,
)
from alignment_plugins.types import LoadedModel

LEVEL = 0.95
RESAMPLES = 1000


def interval(statistic: Callable[[np.ndarray], float], n: int, *, seed: int = 0) -> tuple[float | None, float | None]:
    """95% percentile bootstrap interval of statistic(rows) over n rows resampled with replacement (None if n < 2)."""
    if n < 2:
        return None, None
    low, high = bootstrap_interval(statistic, n, reps=RESAMPLES, seed=seed, level=LEVEL)
    return finite_or_none(low), finite_or_none(high)


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen–Shannon divergence (bits, in [0, 1]) along the last axis: ½KL(p‖m) + ½KL(q‖m), m = (p + q)/2."""
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, None)
    q = np.clip(np.asarray(q, dtype=np.float64), 0.0, None)
    p = p / np.maximum(p.sum(axis=-1, keepdims=True), 1e-300)
    q = q / np.maximum(q.sum(axis=-1, keepdims=True), 1e-300)
    m = 0.5 * (p + q)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log2(p / np.where(m > 0, m, 1.0)), 0.0).sum(axis=-1)
        kl_q = np.where(q > 0, q * np.log2(q / np.where(m > 0, m, 1.0)), 0.0).sum(axis=-1)
    return np.clip(0.5 * (kl_p + kl_q), 0.0, 1.0)


def fidelity_of_batches(target: LoadedModel, prepared: list[SpliceBatch], layer: int, *, exclude_sink_keys: bool,
                        seed: int) -> dict[str, Any]:
    """Attention fidelity of prepared batches stitched at `layer` (see ``attention_fidelity``)."""
    import torch

    if layer >= target.num_layers:
        raise ValueError(f"target layer {layer} is the last hidden state of {target.name}: no block reads it")
    per_text: list[float] = []
    with torch.inference_mode():
        for batch in prepared:
            runs = [run_target(target, batch, layer, stitched, ["attentions"])
                    for stitched in (True, False)]
            stitched, native = (run.attentions[layer].float().cpu().numpy() for run in runs)
            content = batch.content.cpu().numpy()
            keys = content if exclude_sink_keys else batch.encoding.attention_mask.bool().numpy()
            for b in range(len(batch.texts)):
                queries = np.nonzero(content[b])[0]
                if queries.size == 0:
                    continue
                cols = np.nonzero(keys[b])[0]
                p = stitched[b][:, queries][:, :, cols]
                q = native[b][:, queries][:, :, cols]
                per_text.append(float(jensen_shannon(p, q).mean()))
    if not per_text:
        raise ValueError("no text has a content token to compare attention on")
    values = np.asarray(per_text)
    low, high = interval(lambda rows: float(values[rows].mean()), values.size, seed=seed)
    return {
        "value": 1.0 - float(values.mean()),
        "ci_low": None if high is None else 1.0 - high,
        "ci_high": None if low is None else 1.0 - low,
        "mean_jsd_bits": float(values.mean()),
        "n_texts": int(values.size),
        "target_block": int(layer),
        "exclude_sink_keys": bool(exclude_sink_keys),
        "space": "target attention probabilities at the first block after the stitch",
        "definition": "1 - mean Jensen-Shannon divergence (bits) between stitched and native attention rows over "
                      "heads and content queries (no specials, no position 0), averaged per text then over texts",
    }


def attention_fidelity(
    source: LoadedModel,
    target: LoadedModel,
    wmatrix: MapLike,
    texts: Sequence[str],
    source_layer: int | None = None,
    max_length: int = 128,
    *,
    exclude_sink_keys: bool = False,
    seed: int = 0,
) -> dict[str, Any]:
    """Attention fidelity in [0, 1] at target block j (the block reading the stitched layer): 1 − mean JSD (bits).

    fidelity = 1 − mean_texts mean_{heads, queries} JS(a_stitched(q, ·), a_native(q, ·)), JS in base 2. Queries are
    the target's content tokens (no special tokens, never position 0, which only attends to itself in a causal
    model and is an attention sink). Keys: all real tokens, or only content tokens with `exclude_sink_keys` (rows
    renormalized). Returns {"value", "ci_low", "ci_high" (bootstrap over texts), "mean_jsd_bits", "n_texts", ...}.
    """
    pair, linear = resolve_pair(wmatrix, source_layer)
    prepared = batches(source, target, pair, linear, texts, max_length)
    return fidelity_of_batches(target, prepared, pair[1], exclude_sink_keys=exclude_sink_keys, seed=seed)


def token_losses(logits: Any, input_ids: Any, attention_mask: Any) -> tuple[Any, Any]:
    """Per-text summed next-token cross-entropy (nats) and token counts: positions t predict t+1, both real."""
    import torch

    ids = input_ids.to(logits.device)
    mask = attention_mask.to(logits.device).bool()
    valid = (mask[:, :-1] & mask[:, 1:]).float()
    ce = torch.nn.functional.cross_entropy(
        logits[:, :-1].float().reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), reduction="none"
    ).reshape(valid.shape)
    return (ce * valid).sum(dim=1), valid.sum(dim=1)


def batch_logits(target: LoadedModel, batch: SpliceBatch, layer: int, stitched: bool, *,
                 record: list[Any] | None = None) -> Any:
    """Next-token logits (B, T, vocab) of the target on a batch, stitched at `layer` or native."""
    logits = run_target(target, batch, layer, stitched, ["logits"], record=record).logits
    if logits is None:
        raise RuntimeError(f"the architecture adapter of {target.name} returned no logits")
    return logits


def loss_of_batches(target: LoadedModel, prepared: list[SpliceBatch], layer: int, *, seed: int) -> dict[str, Any]:
    """Stitched vs native next-token loss of prepared batches (see ``stitched_loss``)."""
    import torch

    require_lm_head(target)
    sums: dict[bool, list[float]] = {True: [], False: []}
    counts: list[float] = []
    with torch.inference_mode():
        for batch in prepared:
            for stitched in (True, False):
                logits = batch_logits(target, batch, layer, stitched)
                total, count = token_losses(logits, batch.encoding.input_ids, batch.encoding.attention_mask)
                sums[stitched].extend(total.cpu().tolist())
            counts.extend(count.cpu().tolist())
    s, n, c = np.asarray(sums[True]), np.asarray(sums[False]), np.asarray(counts)
    if c.sum() <= 0:
        raise ValueError("the texts have no next-token predictions (every text is a single token)")

    def _stats(rows: np.ndarray) -> tuple[float, float]:
        den = c[rows].sum()
        return (s[rows].sum() / den, n[rows].sum() / den) if den > 0 else (float("nan"), float("nan"))

    stitched_ce, native_ce = _stats(np.arange(c.size))
    ci = {
        "stitched": interval(lambda r: _stats(r)[0], c.size, seed=seed),
        "native": interval(lambda r: _stats(r)[1], c.size, seed=seed),
        "difference": interval(lambda r: _stats(r)[0] - _stats(r)[1], c.size, seed=seed),
        "ratio": interval(lambda r: _stats(r)[0] / _stats(r)[1], c.size, seed=seed),
    }
    return {
        "value": finite_or_none(stitched_ce - native_ce),
        "stitched": finite_or_none(stitched_ce),
        "native": finite_or_none(native_ce),
        "difference": finite_or_none(stitched_ce - native_ce),
        "ratio": finite_or_none(stitched_ce / native_ce) if native_ce > 0 else None,
        "ci": {key: list(value) for key, value in ci.items()},
        "ci_low": ci["difference"][0],
        "ci_high": ci["difference"][1],
        "n_texts": int(c.size),
        "n_tokens": int(c.sum()),
        "units": "nats/token",
        "space": "target next-token predictions on the texts",
        "definition": "token-weighted mean next-token cross-entropy of the target with its layer-j states replaced "
                      "by mapped source states (stitched) vs unmodified (native); value = stitched - native",
    }


def stitched_loss(
    source: LoadedModel,
    target: LoadedModel,
    wmatrix: MapLike,
    texts: Sequence[str],
    source_layer: int | None = None,
    max_length: int = 128,
    *,
    seed: int = 0,
) -> dict[str, Any]:
    """Next-token cross-entropy (nats/token) of the target, stitched vs native, with paired bootstrap CIs over texts.

    CE = Σ_texts Σ_t −log p(x_{t+1} | x_≤t) / #predictions, over every position t whose next token is real.
    Returns {"stitched", "native", "difference" (= stitched − native, also "value"), "ratio" (= stitched/native),
    "ci": {name: [low, high]}, "ci_low"/"ci_high" (of the difference), "n_texts", "n_tokens", ...}. Causal targets
    only (a target without an LM head raises ValueError).
    """
    pair, linear = resolve_pair(wmatrix, source_layer)
    require_lm_head(target)
    prepared = batches(source, target, pair, linear, texts, max_length)
    return loss_of_batches(target, prepared, pair[1], seed=seed)
