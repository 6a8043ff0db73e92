"""Sharded training: the trainer's forward passes split over anchor shards, merged exactly into one fit.

``WMatrixTrainer.train()`` spends its time in two model passes: pooled states of every sampled anchor (all layers of
both models) and per-token states of the training texts (streamed into one ``CrossStats`` per layer pair). Both
split over contiguous shards, each run by its own worker, and merge without approximation:

1. ``extract_shard(k)``: pooled states of anchor shard k (a contiguous slice of the sampled anchors, train,
   validation and test alike) into the activation cache; ``activations()`` concatenates the shards in anchor order,
   so CKA, the validation/test split, the mean-pairing rows and every held-out metric see the same rows as one pass.
2. ``layer_pairs()``: the trainer's own CKA and layer map on those states — the pairs the token pass needs.
3. ``token_stats_shard(k, pairs)``: token-pair statistics of training-text shard k (boundaries on the token pass's
   32-text batches, so every forward batch is the one a single pass runs) into the token-statistics cache;
   ``merged_token_stats(pairs)`` merges them in shard order (``CrossStats.merge``: Chan's pairwise update of counts,
   means and centred co-moments — the statistics of the union, exact up to float64 rounding).
4. ``fit()``: ``WMatrixTrainer.train()`` itself, fed the merged states and statistics instead of running the models
   for them, so standardization (from the merged moments), the contrastive rows (weighted by the merged count),
   the solver, the selection on validation and the metrics on test are the single-process code.

Everything a shard produces travels as files in the engine cache (``ALIGNMENT_CACHE_DIR``), which a cluster puts on
shared storage: a shard's pooled states are N_k × d × layers floats and its statistics O(d_s·d_t) float64 per layer
pair (≈ 9 MB for 576 × 640), too large for broker messages; a redelivered shard finds its files and does nothing
twice. A merge that does not find a shard's files raises ``ShardMissing`` rather than re-running the models.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from alignment_plugins.anchors import AnchorSet
from alignment_plugins.extraction import MAX_LENGTH, Activations, resolve_layers
from alignment_plugins.solvers import CrossStats
from alignment_plugins.token_pairs import TOKEN_BATCH
from alignment_plugins.trainer import WMatrixTrainer, row_indices, split_fractions
from alignment_plugins.types import LoadedModel
from alignment_plugins.wmatrix import WMatrix

__all__ = ["TOKEN_BATCH", "ShardMissing", "ShardedTraining", "shard_bounds"]

Pair = tuple[int, int]


class ShardMissing(RuntimeError):
    """A shard's files are not in the engine cache the merge reads (not run yet, or the cache is not shared)."""


