"""Shared machinery of the anchor-corpus builders: pinned wheels, seeded hashing, text clean-up, candidate selection.

Everything here is deterministic (sorting and sha256-based hashing only), so a builder that uses it rebuilds the
same bytes from the same pinned wheels. Nothing here imports torch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import subprocess
import sys
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("alignment_plugins.anchors.build")

SEED = 20250601
MIN_CHARS = 30
MAX_CHARS = 400

# The platform pip resolves wheels for: fixed, so that the choice of file never depends on the host.
PIP_TARGET = ("--platform", "manylinux_2_28_x86_64", "--python-version", "3.11", "--implementation", "cp",
              "--abi", "cp311")


@dataclass(frozen=True)
class Pin:
    """One pinned PyPI artifact: project name, exact version, file name and its sha256."""

    name: str
    version: str
    filename: str
    sha256: str

    @property
    def requirement(self) -> str:
        """The ``name==version --hash=sha256:...`` line for a pip requirements file."""
        return f"{self.name}=={self.version} --hash=sha256:{self.sha256}"


# --------------------------------------------------------------------------------------------------------------------
# Determinism helpers
# --------------------------------------------------------------------------------------------------------------------


def digest(*parts: object) -> int:
    """A stable 64-bit integer for ``parts`` (independent of PYTHONHASHSEED and of processing order)."""
    raw = "\x1f".join(str(p) for p in (SEED, *parts)).encode("utf-8")
    return int.from_bytes(hashlib.sha256(raw).digest()[:8], "big")


def pick(key: object, options: Sequence[str]) -> str:
    """Choose one of ``options`` by a stable hash of ``key``."""
    return options[digest("pick", key) % len(options)]


class Rng:
    """A tiny seeded generator built only on stable integer hashing (no dependence on ``random`` internals)."""

    def __init__(self, *seed: object) -> None:
        self._seed = seed
        self._n = 0

    def _next(self) -> int:
        self._n += 1
        return digest("rng", *self._seed, self._n)

    def randint(self, lo: int, hi: int) -> int:
        """An integer in ``[lo, hi]``."""
        return lo + self._next() % (hi - lo + 1)

    def choice(self, seq: Sequence):
        """One element of ``seq``."""
        return seq[self._next() % len(seq)]

    def sample(self, seq: Sequence, k: int) -> list:
        """``k`` distinct elements of ``seq`` (in draw order)."""
        picked: list[int] = []
        while len(picked) < k:
            i = self._next() % len(seq)
            if i not in picked:
                picked.append(i)
        return [seq[i] for i in picked]


# --------------------------------------------------------------------------------------------------------------------
# Text helpers
# --------------------------------------------------------------------------------------------------------------------

_URL_RE = re.compile(r"(https?://|ftp://|www\.|\b[\w.-]+\.(com|org|net|io|edu|gov)\b/?)", re.IGNORECASE)
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_LICENSE_RE = re.compile(
    r"\b(licen[cs]e[sd]?|copyright|warrant(y|ies)|all rights reserved|redistribut\w*|merchantability|\(c\))",
    re.IGNORECASE,
)
_BOUNDARY_RE = re.compile(r"[.!?][\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_ABBREVIATIONS = frozenset([
    "mr", "mrs", "ms", "dr", "st", "mt", "jr", "sr", "prof", "gen", "gov", "sen", "rep", "lt", "col", "capt",
    "sgt", "cpl", "inc", "ltd", "co", "corp", "vs", "etc", "eg", "ie", "no", "nos", "fig", "figs", "al",
    "approx", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "ft", "pp",
    "vol", "eds", "ed", "ch", "sec", "eq", "cf", "resp", "ca", "e.g", "i.e", "u.s", "u.k", "u.n", "a.d", "b.c",
    "d.c", "p.m", "a.m", "mt", "ave", "blvd"
])


def norm_key(text: str) -> str:
    """The deduplication key: case-folded text with whitespace collapsed."""
    return " ".join(text.casefold().split())


def squash(text: str) -> str:
    """Collapse all whitespace runs to single spaces."""
    return " ".join(text.split())


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences, keeping common abbreviations and initials intact."""
    out: list[str] = []
    start = 0
    for m in _BOUNDARY_RE.finditer(text):
        stop = m.start() + 1
        word = re.search(r"([A-Za-z.]+)\.$", text[start:stop])
        if word:
            token = word.group(1).lower()
            if token in _ABBREVIATIONS or len(token) == 1 or re.fullmatch(r"([a-z]\.)+[a-z]", token):
                continue
        piece = text[start:m.end()].strip()
        if piece:
            out.append(piece)
        start = m.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


