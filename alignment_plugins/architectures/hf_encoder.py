"""Built-in adapter for Hugging Face encoders (bert, mpnet, roberta and relatives).

Pooling skips [CLS], [SEP] and padding; torch and transformers are imported only when a model is loaded.
"""

from __future__ import annotations

from alignment_plugins.architectures.hf_common import HFArchitectureAdapter


class HFEncoderAdapter(HFArchitectureAdapter):
    """Bidirectional encoders: hidden states read after each encoder block."""

    adapter = "hf_encoder"
    kind = "encoder"
    auto_class = "AutoModel"
    families = {  # noqa: RUF012
        "bert": "bert",
        "mpnet": "mpnet",
        "roberta": "roberta",
        "xlm-roberta": "xlm-roberta",
        "distilbert": "distilbert",
        "electra": "electra",
    }


plugin = HFEncoderAdapter()
