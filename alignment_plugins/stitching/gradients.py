"""Gradient stability of a stitch: the loss gradient of the stitched target against the native one's."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from alignment_plugins.formats import finite_or_none
from alignment_plugins.manager import get_plugin_manager
from alignment_plugins.stitching.metrics import batch_logits, token_losses
from alignment_plugins.stitching.splice import MapLike, SpliceBatch, batches, require_lm_head, resolve_pair
from alignment_plugins.types import LoadedModel


def downstream_parameters(target: LoadedModel, layer: int) -> list[Any]:
    """Target parameters after hidden-state `layer`, from the architecture adapter (no embeddings)."""
    params = get_plugin_manager().hook.alignment_downstream_parameters(model=target, layer=layer)
    if params is None:
        raise RuntimeError(f"no architecture adapter lists the parameters of {target.name}")
    return list(params)


def _gradient_norms(target: LoadedModel, prepared: list[SpliceBatch], layer: int, stitched: bool,
                    downstream: list[Any], total_tokens: float) -> tuple[float, float, float, bool]:
    """(‖∂CE/∂θ‖₂ over `downstream`, ‖∂CE/∂h_layer‖₂, CE (nats/token), all finite) of one run over the batches."""
    import torch

    state_sq = 0.0
    loss_sum = 0.0
    finite = True
    with torch.enable_grad():
        for batch in prepared:
            record: list[Any] = []
            logits = batch_logits(target, batch, layer, stitched, record=record)
            total, _ = token_losses(logits, batch.encoding.input_ids, batch.encoding.attention_mask)
            loss = total.sum() / total_tokens
            loss.backward()
            loss_sum += float(loss.detach())
            grad = record[0].grad if record and record[0].grad is not None else None
            if grad is not None:
                valid = batch.encoding.attention_mask.bool().to(grad.device)
                state_sq += float((grad.float()[valid] ** 2).sum())
                finite &= bool(torch.isfinite(grad).all())
    param_sq = 0.0
    for p in downstream:
        if p.grad is not None:
            finite &= bool(torch.isfinite(p.grad).all())
            param_sq += float((p.grad.float() ** 2).sum())
    finite &= math.isfinite(loss_sum)
    return math.sqrt(param_sq), math.sqrt(state_sq), loss_sum, finite


def stability_of_batches(target: LoadedModel, prepared: list[SpliceBatch], layer: int, factor: float
                         ) -> dict[str, Any]:
    """Gradient stability of prepared batches stitched at `layer` (see ``gradient_stability``)."""
    require_lm_head(target)
    params = list(target.model.parameters())
    downstream = downstream_parameters(target, layer)
    wanted = {id(p) for p in downstream}
    saved = [(p, p.requires_grad, p.grad) for p in params]
    total_tokens = 0.0
    for batch in prepared:
        mask = batch.encoding.attention_mask.bool()
        total_tokens += float((mask[:, :-1] & mask[:, 1:]).sum())
    if total_tokens <= 0:
        raise ValueError("the texts have no next-token predictions (every text is a single token)")
    results: dict[bool, tuple[float, float, float, bool]] = {}
    try:
        for p in params:
            p.requires_grad_(id(p) in wanted)
        for stitched in (True, False):
            for p in params:
                p.grad = None
            results[stitched] = _gradient_norms(target, prepared, layer, stitched, downstream, total_tokens)
    finally:
        for p, requires_grad, grad in saved:
            p.requires_grad_(requires_grad)
            p.grad = grad
    (s_norm, s_state, s_loss, s_ok), (n_norm, n_state, n_loss, n_ok) = results[True], results[False]
    ratio = s_norm / n_norm if n_norm > 0 else float("inf")
    finite = s_ok and n_ok and math.isfinite(s_norm) and math.isfinite(n_norm)
    passed = finite and n_norm > 0 and 1.0 / factor <= ratio <= factor
    return {
        "passed": bool(passed),
        "value": finite_or_none(ratio),
        "stitched_grad_norm": finite_or_none(s_norm),
        "native_grad_norm": finite_or_none(n_norm),
        "ratio": finite_or_none(ratio),
        "factor": float(factor),
        "finite": bool(finite),
        "stitched_state_grad_norm": finite_or_none(s_state),
        "native_state_grad_norm": finite_or_none(n_state),
        "stitched_loss": finite_or_none(s_loss),
        "native_loss": finite_or_none(n_loss),
        "n_parameters": int(sum(p.numel() for p in downstream)),
        "space": "target parameters downstream of the stitch (blocks j.., final norm, LM head; no embeddings)",
        "definition": f"global L2 norm of d(mean next-token CE)/d(parameters), stitched vs native; passed when all "
                      f"gradients are finite and 1/{factor:g} <= stitched/native <= {factor:g}",
    }


def gradient_stability(
    source: LoadedModel,
    target: LoadedModel,
    wmatrix: MapLike,
    texts: Sequence[str],
    source_layer: int | None = None,
    max_length: int = 128,
    factor: float = 10.0,
) -> dict[str, Any]:
    """Whether the stitched model's loss gradient is finite and within `factor` (either way) of the native one's.

    g = ‖∂CE/∂θ‖₂ over the target parameters downstream of the stitch (blocks j.., final norm, LM head; embeddings
    and blocks before j excluded, as the stitched run cuts them off), CE = mean next-token cross-entropy (nats/token).
    passed = all gradients finite and 1/factor ≤ g_stitched / g_native ≤ factor. Also reports ‖∂CE/∂h_j‖₂, the
    gradient with respect to the (stitched) layer-j input states. Returns {"passed", "stitched_grad_norm",
    "native_grad_norm", "ratio", "factor", ...}. Causal targets only.
    """
    if not factor > 1.0:
        raise ValueError(f"factor must be > 1, got {factor}")
    pair, linear = resolve_pair(wmatrix, source_layer)
    require_lm_head(target)
    prepared = batches(source, target, pair, linear, texts, max_length)
    return stability_of_batches(target, prepared, pair[1], float(factor))