def chunk_sentences(sentences: Sequence[str], target: int = 250) -> list[str]:
    """Group consecutive sentences into chunks of at most ``target`` characters (a longer sentence stands alone)."""
    chunks: list[str] = []
    current = ""
    for sentence in sentences:
        candidate = f"{current} {sentence}".strip()
        if current and len(candidate) > target:
            chunks.append(current)
            current = sentence
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks


def forbidden(text: str) -> bool:
    """True for text that may never be an anchor: URLs, e-mail addresses, license boilerplate."""
    return bool(_URL_RE.search(text) or _EMAIL_RE.search(text) or _LICENSE_RE.search(text))


def balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and text.count('"') % 2 == 0


def prose_ok(text: str, *, min_words: int = 6, extra_allowed: str = "") -> bool:
    """A natural single-paragraph sentence: starts well, ends with punctuation, mostly letters, no markup."""
    if not text or "\n" in text:
        return False
    if not (text[0].isupper() or text[0].isdigit() or text[0] in "\"'("):
        return False
    if text[-1] not in ".!?\"')":
        return False
    bad = set("[]{}|<>=_\\^~*#@`$") - set(extra_allowed)
    if any(ch in bad for ch in text):
        return False
    if len(text.split()) < min_words:
        return False
    letters = sum(ch.isalpha() or ch == " " for ch in text)
    return letters / len(text) >= 0.8 and balanced(text)


_ROLE_RE = re.compile(r":(?:\w+:)?(?:math|func|class|meth|obj|attr|mod|data|ref|exc|const|term|doc|cite|any):"
                      r"`([^`]*)`")


def _role_text(m: re.Match) -> str:
    inner = m.group(1)
    label = re.match(r"(.*?)\s*<[^>]*>$", inner)
    if label:
        return label.group(1)
    if inner.startswith("~"):
        return inner[1:].split(".")[-1]
    return inner.lstrip(".")


def clean_rst(text: str) -> str:
    """Strip reStructuredText roles and inline markup, keep the words and the formulas."""
    text = _ROLE_RE.sub(_role_text, text)
    text = re.sub(r"``([^`]+)``", r"\1", text)
    text = re.sub(r"`([^`<]+?)(?:\s*<[^>]*>)?`_{0,2}", r"\1", text)
    text = re.sub(r"\s*\[[A-Za-z0-9][\w-]*\]_", "", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"\1", text)
    text = re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"\1", text)
    text = text.replace("::", ":")
    text = re.sub(r"\s+([,.;:])(?=\s|$)", r"\1", squash(text))
    return text.strip()


def docstring_paragraphs(doc: str) -> Iterator[tuple[str, str]]:
    """Yield ``(section, paragraph)`` prose paragraphs of a (cleaned) docstring, skipping examples and field lists."""
    section = ""
    for block in re.split(r"\n\s*\n", doc):
        lines = [ln.rstrip() for ln in block.strip("\n").splitlines()]
        while lines and not lines[0].strip():
            lines.pop(0)
        if len(lines) >= 2 and re.fullmatch(r"\s*[=\-~^]{3,}\s*", lines[1]):
            section = lines[0].strip().lower()
            lines = lines[2:]
        if not lines:
            continue
        if any(ln.lstrip().startswith((">>>", "...", "..", "|", "+-", "*", "-", ":")) for ln in lines):
            continue
        if lines[0].startswith((" ", "\t")):
            continue
        yield section, " ".join(ln.strip() for ln in lines)


# --------------------------------------------------------------------------------------------------------------------
# Archives
# --------------------------------------------------------------------------------------------------------------------


