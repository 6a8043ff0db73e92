"""Public identifiers: a prefix and 16 url-safe random characters (e.g. ``vec_9fK2...``)."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def public_id(prefix: str) -> str:
    """Return a new public id such as ``vec_Ab3...`` (prefix + 16 random alphanumerics)."""
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(16))


def factory(prefix: str):
    """Return a callable producing public ids with `prefix` (used as a model field default)."""
    return _Factory(prefix)


class _Factory:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __call__(self) -> str:
        return public_id(self.prefix)

    def deconstruct(self) -> tuple[str, tuple, dict]:
        return ("marketplace.ids._Factory", (self.prefix,), {})
