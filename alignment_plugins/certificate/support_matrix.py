"""The support-matrix document a retention bench writes: schema check, strict reading, one pair's section.

Format "support-matrix", version 1 (``docs/support-matrix.json``, written by ``bench/retention_bench.py``).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from alignment_plugins.certificate.signing import CertificateError
from alignment_plugins.formats import json_safe

SUPPORT_MATRIX_FORMAT, SUPPORT_MATRIX_VERSION = "support-matrix", 1
_CAPABILITY_NUMBERS = ("retention", "retention_matched_norm", "random_control", "shuffled_control",
                       "anti_steerable_fraction", "cosine", "best_coefficient")
_PAIR_NUMBERS = ("median_retention", "random_control", "shuffled_control", "cosine_native_transferred")


def _check_number(value: Any, where: str, errors: list[str], *, nullable: bool = True) -> None:
    if value is None and nullable:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        errors.append(f"{where}: expected a finite number{' or null' if nullable else ''}, got {value!r}")


def _check_int(value: Any, where: str, errors: list[str], *, nullable: bool = False) -> None:
    if value is None and nullable:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        errors.append(f"{where}: expected an integer, got {value!r}")


def _check_interval(value: Any, where: str, errors: list[str]) -> None:
    if value is None:
        return
    if not isinstance(value, list) or len(value) != 2:
        errors.append(f"{where}: expected [low, high] or null, got {value!r}")
        return
    _check_number(value[0], f"{where}[0]", errors)
    _check_number(value[1], f"{where}[1]", errors)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value) and value[0] > value[1]:
        errors.append(f"{where}: low {value[0]} > high {value[1]}")


def validate_support_matrix(data: Any) -> list[str]:
    """Every schema error of a bench's support-matrix document (format "support-matrix", version 1); [] if valid.

    Pairs must name models listed under ``models``, one entry per (source, target); numbers must be finite or
    null; intervals are [low, high] with low ≤ high; ``generated_at`` must be ISO 8601. Unknown keys are allowed.
    """
    errors: list[str] = []
    if not isinstance(data, Mapping):
        return [f"top level: expected a JSON object, got {type(data).__name__}"]
    if data.get("format") != SUPPORT_MATRIX_FORMAT:
        errors.append(f"format: expected {SUPPORT_MATRIX_FORMAT!r}, got {data.get('format')!r}")
    if data.get("version") != SUPPORT_MATRIX_VERSION:
        errors.append(f"version: expected {SUPPORT_MATRIX_VERSION}, got {data.get('version')!r}")
    generated = data.get("generated_at")
    try:
        datetime.fromisoformat(str(generated).replace("Z", "+00:00"))
        if not isinstance(generated, str):
            raise ValueError
    except ValueError:
        errors.append(f"generated_at: expected an ISO 8601 time, got {generated!r}")
    anchors = data.get("anchors")
    if not isinstance(anchors, Mapping) or not isinstance(anchors.get("hash"), str):
        errors.append("anchors: expected {\"hash\": str, \"count\": int}")
    elif "count" in anchors:
        _check_int(anchors["count"], "anchors.count", errors, nullable=True)
    models = data.get("models")
    if not isinstance(models, Mapping):
        errors.append("models: expected an object of model name -> {fingerprint, layer, hidden_size}")
        models = {}
    for name, info in models.items():
        if not isinstance(info, Mapping):
            errors.append(f"models.{name}: expected an object")
            continue
        if info.get("fingerprint") is not None and not isinstance(info.get("fingerprint"), str):
            errors.append(f"models.{name}.fingerprint: expected a string")
        for key in ("layer", "hidden_size"):
            if key in info:
                _check_int(info[key], f"models.{name}.{key}", errors, nullable=True)
    pairs = data.get("pairs")
    if not isinstance(pairs, list):
        errors.append("pairs: expected a list")
        pairs = []
    seen: set[tuple[str, str]] = set()
    for index, pair in enumerate(pairs):
        where = f"pairs[{index}]"
        if not isinstance(pair, Mapping):
            errors.append(f"{where}: expected an object")
            continue
        source, target = pair.get("source"), pair.get("target")
        for side, name in (("source", source), ("target", target)):
            if not isinstance(name, str) or not name:
                errors.append(f"{where}.{side}: expected a model name")
            elif name not in models:
                errors.append(f"{where}.{side}: model {name!r} is not listed under 'models'")
        if isinstance(source, str) and isinstance(target, str):
            if (source, target) in seen:
                errors.append(f"{where}: the pair {source} -> {target} appears twice")
            seen.add((source, target))
        for key in ("source_layer", "target_layer"):
            _check_int(pair.get(key), f"{where}.{key}", errors)
        if not isinstance(pair.get("method", ""), str):
            errors.append(f"{where}.method: expected a string")
        for key in _PAIR_NUMBERS:
            _check_number(pair.get(key), f"{where}.{key}", errors)
        _check_interval(pair.get("median_retention_ci"), f"{where}.median_retention_ci", errors)
        caps = pair.get("capabilities", {})
        if not isinstance(caps, Mapping):
            errors.append(f"{where}.capabilities: expected an object")
            continue
        for cap, row in caps.items():
            cwhere = f"{where}.capabilities.{cap}"
            if not cap or cap == "*" or len(cap) > 120:
                errors.append(f"{cwhere}: a capability name is 1-120 characters and not '*'")
            if not isinstance(row, Mapping):
                errors.append(f"{cwhere}: expected an object")
                continue
            for key in _CAPABILITY_NUMBERS:
                _check_number(row.get(key), f"{cwhere}.{key}", errors)
            _check_interval(row.get("ci"), f"{cwhere}.ci", errors)
            _check_interval(row.get("ci_matched_norm"), f"{cwhere}.ci_matched_norm", errors)
            _check_int(row.get("n_prompts"), f"{cwhere}.n_prompts", errors, nullable=True)
    return errors


def _reject_constant(token: str) -> Any:
    raise ValueError(f"{token} is not valid JSON (non-finite numbers are written as null)")


def read_json_file(path: str | os.PathLike) -> Any:
    """Read a strict JSON file (NaN/Infinity rejected); CertificateError saying why when unreadable or malformed."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CertificateError(f"cannot read {path}: {exc}") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise CertificateError(f"{path} is not valid JSON: it is nested too deeply") from None
    except ValueError as exc:
        raise CertificateError(f"{path} is not valid JSON: {exc}") from None


