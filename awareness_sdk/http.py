"""The HTTP layer: an httpx client with timeouts, API-key authentication, retries with backoff, and errors mapped to
:mod:`awareness_sdk.errors`.

Retries: a 429 is always retried (the server refused the request before doing anything), waiting what its
``Retry-After`` says; a 5xx answer or a lost connection is retried only for requests that are safe to repeat — GET,
and a POST that carries an ``Idempotency-Key`` (a purchase: the server returns the same purchase without a second
debit) — and a connection that was never opened is retried for every request. Waits grow as
``backoff · 2^attempt`` seconds (with ±25 % jitter), capped at ``max_backoff``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from awareness_sdk import errors
from awareness_sdk.endpoints import ENDPOINTS, Endpoint

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_TIMEOUT = 30.0
DEFAULT_CONNECT_TIMEOUT = 5.0
MAX_RETRY_AFTER = 60.0


class Transport:
    """Sends the operations of :data:`~awareness_sdk.endpoints.ENDPOINTS` to one server with one API key."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        user_agent: str = "",
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
        headers = {"Accept": "application/json", "User-Agent": user_agent or _user_agent()}
        if api_key:
            headers["Authorization"] = f"Api-Key {api_key}"
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._sleep = sleep
        self.client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, DEFAULT_CONNECT_TIMEOUT)),
            transport=transport,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()

    # ------------------------------------------------------------------------------------------ requests
    def request(
        self,
        name: str,
        *,
        path: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        """Send operation `name` (a key of ENDPOINTS); return the 2xx response or raise an SDK error.

        Only the parameters and body fields the operation declares are accepted (TypeError otherwise): that is
        what keeps the declared table, and so the schema-drift test, complete.
        """
        endpoint = ENDPOINTS[name]
        _check_names(endpoint, "query", query, endpoint.query)
        _check_names(endpoint, "header", headers, endpoint.headers)
        _check_names(endpoint, "body", {**(json or {}), **(data or {}), **(files or {})}, endpoint.body)
        params = {k: _query_value(v) for k, v in (query or {}).items() if v is not None}
        url = endpoint.url(**(path or {}))
        repeatable = endpoint.method == "GET" or bool(headers and headers.get("Idempotency-Key"))
        attempt = 0
        while True:
            try:
                response = self.client.request(endpoint.method, url, params=params, headers=dict(headers or {}),
                                               json=json, data=data, files=files)
            except httpx.TransportError as exc:
                never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if attempt < self.max_retries and (repeatable or never_sent):
                    self._sleep(self._delay(attempt, None))
                    attempt += 1
                    continue
                raise errors.TransportError(f"{endpoint.method} {self.base_url}{url}: {exc}") from exc
            if response.is_success:
                return response
            retry = response.status_code == 429 or (repeatable and response.status_code in RETRY_STATUSES)
            if retry and attempt < self.max_retries:
                self._sleep(self._delay(attempt, response.headers.get("Retry-After")))
                attempt += 1
                continue
            raise api_error(response, endpoint)

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        """Seconds to wait before retry `attempt` + 1: the server's Retry-After, else exponential backoff."""
        if retry_after is not None:
            try:
                return min(max(float(retry_after), 0.0), MAX_RETRY_AFTER)
            except ValueError:
                pass
        base = min(self.max_backoff, self.backoff * 2**attempt)
        return base * random.uniform(0.75, 1.25)


def api_error(response: httpx.Response, endpoint: Endpoint | None = None) -> errors.ApiError:
    """The SDK exception for an error response (its ``{"error": {...}}`` document, else its status)."""
    code, message, details = f"http_{response.status_code}", response.reason_phrase or "error", None
    try:
        body = response.json()
    except ValueError:
        body = None
        text = response.text.strip()
        if text:
            message = text[:300]
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        code = str(error.get("code") or code)
        message = str(error.get("message") or message)
        details = error.get("details")
    cls = errors.error_class(response.status_code, code)
    return cls(response.status_code, code, message, details, method=endpoint.method if endpoint else "",
               url=str(response.request.url) if response.request else "",
               headers={k.lower(): v for k, v in response.headers.items()})


def _check_names(endpoint: Endpoint, kind: str, given: Mapping[str, Any] | None, declared: tuple[str, ...]) -> None:
    unknown = sorted(set(given or {}) - set(declared))
    if unknown:
        raise TypeError(f"{endpoint.method} {endpoint.path} takes no {kind} parameter(s) {unknown}; "
                        f"declared: {list(declared)}")


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _user_agent() -> str:
    from awareness_sdk import __version__

    return f"awareness-sdk/{__version__} httpx/{httpx.__version__}"
