"""The Concept record and the seeded template filler every concept family is built with (no torch, no numpy)."""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from alignment_plugins.capabilities import ContrastivePair

__all__ = ["DEFAULT_PAIRS", "SPLITS", "Concept", "Draft", "generate", "rng_for"]

SPLITS: tuple[str, ...] = ("validation", "held_out")
DEFAULT_PAIRS = 32
VERSION = "v1"


@dataclass(frozen=True)
class Concept:
    """A contrastive concept: minimal pairs whose positive text shows it and negative text does not."""

    name: str
    kind: str
    description: str
    pairs: tuple[ContrastivePair, ...]
    split: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"concept name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.kind, str) or not self.kind.strip():
            raise ValueError(f"concept {self.name!r}: kind must be a non-empty string")
        if self.split not in SPLITS:
            raise ValueError(f"concept {self.name!r}: split must be one of {SPLITS}, got {self.split!r}")
        if not self.pairs or not all(isinstance(p, ContrastivePair) for p in self.pairs):
            raise ValueError(f"concept {self.name!r}: pairs must be a non-empty tuple of ContrastivePair")

    @property
    def data_hash(self) -> str:
        """sha256 of the canonical JSON of the name, kind and pairs (identifies the texts a direction used)."""
        blob = json.dumps(
            {"name": self.name, "kind": self.kind, "pairs": [[p.positive, p.negative] for p in self.pairs]},
            sort_keys=True, separators=(",", ":"), ensure_ascii=False,
        )
        return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()

    @property
    def texts(self) -> list[str]:
        """All positive texts then all negative texts, in pair order."""
        return [p.positive for p in self.pairs] + [p.negative for p in self.pairs]

    def to_records(self) -> list[dict[str, Any]]:
        """Rows for JSONL export, one per pair."""
        return [{"concept": self.name, "kind": self.kind, "split": self.split, "positive": p.positive,
                 "negative": p.negative} for p in self.pairs]


class Draft(NamedTuple):
    """A concept before its split is assigned: what each family builder returns."""

    name: str
    kind: str
    description: str
    pairs: tuple[ContrastivePair, ...]


def rng_for(name: str) -> random.Random:
    """The seeded generator of one concept (string seeds are hashed with sha512: stable across processes)."""
    return random.Random(f"concepts-{VERSION}:{name}")


class _Deck:
    """Draws values in a shuffled order, reshuffling when exhausted, so every value is used about equally."""

    def __init__(self, rng: random.Random, values: Sequence[Any]) -> None:
        if not values:
            raise ValueError("a template slot needs at least one value")
        self._rng, self._values, self._left = rng, list(values), []  # type: list[Any]

    def draw(self) -> Any:
        if not self._left:
            self._left = list(self._values)
            self._rng.shuffle(self._left)
        return self._left.pop()


def _finish(text: str, capitalize: bool) -> str:
    text = re.sub(r"(?<=\S) {2,}", " ", text).strip()
    return text[0].upper() + text[1:] if capitalize and text else text


def generate(
    name: str,
    frames: Sequence[tuple[str, str]],
    slots: Mapping[str, Sequence[Any]],
    count: int = DEFAULT_PAIRS,
    *,
    capitalize: bool = True,
    post: Callable[[str, str], tuple[str, str]] | None = None,
) -> tuple[ContrastivePair, ...]:
    """Fill (positive, negative) format strings with slot values drawn from seeded decks into `count` unique pairs.

    Frames are used in turn (shuffled once), each slot's values in shuffled rotation; a pair whose positive or
    negative text was already produced is skipped. ``post`` rewrites a finished (positive, negative) pair.
    """
    rng = rng_for(name)
    order = list(frames)
    rng.shuffle(order)
    decks = {slot: _Deck(rng, values) for slot, values in slots.items()}
    pairs: list[ContrastivePair] = []
    seen: set[str] = set()
    attempts = 0
    while len(pairs) < count:
        if attempts > 200 * count:
            raise RuntimeError(f"concept {name!r}: templates yield only {len(pairs)} unique pairs, {count} asked")
        pos_t, neg_t = order[attempts % len(order)]
        attempts += 1
        values = {slot: deck.draw() for slot, deck in decks.items()}
        pos, neg = _finish(pos_t.format(**values), capitalize), _finish(neg_t.format(**values), capitalize)
        if post is not None:
            pos, neg = post(pos, neg)
        if pos == neg or pos in seen or neg in seen:
            continue
        seen.update((pos, neg))
        pairs.append(ContrastivePair(pos, neg))
    return tuple(pairs)
