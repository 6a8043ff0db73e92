"""The W-Matrix object and its ``.wmatrix`` file format.

A ``.wmatrix`` file is safetensors: per fitted layer pair (i, j) the tensors ``pair.i.j.<key>`` (weight,
inverse_weight, mean_x, scale_x, mean_y, scale_y; float32) and the CKA matrix, with JSON metadata in the header
(format version, models and weight fingerprints, layer map, method and hyperparameters, anchor-set hash and
counts, metrics, creation time, library version) and an integrity digest over metadata and tensor bytes.
Loading validates all of it and never unpickles anything.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from alignment_plugins.formats import document_header, read_document
from alignment_plugins.solvers.base import TENSOR_KEYS, LinearMap

FORMAT = "wmatrix"
FORMAT_VERSION = 1
SUPPORTED_VERSIONS = (1,)
MAX_FILE_BYTES = 4 << 30


class WMatrixFormatError(ValueError):
    """A .wmatrix file is truncated, corrupted, edited or of an unsupported version."""


Pair = tuple[int, int]


def pair_key(pair: Pair) -> str:
    """Return the metrics key of a layer pair, e.g. "12->9"."""
    return f"{pair[0]}->{pair[1]}"


@dataclass
class WMatrix:
    """A fitted map from a source model's hidden states to a target model's, one LinearMap per layer pair."""

    source: dict[str, Any]
    target: dict[str, Any]
    maps: dict[Pair, LinearMap]
    layer_map: list[Pair]
    best_pair: Pair
    method: str
    hyperparams: dict[str, Any] = field(default_factory=dict)
    anchors: dict[str, Any] = field(default_factory=dict)
    pair_metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    cka: np.ndarray | None = None
    cka_layers: dict[str, list[int]] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    # The pair buyers should use for vectors (chosen on validation concepts, never an embedding layer); None in files
    # written before it existed, where the best retrieval pair stands in.
    recommended_pair: Pair | None = None
    # For a sentence encoder on either side: the pair of last layers (what users embed with, pooled), reported for the
    # embedding-migration use beside the recommended pair; None for decoder-only pairs.
    embedding_pair: Pair | None = None
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    library_version: str = ""
    # Drift probe: a few held-out anchors' states on the models the matrix was fit on, at the recommended pair
    # (metadata: pair, texts, pooling, max_length, dtype; states: {"source": (m, d_s), "target": (m, d_t)}), so a
    # monitor can compare the same texts on today's models (alignment_plugins.monitor). None in older files.
    probe: dict[str, Any] | None = None
    probe_states: dict[str, np.ndarray] = field(default_factory=dict)
    # Version of this matrix (1 when trained; a recalibration writes version + 1 with `parent` = the sha256 of the
    # file it started from).
    version: int = 1
    parent: str = ""

    def __post_init__(self) -> None:
        if not self.library_version:
            from alignment_plugins import __version__

            self.library_version = __version__
        self.best_pair = tuple(self.best_pair)  # type: ignore[assignment]
        if self.best_pair not in self.maps:
            raise ValueError(f"best pair {self.best_pair} has no fitted map")
        if self.recommended_pair is not None:
            self.recommended_pair = tuple(self.recommended_pair)  # type: ignore[assignment]
            if self.recommended_pair not in self.maps:
                raise ValueError(f"recommended pair {self.recommended_pair} has no fitted map")
        if self.embedding_pair is not None:
            self.embedding_pair = tuple(self.embedding_pair)  # type: ignore[assignment]
            if self.embedding_pair not in self.maps:
                raise ValueError(f"embedding pair {self.embedding_pair} has no fitted map")

    @property
    def headline_pair(self) -> Pair:
        """The pair the headline metrics, tiers and certificates describe: the recommended one, else the best."""
        return self.recommended_pair if self.recommended_pair is not None else self.best_pair

    # ----------------------------------------------------------------- metrics
    @property
    def metrics(self) -> dict[str, float]:
        """Held-out metrics of the headline (recommended) layer pair (standardized spaces; see metrics.py)."""
        return dict(self.pair_metrics.get(pair_key(self.headline_pair), {}))

    @property
    def accuracy(self) -> float:
        """Held-out top-1 retrieval accuracy of the headline pair (fraction, 0..1)."""
        return float(self.metrics.get("accuracy", float("nan")))

    @property
    def reconstruction_error(self) -> float:
        """Held-out round-trip relative squared error of the headline pair (0 = perfect, 1 = mean predictor)."""
        return float(self.metrics.get("reconstruction_error", float("nan")))

    @property
    def semantic_preservation(self) -> float:
        """Held-out mean cosine of mapped vs true target states of the headline pair (standardized space)."""
        return float(self.metrics.get("semantic_preservation", float("nan")))

    # ------------------------------------------------------------- transform
    def map_for(self, layer: int | None = None) -> tuple[Pair, LinearMap]:
        """Return the (pair, map) whose source layer is `layer` (None: the headline, i.e. recommended, pair)."""
        if layer is None:
            return self.headline_pair, self.maps[self.headline_pair]
        for pair, linear in self.maps.items():
            if pair[0] == layer:
                return pair, linear
        fitted = sorted({pair[0] for pair in self.maps})
        raise ValueError(f"no map fitted for source layer {layer}; fitted source layers: {fitted}")

    def target_layer(self, layer: int | None = None) -> int:
        """Return the target layer that source `layer` maps to."""
        return self.map_for(layer)[0][1]

    def transform(self, vectors: Any, layer: int | None = None, *, direction: bool = False) -> np.ndarray:
        """Map source hidden states (N, d_source) or (d_source,) to the target space; `direction` skips the means."""
        array = _as_finite_array(vectors, "vectors")
        _, linear = self.map_for(layer)
        return linear.transform_direction(array) if direction else linear.transform(array)

    def inverse(self, vectors: Any, layer: int | None = None, *, direction: bool = False) -> np.ndarray:
        """Map target hidden states back to the source space of the pair whose source layer is `layer`."""
        array = _as_finite_array(vectors, "vectors")
        _, linear = self.map_for(layer)
        return linear.inverse_direction(array) if direction else linear.inverse(array)

    # ------------------------------------------------------------------ I/O
    def metadata(self) -> dict[str, Any]:
        """Return the JSON metadata written into the file header."""
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "library_version": self.library_version,
            "created_at": self.created_at,
            "source": self.source,
            "target": self.target,
            "method": self.method,
            "hyperparams": self.hyperparams,
            "layer_map": [list(p) for p in self.layer_map],
            "pairs": [list(p) for p in sorted(self.maps)],
            "pair_hyperparams": {pair_key(p): m.hyperparams for p, m in sorted(self.maps.items())},
            "best_pair": list(self.best_pair),
            "recommended_pair": list(self.recommended_pair) if self.recommended_pair is not None else None,
            "embedding_pair": list(self.embedding_pair) if self.embedding_pair is not None else None,
            "anchors": self.anchors,
            "metrics": self.pair_metrics,
            "cka_layers": self.cka_layers,
            "training": self.training,
            "probe": self.probe,
            "version": self.version,
            "parent": self.parent,
        }

    def tensors(self) -> dict[str, np.ndarray]:
        """Return every tensor of the file, float32, by name."""
        out: dict[str, np.ndarray] = {}
        for (i, j), linear in sorted(self.maps.items()):
            for key, value in linear.tensors().items():
                out[f"pair.{i}.{j}.{key}"] = np.ascontiguousarray(value, dtype=np.float32)
        if self.cka is not None:
            out["cka"] = np.ascontiguousarray(self.cka, dtype=np.float32)
        if self.probe is not None:
            for side in ("source", "target"):
                out[f"probe.{side}"] = np.ascontiguousarray(self.probe_states[side], dtype=np.float32)
        return out

    def save(self, path: str | os.PathLike) -> Path:
        """Write the matrix to a .wmatrix file atomically; return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(self.to_bytes())
        os.replace(tmp, path)
        return path

    def to_bytes(self) -> bytes:
        """The .wmatrix file's bytes (what ``save`` writes)."""
        from safetensors.numpy import save

        tensors = self.tensors()
        return save(tensors, metadata=document_header(FORMAT, FORMAT_VERSION, self.metadata(), tensors))

    def register(self, name: str, api_key: str | None = None, base_url: str | None = None,
                 timeout: float = 120.0) -> dict[str, Any]:
        """Upload this matrix to a marketplace under `name` (``alignment_plugins.registry``); return the stored
        version as the marketplace describes it (id, version, owner, certificate_url, ...)."""
        from alignment_plugins.registry import register_matrix

        return register_matrix(self.to_bytes(), name=name, api_key=api_key, base_url=base_url, timeout=timeout)

    @classmethod
    def load(cls, path: str | os.PathLike) -> WMatrix:
        """Read and validate a .wmatrix file (shapes, dtypes, finiteness, version, integrity)."""
        meta, tensors = read_file(path)
        return cls.from_parts(meta, tensors, str(path))

    @classmethod
    def from_parts(cls, meta: Mapping[str, Any], tensors: Mapping[str, np.ndarray], origin: str = "") -> WMatrix:
        """Build a WMatrix from validated metadata and tensors."""
        maps: dict[Pair, LinearMap] = {}
        hyper = meta.get("pair_hyperparams") or {}
        for i, j in meta["pairs"]:
            parts = {key: tensors[f"pair.{i}.{j}.{key}"] for key in TENSOR_KEYS}
            try:
                maps[(i, j)] = LinearMap.from_tensors(meta["method"], parts, hyper.get(pair_key((i, j)), {}))
            except ValueError as exc:
                raise WMatrixFormatError(f"{origin}: layer pair {i}->{j} is invalid: {exc}") from exc
        return cls(
            source=meta["source"], target=meta["target"], maps=maps,
            layer_map=[tuple(p) for p in meta["layer_map"]], best_pair=tuple(meta["best_pair"]),
            method=meta["method"], hyperparams=meta.get("hyperparams") or {}, anchors=meta.get("anchors") or {},
            pair_metrics=meta.get("metrics") or {}, cka=tensors.get("cka"), cka_layers=meta.get("cka_layers") or {},
            training=meta.get("training") or {}, created_at=meta.get("created_at") or "",
            recommended_pair=tuple(meta["recommended_pair"]) if meta.get("recommended_pair") else None,
            embedding_pair=tuple(meta["embedding_pair"]) if meta.get("embedding_pair") else None,
            library_version=meta.get("library_version") or "",
            probe=meta.get("probe") or None,
            probe_states={side: tensors[f"probe.{side}"] for side in ("source", "target")
                          if f"probe.{side}" in tensors},
            version=int(meta.get("version") or 1), parent=str(meta.get("parent") or ""),
        )

    def report(self) -> dict[str, Any]:
        """Return a JSON-serializable report: models, anchors, per-pair metrics, best pair, timings."""
        meta = self.metadata()
        meta.pop("pair_hyperparams")
        meta["best"] = {"pair": list(self.best_pair), **self.pair_metrics.get(pair_key(self.best_pair), {})}
        meta["recommended"] = {"pair": list(self.headline_pair), **self.metrics}
        if self.embedding_pair is not None:
            meta["embedding"] = {"pair": list(self.embedding_pair),
                                 **self.pair_metrics.get(pair_key(self.embedding_pair), {})}
        return meta

    def __repr__(self) -> str:
        return (
            f"WMatrix({self.source.get('name')} -> {self.target.get('name')}, method={self.method}, "
            f"pairs={len(self.maps)}, best={pair_key(self.best_pair)}, recommended={pair_key(self.headline_pair)}, "
            f"accuracy={self.accuracy:.3f}, "
            f"semantic_preservation={self.semantic_preservation:.3f})"
        )


