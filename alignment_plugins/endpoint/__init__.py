"""Model endpoints: a small HTTP protocol serving one model's hidden states, a server and a client.

Protocol ``alignment-endpoint/1`` (JSON requests, UTF-8; an ``Authorization: Bearer <token>`` header when the server
has a token):

* ``GET /v1/model`` → JSON ``{"protocol", "name", "fingerprint", "dtype", "info": ArchitectureInfo fields,
  "limits": {"max_texts", "max_length", "max_request_bytes"}, "poolings"}``.
* ``POST /v1/tokenize`` ``{"texts": [...], "max_length": N}`` → JSON ``{"input_ids": [[...]], "offsets":
  [[[start, end], ...]]}`` (special tokens included, their offsets (0, 0)).
* ``POST /v1/hidden-states`` ``{"texts": [...], "layers": [...], "pooling": "mean" | "last" | "tokens",
  "max_length": N}`` → a safetensors payload (``application/octet-stream``): float32 ``layer.<L>`` of shape
  (texts, d) for mean/last pooling; for "tokens" ``layer.<L>`` (Σ tokens, d), int64 ``offsets`` (Σ tokens, 2) and
  ``lengths`` (texts,). Its metadata repeats ``protocol``, ``fingerprint``, ``pooling`` and ``count``.

Errors are JSON ``{"error": message}`` with 400 (bad request), 401 (missing or wrong token), 404, 413 (too large)
or 500. Nothing here imports torch: the server drives its model through the plugin host's hooks.
"""

from __future__ import annotations

from alignment_plugins.endpoint.protocol import (
    PROTOCOL,
    EndpointAuthError,
    EndpointError,
    EndpointProtocolError,
    EndpointResponseTooLarge,
    EndpointTimeout,
    EndpointUnreachable,
)

__all__ = [
    "PROTOCOL",
    "EndpointAuthError",
    "EndpointError",
    "EndpointProtocolError",
    "EndpointResponseTooLarge",
    "EndpointTimeout",
    "EndpointUnreachable",
]
