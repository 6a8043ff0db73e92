"""Stored .wmatrix files: a local path for any storage, the file digest, the JSON header, the CKA matrix and the
engine's matrix object, all read with numpy and safetensors (no torch).

A leaf of the alignment app: it imports the models only, so every service module can read matrix files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import safe_open

from alignment_plugins import wmatrix as engine_wmatrix
from marketplace.alignment.models import WMatrix

log = logging.getLogger(__name__)

_HEADER_CACHE: dict[str, dict[str, Any]] = {}


def file_sha256(path: Path) -> str:
    """sha256 hex digest of a file's bytes (read in 4 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def local_path(field_file: Any) -> Iterator[Path]:
    """A local filesystem path for a stored file (the file itself, or a temporary copy for remote storage)."""
    try:
        path = Path(field_file.path)
    except NotImplementedError:
        path = None
    if path is not None and path.is_file():
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="marketplace-") as tmp:
        copy = Path(tmp) / Path(field_file.name).name
        with field_file.open("rb") as src, open(copy, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 22)
        yield copy


def read_header(path: str | Path) -> dict[str, Any]:
    """The JSON metadata of a .wmatrix file on disk, read without loading its tensors (not validated)."""
    with safe_open(str(path), framework="numpy") as handle:
        return json.loads((handle.metadata() or {}).get("metadata", "{}"))


def matrix_header(matrix: WMatrix) -> dict[str, Any]:
    """The JSON metadata of a stored matrix's .wmatrix file, read without loading its tensors (cached per sha256).

    The tensors and the integrity digest were validated by ``WMatrix.load`` when the file was stored.
    """
    cached = _HEADER_CACHE.get(matrix.file_sha256)
    if cached is not None:
        return cached
    with local_path(matrix.file) as path:
        meta = read_header(path)
    if len(_HEADER_CACHE) > 256:
        _HEADER_CACHE.clear()
    _HEADER_CACHE[matrix.file_sha256] = meta
    return meta


def load_engine_matrix(matrix: WMatrix) -> engine_wmatrix.WMatrix:
    """Load and validate the engine's WMatrix (numpy) from a stored matrix's file."""
    with local_path(matrix.file) as path:
        return engine_wmatrix.WMatrix.load(path)


def matrix_cka(matrix: WMatrix) -> tuple[np.ndarray | None, dict[str, Any]]:
    """The CKA layer-similarity matrix stored in a matrix's .wmatrix file (numpy, no torch) and its layer lists;
    (None, {}) when the file has none or cannot be read."""
    if not matrix.file:
        return None, {}
    try:
        with local_path(matrix.file) as path, safe_open(str(path), framework="numpy") as handle:
            cka = handle.get_tensor("cka") if "cka" in handle.keys() else None  # noqa: SIM118 (not a dict)
        layers = matrix_header(matrix).get("cka_layers") or {}
    except Exception as exc:  # a missing or unreadable file must not hide the certificate page
        log.warning("no CKA matrix for %s: %s", matrix, exc)
        return None, {}
    return cka, layers


_CARRIED_CACHE: dict[tuple[str, int, int], tuple[np.ndarray, np.ndarray]] = {}


def carried_subspace(matrix: WMatrix, pair: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(scale_x, basis) of one layer pair's map: the source scales and the orthonormal basis of the source
    directions it carries well (``alignment_plugins.transfer_features.carried_basis``), read from the file's
    tensors of that pair only (numpy, no torch; cached per file sha256 and pair)."""
    from alignment_plugins.transfer_features import carried_basis

    key = (matrix.file_sha256, int(pair[0]), int(pair[1]))
    if key not in _CARRIED_CACHE:
        prefix = f"pair.{pair[0]}.{pair[1]}."
        with local_path(matrix.file) as path, safe_open(str(path), framework="numpy") as handle:
            weight = handle.get_tensor(prefix + "weight").astype(np.float64)
            scale_x = handle.get_tensor(prefix + "scale_x").astype(np.float64)
        if len(_CARRIED_CACHE) > 64:
            _CARRIED_CACHE.clear()
        _CARRIED_CACHE[key] = (scale_x, carried_basis(weight))
    return _CARRIED_CACHE[key]


def pair_map(matrix: WMatrix, pair: tuple[int, int]) -> Any:
    """The engine ``LinearMap`` of one layer pair of a stored matrix, read from that pair's tensors only (the file
    was validated, digest included, when it was stored)."""
    from alignment_plugins.solvers.base import TENSOR_KEYS, LinearMap

    prefix = f"pair.{pair[0]}.{pair[1]}."
    with local_path(matrix.file) as path, safe_open(str(path), framework="numpy") as handle:
        tensors = {key: handle.get_tensor(prefix + key) for key in TENSOR_KEYS}
    hyper = (matrix_header(matrix).get("pair_hyperparams") or {}).get(f"{pair[0]}->{pair[1]}", {})
    return LinearMap.from_tensors(matrix.method, tensors, hyper)
