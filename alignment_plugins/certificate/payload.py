"""The certificate payload: tier from the reconstruction error, metric intervals, and certifying a WMatrix.

Payload (format ``wmatrix-certificate/1``; every section but the optional ones is always present):

* ``certificate_id``, ``issued_at`` (ISO 8601, seconds), ``library_version``;
* ``matrix`` (id/version/method/file_sha256 as known), ``source``/``target`` (name, weight fingerprint),
  ``best_pair`` [source layer, target layer] (best held-out retrieval), ``recommended_pair`` (the pair for vectors,
  which ``metrics`` and ``tier`` describe; equal to ``best_pair`` for matrices older than the recommendation),
  ``anchor_set_hash``;
* ``tier`` 1 (best) .. 4 from the described pair's held-out reconstruction error and ``tier_bands`` (the upper bounds
  of tiers 1-3 it was read from; a missing or non-finite error is tier 4);
* ``metrics``: the described pair's held-out metrics as recorded (non-finite values become null);
  ``intervals``: for every metric its 95% interval ``{"ci_low", "ci_high", "method"}`` — the recorded bounds
  (``<metric>_ci_low/_ci_high`` or ``<metric>_ci``), else a Wilson score interval for the retrieval accuracies
  (proportions over the ``n`` test anchors), else ``null`` bounds with method ``"not recorded"``;
* optional ``retention``: the measured steering-effect retention of the pair (one row of a bench's
  ``support-matrix.json``, see ``support_matrix.retention_section``); optional ``stitching``: precomputed
  stitching metrics; optional ``embedding``: for a sentence encoder on either side, the last-layers pair users
  embed with (``pair``, ``metrics``, ``intervals``).
"""

from __future__ import annotations

import math
import secrets
import string
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from alignment_plugins.certificate.signing import CertificateError, document
from alignment_plugins.certificate.support_matrix import retention_section, support_matrix_pair
from alignment_plugins.formats import json_safe

FORMAT = "wmatrix-certificate/1"
#: Upper bounds of the held-out reconstruction error of tiers 1, 2 and 3 (the marketplace's default bands).
DEFAULT_TIER_BANDS = (0.05, 0.15, 0.30)
#: Metrics that are proportions over the test anchors (a Wilson interval applies when no bounds are recorded).
PROPORTIONS = ("accuracy", "csls_accuracy", "top5_accuracy")
_ID_ALPHABET = string.ascii_letters + string.digits
_Z95 = 1.959963984540054


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


def finite_number(value: Any) -> float | None:
    """A finite Python float from an int or float (numpy too), else None (bools, strings, NaN, inf)."""
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
        n_value = finite_number(metrics.get("n"))
        n = int(n_value) if n_value is not None and n_value >= 1 else None
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(metrics):
        if name == "n" or name.endswith(("_ci_low", "_ci_high", "_ci")):
            continue
        value = finite_number(metrics[name])
        low, high = finite_number(metrics.get(f"{name}_ci_low")), finite_number(metrics.get(f"{name}_ci_high"))
        pair = metrics.get(f"{name}_ci")
        if (low is None or high is None) and isinstance(pair, (list, tuple)) and len(pair) == 2:
            low, high = finite_number(pair[0]), finite_number(pair[1])
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
    recommended_pair: Sequence[int] | None = None,
    embedding: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The payload of a certificate (see the module docstring); JSON-safe, ready for :func:`sign`.

    `source`/`target` need ``name`` (``fingerprint`` optional); `metrics` are the held-out metrics of
    `recommended_pair` (default: `best_pair`); the tier is read from ``metrics["reconstruction_error"]`` and
    `tier_bands`. `embedding`: {"pair": [i, j], "metrics": {...}} of an encoder's last-layers pair.
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
        "recommended_pair": ([int(i) for i in recommended_pair] if recommended_pair is not None else
                             [int(i) for i in best_pair] if best_pair is not None else None),
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
    if embedding is not None:
        emb_metrics = json_safe(dict(embedding.get("metrics") or {}))
        payload["embedding"] = {"pair": [int(i) for i in embedding["pair"]], "metrics": emb_metrics,
                                "intervals": metric_intervals(emb_metrics, n_test)}
    return payload


def _embedding_section(wmatrix: Any) -> dict[str, Any] | None:
    pair = getattr(wmatrix, "embedding_pair", None)
    if pair is None:
        return None
    return {"pair": list(pair), "metrics": wmatrix.pair_metrics.get(f"{pair[0]}->{pair[1]}", {})}


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
        retention=retention, stitching=stitching, recommended_pair=list(wmatrix.headline_pair),
        embedding=_embedding_section(wmatrix),
    )
    return document(payload, key)