def load_support_matrix(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate a support-matrix JSON file; CertificateError (clear message) when it is not one."""
    data = read_json_file(path)
    errors = validate_support_matrix(data)
    if errors:
        more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
        raise CertificateError(f"{path} is not a support-matrix file: " + "; ".join(errors[:10]) + more)
    return data


def support_matrix_pair(data: Mapping[str, Any], source: str, target: str) -> dict[str, Any] | None:
    """The (source, target) entry of a validated support-matrix document, or None."""
    for pair in data.get("pairs", []):
        if pair.get("source") == source and pair.get("target") == target:
            return dict(pair)
    return None


def retention_section(
    pair: Mapping[str, Any], *, measured_at: str | None = None, anchor_set_hash: str | None = None,
    library_version: str | None = None, fingerprints: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The certificate's ``retention`` section from one support-matrix pair entry (JSON-safe).

    ``{"measured_at", "anchor_set_hash", "library_version", "source_layer", "target_layer", "method",
    "fingerprints", "median": {"retention", "ci": [lo, hi], "random_control", "shuffled_control", "cosine"},
    "capabilities": {name: the entry's row}}``.
    """
    ci = pair.get("median_retention_ci")
    caps = pair.get("capabilities") or {}
    return json_safe({
        "measured_at": measured_at,
        "anchor_set_hash": anchor_set_hash,
        "library_version": library_version,
        "source_layer": pair.get("source_layer"),
        "target_layer": pair.get("target_layer"),
        "method": pair.get("method"),
        "fingerprints": dict(fingerprints or {}),
        "median": {
            "retention": pair.get("median_retention"),
            "ci": list(ci) if isinstance(ci, (list, tuple)) else None,
            "random_control": pair.get("random_control"),
            "shuffled_control": pair.get("shuffled_control"),
            "cosine": pair.get("cosine_native_transferred"),
        },
        "capabilities": {str(name): dict(row) for name, row in sorted(caps.items())},
    })