class Wheel:
    """Read-only view of one pinned wheel."""

    def __init__(self, pin: Pin, path: Path) -> None:
        self.pin = pin
        self.zip = zipfile.ZipFile(path)
        self.names: tuple[str, ...] = tuple(sorted(self.zip.namelist()))

    def read(self, member: str) -> bytes:
        """The raw bytes of ``member``."""
        return self.zip.read(member)

    def text(self, member: str) -> str:
        """``member`` decoded as UTF-8, falling back to Windows-1252 for legacy corpora."""
        raw = self.read(member)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("cp1252", errors="replace")

    def json(self, member: str) -> object:
        """``member`` parsed as JSON."""
        return json.loads(self.read(member))

    def source(self, member: str = "", obj: str = "") -> str:
        """A provenance tag ``pypi:name==version[:member[:obj]]``."""
        tag = f"pypi:{self.pin.name}=={self.pin.version}"
        if member:
            tag += f":{member}"
        if obj:
            tag += f":{obj}"
        return tag

    def metadata_member(self) -> str:
        """The path of the wheel's ``METADATA`` file."""
        return next(n for n in self.names if n.endswith(".dist-info/METADATA"))


def fetch_wheels(dest: Path, pins: Sequence[Pin]) -> dict[str, Wheel]:
    """Download (or reuse) every pinned wheel into ``dest`` and verify its sha256."""
    dest.mkdir(parents=True, exist_ok=True)
    missing = [p for p in pins if not _verified(dest / p.filename, p)]
    if missing:
        req = dest / "anchors-requirements.txt"
        req.write_text("".join(p.requirement + "\n" for p in missing), encoding="utf-8")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", *PIP_TARGET,
               "--require-hashes", "--quiet", "--disable-pip-version-check", "-d", str(dest), "-r", str(req)]
        log.info("pip download of %d pinned wheels", len(missing))
        subprocess.run(cmd, check=True)
    wheels = {}
    for pin in pins:
        path = dest / pin.filename
        if not _verified(path, pin):
            raise RuntimeError(f"{path}: missing or sha256 mismatch (expected {pin.sha256})")
        wheels[pin.name] = Wheel(pin, path)
    return wheels


def _verified(path: Path, pin: Pin) -> bool:
    if not path.is_file():
        return False
    return hashlib.sha256(path.read_bytes()).hexdigest() == pin.sha256


# --------------------------------------------------------------------------------------------------------------------
# Candidates and selection
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cand:
    """A candidate anchor; ``group`` limits how many anchors one file/document/entity may contribute."""

    domain: str
    text: str
    source: str
    group: str = ""


def length_ok(text: str) -> bool:
    """Within the corpus length bounds."""
    return MIN_CHARS <= len(text) <= MAX_CHARS


def select(pool: Iterable[Cand], quota: int, seen: set[str], *, per_group: int = 0, label: str = "") -> list[Cand]:
    """Pick up to ``quota`` new candidates from ``pool`` by stable hash rank, deduplicating against ``seen``."""
    ranked = sorted(set(pool), key=lambda c: (digest("rank", c.source, c.text), c.source, c.text))
    chosen: list[Cand] = []
    per: Counter[str] = Counter()
    for cand in ranked:
        if len(chosen) >= quota:
            break
        key = norm_key(cand.text)
        if key in seen or not length_ok(cand.text) or forbidden(cand.text) or "\ufffd" in cand.text:
            continue
        if per_group and per[cand.group] >= per_group:
            continue
        seen.add(key)
        per[cand.group] += 1
        chosen.append(cand)
    if len(chosen) < quota:
        log.warning("%s: only %d of %d anchors available", label or "pool", len(chosen), quota)
    log.debug("%s: %d chosen from %d candidates", label, len(chosen), len(ranked))
    return chosen



def select_plan(plan: Mapping[str, Sequence[tuple[str, int, int]]], domains: Sequence[str],
                pools: Mapping[str, Sequence[Cand]], seen: set[str]) -> list[Cand]:
    """Apply ``select`` to each ``(pool label, quota, per-group cap)`` of ``plan[domain]``, domain by domain."""
    chosen: list[Cand] = []
    for domain in domains:
        for label, quota, per_group in plan[domain]:
            pool = [c for c in pools.get(label, []) if c.domain == domain]
            chosen.extend(select(pool, quota, seen, per_group=per_group, label=f"{domain}/{label}"))
    return chosen
