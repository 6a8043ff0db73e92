"""Contrastive concepts for the concept-transfer benchmark: minimal pairs whose difference is one concept.

Every concept (a topic, a sentiment, an emotion, a tense, a persona, a language, ...) is built deterministically
from templates written for this project (seeded ``random.Random``, nothing from the standard library's text) as
≥ 24 pairs of the same sentence with and without the concept. A concept's native direction in a model is the
CAA vector mean(h(positive)) − mean(h(negative)) at a layer; the benchmark maps a source model's direction through
a W-Matrix and compares it with the target model's own (``transfer_cosines``).

Splits are fixed: about a third of the concepts, stratified by kind through a seeded hash of their names, are
``"validation"`` (for every choice: layer pair, λ, pairing mode); the rest are ``"held_out"`` (reported only).
``python -m alignment_plugins.concepts.build --out DIR`` writes them as JSONL. Nothing here imports torch.

Example::

    held_out = concepts("held_out")
    src = native_directions("smollm2-135m-instruct", held_out, [9])
"""

from __future__ import annotations

import functools
import hashlib
from collections import Counter

from alignment_plugins.concepts import affect, grammar, languages, style, topics, world
from alignment_plugins.concepts.base import SPLITS, VERSION, Concept, Draft
from alignment_plugins.concepts.scoring import (
    concept_states,
    native_directions,
    split_half_cosines,
    summarize,
    transfer_cosines,
)

__all__ = [
    "SPLITS",
    "VERSION",
    "Concept",
    "all_concepts",
    "concept_states",
    "concepts",
    "get_concept",
    "kinds",
    "native_directions",
    "split_half_cosines",
    "summarize",
    "transfer_cosines",
]

SPLIT_SEED = f"concepts-split-{VERSION}"
VALIDATION_EVERY = 3  # one concept in three is a validation concept


def _rank(name: str) -> str:
    return hashlib.sha256(f"{SPLIT_SEED}:{name}".encode()).hexdigest()


def _splits(drafts: list[Draft]) -> dict[str, str]:
    """Every third concept of the kind-grouped, hash-ordered list is validation: each kind gets ⌊n/3⌋ or ⌈n/3⌉."""
    by_kind: dict[str, list[str]] = {}
    for draft in drafts:
        by_kind.setdefault(draft.kind, []).append(draft.name)
    ordered = [name for kind in sorted(by_kind) for name in sorted(by_kind[kind], key=_rank)]
    offset = int(_rank(""), 16) % VALIDATION_EVERY
    return {name: "validation" if (i + offset) % VALIDATION_EVERY == 0 else "held_out"
            for i, name in enumerate(ordered)}


@functools.cache
def all_concepts() -> tuple[Concept, ...]:
    """Every built-in concept, in a fixed order (topics, grammar, affect, style, world, languages)."""
    drafts = [d for module in (topics, grammar, affect, style, world, languages) for d in module.drafts()]
    duplicated = [name for name, n in Counter(d.name for d in drafts).items() if n > 1]
    if duplicated:
        raise RuntimeError(f"duplicate concept names: {duplicated}")
    split = _splits(drafts)
    return tuple(Concept(d.name, d.kind, d.description, d.pairs, split[d.name]) for d in drafts)


def concepts(split: str | None = None) -> tuple[Concept, ...]:
    """The built-in concepts of one split ("validation" or "held_out"), or all of them for None."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be None or one of {SPLITS}, got {split!r}")
    return tuple(c for c in all_concepts() if split is None or c.split == split)


def get_concept(name: str) -> Concept:
    """The built-in concept called `name` (KeyError listing the known names otherwise)."""
    for concept in all_concepts():
        if concept.name == name:
            return concept
    raise KeyError(f"unknown concept {name!r}; known: {', '.join(c.name for c in all_concepts())}")


def kinds() -> dict[str, int]:
    """Number of built-in concepts per kind, kinds sorted by name."""
    return dict(sorted(Counter(c.kind for c in all_concepts()).items()))
