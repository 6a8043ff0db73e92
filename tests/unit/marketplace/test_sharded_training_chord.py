"""Sharded training as a Celery canvas (eager): the chord of shard tasks equals the single-process fit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sharding_checks import TOLERANCE, largest_difference

from alignment_plugins.trainer import WMatrixTrainer
from alignment_plugins.wmatrix import WMatrix
from marketplace.alignment import sharded_training, tasks  # noqa: F401  (registers the tasks the canvas names)
from marketplace.alignment.models import TaskRun
from marketplace.celery import TaskName

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("one_torch_thread")]


def test_the_chord_of_shards_fits_the_single_process_matrix(tiny_model: Callable[[str], Path], tmp_path: Path,
                                                            settings: Any) -> None:
    assert settings.CELERY_TASK_ALWAYS_EAGER
    source, target = str(tiny_model("llama")), str(tiny_model("qwen2"))
    spec = sharded_training.training_spec(source, target, out=tmp_path / "sharded.wmatrix", shards=2,
                                          num_anchors=160, seed=4, validation_split=0.15, test_split=0.15)
    canvas = sharded_training.training_signature(spec)
    assert [t.name for t in canvas.tasks] == [TaskName.EXTRACT_ANCHOR_SHARD] * 2
    assert canvas.body.name == TaskName.PLAN_TOKEN_SHARDS

    result = canvas.apply_async().get()

    assert result["out"] == str(tmp_path / "sharded.wmatrix") and result["shards"] == 2
    assert [r["shard"] for r in result["token_shards"]] == [0, 1]  # 112 training texts: 64 + 48
    fitted = WMatrix.load(result["out"])
    single = WMatrixTrainer(source, target, seed=4).configure(num_anchors=160, layers="all", optimization="ridge")
    assert largest_difference(single.train(validation_split=0.15, test_split=0.15), fitted) <= TOLERANCE
    keys = set(TaskRun.objects.filter(idempotency_key__startswith=f"sharded:{spec['run']}:")
               .values_list("idempotency_key", flat=True))
    assert keys == {f"sharded:{spec['run']}:{step}" for step in
                    ("extract:0", "extract:1", "plan", "tokens:0", "tokens:1", "fit")}


def test_a_spec_needs_a_positive_shard_count(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="shards"):
        sharded_training.training_spec("a", "b", out=tmp_path / "x.wmatrix", shards=0)
