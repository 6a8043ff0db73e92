"""WMatrixTrainer end to end on tiny random models: phases, splits, layer map, file, CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from alignment_plugins.anchors import Anchor, AnchorSet, load_builtin
from alignment_plugins.trainer import WMatrixTrainer
from alignment_plugins.wmatrix import WMatrix


@pytest.fixture(scope="module")
def anchors() -> AnchorSet:
    return load_builtin().sample(120, seed=5)


def test_train_tiny_llama_to_gemma3(tiny_model: Callable[[str], Path], anchors: AnchorSet, tmp_path: Path) -> None:
    trainer = WMatrixTrainer(str(tiny_model("llama")), str(tiny_model("gemma3")), anchors=anchors, seed=1)
    trainer.configure(layers="all", optimization="ridge", regularization=1e-2)
    wm = trainer.train(epochs=0, validation_split=0.15, test_split=0.15)
    counts = wm.anchors["counts"]
    assert counts["train"] + counts["validation"] + counts["test"] == 120
    assert counts["validation"] >= 10 and counts["test"] >= 10
    assert wm.anchors["hash"] == anchors.content_hash
    # one map per source layer (0..3), target layers non-decreasing along the map
    assert [i for i, _ in wm.layer_map] == [0, 1, 2, 3]
    targets = [j for _, j in wm.layer_map]
    assert targets == sorted(targets)
    assert set(wm.maps) == set(wm.layer_map)
    assert wm.cka.shape == (4, 4)
    assert wm.best_pair in wm.maps
    for key, values in wm.pair_metrics.items():
        assert 0.0 <= values["accuracy"] <= 1.0, key
        assert values["semantic_preservation_ci_low"] <= values["semantic_preservation"]
        assert values["n"] == counts["test"]
    # the best pair was chosen on validation, its reported metrics are test metrics
    assert set(wm.training["validation_metrics"]) == set(wm.pair_metrics)
    path = wm.save(tmp_path / "tiny.wmatrix")
    loaded = WMatrix.load(path)
    x = np.random.default_rng(0).normal(size=(3, 32)).astype(np.float32)
    np.testing.assert_allclose(loaded.transform(x, layer=2), wm.transform(x, layer=2), atol=1e-5)


def test_a_sentence_encoder_gets_its_last_layers_pair_reported(
    tiny_model: Callable[[str], Path], anchors: AnchorSet, tmp_path: Path
) -> None:
    trainer = WMatrixTrainer(str(tiny_model("llama")), str(tiny_model("bert")), anchors=anchors, seed=1)
    wm = trainer.configure(layers="all", pairing="mean").train(validation_split=0.15, test_split=0.15)
    last_s, last_t = wm.source["num_layers"], wm.target["num_layers"]
    assert wm.embedding_pair == (last_s, last_t) and wm.embedding_pair in wm.maps
    assert "accuracy" in wm.pair_metrics[f"{last_s}->{last_t}"]
    loaded = WMatrix.load(wm.save(tmp_path / "to-encoder.wmatrix"))
    assert loaded.embedding_pair == wm.embedding_pair
    assert loaded.report()["embedding"]["pair"] == [last_s, last_t]
    decoders = WMatrixTrainer(str(tiny_model("llama")), str(tiny_model("qwen2")), anchors=anchors)
    assert decoders.configure(layers=[1, 2], pairing="mean").train(validation_split=0.15,
                                                                   test_split=0.15).embedding_pair is None


def test_contrastive_anchor_rows_join_the_fit_with_their_weight(
    tiny_model: Callable[[str], Path], anchors: AnchorSet
) -> None:
    from alignment_plugins.anchors.contrastive import contrastive_hash, contrastive_texts
    from alignment_plugins.contrastive_rows import contrastive_layer_states, with_contrastive_rows
    from alignment_plugins.solvers import CrossStats

    def train(weight: float) -> WMatrix:
        trainer = WMatrixTrainer(str(tiny_model("llama")), str(tiny_model("qwen2")), anchors=anchors, seed=2)
        return trainer.configure(layers=[2], pairing="mean", contrastive_weight=weight).train(
            validation_split=0.15, test_split=0.15)

    off, on = train(0.0), train(3.0)
    assert off.anchors["contrastive"] == {"weight": 0.0}
    assert on.anchors["contrastive"] == {"weight": 3.0, "texts": len(contrastive_texts()), "hash": contrastive_hash()}
    (pair, fitted), = on.maps.items()
    assert pair == next(iter(off.maps))
    # the same fit by hand: the training anchors' pooled pairs, then the contrastive rows counting 3x as much
    from alignment_plugins.extraction import extract
    from alignment_plugins.manager import get_plugin_manager
    from alignment_plugins.models import load_model

    src, tgt = load_model(str(tiny_model("llama"))), load_model(str(tiny_model("qwen2")))
    train_rows = WMatrixTrainer(src, tgt, anchors=anchors, seed=2).prepare_anchors(0.15, 0.15)[1]
    base = CrossStats.from_arrays_xy(extract(src, train_rows, [pair[0]])[pair[0]],
                                     extract(tgt, train_rows, [pair[1]])[pair[1]])
    merged = with_contrastive_rows(base, contrastive_layer_states(src, [pair[0]])[pair[0]],
                                   contrastive_layer_states(tgt, [pair[1]])[pair[1]], 3.0)
    assert merged.n == base.n * 4
    again = get_plugin_manager().get_solver("ridge").fit(merged)  # the trainer's solver, its default λ
    np.testing.assert_allclose(again.weight, fitted.weight, rtol=1e-5, atol=1e-6)
    assert not np.allclose(off.maps[pair].weight, fitted.weight)
    with pytest.raises(ValueError, match="contrastive_weight"):
        WMatrixTrainer(str(tiny_model("llama")), str(tiny_model("qwen2"))).configure(contrastive_weight=-1)


def test_second_training_reuses_the_activation_cache(tiny_model: Callable[[str], Path], anchors: AnchorSet) -> None:
    for _ in range(2):
        trainer = WMatrixTrainer(str(tiny_model("llama")), str(tiny_model("qwen2")), anchors=anchors)
        wm = trainer.configure(layers=[1, 2], optimization="svd").train(validation_split=0.15, test_split=0.15)
    extraction = wm.training["extraction"]
    assert extraction["source_cached_layers"] == 2 and extraction["target_cached_layers"] == 4
    assert [i for i, _ in wm.layer_map] == [1, 2]


@pytest.mark.parametrize("method", ["svd", "ridge", "cca", "lowrank"])
def test_every_builtin_solver_trains(tiny_model: Callable[[str], Path], anchors: AnchorSet, method: str) -> None:
    trainer = WMatrixTrainer(str(tiny_model("llama")), str(tiny_model("mistral")), anchors=anchors)
    wm = trainer.configure(layers=[2], optimization=method, cka="debiased").train(validation_split=0.15,
                                                                                  test_split=0.15)
    assert wm.method == method and len(wm.maps) == 1
    assert wm.hyperparams["cka"] == "debiased"


def test_gradient_calibration_is_early_stopped_and_recorded(tiny_model: Callable[[str], Path],
                                                             anchors: AnchorSet) -> None:
    trainer = WMatrixTrainer(str(tiny_model("llama")), str(tiny_model("gemma3")), anchors=anchors)
    wm = trainer.configure(layers=[3], optimization="lowrank", rank=4).train(
        epochs=30, validation_split=0.15, test_split=0.15, early_stopping_patience=2, learning_rate=1e-2)
    history = next(iter(wm.training["calibration"].values()))
    assert 1 <= history["epochs_run"] <= 30
    assert history["best_validation_loss"] <= history["initial_validation_loss"]
    assert len(history["validation_loss"]) == history["epochs_run"]


def test_configuration_errors_are_clear(tiny_model: Callable[[str], Path]) -> None:
    trainer = WMatrixTrainer(str(tiny_model("llama")), str(tiny_model("gemma3")))
    with pytest.raises(ValueError, match="unknown optimization method 'magic'"):
        trainer.configure(optimization="magic")
    with pytest.raises(ValueError, match="at least 20"):
        trainer.configure(num_anchors=5)
    few = AnchorSet([Anchor(text=f"short text number {i}", domain="d") for i in range(25)])
    small = WMatrixTrainer(str(tiny_model("llama")), str(tiny_model("gemma3")), anchors=few)
    with pytest.raises(ValueError, match="too few anchors"):
        small.configure().train(validation_split=0.1, test_split=0.1)
    with pytest.raises(ValueError, match="out of range"):
        WMatrixTrainer(str(tiny_model("llama")), str(tiny_model("gemma3")), anchors=load_builtin().sample(80)) \
            .configure(layers=[9]).train(validation_split=0.15, test_split=0.15)


def test_cli_train_inspect_and_report(tiny_model: Callable[[str], Path], anchors: AnchorSet, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    from alignment_plugins.__main__ import main

    anchors_file = tmp_path / "a.jsonl"
    anchors_file.write_text("".join(json.dumps({"text": a.text, "domain": a.domain}) + "\n" for a in anchors))
    out, report = tmp_path / "m.wmatrix", tmp_path / "r.json"
    code = main(["train", "--source", str(tiny_model("llama")), "--target", str(tiny_model("qwen2")),
                 "--anchors-file", str(anchors_file), "--validation-split", "0.3", "--out", str(out),
                 "--report", str(report), "--quiet"])
    assert code == 0
    data = json.loads(report.read_text())
    assert data["best"]["pair"] and Path(data["cka_heatmap"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "held-out test metrics" in capsys.readouterr().out
    assert main(["inspect", str(out)]) == 0
    assert main(["train", "--source", "no-such-model", "--target", "gemma3-270m", "--out", str(out)]) == 2
    assert "unknown model 'no-such-model'" in capsys.readouterr().err


def test_cli_train_contrastive_weight(tiny_model: Callable[[str], Path], anchors: AnchorSet, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    """--contrastive-weight reaches the trainer (0: no contrastive rows, recorded in the file); bad values exit 2."""
    from alignment_plugins.__main__ import main
    from alignment_plugins.wmatrix import WMatrix

    anchors_file = tmp_path / "a.jsonl"
    anchors_file.write_text("".join(json.dumps({"text": a.text, "domain": a.domain}) + "\n" for a in anchors))
    out = tmp_path / "m.wmatrix"
    assert main(["train", "--source", str(tiny_model("llama")), "--target", str(tiny_model("qwen2")),
                 "--anchors-file", str(anchors_file), "--layers", "2", "--pairing", "mean",
                 "--contrastive-weight", "0", "--out", str(out), "--quiet"]) == 0
    wm = WMatrix.load(out)
    assert wm.hyperparams["contrastive_weight"] == 0.0 and wm.anchors["contrastive"] == {"weight": 0.0}
    for bad in ("-1", "nan", "inf", "many"):
        with pytest.raises(SystemExit) as exit_info:
            main(["train", "--source", "a", "--target", "b", "--out", str(out), "--contrastive-weight", bad])
        assert exit_info.value.code == 2
        assert "--contrastive-weight must be a finite number >= 0" in capsys.readouterr().err


def test_auto_regularization_picks_per_pair_on_validation(tiny_model: Callable[[str], Path],
                                                           anchors: AnchorSet) -> None:
    from alignment_plugins.trainer import AUTO_REGULARIZATION_GRID

    trainer = WMatrixTrainer(str(tiny_model("llama")), str(tiny_model("gemma3")), anchors=anchors)
    wm = trainer.configure(layers=[1, 3], optimization="ridge", regularization="auto").train(
        validation_split=0.15, test_split=0.15)
    assert wm.hyperparams["regularization"] == "auto"
    for linear in wm.maps.values():
        assert linear.hyperparams["regularization"] in AUTO_REGULARIZATION_GRID
    with pytest.raises(ValueError, match="regularized solver"):
        trainer.configure(optimization="svd", regularization="auto")


def test_split_fractions_are_explicit(tiny_model: Callable[[str], Path], anchors: AnchorSet) -> None:
    import warnings

    from alignment_plugins.trainer import split_fractions

    assert split_fractions(None, None) == (0.1, 0.1)
    assert split_fractions(0.2, 0.3) == (0.2, 0.3)
    assert split_fractions(None, 0.25) == (0.1, 0.25)
    with pytest.warns(DeprecationWarning, match="shared evenly"):
        assert split_fractions(0.2, None) == (0.1, 0.1)  # the older form: the whole held-out fraction
    for bad in ((0.0, 0.1), (0.1, 1.0), (0.6, 0.5), (True, 0.1)):
        with pytest.raises(ValueError, match=r"validation_split|test_split"):
            split_fractions(*bad)
    trainer = WMatrixTrainer(str(tiny_model("llama")), str(tiny_model("gemma3")), anchors=anchors)
    _, train, validation, test = trainer.prepare_anchors(0.2, 0.3)
    sizes, expected = (len(train), len(validation), len(test)), (60, 24, 36)  # 120 anchors: 50 / 20 / 30 %
    assert sum(sizes) == 120 and all(abs(n - e) <= 5 for n, e in zip(sizes, expected, strict=True))  # per-domain
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        explicit = trainer.prepare_anchors(0.15, 0.15)
    with pytest.warns(DeprecationWarning):
        legacy = trainer.prepare_anchors(0.3)
    assert [[a.text for a in part] for part in explicit] == [[a.text for a in part] for part in legacy]


def test_solver_defaults_live_in_the_solvers(tiny_model: Callable[[str], Path]) -> None:
    from alignment_plugins.solvers import BUILTIN_SOLVERS

    trainer = WMatrixTrainer(str(tiny_model("llama")), str(tiny_model("gemma3")))
    for name, cls in BUILTIN_SOLVERS.items():
        assert trainer.configure(optimization=name).config["solver_hyperparams"] == cls.defaults
    assert trainer.configure(optimization="ridge", regularization=0.5).config["solver_hyperparams"] == {
        "regularization": 0.5}
    with pytest.raises(ValueError, match="regularization is not supported: 'svd' has no regularization"):
        trainer.configure(optimization="svd", regularization=1e-2)
    with pytest.raises(ValueError, match="non-negative"):
        trainer.configure(optimization="ridge", regularization=-1.0)
    with pytest.raises(TypeError, match="unknown hyperparameter"):
        trainer.configure(optimization="ridge", rank=3)


def test_cli_refuses_unsupported_regularization(tiny_model: Callable[[str], Path], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from alignment_plugins.__main__ import main

    args = ["train", "--source", str(tiny_model("llama")), "--target", str(tiny_model("qwen2")), "--out",
            str(tmp_path / "m.wmatrix")]
    assert main([*args, "--optimization", "svd", "--regularization", "0.01"]) == 2
    assert "regularization is not supported: 'svd'" in capsys.readouterr().err
    assert main([*args, "--validation-split", "0.6", "--test-split", "0.5"]) == 2
    assert "validation_split + test_split must be < 1" in capsys.readouterr().err
    assert not (tmp_path / "m.wmatrix").exists()
