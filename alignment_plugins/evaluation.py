"""Evaluate a saved W-Matrix on anchors of the evaluator's choosing (how an outsider checks a matrix)."""

from __future__ import annotations

import logging
import os
from typing import Any

from alignment_plugins.anchors import load_anchors
from alignment_plugins.extraction import extract
from alignment_plugins.provenance import load_recorded_model
from alignment_plugins.trainer import evaluate_map
from alignment_plugins.wmatrix import WMatrix, pair_key

log = logging.getLogger(__name__)


def evaluate(wmatrix: WMatrix, anchors: Any, *, dtype: str = "float32", progress: bool = False,
             source_model: str | None = None, target_model: str | None = None, allow_changed_weights: bool = False,
             auth_token: str | None = None) -> dict[str, Any]:
    """Return held-out metrics of every fitted pair of `wmatrix` on `anchors` (standardized training spaces).

    The models are found where the matrix recorded them (``provenance.load_recorded_model``), or at `source_model` /
    `target_model` (name, path, hub id or endpoint URL), which must have the recorded weights unless
    `allow_changed_weights`. ``fingerprints`` compares recorded and current weights per side.
    """
    anchor_set = load_anchors(anchors)
    if len(anchor_set) < 10:
        raise ValueError(f"need at least 10 anchors to evaluate, got {len(anchor_set)}")
    options = {"dtype": dtype, "auth_token": auth_token, "allow_changed_weights": allow_changed_weights}
    source, source_check = load_recorded_model(wmatrix.source, source_model, role="source", **options)
    target, target_check = load_recorded_model(wmatrix.target, target_model, role="target", **options)
    warnings = [f"{check.side} weights differ from the ones the matrix was trained on ({check.current} vs "
                f"{check.recorded})" for check in (source_check, target_check) if check.changed]
    for message in warnings:
        log.warning(message)
    pairs = sorted(wmatrix.maps)
    src = extract(source, anchor_set, sorted({p[0] for p in pairs}), pooling=wmatrix.anchors.get("pooling", "mean"),
                  progress=progress)
    tgt = extract(target, anchor_set, sorted({p[1] for p in pairs}), pooling=wmatrix.anchors.get("pooling", "mean"),
                  progress=progress)
    results = {}
    for pair in pairs:
        results[pair_key(pair)] = evaluate_map(wmatrix.maps[pair], src[pair[0]], tgt[pair[1]])
    return {
        "source": wmatrix.source["name"],
        "target": wmatrix.target["name"],
        "anchors": {"hash": anchor_set.content_hash, "count": len(anchor_set), "domains": anchor_set.counts(),
                    "same_set_as_training": anchor_set.content_hash == wmatrix.anchors.get("hash")},
        "best_pair_key": pair_key(wmatrix.best_pair),
        "recommended_pair_key": pair_key(wmatrix.headline_pair),
        "pairs": results,
        "fingerprints": {check.side: check.to_dict() for check in (source_check, target_check)},
        "warnings": warnings,
        "space": "metrics in the standardized target/source spaces of the matrix's training statistics",
    }


def evaluate_file(path: str | os.PathLike, anchors: Any, **kwargs: Any) -> dict[str, Any]:
    """Load a .wmatrix file and evaluate it on `anchors` (a JSONL path or AnchorSet)."""
    return evaluate(WMatrix.load(path), anchors, **kwargs)
