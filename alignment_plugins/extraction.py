"""Batched hidden-state extraction with an on-disk activation cache.

Texts are sorted by token length and packed into batches under a small token budget (little padding, activations
that fit the CPU's caches: `MAX_BATCH_TOKENS`), each forward pass stops after the deepest requested layer, and pooled
activations are cached per (model fingerprint, anchor-set hash, pooling, dtype, max length) with one file per layer,
so a model runs once per anchor set and is not re-run for every model pair it is aligned with.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from alignment_plugins.anchors import AnchorSet
from alignment_plugins.manager import get_plugin_manager
from alignment_plugins.types import POOLINGS, LoadedModel

#: Tokens read per text by default (extract, extract_tokens and the token pass); part of every cache key.
MAX_LENGTH = 256
#: Padded tokens per forward batch by default (extract and the token pass). Small batches keep each layer's
#: activations in the CPU's caches: the elementwise work between the matrix products (MLP gate, norms, rotary)
#: is memory-bound, and on a 2-core CPU 1,024 tokens ran 2.4x (SmolLM2) and 1.9x (Gemma-3) faster than 8,192
#: (bench/extraction_bench.py prints both). Large batches gain nothing on CPU; a GPU run may pass more.
MAX_BATCH_TOKENS = 1024

log = logging.getLogger(__name__)

_CACHE_VERSION = "1"


@dataclass
class Activations:
    """Pooled activations of one model on one anchor set: {layer: float32 array (N, d)} in anchor order."""

    model: str
    fingerprint: str
    anchors_hash: str
    pooling: str
    layers: dict[int, np.ndarray]
    seconds: float = 0.0
    tokens: int = 0
    from_cache: list[int] = field(default_factory=list)

    def __getitem__(self, layer: int) -> np.ndarray:
        """Return the (N, d) activations at `layer`."""
        return self.layers[layer]


def resolve_layers(layers: str | Sequence[int] | None, num_layers: int) -> list[int]:
    """Turn "all", None or a list (negative = from the end) into sorted residual-stream layers 0..num_layers."""
    if layers is None or layers == "all":
        return list(range(num_layers + 1))
    if isinstance(layers, str):
        layers = [int(part) for part in layers.split(",") if part.strip()]
    out = set()
    for layer in layers:
        value = int(layer) + (num_layers + 1 if int(layer) < 0 else 0)
        if not 0 <= value <= num_layers:
            raise ValueError(f"layer {layer} out of range: the model has layers 0..{num_layers}")
        out.add(value)
    if not out:
        raise ValueError("no layers requested")
    return sorted(out)


def _cache_folder(model: LoadedModel, anchors: AnchorSet, pooling: str, max_length: int) -> Path:
    from alignment_plugins.models import cache_dir

    key = json.dumps(
        [_CACHE_VERSION, model.fingerprint, anchors.content_hash, pooling, model.dtype, max_length], sort_keys=True
    )
    return cache_dir() / "activations" / hashlib.sha256(key.encode()).hexdigest()[:24]


def _token_lengths(model: LoadedModel, texts: Sequence[str], max_length: int) -> list[int]:
    encoded = model.tokenizer(list(texts), truncation=True, max_length=max_length, add_special_tokens=True)
    return [len(ids) for ids in encoded["input_ids"]]


def plan_batches(lengths: Sequence[int], max_batch_tokens: int, max_batch_size: int) -> list[list[int]]:
    """Group indices sorted by length into batches whose padded size (rows × longest) stays under the budget."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        longest = max([lengths[i] for i in current] + [lengths[index]])
        if current and ((len(current) + 1) * longest > max_batch_tokens or len(current) >= max_batch_size):
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


