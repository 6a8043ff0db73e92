"""Shared machinery of the Hugging Face adapters: config description, loading and the adapter plugin class.

The residual-stream work (hooked forward passes, pooling, edits, injection) lives in ``hf_residual``.
"""

from __future__ import annotations

import contextlib
from typing import Any

from alignment_plugins import hookimpl
from alignment_plugins.architectures.hf_residual import (
    downstream_parameters,
    edit_residual,
    forward,
    inject,
    pooled_states,
    token_offsets,
)
from alignment_plugins.types import ArchitectureInfo, ForwardOutputs, LoadedModel

TORCH_DTYPES = ("float32", "bfloat16", "float16")


def torch_dtype(name: str) -> Any:
    """Map a dtype name to the torch dtype."""
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


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

    @hookimpl
    def alignment_edit_residual(
        self, model: LoadedModel, layer: int, edit: Any
    ) -> contextlib.AbstractContextManager[None] | None:
        """Replace the residual stream at `layer` by edit(states) while the context is active, else None."""
        return edit_residual(model, layer, edit) if self._mine(model) else None

    @hookimpl
    def alignment_forward(
        self, model: LoadedModel, texts: list[str], layers: list[int], outputs: list[str], max_length: int
    ) -> ForwardOutputs | None:
        """Tokenize and run one forward pass returning the outputs asked for, else None."""
        return forward(model, texts, layers, outputs, max_length=max_length) if self._mine(model) else None

    @hookimpl
    def alignment_downstream_parameters(self, model: LoadedModel, layer: int) -> list[Any] | None:
        """Parameters after hidden-state `layer` (later blocks, final norm, head; no embeddings), else None."""
        return downstream_parameters(model, layer) if self._mine(model) else None
