"""Many steering settings measured in shared batches: each row of a generation batch carries its own vector.

A retention measurement steers the same prompts with dozens of (vector, coefficient) settings: every arm at every
coefficient, with both signs. Generating them one setting at a time runs batches of one capability's prompts (40
rows), where each decoding step's matrix products are too thin to use the CPU well; here rows of several settings
share a batch (``batch_rows``, 160 by default), each row adding its own coefficient·vector to the residual stream at
``layer`` at every position, exactly what ``vectors.steer`` adds for one setting. ``bench/steering_bench.py`` measures
the two side by side.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from alignment_plugins import vectors as V
from alignment_plugins.capabilities import Capability
from alignment_plugins.manager import get_plugin_manager
from alignment_plugins.types import LoadedModel

BATCH_ROWS = 160

Setting = tuple[Any, float]


@contextlib.contextmanager
def steer_rows(model: LoadedModel, layer: int, deltas: Any) -> Iterator[None]:
    """Add row b of `deltas` ((B, d), already scaled by its coefficient) to batch row b at `layer`, all positions."""
    import torch

    ctx = get_plugin_manager().hook.alignment_edit_residual(
        model=model, layer=layer, edit=lambda hidden: hidden + deltas[:, None, :].to(hidden.dtype)
    )
    if ctx is None:
        raise RuntimeError(f"no architecture adapter edits the residual stream of {model.name}")
    with ctx, torch.inference_mode():
        yield


def _deltas(model: LoadedModel, settings: Sequence[Setting]) -> np.ndarray:
    out = np.empty((len(settings), model.info.hidden_size), dtype=np.float32)
    for k, (vector, coefficient) in enumerate(settings):
        v = V._finite_vector(vector.vector if isinstance(vector, V.CapabilityVector) else vector,
                             model.info.hidden_size)
        if not np.isfinite(coefficient):
            raise ValueError(f"coefficient must be finite, got {coefficient!r}")
        out[k] = v * float(coefficient)
    return out


def steered_generations(
    model: LoadedModel,
    prompts: Sequence[str],
    layer: int,
    settings: Sequence[Setting],
    *,
    max_new_tokens: int = 24,
    batch_rows: int = BATCH_ROWS,
) -> list[list[str]]:
    """Greedy continuations (new text only): result[s][p] for prompt p steered by setting s = (vector, coefficient)."""
    import torch

    if batch_rows < 1:
        raise ValueError(f"batch_rows must be >= 1, got {batch_rows}")
    deltas = _deltas(model, settings)
    rows = [(s, p) for s in range(len(settings)) for p in range(len(prompts))]
    if 0 < len(prompts) <= batch_rows:  # whole settings per batch: each padded exactly as when run alone
        batch_rows -= batch_rows % len(prompts)
    out: list[list[str]] = [[""] * len(prompts) for _ in settings]
    tok = model.tokenizer
    side, tok.padding_side = tok.padding_side, "left"
    device = next(model.model.parameters()).device
    try:
        for start in range(0, len(rows), batch_rows):
            chunk = rows[start : start + batch_rows]
            enc = tok([prompts[p] for _, p in chunk], return_tensors="pt", padding=True)
            batch_deltas = torch.from_numpy(deltas[[s for s, _ in chunk]]).to(device)
            with steer_rows(model, layer, batch_deltas):
                ids = model.model.generate(
                    input_ids=enc["input_ids"].to(device), attention_mask=enc["attention_mask"].to(device),
                    max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tok.pad_token_id,
                )
            texts = tok.batch_decode(ids[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
            for (s, p), text in zip(chunk, texts, strict=True):
                out[s][p] = text
    finally:
        tok.padding_side = side
    return out


def sweep_scores(
    model: LoadedModel,
    capability: Capability,
    layer: int,
    settings: Sequence[Setting],
    prompt_indices: Sequence[int] | None = None,
    *,
    max_new_tokens: int = 24,
    batch_rows: int = BATCH_ROWS,
) -> np.ndarray:
    """Capability scores (n_settings, n_prompts) under each setting (units of the scorer, as vectors.capability_scores).

    Generation scorers share batches across settings; next-token scorers (one forward pass each) run per setting.
    """
    idx = list(range(len(capability.prompts))) if prompt_indices is None else list(prompt_indices)
    if capability.scorer not in V.GENERATION_SCORERS:
        return np.stack([V.capability_scores(model, capability, idx, layer=layer, vector=v, coefficient=c,
                                             max_new_tokens=max_new_tokens) for v, c in settings])
    prompts = [capability.prompts[i] for i in idx]
    texts = steered_generations(model, prompts, layer, settings, max_new_tokens=max_new_tokens,
                                batch_rows=batch_rows)
    return np.stack([V.score_texts(capability, t) for t in texts])


def antisymmetric_effects(
    model: LoadedModel,
    capability: Capability,
    layer: int,
    settings: Sequence[Setting],
    prompt_indices: Sequence[int] | None = None,
    **kw: Any,
) -> np.ndarray:
    """Per setting and prompt effect(+c·v) − effect(−c·v) ((n_settings, n_prompts), scorer units), signs batched."""
    both = [*settings, *((v, -c) for v, c in settings)]
    scores = sweep_scores(model, capability, layer, both, prompt_indices, **kw)
    return scores[: len(settings)] - scores[len(settings):]
