"""Contrastive anchor rows: pooled states of short minimal-pair sentences, added to a map's fit with a weight.

Concept directions are differences of *pooled* states of short sentences; a map fit only on per-token states of
longer texts carries them less well. Adding the pooled states of a training-only set of contrastive minimal pairs
(``alignment_plugins.anchors.contrastive``: never the benchmark's concepts or capabilities) as extra rows raised the
held-out concept-transfer cosine in the concept benchmark (docs/concepts.md). With weight w the extra rows together
count w times as much as the anchor pairs they join:

    merged = anchors ∪ w·(n_anchors / n_contrastive) × contrastive rows   (CrossStats.merge with that weight)

Nothing here imports torch at module level.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from alignment_plugins.solvers import CrossStats

__all__ = ["contrastive_layer_states", "with_contrastive_rows"]


def contrastive_layer_states(model: Any, layers: Sequence[int], *, pooling: str = "mean",
                             cache: bool = True, progress: bool = False) -> dict[int, np.ndarray]:
    """Pooled states {layer: (n_texts, d)} (raw activation units) of every contrastive anchor text in `model`
    (`progress`: a progress bar, as ``extract``'s)."""
    from alignment_plugins.anchors import Anchor, AnchorSet
    from alignment_plugins.anchors.contrastive import contrastive_texts
    from alignment_plugins.extraction import extract

    texts = contrastive_texts()
    anchors = AnchorSet([Anchor(text=t, domain="contrastive", source="contrastive") for t in texts],
                        name="contrastive")
    acts = extract(model, anchors, sorted(set(layers)), pooling=pooling, cache=cache, progress=progress)
    return {layer: np.asarray(acts[layer]) for layer in sorted(set(layers))}


def with_contrastive_rows(stats: CrossStats, x: np.ndarray, y: np.ndarray, weight: float) -> CrossStats:
    """`stats` merged with the paired rows (x, y) weighted so that together they count `weight` × stats.n."""
    if weight <= 0:
        return stats
    extra = CrossStats.from_arrays_xy(x, y)
    if stats.n == 0:
        return extra
    return stats.merge(extra, weight=weight * stats.n / extra.n)
