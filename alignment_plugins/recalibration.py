"""Recalibrate a W-Matrix on fresh anchors: the gradient calibration of every map against today's models, a new
version with new held-out metrics, fingerprints and drift probe.

The layer correspondence and the recommended pair are kept (a recalibration answers a moderate drop; a broken
correspondence needs a retraining). Fresh anchors (never trained on) are split 80/10/10: the calibration fits on the
first part, stops early on the second, and the new metrics are measured on the third.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from alignment_plugins.calibration import calibrate
from alignment_plugins.drift_stats import fresh_anchors
from alignment_plugins.formats import integrity_digest
from alignment_plugins.wmatrix import WMatrix, pair_key

__all__ = ["recalibrate"]


def recalibrate(
    wmatrix: WMatrix, *, source_model: str | None = None, target_model: str | None = None, anchors: Any = None,
    num_anchors: int = 1000, epochs: int = 50, patience: int = 5, learning_rate: float = 1e-3,
    batch_size: int = 256, seed: int = 0, dtype: str | None = None, device: str = "cpu",
    auth_token: str | None = None, cache: bool = True,
) -> WMatrix:
    """Return version + 1 of `wmatrix`, its maps calibrated on `num_anchors` fresh anchors read on today's models
    (found where the matrix recorded them, or at the overrides; changed weights are the point and are allowed)."""
    from alignment_plugins.anchors import load_anchors
    from alignment_plugins.extraction import extract
    from alignment_plugins.provenance import load_recorded_model
    from alignment_plugins.trainer import PROBE_ANCHORS, PROBE_MAX_LENGTH, _model_meta, evaluate_map

    dtype = dtype or str((wmatrix.probe or {}).get("dtype") or wmatrix.hyperparams.get("dtype") or "float32")
    options = {"dtype": dtype, "device": device, "auth_token": auth_token, "allow_changed_weights": True}
    source, _ = load_recorded_model(wmatrix.source, source_model, role="source", **options)
    target, _ = load_recorded_model(wmatrix.target, target_model, role="target", **options)
    fresh = load_anchors(anchors) if anchors is not None else fresh_anchors(wmatrix.anchors, num_anchors, seed)
    train, held = fresh.split(0.2, seed=seed)
    validation, test = held.split(0.5, seed=seed + 1)
    if min(len(train), len(validation), len(test)) < 10:
        raise ValueError(f"too few fresh anchors to recalibrate: {len(train)}/{len(validation)}/{len(test)}")
    pooling = str(wmatrix.anchors.get("pooling", "mean"))
    src = extract(source, fresh, sorted({i for i, _ in wmatrix.maps}), pooling=pooling, cache=cache)
    tgt = extract(target, fresh, sorted({j for _, j in wmatrix.maps}), pooling=pooling, cache=cache)
    index = {id(a): k for k, a in enumerate(fresh.anchors)}
    rows = {name: np.array([index[id(a)] for a in part.anchors]) for name, part in
            (("train", train), ("validation", validation), ("test", test))}
    maps, history, metrics = {}, {}, {}
    for (i, j), linear in wmatrix.maps.items():
        x, y = src[i], tgt[j]
        maps[(i, j)], history[pair_key((i, j))] = calibrate(
            linear, x[rows["train"]], y[rows["train"]], x[rows["validation"]], y[rows["validation"]], epochs=epochs,
            patience=patience, learning_rate=learning_rate, batch_size=batch_size, seed=seed)
        metrics[pair_key((i, j))] = evaluate_map(maps[(i, j)], x[rows["test"]], y[rows["test"]])
    pair = wmatrix.headline_pair
    probe_rows = rows["test"][:PROBE_ANCHORS]
    parent = integrity_digest(wmatrix.metadata(), wmatrix.tensors())
    training = {**wmatrix.training, "recalibration": {
        "from_version": wmatrix.version, "parent": parent, "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "anchors": {"hash": fresh.content_hash, "name": fresh.name, "seed": seed,
                    "counts": {"train": len(train), "validation": len(validation), "test": len(test)}},
        "epochs": epochs, "patience": patience, "learning_rate": learning_rate, "calibration": history,
        "previous_metrics": wmatrix.pair_metrics}}
    return WMatrix(
        source=_model_meta(source), target=_model_meta(target), maps=maps, layer_map=wmatrix.layer_map,
        best_pair=wmatrix.best_pair, recommended_pair=wmatrix.recommended_pair, embedding_pair=wmatrix.embedding_pair,
        method=wmatrix.method, hyperparams=wmatrix.hyperparams, anchors=wmatrix.anchors, pair_metrics=metrics,
        cka=wmatrix.cka, cka_layers=wmatrix.cka_layers, training=training,
        probe={"pair": list(pair), "texts": [fresh.anchors[k].text for k in probe_rows], "pooling": pooling,
               "max_length": PROBE_MAX_LENGTH, "dtype": dtype,
               "selection": f"the first {PROBE_ANCHORS} anchors of the recalibration's test split (never fit)"},
        probe_states={"source": src[pair[0]][probe_rows], "target": tgt[pair[1]][probe_rows]},
        version=wmatrix.version + 1, parent=parent,
    )
