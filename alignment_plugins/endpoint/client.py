"""The endpoint client: timeouts, retries with exponential backoff, size limits, a bearer token, checked answers.

Transient failures (connection refused or reset, a timeout, HTTP 429/5xx) are retried ``retries`` times, waiting
``backoff · 2^attempt`` seconds; a refused token (401/403) or a bad request (other 4xx) is not. What finally fails
is an ``EndpointError`` subclass naming the endpoint: ``EndpointUnreachable`` (dead), ``EndpointTimeout`` (slow),
``EndpointAuthError``, ``EndpointResponseTooLarge``, ``EndpointProtocolError`` (a lying answer).
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from alignment_plugins.endpoint.protocol import (
    POOLINGS,
    EndpointAuthError,
    EndpointError,
    EndpointProtocolError,
    EndpointResponseTooLarge,
    EndpointTimeout,
    EndpointUnreachable,
    check_model_description,
    decode_states,
)

log = logging.getLogger(__name__)

TOKEN_ENV = "ALIGNMENT_ENDPOINT_TOKEN"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class EndpointConfig:
    """How to reach an endpoint: base URL, bearer token (default ``$ALIGNMENT_ENDPOINT_TOKEN``), timeout per request
    (seconds), retries of transient failures, first backoff (seconds, doubled per retry), largest answer (bytes)."""

    url: str
    auth_token: str | None = None
    timeout: float = 60.0
    retries: int = 3
    backoff: float = 0.5
    max_response_bytes: int = 512 << 20
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"an endpoint URL starts with http:// or https://, got {self.url!r}")
        object.__setattr__(self, "url", self.url.rstrip("/"))
        if self.auth_token is None and os.environ.get(TOKEN_ENV):
            object.__setattr__(self, "auth_token", os.environ[TOKEN_ENV])
        if self.timeout <= 0 or self.retries < 0 or self.backoff < 0 or self.max_response_bytes <= 0:
            raise ValueError("timeout and max_response_bytes must be positive, retries and backoff non-negative")


class EndpointClient:
    """Talks to one endpoint; `description` is fetched once and every later answer is checked against it."""

    def __init__(self, config: EndpointConfig | str) -> None:
        self.config = EndpointConfig(config) if isinstance(config, str) else config
        self._description: dict[str, Any] | None = None

    @property
    def url(self) -> str:
        """The endpoint's base URL."""
        return self.config.url

    # ----------------------------------------------------------------------------------------------- routes
    def description(self) -> dict[str, Any]:
        """The checked ``GET /v1/model`` answer (fetched once)."""
        if self._description is None:
            self._description = check_model_description(self._json("GET", "/v1/model"), self.url)
        return self._description

    @property
    def hidden_size(self) -> int:
        """Hidden size the endpoint announced."""
        return int(self.description()["info"]["hidden_size"])

    @property
    def num_layers(self) -> int:
        """Number of blocks the endpoint announced (hidden-state layers 0..num_layers)."""
        return int(self.description()["info"]["num_layers"])

    def tokenize(self, texts: Sequence[str], max_length: int = 256) -> dict[str, list]:
        """{"input_ids": [[...]], "offsets": [[[start, end]]]} of `texts`, checked for one row per text."""
        out: dict[str, list] = {"input_ids": [], "offsets": []}
        for chunk in self._chunks(texts):
            body = self._json("POST", "/v1/tokenize", {"texts": chunk, "max_length": self._length(max_length)})
            ids, offsets = (body.get("input_ids"), body.get("offsets")) if isinstance(body, dict) else (None, None)
            if not (isinstance(ids, list) and isinstance(offsets, list) and len(ids) == len(offsets) == len(chunk)
                    and all(isinstance(r, list) and isinstance(o, list) and len(r) == len(o)
                            for r, o in zip(ids, offsets, strict=True))):
                raise EndpointProtocolError(f"{self.url} answered /v1/tokenize without one id and offset row per "
                                            f"text ({len(chunk)} texts)")
            out["input_ids"] += ids
            out["offsets"] += [[(int(a), int(b)) for a, b in row] for row in offsets]
        return out

    def hidden_states(self, texts: Sequence[str], layers: Sequence[int], pooling: str,
                      max_length: int = 256) -> dict[int, Any]:
        """{layer: (len(texts), d) float32} ("mean"/"last") or {layer: [TokenStates]} ("tokens"), every answer
        checked (layers, shapes, hidden size, finiteness, fingerprint, pooling)."""
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
        wanted = sorted({int(layer) for layer in layers})
        bad = [layer for layer in wanted if not 0 <= layer <= self.num_layers]
        if bad:
            raise ValueError(f"layers {bad} out of range 0..{self.num_layers} for the model at {self.url}")
        description = self.description()
        parts: list[dict[int, Any]] = []
        for chunk in self._chunks(texts):
            payload = self._request("POST", "/v1/hidden-states", {"texts": chunk, "layers": wanted, "pooling": pooling,
                                                                   "max_length": self._length(max_length)})
            parts.append(decode_states(payload, url=self.url, count=len(chunk), layers=wanted, pooling=pooling,
                                       hidden_size=self.hidden_size, fingerprint=description["fingerprint"]))
        if pooling == "tokens":
            return {layer: [row for part in parts for row in part[layer]] for layer in wanted}
        import numpy as np

        return {layer: np.concatenate([part[layer] for part in parts]) for layer in wanted}

    # ---------------------------------------------------------------------------------------------- transport
    def _chunks(self, texts: Sequence[str]) -> list[list[str]]:
        texts = [str(t) for t in texts]
        if not texts:
            raise ValueError("no texts to send")
        size = int(self.description()["limits"]["max_texts"])
        return [texts[i : i + size] for i in range(0, len(texts), size)]

    def _length(self, max_length: int) -> int:
        limit = int(self.description()["limits"]["max_length"])
        if max_length > limit:
            raise ValueError(f"max_length {max_length} exceeds the endpoint's limit {limit} ({self.url})")
        return int(max_length)

    def _json(self, method: str, path: str, body: Any = None) -> Any:
        raw = self._request(method, path, body)
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise EndpointProtocolError(f"{self.url}{path} answered something that is not JSON: {exc}") from None

    def _request(self, method: str, path: str, body: Any = None) -> bytes:
        """One request with retries and backoff; the answer's bytes (at most max_response_bytes)."""
        cfg = self.config
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json, application/octet-stream", **cfg.headers}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if cfg.auth_token:
            headers["Authorization"] = f"Bearer {cfg.auth_token}"
        last: EndpointError | None = None
        for attempt in range(cfg.retries + 1):
            if attempt:
                delay = cfg.backoff * 2 ** (attempt - 1)
                log.warning("%s%s: %s; retry %d/%d in %.1fs", self.url, path, last, attempt, cfg.retries, delay)
                time.sleep(delay)
            request = urllib.request.Request(cfg.url + path, data=data, headers=headers, method=method)
            try:
                with urllib.request.urlopen(request, timeout=cfg.timeout) as response:
                    return self._read(response, path)
            except urllib.error.HTTPError as exc:
                message = _error_message(exc)
                if exc.code in (401, 403):
                    raise EndpointAuthError(f"{self.url}{path} refused the request ({exc.code}): {message}; set the "
                                            f"endpoint's token (auth_token or ${TOKEN_ENV})") from None
                last = EndpointError(f"{self.url}{path} answered HTTP {exc.code}: {message}")
                if exc.code not in RETRY_STATUSES:
                    raise last from None
            except TimeoutError as exc:
                last = EndpointTimeout(f"{self.url}{path} did not answer within {cfg.timeout:g}s ({exc})")
            except urllib.error.URLError as exc:
                if isinstance(exc.reason, (TimeoutError, socket.timeout)):
                    last = EndpointTimeout(f"{self.url}{path} did not answer within {cfg.timeout:g}s")
                else:
                    last = EndpointUnreachable(f"cannot reach {self.url}{path}: {exc.reason}")
            except (ConnectionError, http.client.HTTPException) as exc:
                last = EndpointUnreachable(f"{self.url}{path} dropped the connection: {type(exc).__name__}: {exc}")
        assert last is not None
        raise type(last)(f"{last} (after {cfg.retries + 1} attempts)")

    def _read(self, response: Any, path: str) -> bytes:
        limit = self.config.max_response_bytes
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise EndpointResponseTooLarge(f"{self.url}{path} announced {declared} bytes; the limit is {limit}")
        data = response.read(limit + 1)
        if len(data) > limit:
            raise EndpointResponseTooLarge(f"{self.url}{path} sent more than {limit} bytes")
        return data


def _error_message(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read(65536).decode("utf-8"))
        return str(body.get("error", body)) if isinstance(body, dict) else str(body)
    except Exception:
        return exc.reason if isinstance(exc.reason, str) else "no message"


class RemoteTokenizer:
    """The part of a tokenizer extraction uses (``tokenizer(texts, truncation=True, max_length=N)``), answered by the
    endpoint's ``/v1/tokenize``."""

    def __init__(self, client: EndpointClient) -> None:
        self.client = client

    def __call__(self, texts: Sequence[str] | str, *, truncation: bool = True, max_length: int = 256,
                 add_special_tokens: bool = True) -> dict[str, list]:
        """{"input_ids": [[...]]} as the served model's tokenizer gives them (truncated, specials included)."""
        if not truncation or not add_special_tokens:
            raise ValueError("a remote tokenizer always truncates and adds the model's special tokens")
        single = isinstance(texts, str)
        out = self.client.tokenize([texts] if single else list(texts), max_length=max_length)
        return {"input_ids": out["input_ids"][0] if single else out["input_ids"]}
