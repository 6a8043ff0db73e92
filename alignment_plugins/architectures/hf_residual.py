"""The residual stream of Hugging Face models: block discovery, hooked forward passes, pooling, edits, injection.

Layer numbering is the residual stream: layer 0 is the input of the first block (embeddings), layer i ≥ 1 the
output of block i (before any final norm). A forward pass that only reads states stops after the deepest requested
block.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from alignment_plugins.types import FORWARD_OUTPUTS, ForwardOutputs, LoadedModel, TokenStates


class _StopForward(Exception):
    """Raised by the deepest layer hook to end a forward pass early."""


def find_blocks(model: Any, num_layers: int) -> Any:
    """Return the ModuleList of transformer blocks (the longest ModuleList with `num_layers` entries)."""
    import torch

    candidates = [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.ModuleList) and len(module) == num_layers
    ]
    if not candidates:
        raise ValueError(f"cannot find a list of {num_layers} transformer blocks in {type(model).__name__}")
    # Prefer the shallowest list (the decoder stack, not a nested per-block list of the same length).
    return min(candidates, key=lambda item: item[0].count("."))[1]


def tokenize(model: LoadedModel, texts: Sequence[str], max_length: int = 256) -> dict[str, Any]:
    """Tokenize a batch with special tokens, offsets and the special-token mask (torch tensors, right padded)."""
    return model.tokenizer(
        list(texts),
        return_tensors="pt",
        padding=True,
        truncation=True,
        max_length=max_length,
        return_offsets_mapping=True,
        return_special_tokens_mask=True,
    )


def content_positions(encoded: dict[str, Any]) -> Any:
    """(B, T) bool: real, non-special tokens, never position 0 (the attention sink)."""
    mask = encoded["attention_mask"].bool() & ~encoded["special_tokens_mask"].bool()
    mask[:, 0] = False
    return mask


def content_mask(encoded: dict[str, Any]) -> Any:
    """Mask of pooled positions: the content positions; a text whose only content token sits at position 0 (no BOS,
    one token) keeps that token."""
    mask = content_positions(encoded)
    empty = ~mask.any(dim=1)
    if empty.any():
        fallback = encoded["attention_mask"].bool() & ~encoded["special_tokens_mask"].bool()
        mask[empty] = fallback[empty]
    return mask


def _check_layer(model: LoadedModel, layer: int) -> None:
    if not 0 <= layer <= model.num_layers:
        raise ValueError(f"layer {layer} out of range 0..{model.num_layers} for {model.name}")


def _capture(blocks: Any, layers: Sequence[int], captured: dict[int, Any], *, stop: bool) -> list[Any]:
    """Register hooks storing the detached residual stream of each of `layers` in `captured`; return the handles.

    With `stop`, the hook of the deepest layer raises _StopForward after storing its state.
    """
    deepest = max(layers)

    def _store(layer: int, hidden: Any) -> None:
        captured[layer] = hidden.detach()
        if stop and layer == deepest:
            raise _StopForward

    def _pre_hook(module: Any, args: tuple, kwargs: dict) -> None:
        _store(0, args[0] if args else kwargs["hidden_states"])

    def _make_hook(layer: int) -> Any:
        def _hook(module: Any, args: tuple, output: Any) -> None:
            _store(layer, output[0] if isinstance(output, (tuple, list)) else output)

        return _hook

    handles = []
    if 0 in layers:
        handles.append(blocks[0].register_forward_pre_hook(_pre_hook, with_kwargs=True))
    for layer in sorted(set(layers)):
        if layer > 0:
            handles.append(blocks[layer - 1].register_forward_hook(_make_hook(layer)))
    return handles


def _model_inputs(model: LoadedModel, encoded: dict[str, Any]) -> dict[str, Any]:
    device = next(model.model.parameters()).device
    return {"input_ids": encoded["input_ids"].to(device), "attention_mask": encoded["attention_mask"].to(device),
            "use_cache": False}


def hooked_forward(model: LoadedModel, encoded: dict[str, Any], layers: Sequence[int]) -> dict[int, Any]:
    """Run the base model, capturing residual-stream states (B, T, d) at `layers`, stopping after the deepest."""
    import torch

    blocks = find_blocks(model.model, model.num_layers)
    wanted = sorted(set(layers))
    for layer in wanted:
        _check_layer(model, layer)
    captured: dict[int, Any] = {}
    handles = _capture(blocks, wanted, captured, stop=True)
    try:
        with torch.inference_mode(), contextlib.suppress(_StopForward):
            base_model(model)(**_model_inputs(model, encoded))
    finally:
        for handle in handles:
            handle.remove()
    missing = [layer for layer in wanted if layer not in captured]
    if missing:
        raise RuntimeError(f"layers {missing} were not reached in the forward pass of {model.name}")
    return captured


def base_model(model: LoadedModel) -> Any:
    """The transformer without its task head (the module returning ``last_hidden_state``)."""
    return getattr(model.model, "base_model", model.model)


def has_lm_head(model: LoadedModel) -> bool:
    """Whether the loaded module has an output (language-model) head."""
    getter = getattr(model.model, "get_output_embeddings", None)
    return getter is not None and getter() is not None


@contextlib.contextmanager
def eager_attention(model: LoadedModel) -> Iterator[None]:
    """Temporarily switch the model to the eager attention implementation (which returns probabilities)."""
    module = model.model
    previous = getattr(module.config, "_attn_implementation", None)
    switch = previous not in (None, "eager") and hasattr(module, "set_attn_implementation")
    if switch:
        module.set_attn_implementation("eager")
    try:
        yield
    finally:
        if switch:
            module.set_attn_implementation(previous)


def forward(
    model: LoadedModel, texts: Sequence[str], layers: Sequence[int], outputs: Sequence[str], max_length: int = 256
) -> ForwardOutputs:
    """Tokenize `texts` (≤ max_length tokens) and run one forward pass returning the `outputs` asked for.

    Only "hidden_states": the pass stops after the deepest of `layers` (inference mode). No outputs: no pass. The
    pass runs under the caller's grad mode otherwise, so logits and attentions can be differentiated.
    """
    wanted = set(outputs)
    unknown = sorted(wanted - set(FORWARD_OUTPUTS))
    if unknown:
        raise ValueError(f"unknown forward outputs {unknown}; choose from {', '.join(FORWARD_OUTPUTS)}")
    encoded = tokenize(model, texts, max_length=max_length)
    result = ForwardOutputs(input_ids=encoded["input_ids"], attention_mask=encoded["attention_mask"],
                            offsets=encoded["offset_mapping"], content=content_positions(encoded))
    if "hidden_states" in wanted and not layers:
        raise ValueError("hidden_states asked for without layers")
    if wanted == {"hidden_states"}:
        result.hidden_states = hooked_forward(model, encoded, layers)
        return result
    if not wanted:
        return result
    logits = "logits" in wanted and has_lm_head(model)
    module = model.model if logits else base_model(model)
    handles = []
    if "hidden_states" in wanted:
        for layer in layers:
            _check_layer(model, layer)
        handles = _capture(find_blocks(model.model, model.num_layers), layers, result.hidden_states, stop=False)
    try:
        with eager_attention(model) if "attentions" in wanted else contextlib.nullcontext():
            out = module(**_model_inputs(model, encoded), output_attentions="attentions" in wanted,
                         output_hidden_states=logits and "last_hidden_state" in wanted)
    finally:
        for handle in handles:
            handle.remove()
    if "attentions" in wanted:
        if not out.attentions or any(a is None for a in out.attentions):
            raise RuntimeError(f"{model.name} returned no attention probabilities")
        result.attentions = out.attentions
    if logits:
        result.logits = out.logits
    if "last_hidden_state" in wanted:
        result.last_hidden_state = out.hidden_states[-1] if logits else out.last_hidden_state
    return result


def downstream_parameters(model: LoadedModel, layer: int) -> list[Any]:
    """Parameters downstream of hidden-state `layer`: blocks layer+1.., final norm, head (never the embeddings)."""
    _check_layer(model, layer)
    blocks = find_blocks(model.model, model.num_layers)
    upstream = {id(p) for block in blocks[:layer] for p in block.parameters()}
    embeddings = model.model.get_input_embeddings()
    if embeddings is not None:
        upstream |= {id(p) for p in embeddings.parameters()}
    for name, module in model.model.named_modules():  # learned absolute position embeddings (gpt2 wpe, ...)
        if name.endswith(("wpe", "position_embeddings", "embed_positions")):
            upstream |= {id(p) for p in module.parameters()}
    return [p for p in model.model.parameters() if id(p) not in upstream]


def pooled_states(
    model: LoadedModel, texts: Sequence[str], layers: Sequence[int], pooling: str, max_length: int = 256
) -> dict[int, Any]:
    """Return {layer: (B, d) float32 array} (mean / last content token) or {layer: [TokenStates]} ("tokens")."""
    encoded = tokenize(model, texts, max_length=max_length)
    states = hooked_forward(model, encoded, layers)
    if pooling == "tokens":
        lengths = encoded["attention_mask"].sum(dim=1).tolist()
        offsets = encoded["offset_mapping"].numpy()
        return {
            layer: [
                TokenStates(states=h[i, : lengths[i]].float().cpu().numpy(), offsets=offsets[i, : lengths[i]].copy())
                for i in range(len(texts))
            ]
            for layer, h in states.items()
        }
    mask = content_mask(encoded)
    out: dict[int, Any] = {}
    if pooling == "mean":
        weights = mask.unsqueeze(-1).float()
        counts = weights.sum(dim=1).clamp(min=1.0)
        for layer, h in states.items():
            out[layer] = ((h.float() * weights.to(h.device)).sum(dim=1) / counts.to(h.device)).cpu().numpy()
    elif pooling == "last":
        positions = mask.shape[1] - 1 - mask.flip(dims=[1]).float().argmax(dim=1)
        rows = np.arange(len(texts))
        for layer, h in states.items():
            out[layer] = h.float()[rows, positions.to(h.device)].cpu().numpy()
    else:
        raise ValueError(f"unknown pooling {pooling!r}; use mean, last or tokens")
    return {layer: np.ascontiguousarray(value, dtype=np.float32) for layer, value in out.items()}


def token_offsets(model: LoadedModel, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
    """Return per-text (start, end) character offsets of every token, special tokens as (0, 0)."""
    encoded = model.tokenizer(list(texts), return_offsets_mapping=True, add_special_tokens=True)
    return [[(int(a), int(b)) for a, b in offsets] for offsets in encoded["offset_mapping"]]


@contextlib.contextmanager
def edit_residual(model: LoadedModel, layer: int, edit: Callable[[Any], Any]) -> Iterator[None]:
    """Replace the residual stream read at `layer` by edit(states) in every forward pass while active.

    states: (B, T, d) torch tensor; layer 0 edits the input of the first block, layer i the output of block i.
    """
    _check_layer(model, layer)
    blocks = find_blocks(model.model, model.num_layers)
    if layer == 0:

        def _pre(module: Any, args: tuple, kwargs: dict) -> Any:
            if args:
                return (edit(args[0]), *args[1:]), kwargs
            kwargs["hidden_states"] = edit(kwargs["hidden_states"])
            return args, kwargs

        handle = blocks[0].register_forward_pre_hook(_pre, with_kwargs=True)
    else:

        def _post(module: Any, args: tuple, output: Any) -> Any:
            if isinstance(output, (tuple, list)):
                return (edit(output[0]), *output[1:])
            return edit(output)

        handle = blocks[layer - 1].register_forward_hook(_post)
    try:
        yield
    finally:
        handle.remove()


@contextlib.contextmanager
def inject(model: LoadedModel, layer: int, vector: Any, coefficient: float, positions: str) -> Iterator[None]:
    """Add coefficient·vector to the residual stream at `layer` ("all" positions, or "new": from the last prompt
    token on, i.e. the positions whose states produce generated tokens)."""
    import torch

    if positions not in ("all", "new"):
        raise ValueError(f"positions must be 'all' or 'new', got {positions!r}")
    _check_layer(model, layer)
    param = next(model.model.parameters())
    delta = torch.as_tensor(np.asarray(vector), dtype=param.dtype, device=param.device).reshape(-1)
    if delta.shape[0] != model.info.hidden_size:
        raise ValueError(f"vector has dim {delta.shape[0]}, {model.name} expects {model.info.hidden_size}")
    if not torch.isfinite(delta).all():
        raise ValueError("steering vector has non-finite values")
    delta = delta * float(coefficient)
    seen_prompt = {"done": False}

    def _add(hidden: Any) -> Any:
        if positions == "all" or seen_prompt["done"]:
            return hidden + delta
        seen_prompt["done"] = True
        steered = hidden.clone()
        steered[:, -1, :] += delta
        return steered

    with edit_residual(model, layer, _add):
        yield
