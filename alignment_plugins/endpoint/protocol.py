"""The endpoint protocol's payloads: encoding hidden states as safetensors and decoding them with every check.

A client trusts nothing it receives: a payload must hold exactly the layers asked for, one row per text (or per
token, with offsets and lengths that add up), the hidden size the endpoint announced, float32 finite values, and
the fingerprint and pooling of the model the endpoint described. Anything else is an ``EndpointProtocolError``
naming what is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from alignment_plugins.types import TokenStates

PROTOCOL = "alignment-endpoint/1"
POOLINGS = ("mean", "last", "tokens")


class EndpointError(RuntimeError):
    """A model endpoint could not be used; the message says which endpoint and why."""


class EndpointUnreachable(EndpointError):
    """Nothing answers at the endpoint (connection refused, DNS failure, reset) after every retry."""


class EndpointTimeout(EndpointError):
    """The endpoint did not answer within the timeout after every retry."""


class EndpointAuthError(EndpointError):
    """The endpoint refused the request's token (401/403)."""


class EndpointResponseTooLarge(EndpointError):
    """The endpoint's answer exceeds the client's size limit."""


class EndpointProtocolError(EndpointError):
    """The endpoint answered something the protocol does not allow (wrong shapes, NaN, inconsistent metadata)."""


def encode_states(states: Mapping[int, Any], *, pooling: str, fingerprint: str) -> bytes:
    """Serialize {layer: (B, d) array} or {layer: [TokenStates]} ("tokens") as a safetensors payload."""
    from safetensors.numpy import save

    tensors: dict[str, np.ndarray] = {}
    count = 0
    for layer, value in sorted(states.items()):
        if pooling == "tokens":
            rows = list(value)
            count = len(rows)
            tensors[f"layer.{int(layer)}"] = _f32(np.concatenate([np.asarray(r.states) for r in rows])
                                                  if rows else np.zeros((0, 0)))
            if "offsets" not in tensors:
                tensors["offsets"] = np.ascontiguousarray(
                    np.concatenate([np.asarray(r.offsets, dtype=np.int64).reshape(-1, 2) for r in rows]),
                    dtype=np.int64)
                tensors["lengths"] = np.array([len(r.offsets) for r in rows], dtype=np.int64)
        else:
            array = _f32(value)
            count = array.shape[0]
            tensors[f"layer.{int(layer)}"] = array
    meta = {"protocol": PROTOCOL, "fingerprint": fingerprint, "pooling": pooling, "count": str(count)}
    return save(tensors, metadata=meta)


def _f32(value: Any) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(value), dtype=np.float32)


def decode_states(
    payload: bytes, *, url: str, count: int, layers: Sequence[int], pooling: str, hidden_size: int, fingerprint: str
) -> dict[int, Any]:
    """Parse and check a hidden-states payload; return {layer: (count, d) float32} or {layer: [TokenStates]}."""
    from alignment_plugins.formats import read_safetensors

    def bad(message: str) -> EndpointProtocolError:
        return EndpointProtocolError(f"{url} sent an invalid hidden-states payload: {message}")

    meta, tensors = read_safetensors(payload, label="hidden-states payload", error=EndpointProtocolError, origin=url)
    if meta.get("protocol") != PROTOCOL:
        raise bad(f"protocol {meta.get('protocol')!r}, expected {PROTOCOL!r}")
    if meta.get("fingerprint") != fingerprint:
        raise bad(f"states of a model with fingerprint {meta.get('fingerprint')!r}, but the endpoint described "
                  f"{fingerprint!r} (inconsistent metadata: did the served model change?)")
    if meta.get("pooling") != pooling:
        raise bad(f"pooling {meta.get('pooling')!r}, asked for {pooling!r}")
    expected = {f"layer.{int(layer)}" for layer in layers} | ({"offsets", "lengths"} if pooling == "tokens" else set())
    if set(tensors) != expected:
        raise bad(f"tensors {sorted(tensors)}, expected {sorted(expected)}")
    rows = count
    if pooling == "tokens":
        lengths, offsets = tensors["lengths"], tensors["offsets"]
        if lengths.shape != (count,) or lengths.dtype.kind not in "iu" or (lengths < 0).any():
            raise bad(f"lengths of shape {lengths.shape} ({lengths.dtype}), expected ({count},) non-negative integers")
        rows = int(lengths.sum())
        if offsets.shape != (rows, 2) or offsets.dtype.kind not in "iu":
            raise bad(f"offsets of shape {offsets.shape} ({offsets.dtype}), expected ({rows}, 2) integers")
    out: dict[int, Any] = {}
    for layer in layers:
        array = tensors[f"layer.{int(layer)}"]
        if array.dtype != np.float32:
            raise bad(f"layer {layer} has dtype {array.dtype}, expected float32")
        if array.shape != (rows, hidden_size):
            raise bad(f"layer {layer} has shape {array.shape}, expected ({rows}, {hidden_size}) "
                      f"({'tokens' if pooling == 'tokens' else 'texts'} × the announced hidden size)")
        if not np.isfinite(array).all():
            raise bad(f"layer {layer} has non-finite values (NaN or inf)")
        out[int(layer)] = array
    if pooling == "tokens":
        bounds = np.concatenate([[0], np.cumsum(tensors["lengths"])])
        return {layer: [TokenStates(states=array[bounds[k]:bounds[k + 1]],
                                    offsets=tensors["offsets"][bounds[k]:bounds[k + 1]]) for k in range(count)]
                for layer, array in out.items()}
    return out


def check_model_description(body: Any, url: str) -> dict[str, Any]:
    """Validate the JSON of ``GET /v1/model``; return it (EndpointProtocolError naming the first problem)."""
    def bad(message: str) -> EndpointProtocolError:
        return EndpointProtocolError(f"{url} described its model inconsistently: {message}")

    if not isinstance(body, dict):
        raise bad("the description is not a JSON object")
    if body.get("protocol") != PROTOCOL:
        raise bad(f"protocol {body.get('protocol')!r}, expected {PROTOCOL!r}")
    info = body.get("info")
    if not isinstance(info, dict):
        raise bad("no 'info' object")
    for key in ("hidden_size", "num_layers"):
        value = info.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise bad(f"info.{key} must be a positive integer, got {value!r}")
    if not isinstance(body.get("fingerprint"), str) or not body["fingerprint"]:
        raise bad("no weight fingerprint")
    for key in ("name", "family", "kind"):
        if not isinstance(info.get(key, body.get(key)), str):
            raise bad(f"{key} must be a string")
    limits = body.get("limits") or {}
    for key in ("max_texts", "max_length"):
        value = limits.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise bad(f"limits.{key} must be a positive integer, got {value!r}")
    return body
