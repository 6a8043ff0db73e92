"""WMatrixMonitor on tiny models: no alarm on the same models, detection of real change, the statistics' stated
false-alarm rate, recalibration to a new version, the check command and the drift benchmark end to end."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alignment_plugins.anchors import load_builtin
from alignment_plugins.drift_stats import fresh_anchors, metric_deltas, paired_probe_test, sign_flip_p_value
from alignment_plugins.monitor import KEEP, RECALIBRATE, RETRAIN, WMatrixMonitor
from alignment_plugins.wmatrix import WMatrix

pytestmark = pytest.mark.usefixtures("one_torch_thread")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def matrix(tiny_model: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny llama -> qwen2 matrix (120 anchors) saved to a file."""
    from alignment_plugins.trainer import WMatrixTrainer

    trainer = WMatrixTrainer(str(tiny_model("llama")), str(tiny_model("qwen2")), seed=1,
                             anchors=load_builtin().sample(120, seed=7))
    wm = trainer.configure(layers="all", pairing="mean", contrastive_weight=0, layer_pairs="grid").train(
        validation_split=0.15, test_split=0.25)
    assert min(wm.headline_pair) >= 2  # a pair the perturbed blocks act on
    return wm.save(tmp_path_factory.mktemp("monitor") / "tiny.wmatrix")


