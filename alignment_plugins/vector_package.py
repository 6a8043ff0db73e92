"""Capability-vector packages (``.vpkg``) and their export to llama.cpp control vectors.

A vector package holds one steering / probe direction per hidden-state layer of one model, plus the provenance a
buyer needs to use and trust it. Layers are numbered as everywhere in this library: layer 0 is the embedding
output, layer L (1..N) is the output of transformer block L-1 (the residual stream, before any final norm).

File format (version 1), a safetensors document like ``.wmatrix`` (see formats.py):

* a safetensors file with one float32 tensor of shape (hidden_size,) per layer, named ``layer.<L>``;
* the safetensors header metadata holds ``format`` ("vector-package"), ``format_version`` ("1"), ``metadata``
  (canonical JSON, keys below) and ``integrity`` ("sha256:..." over the canonical metadata and every tensor's name,
  dtype, shape and bytes), so any edit of metadata or tensor bytes after writing is detected;
* loading validates everything (size limit, safetensors structure, format tag and version, integrity, required
  metadata keys and their types, tensor names vs ``layers``, dtype, shape vs ``hidden_size``, finiteness, non-zero
  vectors) and raises :class:`VectorPackageError` with a message saying what is wrong. Nothing is ever unpickled.

Required metadata keys: format, format_version, source_model, source_fingerprint, hidden_size, layers, method
("caa" | "pca" | "probe" | "transferred" | another non-empty string), capability, domain, contrastive_data_hash,
recommended_coefficient, grade (str or null), token_position ("last" | "mean" | ...), pooling,
special_tokens_excluded, created_at, library_version. Optional: num_layers (number of transformer blocks of the
source model; when present every layer must be <= it), description, transfer (dict: wmatrix id / hash, source
model, norm_mode "native" | "map", norms, ...) and extra (free dict). Any other top-level key is rejected: put free
information under ``extra``.

llama.cpp export: see :func:`export_control_vector` for the layer-index convention (verified in llama.cpp source).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from alignment_plugins.formats import canonical_json, document_header, read_document

FORMAT = "vector-package"
FORMAT_VERSION = 1
SUPPORTED_VERSIONS = (1,)
FILE_SUFFIX = ".vpkg"
MAX_FILE_BYTES = 64 << 20  # 64 MiB: e.g. 128 layers x 16384 dims of float32 is 8 MiB
MAX_LAYERS = 1024
TENSOR_PREFIX = "layer."
KNOWN_METHODS = ("caa", "pca", "probe", "transferred")
NORM_MODES = ("native", "map")
REQUIRED_KEYS = (
    "format", "format_version", "source_model", "source_fingerprint", "hidden_size", "layers", "method",
    "capability", "domain", "contrastive_data_hash", "recommended_coefficient", "grade", "token_position",
    "pooling", "special_tokens_excluded", "created_at", "library_version",
)
OPTIONAL_KEYS = ("num_layers", "description", "transfer", "extra")

CONTROL_VECTOR_ARCH = "controlvector"
MAX_GGUF_BYTES = 256 << 20

# Our model families (ModelSpec.family / ArchitectureInfo.family) and common HF model_type values -> llama.cpp
# architecture names (the value of general.architecture in the model's GGUF, which is what llama.cpp's
# cvector-generator writes as controlvector.model_hint).
LLAMA_CPP_ARCHES: dict[str, str] = {
    "llama": "llama",
    "mistral": "llama",
    "smollm": "llama",
    "smollm2": "llama",
    "gemma": "gemma",
    "gemma2": "gemma2",
    "gemma3": "gemma3",
    "gemma3_text": "gemma3",
    "qwen2": "qwen2",
    "qwen2.5": "qwen2",
    "qwen3": "qwen3",
    "phi3": "phi3",
    "gpt2": "gpt2",
}
_NOT_LLAMA_CPP = ("bert", "gpt", "claude", "gemini")  # encoders and metadata-only (proprietary) families
_NAME_PREFIXES = (  # longest first: "gemma3-270m" -> gemma3, "qwen2.5-coder-0.5b" -> qwen2
    ("gemma3", "gemma3"), ("gemma2", "gemma2"), ("gemma", "gemma"), ("qwen2.5", "qwen2"), ("qwen2", "qwen2"),
    ("qwen3", "qwen3"), ("smollm", "llama"), ("llama", "llama"), ("mistral", "llama"), ("phi3", "phi3"),
    ("phi-3", "phi3"),
)
_HASH_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


class VectorPackageError(ValueError):
    """A vector package (or control-vector GGUF) is missing, truncated, corrupted, edited or invalid."""


# ------------------------------------------------------------------------------------------------ helpers


def content_hash(texts_or_pairs: Iterable[Any]) -> str:
    """Return "sha256:<hex>" of a list of texts, (positive, negative) pairs or JSON-able records.

    Stable: the hash is over the canonical JSON of the list (order kept, tuples as lists, dict keys sorted, ASCII
    escapes, no NaN), so the same contrastive data always gives the same hash on any machine.
    """
    if isinstance(texts_or_pairs, (str, bytes, bytearray, Mapping)):
        raise TypeError("content_hash expects a list of texts or pairs, not a single string or mapping")
    items = list(texts_or_pairs)
    try:
        canonical = canonical_json(items)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"content_hash: data is not JSON-serializable: {exc}") from exc
    return "sha256:" + hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _tensor_name(layer: int) -> str:
    return f"{TENSOR_PREFIX}{layer}"


def _as_vector(value: Any, what: str) -> np.ndarray:
    """Return `value` as a contiguous float32 (d,) array (a (1, d) row is accepted) or raise VectorPackageError."""
    if hasattr(value, "detach"):  # a torch tensor, without importing torch
        value = value.detach().cpu().float().numpy()
    array = np.asarray(value)
    if array.dtype.kind != "f":
        raise VectorPackageError(f"{what} has non-float dtype {array.dtype}; vectors must be floating point")
    if array.ndim == 2 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 1 or array.shape[0] == 0:
        raise VectorPackageError(f"{what} has shape {tuple(array.shape)}; a vector must be (d,)")
    wide = array.astype(np.float64)
    if not np.isfinite(wide).all():
        raise VectorPackageError(f"{what} contains NaN or infinite values")
    if np.abs(wide).max() > np.finfo(np.float32).max:
        raise VectorPackageError(f"{what} has values beyond the float32 range")
    vector = np.ascontiguousarray(array, dtype=np.float32)
    if not np.any(vector):
        raise VectorPackageError(f"{what} is all zeros (it has no direction)")
    return vector


# -------------------------------------------------------------------------------------------- validation


def _validate_metadata(meta: Any, origin: str) -> None:
    """Check the metadata dict (keys, types, values); raise VectorPackageError naming the first problem."""
    if not isinstance(meta, dict):
        raise VectorPackageError(f"{origin}: metadata must be a JSON object, got {type(meta).__name__}")
    missing = [key for key in REQUIRED_KEYS if key not in meta]
    if missing:
        raise VectorPackageError(f"{origin}: metadata lacks required keys {missing}")
    unknown = sorted(set(meta) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    if unknown:
        raise VectorPackageError(f"{origin}: unknown metadata keys {unknown}; put free information under 'extra'")
    if meta["format"] != FORMAT:
        raise VectorPackageError(f"{origin}: metadata format is {meta['format']!r}, expected {FORMAT!r}")
    if not _is_int(meta["format_version"]) or meta["format_version"] not in SUPPORTED_VERSIONS:
        raise VectorPackageError(
            f"{origin}: format version {meta['format_version']!r} is not supported by this library "
            f"(supports {SUPPORTED_VERSIONS}); upgrade alignment_plugins"
        )
    for key in ("source_model", "method", "capability", "token_position", "pooling"):
        if not isinstance(meta[key], str) or not meta[key].strip():
            raise VectorPackageError(f"{origin}: metadata {key!r} must be a non-empty string, got {meta[key]!r}")
    for key in ("source_fingerprint", "domain", "contrastive_data_hash", "created_at", "library_version"):
        if not isinstance(meta[key], str):
            raise VectorPackageError(f"{origin}: metadata {key!r} must be a string, got {meta[key]!r}")
    data_hash = meta["contrastive_data_hash"]
    if data_hash.startswith("sha256:") and not _HASH_RE.match(data_hash):
        raise VectorPackageError(f"{origin}: contrastive_data_hash {data_hash!r} is not 'sha256:' + 64 hex digits")
    hidden = meta["hidden_size"]
    if not _is_int(hidden) or hidden <= 0:
        raise VectorPackageError(f"{origin}: hidden_size must be a positive integer, got {hidden!r}")
    layers = meta["layers"]
    if not isinstance(layers, list) or not layers:
        raise VectorPackageError(f"{origin}: 'layers' must be a non-empty list of layer numbers, got {layers!r}")
    if len(layers) > MAX_LAYERS:
        raise VectorPackageError(f"{origin}: {len(layers)} layers exceeds the limit of {MAX_LAYERS}")
    if not all(_is_int(layer) and layer >= 0 for layer in layers):
        raise VectorPackageError(f"{origin}: 'layers' must hold non-negative integers, got {layers!r}")
    if len(set(layers)) != len(layers):
        raise VectorPackageError(f"{origin}: 'layers' has duplicates: {layers!r}")
    if "num_layers" in meta:
        blocks = meta["num_layers"]
        if not _is_int(blocks) or blocks <= 0:
            raise VectorPackageError(f"{origin}: num_layers must be a positive integer, got {blocks!r}")
        if max(layers) > blocks:
            raise VectorPackageError(
                f"{origin}: layer {max(layers)} does not exist in a model with {blocks} blocks (layers 0..{blocks})"
            )
    coefficient = meta["recommended_coefficient"]
    if not _is_number(coefficient) or not math.isfinite(coefficient):
        raise VectorPackageError(f"{origin}: recommended_coefficient must be a finite number, got {coefficient!r}")
    if meta["grade"] is not None and not isinstance(meta["grade"], str):
        raise VectorPackageError(f"{origin}: grade must be a string or null, got {meta['grade']!r}")
    if not isinstance(meta["special_tokens_excluded"], bool):
        raise VectorPackageError(
            f"{origin}: special_tokens_excluded must be true or false, got {meta['special_tokens_excluded']!r}"
        )
    if "description" in meta and not isinstance(meta["description"], str):
        raise VectorPackageError(f"{origin}: description must be a string")
    if "extra" in meta and not isinstance(meta["extra"], dict):
        raise VectorPackageError(f"{origin}: 'extra' must be an object, got {type(meta['extra']).__name__}")
    if "transfer" in meta:
        transfer = meta["transfer"]
        if not isinstance(transfer, dict):
            raise VectorPackageError(f"{origin}: 'transfer' must be an object, got {type(transfer).__name__}")
        mode = transfer.get("norm_mode")
        if mode is not None and mode not in NORM_MODES:
            raise VectorPackageError(f"{origin}: transfer.norm_mode must be one of {NORM_MODES}, got {mode!r}")
        if "norms" in transfer and not isinstance(transfer["norms"], dict):
            raise VectorPackageError(f"{origin}: transfer.norms must be an object")
    try:
        canonical_json(meta)
    except (TypeError, ValueError) as exc:
        raise VectorPackageError(f"{origin}: metadata is not JSON-serializable (or holds NaN/inf): {exc}") from exc


def _validate_tensors(meta: Mapping[str, Any], tensors: Mapping[str, np.ndarray], origin: str) -> None:
    """Check tensor names against meta['layers'], then dtype, shape, finiteness and non-zero norm of each."""
    expected = {_tensor_name(layer) for layer in meta["layers"]}
    present = set(tensors)
    if present != expected:
        missing, extra = sorted(expected - present), sorted(present - expected)
        raise VectorPackageError(
            f"{origin}: tensor names do not match the metadata layers {sorted(meta['layers'])}"
            + (f"; missing {missing}" if missing else "") + (f"; unexpected {extra}" if extra else "")
        )
    hidden = int(meta["hidden_size"])
    for layer in meta["layers"]:
        name = _tensor_name(layer)
        array = tensors[name]
        if array.dtype.kind != "f":
            raise VectorPackageError(f"{origin}: tensor {name} has non-float dtype {array.dtype}, expected float32")
        if array.dtype != np.float32:
            raise VectorPackageError(f"{origin}: tensor {name} has dtype {array.dtype}, expected float32")
        if array.shape != (hidden,):
            raise VectorPackageError(
                f"{origin}: tensor {name} has shape {tuple(array.shape)}, expected ({hidden},) (hidden_size)"
            )
        if not np.isfinite(array).all():
            raise VectorPackageError(f"{origin}: tensor {name} has NaN or infinite values")
        if not np.any(array):
            raise VectorPackageError(f"{origin}: tensor {name} is all zeros (it has no direction)")


def _parse(data: bytes, origin: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Parse and validate the bytes of a package file; return (metadata, tensors)."""
    meta, tensors = read_document(data, format_name=FORMAT, supported_versions=SUPPORTED_VERSIONS,
                                  label="vector package", error=VectorPackageError, origin=origin)
    _validate_metadata(meta, origin)
    _validate_tensors(meta, tensors, origin)
    return meta, tensors


