"""Apply a delivered capability vector to a local model: ``steer()`` around ``generate()``.

```python
from awareness_sdk import Marketplace, load_model, steer, generate

package = market.purchases.vector(purchase)             # the target model's vector package (.vpkg)
model = load_model("gemma3-270m")
with steer(model, package, coefficient=4.0):
    print(generate(model, ["Tell me about your weekend."])[0])
```

The vector is added to the residual stream at its layer (hidden-state layer L = output of block L−1) for every
position while the context is open, through the model's architecture adapter. Needs the engine's torch extras.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from alignment_plugins.models import load_model as _load_model
from alignment_plugins.types import LoadedModel


def load_model(name_or_path: str, *, dtype: str = "float32", device: str = "cpu") -> LoadedModel:
    """Load a model by catalogue name (e.g. ``gemma3-270m``), local directory, ``.gguf`` file or hub id."""
    return _load_model(name_or_path, dtype=dtype, device=device)


def vector_at_layer(vector: Any, layer: int | None = None) -> tuple[int, np.ndarray]:
    """(layer, float32 vector) of a VectorPackage, a CapabilityVector, or a bare array with `layer` given."""
    if hasattr(vector, "layers") and hasattr(vector, "vector") and callable(vector.vector):  # VectorPackage
        if layer is None:
            if len(vector.layers) != 1:
                raise ValueError(f"the package has layers {vector.layers}; say which one with layer=")
            layer = vector.layers[0]
        return int(layer), np.asarray(vector.vector(layer), np.float32)
    if hasattr(vector, "vector") and hasattr(vector, "layer"):  # CapabilityVector
        return int(vector.layer if layer is None else layer), np.asarray(vector.vector, np.float32)
    if layer is None:
        raise ValueError("a bare vector needs layer= (the hidden-state layer it belongs to)")
    return int(layer), np.asarray(vector, np.float32).reshape(-1)


def recommended_coefficient(vector: Any, default: float = 1.0) -> float:
    """The coefficient the vector's seller recommends (package metadata), else `default`."""
    meta = getattr(vector, "metadata", None) or {}
    value = meta.get("recommended_coefficient")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def steer(model: LoadedModel, vector: Any, coefficient: float | None = None, *, layer: int | None = None,
          positions: str = "all") -> contextlib.AbstractContextManager[None]:
    """Context manager adding coefficient·vector to `model`'s residual stream at the vector's layer.

    `coefficient` defaults to the package's recommended coefficient (1 when it names none); the vector must
    have the model's hidden size (ValueError otherwise).
    """
    from alignment_plugins.vectors import steer as engine_steer

    at, v = vector_at_layer(vector, layer)
    if at > model.num_layers:
        raise ValueError(f"layer {at} is beyond {model.name}'s {model.num_layers} blocks")
    scale = recommended_coefficient(vector) if coefficient is None else float(coefficient)
    return engine_steer(model, at, v, scale, positions=positions)


def generate(model: LoadedModel, prompts: Sequence[str] | str, *, max_new_tokens: int = 40) -> list[str]:
    """Greedy continuations (new text only) of `prompts` — steered when called inside :func:`steer`."""
    from alignment_plugins.vectors import generate as engine_generate

    batch = [prompts] if isinstance(prompts, str) else list(prompts)
    return engine_generate(model, batch, max_new_tokens=max_new_tokens)
