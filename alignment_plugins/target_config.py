"""A buyer's target configuration — quantization, context length, custom fine-tune — checked and turned into the
retention estimator's features. numpy-free and torch-free.

Every key is either used or refused: an unknown key, an unknown quantization name, a non-positive or too long context
length raise ``TargetConfigError`` (a ValueError) saying what is accepted. Nothing is silently dropped.

* ``quantization``: a weight format name (``fp32``, ``fp16``, ``bf16``, ``int8``, ``int4``, ``nf4`` or a GGUF level
  such as ``q8_0``, ``q4_k_m``); None / "" / ``none`` = unquantized. Feature: ``quantization_loss`` =
  log2(16 / min(bits, 16)) — 0 for 16 bits or more, 1 for 8 bits, 2 for 4 bits.
* ``context_length``: the prompt length the buyer runs at, in tokens; None = short prompts like the retention bench's
  (up to ``SHORT_CONTEXT`` tokens). Feature: ``context_log_ratio`` = log2(max(1, context_length / SHORT_CONTEXT)).
  A length above the target model's maximum positions (when known) is refused.
* ``custom_fine_tune``: None/False (the base weights), True (an unnamed fine-tune), a checkpoint name, a local path
  (compared with the base model's weight fingerprint by the compatibility checker) or a weight fingerprint
  (``sha256:<64 hex>``). It is not an estimator feature: no fine-tune was measured, so an unverified checkpoint gets
  the estimator's wider (per-pair) interval instead — see ``alignment_plugins.compatibility``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "CONFIG_KEYS", "DEFAULT_CONFIG", "SHORT_CONTEXT", "TargetConfigError", "config_features", "normalize_config",
    "quantization_bits",
]

CONFIG_KEYS: tuple[str, ...] = ("quantization", "context_length", "custom_fine_tune")
#: Prompts up to this many tokens count as the retention bench's short prompts (its prompts plus 20 new tokens).
SHORT_CONTEXT = 256
MAX_CONTEXT = 10_000_000
DEFAULT_CONFIG: dict[str, Any] = {"quantization": None, "context_length": None, "custom_fine_tune": None}
FINGERPRINT = re.compile(r"^sha256:[0-9a-f]{64}$")

_UNQUANTIZED = {"none", "fp32", "float32", "f32"}
_BITS = {
    "fp16": 16, "float16": 16, "f16": 16, "bf16": 16, "bfloat16": 16,
    "int8": 8, "qint8": 8, "q8": 8, "q8_0": 8, "q8_1": 8, "q8_k": 8, "fp8": 8,
    "q6_k": 6, "q5_0": 5, "q5_1": 5, "q5_k": 5, "q5_k_s": 5, "q5_k_m": 5,
    "int4": 4, "nf4": 4, "fp4": 4, "q4": 4, "q4_0": 4, "q4_1": 4, "q4_k": 4, "q4_k_s": 4, "q4_k_m": 4,
    "iq4_nl": 4, "iq4_xs": 4, "q3_k": 3, "q3_k_s": 3, "q3_k_m": 3, "q3_k_l": 3, "iq3_xxs": 3, "iq3_s": 3,
    "q2_k": 2, "q2_k_s": 2, "iq2_xxs": 2, "iq2_xs": 2, "iq2_s": 2,
}


class TargetConfigError(ValueError):
    """A target configuration key or value the estimator cannot use (the message says what is accepted)."""


def quantization_bits(name: str | None) -> int:
    """Bits per weight of a quantization name (32 for None / unquantized); TargetConfigError for an unknown name."""
    key = (name or "").strip().lower().replace("-", "_")
    if not key or key in _UNQUANTIZED:
        return 32
    if key not in _BITS:
        raise TargetConfigError(
            f"unknown quantization {name!r}; use one of none, fp32, {', '.join(sorted(_BITS))}")
    return _BITS[key]


def _quantization(value: Any) -> str | None:
    if value is None or value is False:
        return None
    if not isinstance(value, str):
        raise TargetConfigError(f"quantization must be a name such as int8, int4 or q4_k_m, got {value!r}")
    key = value.strip().lower().replace("-", "_")
    return None if quantization_bits(key) == 32 else key


def _context_length(value: Any, max_positions: int | None) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise TargetConfigError(f"context_length must be a whole number of tokens, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TargetConfigError(f"context_length must be a whole number of tokens, got {value!r}") from None
    if not math.isfinite(number) or number != int(number) or not 1 <= number <= MAX_CONTEXT:
        raise TargetConfigError(f"context_length must be a whole number of tokens in 1..{MAX_CONTEXT}, got {value!r}")
    length = int(number)
    if max_positions and length > max_positions:
        raise TargetConfigError(
            f"context_length {length} exceeds the target model's maximum of {max_positions} positions")
    return length


def _fine_tune(value: Any) -> bool | str | None:
    if value is None or value is False or value == "":
        return None
    if value is True:
        return True
    if not isinstance(value, str) or len(value) > 500 or any(ord(c) < 32 for c in value):
        raise TargetConfigError(
            "custom_fine_tune must be true, a checkpoint name, a local checkpoint path or a weight fingerprint "
            f"(sha256:<hex>), at most 500 printable characters; got {value!r:.80}")
    text = value.strip()
    return text.lower() if FINGERPRINT.match(text.lower()) else text


def normalize_config(config: Mapping[str, Any] | None = None, *, max_positions: int | None = None) -> dict[str, Any]:
    """The canonical configuration {quantization, context_length, custom_fine_tune} of `config` (None = defaults).

    Refuses (TargetConfigError) unknown keys and values the estimator cannot use; `max_positions` is the target
    model's longest context in tokens, when known.
    """
    if config is None:
        return dict(DEFAULT_CONFIG)
    if not isinstance(config, Mapping):
        raise TargetConfigError(f"target_config must be an object with keys {list(CONFIG_KEYS)}, got {config!r:.80}")
    unknown = sorted(str(k) for k in config if k not in CONFIG_KEYS)
    if unknown:
        raise TargetConfigError(f"unknown target_config key(s) {unknown}; accepted: {list(CONFIG_KEYS)}")
    return {
        "quantization": _quantization(config.get("quantization")),
        "context_length": _context_length(config.get("context_length"), max_positions),
        "custom_fine_tune": _fine_tune(config.get("custom_fine_tune")),
    }


def config_features(config: Mapping[str, Any]) -> dict[str, float]:
    """The estimator's features of a normalized configuration: quantization_loss and context_log_ratio (log2)."""
    bits = quantization_bits(config.get("quantization"))
    length = config.get("context_length")
    return {
        "quantization_loss": math.log2(16 / min(bits, 16)),
        "context_log_ratio": math.log2(max(1.0, length / SHORT_CONTEXT)) if length else 0.0,
    }
