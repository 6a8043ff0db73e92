"""bench/device_check.py: its comparison passes equal runs and flags each kind of disagreement it promises to catch."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "device_check.py"


@pytest.fixture(scope="module")
def device_check() -> Any:
    spec = importlib.util.spec_from_file_location("device_check", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    transforms = {"1->1": rng.normal(size=(4, 8)), "2->1": rng.normal(size=(4, 8))}
    return {"recommended_pair": [2, 1], "transforms": transforms,
            "vector": rng.normal(size=8), "weddings_effects": rng.normal(size=(2, 6)),
            "generations": {4.0: ["a b", "c"], -4.0: ["d", "e f"]}}


def test_equal_runs_pass(device_check: Any) -> None:
    result = device_check.compare(_run(), _run())
    assert result["ok"] and result["map_relative_error"] == 0.0 and result["identical_generations"] == "4/4"


@pytest.mark.parametrize("change", ["pair", "map", "vector", "effect"])
def test_each_disagreement_fails(device_check: Any, change: str) -> None:
    other = _run()
    if change == "pair":
        other["recommended_pair"] = [1, 1]
    elif change == "map":
        other["transforms"]["2->1"] = other["transforms"]["2->1"] * 1.01
    elif change == "vector":
        other["vector"] = other["vector"] + np.random.default_rng(5).normal(size=8) * 0.1
    else:
        other["weddings_effects"] = other["weddings_effects"] + 0.01
    assert not device_check.compare(_run(), other)["ok"]


def test_generation_differences_are_reported_not_failed(device_check: Any) -> None:
    other = _run()
    other["generations"] = {4.0: ["a b", "x"], -4.0: ["d", "e f"]}
    result = device_check.compare(_run(), other)
    assert result["ok"] and result["identical_generations"] == "3/4"
