"""Production static files: collectstatic writes hashed, compressed copies and WhiteNoise serves them, so the admin
and the API docs are styled with no proxy in front and nothing fetched from elsewhere."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.django_db, pytest.mark.slow]  # collectstatic compresses every file: ~15 s


def _served(client: Any, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, url
    return b"".join(response.streaming_content)


def test_collectstatic_and_whitenoise_serve_the_admin_and_docs(settings: Any, client: Any, tmp_path: Path) -> None:
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}
    settings.WHITENOISE_AUTOREFRESH = settings.WHITENOISE_USE_FINDERS = False  # as in production: STATIC_ROOT only
    call_command("collectstatic", interactive=False, verbosity=0)

    login = client.get("/admin/login/").content.decode()
    css = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', login)
    assert css, "the admin links its hashed stylesheet"
    assert b"body" in _served(client, css.group(1))
    assert "immutable" in client.get(css.group(1))["Cache-Control"]  # hashed names are cached for good
    assert (settings.STATIC_ROOT / "admin/css/base.css.gz").exists()  # pre-compressed copies

    docs = client.get("/api/docs/").content.decode()
    sheets = re.findall(r'href="(/static/drf_spectacular_sidecar/[^"]+\.css)"', docs)
    scripts = re.findall(r'src="(/static/drf_spectacular_sidecar/[^"]+\.js)"', docs)
    assert sheets and scripts, "Swagger UI comes from our own static files"
    assert "//cdn" not in docs and 'src="http' not in docs
    for url in sheets + scripts:
        assert _served(client, url)
