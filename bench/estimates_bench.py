"""Fit the learned retention estimator on measured cases and report how well it predicts pairs it never saw.

Measured cases are the (directed pair, capability, target configuration) rows of retention-bench support-matrix
documents (``docs/support-matrix.json`` and any extra measured JSON, e.g. a quantized or long-prompt run). The
estimator (``alignment_plugins.estimator``: ridge point model on the features that generalize across pairs,
conformal 90% intervals by pair) is evaluated leave-one-pair-out — every directed pair held out in turn, the whole
fit and calibration redone without it — beside its variants (split calibration, every feature), then fit on every
case and written as the JSON model the marketplace and ``CompatibilityChecker`` load (no torch).

Features a document lacks are filled where they can be: the vector's dimensional loss from the bench's work
directory (``--work``: its ``maps/<s>__<t>.ridge.wmatrix`` and ``native.<s>.<capability>.npy``) or, with
``--expected-dimensional-loss``, the isotropic expectation 1 − d_target/d_source (said in the report); the
structural mismatch from the models' own configs (``alignment_plugins.models.model_info``).

    python bench/estimates_bench.py                              # docs/support-matrix.json -> docs/estimates.md
    python bench/estimates_bench.py --measured docs/support-matrix.json out/int8/support-matrix.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alignment_plugins.certificate import load_support_matrix  # noqa: E402
from alignment_plugins.estimator import (  # noqa: E402
    DEFAULT_MODEL_PATH,
    RetentionEstimator,
    leave_one_pair_out,
    measured_cases,
)
from alignment_plugins.transfer_features import (  # noqa: E402
    carried_basis,
    dimensional_loss,
    expected_dimensional_loss,
)

TARGET_MAE, TARGET_COVERAGE = 0.05, 0.90


def dimensional_loss_filler(doc: dict[str, Any], work: Path | None, expected: bool, notes: list[str]):
    """A callback (pair, capability) -> dimensional loss: from the work directory's files, else the isotropic
    expectation when allowed, else None (the case is then refused with the row named)."""
    from alignment_plugins.wmatrix import WMatrix

    cache: dict[str, Any] = {}

    def fill(pair: dict[str, Any], capability: str) -> float | None:
        source, target = pair["source"], pair["target"]
        if work is not None:
            path = work / "maps" / f"{source}__{target}.ridge.wmatrix"
            vector = work / f"native.{source}.{capability}.npy"
            if path.is_file() and vector.is_file():
                if str(path) not in cache:
                    _, linear = WMatrix.load(path).map_for(pair["source_layer"])
                    cache[str(path)] = (linear.scale_x, carried_basis(linear.weight))
                scale, basis = cache[str(path)]
                return dimensional_loss(np.load(vector), scale, basis)
        if expected:
            sizes = [(doc.get("models") or {}).get(n, {}).get("hidden_size") for n in (source, target)]
            if all(sizes):
                notes.append(f"{source} -> {target} {capability}")
                return expected_dimensional_loss(int(sizes[0]), int(sizes[1]))
        return None

    return fill


def architectures(names: set[str]) -> dict[str, Any]:
    """Architecture metadata of each model from its own config (None where unreadable)."""
    from alignment_plugins.models import model_info

    out: dict[str, Any] = {}
    for name in sorted(names):
        try:
            out[name] = model_info(name)
        except Exception as exc:  # an unknown model: the document must then carry structural_mismatch
            print(f"no architecture for {name}: {exc}", flush=True)
    return out


def _shown(path: Path) -> str:
    """A path as the report shows it: relative to the repository when inside it."""
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _fmt(value: Any, digits: int = 3) -> str:
    return "–" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:.{digits}f}"


def _config_label(config: dict[str, Any]) -> str:
    parts = [config.get("quantization") or "unquantized"]
    if config.get("context_length"):
        parts.append(f"{config['context_length']} tokens")
    return ", ".join(parts)


def _noise_floor(cases: list[Any]) -> float | None:
    """Mean expected |measurement error| of the cases' retentions, σ√(2/π) with σ = (CI width) / 3.92."""
    sigmas = [(c.ci[1] - c.ci[0]) / 3.92 for c in cases if c.ci]
    return float(np.mean(sigmas) * math.sqrt(2 / math.pi)) if sigmas else None


