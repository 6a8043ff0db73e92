"""Requirements split by process: the web / CPU-worker files pull no torch, transformers or matplotlib, the engine
file has them, and the development file (what `make install` and CI install) has everything."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements"
ENGINE_ONLY = {"torch", "transformers", "matplotlib", "accelerate", "tokenizers"}


def requirement_names(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
    """Normalised distribution names a requirements file lists, following its `-r other.txt` includes."""
    if name in seen:
        raise AssertionError(f"requirements include cycle through {name}")
    names: set[str] = set()
    for raw in (REQUIREMENTS / name).read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(("-r ", "--requirement ")):
            names |= requirement_names(line.split(maxsplit=1)[1], seen | {name})
            continue
        assert not line.startswith("-"), f"{name}: unexpected option line {raw!r}"
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
        assert match, f"{name}: unreadable line {raw!r}"
        names.add(re.sub(r"[-_.]+", "-", match.group(0)).lower())
    return names


@pytest.mark.parametrize("name", ["base.txt", "production.txt"])
def test_web_requirements_have_no_torch_transformers_or_matplotlib(name: str) -> None:
    names = requirement_names(name)
    assert not names & ENGINE_ONLY, sorted(names & ENGINE_ONLY)
    assert {"django", "celery", "numpy", "safetensors", "whitenoise"} <= names


def test_engine_and_local_requirements_carry_the_rest() -> None:
    engine, local = requirement_names("engine.txt"), requirement_names("local.txt")
    assert engine >= ENGINE_ONLY and requirement_names("base.txt") <= engine
    assert engine | requirement_names("base.txt") <= local  # make install / .ci/run install everything for tests
    assert {"pytest", "pytest-django", "ruff", "selenium"} <= local
    assert "gunicorn" in requirement_names("production.txt") and "gunicorn" not in engine


def test_torch_is_pinned_once_where_the_dockerfile_reads_it() -> None:
    pins = {f: re.findall(r"^torch==\S+$", (REQUIREMENTS / f).read_text(), re.M)
            for f in ("base.txt", "engine.txt", "local.txt", "production.txt")}
    assert pins["engine.txt"] and not any(v for k, v in pins.items() if k != "engine.txt"), pins
    dockerfile = (REQUIREMENTS.parent / "docker" / "Dockerfile").read_text()
    assert "grep -E '^torch==' requirements/engine.txt" in dockerfile
