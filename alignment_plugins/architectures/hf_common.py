"""Shared machinery of the Hugging Face adapters: block discovery, hooked forward passes, pooling, injection.

Layer numbering is the residual stream: layer 0 is the input of the first block (embeddings), layer i ≥ 1 the
output of block i (before any final norm). A forward pass stops after the deepest requested block.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from alignment_plugins import hookimpl
from alignment_plugins.types import ArchitectureInfo, LoadedModel, TokenStates

TORCH_DTYPES = ("float32", "bfloat16", "float16")


class _StopForward(Exception):
    """Raised by the deepest layer hook to end a forward pass early."""


def torch_dtype(name: str) -> Any:
    """Map a dtype name to the torch dtype."""
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


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


def config_value(config: Any, *names: str) -> Any:
    """Return the first attribute of `config` among `names` that is set, else None."""
    for name in names:
        value = getattr(config, name, None)
        if value is not None:
            return value
    return None


def describe(config: Any, name: str, *, kind: str, adapter: str, family: str) -> ArchitectureInfo:
    """Build ArchitectureInfo from a transformers config (every field read from the config)."""
    text_config = getattr(config, "text_config", None) or config
    rope = config_value(text_config, "rope_parameters", "rope_theta", "rope_scaling")
    pos_type = config_value(text_config, "position_embedding_type")
    if rope is not None:
        positional = "rope"
    elif pos_type is not None:
        positional = f"learned {pos_type}"
    elif config_value(text_config, "n_positions", "max_position_embeddings") is not None:
        positional = "learned absolute"
    else:
        positional = None
    if config_value(text_config, "rms_norm_eps") is not None:
        normalization = "rmsnorm"
    elif config_value(text_config, "layer_norm_eps", "layer_norm_epsilon") is not None:
        normalization = "layernorm"
    else:
        normalization = None
    return ArchitectureInfo(
        name=name,
        family=family,
        kind=kind,
        hidden_size=int(text_config.hidden_size),
        num_layers=int(text_config.num_hidden_layers),
        num_heads=config_value(text_config, "num_attention_heads"),
        num_kv_heads=config_value(text_config, "num_key_value_heads", "num_attention_heads"),
        activation=config_value(text_config, "hidden_activation", "hidden_act", "activation_function"),
        positional_encoding=positional,
        vocab_size=config_value(text_config, "vocab_size"),
        normalization=normalization,
        max_positions=config_value(text_config, "max_position_embeddings", "n_positions"),
        runnable=True,
        adapter=adapter,
        source=str(getattr(config, "_name_or_path", "") or ""),
    )


def prepare_tokenizer(tokenizer: Any) -> Any:
    """Make a tokenizer usable for batched extraction: right padding and a pad token."""
    tokenizer.padding_side = "right"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    return tokenizer


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


def content_mask(encoded: dict[str, Any]) -> Any:
    """Mask of pooled positions: real, non-special tokens, never the first position (the attention sink)."""
    mask = encoded["attention_mask"].bool() & ~encoded["special_tokens_mask"].bool()
    mask[:, 0] = False
    # A text whose only content token sits at position 0 (no BOS, one token) keeps that token.
    empty = ~mask.any(dim=1)
    if empty.any():
        fallback = encoded["attention_mask"].bool() & ~encoded["special_tokens_mask"].bool()
        mask[empty] = fallback[empty]
    return mask


def hooked_forward(model: LoadedModel, encoded: dict[str, Any], layers: Sequence[int]) -> dict[int, Any]:
    """Run the base model, capturing residual-stream states (B, T, d) at `layers`, stopping after the deepest."""
    import torch

    blocks = find_blocks(model.model, model.num_layers)
    wanted = sorted(set(layers))
    for layer in wanted:
        if not 0 <= layer <= model.num_layers:
            raise ValueError(f"layer {layer} out of range 0..{model.num_layers} for {model.name}")
    captured: dict[int, Any] = {}
    deepest = wanted[-1]
    handles = []

    def _pre_hook(module: Any, args: tuple, kwargs: dict) -> None:
        hidden = args[0] if args else kwargs["hidden_states"]
        captured[0] = hidden.detach()
        if deepest == 0:
            raise _StopForward

    def _make_hook(layer: int) -> Any:
        def _hook(module: Any, args: tuple, output: Any) -> None:
            hidden = output[0] if isinstance(output, (tuple, list)) else output
            captured[layer] = hidden.detach()
            if layer == deepest:
                raise _StopForward

        return _hook

    if 0 in wanted:
        handles.append(blocks[0].register_forward_pre_hook(_pre_hook, with_kwargs=True))
    for layer in wanted:
        if layer > 0:
            handles.append(blocks[layer - 1].register_forward_hook(_make_hook(layer)))
    base = getattr(model.model, "base_model", model.model)
    device = next(model.model.parameters()).device
    try:
        with torch.inference_mode(), contextlib.suppress(_StopForward):
            base(
                input_ids=encoded["input_ids"].to(device),
                attention_mask=encoded["attention_mask"].to(device),
                use_cache=False,
            )
    finally:
        for handle in handles:
            handle.remove()
    missing = [layer for layer in wanted if layer not in captured]
    if missing:
        raise RuntimeError(f"layers {missing} were not reached in the forward pass of {model.name}")
    return captured


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
def inject(model: LoadedModel, layer: int, vector: Any, coefficient: float, positions: str) -> Iterator[None]:
    """Add coefficient·vector to the residual stream at `layer` ("all" positions, or "new": from the last prompt
    token on, i.e. the positions whose states produce generated tokens)."""
    import torch

    if positions not in ("all", "new"):
        raise ValueError(f"positions must be 'all' or 'new', got {positions!r}")
    if not 0 <= layer <= model.num_layers:
        raise ValueError(f"layer {layer} out of range 0..{model.num_layers} for {model.name}")
    blocks = find_blocks(model.model, model.num_layers)
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

    if layer == 0:

        def _pre(module: Any, args: tuple, kwargs: dict) -> Any:
            if args:
                return (_add(args[0]), *args[1:]), kwargs
            kwargs["hidden_states"] = _add(kwargs["hidden_states"])
            return args, kwargs

        handle = blocks[0].register_forward_pre_hook(_pre, with_kwargs=True)
    else:

        def _post(module: Any, args: tuple, output: Any) -> Any:
            if isinstance(output, (tuple, list)):
                return (_add(output[0]), *output[1:])
            return _add(output)

        handle = blocks[layer - 1].register_forward_hook(_post)
    try:
        yield
    finally:
        handle.remove()


class HFArchitectureAdapter:
    """A pluggy plugin object serving one kind of Hugging Face model; subclasses set the class attributes."""

    adapter: str = ""
    kind: str = ""
    families: dict[str, str] = {}  # noqa: RUF012 - class-level table, read only
    auto_class: str = "AutoModel"

    def _family(self, config: Any) -> str | None:
        return self.families.get(getattr(config, "model_type", ""))

    def _mine(self, model: LoadedModel) -> bool:
        return model.adapter == self.adapter

    @hookimpl
    def alignment_describe_architecture(self, config: Any, name: str) -> ArchitectureInfo | None:
        """Describe a model of one of this adapter's families from its config, else None."""
        family = self._family(config)
        if family is None:
            return None
        return describe(config, name, kind=self.kind, adapter=self.adapter, family=family)

    @hookimpl
    def alignment_load_model(self, name: str, path: str, config: Any, dtype: str, device: str) -> LoadedModel | None:
        """Load the model and tokenizer from a local directory (or hub id) in eval mode, else None."""
        if self._family(config) is None:
            return None
        import transformers

        auto = getattr(transformers, self.auto_class)
        model = auto.from_pretrained(path, dtype=torch_dtype(dtype)).to(device).eval()
        tokenizer = prepare_tokenizer(transformers.AutoTokenizer.from_pretrained(path))
        return LoadedModel(
            name=name, info=self.alignment_describe_architecture(config=config, name=name), model=model,
            tokenizer=tokenizer, adapter=self.adapter, fingerprint="", dtype=dtype, device=device, path=path,
        )

    @hookimpl
    def alignment_extract_hidden_states(
        self, model: LoadedModel, texts: list[str], layers: list[int], pooling: str, max_length: int
    ) -> dict[int, Any] | None:
        """Extract pooled residual-stream states (specials and position 0 never pooled), else None."""
        return pooled_states(model, texts, layers, pooling, max_length=max_length) if self._mine(model) else None

    @hookimpl
    def alignment_token_offsets(self, model: LoadedModel, texts: list[str]) -> list[list[tuple[int, int]]] | None:
        """Return character offsets of each token, else None."""
        return token_offsets(model, texts) if self._mine(model) else None

    @hookimpl
    def alignment_inject_vector(
        self, model: LoadedModel, layer: int, vector: Any, coefficient: float, positions: str
    ) -> contextlib.AbstractContextManager[None] | None:
        """Add coefficient·vector to the residual stream at `layer` while the context is active, else None."""
        return inject(model, layer, vector, coefficient, positions) if self._mine(model) else None
