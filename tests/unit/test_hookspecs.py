"""Meta-tests of the hook contracts (datasette style): documented, tested and implemented consistently."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from alignment_plugins import hookspecs
from alignment_plugins.manager import get_plugin_manager

ROOT = Path(__file__).resolve().parents[2]
HOOKS = sorted(
    name for name, obj in vars(hookspecs).items() if name.startswith("alignment_") and inspect.isfunction(obj)
)


def test_hooks_are_found() -> None:
    assert len(HOOKS) >= 7
    pm = get_plugin_manager()
    assert all(hasattr(pm.hook, hook) for hook in HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_docstring(hook: str) -> None:
    doc = inspect.getdoc(getattr(hookspecs, hook))
    assert doc and doc.strip(), f"hookspec {hook} has no docstring"


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_exercised_by_a_test(hook: str) -> None:
    this = Path(__file__).resolve()
    sources = [path.read_text() for path in (ROOT / "tests").rglob("*.py") if path.resolve() != this]
    assert any(hook in source for source in sources), f"no test under tests/ mentions {hook}"


def _is_firstresult(hook: str) -> bool:
    return bool(getattr(hookspecs, hook).alignment_plugins_spec["firstresult"])


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented(hook: str) -> None:
    docs = (ROOT / "docs" / "plugins.md").read_text()
    pattern = rf"^\s*(#+|[-*])\s.*\b{re.escape(hook)}\b"
    assert re.search(pattern, docs, flags=re.MULTILINE), f"docs/plugins.md has no heading or bullet for {hook}"
    heading = re.search(rf"^(#+)\s.*\b{re.escape(hook)}\b.*$", docs, flags=re.MULTILINE)
    if heading:  # its own section states the calling contract
        rest = docs[heading.end():]
        following = re.search(rf"^#{{1,{len(heading.group(1))}}}\s", rest, flags=re.MULTILINE)
        section = rest[: following.start() if following else None]
        assert ("firstresult" if _is_firstresult(hook) else "collected") in section.lower(), hook


def test_builtin_hookimpls_match_hookspecs() -> None:
    pm = get_plugin_manager()
    pm.check_pending()  # raises PluginValidationError for an implementation of an unknown hook
    implemented = {info_hook for info in pm.plugin_infos() for info_hook in info.hooks}
    assert implemented <= set(HOOKS)
    assert implemented == set(HOOKS)  # every hook has a built-in implementation


def test_firstresult_flags() -> None:
    first = {name for name in HOOKS if _is_firstresult(name)}
    assert first == {
        "alignment_describe_architecture",
        "alignment_downstream_parameters",
        "alignment_edit_residual",
        "alignment_extract_hidden_states",
        "alignment_forward",
        "alignment_inject_vector",
        "alignment_load_model",
        "alignment_token_offsets",
    }
