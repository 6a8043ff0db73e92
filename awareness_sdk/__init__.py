"""awareness_sdk: the Python SDK of the W-Matrix marketplace, as the product's documentation uses it.

```python
from awareness_sdk import WMatrixTrainer, Marketplace, CompatibilityChecker, WMatrixMonitor, MultiHopAligner
```

* :class:`Marketplace` — the REST client (``awareness_sdk.marketplace``): listings, estimates, purchases and
  deliveries, W-Matrices, certificates, the support matrix, alignment jobs. httpx only: importing it loads no
  model code.
* ``WMatrixTrainer``, ``CompatibilityChecker``, ``WMatrixMonitor``, ``MultiHopAligner``, ``WMatrix``,
  ``VectorPackage`` — the alignment engine's classes (``alignment_plugins``), re-exported unchanged and imported on
  first use. A class whose engine module is not part of this installation raises an ImportError naming it.
* :func:`steer`, :func:`load_model`, :func:`generate` — apply a delivered vector to a local model
  (``awareness_sdk.steering``; needs the engine's torch extras).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

#: public name -> (module that defines it, where it comes from when the module is missing)
_LAZY: dict[str, tuple[str, str]] = {
    "Marketplace": ("awareness_sdk.marketplace", ""),
    "WMatrixTrainer": ("alignment_plugins.trainer", ""),
    "WMatrix": ("alignment_plugins.wmatrix", ""),
    "VectorPackage": ("alignment_plugins.vector_package", ""),
    "CompatibilityChecker": ("alignment_plugins.compatibility", "issue 9 (pre-purchase estimates)"),
    "WMatrixMonitor": ("alignment_plugins.monitor", "issue 10 (drift monitoring)"),
    "MultiHopAligner": ("alignment_plugins.multihop", "issue 9 (multi-hop alignment)"),
    "steer": ("awareness_sdk.steering", ""),
    "load_model": ("awareness_sdk.steering", ""),
    "generate": ("awareness_sdk.steering", ""),
}

__all__ = ["__version__", *_LAZY]


def engine_module(name: str) -> str:
    """The module that defines public name `name` (e.g. ``alignment_plugins.multihop`` for MultiHopAligner)."""
    return _LAZY[name][0]


def __getattr__(name: str) -> Any:
    """Import a public name on first use; a missing engine module is an ImportError that names it."""
    if name not in _LAZY:
        raise AttributeError(f"module 'awareness_sdk' has no attribute {name!r}")
    module_name, origin = _LAZY[name]
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise ImportError(
            f"awareness_sdk.{name} is defined by {module_name}, which this installation of the alignment engine "
            f"does not have yet" + (f" (added by {origin})" if origin else "") + "; update alignment_plugins",
            name=module_name,
        ) from exc
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
