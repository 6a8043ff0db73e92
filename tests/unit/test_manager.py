"""The plugin host: built-in plugins, solver lookup and third-party plugins loaded from entry points.

The third-party tests write a real installed-package layout (a module plus its ``.dist-info`` with
``METADATA`` and ``entry_points.txt``) into a temporary directory put on ``sys.path``, so
``importlib.metadata`` discovers it exactly as it would a pip-installed plugin.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from alignment_plugins import __version__, models
from alignment_plugins.manager import (
    ALLOW_ENV,
    DEFAULT_PLUGINS,
    ENTRYPOINT_GROUP,
    PluginManager,
    get_plugin_manager,
    reset_plugin_manager,
)
from alignment_plugins.solvers import Solver

BUILTIN_SOLVERS = {"svd", "ridge", "cca", "lowrank"}
ARCH_HOOKS = (
    "alignment_describe_architecture",
    "alignment_downstream_parameters",
    "alignment_edit_residual",
    "alignment_extract_hidden_states",
    "alignment_forward",
    "alignment_inject_vector",
    "alignment_load_model",
    "alignment_token_offsets",
)


# ---------------------------------------------------------------------- built-ins
def test_builtin_plugins_are_registered_with_their_hooks() -> None:
    infos = {info.name: info for info in get_plugin_manager().plugin_infos()}
    assert set(infos) == set(DEFAULT_PLUGINS)
    for info in infos.values():
        assert info.origin == "builtin"
        assert info.version == __version__
        assert info.distribution == "alignment_plugins"
        assert info.hooks
    assert infos["alignment_plugins.catalog"].hooks == ("alignment_known_models",)
    assert infos["alignment_plugins.solvers.plugin"].hooks == ("alignment_mapping_adapters",)
    assert infos["alignment_plugins.architectures.hf_causal:plugin"].hooks == ARCH_HOOKS
    assert infos["alignment_plugins.architectures.hf_encoder:plugin"].hooks == ARCH_HOOKS
    assert infos["alignment_plugins.architectures.remote:plugin"].hooks == (
        "alignment_extract_hidden_states", "alignment_load_model", "alignment_token_offsets")


def test_manager_is_process_wide_and_resettable() -> None:
    pm = get_plugin_manager()
    assert isinstance(pm, PluginManager)
    assert get_plugin_manager() is pm
    reset_plugin_manager()
    assert get_plugin_manager() is not pm


def test_solver_classes_include_the_builtins() -> None:
    classes = get_plugin_manager().solver_classes()
    assert set(classes) >= BUILTIN_SOLVERS
    for name, cls in classes.items():
        assert issubclass(cls, Solver) and cls.name == name
    batches = get_plugin_manager().hook.alignment_mapping_adapters()
    assert {cls.name for batch in batches for cls in batch} >= BUILTIN_SOLVERS


def test_get_solver() -> None:
    solver = get_plugin_manager().get_solver("ridge", regularization=0.5)
    assert solver.name == "ridge" and solver.hyperparams["regularization"] == 0.5
    with pytest.raises(ValueError, match=r"unknown optimization method 'nope'; available: cca, lowrank, ridge, svd"):
        get_plugin_manager().get_solver("nope")


def test_known_models_come_from_the_catalogue_plugin() -> None:
    known = models.known_models()
    assert {"smollm2-135m-instruct", "gemma3-270m", "all-minilm-l6-v2", "gpt-4"} <= set(known)
    assert not known["gpt-4"].runnable
    info = models.model_info("gpt-4")
    assert info.kind == "proprietary" and not info.runnable
    with pytest.raises(models.ModelNotRunnableError):
        models.resolve("gpt-4")


def test_plugin_host_never_imports_torch() -> None:
    code = (
        "import sys; from alignment_plugins.manager import get_plugin_manager; from alignment_plugins import models; "
        "pm = get_plugin_manager(); pm.solver_classes(); models.known_models(); pm.load_entrypoint_plugins(); "
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'torch imported'"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------------- third-party plugins
DEMO_MODULE = '''
"""A third-party alignment plugin, as a package author would write it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from alignment_plugins import hookimpl
from alignment_plugins.solvers import Solver, pseudo_inverse
from alignment_plugins.types import ModelSpec

MODEL_DIR = Path({model_dir!r})


