"""A GGUF model's metadata read from the file's header, without reading, dequantizing or converting its weights.

A GGUF file is a header (magic, version, tensor and key-value counts, the key-value metadata, one info record per
tensor, padding up to ``general.alignment``) followed by the tensor data. :func:`gguf_config` hands transformers a
stand-in file: the same header minus the tokenizer's vocabulary arrays (their size is kept as
``<arch>.vocab_size``), then a sparse hole in place of the tensor data (no disk used). transformers thus derives the
config it would derive from the whole file (it also looks at tensor *names*, e.g. for tied embeddings) in a
fraction of a second, where parsing the vocabulary alone takes it 15-60 s, and the weights are never read. Split
GGUF files (byte chunks of one file, as the Gemma and Qwen packages ship) are read as their concatenation.
"""

from __future__ import annotations

import os
import struct
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["GGUFHeader", "GGUFHeaderError", "gguf_config", "read_header"]

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32
#: Byte size of each fixed-size GGUF value type (8 = string and 9 = array are variable).
_FIXED_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_UINT32, _STRING, _ARRAY = 4, 8, 9
_CHUNK = 1 << 20


class GGUFHeaderError(ValueError):
    """The file (or its parts) is not a readable GGUF header."""


class _Stream:
    """Sequential reads over the concatenation of files; every byte read stays in ``data`` (a header is MiBs)."""

    def __init__(self, parts: Sequence[Path]) -> None:
        self._parts = list(parts)
        self._next = 0
        self._handle: Any = None
        self.data = bytearray()
        self.offset = 0

    def _fill(self, end: int) -> None:
        while len(self.data) < end:
            chunk = self._handle.read(_CHUNK) if self._handle is not None else b""
            if chunk:
                self.data += chunk
                continue
            if self._handle is not None:
                self._handle.close()
            if self._next >= len(self._parts):
                raise GGUFHeaderError(f"the GGUF header runs past the end of the file (byte {end})")
            self._handle = open(self._parts[self._next], "rb")  # noqa: SIM115 (closed here or by close())
            self._next += 1

    def read(self, n: int) -> bytes:
        """Exactly the next `n` bytes; GGUFHeaderError when the files end first."""
        self._fill(self.offset + n)
        self.offset += n
        return bytes(self.data[self.offset - n:self.offset])

    def unpack(self, fmt: str) -> Any:
        """The next little-endian value of struct format `fmt`."""
        return struct.unpack("<" + fmt, self.read(struct.calcsize(fmt)))[0]

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


@dataclass
class GGUFHeader:
    """A parsed GGUF header: the raw bytes of each key-value record and of the tensor infos, and what the stand-in
    file needs (architecture, vocabulary size, alignment, sizes in bytes)."""

    version: int
    tensor_count: int
    records: list[tuple[str, bool, bytes]] = field(default_factory=list)  # (key, is an array, raw record bytes)
    tensor_infos: bytes = b""
    architecture: str | None = None
    vocabulary: int | None = None  # length of tokenizer.ggml.tokens
    alignment: int = DEFAULT_ALIGNMENT
    size: int = 0  # header bytes including the padding: the tensor data starts here
    total: int = 0  # bytes of the whole (concatenated) file


def _skip_value(stream: _Stream, value_type: int) -> int | None:
    """Skip one value; return an array's length (None for scalars)."""
    if value_type in _FIXED_SIZES:
        stream.read(_FIXED_SIZES[value_type])
    elif value_type == _STRING:
        stream.read(stream.unpack("Q"))
    elif value_type == _ARRAY:
        item_type, count = stream.unpack("I"), stream.unpack("Q")
        if item_type in _FIXED_SIZES:
            stream.read(_FIXED_SIZES[item_type] * count)
        else:
            for _ in range(count):
                _skip_value(stream, item_type)
        return count
    else:
        raise GGUFHeaderError(f"unknown GGUF value type {value_type} at byte {stream.offset}")
    return None


