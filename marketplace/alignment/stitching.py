"""Functional quality of a stored W-Matrix on its real models: task transfer, stitching, head mapping.

Runs on the gpu queue (it loads both models); the result is recorded in ``WMatrix.extra_metrics["stitching"]``
and a new certificate that includes it is issued. Models the engine cannot load (metadata-only rows, unknown
names) are skipped with the reason recorded, never failed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alignment_plugins import models as engine_models
from marketplace.alignment.certificates import record_extra_metrics
from marketplace.alignment.drift import drift_anchors
from marketplace.alignment.matrix_files import load_engine_matrix
from marketplace.alignment.models import WMatrix

log = logging.getLogger(__name__)

STITCHING_TEXTS = 32  # evaluation texts; as many again train the task-transfer probe (Gemma-3's 262k-token
# vocabulary makes the stitched loss and its backward pass the costly part: ~1 GB of logits per 32 texts)


def runnable(name: str) -> tuple[bool, str]:
    """Whether the engine can load model `name`, and why not (no torch import for names it cannot know)."""
    spec = engine_models.known_models().get(name)
    if spec is not None and not spec.runnable:
        return False, f"{name} is metadata only"
    if spec is None and "/" not in name and not Path(name).exists():  # neither packaged, a path, nor a hub id
        return False, f"unknown model {name!r}: not a packaged model, a local path or a hub id"
    try:
        info = engine_models.model_info(name)
    except engine_models.UnknownModelError as exc:
        return False, str(exc)
    except Exception as exc:  # a broken local path or config: report, don't crash the worker
        return False, f"{type(exc).__name__}: {exc}"
    return (True, "") if info.runnable else (False, f"{name} is metadata only")


def measure_stitching(matrix: WMatrix, *, num_texts: int = STITCHING_TEXTS, device: str = "cpu") -> dict[str, Any]:
    """Measure ``alignment_plugins.stitching.certificate_metrics`` on anchors the matrix was not fit on; record it.

    Texts: a fresh, seeded sample of 2·num_texts built-in anchors excluding the matrix's training sample (the drift
    sampler); labels = anchor domains (task transfer: even-indexed anchors train the probe, odd ones evaluate).
    Returns the recorded metrics, or {"not_measured": reason} when a model cannot run here.
    """
    for model in (matrix.source, matrix.target):
        ok, reason = runnable(model.name)
        if not ok:
            log.info("stitching metrics of %s skipped: %s", matrix.public_id, reason)
            return {"not_measured": reason}
    # Model-running engine code (it runs both models): imported on the GPU path only.
    from alignment_plugins.stitching import certificate_metrics

    anchors = drift_anchors(matrix, num_anchors=2 * num_texts)
    texts, labels = anchors.texts, anchors.domains  # sampled grouped by domain: interleave the two halves
    engine = load_engine_matrix(matrix)
    source = engine_models.load_model(matrix.source.name, device=device)
    target = engine_models.load_model(matrix.target.name, device=device)
    metrics = certificate_metrics(
        source, target, engine, texts[1::2], labels=labels[1::2], train_texts=texts[0::2],
        train_labels=labels[0::2], max_texts=num_texts,
    )
    metrics["anchors"] = {"hash": anchors.content_hash, "count": len(anchors), "excludes_training_sample": True}
    record_extra_metrics(matrix, "stitching", metrics)
    return metrics
