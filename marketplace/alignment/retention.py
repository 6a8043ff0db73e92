"""Measured steering-effect retention: import of a bench's support-matrix.json, and look-ups by pair and listing.

The file's schema is validated by the engine (``alignment_plugins.certificate.validate_support_matrix``). Each
pair becomes one ``MeasuredRetention`` row per capability plus a ``"*"`` row holding the pair's median; a run is
identified by the file's ``generated_at`` and the configuration it measured (the pair's ``target_config``, else the
document's: quantization and context length, matched as ``alignment_plugins.compatibility.measured_setting``; the
default configuration has config_key ""), so importing the same file twice updates the same rows. Nothing here
imports torch (registering a missing packaged model may convert its GGUF weights once; that happens in the
management command's process, never in the web process).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from alignment_plugins import models as engine_models
from alignment_plugins.certificate import canonical_json, json_safe, validate_support_matrix
from alignment_plugins.certificate import retention_section as engine_section
from alignment_plugins.compatibility import capability_key, measured_setting
from alignment_plugins.target_config import TargetConfigError, normalize_config
from marketplace.alignment import architectures
from marketplace.alignment.models import MeasuredRetention
from marketplace.catalog.models import Architecture, VectorListing
from marketplace.errors import NotFound, ValidationFailed

log = logging.getLogger(__name__)

PAIR_MEDIAN = MeasuredRetention.PAIR_MEDIAN


@dataclass
class ImportResult:
    """What ``import_support_matrix`` stored."""

    measured_at: datetime
    created: int = 0
    updated: int = 0
    pairs: list[tuple[str, str]] = field(default_factory=list)
    registered: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.created + self.updated


__all__ = ["ImportResult", "capability_key", "dose_response", "import_support_matrix", "latest_run",
           "measurement_config_key", "measurement_for", "retention_section", "select_measurement"]


def measurement_config_key(config: dict[str, Any] | None) -> str:
    """"" for the default setting (unquantized or ≥ 16 bits, short prompts), else the sha256 hex of the canonical
    JSON of ``measured_setting(config)``."""
    setting = measured_setting(normalize_config(config))
    if setting == {"bits": None, "context_length": None}:
        return ""
    return hashlib.sha256(canonical_json(setting).encode()).hexdigest()


def _pair_config(data: dict[str, Any], pair: dict[str, Any]) -> dict[str, Any]:
    config = pair.get("target_config", data.get("target_config"))
    try:
        normalized = normalize_config(config)
    except TargetConfigError as exc:
        raise ValidationFailed(f"{pair['source']} -> {pair['target']}: target_config: {exc}") from None
    return {"quantization": normalized["quantization"], "context_length": normalized["context_length"]}


def _measured_at(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _resolve_models(data: dict[str, Any], register: bool) -> tuple[dict[str, Architecture], list[str]]:
    names = sorted({p["source"] for p in data["pairs"]} | {p["target"] for p in data["pairs"]})
    rows = {a.name: a for a in Architecture.objects.filter(name__in=names)}
    missing = [name for name in names if name not in rows]
    registered: list[str] = []
    if missing:
        unknown = sorted(set(missing) - set(engine_models.known_models())) if register else missing
        if unknown:
            hint = "" if register else " (registration disabled)"
            raise NotFound(f"unknown model(s) {unknown}: not registered{hint} and not known to the engine; "
                           "run `manage.py register_models` or fix the file")
        log.info("registering %s", ", ".join(missing))
        for row in architectures.register_architectures(missing):
            rows[row.name] = row
            registered.append(row.name)
    for name in names:
        size = (data["models"].get(name) or {}).get("hidden_size")
        if size and rows[name].hidden_size and int(size) != rows[name].hidden_size:
            raise ValidationFailed(f"{name}: the file measured hidden size {size} but the registered model has "
                                   f"{rows[name].hidden_size}; it is not the same model")
    return rows, registered


def _interval(value: Any) -> tuple[float | None, float | None]:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return value[0], value[1]
    return None, None


def import_support_matrix(data: Any, *, register: bool = True) -> ImportResult:
    """Store every pair of a support-matrix document as MeasuredRetention rows (all or nothing).

    Invalid schema: ValidationFailed listing the errors. A model neither registered nor known to the engine (or
    any unregistered model with ``register=False``): NotFound. Missing known models are registered first with
    ``register_architectures``. A registered model whose hidden size differs from the file's: ValidationFailed.
    Rows are keyed by (source, target, capability, measured_at = generated_at): a re-import updates them.
    """
    errors = validate_support_matrix(data)
    if errors:
        more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
        raise ValidationFailed("not a support-matrix file: " + "; ".join(errors[:10]) + more)
    result = ImportResult(measured_at=_measured_at(data["generated_at"]))
    rows, result.registered = _resolve_models(data, register)
    anchors = data.get("anchors") or {}
    models = data.get("models") or {}
    configs = [_pair_config(data, pair) for pair in data["pairs"]]
    with transaction.atomic():
        for pair, config in zip(data["pairs"], configs, strict=True):
            source, target = rows[pair["source"]], rows[pair["target"]]
            key = measurement_config_key(config)
            common = {
                "target_config": config,
                "source_layer": pair["source_layer"], "target_layer": pair["target_layer"],
                "method": str(pair.get("method") or "")[:40],
                "source_fingerprint": str((models.get(source.name) or {}).get("fingerprint") or "")[:80],
                "target_fingerprint": str((models.get(target.name) or {}).get("fingerprint") or "")[:80],
                "anchor_set_hash": str(anchors.get("hash") or "")[:80],
                "library_version": str(data.get("library_version") or "")[:40],
            }
            low, high = _interval(pair.get("median_retention_ci"))
            entries = {PAIR_MEDIAN: {
                **common, "retention": pair.get("median_retention"), "ci_low": low, "ci_high": high,
                "random_control": pair.get("random_control"), "shuffled_control": pair.get("shuffled_control"),
                "cosine": pair.get("cosine_native_transferred"), "retention_matched_norm": None,
                "anti_steerable_fraction": None, "best_coefficient": None, "n_prompts": None,
                "raw": json_safe({k: v for k, v in pair.items() if k != "capabilities"}),
            }}
            for name, cap in (pair.get("capabilities") or {}).items():
                low, high = _interval(cap.get("ci"))
                entries[name] = {
                    **common, "retention": cap.get("retention"), "ci_low": low, "ci_high": high,
                    "retention_matched_norm": cap.get("retention_matched_norm"),
                    "random_control": cap.get("random_control"), "shuffled_control": cap.get("shuffled_control"),
                    "cosine": cap.get("cosine"), "anti_steerable_fraction": cap.get("anti_steerable_fraction"),
                    "best_coefficient": cap.get("best_coefficient"), "n_prompts": cap.get("n_prompts"),
                    "raw": json_safe(cap),
                }
            for capability, defaults in entries.items():
                _, created = MeasuredRetention.objects.update_or_create(
                    source=source, target=target, capability=capability, measured_at=result.measured_at,
                    config_key=key, defaults=defaults,
                )
                if created:
                    result.created += 1
                else:
                    result.updated += 1
            result.pairs.append((source.name, target.name))
    return result


# ------------------------------------------------------------------------------------------------ look-ups
def latest_run(source: Architecture | int, target: Architecture | int, config_key: str = "") -> list[MeasuredRetention]:
    """Every row of the pair's most recent measured run in a configuration (default: the default one; median row
    first), or [] when never measured."""
    pair = MeasuredRetention.objects.filter(source=source, target=target, config_key=config_key)
    latest = pair.order_by("-measured_at").values_list("measured_at", flat=True).first()
    if latest is None:
        return []
    rows = list(pair.filter(measured_at=latest).order_by("capability"))
    return sorted(rows, key=lambda r: (r.capability != PAIR_MEDIAN, r.capability))


def select_measurement(rows: list[MeasuredRetention], listing: VectorListing | None) -> MeasuredRetention | None:
    """The row an estimate uses: the listing's capability (capability_domain, else name, compared loosely by
    ``capability_key``) when measured with a value, else the pair's median row when it has a value, else None."""
    usable = [r for r in rows if r.retention is not None]
    if listing is not None:
        by_key = {capability_key(r.capability): r for r in usable if r.capability != PAIR_MEDIAN}
        for candidate in (listing.capability_domain, listing.name):
            key = capability_key(candidate)
            if key and key in by_key:
                return by_key[key]
    return next((r for r in usable if r.capability == PAIR_MEDIAN), None)