def read_header(parts: Sequence[str | Path]) -> GGUFHeader:
    """Parse the header of a (split) GGUF file: version, key-value records, tensor infos, alignment, sizes."""
    paths = [Path(p) for p in parts]
    stream = _Stream(paths)
    try:
        if stream.read(4) != GGUF_MAGIC:
            raise GGUFHeaderError(f"{paths[0]} is not a GGUF file (bad magic)")
        version = stream.unpack("I")
        if version not in SUPPORTED_VERSIONS:
            raise GGUFHeaderError(f"GGUF version {version} is not supported (only {SUPPORTED_VERSIONS})")
        header = GGUFHeader(version=version, tensor_count=stream.unpack("Q"))
        for _ in range(stream.unpack("Q")):
            start = stream.offset
            key = stream.read(stream.unpack("Q")).decode("utf-8")
            value_type = stream.unpack("I")
            value_start = stream.offset
            count = _skip_value(stream, value_type)
            value = stream.data[value_start:stream.offset]
            if key == "general.alignment" and value_type == _UINT32:
                header.alignment = struct.unpack("<I", value)[0]
            elif key == "general.architecture" and value_type == _STRING:
                header.architecture = bytes(value[8:]).decode("utf-8")
            elif key == "tokenizer.ggml.tokens":
                header.vocabulary = count
            header.records.append((key, value_type == _ARRAY, bytes(stream.data[start:stream.offset])))
        start = stream.offset
        for _ in range(header.tensor_count):
            stream.read(stream.unpack("Q"))  # name
            stream.read(8 * stream.unpack("I"))  # dimensions
            stream.read(4 + 8)  # ggml type, data offset (relative to the start of the data)
        header.tensor_infos = bytes(stream.data[start:stream.offset])
        if header.alignment <= 0:
            raise GGUFHeaderError(f"bad general.alignment {header.alignment}")
        header.size = stream.offset + (-stream.offset) % header.alignment
        header.total = sum(p.stat().st_size for p in paths)
        return header
    finally:
        stream.close()


def _record(key: str, value_type: int, payload: bytes) -> bytes:
    encoded = key.encode("utf-8")
    return struct.pack("<Q", len(encoded)) + encoded + struct.pack("<I", value_type) + payload


def _write_stand_in(header: GGUFHeader, out: Path) -> Path:
    """Write the stand-in GGUF of `header`: no tokenizer arrays (``<arch>.vocab_size`` instead), the same tensor
    infos, then a sparse hole as long as the original tensor data."""
    keys = {key for key, _, _ in header.records}
    records = [raw for key, is_array, raw in header.records if not (is_array and key.startswith("tokenizer."))]
    vocab_key = f"{header.architecture}.vocab_size"
    if header.architecture and header.vocabulary is not None and vocab_key not in keys:
        records.append(_record(vocab_key, _UINT32, struct.pack("<I", header.vocabulary)))
    head = GGUF_MAGIC + struct.pack("<IQQ", header.version, header.tensor_count, len(records))
    head += b"".join(records) + header.tensor_infos
    head += b"\0" * ((-len(head)) % header.alignment)
    with open(out, "wb") as handle:
        handle.write(head)
        handle.truncate(len(head) + header.total - header.size)
    return out


def gguf_config(parts: Sequence[str | Path]) -> Any:
    """The transformers config of a (split) GGUF model, read from its header only (``_name_or_path``: the first
    part); GGUFHeaderError when the header is unreadable."""
    from transformers import AutoConfig

    paths = [Path(p) for p in parts]
    if not paths:
        raise GGUFHeaderError("no GGUF file given")
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"GGUF file {path} does not exist")
    header = read_header(paths)
    with tempfile.TemporaryDirectory(prefix="gguf-header-") as tmp:
        stand_in = _write_stand_in(header, Path(tmp) / "header.gguf")
        config = AutoConfig.from_pretrained(tmp, gguf_file=stand_in.name)
    config._name_or_path = os.fspath(paths[0])
    return config