# ------------------------------------------------------------------------------------------- the package


@dataclass
class VectorPackage:
    """Per-layer capability vectors of one model with their provenance (see the module docstring for the keys).

    ``vectors`` maps hidden-state layer (0 = embeddings, L = output of block L-1) to a float32 (hidden_size,) array.
    Missing ``format``, ``format_version``, ``layers``, ``hidden_size``, ``created_at`` and ``library_version`` are
    filled in; everything is validated on construction, so an invalid package can neither be built nor saved.
    """

    vectors: dict[int, np.ndarray]
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.vectors, Mapping) or not self.vectors:
            raise VectorPackageError("a vector package needs at least one layer vector")
        vectors: dict[int, np.ndarray] = {}
        for layer, value in self.vectors.items():
            if not _is_int(layer) or layer < 0:
                raise VectorPackageError(f"layer keys must be non-negative integers, got {layer!r}")
            vectors[int(layer)] = _as_vector(value, f"vector for layer {layer}")
        self.vectors = dict(sorted(vectors.items()))
        dims = {vector.shape[0] for vector in self.vectors.values()}
        if len(dims) != 1:
            raise VectorPackageError(f"vectors have different dimensions {sorted(dims)}; all layers need one size")
        meta = dict(self.metadata)
        meta.setdefault("format", FORMAT)
        meta.setdefault("format_version", FORMAT_VERSION)
        meta.setdefault("layers", list(self.vectors))
        meta.setdefault("hidden_size", dims.pop())
        meta.setdefault("created_at", datetime.now(UTC).isoformat(timespec="seconds"))
        if not meta.get("library_version"):
            from alignment_plugins import __version__

            meta["library_version"] = __version__
        if isinstance(meta.get("layers"), list) and all(_is_int(x) for x in meta["layers"]):
            meta["layers"] = sorted(int(x) for x in meta["layers"])
        if _is_number(meta.get("recommended_coefficient")):
            meta["recommended_coefficient"] = float(meta["recommended_coefficient"])
        _validate_metadata(meta, "vector package")
        _validate_tensors(meta, self.tensors(), "vector package")
        self.metadata = meta

    # ------------------------------------------------------------ construction
    @classmethod
    def create(
        cls,
        vectors: Mapping[int, Any],
        *,
        source_model: str,
        source_fingerprint: str,
        method: str,
        capability: str,
        contrastive_data_hash: str,
        domain: str = "general",
        recommended_coefficient: float = 1.0,
        grade: str | None = None,
        token_position: str = "last",
        pooling: str = "last",
        special_tokens_excluded: bool = True,
        num_layers: int | None = None,
        description: str | None = None,
        transfer: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> VectorPackage:
        """Build a package from keyword arguments (the metadata keys); see the module docstring."""
        meta: dict[str, Any] = {
            "source_model": source_model, "source_fingerprint": source_fingerprint, "method": method,
            "capability": capability, "domain": domain, "contrastive_data_hash": contrastive_data_hash,
            "recommended_coefficient": recommended_coefficient, "grade": grade, "token_position": token_position,
            "pooling": pooling, "special_tokens_excluded": special_tokens_excluded,
        }
        optional = {"num_layers": num_layers, "description": description,
                    "transfer": dict(transfer) if transfer is not None else None,
                    "extra": dict(extra) if extra is not None else None}
        meta.update({key: value for key, value in optional.items() if value is not None})
        return cls(vectors=dict(vectors), metadata=meta)

    # ------------------------------------------------------------------ access
    @property
    def layers(self) -> list[int]:
        """The hidden-state layers that have a vector, ascending."""
        return list(self.vectors)

    @property
    def hidden_size(self) -> int:
        """The vectors' dimension (the source model's hidden size)."""
        return int(self.metadata["hidden_size"])

    def vector(self, layer: int | None = None) -> np.ndarray:
        """Return (a copy of) the vector of `layer`; None: the only layer, or the first (lowest) of several."""
        if layer is None:
            layer = self.layers[0]
        if layer not in self.vectors:
            raise VectorPackageError(f"no vector for layer {layer}; the package has layers {self.layers}")
        return self.vectors[layer].copy()

    def norms(self) -> dict[int, float]:
        """L2 norm of each layer's vector (float64 accumulation)."""
        return {layer: float(np.linalg.norm(v.astype(np.float64))) for layer, v in self.vectors.items()}

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable summary: the metadata plus per-layer norms (keys as strings) and the vector count."""
        summary = dict(self.metadata)
        summary["norms"] = {str(layer): norm for layer, norm in self.norms().items()}
        summary["num_vectors"] = len(self.vectors)
        return summary

    def tensors(self) -> dict[str, np.ndarray]:
        """Every tensor of the file by name (``layer.<L>``), float32."""
        return {_tensor_name(layer): np.ascontiguousarray(v, dtype=np.float32) for layer, v in self.vectors.items()}

    # --------------------------------------------------------------------- I/O
    def to_bytes(self) -> bytes:
        """Return the package file's bytes (safetensors with metadata and integrity digest in the header)."""
        from safetensors.numpy import save

        tensors = self.tensors()
        return save(tensors, metadata=document_header(FORMAT, FORMAT_VERSION, self.metadata, tensors))

    def save(self, path: str | os.PathLike) -> Path:
        """Write the package atomically (temp file + rename); return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_bytes(self.to_bytes())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> VectorPackage:
        """Read and validate a package file; raise VectorPackageError saying what is wrong."""
        path = Path(path)
        if not path.is_file():
            raise VectorPackageError(f"{path}: no such vector package file")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise VectorPackageError(f"{path}: {size} bytes exceeds the {MAX_FILE_BYTES}-byte limit for a package")
        return cls.from_bytes(path.read_bytes(), str(path))

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview, name: str = "upload") -> VectorPackage:
        """Validate uploaded package bytes (e.g. a marketplace upload) and return the package."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise VectorPackageError(f"{name}: a vector package must be bytes, got {type(data).__name__}")
        data = bytes(data)
        if len(data) > MAX_FILE_BYTES:
            raise VectorPackageError(f"{name}: {len(data)} bytes exceeds the {MAX_FILE_BYTES}-byte limit")
        if not data:
            raise VectorPackageError(f"{name}: the file is empty")
        meta, tensors = _parse(data, name)
        vectors = {layer: tensors[_tensor_name(layer)] for layer in meta["layers"]}
        return cls(vectors=vectors, metadata=meta)

    def __repr__(self) -> str:
        m = self.metadata
        return (f"VectorPackage({m['capability']!r} for {m['source_model']}, method={m['method']}, "
                f"layers={self.layers}, d={self.hidden_size})")


# ------------------------------------------------------------------------------------------ llama.cpp export


def llama_cpp_model_hint(model: str) -> str:
    """Return the llama.cpp architecture name for one of our model names or families (e.g. "llama", "gemma3").

    Looks the name up among the known models (their family), then in :data:`LLAMA_CPP_ARCHES`, then by name prefix;
    raises VectorPackageError when the model has no llama.cpp architecture (encoders, metadata-only models) or is
    unknown (pass an explicit hint then).
    """
    key = model.strip().lower()
    family = key
    try:
        from alignment_plugins.models import known_models

        spec = known_models().get(model)
        if spec is not None:
            family = spec.family.lower()
    except Exception:  # the catalog is a convenience here; fall back to the name itself
        pass
    if family in LLAMA_CPP_ARCHES:
        return LLAMA_CPP_ARCHES[family]
    if family in _NOT_LLAMA_CPP:
        raise VectorPackageError(
            f"{model} (family {family}) has no llama.cpp decoder architecture; control vectors cannot be exported"
        )
    name = Path(key).name
    for prefix, arch in _NAME_PREFIXES:
        if name.startswith(prefix):
            return arch
    raise VectorPackageError(f"no llama.cpp architecture known for model {model!r}; pass an explicit model hint")


def export_control_vector(
    package_or_vectors: VectorPackage | Mapping[int, Any],
    path: str | os.PathLike,
    model_hint: str | None = None,
    coefficient: float = 1.0,
) -> Path:
    """Write a llama.cpp control-vector GGUF (``--control-vector`` / ``--control-vector-scaled``); return the path.

    The file is written exactly as repeng's ``ControlVector.export_gguf`` does: ``gguf.GGUFWriter(path,
    "controlvector")``, the keys ``controlvector.model_hint`` (string) and ``controlvector.layer_count`` (uint32,
    the number of directions), and one 1-D float32 tensor ``direction.<k>`` per layer. Each vector is multiplied by
    `coefficient` before writing (llama.cpp adds the stored direction times its own --control-vector-scaled factor).

    Layer index convention (verified in llama.cpp source, ggml-org/llama.cpp):

    * ``common/common.cpp`` ``common_control_vector_load_one`` parses ``direction.<k>``, rejects k == 0 ("invalid
      (zero) direction tensor layer index"), and stores the data at offset ``n_embd * (k - 1)`` ("layer 1 at [0]");
    * ``src/llama-adapter.cpp`` ``llama_adapter_cvec::apply`` copies offset ``n_embd * (il - 1)`` into
      ``tensors[il]`` for il = 1 .. n_layer-1 (so ``direction.k`` -> ``tensors[k]``), and
      ``llama_adapter_cvec::apply_to`` / ``tensor_for(il)`` adds ``tensors[il]``;
    * the model graphs (e.g. ``src/models/llama.cpp``) loop ``for (il = 0; il < n_layer; ++il)`` and call
      ``cur = build_cvec(cur, il)`` right after the block's final residual add (the tensor named ``l_out``).

    So ``direction.k`` is added to the output of block k (0-based), which is our hidden-state layer k + 1. This is
    also repeng's convention: its ``directions[i]`` is read from ``hidden_states[i + 1]`` and added to the output of
    ``model.layers[i]``, and is written as ``direction.i``. Hence package layer L is written as ``direction.{L-1}``;
    layer 0 (embeddings) has no block and is rejected, and layer 1 (output of block 0) would be ``direction.0``,
    which llama.cpp refuses, so it is rejected too. Valid layers are 2..N for an N-block model (llama.cpp silently
    ignores directions beyond its block count; a package's optional ``num_layers`` is checked here).

    `model_hint`: written as ``controlvector.model_hint``; llama.cpp's loader does not read it (tools and repeng
    show it). None: derived from the package's ``source_model`` via :func:`llama_cpp_model_hint`; an explicit
    string is written as given (required when passing a plain {layer: vector} dict).
    """
    import gguf

    if isinstance(package_or_vectors, VectorPackage):
        package = package_or_vectors
        vectors = dict(package.vectors)
        blocks = package.metadata.get("num_layers")
        if model_hint is None:
            model_hint = llama_cpp_model_hint(package.metadata["source_model"])
    elif isinstance(package_or_vectors, Mapping):
        if not package_or_vectors:
            raise VectorPackageError("no vectors to export")
        vectors, blocks = {}, None
        for layer, value in package_or_vectors.items():
            if not _is_int(layer) or layer < 0:
                raise VectorPackageError(f"layer keys must be non-negative integers, got {layer!r}")
            vectors[int(layer)] = _as_vector(value, f"vector for layer {layer}")
        if model_hint is None:
            raise VectorPackageError("model_hint is required when exporting plain vectors (e.g. 'llama', 'gemma3')")
    else:
        raise VectorPackageError(
            f"expected a VectorPackage or a {{layer: vector}} mapping, got {type(package_or_vectors).__name__}"
        )
    if not isinstance(model_hint, str) or not model_hint.strip():
        raise VectorPackageError(f"model_hint must be a non-empty string, got {model_hint!r}")
    if not _is_number(coefficient) or not math.isfinite(coefficient) or coefficient == 0:
        raise VectorPackageError(f"coefficient must be a finite non-zero number, got {coefficient!r}")
    dims = {v.shape[0] for v in vectors.values()}
    if len(dims) != 1:
        raise VectorPackageError(f"vectors have different dimensions {sorted(dims)}")
    for layer in sorted(vectors):
        if layer == 0:
            raise VectorPackageError(
                "layer 0 is the embedding output, not a block output: llama.cpp control vectors are added after "
                "transformer blocks only (export layers 2..N)"
            )
        if layer == 1:
            raise VectorPackageError(
                "layer 1 (output of block 0) would be direction.0, which llama.cpp's control-vector loader rejects "
                "(it never steers block 0); export layers 2..N"
            )
        if blocks is not None and layer > blocks:
            raise VectorPackageError(f"layer {layer} does not exist in a {blocks}-block model (layers 0..{blocks})")
    scaled: dict[int, np.ndarray] = {}
    for layer in sorted(vectors):
        with np.errstate(over="ignore"):
            value = (vectors[layer].astype(np.float64) * float(coefficient)).astype(np.float32)
        if not np.isfinite(value).all():
            raise VectorPackageError(f"layer {layer}: coefficient {coefficient} overflows float32")
        scaled[layer] = np.ascontiguousarray(value)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        writer = gguf.GGUFWriter(str(tmp), CONTROL_VECTOR_ARCH)
        writer.add_string(f"{CONTROL_VECTOR_ARCH}.model_hint", model_hint)
        writer.add_uint32(f"{CONTROL_VECTOR_ARCH}.layer_count", len(scaled))
        for layer, value in scaled.items():
            writer.add_tensor(f"direction.{layer - 1}", value)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_control_vector(path: str | os.PathLike, *, gguf_indices: bool = False) -> tuple[str, dict[int, np.ndarray]]:
    """Read a control-vector GGUF with ``gguf.GGUFReader``; return (model_hint, {layer: float32 vector}).

    Keys are our hidden-state layers (``direction.k`` -> layer k + 1, see :func:`export_control_vector`), or the raw
    ``k`` with `gguf_indices`. Validates what llama.cpp's loader checks (architecture "controlvector", tensors named
    ``direction.<k>`` with k >= 1, 1-D float32, one common length, finite) and raises VectorPackageError otherwise.
    """
    import gguf

    path = Path(path)
    if not path.is_file():
        raise VectorPackageError(f"{path}: no such control-vector file")
    size = path.stat().st_size
    if size > MAX_GGUF_BYTES:
        raise VectorPackageError(f"{path}: {size} bytes exceeds the {MAX_GGUF_BYTES}-byte limit")
    try:
        reader = gguf.GGUFReader(str(path))
        arch_field = reader.get_field("general.architecture")
        hint_field = reader.get_field(f"{CONTROL_VECTOR_ARCH}.model_hint")
        arch = arch_field.contents() if arch_field is not None else None
        hint = hint_field.contents() if hint_field is not None else None
        tensors = [(t.name, t.tensor_type, np.array(t.data, copy=True), [int(x) for x in t.shape])
                   for t in reader.tensors]
    except Exception as exc:  # the reader raises ValueError/struct errors/IndexError on truncated input
        raise VectorPackageError(f"{path}: not a readable GGUF file (truncated or corrupted): {exc}") from None
    if arch != CONTROL_VECTOR_ARCH:
        raise VectorPackageError(f"{path}: general.architecture is {arch!r}, not {CONTROL_VECTOR_ARCH!r}")
    if not isinstance(hint, str):
        raise VectorPackageError(f"{path}: missing {CONTROL_VECTOR_ARCH}.model_hint")
    out: dict[int, np.ndarray] = {}
    dims: set[int] = set()
    for name, tensor_type, data, shape in tensors:
        prefix, _, index = name.partition(".")
        if prefix != "direction" or not index.isdigit():
            raise VectorPackageError(f"{path}: tensor {name!r} is not named direction.<layer>")
        k = int(index)
        if k == 0:
            raise VectorPackageError(f"{path}: direction.0 is invalid (llama.cpp rejects layer index 0)")
        if tensor_type != gguf.GGMLQuantizationType.F32 or len(shape) != 1:
            raise VectorPackageError(f"{path}: tensor {name} must be 1-D float32, got {tensor_type.name} {shape}")
        vector = np.ascontiguousarray(data, dtype=np.float32).reshape(-1)
        if not np.isfinite(vector).all():
            raise VectorPackageError(f"{path}: tensor {name} has NaN or infinite values")
        dims.add(vector.shape[0])
        key = k if gguf_indices else k + 1
        out[key] = out[key] + vector if key in out else vector  # llama.cpp sums repeated directions
    if len(dims) > 1:
        raise VectorPackageError(f"{path}: direction tensors have different lengths {sorted(dims)}")
    if not out:
        raise VectorPackageError(f"{path}: no direction tensors")
    return hint, dict(sorted(out.items()))
