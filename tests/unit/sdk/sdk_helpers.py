"""Helpers of the SDK tests: run an example script in-process, the live marketplace's handle, tiny architectures."""

from __future__ import annotations

import contextlib
import importlib.util
import io
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
SOURCE, TARGET = "tiny-llama", "tiny-gemma3"  # directory names = the names the engine and the marketplace use
TINY_ANCHORS = 120
BUYER_FUNDS = Decimal("100")


def run_example(name: str, *args: str) -> str:
    """Run ``examples/<name>.py``'s main(args) in this process; return what it printed (its exit code must be 0)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = module.main(list(args))
    printed = out.getvalue()
    assert code == 0, f"examples/{name}.py exited {code}:\n{printed}"
    return printed


@dataclass
class LiveMarket:
    """A running marketplace: its URL, the keys of a seller and a funded buyer, the stored matrix's id, and the folder
    holding the tiny models."""

    url: str
    seller_key: str
    buyer_key: str
    matrix_id: str
    models_root: Path

    def client(self, key: str | None = None) -> Any:
        from awareness_sdk import Marketplace

        return Marketplace(api_key=key, base_url=self.url, max_retries=0)


def management_command(*args: str) -> str:
    """Run a manage.py command in this process; return its stdout, stripped."""
    from django.core.management import call_command

    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


def register_tiny_architecture(name: str, path: Path) -> Any:
    """An Architecture row for a local tiny model, from the engine's description of it."""
    from alignment_plugins.models import model_info
    from marketplace.catalog.models import Architecture

    info = model_info(str(path))
    return Architecture.objects.create(
        name=name, family=info.family, kind=info.kind, hidden_size=info.hidden_size, num_layers=info.num_layers,
        num_heads=info.num_heads, adapter=info.adapter or "", support_level=Architecture.Support.FULL,
    )


