"""Registers the built-in solvers as mapping adapters."""

from __future__ import annotations

from alignment_plugins import hookimpl
from alignment_plugins.solvers import BUILTIN_SOLVERS


@hookimpl
def alignment_mapping_adapters() -> list[type]:
    """Return the built-in solver classes: svd (Procrustes), ridge, cca, lowrank."""
    return list(BUILTIN_SOLVERS.values())