@pytest.fixture(scope="module")
def bench() -> Any:
    spec = importlib.util.spec_from_file_location("drift_bench", ROOT / "bench" / "drift_bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_file_keeps_a_probe_of_held_out_anchors(matrix: Path) -> None:
    wm = WMatrix.load(matrix)
    assert wm.version == 1 and wm.parent == "" and wm.probe["pair"] == list(wm.headline_pair)
    m = len(wm.probe["texts"])
    assert m == wm.anchors["counts"]["test"] == 27 and wm.probe_states["target"].shape == (m, 32)
    assert not set(wm.probe["texts"]) & set(load_builtin().sample(120, seed=7).split(0.4, seed=1)[0].texts)


def test_the_same_models_raise_no_alarm(matrix: Path) -> None:
    status = WMatrixMonitor(seed=11).check(str(matrix))
    wm = WMatrix.load(matrix)
    assert status.drift_detected is False and status.recommendation == KEEP
    assert status.version == 1 and status.last_validated == wm.created_at and status.pair == wm.headline_pair
    assert [f["changed"] for f in status.fingerprints] == [False, False]
    assert status.paired_test.p_value > 0.5 and status.paired_test.shift["target"] < 1e-5
    assert abs(status.paired_test.mean_drop) < 1e-5
    assert status.anchors["count"] == 27 and 0.0 <= status.accuracy <= 1.0
    deltas = {d.metric: d for d in status.deltas}
    sp = deltas["semantic_preservation"]
    assert sp.recorded == wm.metrics["semantic_preservation"] and sp.ci_low <= sp.delta <= sp.ci_high
    body = json.loads(json.dumps(status.to_dict()))
    assert body["recommendation"] == "keep" and body["pair_key"] == "{}->{}".format(*wm.headline_pair)
    assert "no drift detected" in status.reason and status.false_alarm_rate == 0.01


def test_perturbed_weights_are_detected_and_a_recalibration_answers_them(
    matrix: Path, bench: Any, tmp_path: Path
) -> None:
    from alignment_plugins.recalibration import recalibrate

    wm = WMatrix.load(matrix)
    changed = bench.perturbed(Path(wm.target["origin"]["location"]), tmp_path / "perturbed", 2, 0.5, seed=0)
    status = WMatrixMonitor(target_model=str(changed), seed=3).check(wm)
    assert status.drift_detected and status.fingerprint_changed
    assert status.paired_test.shifted and status.paired_test.shift["target"] > 1e-2
    assert status.recommendation in (KEEP, RECALIBRATE, RETRAIN)
    assert ("quality dropped" in status.reason) == (status.recommendation != KEEP)
    new = recalibrate(wm, target_model=str(changed), num_anchors=150, epochs=3, seed=2)
    assert new.version == 2 and new.parent.startswith("sha256:") and new.target["fingerprint"] != wm.target[
        "fingerprint"]
    assert new.training["recalibration"]["from_version"] == 1 and set(new.pair_metrics) == set(wm.pair_metrics)
    path = new.save(tmp_path / "v2.wmatrix")
    again = WMatrixMonitor(target_model=str(changed), seed=4).check(path)
    assert again.version == 2 and not again.paired_test.shifted and again.recommendation == KEEP


def test_a_fine_tuned_checkpoint_is_probed_before_estimating(matrix: Path, bench: Any, tmp_path: Path) -> None:
    from test_estimator import synthetic_cases

    from alignment_plugins.compatibility import CompatibilityChecker
    from alignment_plugins.estimator import RetentionEstimator

    wm = WMatrix.load(matrix)
    estimator = RetentionEstimator.fit(synthetic_cases(8, 3), select=False, calibration="split")
    checker = CompatibilityChecker([wm], estimator=estimator)
    listing = {"source_model": wm.source["name"], "layer": wm.headline_pair[0], "capability": "x"}
    changed = bench.perturbed(Path(wm.target["origin"]["location"]), tmp_path / "ft", 2, 0.5, seed=0)
    result = checker.estimate(listing, wm.target["name"], {"custom_fine_tune": str(changed)})
    drift = result.fine_tune["drift"]
    assert result.fine_tune["status"] == "different" and result.interval == "conformal_wide"
    assert drift["ran"] and drift["drift_detected"] and drift["recommendation"] in (KEEP, RECALIBRATE, RETRAIN)
    assert isinstance(drift["semantic_preservation"], float)
    assert "a drift probe of the W-Matrix on it detected drift" in result.reasons[0]
    assert "drift probe" in result.recommendation
    # a checkpoint that is not a model: the estimate still answers and says the probe could not run
    junk = tmp_path / "junk"
    junk.mkdir()
    from safetensors.numpy import save_file

    save_file({"w": np.ones(3, dtype=np.float32)}, str(junk / "model.safetensors"))
    failed = checker.estimate(listing, wm.target["name"], {"custom_fine_tune": str(junk)})
    assert failed.fine_tune["drift"]["ran"] is False and "could not run" in failed.reasons[0]
    quiet = CompatibilityChecker([wm], estimator=estimator, drift_probe=False)
    assert "drift" not in quiet.estimate(listing, wm.target["name"], {"custom_fine_tune": str(changed)}).fine_tune


def test_a_model_of_another_hidden_size_means_retrain(matrix: Path, tiny_model: Callable[[str], Path],
                                                      tmp_path: Path) -> None:
    wm = WMatrix.load(matrix)
    wm.target = {**wm.target, "hidden_size": 48}  # the model found is no longer what the matrix maps
    status = WMatrixMonitor().check(wm)
    assert status.drift_detected and status.recommendation == RETRAIN and "cannot be applied" in status.reason


def test_check_command_exit_codes(matrix: Path, capsys: pytest.CaptureFixture) -> None:
    from alignment_plugins import __main__ as cli

    assert cli.main(["check", str(matrix), "--seed", "5", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["drift_detected"] is False and body["paired_test"]["n"] == 27


# ---------------------------------------------------------------------------------------------- statistics
def test_sign_flip_p_values() -> None:
    assert sign_flip_p_value(np.zeros(30), 999, seed=0) == 1.0  # nothing changed: the largest p-value
    assert sign_flip_p_value(np.full(30, 0.01), 999, seed=0) == pytest.approx(1 / 1000)  # every text got worse
    assert sign_flip_p_value(np.full(30, -0.01), 999, seed=0) == 1.0  # every text got better: one-sided


def test_the_paired_test_keeps_its_false_alarm_rate() -> None:
    rng = np.random.default_rng(0)
    alarms = [sign_flip_p_value(rng.normal(size=32), 199, seed=k) < 0.05 for k in range(400)]
    rate = float(np.mean(alarms))  # expected 0.05: 95% binomial band of 400 draws is about 0.03..0.07
    assert 0.025 <= rate <= 0.08


def test_metric_deltas_on_planted_rows() -> None:
    rng = np.random.default_rng(1)
    rows = {"cos": rng.uniform(0.6, 0.8, 200), "top1": (rng.uniform(size=200) < 0.5).astype(float),
            "sse": np.full(200, 1.0), "sst": np.full(200, 10.0)}
    recorded = {"semantic_preservation": 0.7, "semantic_preservation_ci_low": 0.69,
                "semantic_preservation_ci_high": 0.71, "accuracy": 0.5, "n": 200, "reconstruction_error": 0.1}
    deltas, upper = metric_deltas(rows, recorded, alpha=0.01, resamples=500, seed=0)
    by = {d.metric: d for d in deltas}
    assert by["reconstruction_error"].delta == pytest.approx(0.0) and by["reconstruction_error"].ci_low <= 0
    assert by["semantic_preservation"].ci_low < 0 < by["semantic_preservation"].ci_high and upper > 0
    dropped = {**rows, "cos": rows["cos"] - 0.2}
    by_drop, upper_drop = metric_deltas(dropped, recorded, alpha=0.01, resamples=500, seed=0)
    assert upper_drop < 0 and by_drop[0].delta == pytest.approx(by["semantic_preservation"].delta - 0.2)


def test_paired_probe_test_on_planted_states() -> None:
    from alignment_plugins.solvers import RidgeSolver

    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 6))
    y = x @ rng.normal(size=(6, 5)) + 0.1 * rng.normal(size=(300, 5))
    linear = RidgeSolver(regularization=1e-3).fit_arrays(x, y)
    recorded = {"source": x[:32], "target": y[:32]}
    same = paired_probe_test(linear, recorded, recorded, alpha=0.01, shift_tolerance=1e-3, resamples=999, seed=0)
    assert not same.rejected and not same.shifted and same.mean_drop == 0.0
    # float32 rounding of the same model's states (other batch shapes) is a tie, whatever the day's seed
    rounded = {side: (v.astype(np.float32) * (1 + 1e-7 * rng.standard_normal(v.shape))).astype(np.float32)
               for side, v in recorded.items()}
    for seed in range(20):
        again = paired_probe_test(linear, recorded, rounded, alpha=0.01, shift_tolerance=1e-3, resamples=999,
                                  seed=seed)
        assert again.p_value == 1.0 and not again.rejected and not again.shifted
    noisy = {"source": x[:32], "target": y[:32] + rng.normal(size=(32, 5))}
    moved = paired_probe_test(linear, recorded, noisy, alpha=0.01, shift_tolerance=1e-3, resamples=999, seed=0)
    assert moved.rejected and moved.shifted and moved.mean_drop > 0.05 and moved.shift["source"] == 0.0


def test_fresh_anchors_exclude_the_training_sample_and_keep_its_domains() -> None:
    corpus = load_builtin()
    training = corpus.filter(["code", "mathematics"]).sample(200, seed=3)
    meta = {"name": training.name, "hash": training.content_hash, "seed": 3, "domains": training.counts(),
            "counts": {"train": 160, "validation": 20, "test": 20}}
    fresh = fresh_anchors(meta, 50, seed=9)
    assert len(fresh) == 50 and set(fresh.domains) <= {"code", "mathematics"}
    assert not set(fresh.texts) & set(training.texts) and fresh == fresh_anchors(meta, 50, seed=9)


# ------------------------------------------------------------------------------------------------ bench
def test_drift_bench_end_to_end_on_tiny_models(matrix: Path, bench: Any, tmp_path: Path) -> None:
    out = tmp_path / "drift.md"
    assert bench.main(["--wmatrix", str(matrix), "--checks", "1", "--work", str(tmp_path / "work"),
                       "--finetune-steps", "3", "--finetune-lr", "1e-2", "--perturb-scale", "0.5",
                       "--out", str(out)]) == 0
    results = json.loads(out.with_suffix(".json").read_text())
    by = {row["variant"]: row for row in results["rows"]}
    assert set(by) == set(bench.VARIANTS)
    assert by["same"]["drift_detected"] is False and by["same"]["fingerprint_changed"] is False
    for variant in ("finetuned", "requantized", "perturbed"):
        assert by[variant]["fingerprint_changed"] is True
    assert by["perturbed"]["drift_detected"] and by["finetuned"]["drift_detected"]
    page = out.read_text()
    assert "| same | 0 / 1 |" in page and "False alarms: 0 of 1 checks" in page
    assert "## Variants" in page and "round-tripped through GGML Q4_0" in page
    assert "the paired probe test alone (no fingerprint, no shift) rejected in" in page
    # The page re-renders from the raw results alone (no model runs), word for word.
    again = tmp_path / "again.md"
    assert bench.main(["--from-json", str(out.with_suffix(".json")), "--out", str(again),
                       "--source", "no-such-model"]) == 0
    assert again.read_text() == page
