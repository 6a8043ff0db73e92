"""Training scaled out over the Celery cluster: anchor shards on the gpu queue, merged exactly into one fit.

The work is a Celery canvas, not a scheduler of our own (``alignment_plugins.sharding`` is the engine side)::

    chord(group(extract_anchor_shard(spec, k) for k in shards),      # pooled states of each anchor shard
          plan_token_shards(spec))                                    # CKA on the merged states -> layer pairs,
        └─ replaced by chord(group(token_stats_shard(spec, k, pairs) for k in shards),  # token-pair statistics
                             fit_from_shards(spec, pairs))            # merge, WMatrixTrainer.train(), save

Every task runs on the gpu queue (each loads both models); shard results are files in the engine cache
(``ALIGNMENT_CACHE_DIR``, shared storage on a cluster) and the messages carry only the JSON `spec`, shard indices,
layer pairs and small summaries. A chord needs a result backend (``CELERY_RESULT_BACKEND``, e.g. Redis).
The `spec` is JSON: models by name (with optional locations, as alignment jobs give them), the anchor source, seed,
``configure()`` arguments, split fractions, the number of shards and where the fitted ``.wmatrix`` is written.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from celery import chord, group
from celery.canvas import Signature

from marketplace.celery import TaskName, app

#: The recipe of ``training.train_and_store``: all source layers, ridge, 80/10/10 split.
DEFAULT_CONFIGURE: dict[str, Any] = {"layers": "all", "optimization": "ridge"}


def training_spec(source: str, target: str, *, out: Path | str, shards: int, num_anchors: int | None = None,
                  anchors: str | None = None, seed: int = 0, configure: dict[str, Any] | None = None,
                  validation_split: float = 0.1, test_split: float = 0.1,
                  locations: dict[str, dict[str, Any]] | None = None, device: str | None = None) -> dict[str, Any]:
    """The JSON spec every task of a sharded run rebuilds its trainer from (a fresh run id names its TaskRuns)."""
    if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
        raise ValueError(f"shards must be a positive integer, got {shards!r}")
    return {"run": uuid.uuid4().hex, "source": source, "target": target, "locations": locations or {},
            "anchors": anchors, "num_anchors": num_anchors, "seed": seed,
            "configure": {**DEFAULT_CONFIGURE, **(configure or {})}, "validation_split": validation_split,
            "test_split": test_split, "shards": shards, "out": str(out), "device": device}


def sharded(spec: dict[str, Any], *, load: bool = True) -> Any:
    """The engine's ``ShardedTraining`` for `spec`; `load`: its models loaded on this worker's device (else only
    the anchors are sampled and cut into shards, which needs no model)."""
    from alignment_plugins.sharding import ShardedTraining
    from alignment_plugins.trainer import WMatrixTrainer
    from marketplace.alignment.training import best_device, load_located

    device = spec.get("device") or (best_device() if load else "cpu")
    if load:
        models = [load_located(spec[side], spec["locations"].get(side), device) for side in ("source", "target")]
    else:
        models = [spec["source"], spec["target"]]
    trainer = WMatrixTrainer(*models, anchors=spec["anchors"], seed=spec["seed"], device=device)
    trainer.configure(num_anchors=spec["num_anchors"], **spec["configure"])
    return ShardedTraining(trainer, spec["shards"], spec["validation_split"], spec["test_split"])


def extract_anchor_shard(spec: dict[str, Any], shard: int) -> dict[str, Any]:
    """Step 1 on a gpu worker: pooled states of anchor shard `shard` into the shared cache; a summary."""
    return sharded(spec).extract_shard(shard)


def layer_pairs(spec: dict[str, Any]) -> list[list[int]]:
    """Step 2: the layer pairs the fit needs, from the merged shard states (JSON lists)."""
    return [list(pair) for pair in sharded(spec).layer_pairs()]


def token_stats_shard(spec: dict[str, Any], shard: int, pairs: list[list[int]]) -> dict[str, Any]:
    """Step 3 on a gpu worker: token-pair statistics of training-text shard `shard` into the shared cache."""
    return sharded(spec).token_stats_shard(shard, pairs)


def fit_from_shards(spec: dict[str, Any]) -> dict[str, Any]:
    """Step 4: merge the shards, fit with ``WMatrixTrainer.train()``, write spec["out"]; a summary."""
    run = sharded(spec)
    matrix = run.fit()
    path = Path(spec["out"])
    path.parent.mkdir(parents=True, exist_ok=True)
    matrix.save(path)
    return {"out": str(path), "shards": run.num_shards, "pairs": len(matrix.maps),
            "recommended_pair": list(matrix.recommended_pair), "token_pairs": matrix.anchors["token_pairs"]}


def token_pass(spec: dict[str, Any], pairs: list[list[int]]) -> Signature:
    """The second chord: token statistics of every training-text shard, then the merge-and-fit."""
    shards = range(len(sharded(spec, load=False).text_bounds))
    return chord(group(app.signature(TaskName.TOKEN_STATS_SHARD.value, args=(spec, k, pairs)) for k in shards),
                 app.signature(TaskName.FIT_FROM_SHARDS.value, args=(spec,)))


def training_signature(spec: dict[str, Any]) -> Signature:
    """The whole run as one canvas: the anchor-shard chord whose callback continues with ``token_pass``."""
    shards = range(sharded(spec, load=False).num_shards)
    return chord(group(app.signature(TaskName.EXTRACT_ANCHOR_SHARD.value, args=(spec, k)) for k in shards),
                 app.signature(TaskName.PLAN_TOKEN_SHARDS.value, args=(spec,)))
