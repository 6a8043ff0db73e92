"""W-Matrix versions: the active matrix of a pair, and storing a .wmatrix file as the pair's next version."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from alignment_plugins import wmatrix as engine_wmatrix
from alignment_plugins.certificate import json_safe
from marketplace import events
from marketplace.alignment.architectures import get_architecture
from marketplace.alignment.certificates import issue_certificate
from marketplace.alignment.matrix_files import file_sha256
from marketplace.alignment.models import WMatrix
from marketplace.catalog.models import Architecture
from marketplace.errors import ValidationFailed
from marketplace.stored_files import removed_on_failure
from marketplace.stored_json import check_storable

log = logging.getLogger(__name__)


def active_matrix(source: Architecture, target: Architecture) -> WMatrix | None:
    """The active (latest, not drifted or superseded) matrix from `source` to `target`, or None."""
    return (
        WMatrix.objects.filter(source=source, target=target, status=WMatrix.Status.ACTIVE)
        .order_by("-version")
        .first()
    )


def check_matrix_metadata(engine: engine_wmatrix.WMatrix) -> None:
    """ValidationFailed unless the parts of a matrix's header the marketplace stores (models, method, metrics,
    anchors, layer map) are storable JSON (no NUL, lone surrogate or non-finite number; not nested too deeply)."""
    check_storable({"source": engine.source, "target": engine.target, "method": engine.method,
                    "metrics": engine.pair_metrics, "anchors": engine.anchors,
                    "layer_map": [list(p) for p in engine.layer_map]}, "the matrix's metadata")


def store_matrix(path: str | Path, *, owner: Any = None, name: str = "") -> WMatrix:
    """Store a .wmatrix file as the new active version of its (source, target) pair; return the row.

    The file is loaded with the engine (validating shapes, dtypes, finiteness, version and integrity), both
    models must be registered with matching hidden sizes, the file is copied into media storage, the version is
    the pair's last + 1, earlier active/drifted versions become SUPERSEDED, ``validated_at`` is now and a signed
    certificate is issued. After commit, estimates computed from older versions are recomputed
    (``events.matrix_version_created``). Storing a file whose sha256 is already stored for the pair returns that
    row unchanged (rerunnable); a failure after the file is copied removes it again. `owner` / `name`: who
    uploaded it and under which name (``upload_matrix``).
    """
    path = Path(path)
    try:
        engine = engine_wmatrix.WMatrix.load(path)
    except (engine_wmatrix.WMatrixFormatError, FileNotFoundError, KeyError, ValueError) as exc:
        raise ValidationFailed(f"cannot store {path}: {exc}") from None
    check_matrix_metadata(engine)
    digest = file_sha256(path)
    source, target = get_architecture(engine.source["name"]), get_architecture(engine.target["name"])
    for side, row in (("source", source), ("target", target)):
        size = int(getattr(engine, side)["hidden_size"])
        if row.hidden_size and row.hidden_size != size:
            raise ValidationFailed(
                f"{path}: the matrix's {side} hidden size is {size} but {row.name} has hidden size {row.hidden_size}"
            )
    with transaction.atomic():
        Architecture.objects.select_for_update().filter(pk=source.pk).first()  # serialize versions of the pair
        existing = list(WMatrix.objects.filter(source=source, target=target).order_by("version"))
        for matrix in existing:
            if matrix.file_sha256 == digest:
                return matrix
        version = existing[-1].version + 1 if existing else 1
        WMatrix.objects.filter(
            source=source, target=target, status__in=[WMatrix.Status.ACTIVE, WMatrix.Status.DRIFTED]
        ).update(status=WMatrix.Status.SUPERSEDED)
        matrix = WMatrix(
            source=source, target=target, version=version, method=engine.method,
            layer_map=[[int(i), int(j)] for i, j in engine.layer_map],
            best_source_layer=int(engine.best_pair[0]), best_target_layer=int(engine.best_pair[1]),
            recommended_source_layer=int(engine.headline_pair[0]),
            recommended_target_layer=int(engine.headline_pair[1]),
            file_sha256=digest, metrics=json_safe(engine.pair_metrics),
            anchor_set_hash=str(engine.anchors.get("hash", ""))[:80],
            source_fingerprint=str(engine.source.get("fingerprint") or "")[:80],
            target_fingerprint=str(engine.target.get("fingerprint") or "")[:80],
            status=WMatrix.Status.ACTIVE, validated_at=timezone.now(), owner=owner, name=name[:120],
        )
        with removed_on_failure(matrix.file):
            with open(path, "rb") as handle:
                matrix.file.save(f"{source.name}-to-{target.name}-v{version}.wmatrix", File(handle), save=False)
            matrix.save()
            issue_certificate(matrix)
            events.matrix_version_created(matrix.id)
    log.info("stored %s -> %s v%d (%s)", source.name, target.name, version, matrix.public_id)
    return matrix
