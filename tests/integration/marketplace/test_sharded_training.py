"""Sharded training on a real broker: two worker processes run the shard chord; the fit equals one process's.

The canvas (``marketplace.alignment.sharded_training``) is published to Redis or RabbitMQ; two ``--pool solo``
workers (``worker_pair``) share the anchor and text shards, the chord callbacks merge them through the shared engine
cache, and the matrix they write matches ``WMatrixTrainer.train()`` run here, on its own cache, to 1e-6.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from live_services import LiveWorker
from sharding_checks import TOLERANCE, largest_difference

from alignment_plugins.trainer import WMatrixTrainer
from alignment_plugins.wmatrix import WMatrix
from marketplace.alignment import sharded_training

pytestmark = pytest.mark.integration

SHARD_TASK = re.compile(r"Task alignment\.(extract_anchor_shard|token_stats_shard)\[[0-9a-f-]+\] succeeded")


def test_two_workers_fit_the_single_process_matrix(
    worker_pair: tuple[LiveWorker, LiveWorker], transactional_db: Any, tiny_model: Callable[[str], Path],
    shared_dirs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    source, target = str(tiny_model("llama")), str(tiny_model("qwen2"))
    out = shared_dirs["wmatrices"] / f"sharded-{worker_pair[0].broker}.wmatrix"
    spec = sharded_training.training_spec(source, target, out=out, shards=2, num_anchors=160, seed=4,
                                          validation_split=0.15, test_split=0.15)
    started = time.monotonic()
    result = sharded_training.training_signature(spec).apply_async().get(timeout=300)
    print(f"sharded run on {worker_pair[0].broker}: {time.monotonic() - started:.1f} s")

    assert result["out"] == str(out) and result["shards"] == 2
    for live in worker_pair:  # prefetch 1, acks late: each worker took shards
        assert SHARD_TASK.search(live.log()), live.log_tail()
    monkeypatch.setenv("ALIGNMENT_CACHE_DIR", str(tmp_path / "single-process-cache"))  # nothing shared with it
    single = WMatrixTrainer(source, target, seed=4).configure(num_anchors=160, layers="all", optimization="ridge")
    assert largest_difference(single.train(validation_split=0.15, test_split=0.15), WMatrix.load(out)) <= TOLERANCE
