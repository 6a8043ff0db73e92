"""Finding, converting and loading models: packaged names, local HF directories, .gguf files and hub ids.

GGUF weights are dequantized once (slow) and cached as safetensors under ``$ALIGNMENT_CACHE_DIR/models``
(default ``~/.cache/alignment_plugins``); later loads read the cache in seconds. Split GGUF files (the Qwen
and Gemma packages) are assembled into one file in the cache first.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alignment_plugins.manager import get_plugin_manager
from alignment_plugins.types import ArchitectureInfo, LoadedModel, ModelSpec

log = logging.getLogger(__name__)

CACHE_ENV = "ALIGNMENT_CACHE_DIR"
_CONVERSION_VERSION = "1"


class UnknownModelError(LookupError):
    """The name is neither a known model, a local path, nor a loadable hub id."""


class ModelNotRunnableError(RuntimeError):
    """The model is a metadata-only architecture (no weights available)."""


def cache_dir() -> Path:
    """Return the engine's cache root (models, activations), creating it if needed."""
    root = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "alignment_plugins").expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def known_models() -> dict[str, ModelSpec]:
    """Return every model the plugins know, by canonical name (later plugins win on a clash)."""
    specs: dict[str, ModelSpec] = {}
    for batch in reversed(get_plugin_manager().hook.alignment_known_models()):
        for spec in batch or []:
            specs[spec.name] = spec
    return specs


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def file_sha256(paths: list[Path]) -> str:
    """Return the sha256 hex digest of the concatenated bytes of `paths`."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                digest.update(block)
    return digest.hexdigest()


def _stat_key(paths: list[Path]) -> str:
    parts = [f"{p.resolve()}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in paths]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:20]


def _content_key(paths: list[Path]) -> str:
    """Key of a file set by name, size and the first and last MiB of each file (independent of install path)."""
    digest = hashlib.sha256()
    for path in paths:
        size = path.stat().st_size
        digest.update(f"{path.name}:{size}".encode())
        with open(path, "rb") as handle:
            digest.update(handle.read(1 << 20))
            handle.seek(max(0, size - (1 << 20)))
            digest.update(handle.read(1 << 20))
    return digest.hexdigest()[:20]


def convert_gguf(parts: list[Path], name: str) -> Path:
    """Dequantize a (possibly split) GGUF file once into a cached HF safetensors directory; return that directory."""
    parts = [Path(p) for p in parts]
    for part in parts:
        if not part.is_file():
            raise FileNotFoundError(f"GGUF file {part} does not exist")
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
    target = cache_dir() / "models" / f"{safe}-{_content_key(parts)}"
    if (target / "alignment-conversion.json").is_file():
        return target
    with _file_lock(target.parent / f"{target.name}.lock"):
        if (target / "alignment-conversion.json").is_file():
            return target
        log.warning("converting %s from GGUF to safetensors once (cached in %s)", name, target)
        work = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
        try:
            if len(parts) == 1:
                gguf_path = parts[0]
            else:
                gguf_path = work / f"{safe}.gguf"
                with open(gguf_path, "wb") as out:
                    for part in parts:
                        with open(part, "rb") as handle:
                            shutil.copyfileobj(handle, out, 1 << 22)
            fingerprint = file_sha256([gguf_path])
            _dequantize_to(gguf_path, work / "hf")
            (work / "hf" / "alignment-conversion.json").write_text(
                json.dumps(
                    {"name": name, "sources": [str(p) for p in parts], "gguf_sha256": fingerprint,
                     "fingerprint": f"sha256:{fingerprint}", "conversion_version": _CONVERSION_VERSION},
                    indent=2,
                )
            )
            if target.exists():
                shutil.rmtree(target)
            os.replace(work / "hf", target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target


@contextlib.contextmanager
def _gguf_parsed_once() -> Iterator[None]:
    """Within the block, transformers parses each GGUF file's metadata once instead of once per caller.

    Loading tokenizer, config and model from one GGUF file makes transformers call ``load_gguf_checkpoint`` four
    times, each building a ``gguf.GGUFReader`` over every metadata field (Gemma-3's 262,144-token vocabulary: ~20 s
    per parse on a 2-core CPU). Here the metadata-only result is computed once and handed out as copies, and the
    reader is reused by the call that reads the tensors. The results are the same objects transformers builds; if
    its internals move, nothing is patched and the conversion is just slower.
    """
    import copy

    try:
        import gguf
        from transformers import modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:
        yield
        return
    real_reader, real_load = getattr(gguf, "GGUFReader", None), getattr(gguf_utils, "load_gguf_checkpoint", None)
    if real_reader is None or real_load is None:
        yield
        return
    readers: dict[str, Any] = {}
    metadata: dict[str, Any] = {}

    def reader(path: Any, mode: str = "r") -> Any:
        key = f"{os.fspath(path)}\0{mode}"
        if key not in readers:
            readers[key] = real_reader(path, mode)
        return readers[key]

    def load(path: Any, return_tensors: bool = False, **kwargs: Any) -> Any:
        if return_tensors or kwargs:
            return real_load(path, return_tensors=return_tensors, **kwargs)
        key = os.fspath(path)
        if key not in metadata:
            metadata[key] = real_load(path, return_tensors=False)
        return copy.deepcopy(metadata[key])

    gguf.GGUFReader, gguf_utils.load_gguf_checkpoint = reader, load
    try:
        yield
    finally:
        gguf.GGUFReader, gguf_utils.load_gguf_checkpoint = real_reader, real_load
        readers.clear()


def _dequantize_to(gguf_path: Path, out_dir: Path) -> None:
    """Load a GGUF file with transformers (dequantizing) and save it as a plain safetensors model directory."""
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoTokenizer

    folder, filename = str(gguf_path.parent), gguf_path.name
    import torch

    with _gguf_parsed_once():
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=filename)
        config = AutoConfig.from_pretrained(folder, gguf_file=filename)
        auto = AutoModelForCausalLM if getattr(config, "is_decoder", True) or config.architectures else AutoModel
        model = auto.from_pretrained(folder, gguf_file=filename, dtype=torch.float32)
    # The tensors are already dequantized; drop the quantizer so transformers lets us serialize them.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


def resolve(name_or_path: str) -> tuple[str, str, ModelSpec | None]:
    """Return (canonical name, local HF directory or hub id, catalogue spec) for a model name, path or hub id."""
    specs = known_models()
    if name_or_path in specs:
        spec = specs[name_or_path]
        if not spec.runnable or spec.locate is None:
            raise ModelNotRunnableError(
                f"{name_or_path!r} is a metadata-only architecture ({spec.description}); it cannot be run"
            )
        located = spec.locate()
        if isinstance(located, (list, tuple)):
            return spec.name, str(convert_gguf(list(located), spec.name)), spec
        located = Path(located)
        if located.suffix == ".gguf":
            return spec.name, str(convert_gguf([located], spec.name)), spec
        return spec.name, str(located), spec
    path = Path(name_or_path).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return path.stem, str(convert_gguf([path], path.stem)), None
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise UnknownModelError(f"{path} is a directory but has no config.json (not a transformers model)")
        return path.name, str(path.resolve()), None
    if path.exists():
        raise UnknownModelError(f"{path} is neither a .gguf file nor a transformers model directory")
    if "/" in name_or_path and not name_or_path.startswith((".", "/")):
        return name_or_path, name_or_path, None  # a hub id: transformers resolves it (offline: from its own cache)
    raise UnknownModelError(
        f"unknown model {name_or_path!r}: not a known name ({', '.join(sorted(specs))}), "
        "not a local directory or .gguf file, and not a hub id of the form 'org/name'"
    )


def load_config(name_or_path: str) -> tuple[str, str, Any]:
    """Return (canonical name, local path, transformers config) for a model."""
    from transformers import AutoConfig

    name, path, _ = resolve(name_or_path)
    try:
        config = AutoConfig.from_pretrained(path)
    except OSError as exc:
        raise UnknownModelError(f"cannot load model {name_or_path!r}: {exc}") from exc
    return name, path, config


def read_config(name_or_path: str) -> tuple[str, Any]:
    """Return (canonical name, transformers config) of a model without converting or loading its weights.

    A GGUF model's config comes from the file's header (``gguf_header.gguf_config``); a model directory's or hub
    id's from its config.json.
    """
    from transformers import AutoConfig

    from alignment_plugins.gguf_header import gguf_config

    specs = known_models()
    if name_or_path in specs:
        spec = specs[name_or_path]
        if not spec.runnable or spec.locate is None:
            raise ModelNotRunnableError(f"{name_or_path!r} is a metadata-only architecture ({spec.description})")
        located = spec.locate()
        parts = list(located) if isinstance(located, (list, tuple)) else [Path(located)]
        if len(parts) > 1 or Path(parts[0]).suffix == ".gguf":
            return spec.name, gguf_config(parts)
        name, path = spec.name, str(parts[0])
    else:
        candidate = Path(name_or_path).expanduser()
        if candidate.is_file() and candidate.suffix == ".gguf":
            return candidate.stem, gguf_config([candidate])
        name, path, _ = resolve(name_or_path)
    try:
        return name, AutoConfig.from_pretrained(path)
    except OSError as exc:
        raise UnknownModelError(f"cannot load model {name_or_path!r}: {exc}") from exc


def model_info(name_or_path: str) -> ArchitectureInfo:
    """Return architecture metadata read from the model's own config (proprietary rows: catalogue metadata); GGUF
    weights are not converted (the config comes from the file's header)."""
    spec = known_models().get(name_or_path)
    if spec is not None and not spec.runnable:
        meta = {k: v for k, v in spec.metadata.items() if k in ArchitectureInfo.__dataclass_fields__}
        meta.setdefault("hidden_size", 0)
        meta.setdefault("num_layers", 0)
        return ArchitectureInfo(
            name=spec.name, family=spec.family, kind="proprietary", runnable=False,
            source="catalogue", notes=spec.description, **meta,
        )
    name, config = read_config(name_or_path)
    info = get_plugin_manager().hook.alignment_describe_architecture(config=config, name=name)
    if info is None:
        raise UnknownModelError(
            f"no installed architecture adapter handles model type {getattr(config, 'model_type', '?')!r} "
            f"({name}); install a plugin for it"
        )
    return info


def _cached_digest(files: list[Path], key: str) -> str:
    """"sha256:<hex>" of the concatenated `files`, remembered in the cache's fingerprints.json under `key`."""
    index_path = cache_dir() / "fingerprints.json"
    with _file_lock(index_path.with_suffix(".lock")):
        index = json.loads(index_path.read_text()) if index_path.is_file() else {}
        if key not in index:
            index[key] = "sha256:" + file_sha256(files)
            index_path.write_text(json.dumps(index, indent=1, sort_keys=True))
        return index[key]


def model_fingerprint(path: str) -> str:
    """Return a content fingerprint ("sha256:<hex>") of a model's weights, cached per file size and mtime."""
    folder = Path(path)
    conversion = folder / "alignment-conversion.json"
    if conversion.is_file():
        return json.loads(conversion.read_text())["fingerprint"]
    weights = sorted(folder.glob("*.safetensors")) or sorted(folder.glob("*.bin"))
    if not weights:
        return "unknown:" + hashlib.sha256(str(path).encode()).hexdigest()[:16]
    return _cached_digest(weights, _stat_key(weights))


def weights_fingerprint(name_or_path: str) -> str:
    """Return a model's weight fingerprint ("sha256:<hex>") without converting it: for a GGUF model the sha256 of
    its (concatenated) file, the digest its conversion records; for a model directory ``model_fingerprint``; ""
    for a hub id (nothing local to hash)."""
    spec = known_models().get(name_or_path)
    if spec is not None and spec.runnable and spec.locate is not None:
        located = spec.locate()
        parts = [Path(p) for p in located] if isinstance(located, (list, tuple)) else [Path(located)]
    else:
        parts = [Path(name_or_path).expanduser()]
    if len(parts) == 1 and parts[0].is_dir():
        return model_fingerprint(str(parts[0]))
    if len(parts) > 1 or parts[0].suffix == ".gguf":
        return _cached_digest(parts, "gguf:" + _stat_key(parts))
    return ""


def model_origin(name_or_path: str) -> dict[str, Any]:
    """Where a model given by name, path or hub id is found: {"kind": catalogue | gguf | path | hub, "location"}.

    Reads nothing but the filesystem's entries (no conversion, no config)."""
    spec = known_models().get(name_or_path)
    if spec is not None:
        return {"kind": "catalogue", "location": spec.name, "package": spec.package}
    path = Path(name_or_path).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return {"kind": "gguf", "location": str(path.resolve())}
    if path.is_dir():
        return {"kind": "path", "location": str(path.resolve())}
    return {"kind": "hub", "location": name_or_path}


_loaded: dict[tuple[str, str, str, str], LoadedModel] = {}


def _weights_stamp(path: str) -> str:
    """Size and modification time of a model directory's weight files ("" for a hub id)."""
    folder = Path(path)
    if not folder.is_dir():
        return ""
    weights = sorted(folder.glob("*.safetensors")) or sorted(folder.glob("*.bin"))
    return _stat_key(weights) if weights else ""


def load_model(name_or_path: str, *, dtype: str = "float32", device: str = "cpu", endpoint: str | None = None,
               auth_token: str | None = None) -> LoadedModel:
    """Load a model for extraction (cached per process by path, dtype and device).

    With `endpoint` (an ``http(s)://`` URL of a model endpoint, see ``alignment_plugins.endpoint``) the model is the
    one served there, named `name_or_path`, driven by the ``remote`` adapter; `auth_token` is sent as a bearer token.
    """
    if dtype not in ("float32", "bfloat16", "float16"):
        raise ValueError(f"dtype must be float32, bfloat16 or float16, got {dtype!r}")
    if endpoint is not None:
        return _load_endpoint(name_or_path, endpoint, auth_token, dtype, device)
    name, path, config = load_config(name_or_path)
    key = (path, dtype, device, _weights_stamp(path))  # weights replaced in place are loaded again
    if key in _loaded:
        return _loaded[key]
    loaded = get_plugin_manager().hook.alignment_load_model(
        name=name, path=path, config=config, dtype=dtype, device=device
    )
    if loaded is None:
        raise UnknownModelError(
            f"no installed architecture adapter can load model type {getattr(config, 'model_type', '?')!r}"
        )
    loaded.fingerprint = model_fingerprint(path) if Path(path).is_dir() else f"hub:{path}"
    loaded.origin = model_origin(name_or_path)
    _loaded[key] = loaded
    return loaded


def _load_endpoint(name: str, url: str, auth_token: str | None, dtype: str, device: str) -> LoadedModel:
    """A served model through the plugin host (the ``remote`` adapter answers for an EndpointConfig)."""
    from alignment_plugins.endpoint.client import EndpointConfig

    config = EndpointConfig(url=url, auth_token=auth_token)
    loaded = get_plugin_manager().hook.alignment_load_model(name=name, path=url, config=config, dtype=dtype,
                                                            device=device)
    if loaded is None:
        raise UnknownModelError(f"no installed architecture adapter loads model endpoints ({url})")
    return loaded


def clear_loaded_models() -> None:
    """Drop the per-process model cache (frees memory)."""
    _loaded.clear()
