"""Contrastive anchors: training-only minimal pairs whose pooled states the W-Matrix fit may add to its anchors.

A concept direction (CAA: mean pooled state of positive texts minus negative texts) transfers better when the fit
also sees pooled states of short contrastive sentences. These sets supply such sentences for *training only*:
they are never scored. The evaluation sets (``alignment_plugins.concepts``, ``alignment_plugins.capabilities``)
stay held out: no set here is the same concept as, the opposite of, or a synonym of an evaluation concept or
capability, every frame and word list was written for this module (none copied from the evaluation builders), and
a unit test checks that no text shares a lower-cased 8-word n-gram with an evaluation text or reaches a word-trigram
Jaccard of 0.5 with one (``alignment_plugins.anchors.leakage``).

60 sets of 32 pairs (3,840 texts, 3,776 distinct: the three language sets share their English side), in 28 kinds.
Each pair is the same everyday sentence of 8-25 words with and without one property:

* topic (8): gardening, railways, chemistry, fashion, theatre, fishing, mountains, knitting — vs chores and admin;
* attribute (6): wet, soft, heavy, sweet, loud, full — vs dry, hard, light, bitter, quiet, empty;
  colour: red vs blue; material: wooden vs plastic;
* emotion (7): pride, boredom, gratitude, jealousy, nostalgia, embarrassment, curiosity — vs an ordinary action;
* evaluation (3): easy vs difficult, punctual vs late, fair vs unfair;
* setting (2): outdoors vs indoors, countryside vs city; quantity (2): fraction (half of) vs all, excess (too
  much) vs enough;
* tense: habitual_past (used to) vs present habit; aspect: inceptive (began to) vs simple past; modality (3):
  obligation, ability, permission vs the plain present; frequency: repetition (every day) vs once; voice:
  causative (had it repaired) vs did it;
* negation: absence (without) vs with; number: ordinal (the third) vs the next; person: generic_person (one,
  anyone) vs a named person; gender: female vs male; question (2): tag_question, reported_question; speech:
  direct_speech vs reported; degree (2): comparative, intensity; discourse (2): causal (because) and concession
  (although) vs "and";
* politeness: greeting; formality: honorific (Mrs Okafor) vs first name; dialect: american_english vs British;
  certainty: hearsay vs seen first-hand; persona (3): news_anchor, fairy_tale, tour_guide vs plain; register
  (2): headline, manual vs plain sentences;
* language (3): portuguese, dutch, swedish vs English.

Sets are built deterministically (``concepts.base.generate`` seeded by hashing ``contrastive-v1:<name>``);
``contrastive_hash()`` identifies the whole collection and ``python -m alignment_plugins.anchors.contrastive``
prints it with every set (``--out DIR`` also writes ``contrastive.jsonl``). Importing this package imports
``alignment_plugins.concepts.base`` (numpy, no torch).

Example::

    texts = contrastive_texts()          # positives of every set, then negatives, duplicates dropped
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections import Counter

from alignment_plugins.anchors.contrastive import feelings, languages, properties, register, syntax, topics, verbs
from alignment_plugins.anchors.contrastive.base import MAX_WORDS, MIN_WORDS, PAIRS, VERSION, ContrastiveSet

__all__ = [
    "MAX_WORDS",
    "MIN_WORDS",
    "PAIRS",
    "VERSION",
    "ContrastiveSet",
    "contrastive_anchors",
    "contrastive_hash",
    "contrastive_texts",
    "get_contrastive_set",
    "kinds",
]


@functools.cache
def contrastive_anchors() -> tuple[ContrastiveSet, ...]:
    """Every contrastive-anchor set, in a fixed order (topics, properties, emotions, verbs, syntax, register,
    languages)."""
    built = [s for module in (topics, properties, feelings, verbs, syntax, register, languages) for s in module.sets()]
    duplicated = [name for name, n in Counter(s.name for s in built).items() if n > 1]
    if duplicated:
        raise RuntimeError(f"duplicate contrastive set names: {duplicated}")
    return tuple(built)


def contrastive_texts() -> list[str]:
    """All positive texts of every set, then all negative texts, in set and pair order, each text once."""
    sets = contrastive_anchors()
    ordered = [p.positive for s in sets for p in s.pairs] + [p.negative for s in sets for p in s.pairs]
    return list(dict.fromkeys(ordered))


def contrastive_hash() -> str:
    """sha256 of the canonical JSON of every set's name, kind and pairs (identifies the collection)."""
    blob = json.dumps([{"name": s.name, "kind": s.kind, "pairs": [[p.positive, p.negative] for p in s.pairs]}
                       for s in contrastive_anchors()], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


def get_contrastive_set(name: str) -> ContrastiveSet:
    """The contrastive set called `name` (KeyError listing the known names otherwise)."""
    for item in contrastive_anchors():
        if item.name == name:
            return item
    raise KeyError(f"unknown contrastive set {name!r}; known: {', '.join(s.name for s in contrastive_anchors())}")


def kinds() -> dict[str, int]:
    """Number of contrastive sets per kind, kinds sorted by name."""
    return dict(sorted(Counter(s.kind for s in contrastive_anchors()).items()))
