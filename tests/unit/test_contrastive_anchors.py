"""Contrastive anchors: counts, determinism, text bounds, uniqueness and no leakage into the evaluation sets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import pytest

from alignment_plugins.anchors import leakage
from alignment_plugins.anchors.contrastive import (
    MAX_WORDS,
    MIN_WORDS,
    PAIRS,
    ContrastiveSet,
    contrastive_anchors,
    contrastive_hash,
    contrastive_texts,
    get_contrastive_set,
    kinds,
)
from alignment_plugins.anchors.contrastive.base import build
from alignment_plugins.capabilities import CAPABILITIES, ContrastivePair
from alignment_plugins.concepts import all_concepts


@pytest.fixture(scope="module")
def sets() -> tuple[ContrastiveSet, ...]:
    return contrastive_anchors()


@pytest.fixture(scope="module")
def evaluation() -> list[str]:
    return leakage.evaluation_texts()


def test_counts_and_kinds(sets: tuple[ContrastiveSet, ...]) -> None:
    assert len(sets) >= 40
    assert len(kinds()) >= 15 and sum(kinds().values()) == len(sets)
    assert all(len(s.pairs) == PAIRS for s in sets)
    assert len({s.name for s in sets}) == len(sets)
    covered = {"topic", "attribute", "emotion", "evaluation", "tense", "aspect", "modality", "negation", "number",
               "person", "politeness", "formality", "certainty", "persona", "register", "language", "quantity",
               "setting", "question"}
    assert covered <= set(kinds())


def test_hash_is_stable_across_builds_and_processes(sets: tuple[ContrastiveSet, ...]) -> None:
    first = contrastive_hash()
    contrastive_anchors.cache_clear()
    rebuilt = contrastive_anchors()
    assert rebuilt is not sets and rebuilt == sets and contrastive_hash() == first
    assert first.startswith("sha256:") and len(first) == 7 + 64
    code = "from alignment_plugins.anchors.contrastive import contrastive_hash; print(contrastive_hash())"
    env = {**os.environ, "PYTHONHASHSEED": "4321"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == first


def test_every_text_is_a_short_sentence(sets: tuple[ContrastiveSet, ...]) -> None:
    for s in sets:
        for text in s.texts:
            assert MIN_WORDS <= len(text.split()) <= MAX_WORDS, (s.name, text)
            assert text == text.strip() and "  " not in text and "{" not in text and "\n" not in text, text
            assert text[0].isupper() or text[0] == '"', text


def test_pairs_are_minimal_and_unique(sets: tuple[ContrastiveSet, ...]) -> None:
    for s in sets:
        assert len(set(s.texts)) == len(s.texts), s.name
        for p in s.pairs:
            assert p.positive != p.negative
            if s.kind != "language" and s.name != "manual":  # translations and paraphrases aside,
                pos, neg = Counter(p.positive.lower().split()), Counter(p.negative.lower().split())
                shared = sum((pos & neg).values())  # the shorter text's words mostly reappear in the longer one
                assert shared >= 0.4 * min(sum(pos.values()), sum(neg.values())), (s.name, p)
    pairs = [(p.positive, p.negative) for s in sets for p in s.pairs]
    assert len(set(pairs)) == len(pairs)
    # across sets only the English side of the language sets repeats
    repeated = {t for t, n in Counter(t for s in sets for t in s.texts).items() if n > 1}
    english = {p.negative for s in sets if s.kind == "language" for p in s.pairs}
    assert repeated == english


def test_texts_are_positives_then_negatives_each_once(sets: tuple[ContrastiveSet, ...]) -> None:
    texts = contrastive_texts()
    assert len(set(texts)) == len(texts)
    assert set(texts) == {t for s in sets for t in s.texts}
    positives = [p.positive for s in sets for p in s.pairs]
    assert texts[: len(positives)] == positives
    assert texts == contrastive_texts()


def test_no_set_is_named_after_an_evaluation_concept_or_capability(sets: tuple[ContrastiveSet, ...]) -> None:
    held = {c.name for c in all_concepts()} | set(CAPABILITIES)
    assert len(held) >= 76
    assert not {s.name for s in sets} & held


def test_no_text_leaks_into_the_evaluation_sets(evaluation: list[str]) -> None:
    assert len(evaluation) > 3_000
    texts = contrastive_texts()
    assert leakage.shared_ngrams(texts, evaluation, n=8) == []
    assert leakage.near_duplicates(texts, evaluation) == []


def test_bad_input_is_refused() -> None:
    ok = ContrastivePair("The first of these two texts is long enough.", "The second of these texts is long enough.")
    short = ContrastivePair("Far too short to count.", "The second of these texts is long enough.")
    with pytest.raises(ValueError, match="words"):
        ContrastiveSet("x", "topic", "A test set.", (ok, short))
    with pytest.raises(ValueError, match="pairs"):
        ContrastiveSet("x", "topic", "A test set.", ())
    with pytest.raises(ValueError, match="kind"):
        ContrastiveSet("x", " ", "A test set.", (ok,))
    with pytest.raises(KeyError, match="unknown contrastive set"):
        get_contrastive_set("weddings")
    with pytest.raises(RuntimeError, match="unused texts"):
        build("tiny", "topic", "A test set.", _FRAMES, {"t": _TOPICS, "n": _NEUTRAL}, taken=_Everything())


class _Everything(set):
    """A `taken` set that holds every text."""

    def __contains__(self, item: object) -> bool:
        return True


_FRAMES = [("I read a note about {t} on the bus home today.", "I read a note about {n} on the bus home today.")]
_TOPICS = [f"topic number {i}" for i in range(200)]
_NEUTRAL = [f"errand number {i}" for i in range(200)]


def test_shared_taken_set_keeps_texts_apart() -> None:
    taken: set[str] = set()
    first = build("first", "topic", "A test set.", _FRAMES, {"t": _TOPICS, "n": _NEUTRAL}, taken=taken)
    second = build("second", "topic", "A test set.", _FRAMES, {"t": _TOPICS, "n": _NEUTRAL}, taken=taken)
    assert len(first.pairs) == len(second.pairs) == PAIRS
    assert not set(first.texts) & set(second.texts)
    assert taken == set(first.texts) | set(second.texts)


def test_import_does_not_load_torch() -> None:
    code = ("import sys; from alignment_plugins.anchors.contrastive import contrastive_texts; contrastive_texts(); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_prints_the_hash_and_writes_every_pair(tmp_path, capsys, sets: tuple[ContrastiveSet, ...]) -> None:
    from alignment_plugins.anchors.contrastive.__main__ import main

    assert main(["--out", str(tmp_path)]) == 0
    rows = [json.loads(line) for line in (tmp_path / "contrastive.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(sets) * PAIRS
    assert rows[0] == {"set": sets[0].name, "kind": sets[0].kind, "positive": sets[0].pairs[0].positive,
                       "negative": sets[0].pairs[0].negative}
    assert contrastive_hash() in capsys.readouterr().out
