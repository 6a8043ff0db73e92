"""Serve one local model under the endpoint protocol with the standard library's http.server.

``python -m alignment_plugins serve-model --model M --port P [--host H] [--token-env VAR]`` loads M (a name, a
directory, a .gguf file or a hub id) and answers ``/v1/model``, ``/v1/tokenize`` and ``/v1/hidden-states`` (see
``alignment_plugins.endpoint``). Requests are checked before the model runs (size, text count, layers, pooling),
one forward pass runs at a time, and the states come from the same plugin hook local extraction uses, so a remote
extraction equals a local one.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from alignment_plugins.endpoint.protocol import POOLINGS, PROTOCOL, encode_states
from alignment_plugins.manager import get_plugin_manager
from alignment_plugins.types import LoadedModel

log = logging.getLogger(__name__)

DEFAULT_MAX_TEXTS = 64
DEFAULT_MAX_LENGTH = 512
DEFAULT_MAX_REQUEST_BYTES = 4 << 20


class RequestRefused(Exception):
    """A request the server will not run: (HTTP status, message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ModelServer(ThreadingHTTPServer):
    """A threading HTTP server holding one loaded model; `url` is where it listens."""

    daemon_threads = True

    def __init__(self, model: LoadedModel, host: str = "127.0.0.1", port: int = 0, *, auth_token: str | None = None,
                 max_texts: int = DEFAULT_MAX_TEXTS, max_length: int = DEFAULT_MAX_LENGTH,
                 max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES) -> None:
        super().__init__((host, port), _Handler)
        self.model = model
        self.auth_token = auth_token or None
        self.max_texts, self.max_length, self.max_request_bytes = max_texts, max_length, max_request_bytes
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        """Base URL of the endpoint, e.g. ``http://127.0.0.1:8080``."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def description(self) -> dict[str, Any]:
        """The JSON answer of ``GET /v1/model``."""
        info = self.model.info.to_dict()
        return {"protocol": PROTOCOL, "name": self.model.name, "fingerprint": self.model.fingerprint,
                "dtype": self.model.dtype, "info": info, "origin": self.model.origin, "poolings": list(POOLINGS),
                "limits": {"max_texts": self.max_texts, "max_length": self.max_length,
                           "max_request_bytes": self.max_request_bytes}}

    def tokenize(self, request: dict[str, Any]) -> dict[str, Any]:
        """Token ids and character offsets of each text (special tokens included, offsets (0, 0))."""
        texts, max_length = self._texts(request), self._max_length(request)
        encoded = self.model.tokenizer(texts, truncation=True, max_length=max_length, add_special_tokens=True)
        offsets = get_plugin_manager().hook.alignment_token_offsets(model=self.model, texts=texts)
        if offsets is None:
            raise RequestRefused(500, f"no adapter gives token offsets for {self.model.name}")
        ids = [list(map(int, row)) for row in encoded["input_ids"]]
        return {"input_ids": ids, "offsets": [[list(pair) for pair in row[: len(ids[k])]]
                                              for k, row in enumerate(offsets)]}

    def hidden_states(self, request: dict[str, Any]) -> bytes:
        """The safetensors payload of the texts' states at the requested layers and pooling."""
        texts, max_length = self._texts(request), self._max_length(request)
        pooling = request.get("pooling")
        if pooling not in POOLINGS:
            raise RequestRefused(400, f"pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
        layers = request.get("layers")
        if not isinstance(layers, list) or not layers or not all(
                isinstance(x, int) and not isinstance(x, bool) for x in layers):
            raise RequestRefused(400, "layers must be a non-empty list of integers")
        bad = [x for x in layers if not 0 <= x <= self.model.num_layers]
        if bad:
            raise RequestRefused(400, f"layers {bad} out of range 0..{self.model.num_layers}")
        with self.lock:
            states = get_plugin_manager().hook.alignment_extract_hidden_states(
                model=self.model, texts=texts, layers=sorted(set(layers)), pooling=pooling, max_length=max_length)
        if states is None:
            raise RequestRefused(500, f"no adapter extracts hidden states for {self.model.name}")
        return encode_states(states, pooling=pooling, fingerprint=self.model.fingerprint)

    def _texts(self, request: dict[str, Any]) -> list[str]:
        texts = request.get("texts")
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            raise RequestRefused(400, "texts must be a non-empty list of strings")
        if len(texts) > self.max_texts:
            raise RequestRefused(413, f"{len(texts)} texts in one request; this endpoint takes at most "
                                      f"{self.max_texts}")
        return texts

    def _max_length(self, request: dict[str, Any]) -> int:
        value = request.get("max_length", 256)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= self.max_length:
            raise RequestRefused(400, f"max_length must be an integer from 1 to {self.max_length}, got {value!r}")
        return value


class _Handler(BaseHTTPRequestHandler):
    server: ModelServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._answer(lambda: self.server.description() if self.path == "/v1/model" else self._unknown())

    def do_POST(self) -> None:
        routes = {"/v1/tokenize": self.server.tokenize, "/v1/hidden-states": self.server.hidden_states}

        def run() -> Any:
            if self.path not in routes:
                self._unknown()
            return routes[self.path](self._json_body())

        self._answer(run)

    def _unknown(self) -> Any:
        raise RequestRefused(404, f"no route {self.path}; see /v1/model")

    def _json_body(self) -> dict[str, Any]:
        try:
            length = int(self.headers.get("Content-Length") or "")
        except ValueError:
            raise RequestRefused(411, "Content-Length required") from None
        if length > self.server.max_request_bytes:
            raise RequestRefused(413, f"request body of {length} bytes exceeds {self.server.max_request_bytes}")
        try:
            body = json.loads(self.rfile.read(length).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RequestRefused(400, f"the body is not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise RequestRefused(400, "the body must be a JSON object")
        return body

    def _authorized(self) -> bool:
        token = self.server.auth_token
        if token is None:
            return True
        given = self.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())

    def _answer(self, work: Any) -> None:
        try:
            if not self._authorized():
                raise RequestRefused(401, "missing or wrong bearer token")
            result = work()
        except RequestRefused as exc:
            self._send(exc.status, json.dumps({"error": str(exc)}).encode(), "application/json")
            return
        except Exception as exc:  # the model failed: say so, keep serving
            log.exception("endpoint request failed")
            self._send(500, json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode(), "application/json")
            return
        if isinstance(result, bytes):
            self._send(200, result, "application/octet-stream")
        else:
            self._send(200, json.dumps(result).encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        if self.command == "POST" and status >= 400 and "Content-Length" in self.headers:
            self.close_connection = True  # an unread body would be taken for the next request
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve_model(model: str, *, host: str = "127.0.0.1", port: int = 8080, auth_token: str | None = None,
                dtype: str = "float32", device: str = "cpu", max_texts: int = DEFAULT_MAX_TEXTS) -> None:
    """Load `model` and serve it until interrupted (the ``serve-model`` command)."""
    from alignment_plugins.models import load_model

    server = ModelServer(load_model(model, dtype=dtype, device=device), host, port, auth_token=auth_token,
                         max_texts=max_texts)
    print(f"serving {server.model.name} ({server.model.fingerprint}) at {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
