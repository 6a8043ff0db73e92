"""Signed quality certificates of W-Matrices: payload, canonical JSON, HMAC-SHA256 signature, HTML page.

Django-free, torch-free and matplotlib-free (numpy only; the page's plots are SVG drawn by ``charts``). The
marketplace and the CLI (``python -m alignment_plugins certify`` / ``verify-certificate``) both use this module, so
a certificate issued by either verifies with the other given the same key.

A *document* is ``{"payload": {...}, "algorithm": "hmac-sha256", "key_id": "hmac-sha256:<12 hex>",
"signature": "<64 hex>"}``. The signature is HMAC-SHA256 under the key of the payload's canonical JSON
(:func:`canonical_json`: sorted keys, no whitespace, ASCII, no NaN). Only the payload is signed; ``key_id``
names the key (first 12 hex of its sha256, which does not reveal it) and must match the verifying key.

Payload (format ``wmatrix-certificate/1``; every section but the optional ones is always present):

* ``certificate_id``, ``issued_at`` (ISO 8601, seconds), ``library_version``;
* ``matrix`` (id/version/method/file_sha256 as known), ``source``/``target`` (name, weight fingerprint),
  ``best_pair`` [source layer, target layer], ``anchor_set_hash``;
* ``tier`` 1 (best) .. 4 from the best pair's held-out reconstruction error and ``tier_bands`` (the upper bounds
  of tiers 1-3 it was read from; a missing or non-finite error is tier 4);
* ``metrics``: the best pair's held-out metrics as recorded (non-finite values become null);
  ``intervals``: for every metric its 95% interval ``{"ci_low", "ci_high", "method"}`` — the recorded bounds
  (``<metric>_ci_low/_ci_high`` or ``<metric>_ci``), else a Wilson score interval for the retrieval accuracies
  (proportions over the ``n`` test anchors), else ``null`` bounds with method ``"not recorded"``;
* optional ``retention``: the measured steering-effect retention of the pair (one row of a bench's
  ``support-matrix.json``, see :func:`retention_section`); optional ``stitching``: precomputed stitching metrics.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import math
import os
import secrets
import string
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from alignment_plugins import charts

__all__ = [
    "ALGORITHM", "DEFAULT_TIER_BANDS", "FORMAT", "KEY_ENV", "CertificateError", "build_payload", "canonical_json",
    "certify_wmatrix", "document", "json_safe", "key_id", "load_key", "load_support_matrix", "metric_intervals",
    "render_html", "retention_section", "sign", "signature_hex", "support_matrix_pair", "tier_for",
    "validate_support_matrix", "verify", "verify_detail",
]

FORMAT = "wmatrix-certificate/1"
ALGORITHM = "hmac-sha256"
KEY_ENV = "ALIGNMENT_CERTIFICATE_KEY"
#: Upper bounds of the held-out reconstruction error of tiers 1, 2 and 3 (the marketplace's default bands).
DEFAULT_TIER_BANDS = (0.05, 0.15, 0.30)
#: Metrics that are proportions over the test anchors (a Wilson interval applies when no bounds are recorded).
PROPORTIONS = ("accuracy", "csls_accuracy", "top5_accuracy")
SUPPORT_MATRIX_FORMAT, SUPPORT_MATRIX_VERSION = "support-matrix", 1
TIER_COLORS = {1: "#1b7f3b", 2: "#7cb342", 3: "#f9a825", 4: "#e53935"}
_ID_ALPHABET = string.ascii_letters + string.digits
_Z95 = 1.959963984540054


class CertificateError(ValueError):
    """A malformed certificate document or support-matrix file (not merely an invalid signature)."""


# ------------------------------------------------------------------------------------------------ JSON, keys
def json_safe(value: Any) -> Any:
    """A JSON-safe copy: non-finite floats become None, numpy scalars/arrays become Python values, keys str."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(float(value)) else None
    return value


