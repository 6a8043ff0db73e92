"""The docs site builds with MkDocs in strict mode (a warning — a broken link, a bad docstring reference — fails
it), and holds what it promises: every results page in the navigation, the Python API from the docstrings, and the
REST reference covering every operation of the OpenAPI schema."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sdk_helpers import ROOT


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "NO_MKDOCS_2_WARNING": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_every_docs_page_is_built_and_in_the_navigation(site: Path) -> None:
    home = (site / "index.html").read_text()
    for page in sorted((ROOT / "docs").glob("*.md")):
        built = site / ("" if page.stem == "index" else page.stem) / "index.html"
        assert built.is_file(), page.name
        assert page.stem == "index" or f'href="{page.stem}/"' in home, f"{page.name} is not in the navigation"


def test_the_rest_reference_covers_every_operation_of_the_schema(site: Path) -> None:
    schema = json.loads((site / "openapi.json").read_text())
    page = (site / "reference" / "rest" / "index.html").read_text()
    operations = [f"{m.upper()} {p}" for p, ops in schema["paths"].items() for m in ops
                  if m in ("get", "post", "put", "patch", "delete")]
    assert len(operations) >= 20
    missing = [op for op in operations if op.replace("{", "\\{") not in page and op not in page]
    assert not missing, missing
    for name in schema["components"]["schemas"]:
        assert f'id="{name.lower()}"' in page, name


def test_the_python_reference_is_generated_from_the_docstrings(site: Path) -> None:
    page = (site / "reference" / "python" / "index.html").read_text()
    from awareness_sdk.marketplace import Purchases

    for anchor in ("awareness_sdk.marketplace.Marketplace", "awareness_sdk.marketplace.Purchases.wait",
                   "awareness_sdk.errors.NotDelivered", "alignment_plugins.trainer.WMatrixTrainer.train"):
        assert f'id="{anchor}"' in page, anchor
    first_line = Purchases.wait.__doc__.splitlines()[0]
    assert re.sub(r"`", "", first_line.split(";")[0]) in re.sub(r"<[^>]+>", "", page)
