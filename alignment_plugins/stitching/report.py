"""The stitching section of a certificate: every functional metric of one layer pair as one JSON-safe dict."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from alignment_plugins.extraction import extract
from alignment_plugins.stitching.gradients import stability_of_batches
from alignment_plugins.stitching.head_mapping import head_mapping
from alignment_plugins.stitching.metrics import fidelity_of_batches, loss_of_batches
from alignment_plugins.stitching.splice import MapLike, batches, has_lm_head, resolve_pair
from alignment_plugins.stitching.task_transfer import task_transfer_accuracy
from alignment_plugins.types import LoadedModel


def _pooled(model: LoadedModel, texts: list[str], layer: int, pooling: str, max_length: int) -> np.ndarray:
    return extract(model, texts, [layer], pooling=pooling, cache=False, max_length=max_length).layers[layer]


def _not_applicable(reason: str, space: str, definition: str) -> dict[str, Any]:
    return {"value": None, "applicable": False, "reason": reason, "space": space, "definition": definition}


def certificate_metrics(
    source: LoadedModel,
    target: LoadedModel,
    wmatrix: MapLike,
    texts: Sequence[str],
    labels: Sequence[Any] | None = None,
    train_texts: Sequence[str] | None = None,
    train_labels: Sequence[Any] | None = None,
    max_texts: int = 64,
    seed: int = 0,
) -> dict[str, Any]:
    """All functional metrics of the recommended pair (i, j) of `wmatrix` as one JSON-serializable dict.

    Keys "task_transfer" (relative probe accuracy, only with `labels`; without `train_texts` the texts are split
    in half, seeded), "attention_fidelity", "stitched_loss" (nats/token), "gradient_stability", "head_mapping";
    each a dict with "value", its interval(s) where defined, "space" and "definition". A metric that does not
    apply (no labels, no LM head, j is the last layer) has value None, "applicable": False and a "reason".
    At most `max_texts` texts (a seeded sample) are used for each of the evaluation and training sets.
    """
    pair, linear = resolve_pair(wmatrix)
    i, j = pair
    max_length = 128
    texts = list(texts)
    if labels is not None and len(labels) != len(texts):
        raise ValueError(f"{len(labels)} labels for {len(texts)} texts")
    rng = np.random.default_rng(seed)
    if len(texts) > max_texts:
        keep = np.sort(rng.choice(len(texts), size=max_texts, replace=False))
        texts = [texts[k] for k in keep]
        labels = None if labels is None else [labels[k] for k in keep]
    pooling = str((getattr(wmatrix, "anchors", None) or {}).get("pooling", "mean"))
    out: dict[str, Any] = {"pair": [i, j], "n_texts": len(texts), "seed": seed, "max_length": max_length}

    # task transfer
    space = f"source layer {i} ({pooling}-pooled), target layer {j} mapped back with the inverse map"
    definition = ("multinomial logistic probe trained on standardized source states; relative accuracy = accuracy on "
                  "inverse-mapped target states / accuracy on source states (bootstrap over test rows)")
    if labels is None:
        out["task_transfer"] = _not_applicable("no labels given", space, definition)
    else:
        if train_texts is not None:
            if train_labels is None or len(train_labels) != len(train_texts):
                raise ValueError("train_texts needs one train_label per text")
            tr_texts, tr_labels = list(train_texts), list(train_labels)
            if len(tr_texts) > max_texts:
                keep = np.sort(rng.choice(len(tr_texts), size=max_texts, replace=False))
                tr_texts, tr_labels = [tr_texts[k] for k in keep], [tr_labels[k] for k in keep]
            te_texts, te_labels = texts, list(labels)
        else:
            order = rng.permutation(len(texts))
            half = len(texts) // 2
            tr_idx, te_idx = np.sort(order[:half]), np.sort(order[half:])
            tr_texts, tr_labels = [texts[k] for k in tr_idx], [labels[k] for k in tr_idx]
            te_texts, te_labels = [texts[k] for k in te_idx], [labels[k] for k in te_idx]
        if len(set(map(str, tr_labels))) < 2 or not te_texts:
            out["task_transfer"] = _not_applicable("need two classes in training and a test text", space, definition)
        else:
            result = task_transfer_accuracy(
                _pooled(source, tr_texts, i, pooling, max_length), tr_labels,
                _pooled(source, te_texts, i, pooling, max_length), _pooled(target, te_texts, j, pooling, max_length),
                te_labels, linear, seed=seed,
            )
            result["classes"] = [c if isinstance(c, (str, int, float, bool)) else str(c) for c in result["classes"]]
            out["task_transfer"] = {"value": result["relative_accuracy"], **result, "space": space,
                                    "definition": definition}

    prepared = batches(source, target, pair, linear, texts, max_length)
    n_content = sum(int(b.content.sum()) for b in prepared)
    n_replaced = sum(int((b.replaced & b.content).sum()) for b in prepared)
    out["coverage"] = n_replaced / n_content if n_content else 0.0

    space = "target attention probabilities at the first block after the stitch"
    definition = "1 - mean Jensen-Shannon divergence (bits) of stitched vs native attention rows"
    if j >= target.num_layers:
        out["attention_fidelity"] = _not_applicable(f"target layer {j} is the final hidden state", space, definition)
    else:
        out["attention_fidelity"] = fidelity_of_batches(target, prepared, j, exclude_sink_keys=False, seed=seed)

    if has_lm_head(target):
        out["stitched_loss"] = loss_of_batches(target, prepared, j, seed=seed)
        out["gradient_stability"] = stability_of_batches(target, prepared, j, 10.0)
    else:
        reason = f"{target.name} has no language-model head"
        out["stitched_loss"] = _not_applicable(reason, "target next-token predictions",
                                               "stitched vs native next-token cross-entropy (nats/token)")
        out["gradient_stability"] = _not_applicable(reason, "target parameters downstream of the stitch",
                                                    "stitched/native loss-gradient norm within a factor of 10")
    out["head_mapping"] = head_mapping(source, target, pair, texts, max_length=max_length)
    return out
