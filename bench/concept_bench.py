"""Concept-transfer benchmark: how well a W-Matrix carries concept directions, without any generation.

For each directed pair of models and each anchor pairing (mean-pooled texts, offset-matched tokens, both), a
W-Matrix is trained on the same anchors (layers="all"; the trainer picks the recommended layer pair on the
*validation* concepts). Every *held-out* concept (alignment_plugins.concepts, never used for any choice) is then
extracted natively in both models (CAA over its contrastive pairs) and scored at the recommended pair:

    held_out_cosine = cos(W·v_src / s_y, v_tgt / s_y)      (target standardized space, s_y: the map's target scales)

The split-half cosine of each concept in the target (two disjoint halves of its pairs) is the ceiling any map can
reach with this many pairs. Writes docs/concepts.md and docs/concepts.json.

    python bench/concept_bench.py --num-anchors 2000 --pairings mean tokens
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

DECODERS = ["smollm2-135m-instruct", "gemma3-270m", "qwen2.5-coder-0.5b-instruct"]


def _mean(values: list[float]) -> float:
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def run_pair(source: Any, target: Any, anchors: Any, pairing: str, regularization: float | None,
             contrastive_weight: float = 0.0) -> dict[str, Any]:
    """Train one map with `pairing`; score held-out concepts at its recommended pair and along the layer map."""
    from alignment_plugins.concepts import concepts, split_half_cosines, transfer_cosines
    from alignment_plugins.concepts.scoring import concept_states
    from alignment_plugins.trainer import WMatrixTrainer
    from alignment_plugins.wmatrix import pair_key

    started = time.perf_counter()
    trainer = WMatrixTrainer(source, target, anchors=anchors, seed=0)
    trainer.configure(layers="all", optimization="ridge", regularization=regularization, pairing=pairing,
                      contrastive_weight=contrastive_weight)
    wm = trainer.train(validation_split=0.1, test_split=0.1)
    held = concepts("held_out")
    src_states = concept_states(source, held, sorted({i for i, _ in wm.maps}))
    src = {name: {layer: (pos.astype(np.float64) - neg).mean(axis=0) for layer, (pos, neg) in by.items()}
           for name, by in src_states.items()}
    tgt_states = concept_states(target, held, sorted({j for _, j in wm.maps}))
    tgt = {name: {layer: (pos.astype(np.float64) - neg).mean(axis=0) for layer, (pos, neg) in by.items()}
           for name, by in tgt_states.items()}
    cosines = transfer_cosines(wm.maps, src, tgt)
    rec = wm.headline_pair
    ceiling = split_half_cosines({n: {rec[1]: by[rec[1]]} for n, by in tgt_states.items()},
                                 scale={rec[1]: wm.maps[rec].scale_y})
    src_halves = split_half_cosines({n: {rec[0]: by[rec[0]]} for n, by in src_states.items()},
                                    scale={rec[0]: wm.maps[rec].scale_x})
    per_concept = {name: float(value) for name, value in cosines[rec].items()}
    # Noise ceiling of a perfect map with this many pairs per concept: a direction estimated from all pairs has
    # reliability ρ = 2r/(1+r) (Spearman-Brown, r the split-half cosine); the expected cosine of two independent
    # noisy estimates of the same direction is ≈ sqrt(ρ_src·ρ_tgt). corrected = cosine / that ceiling.
    def reliability(r: float) -> float:
        return 2 * r / (1 + r) if r > 0 else float("nan")

    full_ceiling = {n: math.sqrt(reliability(src_halves[n][rec[0]]) * reliability(ceiling[n][rec[1]]))
                    for n in per_concept}
    by_kind: dict[str, list[float]] = {}
    for c in held:
        by_kind.setdefault(c.kind, []).append(per_concept[c.name])
    return {
        "source": source.name, "target": target.name, "pairing": pairing, "contrastive_weight": contrastive_weight,
        "token_pairs": wm.anchors.get("token_pairs", 0), "anchors": wm.anchors["counts"],
        "recommended_pair": list(rec), "best_retrieval_pair": list(wm.best_pair),
        "held_out_mean": _mean(list(per_concept.values())),
        "held_out_median": float(np.median(list(per_concept.values()))),
        "split_half_ceiling_mean": _mean([v[rec[1]] for v in ceiling.values()]),
        "full_data_ceiling_mean": _mean(list(full_ceiling.values())),
        "noise_corrected_mean": _mean([per_concept[n] / full_ceiling[n] for n in per_concept]),
        "validation_score": wm.training["concept_transfer"][pair_key(rec)],
        "held_out_by_kind": {k: _mean(v) for k, v in sorted(by_kind.items())},
        "held_out_by_pair": {pair_key(p): _mean(list(row.values())) for p, row in sorted(cosines.items())},
        "per_concept": per_concept,
        "metrics_at_recommended": wm.metrics,
        "seconds": time.perf_counter() - started,
    }


def _markdown(doc: dict[str, Any]) -> str:
    meta = doc["meta"]
    lines = [
        "# Concept-transfer benchmark", "",
        f"`python bench/concept_bench.py {meta['argv']}` — {meta['date']}, {meta['machine']}, "
        f"{meta['num_anchors']} anchors ({meta['anchor_set']}), ridge, {meta['seconds'] / 60:.0f} min.", "",
        f"{meta['concepts']} concepts of {meta['kinds']} kinds: {meta['validation']} *validation* concepts choose the "
        f"recommended layer pair (and nothing else is chosen here); the {meta['held_out']} *held-out* concepts are "
        "scored. Score = cosine of the transferred source CAA direction and the target's native one in target "
        "standardized space, at the recommended pair. Split-half = cosine of the target's own direction from two "
        "halves of the concept's pairs at that layer. Noise ceiling = what a perfect map would score with this many "
        "pairs per concept: sqrt(ρ_src·ρ_tgt), ρ = 2r/(1+r) the full-data reliability (Spearman-Brown) from each "
        "side's split-half cosine r; noise-corrected = cosine / noise ceiling, per concept, averaged.", "",
        "| source → target | pairing | token pairs | recommended pair | held-out cosine mean | median | split-half "
        "| noise ceiling | noise-corrected | top-1 / SP at that pair |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in doc["results"]:
        m = r["metrics_at_recommended"]
        lines.append(
            f"| {r['source']} → {r['target']} | {r.get('variant', r['pairing'])} | {r['token_pairs']:,} | "
            f"{r['recommended_pair'][0]} → {r['recommended_pair'][1]} | {r['held_out_mean']:.3f} | "
            f"{r['held_out_median']:.3f} | {r['split_half_ceiling_mean']:.3f} | "
            f"{r.get('full_data_ceiling_mean', float('nan')):.3f} | "
            f"{r.get('noise_corrected_mean', float('nan')):.3f} | "
            f"{m.get('accuracy', float('nan')):.3f} / {m.get('semantic_preservation', float('nan')):.3f} |"
        )
    lines += ["", f"Target: held-out cosine ≥ {doc['target']} (issue 8).", "", "## By kind (held out)", ""]
    kinds = sorted({k for r in doc["results"] for k in r["held_out_by_kind"]})
    lines.append("| source → target | pairing | " + " | ".join(kinds) + " |")
    lines.append("|---|---|" + "---:|" * len(kinds))
    for r in doc["results"]:
        lines.append(f"| {r['source']} → {r['target']} | {r.get('variant', r['pairing'])} | "
                     + " | ".join(f"{r['held_out_by_kind'].get(k, float('nan')):.2f}" for k in kinds) + " |")
    lines += ["", "## Along the layer map (mean held-out cosine per fitted pair)", ""]
    for r in doc["results"]:
        curve = ", ".join(f"{k}: {v:.2f}" for k, v in r["held_out_by_pair"].items())
        lines.append(f"- {r['source']} → {r['target']} ({r.get('variant', r['pairing'])}): {curve}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark over the directed pairs of `--models` and write docs/concepts.{md,json}."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=DECODERS)
    parser.add_argument("--num-anchors", type=int, default=2000)
    parser.add_argument("--pairings", nargs="+", default=["mean", "tokens"], choices=["mean", "tokens", "both"])
    parser.add_argument("--regularization", type=float, default=None)
    parser.add_argument("--contrastive-weights", nargs="+", type=float, default=[0.0],
                        help="weights of the contrastive anchors' pooled rows to compare (0: off)")
    parser.add_argument("--anchors", default=None, help="anchor set (default: the built-in corpus, latest version)")
    parser.add_argument("--out", default="docs/concepts")
    args = parser.parse_args(argv)

    from alignment_plugins.anchors import load_anchors
    from alignment_plugins.concepts import all_concepts, kinds
    from alignment_plugins.models import load_model

    started = time.perf_counter()
    anchors = load_anchors(args.anchors).sample(args.num_anchors, seed=0)
    models = {name: load_model(name) for name in args.models}
    catalogue = all_concepts()
    doc: dict[str, Any] = {
        "meta": {"argv": " ".join(argv if argv is not None else __import__("sys").argv[1:]),
                 "date": datetime.now(UTC).strftime("%Y-%m-%d"), "machine": f"{platform.machine()} CPU, float32",
                 "num_anchors": len(anchors), "anchor_set": anchors.content_hash[:19], "concepts": len(catalogue),
                 "kinds": len(kinds()), "validation": sum(c.split == "validation" for c in catalogue),
                 "held_out": sum(c.split == "held_out" for c in catalogue), "seconds": 0.0},
        "target": 0.85,
        "concepts": [{"name": c.name, "kind": c.kind, "split": c.split, "pairs": len(c.pairs), "held_out_cosine": {}}
                     for c in catalogue],
        "results": [],
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    by_name = {c["name"]: c for c in doc["concepts"]}
    for (s, t), pairing, weight in itertools.product(itertools.permutations(args.models, 2), args.pairings,
                                                     args.contrastive_weights):
        result = run_pair(models[s], models[t], anchors, pairing, args.regularization, weight)
        doc["results"].append(result)
        variant = pairing + (f"+contrastive×{weight:g}" if weight else "")
        result["variant"] = variant
        for name, value in result["per_concept"].items():
            by_name[name]["held_out_cosine"][f"{s}->{t}:{variant}"] = value
        print(f"{s} -> {t} [{variant}]: recommended {result['recommended_pair']}, held-out cosine "
              f"{result['held_out_mean']:.3f} (ceiling {result['split_half_ceiling_mean']:.3f}), "
              f"{result['seconds']:.0f} s", flush=True)
        doc["meta"]["seconds"] = time.perf_counter() - started
        out.with_suffix(".json").write_text(json.dumps(doc, indent=1, sort_keys=True))
        out.with_suffix(".md").write_text(_markdown(doc))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
