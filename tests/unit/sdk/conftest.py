"""Fixtures of the SDK tests: tiny models under marketplace names, a matrix trained by the train example, and a live
marketplace (pytest-django's live_server: SQLite, eager Celery) with a seller and a funded buyer holding API keys.

The examples run here with the tiny models (``--source``/``--target`` point at them); their defaults are the real
packaged models users run.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sdk_helpers import (
    BUYER_FUNDS,
    SOURCE,
    TARGET,
    TINY_ANCHORS,
    LiveMarket,
    management_command,
    register_tiny_architecture,
    run_example,
)


@pytest.fixture(scope="session")
def tiny_models_root(tiny_model: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding copies of the tiny llama and gemma3 models as ``tiny-llama`` and ``tiny-gemma3``."""
    root = tmp_path_factory.mktemp("sdk-models")
    for name, family in ((SOURCE, "llama"), (TARGET, "gemma3")):
        shutil.copytree(tiny_model(family), root / name)
    return root


@pytest.fixture(scope="session")
def trained_matrix(tiny_models_root: Path, alignment_cache_dir: Path, tmp_path_factory: pytest.TempPathFactory
                   ) -> Path:
    """tiny-llama → tiny-gemma3 trained by ``examples/train_matrix.py`` (120 anchors, one torch thread)."""
    import torch

    out = tmp_path_factory.mktemp("sdk-matrix") / "tiny.wmatrix"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("ALIGNMENT_CACHE_DIR", str(alignment_cache_dir))
            printed = run_example("train_matrix", "--source", str(tiny_models_root / SOURCE), "--target",
                                  str(tiny_models_root / TARGET), "--num-anchors", str(TINY_ANCHORS), "--out",
                                  str(out))
    finally:
        torch.set_num_threads(threads)
    assert "Training complete" in printed and out.is_file()
    return out


@pytest.fixture
def live_market(live_server: Any, transactional_db: None, settings: Any, tmp_path: Path, trained_matrix: Path,
                tiny_models_root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveMarket]:
    """The marketplace at live_server.url with the two tiny models registered and the trained matrix stored
    (``manage.py store_matrix``); keys issued by ``manage.py issue_api_key``. The working directory is the models'
    folder, so the service finds ``tiny-llama``/``tiny-gemma3`` by name as it finds catalogue models."""
    from django.core.cache import cache

    cache.clear()  # fresh throttle counters
    settings.MEDIA_ROOT = tmp_path / "media"
    # Stitching metrics of each new matrix load both models and take ~10 s here; tests/unit/test_stitching.py and
    # the marketplace's task tests cover them.
    settings.MEASURE_STITCHING_ON_NEW_MATRIX = False
    monkeypatch.chdir(tiny_models_root)
    for name in (SOURCE, TARGET):
        register_tiny_architecture(name, tiny_models_root / name)
    stored = management_command("store_matrix", str(trained_matrix))
    matrix_id = stored.split()[0]
    seller_key = management_command("issue_api_key", "seller", "--create")
    buyer_key = management_command("issue_api_key", "buyer", "--create", "--deposit", str(BUYER_FUNDS))
    yield LiveMarket(url=live_server.url, seller_key=seller_key, buyer_key=buyer_key, matrix_id=matrix_id,
                     models_root=tiny_models_root)
