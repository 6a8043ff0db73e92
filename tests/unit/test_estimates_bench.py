"""bench/estimates_bench.py on a synthetic support matrix (no model is loaded), and the shipped estimator file."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from alignment_plugins.estimator import FEATURES, RetentionEstimator, default_estimator

BENCH = Path(__file__).resolve().parents[2] / "bench" / "estimates_bench.py"


def synthetic_doc(n_models: int = 4, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    names = [f"m{k}" for k in range(n_models)]
    pairs = []
    for s in names:
        for t in names:
            if s == t:
                continue
            sp = rng.uniform(0.7, 0.9)
            held = {"semantic_preservation": sp, "r2": sp - 0.15, "cka": 0.95, "reconstruction_error": 0.1}
            caps = {c: {"retention": float(sp - 0.1 + rng.normal(0, 0.03)), "ci": None,
                        "dimensional_loss": float(rng.uniform(0, 0.2))} for c in ("a", "b", "c")}
            pairs.append({"source": s, "target": t, "source_layer": 2, "target_layer": 2, "held_out": held,
                          "structural_mismatch": 0.25, "capabilities": caps})
    return {"format": "support-matrix", "version": 1, "generated_at": "2026-03-01T00:00:00+00:00",
            "anchors": {"hash": "sha256:x"}, "models": {n: {"hidden_size": 8} for n in names}, "pairs": pairs}


def test_bench_fits_evaluates_and_writes_the_model(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("estimates_bench", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    measured = tmp_path / "support-matrix.json"
    measured.write_text(json.dumps(synthetic_doc()))
    out = {"model": tmp_path / "model.json", "doc": tmp_path / "estimates.md", "json": tmp_path / "estimates.json"}
    assert bench.main(["--measured", str(measured), "--model-out", str(out["model"]), "--doc", str(out["doc"]),
                       "--json", str(out["json"])]) == 0
    model = RetentionEstimator.load(out["model"])
    report = json.loads(out["json"].read_text())
    evaluation = report["evaluation"]
    assert model.training["cases"] == 36 and evaluation["n"] == 36 and len(evaluation["pairs"]) == 12
    assert model.training["evaluation"]["mae"] == evaluation["mae"]
    text = out["doc"].read_text()
    assert "## Leave one pair out" in text and f"| mean absolute error | {evaluation['mae']:.3f} |" in text
    assert f"| coverage of the 90% interval | {evaluation['coverage']:.3f} |" in text
    assert "Approximation" not in text  # every case carried its dimensional loss
    variants = {(v["calibration"], v["select"]): v for v in report["variants"]}
    assert len(variants) == 4 and variants[("cross", True)]["mae"] == evaluation["mae"]
    assert "| split | all |" in text and report["noise_floor"] is None  # the synthetic cases carry no interval


def test_the_shipped_estimator_loads_without_torch() -> None:
    code = ("import sys; from alignment_plugins.compatibility import CompatibilityChecker; "
            "from alignment_plugins.multihop import MultiHopAligner; "
            "from alignment_plugins.estimator import default_estimator; default_estimator(); "
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    env = {**os.environ, "PYTHONPATH": str(BENCH.parents[1])}
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          check=True).stdout.strip() == "[]"
    model = default_estimator()
    assert model.features == FEATURES and model.training["cases"] > 0
    assert 0.0 <= model.predict({"semantic_preservation": 0.8}).retention <= 1.0
