"""The ContrastiveSet record and the seeded builder every contrastive-anchor family uses (no torch, no numpy)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alignment_plugins.capabilities import ContrastivePair
from alignment_plugins.concepts.base import generate

__all__ = ["MAX_WORDS", "MIN_WORDS", "PAIRS", "VERSION", "ContrastiveSet", "build", "word_count"]

VERSION = "v1"
PAIRS = 32
MIN_WORDS, MAX_WORDS = 8, 25


def word_count(text: str) -> int:
    """Number of whitespace-separated words of `text`."""
    return len(text.split())


@dataclass(frozen=True)
class ContrastiveSet:
    """A training-only set of minimal pairs: the positive text shows one property, the negative text does not."""

    name: str
    kind: str
    description: str
    pairs: tuple[ContrastivePair, ...]

    def __post_init__(self) -> None:
        for field in ("name", "kind", "description"):
            value = getattr(self, field)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"contrastive set {self.name!r}: {field} must be a non-empty string")
        if not self.pairs or not all(isinstance(p, ContrastivePair) for p in self.pairs):
            raise ValueError(f"contrastive set {self.name!r}: pairs must be a non-empty tuple of ContrastivePair")
        for text in self.texts:
            if not MIN_WORDS <= word_count(text) <= MAX_WORDS:
                raise ValueError(f"contrastive set {self.name!r}: {text!r} has {word_count(text)} words, "
                                 f"not {MIN_WORDS}-{MAX_WORDS}")

    @property
    def texts(self) -> list[str]:
        """All positive texts then all negative texts, in pair order."""
        return [p.positive for p in self.pairs] + [p.negative for p in self.pairs]


def build(
    name: str,
    kind: str,
    description: str,
    frames: Sequence[tuple[str, str]],
    slots: Mapping[str, Sequence[Any]],
    *,
    taken: set[str] | None = None,
    post: Callable[[str, str], tuple[str, str]] | None = None,
) -> ContrastiveSet:
    """PAIRS seeded pairs from (positive, negative) frames; with `taken`, skip and then record texts used elsewhere.

    The seed is ``contrastive-VERSION:name`` (``concepts.base.generate`` hashes it), so the evaluation concepts'
    streams are never reused. Sets that share frames and fillers pass one `taken` set so that no text repeats
    across them: twice PAIRS candidates are drawn and the first PAIRS whose texts are still free are kept.
    """
    count = PAIRS if taken is None else 2 * PAIRS
    candidates = generate(f"contrastive-{VERSION}:{name}", frames, slots, count, post=post)
    if taken is None:
        return ContrastiveSet(name, kind, description, candidates)
    free = [p for p in candidates if p.positive not in taken and p.negative not in taken][:PAIRS]
    if len(free) < PAIRS:
        raise RuntimeError(f"contrastive set {name!r}: only {len(free)} pairs with unused texts, {PAIRS} needed")
    taken.update(t for p in free for t in (p.positive, p.negative))
    return ContrastiveSet(name, kind, description, tuple(free))
