"""The GGUF conversion cache is keyed by content, not by where the package happens to be installed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from alignment_plugins.models import UnknownModelError, _content_key, resolve


def test_content_key_ignores_install_location_but_not_content(tmp_path: Path) -> None:
    a, b = tmp_path / "venv1" / "model.gguf", tmp_path / "venv2" / "model.gguf"
    a.parent.mkdir()
    b.parent.mkdir()
    a.write_bytes(os.urandom(3 << 20))
    shutil.copy(a, b)
    os.utime(b, (1, 1))
    assert _content_key([a]) == _content_key([b])
    data = bytearray(b.read_bytes())
    data[-5] ^= 0xFF
    b.write_bytes(bytes(data))
    assert _content_key([a]) != _content_key([b])


def test_resolve_rejects_what_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(UnknownModelError, match=r"no config\.json"):
        resolve(str(tmp_path / "empty"))
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UnknownModelError, match=r"neither a \.gguf file"):
        resolve(str(tmp_path / "notes.txt"))
    with pytest.raises(UnknownModelError, match="unknown model 'nope'"):
        resolve("nope")
