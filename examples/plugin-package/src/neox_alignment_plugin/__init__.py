"""GPT-NeoX (Pythia) architecture adapter for the alignment engine, loaded through the ``alignment_plugins`` entry
point ``neox = "neox_alignment_plugin:plugin"``.

GPT-NeoX differs from the built-in decoders in two ways the engine must know: a *parallel* residual (attention and
MLP read the same block input and both add to it, ``use_parallel_residual``), and *partial* rotary embeddings
(only ``rotary_pct`` of each head's dimensions are rotated). Neither changes the residual-stream conventions: layer
0 is the embeddings (``embed_in``), layer i the output of block i, before ``final_layer_norm``. So the adapter reuses
the engine's Hugging Face machinery (block discovery, pooling, offsets, injection, residual edits, forward passes,
downstream parameters) and describes the architecture from the model's own config.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from alignment_plugins import hookimpl
from alignment_plugins.architectures.hf_common import HFArchitectureAdapter
from alignment_plugins.types import ArchitectureInfo

__version__ = "0.1.0"


class GPTNeoXAdapter(HFArchitectureAdapter):
    """Causal GPT-NeoX language models through AutoModelForCausalLM."""

    adapter = "neox"  # LoadedModel.adapter: the hooks that take a model answer only for this value
    kind = "causal"
    auto_class = "AutoModelForCausalLM"
    families = {"gpt_neox": "gpt_neox"}  # noqa: RUF012 - config.model_type -> family

    @hookimpl  # an override is a new function: mark it again
    def alignment_describe_architecture(self, config: Any, name: str) -> ArchitectureInfo | None:
        """Describe a GPT-NeoX model from its config (partial rotary noted in the positional encoding), else None."""
        info = super().alignment_describe_architecture(config=config, name=name)
        if info is None:
            return None
        rotary = getattr(config, "rotary_pct", None)
        if rotary is None:
            rotary = (getattr(config, "rope_parameters", None) or {}).get("partial_rotary_factor")
        if rotary is not None and float(rotary) < 1.0:
            info = replace(info, positional_encoding=f"rope (partial, {float(rotary):g} of each head)")
        return info


plugin = GPTNeoXAdapter()