def shard_bounds(n: int, num_shards: int, align: int = 1) -> list[tuple[int, int]]:
    """[start, end) of `num_shards` contiguous, near-equal slices of n items, every start a multiple of `align`.

    Fewer slices come back when n is too small to give each a block of `align` items (never an empty one).
    """
    if isinstance(num_shards, bool) or not isinstance(num_shards, int) or num_shards < 1:
        raise ValueError(f"num_shards must be a positive integer, got {num_shards!r}")
    if n < 1:
        raise ValueError("nothing to shard")
    blocks = -(-n // align)
    per, extra = divmod(blocks, min(num_shards, blocks))
    bounds, start = [], 0
    for k in range(min(num_shards, blocks)):
        end = min(n, start + (per + (k < extra)) * align)
        bounds.append((start, end))
        start = end
    return bounds


class ShardedTraining:
    """`trainer`'s run over `num_shards` anchor shards; each step runs in any process that rebuilds the same trainer.

    The trainer must use the activation cache (``cache=True``); `validation_split` / `test_split` as in ``train()``.
    """

    def __init__(self, trainer: WMatrixTrainer, num_shards: int, validation_split: float | None = None,
                 test_split: float | None = None) -> None:
        if not trainer.cache:
            raise ValueError("sharded training passes shard results through the engine cache: use cache=True")
        self.trainer = trainer
        self.validation_split, self.test_split = split_fractions(validation_split, test_split)
        self.anchors, self.train_set, _, _ = trainer.prepare_anchors(self.validation_split, self.test_split)
        self.anchor_bounds = shard_bounds(len(self.anchors), num_shards)
        self.text_bounds = shard_bounds(len(self.train_set), num_shards, align=TOKEN_BATCH)
        self._models: dict[str, LoadedModel] = {}

    @property
    def num_shards(self) -> int:
        """Number of anchor shards (each also has a training-text shard when there are enough texts)."""
        return len(self.anchor_bounds)

    # ------------------------------------------------------------------ models and shards
    def model(self, side: str) -> LoadedModel:
        """The trainer's source or target model, loaded once per process."""
        if side not in self._models:
            self._models[side] = self.trainer._model(getattr(self.trainer, f"{side}_model"), side)
        return self._models[side]

    def layers(self, side: str) -> list[int]:
        """Layers the trainer extracts on `side`: the configured source layers, every target layer."""
        wanted = self.trainer.config["layers"] if side == "source" else "all"
        return resolve_layers(wanted, self.model(side).num_layers)

    def anchor_shard(self, k: int) -> AnchorSet:
        """Anchor shard k: a contiguous slice of the sampled anchors (all splits), in sampling order."""
        start, end = self.anchor_bounds[k]
        return AnchorSet(self.anchors.anchors[start:end], name=f"{self.anchors.name}[{start}:{end}]")

    def text_shard(self, k: int) -> list[str]:
        """Training-text shard k (empty when the texts fill fewer shards than anchors)."""
        if k >= len(self.text_bounds):
            return []
        start, end = self.text_bounds[k]
        return self.train_set.texts[start:end]

    # ------------------------------------------------------------------ step 1: pooled states
    def extract_shard(self, k: int) -> dict[str, Any]:
        """Run both models on anchor shard k (all their trainer layers) into the activation cache; a summary."""
        from alignment_plugins.extraction import extract

        shard = self.anchor_shard(k)
        out: dict[str, Any] = {"shard": k, "anchors": len(shard)}
        for side in ("source", "target"):
            acts = extract(self.model(side), shard, self.layers(side), pooling=self.trainer.pooling, cache=True)
            out[side] = {"seconds": acts.seconds, "tokens": acts.tokens, "cached_layers": len(acts.from_cache)}
        return out

    def activations(self, side: str) -> Activations:
        """Pooled states of all sampled anchors on `side`: the shards' cached states concatenated in anchor order."""
        from alignment_plugins.extraction import _cache_folder, extract

        model, layers = self.model(side), self.layers(side)
        parts: list[Activations] = []
        for k in range(self.num_shards):
            shard = self.anchor_shard(k)
            folder = _cache_folder(model, shard, self.trainer.pooling, MAX_LENGTH)
            absent = [layer for layer in layers if not (folder / f"layer_{layer}.npy").is_file()]
            if absent:
                raise ShardMissing(f"{side} activations of anchor shard {k} (layers {absent}) are not in {folder}: "
                                   "run extract_shard first, with ALIGNMENT_CACHE_DIR on storage every worker shares")
            parts.append(extract(model, shard, layers, pooling=self.trainer.pooling, cache=True))
        return Activations(
            model=model.name, fingerprint=model.fingerprint, anchors_hash=self.anchors.content_hash,
            pooling=self.trainer.pooling, layers={layer: np.concatenate([p[layer] for p in parts]) for layer in layers},
            seconds=0.0, tokens=0, from_cache=list(layers),
        )

    # ------------------------------------------------------------------ step 2: layer pairs
    def layer_pairs(self) -> list[Pair]:
        """The layer pairs ``train()`` fits (CKA map, or grid, plus the embedding pair) on the merged states."""
        rows = row_indices(self.anchors, self.train_set)
        return self.trainer.layer_pairs(self.model("source"), self.model("target"), self.activations("source"),
                                        self.activations("target"), rows)[2]

    # ------------------------------------------------------------------ step 3: token statistics
    def token_stats_shard(self, k: int, pairs: Sequence[Sequence[int]]) -> dict[str, Any]:
        """Token-pair statistics of training-text shard k for `pairs` into the cache; a summary (pairs matched)."""
        from alignment_plugins.token_pairs import token_pair_stats

        texts = self.text_shard(k)
        if not texts or self.trainer.config["pairing"] == "mean":
            return {"shard": k, "texts": len(texts), "token_pairs": 0}
        _, count = token_pair_stats(self.model("source"), self.model("target"), texts, _pairs(pairs), cache=True,
                                   batch_size=TOKEN_BATCH)
        return {"shard": k, "texts": len(texts), "token_pairs": count}

    def merged_token_stats(self, pairs: Sequence[Sequence[int]]) -> tuple[dict[Pair, CrossStats], int]:
        """The shards' cached token-pair statistics merged in shard order, and the matched pairs' count."""
        from alignment_plugins.token_pairs import _cache_folder, token_pair_stats

        wanted = _pairs(pairs)
        source, target = self.model("source"), self.model("target")
        merged: dict[Pair, CrossStats] = {}
        for k in range(len(self.text_bounds)):
            texts = self.text_shard(k)
            folder = _cache_folder(source, target, texts, wanted, MAX_LENGTH)
            absent = [p for p in wanted if not (folder / f"pair_{p[0]}_{p[1]}.npz").is_file()]
            if absent:
                raise ShardMissing(f"token statistics of text shard {k} (pairs {absent}) are not in {folder}: run "
                                   "token_stats_shard first, with ALIGNMENT_CACHE_DIR on storage every worker shares")
            stats, _ = token_pair_stats(source, target, texts, wanted, cache=True, batch_size=TOKEN_BATCH)
            for pair in wanted:
                merged[pair] = stats[pair] if pair not in merged else merged[pair].merge(stats[pair])
        return merged, min(s.n for s in merged.values())

    # ------------------------------------------------------------------ step 4: the fit
    def fit(self, epochs: int = 0, **train_kwargs: Any) -> WMatrix:
        """``WMatrixTrainer.train()`` on the merged shards (no model runs for them); arguments as ``train()``'s."""
        return _MergedTrainer(self).train(epochs=epochs, validation_split=self.validation_split,
                                          test_split=self.test_split, **train_kwargs)

    def run_locally(self, epochs: int = 0, **train_kwargs: Any) -> WMatrix:
        """Every step in this process, shard after shard (what a chord of shard tasks does in parallel)."""
        for k in range(self.num_shards):
            self.extract_shard(k)
        pairs = self.layer_pairs()
        for k in range(self.num_shards):
            self.token_stats_shard(k, pairs)
        return self.fit(epochs=epochs, **train_kwargs)


class _MergedTrainer(WMatrixTrainer):
    """The sharded run's trainer: its extraction and token passes return the merged shards."""

    def __init__(self, sharded: ShardedTraining) -> None:  # a copy of the trainer (configure() is not re-run)
        self.__dict__.update(sharded.trainer.__dict__)
        self.sharded = sharded

    def _model(self, model: Any, side: str) -> LoadedModel:
        return self.sharded.model(side)

    def _activations(self, model: LoadedModel, anchors: AnchorSet, layers: list[int], side: str) -> Activations:
        if anchors.content_hash != self.sharded.anchors.content_hash:
            raise ValueError("the anchors to fit are not the ones the shards were cut from")
        return self.sharded.activations(side)

    def _token_pair_stats(self, source: LoadedModel, target: LoadedModel, texts: Sequence[str],
                          pairs: Sequence[Pair]) -> tuple[dict[Pair, CrossStats], int]:
        return self.sharded.merged_token_stats(pairs)


def _pairs(pairs: Sequence[Sequence[int]]) -> list[Pair]:
    """Sorted unique (source layer, target layer) tuples (pairs arrive as JSON lists from a task)."""
    return sorted({(int(i), int(j)) for i, j in pairs})
