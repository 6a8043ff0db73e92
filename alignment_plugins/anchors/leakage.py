"""Leakage checks between anchor texts and the held-out evaluation texts (concepts and capabilities).

Two measures over lower-cased word tokens (``\\w+`` runs, apostrophes kept inside words):

* shared n-grams: word n-grams (n = 8 by default) that occur in both an anchor and an evaluation text;
* resemblance: the Jaccard index of the word trigram sets A (anchor) and B (evaluation text), |A ∩ B| / |A ∪ B|,
  in [0, 1]; a pair at or above ``NEAR_DUPLICATE`` is a near-duplicate (the classic shingling test).

Importing this module imports ``alignment_plugins.concepts`` (numpy, no torch); the anchors loader does not.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

__all__ = ["NEAR_DUPLICATE", "evaluation_texts", "near_duplicates", "shared_ngrams", "word_ngrams"]

NEAR_DUPLICATE = 0.5
_WORD = re.compile(r"\w+(?:'\w+)*")


def word_ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    """The set of lower-cased word n-grams of ``text`` (empty when it has fewer than ``n`` words)."""
    words = _WORD.findall(text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def evaluation_texts() -> list[str]:
    """Every text of the held-out evaluation sets: concept pair texts, capability pairs and prompts (with answers)."""
    from alignment_plugins.capabilities import CAPABILITIES, get_capability
    from alignment_plugins.concepts import all_concepts

    texts = [t for concept in all_concepts() for t in concept.texts]
    for name in CAPABILITIES:
        cap = get_capability(name)
        texts += [t for p in cap.pairs for t in (p.positive, p.negative)]
        texts += list(cap.prompts)
        texts += [prompt + answer for prompt, answers in zip(cap.prompts, cap.answers, strict=False)
                  for answer in answers]
    return texts


def _index(reference: Sequence[str], n: int) -> dict[tuple[str, ...], list[int]]:
    index: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, text in enumerate(reference):
        for gram in word_ngrams(text, n):
            index[gram].append(i)
    return index


def shared_ngrams(texts: Iterable[str], reference: Sequence[str], n: int = 8) -> list[tuple[str, str, str]]:
    """``(text, reference text, shared n-gram)`` for every text that shares a word n-gram with ``reference``."""
    index = _index(reference, n)
    hits = []
    for text in texts:
        for gram in sorted(word_ngrams(text, n)):
            if gram in index:
                hits.append((text, reference[index[gram][0]], " ".join(gram)))
                break
    return hits


def near_duplicates(texts: Iterable[str], reference: Sequence[str],
                    threshold: float = NEAR_DUPLICATE) -> list[tuple[str, str, float]]:
    """``(text, reference text, resemblance)`` for each text whose trigram Jaccard with one is ≥ ``threshold``."""
    grams = [word_ngrams(t, 3) for t in reference]
    index = _index(reference, 3)
    hits = []
    for text in texts:
        mine = word_ngrams(text, 3)
        overlap: dict[int, int] = defaultdict(int)
        for gram in mine:
            for i in index.get(gram, ()):
                overlap[i] += 1
        best = max(((k / (len(mine) + len(grams[i]) - k), i) for i, k in overlap.items()), default=(0.0, -1))
        if best[0] >= threshold:
            hits.append((text, reference[best[1]], best[0]))
    return hits