def extract(
    model: LoadedModel | str,
    anchors: AnchorSet | Sequence[str],
    layers: str | Sequence[int] | None = "all",
    *,
    pooling: str = "mean",
    dtype: str = "float32",
    max_length: int = MAX_LENGTH,
    max_batch_tokens: int = MAX_BATCH_TOKENS,
    max_batch_size: int = 64,
    cache: bool = True,
    progress: bool = False,
) -> Activations:
    """Extract pooled hidden states (float32, (N, d) per layer) of `anchors` at `layers` of `model`."""
    if pooling not in ("mean", "last"):
        raise ValueError(f"extract() pools with 'mean' or 'last' (got {pooling!r}); use extract_tokens for tokens")
    if isinstance(model, str):
        from alignment_plugins.models import load_model

        model = load_model(model, dtype=dtype)
    if not isinstance(anchors, AnchorSet):
        from alignment_plugins.anchors import Anchor

        anchors = AnchorSet([Anchor(text=t, domain="unspecified") for t in anchors])
    if len(anchors) == 0:
        raise ValueError("no anchors to extract")
    wanted = resolve_layers(layers, model.num_layers)
    folder = _cache_folder(model, anchors, pooling, max_length) if cache else None
    result: dict[int, np.ndarray] = {}
    if folder is not None:
        for layer in wanted:
            path = folder / f"layer_{layer}.npy"
            if path.is_file():
                array = np.load(path, allow_pickle=False)
                if array.shape == (len(anchors), model.info.hidden_size):
                    result[layer] = array
    cached = sorted(result)
    missing = [layer for layer in wanted if layer not in result]
    started = time.perf_counter()
    tokens = 0
    if missing:
        texts = anchors.texts
        lengths = _token_lengths(model, texts, max_length)
        tokens = sum(lengths)
        batches = plan_batches(lengths, max_batch_tokens, max_batch_size)
        buffers = {layer: np.empty((len(texts), model.info.hidden_size), dtype=np.float32) for layer in missing}
        hook = get_plugin_manager().hook.alignment_extract_hidden_states
        bar = _progress(len(texts), f"extract {model.name}", progress)
        for batch in batches:
            pooled = hook(
                model=model, texts=[texts[i] for i in batch], layers=missing, pooling=pooling, max_length=max_length
            )
            if pooled is None:
                raise RuntimeError(f"no architecture adapter extracts hidden states for {model.name}")
            for layer in missing:
                buffers[layer][batch] = pooled[layer]
            bar.update(len(batch))
        bar.close()
        for layer, array in buffers.items():
            if not np.isfinite(array).all():
                raise FloatingPointError(f"non-finite activations at layer {layer} of {model.name} (try float32)")
            result[layer] = array
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            for layer in missing:
                tmp = folder / f".layer_{layer}.{os.getpid()}.npy"
                np.save(tmp, result[layer])
                os.replace(tmp, folder / f"layer_{layer}.npy")
            (folder / "meta.json").write_text(
                json.dumps({"model": model.name, "fingerprint": model.fingerprint, "anchors": anchors.content_hash,
                            "pooling": pooling, "dtype": model.dtype, "n": len(anchors)}, indent=1)
            )
    return Activations(
        model=model.name, fingerprint=model.fingerprint, anchors_hash=anchors.content_hash, pooling=pooling,
        layers={layer: result[layer] for layer in wanted}, seconds=time.perf_counter() - started, tokens=tokens,
        from_cache=cached,
    )


def extract_tokens(
    model: LoadedModel, texts: Sequence[str], layers: Sequence[int], batch_size: int = 16,
    max_length: int = MAX_LENGTH,
) -> dict:
    """Return {layer: [TokenStates]} token-level states with character offsets (no cache; for stitching)."""
    wanted = resolve_layers(layers, model.num_layers)
    hook = get_plugin_manager().hook.alignment_extract_hidden_states
    out: dict[int, list[Any]] = {layer: [] for layer in wanted}
    for start in range(0, len(texts), batch_size):
        pooled = hook(
            model=model, texts=list(texts[start : start + batch_size]), layers=wanted, pooling="tokens",
            max_length=max_length,
        )
        for layer in wanted:
            out[layer].extend(pooled[layer])
    return out


class _NullBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, desc: str, enabled: bool) -> Any:
    if not enabled:
        return _NullBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="text")


__all__ = ["MAX_BATCH_TOKENS", "MAX_LENGTH", "POOLINGS", "Activations", "extract", "extract_tokens", "plan_batches",
           "resolve_layers"]
