"""JSON the database can store: what PostgreSQL's jsonb refuses (NUL characters, lone UTF-16 surrogates, NaN and
infinities) and what is too deep or too large is refused here, with a message, before anything is written.

A leaf module (the engine's ``formats`` and ``errors`` only): services check uploaded metadata with it before they
write files or rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from alignment_plugins.formats import MAX_JSON_DEPTH, canonical_json, json_depth
from marketplace.errors import TooLarge, ValidationFailed


def _text_problem(text: str) -> str | None:
    """Why PostgreSQL would refuse `text` in a jsonb value, or None."""
    if "\x00" in text:
        return "a NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "a lone UTF-16 surrogate (not valid Unicode)"
    return None


def storable_problem(value: Any) -> str | None:
    """The first value in `value` that jsonb cannot hold, described with its location, or None (no recursion)."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, Mapping):
            for key, child in node.items():
                problem = _text_problem(str(key))
                if problem:
                    return f"a key at {where or 'the top'} holds {problem}"
                stack.append((child, f"{where}.{key}" if where else str(key)))
        elif isinstance(node, (list, tuple)):
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(node))
        elif isinstance(node, str):
            problem = _text_problem(node)
            if problem:
                return f"{where or 'the value'} holds {problem}"
        elif isinstance(node, float) and not math.isfinite(node):
            return f"{where or 'the value'} is {node} (JSON has no NaN or infinity)"
    return None


def check_storable(value: Any, what: str, *, max_bytes: int | None = None) -> int:
    """Refuse (ValidationFailed, 400) a JSON value a jsonb column cannot hold or nested over MAX_JSON_DEPTH levels;
    (TooLarge, 413) one whose canonical JSON exceeds `max_bytes`. Returns that size in bytes."""
    if json_depth(value) > MAX_JSON_DEPTH:
        raise ValidationFailed(f"{what} is nested too deeply (more than {MAX_JSON_DEPTH} levels)",
                               max_depth=MAX_JSON_DEPTH)
    problem = storable_problem(value)
    if problem:
        raise ValidationFailed(f"{what} cannot be stored: {problem}")
    try:
        size = len(canonical_json(value).encode("ascii"))
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"{what} is not JSON: {exc}") from None
    if max_bytes is not None and size > max_bytes:
        raise TooLarge(f"{what} is {size} bytes of JSON; the limit is {max_bytes} bytes",
                               max_bytes=max_bytes, size=size)
    return size
