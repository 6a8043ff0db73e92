"""Corpus v2: v1 kept and loadable, seven capability domains, bounds, dedupe, no leakage into the evaluation sets."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from alignment_plugins.anchors import (
    CAPABILITY_DOMAINS,
    CORPUS_VERSION,
    DOMAINS,
    PRODUCT_DOMAINS,
    AnchorSet,
    available_versions,
    leakage,
    load_anchors,
    load_builtin,
    v2,
)
from alignment_plugins.anchors.sourcing import norm_key


@pytest.fixture(scope="module")
def corpus() -> AnchorSet:
    return load_builtin("v2")


@pytest.fixture(scope="module")
def old() -> AnchorSet:
    return load_builtin("v1")


@pytest.fixture(scope="module")
def new_texts(corpus: AnchorSet) -> list[str]:
    return corpus.filter(CAPABILITY_DOMAINS).texts


@pytest.fixture(scope="module")
def evaluation() -> list[str]:
    return leakage.evaluation_texts()


def test_versions_and_default() -> None:
    assert available_versions() == ["v1", "v2"]
    assert CORPUS_VERSION == "v2"
    assert load_anchors(None) is load_builtin("v2") and load_anchors("builtin") is load_builtin("v2")
    assert DOMAINS == PRODUCT_DOMAINS + CAPABILITY_DOMAINS and len(set(DOMAINS)) == 12
    assert set(v2.PLAN) == set(CAPABILITY_DOMAINS)


def test_v1_stays_loadable_and_unchanged(old: AnchorSet) -> None:
    assert load_anchors("builtin:v1") is old and old.name == "builtin:v1"
    assert len(old) == 10_536
    assert old.content_hash == v2.V1_CONTENT_HASH
    assert list(old.counts()) == list(PRODUCT_DOMAINS)


def test_v2_keeps_every_v1_text_first_and_in_order(corpus: AnchorSet, old: AnchorSet) -> None:
    assert corpus.anchors[: len(old)] == old.anchors
    assert corpus.filter(PRODUCT_DOMAINS) == old
    assert set(corpus.anchors[len(old):]) == set(corpus.filter(CAPABILITY_DOMAINS).anchors)


def test_v2_counts_bounds_and_dedupe(corpus: AnchorSet) -> None:
    counts = corpus.counts()
    assert len(corpus) >= 14_000 and sum(counts.values()) == len(corpus)
    assert all(500 <= counts[d] <= 700 for d in CAPABILITY_DOMAINS), counts
    assert all(30 <= len(t) <= 400 for t in corpus.texts)
    keys = [norm_key(t) for t in corpus.texts]
    assert len(set(keys)) == len(keys)
    assert all("\n" not in a.text for a in corpus if a.domain != "code")


def test_new_domains_have_their_kind_of_text(corpus: AnchorSet) -> None:
    dialogue = corpus.filter("dialogue").texts
    assert sum(len(re.findall(r"(?:^|\s)[A-Z][\w-]*: ", t)) >= 2 for t in dialogue) / len(dialogue) > 0.9
    emotion = corpus.filter("emotion").texts
    assert sum(bool(re.search(r"\bI(?:'m| am| feel| felt|'ve been)\b", t)) for t in emotion) / len(emotion) > 0.8
    registers = {a.source.split()[0] for a in corpus.filter("style")}
    assert {f"generated:style-{r}" for r in ("formal", "informal", "polite", "rude", "archaic", "childlike")} \
        <= registers
    multilingual = corpus.filter("multilingual")
    pattern = re.compile(r"/locale/([^/]+)/|/datasets/([a-z]{2})/|jokes_([a-z]{2})\.py")
    locales = set()
    for anchor in multilingual:
        m = pattern.search(anchor.source)
        if m:
            locales.add(next(g for g in m.groups() if g).split("_")[0])
    assert {"fr", "es", "de", "it", "pt", "nl"} <= locales and len(locales) >= 40, sorted(locales)
    english = re.compile(r"\b(the|and|is|you|with|this)\b")
    assert sum(len(english.findall(t)) >= 2 for t in multilingual.texts) / len(multilingual) < 0.05


def test_no_anchor_shares_an_8_gram_with_the_evaluation_sets(corpus: AnchorSet, evaluation: list[str]) -> None:
    assert len(evaluation) > 3_000  # 76 concepts x 2 x 32 pairs plus the capabilities' pairs and prompts
    assert leakage.shared_ngrams(corpus.texts, evaluation, n=8) == []


def test_new_texts_are_not_near_duplicates_of_evaluation_texts(new_texts: list[str], evaluation: list[str]) -> None:
    assert leakage.near_duplicates(new_texts, evaluation) == []


def test_leakage_checks_find_planted_copies() -> None:
    reference = ["When the letter arrived, I sat down at the kitchen table and read it twice."]
    copied = "Yesterday, when the letter arrived, I sat down at the kitchen table and cried."
    hits = leakage.shared_ngrams([copied, "Nothing in common with it at all here, none."], reference)
    assert [(h[0], h[1]) for h in hits] == [(copied, reference[0])]
    assert len(hits[0][2].split()) == 8 and hits[0][2] in "when the letter arrived i sat down at the kitchen table"
    near = "When the letter arrived, I sat down at the kitchen table and read it again."
    hits = leakage.near_duplicates([near, "A completely different sentence about boats and the sea."], reference)
    assert [h[0] for h in hits] == [near] and 0.5 <= hits[0][2] < 1.0
    assert leakage.word_ngrams("One two three", 3) == {("one", "two", "three")}
    assert leakage.word_ngrams("One two", 3) == set()


def test_sampling_is_deterministic_and_stratified_over_all_domains(corpus: AnchorSet) -> None:
    sub = corpus.sample(1_200, seed=7)
    assert sub == corpus.sample(1_200, seed=7) and sub != corpus.sample(1_200, seed=8)
    assert list(sub.counts()) == list(DOMAINS)
    for domain, n in corpus.counts().items():
        assert abs(sub.counts()[domain] - 1_200 * n / len(corpus)) <= 1, domain
    small = corpus.sample(len(DOMAINS) * 3, seed=0)
    assert set(small.domains) == set(DOMAINS)


def test_split_covers_every_domain(corpus: AnchorSet) -> None:
    train, val = corpus.sample(2_000, seed=1).split(0.2, seed=1)
    assert set(val.domains) == set(train.domains) == set(DOMAINS)
    assert not set(train.texts) & set(val.texts) and len(train) + len(val) == 2_000
    counts = Counter(val.domains)
    assert all(counts[d] >= 0.2 * n - 1 for d, n in corpus.sample(2_000, seed=1).counts().items())
