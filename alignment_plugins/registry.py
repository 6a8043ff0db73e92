"""Registering a trained W-Matrix with a marketplace: ``WMatrix.register(name=..., api_key=..., base_url=...)``.

The matrix is uploaded as a multipart ``POST {base_url}/api/v1/wmatrices/`` (fields ``name`` and ``file``) with the
header ``Authorization: Api-Key <key>``; the server validates the file, records the caller as its owner and issues
its certificate. Standard library only (urllib); the key defaults to ``$AWARENESS_API_KEY`` and the base URL to
``$AWARENESS_BASE_URL``.
"""

from __future__ import annotations

import json
import os
import secrets
import urllib.error
import urllib.request
from typing import Any

API_KEY_ENV, BASE_URL_ENV = "AWARENESS_API_KEY", "AWARENESS_BASE_URL"


class RegistrationError(RuntimeError):
    """The marketplace refused or could not take the matrix; the message carries its status and error."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status, self.body = status, body


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    """(body, content type) of a multipart/form-data request with text `fields` and `files` {field: (name, bytes)}."""
    boundary = "----wmatrix" + secrets.token_hex(12)
    parts: list[bytes] = []
    for key, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
    for key, (filename, data) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"; filename="{filename}"\r\n'
                     "Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def register_matrix(data: bytes, *, name: str, api_key: str | None = None, base_url: str | None = None,
                    timeout: float = 120.0) -> dict[str, Any]:
    """Upload .wmatrix bytes under `name`; return the marketplace's JSON description of the stored version."""
    api_key = api_key or os.environ.get(API_KEY_ENV)
    base_url = (base_url or os.environ.get(BASE_URL_ENV) or "").rstrip("/")
    if not api_key:
        raise ValueError(f"no API key: pass api_key= or set ${API_KEY_ENV}")
    if not base_url.startswith(("http://", "https://")):
        raise ValueError(f"no marketplace URL: pass base_url='http(s)://…' or set ${BASE_URL_ENV}")
    body, content_type = multipart({"name": name}, {"file": (f"{name}.wmatrix", data)})
    request = urllib.request.Request(f"{base_url}/api/v1/wmatrices/", data=body, method="POST", headers={
        "Content-Type": content_type, "Authorization": f"Api-Key {api_key}", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # http(s) only, checked above
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        raw = exc.read(1 << 16).decode("utf-8", "replace")
        try:
            detail = json.loads(raw)
        except json.JSONDecodeError:
            detail = raw
        error = detail.get("error", {}) if isinstance(detail, dict) else {}
        message = error.get("message", raw[:500]) if isinstance(error, dict) else raw[:500]
        raise RegistrationError(f"{base_url} refused the matrix (HTTP {exc.code}): {message}", exc.code,
                                detail) from None
    except urllib.error.URLError as exc:
        raise RegistrationError(f"cannot reach the marketplace at {base_url}: {exc.reason}") from None
