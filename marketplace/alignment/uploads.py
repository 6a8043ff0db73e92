"""Uploaded W-Matrices (``WMatrix.register`` / ``POST /api/v1/wmatrices/``): validated like every stored file, the
owner recorded, models the marketplace does not know registered from the file's own metadata."""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from alignment_plugins import wmatrix as engine_wmatrix
from alignment_plugins.certificate import json_safe
from marketplace.alignment.matrices import active_matrix, check_matrix_metadata, store_matrix
from marketplace.alignment.models import WMatrix
from marketplace.catalog.models import MODEL_NAME_PATTERN, Architecture
from marketplace.errors import Conflict, ValidationFailed

log = logging.getLogger(__name__)

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$")
SLUG = re.compile(MODEL_NAME_PATTERN)


def upload_matrix(*, user: Any, data: bytes, name: str) -> WMatrix:
    """Store uploaded .wmatrix bytes as the next version of its pair, owned by `user`, registered as `name`.

    Refused with nothing stored (ValidationFailed, 400): a bad name, a file over ``MAX_WMATRIX_UPLOAD_BYTES``, a file
    the engine rejects (format, shapes, dtypes, finiteness, integrity digest), a model name that is not a slug, a
    registered model whose hidden size or weight fingerprint differs from the file's; (Conflict, 409) an active
    matrix of the pair owned by someone else. A model the marketplace does not know is registered as PARTIAL from the
    file's metadata (family, kind, dimensions, fingerprint, where it was found). The certificate is issued here.
    """
    if not isinstance(name, str) or not NAME.match(name):
        raise ValidationFailed("name must be 1-120 letters, digits, '.', '_' or '-', starting with a letter or digit")
    limit = int(settings.MAX_WMATRIX_UPLOAD_BYTES)
    if len(data) > limit:
        raise ValidationFailed(f"the file has {len(data)} bytes; the limit is {limit}", max_bytes=limit)
    with tempfile.TemporaryDirectory(prefix="wmatrix-upload-") as tmp:
        path = Path(tmp) / "upload.wmatrix"
        path.write_bytes(data)
        try:
            engine = engine_wmatrix.WMatrix.load(path)
        except (engine_wmatrix.WMatrixFormatError, KeyError, ValueError, TypeError) as exc:
            raise ValidationFailed(f"not a valid .wmatrix file: {exc}".replace(str(path), "upload")) from None
        check_matrix_metadata(engine)
        with transaction.atomic():
            source, target = (_architecture(getattr(engine, side), side) for side in ("source", "target"))
            current = active_matrix(source, target)
            if current is not None and current.owner_id != getattr(user, "pk", None):
                raise Conflict(f"{source.name}→{target.name} already has an active matrix (v{current.version}, "
                               f"{current.public_id}) that is not yours", matrix_id=current.public_id)
            return store_matrix(path, owner=user, name=name)


def _architecture(side: dict[str, Any], role: str) -> Architecture:
    """The registered model of one side, checked against the file; created (PARTIAL) when unknown."""
    model_name = str(side.get("name") or "")
    if not SLUG.fullmatch(model_name) or len(model_name) > 120:
        raise ValidationFailed(f"the {role} model name {model_name!r} is not a valid model name (letters, digits, "
                               "'.', '-' and '_'); train with a model name of that form")
    fingerprint = str(side.get("fingerprint") or "")
    row = Architecture.objects.filter(name=model_name).first()
    if row is None:
        row = Architecture.objects.create(
            name=model_name, family=str(side.get("family") or "unknown")[:40], kind=str(side.get("kind") or "")[:20],
            hidden_size=int(side["hidden_size"]), num_layers=int(side.get("num_layers") or 0),
            support_level=Architecture.Support.PARTIAL, weight_fingerprint=fingerprint[:80],
            description="registered from an uploaded W-Matrix",
            metadata=json_safe({"origin": side.get("origin") or {}, "registered_from": "wmatrix upload"}))
        log.info("registered %s from an uploaded matrix", model_name)
        return row
    if row.weight_fingerprint and fingerprint and row.weight_fingerprint != fingerprint[:80]:
        raise ValidationFailed(f"the {role} model {model_name} is registered with weights {row.weight_fingerprint}; "
                               f"the matrix was trained on {fingerprint}")
    return row
