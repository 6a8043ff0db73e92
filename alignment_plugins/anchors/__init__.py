"""Anchor prompts: short real texts fed to two language models so that their hidden states can be aligned.

The package ships versioned built-in corpora (``data/anchors-VERSION.jsonl``, built by
``python -m alignment_plugins.anchors.build``) and loads user corpora from JSONL files. ``v1`` holds the five
product domains; ``v2`` (the default) keeps v1's texts and adds the seven capability domains (opinion, dialogue,
instructions, emotion, narrative, style, multilingual). Nothing here imports torch.

Example::

    anchors = load_anchors()                      # the built-in corpus, CORPUS_VERSION
    train, val = anchors.sample(2000, seed=1).split(0.1, seed=1)
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import overload

__all__ = [
    "CAPABILITY_DOMAINS",
    "CORPUS_VERSION",
    "DOMAINS",
    "PRODUCT_DOMAINS",
    "UNSPECIFIED_DOMAIN",
    "Anchor",
    "AnchorSet",
    "available_versions",
    "load_anchors",
    "load_builtin",
    "load_jsonl",
]

log = logging.getLogger(__name__)

# The domains of corpus v1: encyclopaedic, reasoning, language, code and maths text.
PRODUCT_DOMAINS: tuple[str, ...] = ("general_knowledge", "reasoning", "language_understanding", "code", "mathematics")
# Added in v2: the kinds of text capability vectors (sentiment, emotion, style, persona, languages ...) live in.
CAPABILITY_DOMAINS: tuple[str, ...] = ("opinion", "dialogue", "instructions", "emotion", "narrative", "style",
                                       "multilingual")
DOMAINS: tuple[str, ...] = PRODUCT_DOMAINS + CAPABILITY_DOMAINS
CORPUS_VERSION = "v2"
UNSPECIFIED_DOMAIN = "unspecified"
BUILTIN_PREFIX = "builtin"


@dataclass(frozen=True)
class Anchor:
    """One anchor prompt: its text, a domain label and where the text came from."""

    text: str
    domain: str
    source: str = "user"

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.text.strip():
            raise ValueError(f"anchor text must be a non-empty string, got {self.text!r}")
        if not isinstance(self.domain, str) or not self.domain.strip():
            raise ValueError(f"anchor domain must be a non-empty string, got {self.domain!r}")
        if not isinstance(self.source, str):
            raise ValueError(f"anchor source must be a string, got {self.source!r}")


def _rank(seed: int, salt: str, position: int, anchor: Anchor) -> bytes:
    """A stable pseudo-random sort key (independent of PYTHONHASHSEED, numpy and ``random`` internals)."""
    raw = f"{seed}\x1f{salt}\x1f{position}\x1f{anchor.domain}\x1f{anchor.text}".encode()
    return hashlib.sha256(raw).digest()


class AnchorSet(Sequence[Anchor]):
    """An immutable, ordered collection of anchors with deterministic sampling and splitting."""

    __slots__ = ("_anchors", "_hash", "_name")

    def __init__(self, anchors: Sequence[Anchor] | Iterable[Anchor], name: str = "custom") -> None:
        items = tuple(anchors)
        for i, anchor in enumerate(items):
            if not isinstance(anchor, Anchor):
                raise TypeError(f"AnchorSet item {i} is {type(anchor).__name__}, expected Anchor")
        object.__setattr__(self, "_anchors", items)
        object.__setattr__(self, "_name", str(name))
        object.__setattr__(self, "_hash", None)

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError("AnchorSet is immutable")

    @property
    def anchors(self) -> tuple[Anchor, ...]:
        """The anchors, in order."""
        return self._anchors

    @property
    def name(self) -> str:
        """A human-readable label (e.g. ``builtin:v1``); not part of the content hash."""
        return self._name

    def __len__(self) -> int:
        return len(self._anchors)

    def __iter__(self) -> Iterator[Anchor]:
        return iter(self._anchors)

    @overload
    def __getitem__(self, index: int) -> Anchor: ...

    @overload
    def __getitem__(self, index: slice) -> AnchorSet: ...

    def __getitem__(self, index: int | slice) -> Anchor | AnchorSet:
        if isinstance(index, slice):
            return AnchorSet(self._anchors[index], name=f"{self._name}[{index.start}:{index.stop}:{index.step}]")
        return self._anchors[index]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AnchorSet):
            return NotImplemented
        return self._anchors == other._anchors

    def __hash__(self) -> int:
        return hash(self._anchors)

    def __repr__(self) -> str:
        counts = ", ".join(f"{d}={n}" for d, n in self.counts().items())
        return f"AnchorSet(name={self._name!r}, n={len(self)}, {counts})"

    @property
    def texts(self) -> list[str]:
        """The anchor texts, in order."""
        return [a.text for a in self._anchors]

    @property
    def domains(self) -> list[str]:
        """The domain of each anchor, in order."""
        return [a.domain for a in self._anchors]

    @property
    def content_hash(self) -> str:
        """``sha256:<hex>`` over the canonical ``[domain, text]`` JSON lines, in order: identifies the set's content."""
        if self._hash is None:
            h = hashlib.sha256()
            for a in self._anchors:
                h.update(json.dumps([a.domain, a.text], ensure_ascii=False).encode("utf-8"))
                h.update(b"\n")
            object.__setattr__(self, "_hash", f"sha256:{h.hexdigest()}")
        return self._hash

    def _domain_order(self) -> list[str]:
        present = {a.domain for a in self._anchors}
        return [d for d in DOMAINS if d in present] + sorted(present.difference(DOMAINS))

    def counts(self) -> dict[str, int]:
        """Number of anchors per domain (built-in domains first, in ``DOMAINS`` order, then others sorted)."""
        counts: dict[str, int] = {d: 0 for d in self._domain_order()}
        for a in self._anchors:
            counts[a.domain] += 1
        return counts

    def filter(self, domains: Iterable[str] | str | None) -> AnchorSet:
        """The anchors whose domain is in ``domains`` (None keeps all); an unknown domain raises ValueError."""
        if domains is None:
            return self
        wanted = [domains] if isinstance(domains, str) else list(domains)
        if not wanted:
            raise ValueError("filter() needs at least one domain (or None for all)")
        valid = set(self._domain_order())
        unknown = [d for d in wanted if d not in valid]
        if unknown:
            raise ValueError(f"unknown domain(s) {unknown} for anchor set {self._name!r}; "
                             f"valid domains: {', '.join(self._domain_order())}")
        keep = set(wanted)
        label = ",".join(d for d in self._domain_order() if d in keep)
        return AnchorSet([a for a in self._anchors if a.domain in keep], name=f"{self._name}|domains={label}")

    def _by_domain(self) -> dict[str, list[int]]:
        groups: dict[str, list[int]] = {d: [] for d in self._domain_order()}
        for i, a in enumerate(self._anchors):
            groups[a.domain].append(i)
        return groups

    def _shuffled(self, indices: list[int], seed: int, salt: str) -> list[int]:
        return sorted(indices, key=lambda i: (_rank(seed, salt, i, self._anchors[i]), i))

    def sample(self, n: int | None, seed: int = 0) -> AnchorSet:
        """A deterministic subset of ``n`` anchors, stratified by domain (proportional, round-robin remainder)."""
        if n is None:
            return self
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"sample size must be an int or None, got {n!r}")
        if n <= 0:
            raise ValueError(f"sample size must be positive, got {n}")
        if n > len(self):
            raise ValueError(f"cannot sample {n} anchors from {self._name!r}: it has only {len(self)} "
                             f"(use n=None or n<={len(self)})")
        groups = self._by_domain()
        total = len(self)
        quota = {d: n * len(idx) // total for d, idx in groups.items()}
        remainder = n - sum(quota.values())
        while remainder:
            for d, idx in groups.items():
                if remainder and quota[d] < len(idx):
                    quota[d] += 1
                    remainder -= 1
        chosen: list[int] = []
        for d, idx in groups.items():
            chosen.extend(self._shuffled(idx, seed, f"sample:{d}")[: quota[d]])
        return AnchorSet([self._anchors[i] for i in sorted(chosen)], name=f"{self._name}|sample={n},seed={seed}")

    def split(self, validation_fraction: float, seed: int = 0) -> tuple[AnchorSet, AnchorSet]:
        """Deterministic, domain-stratified, disjoint ``(train, validation)`` split; fraction must be in (0, 1)."""
        if isinstance(validation_fraction, bool) or not isinstance(validation_fraction, (int, float)) \
                or not 0.0 < validation_fraction < 1.0:
            raise ValueError(f"validation_fraction must be strictly between 0 and 1, got {validation_fraction!r}")
        if len(self) < 2:
            raise ValueError(f"cannot split {self._name!r}: it needs at least 2 anchors, has {len(self)}")
        validation: list[int] = []
        for d, idx in self._by_domain().items():
            k = round(len(idx) * validation_fraction)
            if len(idx) >= 2:
                k = min(max(k, 1), len(idx) - 1)
            validation.extend(self._shuffled(idx, seed, f"split:{d}")[:k])
        val = set(validation)
        if not val:  # only single-anchor domains: still give validation one anchor
            val = {self._shuffled(list(range(len(self))), seed, "split:*")[0]}
        tag = f"split={validation_fraction:g},seed={seed}"
        train_set = AnchorSet([a for i, a in enumerate(self._anchors) if i not in val], f"{self._name}|{tag}|train")
        val_set = AnchorSet([a for i, a in enumerate(self._anchors) if i in val], f"{self._name}|{tag}|validation")
        return train_set, val_set


# --------------------------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------------------------


def _parse_jsonl(text: str, where: str) -> list[Anchor]:
    anchors: list[Anchor] = []
    first_line: dict[str, int] = {}
    duplicates: list[tuple[int, int]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        at = f"{where}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{at}: malformed JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(obj, dict):
            raise ValueError(f"{at}: expected a JSON object with a \"text\" key, got {type(obj).__name__}")
        if "text" not in obj:
            raise ValueError(f"{at}: missing \"text\"")
        body = obj["text"]
        if not isinstance(body, str):
            raise ValueError(f"{at}: \"text\" must be a string, got {type(body).__name__}")
        if not body.strip():
            raise ValueError(f"{at}: \"text\" is empty")
        domain = obj.get("domain", UNSPECIFIED_DOMAIN)
        if not isinstance(domain, str):
            raise ValueError(f"{at}: \"domain\" must be a string, got {type(domain).__name__}")
        if not domain.strip():
            raise ValueError(f"{at}: \"domain\" is empty")
        source = obj.get("source", "user")
        if not isinstance(source, str):
            raise ValueError(f"{at}: \"source\" must be a string, got {type(source).__name__}")
        if body in first_line:
            duplicates.append((lineno, first_line[body]))
        else:
            first_line[body] = lineno
        anchors.append(Anchor(text=body, domain=domain, source=source))
    if not anchors:
        raise ValueError(f"{where}: no anchors (the file is empty or has only blank lines)")
    if duplicates:
        line, orig = duplicates[0]
        log.warning("%s: %d duplicate anchor text(s) kept as given (e.g. line %d repeats line %d)",
                    where, len(duplicates), line, orig)
    return anchors


def load_jsonl(path: str | os.PathLike[str]) -> AnchorSet:
    """Load anchors from a JSONL file: one ``{"text": ..., "domain": ..., "source": ...}`` object per line."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"anchor file not found: {p}")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{p}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    return AnchorSet(_parse_jsonl(text, str(p)), name=str(p))


def available_versions() -> list[str]:
    """The built-in corpus versions shipped with the package."""
    data = resources.files(__name__).joinpath("data")
    names = [entry.name for entry in data.iterdir()] if data.is_dir() else []
    return sorted(n[len("anchors-"):-len(".jsonl")] for n in names if n.startswith("anchors-") and n.endswith(".jsonl"))


def load_builtin(version: str = CORPUS_VERSION) -> AnchorSet:
    """The built-in anchor corpus of ``version`` (cached per version: the same object for every call)."""
    return _load_builtin(version)


@functools.lru_cache(maxsize=4)
def _load_builtin(version: str) -> AnchorSet:
    resource = resources.files(__name__).joinpath("data", f"anchors-{version}.jsonl")
    if not resource.is_file():
        raise ValueError(f"unknown built-in anchor corpus version {version!r}; available: {available_versions()}")
    where = f"{BUILTIN_PREFIX}:{version}"
    anchors = _parse_jsonl(resource.read_text(encoding="utf-8"), where)
    stray = sorted({a.domain for a in anchors}.difference(DOMAINS))
    if stray:
        raise ValueError(f"{where}: corpus has domains outside DOMAINS: {stray}")
    return AnchorSet(anchors, name=where)


def load_anchors(spec: str | os.PathLike[str] | AnchorSet | None = None) -> AnchorSet:
    """Resolve an anchor spec: None/"builtin"/"builtin:VERSION" -> built-in corpus, a path -> JSONL, a set -> itself."""
    if spec is None:
        return load_builtin()
    if isinstance(spec, AnchorSet):
        return spec
    if isinstance(spec, str):
        if spec == BUILTIN_PREFIX:
            return load_builtin()
        if spec.startswith(BUILTIN_PREFIX + ":"):
            return load_builtin(spec.split(":", 1)[1])
    if isinstance(spec, (str, os.PathLike)):
        return load_jsonl(spec)
    raise TypeError(f"cannot load anchors from {type(spec).__name__}; pass None, 'builtin[:VERSION]', a path or "
                    f"an AnchorSet")
