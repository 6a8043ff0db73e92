"""Measured retention of multi-hop transfers A → B → C against the direct A → C, with the retention bench's machinery.

Runs on the work directory of ``bench/retention_bench.py`` (after its prepare and measure stages, same settings):
its ridge maps ``maps/<s>__<t>.ridge.wmatrix`` (each model at its bench layer, so A→B delivers to the layer B→C
reads), its native vectors and its per-prompt effects of the native, random and direct transferred arms on each
target. For every ordered triple of the bench's decoders and every capability, the source's native vector is carried
through the composed map A→B→C (``alignment_plugins.multihop.ComposedMap``), rescaled to the target's native norm
(the bench's "matched norm" arm) and its antisymmetric effect measured on the same prompts and coefficients; retention
is the bench's statistic (``alignment_plugins.retention``) with a bootstrap interval over prompts.

Beside each measurement: the learned estimator's retention for the path (the product of its two hops, what
``MultiHopAligner`` ranks paths by) and for the direct pair. Writes docs/multihop.md and docs/multihop.json.

    python bench/multihop_bench.py --work out/retention
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alignment_plugins.retention import as_arrays, bootstrap_interval, retention_statistics  # noqa: E402

SHORT = {"smollm2-135m-instruct": "SmolLM2", "gemma3-270m": "Gemma-3", "qwen2.5-coder-0.5b-instruct": "Qwen2.5"}


def _fmt(value: Any, digits: int = 2) -> str:
    return "–" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:.{digits}f}"


def composed_vector(work: Path, path: list[str], layers: dict[str, int], capability: str,
                    native_norm: float) -> np.ndarray:
    """The source's native vector through the maps of `path` (each at the bench layers), at the target's native
    norm."""
    from alignment_plugins.multihop import ComposedMap
    from alignment_plugins.wmatrix import WMatrix

    maps = [WMatrix.load(work / "maps" / f"{a}__{b}.ridge.wmatrix").map_for(layers[a])[1]
            for a, b in itertools.pairwise(path)]
    v = ComposedMap(maps).transform_direction(np.load(work / f"native.{path[0]}.{capability}.npy").astype(np.float64))
    return v / np.linalg.norm(v) * native_norm


def estimated(work: Path, path: list[str], estimator: Any) -> float:
    """The estimator's retention of a path: the product of its hops' estimates (MultiHopAligner's edge retention)."""
    from alignment_plugins.models import model_info
    from alignment_plugins.multihop import Edge, MultiHopAligner
    from alignment_plugins.wmatrix import WMatrix

    archs = {name: model_info(name) for name in set(path)}
    edges = [Edge.from_wmatrix(WMatrix.load(work / "maps" / f"{a}__{b}.ridge.wmatrix"), architectures=archs)
             for a, b in itertools.pairwise(path)]
    aligner = MultiHopAligner(edges, estimator=estimator)
    return float(np.prod([aligner.edge_retention(e, next(iter(e.pairs))) for e in edges]))


def measure_triple(args: argparse.Namespace, work: Path, triple: tuple[str, str, str]) -> dict[str, Any]:
    """Per-prompt effects of the A→B→C arm on C for every capability (cached per triple in the work directory)."""
    from alignment_plugins.capabilities import get_capability
    from alignment_plugins.models import load_model
    from alignment_plugins.steering_sweep import antisymmetric_effects

    a, b, c = triple
    cache = work / f"multihop.{a}__{b}__{c}.json"
    out = json.loads(cache.read_text()) if cache.is_file() else {}
    measured = json.loads((work / f"measure.{c}.json").read_text())
    layers = {name: info["layer"] for name, info in json.loads((work / "prepare.json").read_text())["models"].items()}
    model = load_model(c)
    for capability in args.capabilities:
        data = measured["capabilities"].get(capability)
        if data is None or capability in out:
            continue
        clock = time.perf_counter()
        cap = get_capability(capability)
        prompts = list(range(data["n_prompts"]))
        vector = composed_vector(work, [a, b, c], layers, capability, data["norms"]["native"]).astype(np.float32)
        measured_effects = antisymmetric_effects(model, cap, layers[c], [(vector, k) for k in data["coefficients"]],
                                                 prompts, max_new_tokens=args.max_new_tokens,
                                                 batch_rows=args.batch_rows)
        effects = {str(k): e.tolist() for k, e in zip(data["coefficients"], measured_effects, strict=True)}
        out[capability] = {"effects": effects, "seconds": time.perf_counter() - clock}
        cache.write_text(json.dumps(out))
        print(f"{' -> '.join(SHORT.get(n, n) for n in triple)} {capability}: "
              f"{time.perf_counter() - clock:.0f}s", flush=True)
    return out


def statistics(args: argparse.Namespace, work: Path, triple: tuple[str, str, str], arm_effects: dict[str, Any],
               estimator: Any) -> list[dict[str, Any]]:
    """Retention of the multi-hop arm and of the direct arm (the bench's), with intervals and the estimates."""
    a, b, c = triple
    measured = json.loads((work / f"measure.{c}.json").read_text())
    path_estimate, direct_estimate = estimated(work, [a, b, c], estimator), estimated(work, [a, c], estimator)
    rows = []
    for capability, arm in arm_effects.items():
        data = measured["capabilities"][capability]
        effects = as_arrays({**data["effects"], "multihop": arm["effects"]})
        n = data["n_prompts"]
        row = {"source": a, "via": b, "target": c, "capability": capability,
               "estimated_path": path_estimate, "estimated_direct": direct_estimate}
        for key, name in (("multihop", "multihop"), (f"transferred:{a}", "direct")):
            row[name] = retention_statistics(effects, key)["retention"]
            row[f"{name}_ci"] = list(bootstrap_interval(
                lambda r, k=key, ef=effects: retention_statistics(ef, k, r)["retention"], n, reps=args.bootstrap,
                seed=args.seed))
        rows.append(row)
    return rows


def markdown(doc: dict[str, Any]) -> str:
    """docs/multihop.md: measured multi-hop vs direct retention and the estimator's predictions."""
    rows, summary = doc["rows"], doc["summary"]
    lines = [
        "# Multi-hop alignment: measured retention A → B → C against direct A → C",
        "",
        f"Generated {doc['generated_at']} by `{doc['command']}` on the retention bench's work directory "
        f"(`{doc['work']}`): its ridge maps at the bench layers, its native vectors, prompts and coefficients; the "
        "composed vector at the target's native norm. Retention = (E_arm − E_random) / (E_native − E_random) at each "
        "arm's best coefficient, 95% bootstrap intervals over prompts. Estimated: the learned estimator "
        "(`alignment_plugins/estimator.py`) — for a path the product of its hops' estimates (what `MultiHopAligner` "
        "ranks paths by).",
        "",
        "| A → B → C | capability | measured via B [95% CI] | measured direct [95% CI] | estimated path | "
        "estimated direct |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        name = " → ".join(SHORT.get(n, n) for n in (r["source"], r["via"], r["target"]))
        lines.append(f"| {name} | {r['capability']} | {_fmt(r['multihop'])} [{_fmt(r['multihop_ci'][0])}, "
                     f"{_fmt(r['multihop_ci'][1])}] | {_fmt(r['direct'])} [{_fmt(r['direct_ci'][0])}, "
                     f"{_fmt(r['direct_ci'][1])}] | {_fmt(r['estimated_path'])} | {_fmt(r['estimated_direct'])} |")
    lines += [
        "",
        f"Over {summary['n']} cells: mean measured retention via an intermediary {_fmt(summary['mean_multihop'], 3)}, "
        f"direct {_fmt(summary['mean_direct'], 3)}; the path beat the direct pair in {summary['multihop_better']} "
        f"cells. Estimator on composed paths: mean absolute error {_fmt(summary['path_mae'], 3)} (on direct pairs "
        f"{_fmt(summary['direct_mae'], 3)}); it ranked path vs direct the same way as the measurement in "
        f"{summary['ranking_agreement']} of {summary['n']} cells.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure every ordered triple, then write docs/multihop.md and docs/multihop.json."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=ROOT / "out" / "retention")
    parser.add_argument("--capabilities", nargs="*", default=None, help="default: every capability measured")
    parser.add_argument("--max-new-tokens", type=int, default=20, help="as the retention bench's measure stage")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--estimator", type=Path, default=None, help="retention estimator JSON (default: shipped)")
    parser.add_argument("--batch-rows", type=int, default=320, help="generated rows per batch (steering_sweep)")
    parser.add_argument("--targets", nargs="*", default=None,
                        help="only measure the triples ending at these targets (cached; no docs written): "
                             "parallel processes beside the retention bench's per-target measure stage")
    args = parser.parse_args(argv)
    import torch

    from alignment_plugins.estimator import default_estimator
    from alignment_plugins.models import clear_loaded_models

    torch.set_num_threads(args.threads)
    models = list(json.loads((args.work / "prepare.json").read_text())["models"])
    unknown = sorted(set(args.targets or ()) - set(models))
    if unknown:
        parser.error(f"unknown targets {unknown}: the work directory has {models}")
    if args.capabilities is None:
        first = (args.targets or models)[0]
        args.capabilities = sorted(json.loads((args.work / f"measure.{first}.json").read_text())["capabilities"])
    estimator = default_estimator(args.estimator)
    if args.targets is not None:
        for triple in itertools.permutations(models, 3):
            if triple[2] in args.targets:
                measure_triple(args, args.work, triple)
                clear_loaded_models()
        return 0
    rows = []
    for triple in itertools.permutations(models, 3):
        rows += statistics(args, args.work, triple, measure_triple(args, args.work, triple), estimator)
        clear_loaded_models()
    finite = [r for r in rows if all(math.isfinite(r[k]) for k in ("multihop", "direct"))]
    summary = {
        "n": len(finite),
        "mean_multihop": float(np.mean([r["multihop"] for r in finite])) if finite else None,
        "mean_direct": float(np.mean([r["direct"] for r in finite])) if finite else None,
        "multihop_better": sum(r["multihop"] > r["direct"] for r in finite),
        "path_mae": float(np.mean([abs(r["estimated_path"] - min(1, max(0, r["multihop"]))) for r in finite]))
        if finite else None,
        "direct_mae": float(np.mean([abs(r["estimated_direct"] - min(1, max(0, r["direct"]))) for r in finite]))
        if finite else None,
        "ranking_agreement": sum((r["estimated_path"] > r["estimated_direct"]) == (r["multihop"] > r["direct"])
                                 for r in finite),
    }
    shown = args.work.resolve()
    doc = {"generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
           "command": " ".join(["python bench/multihop_bench.py", *(sys.argv[1:] if argv is None else argv)]),
           "work": str(shown.relative_to(ROOT) if shown.is_relative_to(ROOT) else shown),
           "estimator": estimator.created_at, "rows": rows, "summary": summary}
    (ROOT / "docs" / "multihop.json").write_text(json.dumps(doc, indent=1, default=float) + "\n")
    (ROOT / "docs" / "multihop.md").write_text(markdown(doc))
    print(f"wrote docs/multihop.md and .json ({len(rows)} cells)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
