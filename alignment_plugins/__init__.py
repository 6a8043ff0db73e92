"""W-Matrix alignment engine: a Django-free library and pluggy plugin host.

The public API is imported lazily so that ``import alignment_plugins`` stays cheap (the web process and the
CPU worker must never import torch).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

import pluggy

__version__ = "0.1.0"

PROJECT_NAME = "alignment_plugins"
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

_LAZY = {
    "WMatrix": "alignment_plugins.wmatrix",
    "WMatrixTrainer": "alignment_plugins.trainer",
    "WMatrixMonitor": "alignment_plugins.monitor",
    "AnchorSet": "alignment_plugins.anchors",
    "load_anchors": "alignment_plugins.anchors",
    "get_plugin_manager": "alignment_plugins.manager",
    "load_model": "alignment_plugins.models",
    "VectorPackage": "alignment_plugins.vector_package",
}

__all__ = ["__version__", "hookimpl", *_LAZY]


def __getattr__(name: str) -> Any:
    """Resolve a public name on first use (keeps torch out of processes that only need metadata)."""
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'alignment_plugins' has no attribute {name!r}")