def _as_finite_array(values: Any, what: str) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().cpu().float().numpy()
    array = np.asarray(values)
    if array.dtype.kind not in "fiu":
        raise ValueError(f"{what} must be numeric, got dtype {array.dtype}")
    if not np.isfinite(array).all():
        raise ValueError(f"{what} contain non-finite values (NaN or inf)")
    return array


def read_file(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read and validate a .wmatrix file; return (metadata, tensors) or raise WMatrixFormatError."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such .wmatrix file")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise WMatrixFormatError(f"{path}: {size} bytes exceeds the {MAX_FILE_BYTES}-byte limit for a .wmatrix")
    meta, tensors = read_document(path, format_name=FORMAT, supported_versions=SUPPORTED_VERSIONS,
                                  label=".wmatrix file", error=WMatrixFormatError)
    if not isinstance(meta, dict):
        raise WMatrixFormatError(f"{path}: metadata must be a JSON object, got {type(meta).__name__}")
    _validate(meta, tensors, path)
    return meta, tensors


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_pair(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(_is_int(v) and v >= 0 for v in value)


#: Optional metadata keys and the Python type of the JSON value each must have when present (or null).
_OPTIONAL_TYPES: dict[str, type] = {
    "hyperparams": dict, "pair_hyperparams": dict, "anchors": dict, "metrics": dict, "cka_layers": dict,
    "training": dict, "created_at": str, "library_version": str, "parent": str,
}


def _validate_structure(meta: dict[str, Any], path: Path) -> None:
    """The header's shape: every key the loader and reports read has the JSON type they expect (a file whose digest
    is valid may still have been written by someone else's tool)."""
    required = ("source", "target", "method", "layer_map", "pairs", "best_pair")
    missing = [key for key in required if key not in meta]
    if missing:
        raise WMatrixFormatError(f"{path}: metadata lacks {missing}")
    for side in ("source", "target"):
        info = meta[side]
        if not isinstance(info, dict):
            raise WMatrixFormatError(f"{path}: metadata {side!r} must be an object, got {type(info).__name__}")
        if not _is_int(info.get("hidden_size")) or info["hidden_size"] <= 0:
            raise WMatrixFormatError(f"{path}: {side} hidden_size must be a positive integer, got "
                                     f"{info.get('hidden_size')!r}")
        if not isinstance(info.get("name"), str) or not info["name"].strip():
            raise WMatrixFormatError(f"{path}: {side} name must be a non-empty string")
        if info.get("fingerprint") is not None and not isinstance(info["fingerprint"], str):
            raise WMatrixFormatError(f"{path}: {side} fingerprint must be a string")
    if not isinstance(meta["method"], str) or not meta["method"]:
        raise WMatrixFormatError(f"{path}: method must be a non-empty string, got {meta['method']!r}")
    for key in ("layer_map", "pairs"):
        if not isinstance(meta[key], list) or not all(_is_pair(p) for p in meta[key]):
            raise WMatrixFormatError(f"{path}: {key} must be a list of [source layer, target layer] pairs")
    for role in ("best_pair", "recommended_pair", "embedding_pair"):
        value = meta.get(role)
        if (role == "best_pair" or value is not None) and not _is_pair(value):
            raise WMatrixFormatError(f"{path}: {role} must be a [source layer, target layer] pair, got {value!r}")
    for key, kind in _OPTIONAL_TYPES.items():
        if meta.get(key) is not None and not isinstance(meta[key], kind):
            raise WMatrixFormatError(f"{path}: metadata {key!r} must be a {kind.__name__}, got "
                                     f"{type(meta[key]).__name__}")
    for key in ("pair_hyperparams", "metrics"):
        for name, value in (meta.get(key) or {}).items():
            if not isinstance(value, dict):
                raise WMatrixFormatError(f"{path}: {key}[{name!r}] must be an object")
    for name, values in (meta.get("metrics") or {}).items():
        for metric, value in values.items():
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise WMatrixFormatError(f"{path}: metric {name}/{metric} must be a number or null, got {value!r}")
    version = meta.get("version")
    if version is not None and (not _is_int(version) or version < 1):
        raise WMatrixFormatError(f"{path}: version must be a positive integer, got {version!r}")
    if meta.get("probe") is not None and not isinstance(meta["probe"], dict):
        raise WMatrixFormatError(f"{path}: probe must be an object or null")


def _validate(meta: dict[str, Any], tensors: Mapping[str, np.ndarray], path: Path) -> None:
    _validate_structure(meta, path)
    dx, dy = int(meta["source"]["hidden_size"]), int(meta["target"]["hidden_size"])
    expected = {"weight": (dy, dx), "inverse_weight": (dx, dy), "mean_x": (dx,), "scale_x": (dx,),
                "mean_y": (dy,), "scale_y": (dy,)}
    pairs = {tuple(p) for p in meta["pairs"]}
    if not pairs:
        raise WMatrixFormatError(f"{path}: no layer pairs")
    _validate_probe(meta, tensors, path, pairs, dx, dy)
    for role in ("best_pair", "recommended_pair", "embedding_pair"):
        if meta.get(role) is not None and tuple(meta[role]) not in pairs:
            raise WMatrixFormatError(f"{path}: {role.replace('_', ' ')} {meta[role]} has no tensors")
    for i, j in sorted(pairs):
        for key, shape in expected.items():
            name = f"pair.{i}.{j}.{key}"
            if name not in tensors:
                raise WMatrixFormatError(f"{path}: tensor {name} is missing")
            array = tensors[name]
            if array.dtype != np.float32:
                raise WMatrixFormatError(f"{path}: tensor {name} has dtype {array.dtype}, expected float32")
            if array.shape != shape:
                raise WMatrixFormatError(f"{path}: tensor {name} has shape {array.shape}, expected {shape}")
            if not np.isfinite(array).all():
                raise WMatrixFormatError(f"{path}: tensor {name} has non-finite values")
            if key.startswith("scale") and not (array > 0).all():
                raise WMatrixFormatError(f"{path}: tensor {name} has non-positive scales")


def _validate_probe(meta: dict[str, Any], tensors: Mapping[str, np.ndarray], path: Path, pairs: set[tuple],
                    dx: int, dy: int) -> None:
    """A drift probe, when present: its pair fitted, one text per row, float32 finite states of both hidden sizes."""
    probe = meta.get("probe")
    if not probe:
        return
    if not isinstance(probe, dict) or not isinstance(probe.get("texts"), list) or tuple(probe.get("pair") or ()) \
            not in pairs:
        raise WMatrixFormatError(f"{path}: the drift probe needs texts and a fitted pair")
    m = len(probe["texts"])
    for side, dim in (("source", dx), ("target", dy)):
        array = tensors.get(f"probe.{side}")
        if array is None or array.dtype != np.float32 or array.shape != (m, dim) or not np.isfinite(array).all():
            raise WMatrixFormatError(f"{path}: tensor probe.{side} must be finite float32 of shape ({m}, {dim})")
