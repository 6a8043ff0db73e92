"""Plain data types shared by the engine, the plugin hooks and the marketplace (no torch at import)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Pooling = Literal["mean", "last", "tokens"]
POOLINGS: tuple[str, ...] = ("mean", "last", "tokens")
ModelKind = Literal["causal", "encoder", "proprietary"]


@dataclass(frozen=True)
class ArchitectureInfo:
    """Architecture metadata of one model, read from its own config (never typed in by hand for runnable models)."""

    name: str
    family: str
    kind: str
    hidden_size: int
    num_layers: int
    num_heads: int | None = None
    num_kv_heads: int | None = None
    activation: str | None = None
    positional_encoding: str | None = None
    vocab_size: int | None = None
    normalization: str | None = None
    max_positions: int | None = None
    runnable: bool = True
    adapter: str = ""
    source: str = ""
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the metadata as a JSON-serializable dict."""
        return asdict(self)


@dataclass(frozen=True)
class ModelSpec:
    """A named model the engine knows how to find: a packaged GGUF, a local HF directory or a hub id."""

    name: str
    family: str
    kind: str
    locate: Any = None  # callable returning a local path (HF dir or .gguf file); None for metadata-only entries
    package: str = ""
    description: str = ""
    runnable: bool = True
    metadata: dict[str, Any] = field(default_factory=dict)  # metadata-only architectures (proprietary rows)


@dataclass
class LoadedModel:
    """A model ready for extraction: the torch module, its tokenizer and what the adapter needs to drive it."""

    name: str
    info: ArchitectureInfo
    model: Any
    tokenizer: Any
    adapter: str
    fingerprint: str
    dtype: str = "float32"
    device: str = "cpu"
    path: str = ""
    # Where the model was found: {"kind": "catalogue" | "path" | "gguf" | "hub" | "endpoint", "location": ...}.
    origin: dict[str, Any] = field(default_factory=dict)

    @property
    def num_layers(self) -> int:
        """Number of transformer blocks; hidden-state layers are numbered 0 (embeddings) .. num_layers."""
        return self.info.num_layers


@dataclass
class TokenStates:
    """Token-level hidden states of one text: states (T, d) float32 and character offsets (T, 2) into the text."""

    states: Any
    offsets: Any


FORWARD_OUTPUTS: tuple[str, ...] = ("hidden_states", "attentions", "logits", "last_hidden_state")


@dataclass
class ForwardOutputs:
    """One tokenized batch and what a forward pass over it returned (torch tensors; model outputs on its device).

    The encoding is always filled: ``input_ids`` and ``attention_mask`` (B, T), right padded; ``offsets`` (B, T, 2)
    character offsets into each text (special tokens (0, 0)); ``content`` (B, T) bool: real, non-special tokens,
    never position 0 (the attention sink). Outputs, only where asked: ``hidden_states`` {layer: (B, T, d)} residual
    stream (layer numbering of the hooks, detached); ``attentions`` per block (B, H, T, T) attention probabilities;
    ``logits`` (B, T, vocab) next-token logits (causal models only); ``last_hidden_state`` (B, T, d) after the final
    norm. Logits, attentions and the last hidden state carry gradients when the caller enables them.
    """

    input_ids: Any
    attention_mask: Any
    offsets: Any
    content: Any
    hidden_states: dict[int, Any] = field(default_factory=dict)
    attentions: Any = None
    logits: Any = None
    last_hidden_state: Any = None
