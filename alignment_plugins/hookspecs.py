"""Hook contracts of the alignment plugin host (pluggy).

Architecture adapters answer the ``firstresult`` hooks for the models they handle and return ``None`` for the
others; plugins registered later are asked first, so a third-party adapter can take over a family. Mapping
adapters (solvers) and model catalogues are collected from every plugin.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import pluggy

from alignment_plugins.types import ArchitectureInfo, ForwardOutputs, LoadedModel, ModelSpec

hookspec = pluggy.HookspecMarker("alignment_plugins")


@hookspec
def alignment_known_models() -> list[ModelSpec]:
    """Return the named models this plugin ships or knows (packaged weights, metadata-only architectures)."""


@hookspec(firstresult=True)
def alignment_describe_architecture(config: Any, name: str) -> ArchitectureInfo | None:
    """Return architecture metadata read from a transformers config, or None if this adapter does not handle it."""


@hookspec(firstresult=True)
def alignment_load_model(name: str, path: str, config: Any, dtype: str, device: str) -> LoadedModel | None:
    """Load the model stored at a local path (HF directory) for extraction, or None if not handled."""


@hookspec(firstresult=True)
def alignment_extract_hidden_states(
    model: LoadedModel, texts: list[str], layers: list[int], pooling: str, max_length: int
) -> dict[int, Any] | None:
    """Return {layer: float32 array (len(texts), d)} pooled states, or per-text TokenStates lists for "tokens".

    Each text is truncated to `max_length` tokens (special tokens included) before the forward pass.
    """


@hookspec(firstresult=True)
def alignment_token_offsets(model: LoadedModel, texts: list[str]) -> list[list[tuple[int, int]]] | None:
    """Return per-text character offsets (start, end) of every token the model sees, special tokens as (0, 0)."""


@hookspec(firstresult=True)
def alignment_inject_vector(
    model: LoadedModel, layer: int, vector: Any, coefficient: float, positions: str
) -> AbstractContextManager[None] | None:
    """Return a context manager adding coefficient·vector to the residual stream read at `layer` while active."""


@hookspec(firstresult=True)
def alignment_edit_residual(model: LoadedModel, layer: int, edit: Any) -> AbstractContextManager[None] | None:
    """Return a context manager replacing the residual stream read at `layer` by edit(states (B, T, d)) while active."""


@hookspec(firstresult=True)
def alignment_forward(
    model: LoadedModel, texts: list[str], layers: list[int], outputs: list[str], max_length: int
) -> ForwardOutputs | None:
    """Tokenize `texts` and run one forward pass returning ForwardOutputs with the `outputs` named (none: no pass)."""


@hookspec(firstresult=True)
def alignment_downstream_parameters(model: LoadedModel, layer: int) -> list[Any] | None:
    """Return the torch parameters acting after hidden-state `layer` (later blocks, final norm, head; no embeddings)."""


@hookspec
def alignment_mapping_adapters() -> list[type]:
    """Return solver classes (subclasses of alignment_plugins.solvers.Solver) keyed by their ``name``."""
