"""Architectures: the Architecture rows of the models the engine knows (metadata, support level, fingerprint)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from alignment_plugins import models as engine_models
from alignment_plugins.certificate import json_safe
from marketplace.catalog.models import Architecture
from marketplace.errors import NotFound, ValidationFailed

log = logging.getLogger(__name__)


def get_architecture(name: str) -> Architecture:
    """The registered architecture `name`; NotFound (404) naming the command that registers it."""
    try:
        return Architecture.objects.get(name=name)
    except Architecture.DoesNotExist:
        raise NotFound(f"architecture {name!r} is not registered; run `manage.py register_models`") from None


def _info_fields(info: Any) -> dict[str, Any]:
    return {
        "family": info.family or "",
        "kind": info.kind or "",
        "hidden_size": int(info.hidden_size or 0),
        "num_layers": int(info.num_layers or 0),
        "num_heads": info.num_heads,
        "num_kv_heads": info.num_kv_heads,
        "activation": info.activation or "",
        "positional_encoding": info.positional_encoding or "",
        "vocab_size": info.vocab_size,
        "normalization": info.normalization or "",
        "adapter": info.adapter or "",
    }


def register_architectures(names: Iterable[str] | None = None) -> list[Architecture]:
    """Create or update an Architecture row for every model the engine knows (or only `names`).

    Metadata comes from ``alignment_plugins.models.model_info`` (the model's own config; catalogue metadata for
    proprietary rows). Support level: FULL when the model's weights are located (its package is installed) and
    its config reads; PARTIAL for a runnable model whose package is missing or whose config cannot be read
    (the row keeps earlier dimensions); METADATA for proprietary rows. Nothing is converted: a GGUF model's config
    comes from its file header, its weight fingerprint is the sha256 of the GGUF file (the digest its conversion
    records; cached per file size and mtime), a model directory's the digest of its safetensors.
    """
    specs = engine_models.known_models()
    if names is not None:
        unknown = sorted(set(names) - set(specs))
        if unknown:
            raise ValidationFailed(f"unknown model(s) {unknown}; known: {', '.join(sorted(specs))}")
        specs = {name: specs[name] for name in names}
    rows: list[Architecture] = []
    for name, spec in sorted(specs.items()):
        defaults: dict[str, Any] = {"family": spec.family, "kind": spec.kind, "description": spec.description}
        metadata: dict[str, Any] = {"package": spec.package}
        if not spec.runnable:
            info = engine_models.model_info(name)
            defaults.update(_info_fields(info), support_level=Architecture.Support.METADATA, weight_fingerprint="")
            metadata["info"] = info.to_dict()
        else:
            try:
                if spec.locate is None:
                    raise LookupError("the catalogue entry has no way to locate weights")
                spec.locate()
                info = engine_models.model_info(name)
                fingerprint = engine_models.weights_fingerprint(name)
            except Exception as exc:  # a missing package, missing files or an unreadable config: partial support
                log.warning("%s is not available here (%s); registered as partial", name, exc)
                defaults["support_level"] = Architecture.Support.PARTIAL
                metadata["unavailable"] = str(exc)[:500]
            else:
                defaults.update(_info_fields(info), support_level=Architecture.Support.FULL,
                                weight_fingerprint=fingerprint[:80])
                metadata["info"] = info.to_dict()
        defaults["metadata"] = json_safe(metadata)
        row, _ = Architecture.objects.update_or_create(name=name, defaults=defaults)
        rows.append(row)
    return rows
