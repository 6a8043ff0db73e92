"""Sanity check of the concept directions of one model: are they reliable, and are unrelated ones distinct?

``python -m alignment_plugins.concepts.check --model smollm2-135m-instruct --layers 0,9,20`` prints, per layer,
the split-half cosine (CAA direction of one random half of a concept's pairs vs the other half: the ceiling of
any transfer score) and the cosine between directions of concepts of different kinds, raw and in the model's own
standardized space (per-dimension std of pooled built-in anchors).
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np

from alignment_plugins.concepts import all_concepts, concept_states, split_half_cosines
from alignment_plugins.vectors import caa_direction, cosine


def anchor_scales(model: object, layers: list[int], count: int, max_length: int = 128) -> dict[int, np.ndarray]:
    """Per-dimension std (raw activation units) of `count` mean-pooled built-in anchors at each layer."""
    from alignment_plugins.anchors import load_anchors
    from alignment_plugins.extraction import extract

    acts = extract(model, load_anchors().sample(count, seed=0), layers, pooling="mean", max_length=max_length)
    out = {}
    for layer, array in acts.layers.items():
        std = np.asarray(array, np.float64).std(axis=0)
        out[layer] = np.maximum(std, 1e-8 * float(std.max()) if std.max() > 0 else 1.0)
    return out


def main(argv: list[str] | None = None) -> int:
    """Print (and with --json write) split-half and cross-kind cosines of the concept directions per layer."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--layers", default="0,9,20", help="comma-separated hidden-state layers")
    parser.add_argument("--anchors", type=int, default=1000, help="built-in anchors for the standardization")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args(argv)
    from alignment_plugins.models import load_model

    model = load_model(args.model)
    layers = [int(x) for x in args.layers.split(",") if x.strip()]
    items = all_concepts()
    states = concept_states(model, items, layers)
    layers = sorted(next(iter(states.values())))
    scales = anchor_scales(model, layers, args.anchors)
    kind = {c.name: c.kind for c in items}
    cross = [(a, b) for a, b in itertools.combinations(kind, 2) if kind[a] != kind[b]]
    report: dict[str, dict[str, float]] = {}
    for space, scale in (("raw", None), ("standardized", scales)):
        halves = split_half_cosines(states, scale=scale)
        for layer in layers:
            dirs = {name: caa_direction(*states[name][layer]) for name in states}
            s = None if scale is None else scale[layer]
            cos_cross = np.array([cosine(dirs[a], dirs[b], scale=s) for a, b in cross])
            half = np.array([halves[name][layer] for name in states])
            row = {"split_half_median": float(np.median(half)), "split_half_min": float(half.min()),
                   "cross_kind_mean": float(cos_cross.mean()), "cross_kind_mean_abs": float(np.abs(cos_cross).mean()),
                   "weddings_vs_past_tense": cosine(dirs["weddings"], dirs["past_tense"], scale=s),
                   "french_vs_fear": cosine(dirs["french"], dirs["fear"], scale=s),
                   "weddings_split_half": halves["weddings"][layer],
                   "past_tense_split_half": halves["past_tense"][layer]}
            report[f"{space}/layer {layer}"] = row
            print(f"{space:12s} layer {layer:2d}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items()))
    if args.json is not None:
        args.json.write_text(json.dumps({"model": args.model, "concepts": len(items), "anchors": args.anchors,
                                         "results": report}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
