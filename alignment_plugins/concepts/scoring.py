"""Native concept directions in a model and how well a W-Matrix carries them into another model.

A concept's native direction at layer L is the CAA vector v = mean_k h_L(pos_k) − mean_k h_L(neg_k) (raw activation
units, float64) over its pairs, read from one cached extraction of every concept text at once. A map's transfer
score for a concept at layer pair (i, j) is the cosine, in target standardized space, of the transferred source
direction and the target's native one:

    score = cos(W·v_src / s_y, v_tgt / s_y),   W·v_src = s_y ⊙ (W̃ (v_src / s_x))  (the map's linear part, no mean)

with s_x, s_y the map's per-dimension scales. Nothing here imports torch at module level.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from alignment_plugins.concepts.base import Concept, rng_for
from alignment_plugins.vectors import caa_direction, cosine

__all__ = ["concept_states", "native_directions", "split_half_cosines", "summarize", "transfer_cosines"]

Directions = dict[str, dict[int, np.ndarray]]


def _check_concepts(concepts: Sequence[Concept]) -> list[Concept]:
    items = list(concepts)
    if not items:
        raise ValueError("no concepts given")
    for item in items:
        if not isinstance(item, Concept):
            raise TypeError(f"expected Concept objects, got {type(item).__name__}")
    names = [c.name for c in items]
    if len(set(names)) != len(names):
        raise ValueError("concept names must be unique")
    return items


def concept_states(
    model: Any,
    concepts: Sequence[Concept],
    layers: Any,
    *,
    pooling: str = "mean",
    cache: bool = True,
    max_length: int = 128,
    progress: bool = False,
) -> dict[str, dict[int, tuple[np.ndarray, np.ndarray]]]:
    """Pooled states {concept: {layer: (positive (n, d), negative (n, d))}}, float32, from one cached extraction
    (`progress`: a progress bar on stderr)."""
    from alignment_plugins.anchors import Anchor, AnchorSet
    from alignment_plugins.extraction import extract

    items = _check_concepts(concepts)
    anchors = AnchorSet([Anchor(text=t, domain=c.name, source="concepts") for c in items for t in c.texts],
                        name="concepts")
    acts = extract(model, anchors, layers, pooling=pooling, cache=cache, max_length=max_length, progress=progress)
    out: dict[str, dict[int, tuple[np.ndarray, np.ndarray]]] = {}
    start = 0
    for concept in items:
        n = len(concept.pairs)
        out[concept.name] = {layer: (array[start : start + n], array[start + n : start + 2 * n])
                             for layer, array in acts.layers.items()}
        start += 2 * n
    return out


def native_directions(
    model: Any,
    concepts: Sequence[Concept],
    layers: Any,
    *,
    pooling: str = "mean",
    cache: bool = True,
    max_length: int = 128,
    progress: bool = False,
) -> Directions:
    """CAA direction mean(pos) − mean(neg) per concept per layer (float64, raw activation units of `model`)."""
    states = concept_states(model, concepts, layers, pooling=pooling, cache=cache, max_length=max_length,
                            progress=progress)
    return {name: {layer: caa_direction(pos, neg) for layer, (pos, neg) in by_layer.items()}
            for name, by_layer in states.items()}


def split_half_cosines(
    states: Mapping[str, Mapping[int, tuple[np.ndarray, np.ndarray]]],
    *,
    scale: Mapping[int, np.ndarray] | None = None,
) -> dict[str, dict[int, float]]:
    """Cosine of the CAA directions of two disjoint random halves of each concept's pairs (seeded by the name);
    with `scale` {layer: (d,)}, in that standardized space. A ceiling for any transfer score of the concept."""
    out: dict[str, dict[int, float]] = {}
    for name, by_layer in states.items():
        some = next(iter(by_layer.values()))[0]
        order = list(range(len(some)))
        rng_for(f"split-half:{name}").shuffle(order)
        a, b = order[: len(order) // 2], order[len(order) // 2 :]
        if not a:
            raise ValueError(f"concept {name!r}: needs at least two pairs to split")
        out[name] = {
            layer: cosine(caa_direction(pos[a], neg[a]), caa_direction(pos[b], neg[b]),
                          scale=None if scale is None else scale[layer])
            for layer, (pos, neg) in by_layer.items()
        }
    return out


def transfer_cosines(
    maps: Mapping[tuple[int, int], Any], source_dirs: Mapping[str, Mapping[int, np.ndarray]],
    target_dirs: Mapping[str, Mapping[int, np.ndarray]],
) -> dict[tuple[int, int], dict[str, float]]:
    """Per layer pair (i, j) and concept: cos(W·v_src, v_tgt) in the map's target standardized space (unitless)."""
    if not maps:
        raise ValueError("no maps given")
    if set(source_dirs) != set(target_dirs):
        only_src, only_tgt = sorted(set(source_dirs) - set(target_dirs)), sorted(set(target_dirs) - set(source_dirs))
        raise ValueError(f"source and target directions cover different concepts (source only: {only_src}, "
                         f"target only: {only_tgt})")
    out: dict[tuple[int, int], dict[str, float]] = {}
    for pair, linear in maps.items():
        i, j = pair
        row: dict[str, float] = {}
        for name in source_dirs:
            if i not in source_dirs[name] or j not in target_dirs[name]:
                raise ValueError(f"concept {name!r}: no source direction at layer {i} or no target one at layer {j}")
            mapped = linear.transform_direction(np.asarray(source_dirs[name][i], dtype=np.float64))
            native = np.asarray(target_dirs[name][j], dtype=np.float64).reshape(-1)
            if native.shape != mapped.shape:
                raise ValueError(f"concept {name!r}: target direction has dimension {native.shape[0]}, the map of "
                                 f"pair {pair} gives {mapped.shape[0]}")
            row[name] = cosine(mapped, native, scale=linear.scale_y)
        out[(int(i), int(j))] = row
    return out


def _stats(values: list[float]) -> dict[str, float]:
    finite = [v for v in values if math.isfinite(v)]
    return {"mean": float(np.mean(finite)) if finite else float("nan"),
            "median": float(np.median(finite)) if finite else float("nan"), "count": len(finite)}


def summarize(
    cosines: Mapping[tuple[int, int], Mapping[str, float]], concepts: Sequence[Concept]
) -> dict[tuple[int, int], dict[str, Any]]:
    """Mean/median/count of the cosines of `concepts` per layer pair, overall and per kind (NaNs left out)."""
    items = _check_concepts(concepts)
    out: dict[tuple[int, int], dict[str, Any]] = {}
    for pair, row in cosines.items():
        missing = [c.name for c in items if c.name not in row]
        if missing:
            raise ValueError(f"pair {pair}: no cosine for concepts {missing}")
        by_kind: dict[str, list[float]] = {}
        for c in items:
            by_kind.setdefault(c.kind, []).append(float(row[c.name]))
        out[pair] = {**_stats([float(row[c.name]) for c in items]),
                     "kinds": {kind: _stats(values) for kind, values in sorted(by_kind.items())}}
    return out
