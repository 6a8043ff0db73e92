"""Weight-quantized copies of a model: what a buyer's int8 / int4 deployment does to the weights, on any CPU.

A copy's 2-D weight matrices (whose last dimension is a multiple of the format's block size) go through a GGML
quantization type and back with gguf's numpy quantizer — ``Q8_0`` (8 bits per weight, one scale per 32), ``Q4_0``
(4 bits, one scale per 32), ``Q4_1`` / ``Q5_0`` / ``Q5_1`` — so the copy runs in float32 like any model here while
carrying exactly the rounding error of that format. Norms, biases and other 1-D tensors are left as they are, as
llama.cpp does. The copy is saved as a plain HF directory (with the source's tokenizer files); its weight
fingerprint is new, as a buyer's quantized file's would be.

Used by ``bench/retention_bench.py --quantization`` (retention measured on quantized targets, the learned estimator's
quantization feature) and ``bench/drift_bench.py`` (a requantized copy as a drift case).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

__all__ = ["load_float32", "quantization_name", "quantized_copy", "requantize_weights", "save_copy"]


def _qtype(quant: str) -> Any:
    """The gguf quantization type called `quant` (case-insensitive); ValueError naming the supported ones."""
    import gguf
    from gguf import quants

    names = sorted(t.name for t in gguf.GGMLQuantizationType if t.name.startswith("Q") and _supported(quants, t))
    try:
        qtype = gguf.GGMLQuantizationType[str(quant).upper()]
    except KeyError:
        qtype = None
    if qtype is None or qtype.name not in names:
        raise ValueError(f"unknown or unsupported GGML quantization {quant!r}; use one of {', '.join(names)}")
    return qtype


def _supported(quants: Any, qtype: Any) -> bool:
    """Whether gguf's numpy code can both quantize and dequantize `qtype` (K-quants only dequantize)."""
    import numpy as np

    try:
        import gguf

        block = gguf.GGML_QUANT_SIZES[qtype][0]
        quants.dequantize(quants.quantize(np.zeros((1, block), dtype=np.float32), qtype), qtype)
    except Exception:  # any failure means "not usable here"
        return False
    return True


def quantization_name(quant: str) -> str:
    """The configuration name of a GGML type for ``target_config`` (``"Q8_0"`` → ``"q8_0"``), validated."""
    return _qtype(quant).name.lower()


def requantize_weights(model: Any, quant: str) -> int:
    """Round-trip every eligible 2-D weight of a torch `model` through GGML `quant`, in place; return how many."""
    import gguf
    import torch
    from gguf import quants

    qtype = _qtype(quant)
    block = gguf.GGML_QUANT_SIZES[qtype][0]
    changed = 0
    with torch.no_grad():
        for param in model.parameters():
            if param.ndim == 2 and param.shape[-1] % block == 0:
                array = param.detach().float().cpu().numpy()
                back = quants.dequantize(quants.quantize(array, qtype), qtype).reshape(array.shape)
                param.copy_(torch.from_numpy(back).to(param.dtype))
                changed += 1
    return changed


def load_float32(path: Path | str) -> tuple[Any, bool]:
    """(model, is_causal_lm) of a local HF directory in float32: the causal-LM class when the config names one."""
    import transformers

    config = transformers.AutoConfig.from_pretrained(path)
    causal = bool(getattr(config, "architectures", None)) and any(
        a.endswith("ForCausalLM") for a in config.architectures)
    auto = transformers.AutoModelForCausalLM if causal else transformers.AutoModel
    return auto.from_pretrained(path, dtype="float32"), causal


def save_copy(model: Any, source: Path | str, out: Path | str) -> Path:
    """Save `model` to `out` with the tokenizer files of `source` (no conversion record: a new fingerprint)."""
    source, out = Path(source), Path(out)
    model.save_pretrained(out)
    for item in source.iterdir():
        if item.is_file() and ("token" in item.name or item.name.endswith((".model", ".txt", ".json"))) and not (
                out / item.name).exists() and item.name != "alignment-conversion.json":
            shutil.copy2(item, out / item.name)
    return out


def quantized_copy(source: Path | str, out: Path | str, quant: str) -> Path:
    """Write to `out` (once: an existing complete copy is reused) the model at `source` with its weights through
    GGML `quant`; return `out`."""
    source, out = Path(source), Path(out)
    name = _qtype(quant).name  # a bad name fails before any loading
    marker = out / "alignment-requantized.txt"
    if marker.is_file() and marker.read_text().strip() == name:
        return out
    if out.exists():
        shutil.rmtree(out)
    model, _ = load_float32(source)
    requantize_weights(model, name)
    save_copy(model.eval(), source, out)
    marker.write_text(name + "\n")
    return out
