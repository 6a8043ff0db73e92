"""The plugin host: built-in adapters registered as plugins, third-party ones through entry points.

Built-ins are registered at construction from ``DEFAULT_PLUGINS`` (datasette's shape; ``module`` or
``module:object`` for adapters written as classes). Third-party packages
declare ``[project.entry-points.alignment_plugins]`` and are loaded only by an explicit call to
:func:`load_entrypoint_plugins`, filtered by an allow-list (argument, or the ``ALIGNMENT_PLUGINS_ALLOW``
environment variable: comma-separated entry-point or distribution names, ``*`` for all, empty for none).
Importing this module never imports torch.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import pluggy

from alignment_plugins import PROJECT_NAME, hookspecs

log = logging.getLogger(__name__)

ENTRYPOINT_GROUP = "alignment_plugins"
ALLOW_ENV = "ALIGNMENT_PLUGINS_ALLOW"

DEFAULT_PLUGINS: tuple[str, ...] = (
    "alignment_plugins.catalog",
    "alignment_plugins.architectures.hf_causal:plugin",
    "alignment_plugins.architectures.hf_encoder:plugin",
    "alignment_plugins.architectures.remote:plugin",
    "alignment_plugins.solvers.plugin",
)


@dataclass(frozen=True)
class PluginInfo:
    """One registered plugin: its name, where it came from, its version and the hooks it implements."""

    name: str
    origin: str  # "builtin" or "entrypoint"
    version: str
    hooks: tuple[str, ...]
    distribution: str = ""


class PluginManager(pluggy.PluginManager):
    """A pluggy manager that also records where each plugin came from."""

    def __init__(self) -> None:
        super().__init__(PROJECT_NAME)
        self.add_hookspecs(hookspecs)
        self._origins: dict[str, tuple[str, str, str]] = {}
        self._entrypoints_loaded: set[str] = set()
        from alignment_plugins import __version__

        for target in DEFAULT_PLUGINS:
            module_name, _, attr = target.partition(":")
            module = importlib.import_module(module_name)
            self.register(getattr(module, attr) if attr else module, name=target)
            self._origins[target] = ("builtin", __version__, "alignment_plugins")

    def load_entrypoint_plugins(self, allow: Iterable[str] | None = None) -> list[str]:
        """Load third-party plugins from the entry-point group, keeping only allowed names; return the loaded ones."""
        allowed = _allow_list(allow)
        allowed_dists = {_dist_key(name) for name in allowed or ()}
        loaded: list[str] = []
        for ep in metadata.entry_points(group=ENTRYPOINT_GROUP):
            dist = ep.dist.name if ep.dist is not None else ""
            if allowed is not None and ep.name not in allowed and _dist_key(dist) not in allowed_dists:
                log.info("plugin %s (%s) not in the allow-list; skipped", ep.name, dist)
                continue
            if ep.name in self._entrypoints_loaded or self.has_plugin(ep.name):
                continue
            try:
                plugin = ep.load()
                self.register(plugin, name=ep.name)  # raises on a hookimpl whose arguments match no hookspec
            except Exception as exc:  # a broken third-party plugin must not take the host down
                log.error("plugin %s failed to load: %s", ep.name, exc)
                continue
            version = ep.dist.version if ep.dist is not None else ""
            self._origins[ep.name] = ("entrypoint", version, dist)
            self._entrypoints_loaded.add(ep.name)
            loaded.append(ep.name)
        return loaded

    def plugin_infos(self) -> list[PluginInfo]:
        """Describe every registered plugin (name, origin, version, implemented hooks)."""
        infos = []
        for name, plugin in self.list_name_plugin():
            if plugin is None:
                continue
            origin, version, dist = self._origins.get(name, ("registered", "", ""))
            hooks = tuple(sorted(impl.name for impl in self.get_hookcallers(plugin) or []))
            infos.append(PluginInfo(name=name, origin=origin, version=version, hooks=hooks, distribution=dist))
        return infos

    def solver_classes(self) -> dict[str, type]:
        """Return every mapping adapter (solver class) by name; later plugins override earlier ones."""
        classes: dict[str, type] = {}
        for batch in reversed(self.hook.alignment_mapping_adapters()):
            for cls in batch or []:
                classes[cls.name] = cls
        return classes

    def get_solver(self, name: str, **hyperparams: Any) -> Any:
        """Instantiate the solver registered under `name` with the given hyperparameters."""
        classes = self.solver_classes()
        if name not in classes:
            raise ValueError(f"unknown optimization method {name!r}; available: {', '.join(sorted(classes))}")
        return classes[name](**hyperparams)


def _dist_key(name: str) -> str:
    """Normalize a distribution name as pip does (PEP 503): runs of -, _ and . are equivalent, case-insensitive."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _allow_list(allow: Iterable[str] | None) -> set[str] | None:
    """Return the allowed plugin names, or None for "all"."""
    if allow is None:
        allow = os.environ.get(ALLOW_ENV)
        if allow is None:
            return None
    if isinstance(allow, str):  # "a,b" like the environment variable, not the set of its characters
        allow = allow.split(",")
    names = {name.strip() for name in allow if name.strip()}
    return None if "*" in names else names


_lock = threading.Lock()
_manager: PluginManager | None = None


def get_plugin_manager() -> PluginManager:
    """Return the process-wide plugin manager (built-ins only until load_entrypoint_plugins is called)."""
    global _manager
    with _lock:
        if _manager is None:
            _manager = PluginManager()
        return _manager


def reset_plugin_manager() -> None:
    """Forget the process-wide manager (tests use this to start from the built-ins again)."""
    global _manager
    with _lock:
        _manager = None
