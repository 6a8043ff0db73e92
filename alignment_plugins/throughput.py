"""How long training a W-Matrix takes: the texts each model reads, and an ETA from measured extraction throughput.

A training run reads, on each model: the sampled anchors once (pooled states, every layer), the training anchors a
second time (per-token states, for the default "tokens" pairing), the contrastive anchors (pooled; cached per
model after its first run) and the validation concepts' texts (the recommended-pair choice). The ETA is

    seconds = Σ_models texts(model) / throughput(model)  (texts/s, measured by a short probe of the model itself)

plus the fit, which is small next to extraction on every model this engine has run. Nothing here imports torch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["PROBE_TEXTS", "eta_seconds", "probe_throughput", "training_workload"]

PROBE_TEXTS = 8


def training_workload(num_anchors: int, *, pairing: str = "tokens", contrastive_weight: float = 3.0,
                      train_fraction: float = 0.8) -> dict[str, int]:
    """Texts one model reads while training on `num_anchors` anchors, by phase (see the module docstring)."""
    from alignment_plugins.anchors.contrastive import contrastive_texts
    from alignment_plugins.concepts import concepts

    phases = {"anchors": int(num_anchors),
              "token_pairs": round(num_anchors * train_fraction) if pairing in ("tokens", "both") else 0,
              "contrastive": len(contrastive_texts()) if contrastive_weight > 0 else 0,
              "concepts": sum(2 * len(c.pairs) for c in concepts("validation"))}
    phases["total"] = sum(phases.values())
    return phases


def eta_seconds(workload: dict[str, int], texts_per_second: Sequence[float]) -> float:
    """Seconds to read `workload["total"]` texts on each model at its measured texts/s."""
    rates = [float(r) for r in texts_per_second]
    if not rates or any(r <= 0 for r in rates):
        raise ValueError(f"throughputs must be positive texts/s, got {rates}")
    return float(sum(workload["total"] / r for r in rates))


def probe_throughput(extract: Callable[[list[str]], Any], texts: Sequence[str]) -> dict[str, float]:
    """Time `extract(texts)` (one batch, after one warm-up text); return texts/s and the probe's seconds."""
    texts = list(texts)
    if not texts:
        raise ValueError("no probe texts")
    extract(texts[:1])
    started = time.perf_counter()
    extract(texts)
    seconds = max(time.perf_counter() - started, 1e-9)
    return {"texts": len(texts), "seconds": seconds, "texts_per_second": len(texts) / seconds}