def measurement_for(listing: VectorListing, target: Architecture, config: dict[str, Any] | None = None,
                    source_layer: int | None = None) -> MeasuredRetention | None:
    """The measured retention an estimate of `listing` on `target` uses: the row of the listing's capability
    (``select_measurement``, never the pair's median: a median says nothing about a capability never measured) in the
    latest run of the configuration, measured at `source_layer` (default: the listing's layer); None otherwise."""
    rows = latest_run(listing.source_model_id, target.pk, measurement_config_key(config))
    row = select_measurement(rows, listing)
    layer = listing.layer if source_layer is None else source_layer
    if row is None or row.capability == PAIR_MEDIAN or row.source_layer != layer:
        return None
    return row


def retention_section(source: Architecture, target: Architecture) -> dict[str, Any] | None:
    """The certificate's ``retention`` section from the pair's latest run, or None when never measured."""
    rows = latest_run(source, target)
    if not rows:
        return None
    median = next((r for r in rows if r.capability == PAIR_MEDIAN), None)
    first = median or rows[0]
    pair = dict(median.raw) if median is not None else {}
    pair.update(source_layer=first.source_layer, target_layer=first.target_layer, method=first.method)
    pair["capabilities"] = {r.capability: r.raw for r in rows if r.capability != PAIR_MEDIAN}
    return engine_section(
        pair, measured_at=first.measured_at.isoformat(), anchor_set_hash=first.anchor_set_hash,
        library_version=first.library_version,
        fingerprints={"source": first.source_fingerprint, "target": first.target_fingerprint},
    )


def dose_response(source: Architecture, target: Architecture) -> dict[str, Any]:
    """Dose-response curves recorded in the pair's latest run ({capability: {arm: curve}}), when the bench wrote
    them under a capability's ``dose_response`` key."""
    out = {}
    for row in latest_run(source, target):
        curves = (row.raw or {}).get("dose_response")
        if row.capability != PAIR_MEDIAN and isinstance(curves, dict) and curves:
            out[row.capability] = curves
    return out
