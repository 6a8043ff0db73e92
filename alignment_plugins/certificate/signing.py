"""Signing and verifying certificate documents: keys, HMAC-SHA256 over canonical JSON, constant-time checks.

A *document* is ``{"payload": {...}, "algorithm": "hmac-sha256", "key_id": "hmac-sha256:<12 hex>",
"signature": "<64 hex>"}``. The signature is HMAC-SHA256 under the key of the payload's canonical JSON
(:func:`alignment_plugins.formats.canonical_json`: sorted keys, no whitespace, ASCII, no NaN). Only the payload is
signed; ``key_id`` names the key (first 12 hex of its sha256, which does not reveal it) and must match the
verifying key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from alignment_plugins.formats import canonical_json

ALGORITHM = "hmac-sha256"
KEY_ENV = "ALIGNMENT_CERTIFICATE_KEY"


class CertificateError(ValueError):
    """A malformed certificate document or support-matrix file (not merely an invalid signature)."""


# ------------------------------------------------------------------------------------------------------- keys
def _key_bytes(key: str | bytes) -> bytes:
    if isinstance(key, str):
        key = key.encode()
    key = bytes(key)
    if not key:
        raise ValueError("the certificate key is empty")
    return key


def key_id(key: str | bytes) -> str:
    """Identifies a key without revealing it: ``"hmac-sha256:"`` + the first 12 hex of sha256(key)."""
    return f"{ALGORITHM}:" + hashlib.sha256(_key_bytes(key)).hexdigest()[:12]


def load_key(key_file: str | os.PathLike | None = None, *, env: Mapping[str, str] | None = None) -> bytes:
    """The signing key: the bytes of `key_file` (trailing newlines dropped), else ``$ALIGNMENT_CERTIFICATE_KEY``."""
    if key_file is not None:
        data = Path(key_file).read_bytes().rstrip(b"\r\n")
        if not data:
            raise ValueError(f"key file {key_file} is empty")
        return data
    value = (os.environ if env is None else env).get(KEY_ENV, "")
    if not value:
        raise ValueError(f"no certificate key: pass --key-file or set {KEY_ENV}")
    return value.encode()


# ------------------------------------------------------------------------------------------------ signatures
def signature_hex(payload: Mapping[str, Any], key: str | bytes) -> str:
    """HMAC-SHA256 (hex) of the payload's canonical JSON under `key`."""
    return hmac.new(_key_bytes(key), canonical_json(payload).encode(), hashlib.sha256).hexdigest()


def sign(payload: Mapping[str, Any], key: str | bytes) -> dict[str, str]:
    """``{"algorithm": "hmac-sha256", "key_id": ..., "signature": hex}`` of `payload` under `key`."""
    return {"algorithm": ALGORITHM, "key_id": key_id(key), "signature": signature_hex(payload, key)}


def document(payload: Mapping[str, Any], key: str | bytes) -> dict[str, Any]:
    """A signed document: the payload and its signature block."""
    return {"payload": dict(payload), **sign(payload, key)}


def verify_detail(doc: Any, key: str | bytes) -> tuple[bool, str]:
    """(valid, reason): the signature of ``doc["payload"]`` under `key` (constant-time comparison).

    Invalid when the algorithm is not hmac-sha256, the key id names another key, the signature is not 64 hex
    digits or does not match. Raises :class:`CertificateError` when `doc` is not a document at all (no payload
    object or no signature string). Keys other than payload/signature/key_id/algorithm are ignored.
    """
    if not isinstance(doc, Mapping):
        raise CertificateError(f"a certificate document is a JSON object, got {type(doc).__name__}")
    payload, signature = doc.get("payload"), doc.get("signature")
    if not isinstance(payload, Mapping):
        raise CertificateError("the document has no 'payload' object")
    if not isinstance(signature, str):
        raise CertificateError("the document has no 'signature' string")
    algorithm = doc.get("algorithm", ALGORITHM)
    if algorithm != ALGORITHM:
        return False, f"unsupported algorithm {algorithm!r} (expected {ALGORITHM!r})"
    recorded = doc.get("key_id")
    expected_id = key_id(key)
    # the marketplace's old default key_id was the bare algorithm name: it names no key
    if recorded not in (None, "", ALGORITHM) and not hmac.compare_digest(str(recorded), expected_id):
        return False, f"signed with key {recorded}, not with the given key ({expected_id})"
    try:
        expected = signature_hex(payload, key)
    except (TypeError, ValueError) as exc:
        return False, f"the payload cannot be canonicalized: {exc}"
    except RecursionError:
        return False, "the payload cannot be canonicalized: it is nested too deeply"
    if len(signature) != 64 or any(c not in string.hexdigits for c in signature):
        return False, "the signature is not 64 hexadecimal digits"
    if not hmac.compare_digest(expected, signature.lower()):
        return False, "the signature does not match the payload"
    return True, "valid"


def verify(doc: Any, key: str | bytes) -> bool:
    """Whether `doc` is a document whose signature matches its payload under `key` (never raises on bad input)."""
    try:
        return verify_detail(doc, key)[0]
    except CertificateError:
        return False
