"""Fixtures for the marketplace unit tests: toy architectures (d=8 → d=6), small real .wmatrix files, users.

No real model is loaded: the matrices are fitted with the engine's ridge solver on random data, so the services
see genuine .wmatrix files with known metrics.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from marketplace_helpers import D_SOURCE, D_TARGET, DEFAULT_METRICS, LAYER_MAP, vector_bytes, write_test_estimator


@pytest.fixture(autouse=True)
def _test_estimator(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every marketplace test estimates with TEST_ESTIMATOR (marketplace_helpers), not the shipped model."""
    path = write_test_estimator(tmp_path_factory.mktemp("estimator") / "estimator.json")
    settings.RETENTION_ESTIMATOR_FILE = str(path)
    return path


@pytest.fixture
def arch(db: Any) -> Callable[..., Any]:
    """Factory of Architecture rows (runnable, FULL support) with toy dimensions."""
    from marketplace.catalog.models import Architecture

    def make(name: str, hidden_size: int, num_layers: int = 3, **fields: Any) -> Architecture:
        defaults = {"family": "llama", "normalization": "rmsnorm", "positional_encoding": "rope",
                    "activation": "silu", "support_level": Architecture.Support.FULL}
        defaults.update(fields)
        return Architecture.objects.create(name=name, hidden_size=hidden_size, num_layers=num_layers, **defaults)

    return make


@pytest.fixture
def toy(arch: Callable[..., Any]) -> dict[str, Any]:
    """A toy source (d=8, 3 layers), a target (d=6, 2 layers, other family and activation) and a third model."""
    return {
        "source": arch("toy-src", D_SOURCE, 3),
        "target": arch("toy-tgt", D_TARGET, 2, family="gemma3", activation="gelu", weight_fingerprint="sha256:bb"),
        "other": arch("toy-other", 5, 2, family="qwen2"),
    }


@pytest.fixture
def wmatrix_file(tmp_path: Path) -> Callable[..., Path]:
    """Factory: write a small ridge-fitted .wmatrix between two toy models; returns its path."""
    from alignment_plugins.solvers import RidgeSolver
    from alignment_plugins.wmatrix import WMatrix

    def make(source: str = "toy-src", target: str = "toy-tgt", *, d_source: int = D_SOURCE,
             d_target: int = D_TARGET, metrics: dict[str, Any] | None = None, seed: int = 0,
             layer_map: list[tuple[int, int]] | None = None, anchors: dict[str, Any] | None = None,
             name: str | None = None, recommended: tuple[int, int] | None = None) -> Path:
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(200, d_source)) * rng.uniform(0.5, 3.0, size=d_source)
        pairs = layer_map or LAYER_MAP
        maps = {}
        for pair in pairs:
            a = rng.normal(size=(d_source, d_target))
            maps[pair] = RidgeSolver(regularization=1e-3).fit_arrays(x, x @ a + 0.1 * rng.normal(size=(200, d_target)))
        wm = WMatrix(
            source={"name": source, "fingerprint": "sha256:aa", "hidden_size": d_source, "num_layers": 3},
            target={"name": target, "fingerprint": "sha256:bb", "hidden_size": d_target, "num_layers": 2},
            maps=maps, layer_map=pairs, best_pair=(1, 1) if (1, 1) in maps else pairs[0], method="ridge",
            anchors=anchors or {"hash": "sha256:cc", "seed": 0,
                                "counts": {"train": 800, "validation": 100, "test": 100}},
            pair_metrics=DEFAULT_METRICS if metrics is None else metrics, recommended_pair=recommended,
        )
        return wm.save(tmp_path / (name or f"{source}-to-{target}-{seed}.wmatrix"))

    return make


@pytest.fixture
def stored_matrix(
    toy: dict[str, Any], wmatrix_file: Callable[..., Path], django_capture_on_commit_callbacks: Any
) -> Any:
    """The toy-src → toy-tgt matrix stored as v1 (with its certificate)."""
    from marketplace.alignment.matrices import store_matrix

    with django_capture_on_commit_callbacks(execute=True):
        return store_matrix(wmatrix_file())


@pytest.fixture
def users(django_user_model: Any) -> dict[str, Any]:
    """A seller and a buyer (no money yet)."""
    return {
        "seller": django_user_model.objects.create_user("seller", password="x"),
        "buyer": django_user_model.objects.create_user("buyer", password="x"),
    }


@pytest.fixture
def make_listing(users: dict[str, Any], toy: dict[str, Any]) -> Callable[..., Any]:
    """Factory: create a listing through the service (events run only inside a capture block)."""
    from marketplace.catalog.listings import create_listing

    def make(layer: int = 1, price: str = "10", vector: Any = None, seller: Any = None, **fields: Any) -> Any:
        v = np.arange(1, D_SOURCE + 1, dtype=np.float32) if vector is None else vector
        kwargs = {"name": "toy vector", "description": "", "source_model": toy["source"], "capability_domain": "code",
                  "grade": "B"}
        kwargs.update(fields)
        return create_listing(seller=seller or users["seller"], layer=layer, price=Decimal(price),
                              vector_bytes=vector_bytes(v), **kwargs)

    return make
