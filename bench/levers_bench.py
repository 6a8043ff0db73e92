"""Levers on the map, measured by concept transfer: what raises the held-out concept cosine of a W-Matrix?

Stage ``harvest`` (per anchor corpus): offset-matched token states of a source and a target model at a few layer
pairs (float16 on disk), the pooled states of every concept's texts and of the training-only contrastive anchors at
the same layers. Stage ``analyse`` refits maps from those arrays with the engine's own statistics and solvers and
scores each variant by the concept benchmark's score — cos(W·v_src, v_tgt) in target standardized space, v the CAA
direction (alignment_plugins.concepts) — on the *validation* concepts (used to choose) and on the *held-out*
concepts (reported). Variants: ridge λ; number of anchor texts (random subsets); the anchor corpus; the anchor
domains; pooled anchor rows added with weight w ("both" with a weight); the contrastive anchors added with weight w;
the solver (ridge, reduced rank, CCA). Writes docs/levers.md and docs/levers.json.

    python bench/levers_bench.py --corpora builtin:v1 builtin:v2 --num-anchors 4000
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PAIRS = ("9:6", "15:7", "23:11")


def harvest(args: argparse.Namespace, corpus: str, folder: Path) -> None:
    """Token pairs, concept states and contrastive-anchor states at the layer pairs, written under `folder`."""
    from alignment_plugins.anchors import load_anchors
    from alignment_plugins.concepts import all_concepts
    from alignment_plugins.concepts.scoring import concept_states
    from alignment_plugins.contrastive_rows import contrastive_layer_states
    from alignment_plugins.models import load_model
    from alignment_plugins.token_pairs import match_token_ends, token_states

    if (folder / "meta.json").is_file():
        print(f"{folder}: already harvested", flush=True)
        return
    folder.mkdir(parents=True, exist_ok=True)
    pairs = [tuple(int(v) for v in p.split(":")) for p in args.pairs]
    s_layers, t_layers = sorted({i for i, _ in pairs}), sorted({j for _, j in pairs})
    source, target = load_model(args.source), load_model(args.target)
    anchors = load_anchors(corpus).sample(args.num_anchors, seed=0)
    texts = anchors.texts
    xs: dict[int, list[np.ndarray]] = {i: [] for i in s_layers}
    ys: dict[int, list[np.ndarray]] = {j: [] for j in t_layers}
    ids: list[np.ndarray] = []
    started = time.perf_counter()
    for start in range(0, len(texts), 32):
        chunk = texts[start:start + 32]
        s_states, t_states = token_states(source, chunk, s_layers), token_states(target, chunk, t_layers)
        for k, text in enumerate(chunk):
            si, tj = match_token_ends(text, s_states[s_layers[0]][k].offsets, t_states[t_layers[0]][k].offsets)
            for i in s_layers:
                xs[i].append(s_states[i][k].states[si].astype(np.float16))
            for j in t_layers:
                ys[j].append(t_states[j][k].states[tj].astype(np.float16))
            ids.append(np.full(len(si), start + k, dtype=np.int32))
        if start % 640 == 0:
            print(f"{corpus}: {start + len(chunk)}/{len(texts)} texts, {time.perf_counter() - started:.0f} s",
                  flush=True)
    for i in s_layers:
        np.save(folder / f"x{i}.npy", np.concatenate(xs[i]))
    for j in t_layers:
        np.save(folder / f"y{j}.npy", np.concatenate(ys[j]))
    np.save(folder / "text_id.npy", np.concatenate(ids))
    catalogue = all_concepts()
    for model, layers, side in ((source, s_layers, "src"), (target, t_layers, "tgt")):
        states = concept_states(model, catalogue, layers)
        np.savez(folder / f"concepts_{side}.npz", **{f"{c.name}|{layer}|{part}": states[c.name][layer][k]
                                                     for c in catalogue for layer in layers
                                                     for k, part in enumerate(("pos", "neg"))})
        contrastive = contrastive_layer_states(model, layers)
        np.savez(folder / f"contrastive_{side}.npz", **{str(layer): a for layer, a in contrastive.items()})
    (folder / "meta.json").write_text(json.dumps({
        "corpus": corpus, "anchor_set": anchors.content_hash, "source": args.source, "target": args.target,
        "domains": [a.domain for a in anchors], "pairs": [list(p) for p in pairs],
        "seconds": time.perf_counter() - started}))


class Harvest:
    """The arrays of one harvested folder, with concept directions per layer."""

    def __init__(self, folder: Path) -> None:
        from alignment_plugins.concepts import all_concepts

        self.meta = json.loads((folder / "meta.json").read_text())
        self.folder = folder
        self.text_id = np.load(folder / "text_id.npy")
        self.domains = np.asarray(self.meta["domains"])
        self.concepts = all_concepts()
        self.concept_src = dict(np.load(folder / "concepts_src.npz"))
        self.concept_tgt = dict(np.load(folder / "concepts_tgt.npz"))
        self.contrastive_src = dict(np.load(folder / "contrastive_src.npz"))
        self.contrastive_tgt = dict(np.load(folder / "contrastive_tgt.npz"))

    def tokens(self, i: int, j: int) -> tuple[np.ndarray, np.ndarray]:
        """Matched token states (float32) at source layer i and target layer j."""
        return (np.load(self.folder / f"x{i}.npy").astype(np.float32),
                np.load(self.folder / f"y{j}.npy").astype(np.float32))

    def directions(self, side: str, layer: int) -> dict[str, np.ndarray]:
        """CAA direction per concept (float64, raw units) at `layer` of the source ("src") or target ("tgt")."""
        store = self.concept_src if side == "src" else self.concept_tgt
        return {c.name: store[f"{c.name}|{layer}|pos"].astype(np.float64).mean(0)
                - store[f"{c.name}|{layer}|neg"].astype(np.float64).mean(0) for c in self.concepts}


def _score(linear: Any, src: dict[str, np.ndarray], tgt: dict[str, np.ndarray], concepts: Any) -> dict[str, float]:
    """Mean concept-transfer cosine of the validation and of the held-out concepts (target standardized space)."""
    from alignment_plugins.vectors import cosine

    out: dict[str, list[float]] = {"validation": [], "held_out": []}
    for c in concepts:
        out[c.split].append(cosine(linear.transform_direction(src[c.name]), tgt[c.name], scale=linear.scale_y))
    return {split: float(np.mean(v)) for split, v in out.items()}


def analyse(h: Harvest, i: int, j: int, seed: int = 0) -> list[dict[str, Any]]:
    """Every variant's validation and held-out score at layer pair (i, j)."""
    from alignment_plugins.anchors import PRODUCT_DOMAINS
    from alignment_plugins.contrastive_rows import with_contrastive_rows
    from alignment_plugins.manager import get_plugin_manager
    from alignment_plugins.solvers import CrossStats

    pm = get_plugin_manager()
    x, y = h.tokens(i, j)
    src, tgt = h.directions("src", i), h.directions("tgt", j)
    rows: list[dict[str, Any]] = []

    def record(lever: str, setting: Any, linear: Any, n: int) -> None:
        rows.append({"pair": f"{i}->{j}", "lever": lever, "setting": setting, "token_pairs": n,
                     **_score(linear, src, tgt, h.concepts)})

    def ridge(stats: CrossStats, lam: float = 1e-2) -> Any:
        return pm.get_solver("ridge", normalization="standardize", regularization=lam).fit(stats)

    full = CrossStats.from_arrays_xy(x, y)
    for lam in (1e-3, 1e-2, 0.1, 1.0, 10.0):
        record("ridge λ", lam, ridge(full, lam), full.n)
    n_texts = int(h.text_id.max()) + 1
    order = np.random.default_rng(seed).permutation(n_texts)
    for frac in (0.125, 0.25, 0.5, 1.0):
        keep = np.isin(h.text_id, order[: max(1, round(frac * n_texts))])
        record("anchor texts (random subset)", round(frac * n_texts),
               ridge(CrossStats.from_arrays_xy(x[keep], y[keep])), int(keep.sum()))
    product = np.isin(h.domains[h.text_id], list(PRODUCT_DOMAINS))
    if not product.all():
        record("anchor domains", "five product domains only", ridge(CrossStats.from_arrays_xy(x[product], y[product])),
               int(product.sum()))
        record("anchor domains", "all domains", ridge(full), full.n)
    counts = np.bincount(h.text_id, minlength=n_texts).astype(np.float64)
    present = counts > 0
    pooled_x = np.zeros((n_texts, x.shape[1]))
    pooled_y = np.zeros((n_texts, y.shape[1]))
    np.add.at(pooled_x, h.text_id, x)
    np.add.at(pooled_y, h.text_id, y)
    pooled_x, pooled_y = pooled_x[present] / counts[present, None], pooled_y[present] / counts[present, None]
    for w in (0.3, 1.0, 3.0, 10.0):
        record("pooled anchor rows, weight", w, ridge(with_contrastive_rows(full, pooled_x, pooled_y, w)), full.n)
    cx, cy = h.contrastive_src[str(i)], h.contrastive_tgt[str(j)]
    for w in (0.3, 1.0, 3.0, 10.0):
        record("contrastive anchors, weight", w, ridge(with_contrastive_rows(full, cx, cy, w)), full.n)
    rank = min(x.shape[1], y.shape[1])
    for r in (rank // 8, rank // 4, rank // 2):
        record("solver", f"lowrank r={r}", pm.get_solver("lowrank", rank=r).fit(full), full.n)
    record("solver", "cca", pm.get_solver("cca").fit(full), full.n)
    record("solver", "svd (Procrustes)", pm.get_solver("svd").fit(full), full.n)
    return rows


def _markdown(doc: dict[str, Any]) -> str:
    lines = ["# Levers on the map, measured by concept transfer", "",
             f"`python bench/levers_bench.py {doc['argv']}` — {doc['date']}, {doc['machine']}, "
             f"{doc['seconds'] / 60:.0f} min of analysis. {doc['source']} → {doc['target']}, "
             f"{doc['num_anchors']} anchor texts per corpus, offset-matched token pairs; maps refit from the same "
             "arrays with the engine's statistics and solvers (ridge λ = 0.01 in standardized space unless the lever "
             "says otherwise).", "",
             "Score: mean cos(W·v_src, v_tgt) in target standardized space over the **validation** concepts (what a "
             "choice may look at) and over the **held-out** concepts (reported only); v = CAA direction of the "
             "concept's contrastive pairs (alignment_plugins.concepts).", ""]
    lines += ["## Summary: the defaults against plain token pairs", "",
              "| corpus | layer pair | tokens only (held out) | + contrastive anchors ×3 (held out) | best lever on "
              "validation → its held-out score |", "|---|---|---:|---:|---|"]
    for corpus, result in doc["corpora"].items():
        for pair in sorted({r["pair"] for r in result["rows"]}, key=lambda k: [int(v) for v in k.split("->")]):
            rows = [r for r in result["rows"] if r["pair"] == pair]
            base = next(r for r in rows if r["lever"] == "ridge λ" and r["setting"] == 0.01)
            default = next(r for r in rows if r["lever"].startswith("contrastive") and r["setting"] == 3.0)
            best = max(rows, key=lambda r: r["validation"])
            lines.append(f"| {corpus} | {pair} | {base['held_out']:.3f} | {default['held_out']:.3f} | "
                         f"{best['lever']} {best['setting']} → {best['held_out']:.3f} |")
    lines.append("")
    for corpus, result in doc["corpora"].items():
        lines += [f"## Corpus {corpus} (`{result['anchor_set'][:19]}…`)", "",
                  f"Harvest (token pairs, concept and contrastive states): {result['harvest_seconds'] / 60:.0f} min "
                  "when it ran (it is cached under --work and reused).", ""]
        for pair in sorted({r["pair"] for r in result["rows"]}, key=lambda k: [int(v) for v in k.split("->")]):
            lines += [f"### Layer pair {pair}", "", "| lever | setting | token pairs | validation | held out |",
                      "|---|---|---:|---:|---:|"]
            for r in result["rows"]:
                if r["pair"] == pair:
                    lines.append(f"| {r['lever']} | {r['setting']} | {r['token_pairs']:,} | {r['validation']:.3f} | "
                                 f"{r['held_out']:.3f} |")
            lines.append("")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Harvest each corpus once (cached under --work), analyse every layer pair, write docs/levers.{md,json}."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default="smollm2-135m-instruct")
    parser.add_argument("--target", default="gemma3-270m")
    parser.add_argument("--pairs", nargs="+", default=list(DEFAULT_PAIRS), help="source:target layer pairs")
    parser.add_argument("--corpora", nargs="+", default=["builtin:v1", "builtin:v2"])
    parser.add_argument("--num-anchors", type=int, default=4000)
    parser.add_argument("--work", type=Path, default=ROOT / "out" / "levers")
    parser.add_argument("--out", default=str(ROOT / "docs" / "levers"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    doc: dict[str, Any] = {"argv": " ".join(argv if argv is not None else __import__("sys").argv[1:]),
                           "date": datetime.now(UTC).strftime("%Y-%m-%d"),
                           "machine": f"{platform.machine()} CPU, float32", "source": args.source,
                           "target": args.target, "num_anchors": args.num_anchors, "corpora": {}}
    for corpus in args.corpora:
        folder = args.work / f"{args.source}__{args.target}__{corpus.replace(':', '-')}__{args.num_anchors}"
        harvest(args, corpus, folder)
        h = Harvest(folder)
        rows = []
        for pair in args.pairs:
            i, j = (int(v) for v in pair.split(":"))
            rows += analyse(h, i, j)
            print(f"{corpus} {pair}: analysed", flush=True)
        doc["corpora"][corpus] = {"anchor_set": h.meta["anchor_set"], "rows": rows,
                                  "harvest_seconds": h.meta.get("seconds", float("nan"))}
        doc["seconds"] = time.perf_counter() - started
        Path(args.out).with_suffix(".json").write_text(json.dumps(doc, indent=1))
        Path(args.out).with_suffix(".md").write_text(_markdown(doc))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
