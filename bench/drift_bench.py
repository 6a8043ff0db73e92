"""Drift-detection benchmark: does WMatrixMonitor catch real change, and stay quiet without it?

A W-Matrix is trained from `--source` to `--target` (or read from `--wmatrix`); copies of one side's model
(`--side`, default target) are written with real changes, and the monitor checks the matrix against each, once per
fresh-anchor seed (`--checks`):

  (a) same        the model itself, untouched (every alarm is a false alarm);
  (b) finetuned   a copy fine-tuned `--finetune-steps` Adam steps (lr `--finetune-lr`) as a causal LM on a small
                  text (the first `--finetune-texts` anchors the matrix never trained on), or with a masked-LM-free
                  objective for encoders (mean-squared drift of the last hidden state towards zero);
  (c) requantized the copy's weight matrices round-tripped through GGML `--quant` (default Q4_0: a 4-bit block
                  format other than the packages' Q4_1 / Q4_K_M) with gguf's numpy quantizer;
  (d) perturbed   `--perturb-layers` middle blocks' weights plus Gaussian noise of `--perturb-scale` × each tensor's
                  standard deviation.

Writes the table (alarms, recommendations, p-values, representation shifts, quality drops) to `--out`
(default docs/drift.md) and the raw results beside it as JSON.

    python bench/drift_bench.py --source smollm2-135m-instruct --target gemma3-270m --num-anchors 2000 --checks 5
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from alignment_plugins.requantize import load_float32, save_copy

VARIANTS = ("same", "finetuned", "requantized", "perturbed")


def model_dir(name: str) -> Path:
    """The local HF directory of a model (a packaged GGUF model is converted once into the engine cache)."""
    from alignment_plugins.models import resolve

    return Path(resolve(name)[1])


def finetuned(source: Path, out: Path, texts: list[str], steps: int, lr: float, seed: int) -> Path:
    """A copy fine-tuned `steps` Adam steps on `texts` (causal LM loss; encoders: last-state mean square)."""
    import torch
    import transformers

    torch.manual_seed(seed)
    model, causal = load_float32(source)
    tokenizer = transformers.AutoTokenizer.from_pretrained(source)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    batch = tokenizer(texts, return_tensors="pt", padding=True, truncation=True, max_length=64)
    for _ in range(steps):
        optimizer.zero_grad()
        if causal:
            labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
            loss = model(**batch, labels=labels).loss
        else:
            loss = model(**batch).last_hidden_state.pow(2).mean()
        loss.backward()
        optimizer.step()
    return save_copy(model.eval(), source, out)


def requantized(source: Path, out: Path, quant: str) -> Path:
    """A copy whose 2-D weights (last dimension a multiple of the block size) went through GGML `quant` and back."""
    from alignment_plugins.requantize import quantized_copy

    return quantized_copy(source, out, quant)


def perturbed(source: Path, out: Path, layers: int, scale: float, seed: int) -> Path:
    """A copy with Gaussian noise (scale × each tensor's std) added to `layers` middle blocks' weights."""
    import torch

    from alignment_plugins.architectures.hf_residual import find_blocks

    model, _ = load_float32(source)
    num = int(model.config.get_text_config().num_hidden_layers)
    blocks = find_blocks(model, num)
    start = max(0, num // 2 - layers // 2)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for block in list(blocks)[start : start + layers]:
            for param in block.parameters():
                std = float(param.std()) if param.numel() > 1 else 0.0
                param.add_(torch.randn(param.shape, generator=gen) * scale * std)
    return save_copy(model, source, out)


def build_variants(base: Path, work: Path, args: argparse.Namespace, texts: list[str]) -> dict[str, Path | None]:
    """(b)–(d) written under `work` (rebuilt each run); (a) is the model where the matrix recorded it (None)."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    return {
        "same": None,
        "finetuned": finetuned(base, work / "finetuned", texts, args.finetune_steps, args.finetune_lr, args.seed),
        "requantized": requantized(base, work / "requantized", args.quant),
        "perturbed": perturbed(base, work / "perturbed", args.perturb_layers, args.perturb_scale, args.seed),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Train (or load) the matrix, build the variants, check each once per seed; return the results."""
    from alignment_plugins.drift_stats import fresh_anchors
    from alignment_plugins.monitor import WMatrixMonitor
    from alignment_plugins.trainer import WMatrixTrainer
    from alignment_plugins.wmatrix import WMatrix

    started = time.perf_counter()
    work = Path(args.work)
    if args.wmatrix:
        wm = WMatrix.load(args.wmatrix)
    else:
        trainer = WMatrixTrainer(args.source, args.target, seed=args.seed, anchors=args.anchors_file)
        wm = trainer.configure(num_anchors=args.num_anchors, layers="all").train(validation_split=0.1, test_split=0.1)
        wm.save(work.parent / f"{work.name}.wmatrix")
    side = getattr(wm, args.side)
    base = model_dir(side["origin"]["location"] if side.get("origin", {}).get("kind") in ("path", "gguf")
                     else side["name"])
    tune_texts = fresh_anchors(wm.anchors, args.finetune_texts, seed=1).texts
    variants = build_variants(base, work / "variants", args, tune_texts)
    rows = []
    for name, path in variants.items():
        for check in range(args.checks):
            override = {f"{args.side}_model": str(path)} if path is not None else {}
            status = WMatrixMonitor(seed=args.seed + 1000 + check, num_anchors=args.check_anchors, alpha=args.alpha,
                                    **override).check(wm)
            body = status.to_dict()
            rows.append({"variant": name, "check": check, "drift_detected": status.drift_detected,
                         "recommendation": status.recommendation, "quality_drop": status.quality_drop,
                         "p_value": body["paired_test"]["p_value"] if body["paired_test"] else None,
                         "shift": body["paired_test"]["shift"] if body["paired_test"] else None,
                         "fingerprint_changed": status.fingerprint_changed, "accuracy": status.accuracy,
                         "semantic_preservation": status.metrics.get("semantic_preservation"), "status": body})
            print(f"{name:12} check {check}: drift {status.drift_detected} -> {status.recommendation} "
                  f"({status.reason[:160]})", flush=True)
    return {"generated_at": datetime.now(UTC).isoformat(timespec="seconds"), "command": " ".join(args.argv),
            "source": wm.source["name"], "target": wm.target["name"], "side": args.side,
            "pair": list(wm.headline_pair), "recorded": wm.metrics, "alpha": args.alpha, "rows": rows,
            "settings": {k: v for k, v in vars(args).items() if k != "argv"},
            "machine": {"python": platform.python_version(), "platform": platform.platform()},
            "seconds": time.perf_counter() - started}


def _fmt(value: Any, spec: str = ".4f") -> str:
    return "n/a" if value is None or (isinstance(value, float) and not np.isfinite(value)) else format(value, spec)


def _variant_lines(settings: dict[str, Any], side: str) -> list[str]:
    """One bullet per variant saying how its copy of the `side` model was made (from the run's settings)."""
    import inspect

    from alignment_plugins.monitor import WMatrixMonitor

    defaults = {name: param.default for name, param in inspect.signature(WMatrixMonitor).parameters.items()}
    return [
        f"- **same**: the {side} model itself, untouched: every alarm is a false alarm.",
        f"- **finetuned**: {settings['finetune_steps']} Adam steps at learning rate {settings['finetune_lr']:g} as a "
        f"causal LM on {settings['finetune_texts']} anchor texts the matrix never trained on (a light fine-tune: "
        "what a buyer's own tuning run does in its first steps).",
        f"- **requantized**: every 2-D weight matrix round-tripped through GGML {settings['quant']} (gguf's numpy "
        "quantizer), a 4-bit format other than the packaged file's.",
        f"- **perturbed**: Gaussian noise of {settings['perturb_scale']:g} × each tensor's standard deviation added to "
        f"the weights of {settings['perturb_layers']} middle blocks.",
        "",
        "An alarm (`drift_detected`) says the model the matrix is applied to is not the one it was fit on (weight "
        "fingerprint or representation shift) or that its held-out quality dropped significantly; the "
        f"recommendation then weighs the quality drop: keep (within {defaults['tolerance']:g}), recalibrate (within "
        f"{defaults['retrain_drop']:g}), retrain.",
    ]


def _rejected(rows: list[dict[str, Any]]) -> int:
    """How many of `rows` the paired probe test rejected on its own."""
    return sum(bool((r["status"].get("paired_test") or {}).get("rejected")) for r in rows)


def render(results: dict[str, Any]) -> str:
    """The markdown page: one row per variant (alarms over checks, recommendations, medians of the evidence)."""
    lines = [
        "# Drift detection",
        "",
        f"Generated by `{results['command']}` at {results['generated_at']} ({results['seconds']:.0f} s). Matrix "
        f"{results['source']} → {results['target']}, recommended pair {results['pair'][0]}→{results['pair'][1]}; "
        f"the {results['side']} model is replaced by each variant below and `WMatrixMonitor` checks the matrix "
        f"against it once per fresh-anchor seed. Stated false-alarm rate α = {results['alpha']} (the paired probe "
        "test and the fresh-anchor test at α/2 each; the representation-shift tolerance is a fixed bound far above "
        "float32 recomputation noise). The tests are described in `alignment_plugins/drift_stats.py`.",
        "",
        "## Variants",
        "",
        *_variant_lines(results["settings"], results["side"]),
        "",
        "## Checks",
        "",
        "| variant | alarms / checks | recommendations | median paired p | median shift (source / target) | "
        "median quality drop | fingerprint changed |",
        "|---|---|---|---|---|---|---|",
    ]
    for variant in VARIANTS:
        rows = [r for r in results["rows"] if r["variant"] == variant]
        if not rows:
            continue
        recs: dict[str, int] = {}
        for r in rows:
            recs[r["recommendation"]] = recs.get(r["recommendation"], 0) + 1
        ps = [r["p_value"] for r in rows if r["p_value"] is not None]
        shifts = [r["shift"] for r in rows if r["shift"]]
        drops = [r["quality_drop"] for r in rows if r["quality_drop"] is not None]
        shift = (f"{np.median([s['source'] for s in shifts]):.2e} / {np.median([s['target'] for s in shifts]):.2e}"
                 if shifts else "n/a")
        lines.append(
            f"| {variant} | {sum(r['drift_detected'] for r in rows)} / {len(rows)} | "
            f"{', '.join(f'{k} {v}' for k, v in sorted(recs.items()))} | "
            f"{_fmt(float(np.median(ps)) if ps else None, '.3g')} | {shift} | "
            f"{_fmt(float(np.median(drops)) if drops else None)} | "
            f"{sum(bool(r['fingerprint_changed']) for r in rows)} / {len(rows)} |")
    same = [r for r in results["rows"] if r["variant"] == "same"]
    changed = [r for r in results["rows"] if r["variant"] != "same"]
    lines += ["", f"False alarms: {sum(r['drift_detected'] for r in same)} of {len(same)} checks of the unchanged "
              f"model. Detections: {sum(r['drift_detected'] for r in changed)} of {len(changed)} checks of changed "
              f"copies; the paired probe test alone (no fingerprint, no shift) rejected in {_rejected(changed)} of "
              f"{len(changed)} (and in {_rejected(same)} of {len(same)} checks of the unchanged model).", "",
              "Raw results (every check's structured status): `"
              f"{Path(results['settings']['out']).with_suffix('.json').name}`.", ""]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's arguments."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--source", default="smollm2-135m-instruct")
    p.add_argument("--target", default="gemma3-270m")
    p.add_argument("--wmatrix", default=None, help="check this matrix instead of training one")
    p.add_argument("--anchors-file", default=None)
    p.add_argument("--num-anchors", type=int, default=2000)
    p.add_argument("--side", choices=["source", "target"], default="target", help="which model is changed")
    p.add_argument("--checks", type=int, default=5, help="checks per variant (fresh-anchor seeds)")
    p.add_argument("--check-anchors", type=int, default=None, help="fresh anchors per check (default: test split)")
    p.add_argument("--alpha", type=float, default=0.01)
    p.add_argument("--finetune-steps", type=int, default=5)
    p.add_argument("--finetune-lr", type=float, default=1e-5)
    p.add_argument("--finetune-texts", type=int, default=16)
    p.add_argument("--quant", default="Q4_0", help="GGML quantization type of the requantized copy")
    p.add_argument("--perturb-layers", type=int, default=2)
    p.add_argument("--perturb-scale", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", default="out/drift", help="variants and the trained matrix go here")
    p.add_argument("--out", default="docs/drift.md")
    p.add_argument("--from-json", default=None, help="re-render the page from a run's raw results (no model runs)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write the page and its JSON."""
    import sys

    args = build_parser().parse_args(argv)
    args.argv = ["python bench/drift_bench.py", *(sys.argv[1:] if argv is None else argv)]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.from_json:
        results = json.loads(Path(args.from_json).read_text())
    else:
        results = run(args)
        out.with_suffix(".json").write_text(json.dumps(results, indent=1, default=str))
    out.write_text(render(results))
    print(f"wrote {out} and {out.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
