"""Concept benchmark data (sizes, determinism, splits, text hygiene) and scoring (planted maps, tiny-model shapes)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

from alignment_plugins.capabilities import ContrastivePair
from alignment_plugins.concepts import (
    Concept,
    all_concepts,
    concepts,
    get_concept,
    kinds,
    split_half_cosines,
    summarize,
    transfer_cosines,
)
from alignment_plugins.solvers.base import LinearMap


# ------------------------------------------------------------------------------------------------------ data
def test_enough_concepts_kinds_and_pairs() -> None:
    items = all_concepts()
    assert len(items) >= 72
    assert len(kinds()) >= 10
    assert sum(kinds().values()) == len(items)
    assert len({c.name for c in items}) == len(items)
    for c in items:
        assert len(c.pairs) >= 24, c.name
    # the kinds the benchmark is meant to span
    for kind in ("topic", "sentiment", "emotion", "formality", "politeness", "tense", "negation", "number",
                 "person", "persona", "certainty", "question", "domain", "language", "verbosity", "honesty",
                 "refusal"):
        assert kinds().get(kind, 0) >= 1, kind
    assert kinds()["topic"] >= 12 and kinds()["emotion"] >= 4 and kinds()["language"] >= 3


def test_texts_are_clean_minimal_pairs() -> None:
    for c in all_concepts():
        texts = c.texts
        assert len(set(texts)) == len(texts), f"{c.name}: duplicate texts"
        for pair in c.pairs:
            assert pair.positive != pair.negative
            for text in (pair.positive, pair.negative):
                assert 5 <= len(text.split()) <= 40, (c.name, text)
                assert text == text.strip() and "{" not in text and "}" not in text, (c.name, text)


def test_a_concept_direction_is_not_one_word() -> None:
    """Within a concept the words that differ between positive and negative vary from pair to pair."""
    for c in all_concepts():
        diffs = [set(p.positive.split()) ^ set(p.negative.split()) for p in c.pairs]
        changed = Counter(word for diff in diffs for word in diff)
        assert len(changed) >= 6, c.name
        # even without its most frequent changed word, most pairs still differ in other words
        top = changed.most_common(1)[0][0]
        assert sum(1 for diff in diffs if diff - {top}) >= len(diffs) / 2, (c.name, top)


def test_hashes_are_deterministic_across_processes() -> None:
    here = {c.name: c.data_hash for c in all_concepts()}
    assert here == {c.name: c.data_hash for c in all_concepts()}
    code = ("import json; from alignment_plugins.concepts import all_concepts; "
            "print(json.dumps({c.name: [c.data_hash, c.split] for c in all_concepts()}))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    other = json.loads(out.stdout)
    assert {k: v[0] for k, v in other.items()} == here
    assert {k: v[1] for k, v in other.items()} == {c.name: c.split for c in all_concepts()}


def test_data_hash_changes_with_the_pairs() -> None:
    c = get_concept("weddings")
    changed = Concept(c.name, c.kind, c.description, c.pairs[1:], c.split)
    assert changed.data_hash != c.data_hash
    assert c.data_hash.startswith("sha256:") and len(c.data_hash) == 7 + 64


def test_import_does_not_load_torch() -> None:
    code = "import sys, alignment_plugins.concepts as c; c.all_concepts(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_splits_are_a_third_and_stratified_by_kind() -> None:
    items = all_concepts()
    validation, held_out = concepts("validation"), concepts("held_out")
    assert len(validation) + len(held_out) == len(items)
    assert not {c.name for c in validation} & {c.name for c in held_out}
    assert abs(len(validation) - len(items) / 3) <= 1
    per_kind = Counter(c.kind for c in items)
    val_kind = Counter(c.kind for c in validation)
    for kind, n in per_kind.items():
        assert math.floor(n / 3) <= val_kind[kind] <= math.ceil(n / 3), kind
    assert concepts() == items
    with pytest.raises(ValueError, match="split"):
        concepts("test")


def test_concept_rejects_bad_input() -> None:
    pair = ContrastivePair("a b c d e", "f g h i j")
    with pytest.raises(ValueError, match="split"):
        Concept("x", "topic", "", (pair,), "train")
    with pytest.raises(ValueError, match="pairs"):
        Concept("x", "topic", "", (), "held_out")
    with pytest.raises(KeyError, match="unknown concept"):
        get_concept("no-such-concept")


def test_build_writes_every_pair(tmp_path, capsys) -> None:
    from alignment_plugins.concepts.build import main

    assert main(["--out", str(tmp_path)]) == 0
    rows = [json.loads(line) for line in (tmp_path / "concepts.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == sum(len(c.pairs) for c in all_concepts())
    assert {r["concept"] for r in rows} == {c.name for c in all_concepts()}
    assert rows[0] == all_concepts()[0].to_records()[0]
    assert f"{len(all_concepts())} concepts" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------------- scoring
def _map_for(raw: np.ndarray, rng: np.random.Generator) -> LinearMap:
    """A LinearMap whose linear part in raw units is exactly `raw` (dy, dx), with random scales and means."""
    dy, dx = raw.shape
    sx, sy = rng.uniform(0.5, 3.0, dx), rng.uniform(0.5, 3.0, dy)
    weight = raw * sx[None, :] / sy[:, None]  # E = diag(sy) W diag(1/sx) = raw
    return LinearMap("test", weight, np.linalg.pinv(weight), rng.normal(size=dx), sx, rng.normal(size=dy), sy)


def test_transfer_cosines_planted_map_is_one_and_random_map_is_near_zero() -> None:
    rng = np.random.default_rng(0)
    dx, dy, n = 64, 48, 40
    truth = rng.normal(size=(dy, dx))
    source = {f"c{k}": {3: rng.normal(size=dx)} for k in range(n)}
    target = {name: {5: truth @ dirs[3]} for name, dirs in source.items()}
    planted, random_map = _map_for(truth, rng), _map_for(rng.normal(size=(dy, dx)), rng)
    scores = transfer_cosines({(3, 5): planted}, source, target)
    assert set(scores) == {(3, 5)}
    assert all(abs(v - 1.0) < 1e-9 for v in scores[(3, 5)].values())
    noise = np.array(list(transfer_cosines({(3, 5): random_map}, source, target)[(3, 5)].values()))
    assert abs(noise.mean()) < 0.1 and np.abs(noise).mean() < 0.25


def test_transfer_cosines_compare_in_target_standardized_space() -> None:
    """Noise on a dimension with a huge target scale barely matters once divided by s_y."""
    rng = np.random.default_rng(1)
    dx, dy = 16, 12
    truth = rng.normal(size=(dy, dx))
    linear = _map_for(truth, rng)
    linear.scale_y[0] = 1000.0
    linear.weight = truth * linear.scale_x[None, :] / linear.scale_y[:, None]
    v = rng.normal(size=dx)
    mapped = truth @ v
    native = mapped.copy()
    native[0] += 20.0 * np.linalg.norm(mapped)
    score = transfer_cosines({(0, 0): linear}, {"c": {0: v}}, {"c": {0: native}})[(0, 0)]["c"]
    raw = float(mapped @ native / np.linalg.norm(mapped) / np.linalg.norm(native))
    assert raw < 0.2 and score > 0.99
    # it is the linear part only: the map's means play no role
    shifted = LinearMap("test", linear.weight, linear.inverse_weight, linear.mean_x + 5, linear.scale_x,
                        linear.mean_y - 3, linear.scale_y)
    assert transfer_cosines({(0, 0): shifted}, {"c": {0: v}}, {"c": {0: native}})[(0, 0)]["c"] == pytest.approx(score)


def test_transfer_cosines_reject_mismatched_input() -> None:
    rng = np.random.default_rng(2)
    linear = _map_for(rng.normal(size=(4, 6)), rng)
    src = {"a": {1: rng.normal(size=6)}}
    with pytest.raises(ValueError, match="different concepts"):
        transfer_cosines({(1, 2): linear}, src, {"b": {2: rng.normal(size=4)}})
    with pytest.raises(ValueError, match="layer"):
        transfer_cosines({(1, 2): linear}, src, {"a": {3: rng.normal(size=4)}})
    with pytest.raises(ValueError, match="dimension"):
        transfer_cosines({(1, 2): linear}, src, {"a": {2: rng.normal(size=5)}})
    with pytest.raises(ValueError, match="no maps"):
        transfer_cosines({}, src, src)


def test_summarize_per_pair_and_kind() -> None:
    pair = ContrastivePair("one two three four five", "six seven eight nine ten")
    items = [Concept("a", "topic", "", (pair,), "held_out"), Concept("b", "topic", "", (pair,), "held_out"),
             Concept("c", "tense", "", (pair,), "held_out")]
    cos = {(1, 2): {"a": 1.0, "b": 0.5, "c": 0.0, "other": -1.0}, (2, 3): {"a": 0.2, "b": float("nan"), "c": 0.4}}
    out = summarize(cos, items)
    assert out[(1, 2)]["mean"] == pytest.approx(0.5) and out[(1, 2)]["median"] == pytest.approx(0.5)
    assert out[(1, 2)]["count"] == 3
    assert out[(1, 2)]["kinds"]["topic"] == {"mean": 0.75, "median": 0.75, "count": 2}
    assert out[(2, 3)]["mean"] == pytest.approx(0.3) and out[(2, 3)]["count"] == 2
    assert out[(2, 3)]["kinds"]["topic"]["count"] == 1
    with pytest.raises(ValueError, match="no cosine"):
        summarize({(1, 2): {"a": 1.0}}, items)


def test_split_half_cosines_planted() -> None:
    rng = np.random.default_rng(3)
    d, n = 20, 32
    direction = rng.normal(size=d)
    neg = rng.normal(size=(n, d))
    pos = neg + direction + 0.05 * rng.normal(size=(n, d))
    noise = rng.normal(size=(n, d)), rng.normal(size=(n, d))
    out = split_half_cosines({"real": {4: (pos, neg)}, "noise": {4: noise}})
    assert out["real"][4] > 0.99
    assert abs(out["noise"][4]) < 0.6
    scaled = split_half_cosines({"real": {4: (pos, neg)}}, scale={4: np.full(d, 2.0)})
    assert scaled["real"][4] == pytest.approx(out["real"][4])


# ------------------------------------------------------------------------------------------- tiny real model
def test_native_directions_on_a_tiny_model(tiny_model) -> None:
    torch = pytest.importorskip("torch")
    from tiny_models import HIDDEN, LAYERS

    from alignment_plugins import models
    from alignment_plugins.concepts import concept_states, native_directions
    from alignment_plugins.vectors import caa_direction, contrastive_states

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = models.load_model(str(tiny_model("llama")))
        small = [Concept(c.name, c.kind, c.description, c.pairs[:6], c.split)
                 for c in (get_concept("weddings"), get_concept("past_tense"), get_concept("french"))]
        layers = [0, 1, LAYERS]
        dirs = native_directions(model, small, layers)
        assert set(dirs) == {"weddings", "past_tense", "french"}
        for by_layer in dirs.values():
            assert sorted(by_layer) == layers
            for v in by_layer.values():
                assert v.shape == (HIDDEN,) and v.dtype == np.float64 and np.isfinite(v).all()
                assert np.linalg.norm(v) > 0
        # the per-concept slices line up with the texts: an independent extraction of one concept agrees
        ref = contrastive_states(model, small[1].pairs, layers)
        for layer in layers:
            np.testing.assert_allclose(dirs["past_tense"][layer], caa_direction(*ref[layer]), rtol=1e-4, atol=1e-5)
        # the second call reads the activation cache and gives the same directions
        again = native_directions(model, small, layers)
        for name in dirs:
            for layer in layers:
                np.testing.assert_array_equal(again[name][layer], dirs[name][layer])
        states = concept_states(model, small, [-1])
        assert sorted(states["french"]) == [LAYERS]
        assert states["french"][LAYERS][0].shape == (6, HIDDEN)
        with pytest.raises(ValueError, match="no concepts"):
            native_directions(model, [], layers)
    finally:
        torch.set_num_threads(previous)
