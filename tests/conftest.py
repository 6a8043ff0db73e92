"""Shared fixtures: an isolated engine cache, a fresh plugin host per test and session-cached tiny models."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def alignment_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One engine cache directory (fingerprints, activations) for the whole test session."""
    return tmp_path_factory.mktemp("alignment-cache")


def load_bench(name: str) -> Any:
    """bench/<name>.py as a module (benches are scripts, not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        f"{name}_under_test", Path(__file__).resolve().parents[1] / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def bench() -> Any:
    """bench/retention_bench.py as a module (its helpers, statistics and report pieces)."""
    return load_bench("retention_bench")


@pytest.fixture(scope="session")
def quality_bench() -> Any:
    """bench/quality_bench.py as a module (its resume and table helpers)."""
    return load_bench("quality_bench")


@pytest.fixture(autouse=True)
def _isolated_engine(
    request: pytest.FixtureRequest, alignment_cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Start every test from the built-in plugins, ignoring the caller's allow-list.

    Unit tests also get the session's temporary ALIGNMENT_CACHE_DIR and no loaded models; integration tests keep
    the real cache and loaded models (the packaged models are converted once into it and are slow to reload).
    """
    from alignment_plugins.manager import reset_plugin_manager
    from alignment_plugins.models import clear_loaded_models  # imports no torch

    unit = request.node.get_closest_marker("integration") is None
    if unit:
        monkeypatch.setenv("ALIGNMENT_CACHE_DIR", str(alignment_cache_dir))
    monkeypatch.delenv("ALIGNMENT_PLUGINS_ALLOW", raising=False)

    def _reset() -> None:
        reset_plugin_manager()
        if unit:
            clear_loaded_models()

    _reset()
    yield
    _reset()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Factory: tiny_model("llama") -> directory of a tiny seeded model of that family (each built once)."""
    from tiny_models import build_tiny_model

    root = tmp_path_factory.mktemp("tiny-models")
    built: dict[str, Path] = {}

    def _get(family: str) -> Path:
        if family not in built:
            built[family] = build_tiny_model(family, root)
        return built[family]

    return _get


@pytest.fixture
def sent_tasks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list, str]]:
    """Record every marketplace task sent (name, args, the queue Celery's router picks) instead of running it."""
    from marketplace.celery import TaskName, app

    calls: list[tuple[str, list, str]] = []
    app.loader.import_default_modules()  # every task module, as a worker imports them (outbox's too)
    for name in TaskName:
        def apply_async(args: Any = None, kwargs: Any = None, _name: str = name.value, **options: Any) -> None:
            queue = app.amqp.router.route(dict(options), _name, args, kwargs)["queue"].name
            calls.append((_name, list(args or ()), queue))

        monkeypatch.setattr(app.tasks[name.value], "apply_async", apply_async)
    return calls


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """One torch thread for a module: tiny models gain nothing from intra-op threads, and OpenMP spinning makes them
    ~30x slower on a busy machine."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def llama(tiny_model: Callable[[str], Path]) -> Any:
    """The tiny llama (untied lm_head), loaded through the plugin host."""
    from alignment_plugins import models

    return models.load_model(str(tiny_model("llama")))
