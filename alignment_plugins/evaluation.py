"""Evaluate a saved W-Matrix on anchors of the evaluator's choosing (how an outsider checks a matrix)."""

from __future__ import annotations

import logging
import os
from typing import Any

from alignment_plugins.anchors import load_anchors
from alignment_plugins.extraction import extract
from alignment_plugins.trainer import evaluate_map
from alignment_plugins.wmatrix import WMatrix, pair_key

log = logging.getLogger(__name__)


def evaluate(wmatrix: WMatrix, anchors: Any, *, dtype: str = "float32", progress: bool = False) -> dict[str, Any]:
    """Return held-out metrics of every fitted pair of `wmatrix` on `anchors` (standardized training spaces)."""
    from alignment_plugins.models import load_model

    anchor_set = load_anchors(anchors)
    if len(anchor_set) < 10:
        raise ValueError(f"need at least 10 anchors to evaluate, got {len(anchor_set)}")
    source = load_model(wmatrix.source["name"], dtype=dtype)
    target = load_model(wmatrix.target["name"], dtype=dtype)
    warnings = []
    for side, loaded in (("source", source), ("target", target)):
        expected = getattr(wmatrix, side).get("fingerprint")
        if expected and loaded.fingerprint != expected:
            warnings.append(f"{side} weights differ from the ones the matrix was trained on "
                            f"({loaded.fingerprint} vs {expected})")
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
        "warnings": warnings,
        "space": "metrics in the standardized target/source spaces of the matrix's training statistics",
    }


def evaluate_file(path: str | os.PathLike, anchors: Any, **kwargs: Any) -> dict[str, Any]:
    """Load a .wmatrix file and evaluate it on `anchors` (a JSONL path or AnchorSet)."""
    return evaluate(WMatrix.load(path), anchors, **kwargs)