def canonical_json(payload: Any) -> str:
    """The canonical JSON of a payload: sorted keys, no whitespace, ASCII, no NaN (what certificates sign)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


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


# ------------------------------------------------------------------------------------------------- payload
def tier_for(reconstruction_error: Any, bands: Sequence[float] = DEFAULT_TIER_BANDS) -> int:
    """Tier 1 (best) .. len(bands)+1 from the upper bounds `bands`; None or non-finite is the worst tier."""
    try:
        error = float(reconstruction_error)
    except (TypeError, ValueError):
        error = math.nan
    if math.isfinite(error):
        for tier, bound in enumerate(bands, start=1):
            if error <= float(bound):
                return tier
    return len(bands) + 1


def _wilson(p: float, n: int) -> tuple[float, float]:
    """95% Wilson score interval of a proportion p over n trials."""
    denom = 1.0 + _Z95**2 / n
    centre = (p + _Z95**2 / (2 * n)) / denom
    half = _Z95 * math.sqrt(p * (1.0 - p) / n + _Z95**2 / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def metric_intervals(metrics: Mapping[str, Any], n: int | None = None) -> dict[str, dict[str, Any]]:
    """95% interval of every metric in `metrics`: recorded bounds, a Wilson interval for proportions, or none.

    ``n`` (test anchors) defaults to ``metrics["n"]``. Interval keys themselves (``*_ci_low``, ``*_ci_high``,
    ``*_ci``) and ``n`` are not metrics.
    """
    if n is None:
        n_value = _number(metrics.get("n"))
        n = int(n_value) if n_value is not None and n_value >= 1 else None
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(metrics):
        if name == "n" or name.endswith(("_ci_low", "_ci_high", "_ci")):
            continue
        value = _number(metrics[name])
        low, high = _number(metrics.get(f"{name}_ci_low")), _number(metrics.get(f"{name}_ci_high"))
        pair = metrics.get(f"{name}_ci")
        if (low is None or high is None) and isinstance(pair, (list, tuple)) and len(pair) == 2:
            low, high = _number(pair[0]), _number(pair[1])
        if low is not None and high is not None:
            out[name] = {"ci_low": low, "ci_high": high, "method": "recorded (bootstrap over test anchors)"}
        elif name in PROPORTIONS and value is not None and n and 0.0 <= value <= 1.0:
            lo, hi = _wilson(value, n)
            out[name] = {"ci_low": lo, "ci_high": hi, "method": f"wilson score (n={n})"}
        else:
            out[name] = {"ci_low": None, "ci_high": None, "method": "not recorded"}
    return out


def new_certificate_id() -> str:
    """A fresh certificate id such as ``cert_Ab3...`` (the marketplace's public-id shape)."""
    return "cert_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(16))


def _iso(value: datetime | str | None) -> str:
    if value is None:
        value = datetime.now(UTC)
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat()
    return str(value)


def build_payload(
    *,
    source: Mapping[str, Any],
    target: Mapping[str, Any],
    metrics: Mapping[str, Any],
    anchor_set_hash: str,
    tier_bands: Sequence[float] = DEFAULT_TIER_BANDS,
    library_version: str | None = None,
    certificate_id: str | None = None,
    issued_at: datetime | str | None = None,
    matrix: Mapping[str, Any] | None = None,
    best_pair: Sequence[int] | None = None,
    n_test: int | None = None,
    retention: Mapping[str, Any] | None = None,
    stitching: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The payload of a certificate (see the module docstring); JSON-safe, ready for :func:`sign`.

    `source`/`target` need ``name`` (``fingerprint`` optional); `metrics` are the best pair's held-out metrics;
    the tier is read from ``metrics["reconstruction_error"]`` and `tier_bands`.
    """
    if library_version is None:
        from alignment_plugins import __version__ as library_version
    clean = json_safe(dict(metrics))
    bands = [float(b) for b in tier_bands]
    payload: dict[str, Any] = {
        "format": FORMAT,
        "certificate_id": certificate_id or new_certificate_id(),
        "matrix": json_safe(dict(matrix or {})),
        "source": {"name": str(source.get("name", "")), "fingerprint": str(source.get("fingerprint") or "")},
        "target": {"name": str(target.get("name", "")), "fingerprint": str(target.get("fingerprint") or "")},
        "best_pair": [int(i) for i in best_pair] if best_pair is not None else None,
        "tier": tier_for(clean.get("reconstruction_error"), bands),
        "tier_bands": {"reconstruction_error_upper_bounds": bands},
        "metrics": clean,
        "intervals": metric_intervals(clean, n_test),
        "anchor_set_hash": str(anchor_set_hash or ""),
        "library_version": str(library_version),
        "issued_at": _iso(issued_at),
    }
    if retention is not None:
        payload["retention"] = json_safe(dict(retention))
    if stitching is not None:
        payload["stitching"] = json_safe(dict(stitching))
    return payload


# ------------------------------------------------------------------------------------ measured retention
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


# ------------------------------------------------------------------------------------------------ certify
def certify_wmatrix(
    wmatrix: Any, key: str | bytes, *, file_sha256: str | None = None, file_name: str | None = None,
    tier_bands: Sequence[float] = DEFAULT_TIER_BANDS, support_matrix: Mapping[str, Any] | None = None,
    stitching: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A signed document for an engine WMatrix from its recorded best-pair metrics (no model is run).

    `support_matrix`: a validated support-matrix document; its entry for the matrix's pair becomes the
    ``retention`` section (CertificateError when it has none).
    """
    source, target = dict(wmatrix.source), dict(wmatrix.target)
    retention = None
    if support_matrix is not None:
        pair = support_matrix_pair(support_matrix, source.get("name"), target.get("name"))
        if pair is None:
            raise CertificateError(f"the support matrix has no measured pair {source.get('name')} -> "
                                   f"{target.get('name')}")
        models = support_matrix.get("models", {})
        retention = retention_section(
            pair, measured_at=support_matrix.get("generated_at"),
            anchor_set_hash=(support_matrix.get("anchors") or {}).get("hash"),
            library_version=support_matrix.get("library_version"),
            fingerprints={side: (models.get(pair[side]) or {}).get("fingerprint") or ""
                          for side in ("source", "target")},
        )
    counts = (wmatrix.anchors or {}).get("counts") or {}
    matrix = {"method": wmatrix.method, "created_at": wmatrix.created_at}
    if file_sha256:
        matrix["file_sha256"] = file_sha256
    if file_name:
        matrix["file"] = file_name
    payload = build_payload(
        source=source, target=target, metrics=wmatrix.metrics, anchor_set_hash=wmatrix.anchors.get("hash", ""),
        tier_bands=tier_bands, library_version=wmatrix.library_version or None, matrix=matrix,
        best_pair=list(wmatrix.best_pair), n_test=counts.get("test") if isinstance(counts.get("test"), int) else None,
        retention=retention, stitching=stitching,
    )
    return document(payload, key)


# --------------------------------------------------------------------------------------------------- HTML
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:62em;color:#1d1d1f;
padding:0 1em;line-height:1.4}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
.tier{display:inline-block;color:#fff;font-weight:700;padding:.3em .8em;border-radius:.4em;font-size:1.2em}
.ok{color:#1b7f3b;font-weight:700}.bad{color:#c62828;font-weight:700}.unk{color:#8d6e00;font-weight:700}
table{border-collapse:collapse;margin:.5em 0;font-size:.92em}th,td{border:1px solid #ddd;padding:.25em .6em;
text-align:left;vertical-align:top}th{background:#f5f5f7}td.num{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.88em;word-break:break-all}
img{max-width:100%;border:1px solid #eee;margin:.4em 0}.muted{color:#666;font-size:.88em}
pre{background:#f5f5f7;padding:.8em;overflow:auto;font-size:.8em}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _fmt(value: Any, digits: int = 4) -> str:
    number = _number(value)
    if number is None:
        return "—" if value is None else _e(value)
    return f"{number:.{digits}f}"


def _interval_text(low: Any, high: Any) -> str:
    if _number(low) is None or _number(high) is None:
        return "—"
    return f"[{_fmt(low)}, {_fmt(high)}]"


def _cka_plot(cka: Any, cka_layers: Mapping[str, Any] | None, title: str, best_pair: Any) -> str:
    """A data URI of the CKA heatmap (SVG, ``alignment_plugins.charts``) with the best pair as a red dot."""
    sim = np.asarray(cka, dtype=np.float64)
    if sim.ndim != 2 or not sim.size:
        raise ValueError(f"the CKA matrix must be 2-D, got shape {sim.shape}")
    layers = cka_layers or {}
    source_layers = [int(v) for v in layers.get("source") or range(sim.shape[0])]
    target_layers = [int(v) for v in layers.get("target") or range(sim.shape[1])]
    marks: list[tuple[int, int]] = []
    if best_pair and int(best_pair[0]) in source_layers and int(best_pair[1]) in target_layers:
        marks = [(source_layers.index(int(best_pair[0])), target_layers.index(int(best_pair[1])))]
    svg = charts.heatmap_svg(sim, source_layers, target_layers, title=title, x_label="target layer",
                             y_label="source layer", marks=marks, mark_label="certified best pair")
    return charts.svg_data_uri(svg)


def _dose_plot(capability: str, arms: Mapping[str, Any]) -> str:
    """A data URI of one capability's dose-response curves (SVG): effect vs coefficient per arm, 95% band shaded."""
    series: dict[str, dict[str, list[float | None]]] = {}
    for arm, curve in sorted(arms.items()):
        if not isinstance(curve, Mapping):
            continue
        low, high = curve.get("ci_low"), curve.get("ci_high")
        bands = isinstance(low, Sequence) and isinstance(high, Sequence)
        series[str(arm)] = {
            "x": [_number(v) for v in curve.get("coefficients") or []],
            "y": [_number(v) for v in curve.get("effect") or []],
            **({"low": [_number(v) for v in low], "high": [_number(v) for v in high]} if bands else {}),
        }
    try:
        svg = charts.line_chart_svg(series, title=f"dose response: {capability}", x_label="steering coefficient",
                                    y_label="effect")
    except ValueError:
        raise ValueError("no arm has matching coefficients and effect lists") from None
    return charts.svg_data_uri(svg)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int = 1) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{c}</td>' if i >= numeric_from else f"<td>{c}</td>"
                         for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, Mapping):
        out: list[tuple[str, Any]] = []
        for k in sorted(value, key=str):
            out.extend(_flatten(value[k], f"{prefix}.{k}" if prefix else str(k)))
        return out
    return [(prefix, value)]


def render_html(
    doc: Mapping[str, Any],
    cka: Any = None,
    cka_layers: Mapping[str, Any] | None = None,
    dose_response: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    key: str | bytes | None = None,
    verified: bool | None = None,
) -> str:
    """A self-contained HTML page of a certificate document (inline CSS, SVG plots as base64 data URIs).

    Shows the tier, every metric with its interval, the measured retention and stitching sections when present,
    fingerprints, anchor hash, the signature block and whether it verified (`verified` when given, else checked
    with `key` when given, else "not checked"). `cka` (+ `cka_layers` {"source": [...], "target": [...]}) adds
    the CKA heatmap; `dose_response` {capability: {arm: {"coefficients", "effect", "ci_low", "ci_high"}}} adds
    one dose-response plot per capability. Every string from the document is HTML-escaped; a plot that cannot
    be drawn is replaced by a note.
    """
    payload = doc.get("payload") if isinstance(doc.get("payload"), Mapping) else {}
    if verified is None and key is not None:
        verified = verify(doc, key)
    if verified is True:
        status = '<span class="ok">signature verified</span>'
    elif verified is False:
        status = '<span class="bad">signature INVALID</span>'
    else:
        status = '<span class="unk">signature not checked (no key given)</span>'
    tier = payload.get("tier")
    color = TIER_COLORS.get(tier, "#757575") if isinstance(tier, int) else "#757575"
    source, target = payload.get("source") or {}, payload.get("target") or {}
    matrix = payload.get("matrix") or {}
    title = f"W-Matrix certificate {payload.get('certificate_id', '')}"
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(source.get('name'))} &rarr; {_e(target.get('name'))}</h1>",
        f'<p><span class="tier" style="background:{color}">Tier {_e(tier)}</span> &nbsp; {status}</p>',
        f'<p class="muted">Certificate <code>{_e(payload.get("certificate_id"))}</code> · format '
        f'{_e(payload.get("format"))} · issued {_e(payload.get("issued_at"))} · alignment_plugins '
        f'{_e(payload.get("library_version"))}</p>',
    ]
    bands = (payload.get("tier_bands") or {}).get("reconstruction_error_upper_bounds") or []
    if bands:
        text = ", ".join(f"tier {i} ≤ {_fmt(b, 3)}" for i, b in enumerate(bands, start=1))
        parts.append(f'<p class="muted">Tier from the held-out reconstruction error: {_e(text)}; above: '
                     f"tier {len(bands) + 1}.</p>")

    info = [("source model", source.get("name")), ("source weight fingerprint", source.get("fingerprint")),
            ("target model", target.get("name")), ("target weight fingerprint", target.get("fingerprint")),
            ("best layer pair (source → target)", " → ".join(str(i) for i in payload.get("best_pair") or [])),
            ("anchor-set hash", payload.get("anchor_set_hash"))]
    info += [(f"matrix {k}", v) for k, v in sorted(matrix.items())]
    parts.append("<h2>Identity</h2>")
    parts.append(_table(["field", "value"], [[_e(k), f'<span class="mono">{_e(v)}</span>'] for k, v in info],
                        numeric_from=99))

    metrics = payload.get("metrics") or {}
    intervals = payload.get("intervals") or metric_intervals(metrics)
    rows = []
    for name in sorted(intervals):
        iv = intervals[name] or {}
        rows.append([_e(name), _fmt(metrics.get(name)), _interval_text(iv.get("ci_low"), iv.get("ci_high")),
                     _e(iv.get("method"))])
    parts.append("<h2>Held-out metrics (best layer pair, test split)</h2>")
    parts.append(_table(["metric", "value", "95% interval", "interval"], rows) if rows else
                 "<p>No metrics recorded.</p>")
    if _number(metrics.get("n")) is not None:
        parts.append(f'<p class="muted">n = {_e(int(metrics["n"]))} test anchors.</p>')

    retention = payload.get("retention")
    if isinstance(retention, Mapping):
        median = retention.get("median") or {}
        ci = median.get("ci") or [None, None]
        parts.append("<h2>Measured steering-effect retention</h2>")
        parts.append(
            f"<p>Median retention <strong>{_fmt(median.get('retention'), 3)}</strong> "
            f"(95% CI {_interval_text(*ci[:2])}); random-direction control {_fmt(median.get('random_control'), 3)}, "
            f"shuffled-map control {_fmt(median.get('shuffled_control'), 3)}, cosine(native, transferred) "
            f"{_fmt(median.get('cosine'), 3)}. Measured {_e(retention.get('measured_at'))} at source layer "
            f"{_e(retention.get('source_layer'))} → target layer {_e(retention.get('target_layer'))} "
            f"({_e(retention.get('method'))}), anchors <code>{_e(retention.get('anchor_set_hash'))}</code>.</p>")
        cap_rows = []
        for name, row in sorted((retention.get("capabilities") or {}).items()):
            row = row if isinstance(row, Mapping) else {}
            rci = row.get("ci") if isinstance(row.get("ci"), list) and len(row.get("ci")) == 2 else [None, None]
            cap_rows.append([
                _e(name), _fmt(row.get("retention"), 3), _interval_text(*rci),
                _fmt(row.get("retention_matched_norm"), 3),
                _fmt(row.get("random_control"), 3), _fmt(row.get("shuffled_control"), 3),
                _fmt(row.get("anti_steerable_fraction"), 3), _fmt(row.get("cosine"), 3),
                _fmt(row.get("best_coefficient"), 2), _e(row.get("n_prompts", "—")),
            ])
        if cap_rows:
            parts.append(_table(["capability", "retention", "95% CI", "matched norm", "random ctrl",
                                 "shuffled ctrl", "anti-steerable", "cosine", "best coef.", "prompts"], cap_rows))

    stitching = payload.get("stitching")
    if isinstance(stitching, Mapping):
        parts.append("<h2>Stitching metrics</h2>")
        flat = _flatten(stitching)
        parts.append(_table(["metric", "value"], [[_e(k), _fmt(v)] for k, v in flat]) if flat else "<p>—</p>")

    plots: list[str] = []
    if cka is not None:
        try:
            uri = _cka_plot(cka, cka_layers, f"linear CKA: {source.get('name')} vs {target.get('name')}",
                            payload.get("best_pair"))
            plots.append(f'<figure><img alt="CKA heatmap" src="{uri}"><figcaption class="muted">Layer '
                         "similarity (linear CKA, standardized); red dot: the certified best pair."
                         "</figcaption></figure>")
        except Exception as exc:  # a bad matrix must not hide the certificate
            plots.append(f'<p class="muted">CKA heatmap unavailable: {_e(exc)}</p>')
    for capability, arms in sorted((dose_response or {}).items()):
        try:
            if not isinstance(arms, Mapping):
                raise ValueError("expected {arm: curve}")
            uri = _dose_plot(str(capability), arms)
            plots.append(f'<figure><img alt="dose response {_e(capability)}" src="{uri}"></figure>')
        except Exception as exc:
            plots.append(f'<p class="muted">Dose-response plot of {_e(capability)} unavailable: {_e(exc)}</p>')
    if plots:
        parts.append("<h2>Plots</h2>")
        parts.extend(plots)

    parts.append("<h2>Signature</h2>")
    parts.append(_table(["field", "value"], [
        ["algorithm", _e(doc.get("algorithm", ALGORITHM))],
        ["key id", f'<span class="mono">{_e(doc.get("key_id"))}</span>'],
        ["signature", f'<span class="mono">{_e(doc.get("signature"))}</span>'],
        ["status", status],
    ], numeric_from=99))
    parts.append('<p class="muted">Check it yourself: save the document below as cert.json and run '
                 "<code>python -m alignment_plugins verify-certificate cert.json --key-file KEY</code>.</p>")
    signed = {k: doc.get(k) for k in ("payload", "algorithm", "key_id", "signature") if k in doc}
    text = json.dumps(signed, indent=2, default=str)
    parts.append(f"<details><summary>Signed document (JSON)</summary><pre>{_e(text)}</pre></details>")
    parts.append("</body></html>")
    return "\n".join(parts)
