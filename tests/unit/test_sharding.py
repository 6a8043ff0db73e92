"""Sharded training (alignment_plugins.sharding): shards merged into one fit equal the single-process fit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sharding_checks import TOLERANCE, largest_difference

from alignment_plugins.anchors import AnchorSet, load_builtin
from alignment_plugins.sharding import ShardedTraining, ShardMissing, shard_bounds
from alignment_plugins.trainer import WMatrixTrainer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def anchors() -> AnchorSet:
    return load_builtin().sample(200, seed=7)


def _trainer(tiny_model: Callable[[str], Path], anchors: AnchorSet, **configure: object) -> WMatrixTrainer:
    trainer = WMatrixTrainer(str(tiny_model("llama")), str(tiny_model("gemma3")), anchors=anchors, seed=3)
    return trainer.configure(layers="all", optimization="ridge", **configure)


def test_shard_bounds_are_contiguous_and_aligned() -> None:
    assert shard_bounds(10, 3) == [(0, 4), (4, 7), (7, 10)]
    assert shard_bounds(100, 2, align=32) == [(0, 64), (64, 100)]
    assert shard_bounds(20, 4, align=32) == [(0, 20)]  # one batch: one shard, never an empty one
    with pytest.raises(ValueError, match="num_shards"):
        shard_bounds(10, 0)


@pytest.mark.parametrize("pairing", ["tokens", "both"])
def test_sharded_fit_equals_the_single_process_fit(tiny_model: Callable[[str], Path], anchors: AnchorSet,
                                                   pairing: str) -> None:
    single = _trainer(tiny_model, anchors, pairing=pairing).train(validation_split=0.15, test_split=0.15)
    sharded = ShardedTraining(_trainer(tiny_model, anchors, pairing=pairing), 3, 0.15, 0.15)
    assert sharded.num_shards == 3 and len(sharded.text_bounds) == 3  # 140 training texts: 64 + 64 + 12
    fitted = sharded.run_locally()
    assert largest_difference(single, fitted) <= TOLERANCE
    assert fitted.anchors["token_pairs"] > 0


def test_the_merge_refuses_shards_it_cannot_find(tiny_model: Callable[[str], Path], anchors: AnchorSet,
                                                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIGNMENT_CACHE_DIR", str(tmp_path / "empty-cache"))  # another worker's unshared disk
    sharded = ShardedTraining(_trainer(tiny_model, anchors), 2, 0.15, 0.15)
    with pytest.raises(ShardMissing, match="anchor shard 0"):
        sharded.layer_pairs()
    with pytest.raises(ValueError, match="cache=True"):
        ShardedTraining(WMatrixTrainer(str(tiny_model("llama")), str(tiny_model("gemma3")), cache=False), 2)
