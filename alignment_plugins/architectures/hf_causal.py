"""Built-in adapter for Hugging Face decoder-only (causal) language models.

Handles the llama, gemma (1–3), qwen2/3, mistral, gpt2, phi/phi3 families (and relatives whose blocks form one
``ModuleList``); torch and transformers are imported only when a model is loaded.
"""

from __future__ import annotations

from alignment_plugins.architectures.hf_common import HFArchitectureAdapter


class HFCausalAdapter(HFArchitectureAdapter):
    """Causal LMs: residual stream read after each decoder block; BOS and position 0 never pooled."""

    adapter = "hf_causal"
    kind = "causal"
    auto_class = "AutoModelForCausalLM"
    families = {  # noqa: RUF012
        "llama": "llama",
        "gemma": "gemma",
        "gemma2": "gemma2",
        "gemma3": "gemma3",
        "gemma3_text": "gemma3",
        "qwen2": "qwen2",
        "qwen3": "qwen3",
        "mistral": "mistral",
        "gpt2": "gpt2",
        "phi": "phi",
        "phi3": "phi3",
        "olmo2": "olmo2",
        "granite": "granite",
    }


plugin = HFCausalAdapter()
