"""The SDK's public names: the documented imports resolve lazily, the REST client loads no model code, and an
engine class whose module is not installed is an ImportError that names the module."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest
from sdk_helpers import ROOT

import awareness_sdk

DOCUMENTED = ("WMatrixTrainer", "Marketplace", "CompatibilityChecker", "WMatrixMonitor", "MultiHopAligner")


def test_the_rest_client_imports_no_torch_transformers_or_django() -> None:
    code = ("import sys, awareness_sdk; from awareness_sdk import Marketplace; Marketplace(base_url='http://x'); "
            "import awareness_sdk.types, awareness_sdk.errors; "
            "print(sorted(m for m in ('torch', 'transformers', 'django') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_wmatrix_trainer_is_the_engines_with_the_documented_signature() -> None:
    from alignment_plugins.trainer import WMatrixTrainer as engine
    from awareness_sdk import WMatrixTrainer

    assert WMatrixTrainer is engine
    assert {"source_model", "target_model"} <= set(inspect.signature(WMatrixTrainer).parameters)
    assert {"num_anchors", "anchor_domains", "layers", "optimization", "regularization"} <= set(
        inspect.signature(WMatrixTrainer.configure).parameters)
    assert {"epochs", "validation_split", "early_stopping_patience"} <= set(
        inspect.signature(WMatrixTrainer.train).parameters)
    from alignment_plugins.wmatrix import WMatrix

    assert all(isinstance(getattr(WMatrix, a), property) for a in ("accuracy", "reconstruction_error"))
    assert callable(WMatrix.save)


@pytest.mark.parametrize("name", [n for n in DOCUMENTED if n not in ("WMatrixTrainer", "Marketplace")])
def test_a_missing_engine_module_is_an_import_error_naming_it(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An installation whose engine lacks the module (simulated: the name points at a module that does not exist)."""
    absent = f"alignment_plugins._not_installed_{name.lower()}"
    monkeypatch.setitem(awareness_sdk._LAZY, name, (absent, "a later engine release"))
    monkeypatch.delitem(vars(awareness_sdk), name, raising=False)  # not resolved and cached yet
    with pytest.raises(ImportError, match=absent.replace(".", r"\.")) as info:
        exec(f"from awareness_sdk import {name}", {})
    assert info.value.name == awareness_sdk.engine_module(name) == absent


def test_compatibility_checker_has_the_documented_estimate() -> None:
    from awareness_sdk import CompatibilityChecker

    assert {"vector_listing", "target_model", "target_config"} <= set(
        inspect.signature(CompatibilityChecker.estimate).parameters)


def test_monitor_has_the_documented_check() -> None:
    from awareness_sdk import WMatrixMonitor

    assert callable(WMatrixMonitor.check)


def test_multihop_aligner_has_the_documented_find_optimal_path() -> None:
    from awareness_sdk import MultiHopAligner

    assert {"source", "target"} <= set(inspect.signature(MultiHopAligner.find_optimal_path).parameters)


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError):
        awareness_sdk.NoSuchThing  # noqa: B018
    assert set(DOCUMENTED) <= set(dir(awareness_sdk))
