"""Matrices fit on models given by path stay checkable: the file records where each model was found, and overrides
are checked against the recorded weight fingerprint."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from alignment_plugins import __main__ as cli
from alignment_plugins.anchors import load_builtin
from alignment_plugins.models import UnknownModelError
from alignment_plugins.provenance import FingerprintMismatch, load_recorded_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def trained(tiny_model: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A matrix from a tiny llama to a copy of the tiny bert in a directory of its own (as a user's encoder)."""
    from alignment_plugins.trainer import WMatrixTrainer

    root = tmp_path_factory.mktemp("provenance")
    encoder = shutil.copytree(tiny_model("bert"), root / "my-sentence-encoder")
    trainer = WMatrixTrainer(str(tiny_model("llama")), str(encoder), anchors=load_builtin().sample(60, seed=2),
                             cache=False)
    wm = trainer.configure(layers=[2, 3], pairing="mean", contrastive_weight=0).train(validation_split=0.2,
                                                                                      test_split=0.2)
    path = wm.save(root / "llama-to-encoder.wmatrix")
    anchors = root / "eval.jsonl"
    anchors.write_text("".join(json.dumps({"text": a.text, "domain": a.domain}) + "\n"
                               for a in load_builtin().sample(30, seed=9)))
    return {"root": root, "encoder": encoder, "path": path, "anchors": anchors, "wm": wm}


def test_the_file_records_where_each_model_was_found(trained: dict, tiny_model: Callable[[str], Path]) -> None:
    wm = trained["wm"]
    assert wm.target["name"] == "my-sentence-encoder"
    assert wm.target["origin"] == {"kind": "path", "location": str(trained["encoder"].resolve())}
    assert wm.source["origin"]["kind"] == "path" and wm.target["fingerprint"].startswith("sha256:")


def test_a_matrix_trained_from_a_local_directory_is_evaluated_afterwards(trained: dict, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture) -> None:
    report = tmp_path / "eval.json"
    assert cli.main(["evaluate", str(trained["path"]), "--anchors-file", str(trained["anchors"]), "--quiet",
                     "--report", str(report)]) == 0
    body = json.loads(report.read_text())
    assert body["target"] == "my-sentence-encoder" and body["anchors"]["count"] == 30
    assert body["fingerprints"]["target"]["changed"] is False and body["warnings"] == []
    assert "recommended pair" in capsys.readouterr().out


def test_a_moved_model_needs_an_override_checked_against_its_fingerprint(
    trained: dict, tiny_model: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    moved = tmp_path / "moved-encoder"
    shutil.move(trained["encoder"], moved)
    try:
        args = ["evaluate", str(trained["path"]), "--anchors-file", str(trained["anchors"]), "--quiet"]
        assert cli.main(args) == 2
        err = capsys.readouterr().err
        assert "target model 'my-sentence-encoder'" in err and "pass --target-model" in err
        assert cli.main([*args, "--target-model", str(moved)]) == 0
        other = str(tiny_model("roberta"))  # also hidden size 32, other weights
        assert cli.main([*args, "--target-model", other]) == 2
        assert "are not the ones the matrix was fit on" in capsys.readouterr().err
        report = tmp_path / "changed.json"
        assert cli.main([*args, "--target-model", other, "--allow-changed-weights", "--report", str(report)]) == 0
        body = json.loads(report.read_text())
        assert body["fingerprints"]["target"]["changed"] is True and "target weights differ" in body["warnings"][0]
    finally:
        shutil.move(moved, trained["encoder"])


def test_load_recorded_model_refuses_another_hidden_size_and_unknown_places(
    trained: dict, tiny_model: Callable[[str], Path]
) -> None:
    side = trained["wm"].target
    with pytest.raises(ValueError, match="has hidden size 32; the matrix maps 64"):
        load_recorded_model({**side, "hidden_size": 64}, role="target")
    with pytest.raises(FingerprintMismatch):
        load_recorded_model(side, str(tiny_model("roberta")), role="target")
    model, check = load_recorded_model(side, str(tiny_model("roberta")), role="target", allow_changed_weights=True)
    assert check.changed is True and check.to_dict()["current"] == model.fingerprint
    with pytest.raises(UnknownModelError, match="pass --source-model"):
        load_recorded_model({"name": "gone", "hidden_size": 32, "origin": {"kind": "path", "location": "/nope/x"}},
                            role="source")