class DemoMeanSolver(Solver):
    """Scaled identity in normalized coordinates: y~ = c * I x~, c the least-squares scale."""

    name: ClassVar[str] = "demo-mean"
    description: ClassVar[str] = "Scaled identity map (demo plugin)."
    defaults: ClassVar[dict[str, Any]] = {{"shrink": 1.0}}

    def validate_hyperparams(self, params: dict[str, Any]) -> dict[str, Any]:
        params["shrink"] = self._nonneg_float("shrink", params["shrink"])
        return params

    def fit(self, stats):
        prob = self.prepare(stats)
        eye = np.eye(prob.cyy.shape[0], prob.cxx.shape[0])
        scale = float(np.trace(eye @ prob.cxy)) / float(np.trace(eye.T @ eye @ prob.cxx))
        weight = self.hyperparams["shrink"] * scale * eye
        return self.make_map(prob, weight, pseudo_inverse(weight), scale=scale)


@hookimpl
def alignment_mapping_adapters():
    return [DemoMeanSolver]


@hookimpl
def alignment_known_models():
    return [ModelSpec(name="demo-tiny-llama", family="llama", kind="causal", locate=lambda: MODEL_DIR,
                      package="demo-alignment-plugin", description="tiny llama shipped by the demo plugin")]
'''

BROKEN_MODULES = {
    "raises": 'raise RuntimeError("this plugin is broken on purpose")\n',
    "bad-signature": textwrap.dedent(
        """
        from alignment_plugins import hookimpl
        from alignment_plugins.types import ModelSpec

        @hookimpl
        def alignment_known_models():
            return [ModelSpec(name="broken-model", family="llama", kind="causal")]

        @hookimpl
        def alignment_mapping_adapters(no_such_argument):
            return []
        """
    ),
}


def install_fake_distribution(site: Path, module: str, dist_name: str, version: str, entry_name: str,
                              source: str) -> None:
    """Write `module`.py and its dist-info (METADATA, entry_points.txt) as pip would into `site`."""
    (site / f"{module}.py").write_text(source)
    info = site / f"{module}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[{ENTRYPOINT_GROUP}]\n{entry_name} = {module}\n")
    (info / "RECORD").write_text("")


@pytest.fixture
def demo_model_dir(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Where the demo plugin's model lives: the tiny llama when parametrized with "tiny", else a placeholder
    (building a model needs torch; most plugin tests only need the host)."""
    if getattr(request, "param", None) == "tiny":
        return request.getfixturevalue("tiny_model")("llama")
    return tmp_path / "no-model-here"


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_model_dir: Path) -> Path:
    """A site-packages-like directory on sys.path holding the demo plugin distribution."""
    site = tmp_path / "site-packages"
    site.mkdir()
    install_fake_distribution(site, "demo_alignment_plugin", "demo-alignment-plugin", "0.1.0", "demo",
                              DEMO_MODULE.format(model_dir=str(demo_model_dir)))
    monkeypatch.syspath_prepend(str(site))
    for name in ("demo_alignment_plugin", "broken_alignment_plugin"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    yield site
    for name in ("demo_alignment_plugin", "broken_alignment_plugin"):
        sys.modules.pop(name, None)


def _names(pm: PluginManager) -> set[str]:
    return {info.name for info in pm.plugin_infos()}


def test_entrypoint_plugins_are_not_loaded_implicitly(site: Path) -> None:
    pm = get_plugin_manager()
    assert "demo" not in _names(pm)
    assert "demo_alignment_plugin" not in sys.modules
    assert "demo-mean" not in pm.solver_classes()
    assert "demo-tiny-llama" not in models.known_models()
    with pytest.raises(ValueError, match="available"):
        pm.get_solver("demo-mean")


@pytest.mark.parametrize("allow", [None, "*", ["*"], ("ridge", "*"), "other, *"])
def test_entrypoint_plugin_loaded_when_allowed(site: Path, allow) -> None:
    pm = get_plugin_manager()
    assert "demo" in pm.load_entrypoint_plugins(allow)
    assert pm.load_entrypoint_plugins(allow) == []  # idempotent
    info = {info.name: info for info in pm.plugin_infos()}["demo"]
    assert info.origin == "entrypoint"
    assert info.version == "0.1.0"
    assert info.distribution == "demo-alignment-plugin"
    assert info.hooks == ("alignment_known_models", "alignment_mapping_adapters")
    assert set(pm.solver_classes()) >= {*BUILTIN_SOLVERS, "demo-mean"}


def test_entrypoint_solver_fits(site: Path) -> None:
    pm = get_plugin_manager()
    pm.load_entrypoint_plugins()
    solver = pm.get_solver("demo-mean")
    assert type(solver).__module__ == "demo_alignment_plugin"
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 6))
    y = 2.0 * x + 3.0
    fitted = solver.fit_arrays(x, y)
    assert fitted.method == "demo-mean"
    assert fitted.hyperparams["scale"] == pytest.approx(1.0)
    np.testing.assert_allclose(fitted.transform(x), y, atol=1e-8)
    np.testing.assert_allclose(fitted.inverse(y), x, atol=1e-8)
    with pytest.raises(TypeError, match="unknown hyperparameter"):
        pm.get_solver("demo-mean", rank=3)


@pytest.mark.parametrize("demo_model_dir", ["tiny"], indirect=True)
def test_entrypoint_model_is_known_and_runnable(site: Path, demo_model_dir: Path) -> None:
    get_plugin_manager().load_entrypoint_plugins()
    spec = models.known_models()["demo-tiny-llama"]
    assert spec.family == "llama" and spec.package == "demo-alignment-plugin"
    name, path, resolved = models.resolve("demo-tiny-llama")
    assert (name, Path(path), resolved.name) == ("demo-tiny-llama", demo_model_dir, "demo-tiny-llama")
    info = models.model_info("demo-tiny-llama")
    assert info.family == "llama" and info.hidden_size == 32 and info.name == "demo-tiny-llama"


@pytest.mark.parametrize("allow", [[], "", ["someone-else"], ["demo-mean"], "dem", "d,e,m,o"])
def test_allow_list_argument_excludes(site: Path, allow) -> None:
    pm = get_plugin_manager()
    assert pm.load_entrypoint_plugins(allow) == []
    assert "demo" not in _names(pm)
    assert "demo_alignment_plugin" not in sys.modules  # skipped plugins are not even imported


@pytest.mark.parametrize(
    "allow", [["demo"], "demo", " other , demo ", ["demo-alignment-plugin"], ["demo_alignment_plugin"]]
)
def test_allow_list_by_entry_point_or_distribution_name(site: Path, allow) -> None:
    assert get_plugin_manager().load_entrypoint_plugins(allow) == ["demo"]


@pytest.mark.parametrize(
    ("env", "loaded"),
    [
        ("", False),
        ("someone-else", False),
        (" other , demo ", True),
        ("Demo_Alignment.Plugin", True),
        ("*", True),
        ("other,*", True),
    ],
)
def test_allow_list_environment_variable(site: Path, monkeypatch: pytest.MonkeyPatch, env: str, loaded: bool) -> None:
    monkeypatch.setenv(ALLOW_ENV, env)
    pm = get_plugin_manager()
    assert ("demo" in pm.load_entrypoint_plugins()) is loaded
    assert ("demo-mean" in pm.solver_classes()) is loaded


def test_allow_list_argument_overrides_environment(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_ENV, "demo")
    assert get_plugin_manager().load_entrypoint_plugins(["someone-else"]) == []
    monkeypatch.setenv(ALLOW_ENV, "")
    assert get_plugin_manager().load_entrypoint_plugins(["demo"]) == ["demo"]


@pytest.mark.parametrize("kind", sorted(BROKEN_MODULES))
def test_broken_plugin_is_logged_and_skipped(site: Path, caplog: pytest.LogCaptureFixture, kind: str) -> None:
    install_fake_distribution(site, "broken_alignment_plugin", "broken-alignment-plugin", "9.9", "broken",
                              BROKEN_MODULES[kind])
    pm = get_plugin_manager()
    with caplog.at_level(logging.ERROR, logger="alignment_plugins.manager"):
        loaded = pm.load_entrypoint_plugins()
    assert loaded == ["demo"]
    assert "broken" not in _names(pm)
    assert "broken-model" not in models.known_models()  # nothing of a half-valid plugin is registered
    assert any("broken" in record.getMessage() for record in caplog.records)
    assert {"demo-mean", *BUILTIN_SOLVERS} <= set(pm.solver_classes())  # the host still works
    assert pm.get_solver("ridge").name == "ridge"
    pm.check_pending()
    assert pm.load_entrypoint_plugins() == []  # retrying does not break either
