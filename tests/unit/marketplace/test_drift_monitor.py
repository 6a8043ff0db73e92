"""The marketplace's drift path with real tiny models: check_drift runs WMatrixMonitor, a model changed in place is
caught, the recalibration task stores a new version that passes the next check."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from alignment_plugins.anchors import load_builtin

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("one_torch_thread")]


@pytest.fixture
def tiny_pair(tiny_model: Callable[[str], Path], tmp_path: Path, django_capture_on_commit_callbacks: Any,
              settings: Any) -> dict[str, Any]:
    """A tiny llama -> (a copy of) qwen2 matrix stored as v1, both architectures registered."""
    from alignment_plugins.trainer import WMatrixTrainer
    from marketplace.alignment.matrices import store_matrix
    from marketplace.catalog.models import Architecture

    settings.MEASURE_STITCHING_ON_NEW_MATRIX = False
    target = shutil.copytree(tiny_model("qwen2"), tmp_path / "qwen2")
    trainer = WMatrixTrainer(str(tiny_model("llama")), str(target), seed=1, cache=False,
                             anchors=load_builtin().sample(120, seed=7))
    wm = trainer.configure(layers="all", pairing="mean", contrastive_weight=0, layer_pairs="grid").train(
        validation_split=0.15, test_split=0.25)
    for name in ("llama", "qwen2"):
        Architecture.objects.create(name=name, family=name, hidden_size=32, num_layers=3,
                                    support_level=Architecture.Support.PARTIAL)
    with django_capture_on_commit_callbacks(execute=True):
        matrix = store_matrix(wm.save(tmp_path / "tiny.wmatrix"))
    return {"matrix": matrix, "target": target, "wm": wm}


def _perturb_in_place(folder: Path) -> None:
    """Replace the model's weights on disk by strongly perturbed ones (an update of the model behind the matrix)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("drift_bench", Path(__file__).resolve().parents[3] / "bench" /
                                                  "drift_bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    changed = bench.perturbed(folder, folder.parent / "changed", 3, 3.0, seed=0)
    shutil.copy2(changed / "model.safetensors", folder / "model.safetensors")  # no cache reset: load_model notices


def test_check_drift_runs_the_monitor_and_acts(tiny_pair: dict[str, Any], sent_tasks: list,
                                               django_capture_on_commit_callbacks: Any) -> None:
    from marketplace.alignment import tasks
    from marketplace.alignment.models import DriftCheck, WMatrix

    matrix = tiny_pair["matrix"]
    out = StringIO()
    call_command("check_drift", "--now", "--matrix", matrix.public_id, stdout=out)
    assert "ok, drift detected False, recommendation keep" in out.getvalue()
    check = DriftCheck.objects.get()
    assert check.result["paired_test"]["p_value"] > 0.5 and check.result["fingerprint_changed"] is False
    assert {d["metric"] for d in check.result["deltas"]} == {"semantic_preservation", "accuracy",
                                                              "reconstruction_error"}

    _perturb_in_place(tiny_pair["target"])
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("check_drift", "--now", "--matrix", matrix.public_id, stdout=out)
    check = DriftCheck.objects.order_by("-id").first()
    assert check.drift_detected and check.fingerprint_changed and check.result["paired_test"]["shifted"]
    assert check.recommendation in ("recalibrate", "retrain") and check.status == "drifted", out.getvalue()
    assert WMatrix.objects.get(pk=matrix.pk).status == "drifted"
    check.recommendation = "recalibrate"  # whichever it was: the recalibration path, for real
    check.save()
    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.recalibrate_matrix.apply(args=[check.id]).get()
    new = WMatrix.objects.get(public_id=result["matrix"])
    assert new.version == 2 and new.status == "active" and new.certificates.count() == 1
    assert new.target_fingerprint != matrix.target_fingerprint
    out = StringIO()
    call_command("check_drift", "--now", "--matrix", new.public_id, stdout=out)
    assert "ok, drift detected False" in out.getvalue()


def test_overrides_need_one_matrix_checked_now(tiny_pair: dict[str, Any]) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="need --now and --matrix"):
        call_command("check_drift", "--target-model", str(tiny_pair["target"]))