def markdown(args: argparse.Namespace, sources: list[dict[str, Any]], cases: list[Any], evaluation: dict[str, Any],
             model: RetentionEstimator, expected_notes: list[str], variants: list[dict[str, Any]] = ()) -> str:
    """docs/estimates.md: data, the fitted model, leave-one-pair-out accuracy and coverage against the targets."""
    configs = sorted({_config_label(c.config) for c in cases})
    lines = [
        "# Pre-purchase estimates: how well the learned estimator predicts measured retention",
        "",
        f"Generated {datetime.now(UTC).isoformat(timespec='seconds')} by "
        f"`{' '.join(['python bench/estimates_bench.py', *args.argv])}` from "
        + ", ".join(f"`{s['path']}` ({s['generated_at']})" for s in sources) + ".",
        "",
        f"**Data.** {len(cases)} measured cases (directed pair × capability × configuration): "
        f"{len({c.pair for c in cases})} directed pairs, capabilities "
        f"{', '.join(sorted({c.capability for c in cases}))}, configurations: {'; '.join(configs)}.",
        "",
        "**Model** (`alignment_plugins/estimator.py`): ridge regression on standardized features — the map's held-out "
        "semantic preservation, R², CKA and reconstruction error at the vector's layers, the vector's dimensional loss "
        "(share of its standardized energy outside the subspace the map carries well), the structural mismatch of "
        "the two architectures, the quantization loss log2(16/bits), the context ratio log2(length/256), and two "
        "priors: the mean measured retention into the same target from the other pairs and of the same capability on "
        "the other pairs. "
        + ("Features enter by forward selection on inner leave-one-pair-out error (one-standard-error rule), "
           if not args.all_features else "Every feature enters, ")
        + f"λ chosen by the same error; {round(100 * (1 - args.alpha))}% intervals by "
        + ("cross-conformal prediction by pair (every pair fits the model; each case's score is the error of the "
           "whole procedure refit without its pair)." if args.calibration == "cross" else
           "split-conformal prediction, the pairs split at random into fitting and calibration pairs."),
        "",
        f"**Noise floor.** The measured retentions are themselves estimates: their bootstrap intervals imply a mean "
        f"absolute measurement error of {_fmt(_noise_floor(cases))} (σ√(2/π), σ = interval width / 3.92, averaged "
        "over the cases), the error a perfect predictor of the true retention would still show against them. An MAE "
        "target below it cannot be met with these measurements.",
        "",
        "## Leave one pair out",
        "",
        "Each directed pair is held out in turn; the estimator is fitted and calibrated on the others and predicts "
        "the held-out pair's cases. Retention and intervals are compared clipped to [0, 1] (what an estimate reports).",
        "",
    ]
    if evaluation["n"]:
        mae, cov = evaluation["mae"], evaluation["coverage"]
        lines += [
            "| | value | target | met |",
            "|---|---|---|---|",
            f"| mean absolute error | {_fmt(mae)} | ≤ {TARGET_MAE} | {'yes' if mae <= TARGET_MAE else '**no**'} |",
            f"| coverage of the {round(100 * (1 - args.alpha))}% interval | {_fmt(cov)} | ≥ {TARGET_COVERAGE} | "
            f"{'yes' if cov >= TARGET_COVERAGE else '**no**'} |",
            f"| coverage of the wide (per-pair) interval | {_fmt(evaluation['wide_coverage'])} | | |",
            f"| mean interval width | {_fmt(evaluation['mean_width'])} | | |",
            f"| MAE of the training mean (baseline) | {_fmt(evaluation['baselines']['training_mean'])} | | |",
            f"| MAE of semantic preservation taken as retention (the estimate before this model) | "
            f"{_fmt(evaluation['baselines']['semantic_preservation'])} | | |",
            "",
            "| held-out pair | capability | configuration | measured | estimate | 90% interval | covered |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in evaluation["rows"]:
            lines.append(f"| {r['pair']} | {r['capability']} | {_config_label(r['config'])} | {_fmt(r['measured'])} | "
                         f"{_fmt(r['estimate'])} | [{_fmt(r['ci'][0])}, {_fmt(r['ci'][1])}] | "
                         f"{'yes' if r['covered'] else 'no'} |")
        by_pair: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in evaluation["rows"]:
            by_pair[r["pair"]].append(r)
        lines += ["", "| held-out pair | cases | MAE | coverage |", "|---|---|---|---|"]
        for pair, rows in sorted(by_pair.items()):
            lines.append(f"| {pair} | {len(rows)} | {_fmt(float(np.mean([r['error'] for r in rows])))} | "
                         f"{_fmt(float(np.mean([r['covered'] for r in rows])))} |")
    else:
        lines.append("Too few measured pairs to hold one out (at least three are needed).")
    if variants:
        lines += ["", "The same evaluation for the estimator's variants (what the defaults were chosen against):", "",
                  "| calibration | features | MAE | coverage | wide coverage | mean width |",
                  "|---|---|---|---|---|---|"]
        for v in variants:
            lines.append(f"| {v['calibration']} | {'all' if not v['select'] else 'selected'} | {_fmt(v['mae'])} | "
                         f"{_fmt(v['coverage'])} | {_fmt(v['wide_coverage'])} | {_fmt(v['mean_width'])} |")
    if evaluation.get("skipped"):
        lines += ["", f"Not evaluated (fewer than two other pairs): {', '.join(evaluation['skipped'])}."]
    conformal = model.to_dict()["conformal"]
    lines += [
        "",
        "## The shipped model",
        "",
        f"Fitted on all {len(cases)} cases and written to `{_shown(args.model_out)}` (loaded by "
        "`CompatibilityChecker` and the marketplace without torch): fitting pairs "
        f"{', '.join(model.training['training_pairs'])}; calibration pairs "
        f"{', '.join(model.training['calibration_pairs'])} ({model.training['calibration_cases']} cases, "
        f"{model.training['calibration']} calibration); selected features: "
        f"{', '.join(model.training['selected_features']) or 'none (the model is the mean measured retention)'}; "
        f"λ = {model.ridge:g}.",
        "",
        f"- case interval half-width {_fmt(conformal['case']['quantile'])} "
        f"({'the' if conformal['case']['guaranteed'] else '**not** the'} ⌈(n+1)(1−α)⌉-th of the n calibration "
        f"errors: that rank needs at least {math.ceil(1 / args.alpha) - 1} calibration cases; "
        + ("split calibration: a finite-sample coverage guarantee for exchangeable pairs);"
           if model.training.get("calibration") == "split" else
           "cross calibration: no finite-sample theorem, its coverage is the one measured above);"),
        f"- wide (per-pair) half-width {_fmt(conformal['pair']['quantile'])} "
        f"({'the' if conformal['pair']['guaranteed'] else '**not** the'} same rank over per-pair errors: it needs at "
        f"least {math.ceil(1 / args.alpha) - 1} calibration pairs; without it the largest calibration error is used "
        "and estimates say so).",
        "",
        "| feature | coefficient (per standard deviation) | training mean | measured range |",
        "|---|---|---|---|",
    ]
    for k, name in enumerate(model.features):
        low, high = model.ranges[name]
        lines.append(f"| {name} | {_fmt(float(model.coef[k]), 4)} | {_fmt(float(model.mean[k]))} | "
                     f"[{_fmt(low)}, {_fmt(high)}] |")
    lines += ["", f"Intercept (mean measured retention of the fitting pairs): {_fmt(model.intercept)}. Features "
              "outside the selection have coefficient 0 (a missing one is imputed without widening the interval). A "
              "configuration outside the measured range (e.g. a quantization never measured), a missing feature the "
              "model uses or an unverified custom fine-tune gets the wide interval and the estimate says why."]
    if expected_notes:
        lines += ["", f"**Approximation.** {len(expected_notes)} cases had no dimensional loss in their document and "
                  "no bench work files; the isotropic expectation 1 − d_target/d_source stands in for them "
                  "(`--expected-dimensional-loss`)."]
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Evaluate leave-one-pair-out, fit on everything, write the JSON model and docs/estimates.md."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--measured", nargs="+", type=Path, default=[ROOT / "docs" / "support-matrix.json"],
                        help="support-matrix JSON files of the retention bench (any configurations)")
    parser.add_argument("--work", type=Path, default=None,
                        help="the retention bench's work directory, to compute missing dimensional losses")
    parser.add_argument("--expected-dimensional-loss", action="store_true",
                        help="use 1 - d_target/d_source where a dimensional loss cannot be computed")
    parser.add_argument("--alpha", type=float, default=0.1, help="miscoverage of the intervals (0.1: 90%%)")
    parser.add_argument("--calibration", choices=("cross", "split"), default="cross",
                        help="conformal calibration by pair: every pair fits and calibrates (cross) or a random split")
    parser.add_argument("--calibration-fraction", type=float, default=0.5, help="share of calibration pairs (split)")
    parser.add_argument("--all-features", action="store_true",
                        help="no feature selection: every feature enters the ridge model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model-out", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "estimates.md")
    parser.add_argument("--json", type=Path, default=ROOT / "docs" / "estimates.json")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    args.model_out = args.model_out.resolve()
    docs = [(path, load_support_matrix(path)) for path in args.measured]
    names = {n for _, d in docs for p in d["pairs"] for n in (p["source"], p["target"])}
    archs = architectures(names) if any("structural_mismatch" not in p for _, d in docs for p in d["pairs"]) else {}
    cases, notes = [], []
    for _, doc in docs:
        fill = dimensional_loss_filler(doc, args.work, args.expected_dimensional_loss, notes)
        cases += measured_cases(doc, dimensional_loss=fill, architectures=archs)
    sources = [{"path": _shown(p), "generated_at": d.get("generated_at")} for p, d in docs]
    fit = {"alpha": args.alpha, "calibration": args.calibration, "calibration_fraction": args.calibration_fraction,
           "seed": args.seed, "select": not args.all_features}
    evaluation = leave_one_pair_out(cases, **fit)
    variants = []
    for calibration in ("cross", "split"):
        for select in (True, False):
            other = evaluation if (calibration, select) == (fit["calibration"], fit["select"]) else \
                leave_one_pair_out(cases, **{**fit, "calibration": calibration, "select": select})
            if other["n"]:
                variants.append({"calibration": calibration, "select": select,
                                 **{k: other[k] for k in ("mae", "coverage", "wide_coverage", "mean_width")}})
    model = RetentionEstimator.fit(cases, sources=sources, **fit)
    model.training["expected_dimensional_loss_cases"] = len(notes)
    model.training["evaluation"] = {k: evaluation.get(k) for k in ("n", "mae", "coverage", "wide_coverage",
                                                                   "mean_width", "baselines")}
    model.training["noise_floor"] = _noise_floor(cases)
    model.save(args.model_out)
    args.doc.write_text(markdown(args, sources, cases, evaluation, model, notes, variants))
    args.json.write_text(json.dumps({"sources": sources, "evaluation": evaluation, "variants": variants,
                                     "noise_floor": _noise_floor(cases), "model": model.to_dict()},
                                    indent=1, default=float) + "\n")
    if evaluation["n"]:
        print(f"leave one pair out: {evaluation['n']} cases, MAE {evaluation['mae']:.3f} (target ≤ {TARGET_MAE}), "
              f"90% coverage {evaluation['coverage']:.3f} (target ≥ {TARGET_COVERAGE}); baselines: training mean "
              f"{evaluation['baselines']['training_mean']:.3f}, semantic preservation "
              f"{evaluation['baselines']['semantic_preservation']:.3f}")
    print(f"wrote {args.model_out}, {args.doc} and {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
