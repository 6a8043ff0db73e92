"""Token-level anchors: offsets matched across tokenizer styles, specials and position 0 excluded, streamed stats."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from alignment_plugins.anchors import load_builtin
from alignment_plugins.extraction import MAX_LENGTH, _token_lengths, extract_tokens
from alignment_plugins.models import load_model
from alignment_plugins.solvers import CrossStats
from alignment_plugins.token_pairs import match_token_ends, token_ends, token_pair_stats
from alignment_plugins.trainer import WMatrixTrainer

TEXT = "The cats sleep."
# Byte-level BPE (offsets trimmed of the leading space by the tokenizer): The | cats | sle | ep | .
BPE = np.array([(0, 3), (4, 8), (9, 12), (12, 14), (14, 15)])
# SentencePiece with BOS: <bos> | ▁The | ▁ca | ts | ▁sleep | .   (pieces carry their leading space)
SPM = np.array([(0, 0), (0, 3), (3, 6), (6, 8), (8, 14), (14, 15)])
# WordPiece with [CLS]/[SEP]: [CLS] | the | cat | ##s | sleep | . | [SEP]
WORDPIECE = np.array([(0, 0), (0, 3), (4, 7), (7, 8), (9, 14), (14, 15), (0, 0)])


def test_token_ends_trim_whitespace_and_skip_empty_spans() -> None:
    assert token_ends(TEXT, SPM).tolist() == [-1, 3, 6, 8, 14, 15]
    assert token_ends("a  b", np.array([(0, 1), (1, 4)])).tolist() == [1, 4]
    assert token_ends("a ", np.array([(1, 2)])).tolist() == [-1]


def test_bpe_vs_sentencepiece_known_answer() -> None:
    s, t = match_token_ends(TEXT, BPE, SPM)
    # common ends: 3 ("The": BPE position 0 is the sink -> excluded), 8 ("cats"), 14 ("sleep"), 15 (".")
    assert s.tolist() == [1, 3, 4]
    assert t.tolist() == [3, 4, 5]


def test_sentencepiece_vs_wordpiece_known_answer() -> None:
    s, t = match_token_ends(TEXT, SPM, WORDPIECE)
    # ends 3, 8, 14, 15 on both; specials (empty spans) and position 0 of each never match
    assert s.tolist() == [1, 3, 4, 5]
    assert t.tolist() == [1, 3, 4, 5]


def test_multi_token_character_uses_the_last_token() -> None:
    text = "é!"
    byte_pieces = np.array([(0, 0), (0, 1), (0, 1), (1, 2)])  # BOS, two byte tokens of "é", "!"
    whole = np.array([(0, 0), (0, 1), (1, 2)])
    s, t = match_token_ends(text, byte_pieces, whole)
    assert s.tolist() == [2, 3] and t.tolist() == [1, 2]


def test_no_common_ends_gives_empty_pairs() -> None:
    s, t = match_token_ends("abcd", np.array([(0, 0), (0, 2), (2, 4)]), np.array([(0, 1), (1, 3)]))
    assert s.size == 0 and t.size == 0


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return load_builtin().sample(24, seed=3).texts


def test_stats_equal_a_batch_fit_of_the_matched_states(
    tiny_model: Callable[[str], Path], texts: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALIGNMENT_CACHE_DIR", str(tmp_path))
    source, target = load_model(str(tiny_model("llama"))), load_model(str(tiny_model("bert")))
    pairs = [(1, 2), (3, 3)]
    stats, count = token_pair_stats(source, target, texts, pairs, batch_size=5, cache=True)
    s_tok = extract_tokens(source, texts, [1, 3])
    t_tok = extract_tokens(target, texts, [2, 3])
    xs: dict[int, list[np.ndarray]] = {1: [], 3: []}
    ys: dict[int, list[np.ndarray]] = {2: [], 3: []}
    for k, text in enumerate(texts):
        si, tj = match_token_ends(text, s_tok[1][k].offsets, t_tok[2][k].offsets)
        assert si.min() > 0 and tj.min() > 0  # position 0 and [CLS] never paired
        for layer in xs:
            xs[layer].append(s_tok[layer][k].states[si])
        for layer in ys:
            ys[layer].append(t_tok[layer][k].states[tj])
    for i, j in pairs:
        batch = CrossStats.from_arrays_xy(np.concatenate(xs[i]), np.concatenate(ys[j]))
        assert stats[(i, j)].n == batch.n == count
        np.testing.assert_allclose(stats[(i, j)].cov_xy(), batch.cov_xy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(stats[(i, j)].mean_y, batch.mean_y, rtol=1e-6, atol=1e-7)
    assert count > len(texts) * 3  # many pairs per text
    cached, again = token_pair_stats(source, target, texts, pairs, cache=True)
    assert again == count
    np.testing.assert_array_equal(cached[(1, 2)].cov_xx(), stats[(1, 2)].cov_xx())
    # The reverse direction reads the same cached pairs, swapped, without another forward pass.
    monkeypatch.setattr("alignment_plugins.token_pairs.token_states", _no_forward)
    back, back_count = token_pair_stats(target, source, texts, [(2, 1)], cache=True)
    assert back_count == count
    np.testing.assert_allclose(back[(2, 1)].cov_xy(), stats[(1, 2)].cov_xy().T, rtol=1e-12)


def test_token_pass_batches_texts_of_similar_length(
    tiny_model: Callable[[str], Path], texts: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each forward batch holds texts of neighbouring lengths (little padding), and every text runs exactly once."""
    monkeypatch.setenv("ALIGNMENT_CACHE_DIR", str(tmp_path))
    source, target = load_model(str(tiny_model("llama"))), load_model(str(tiny_model("bert")))
    seen: list[list[str]] = []
    real = token_pair_stats.__globals__["token_states"]

    def recording(model: object, chunk: list[str], *args: object, **kwargs: object) -> object:
        if model is source:
            seen.append(list(chunk))
        return real(model, chunk, *args, **kwargs)

    monkeypatch.setattr("alignment_plugins.token_pairs.token_states", recording)
    token_pair_stats(source, target, texts, [(1, 2)], batch_size=5, max_batch_tokens=64, cache=False)
    assert sorted(t for chunk in seen for t in chunk) == sorted(texts)
    lengths = [_token_lengths(source, chunk, MAX_LENGTH) for chunk in seen]
    assert all(max(a) <= min(b) for a, b in itertools.pairwise(lengths))
    # at most 5 texts and 64 padded tokens per batch (a longer text alone)
    assert all(len(chunk) <= 5 and (len(chunk) == 1 or len(chunk) * max(chunk) <= 64) for chunk in lengths)
    assert any(len(chunk) < 5 for chunk in lengths[:-1])


def _no_forward(*args: object, **kwargs: object) -> None:
    raise AssertionError("a forward pass ran although the statistics were cached")


def test_trainer_pairing_modes(tiny_model: Callable[[str], Path], tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIGNMENT_CACHE_DIR", str(tmp_path))
    anchors = load_builtin().sample(80, seed=2)
    out = {}
    for pairing in ("mean", "tokens", "both"):
        trainer = WMatrixTrainer(str(tiny_model("llama")), str(tiny_model("qwen2")), anchors=anchors, seed=1)
        wm = trainer.configure(layers=[1, 2], pairing=pairing).train(validation_split=0.15, test_split=0.15)
        out[pairing] = wm
        assert wm.anchors["pairing"] == pairing
    counts = out["mean"].anchors["counts"]
    assert out["mean"].anchors["token_pairs"] == 0
    assert out["tokens"].anchors["token_pairs"] > counts["train"]
    key = next(iter(out["mean"].maps))
    assert not np.allclose(out["mean"].maps[key].weight, out["tokens"].maps[key].weight)
    with pytest.raises(ValueError, match="pairing must be one of"):
        WMatrixTrainer("a", "b").configure(pairing="words")


def test_choice_never_returns_an_embedding_layer_when_a_deeper_one_transfers_better() -> None:
    """Planted: layer 0 is where retrieval is trivial; concept directions only survive the deeper map."""
    from alignment_plugins.concepts import transfer_cosines
    from alignment_plugins.solvers import LinearMap
    from alignment_plugins.trainer import choose_pair

    rng = np.random.default_rng(0)
    d = 12
    planted = rng.normal(size=(d, d))

    def linear(weight: np.ndarray) -> LinearMap:
        ones, zeros = np.ones(d), np.zeros(d)
        return LinearMap(method="ridge", weight=weight, inverse_weight=np.linalg.pinv(weight), mean_x=zeros,
                         scale_x=ones, mean_y=zeros, scale_y=ones, hyperparams={})

    maps = {(0, 0): linear(rng.normal(size=(d, d))), (2, 3): linear(planted), (3, 3): linear(rng.normal(size=(d, d)))}
    src = {f"c{k}": {layer: rng.normal(size=d) for layer in (0, 2, 3)} for k in range(6)}
    tgt = {name: {0: rng.normal(size=d), 3: planted @ dirs[2]} for name, dirs in src.items()}
    scores = {pair: float(np.mean(list(row.values()))) for pair, row in transfer_cosines(maps, src, tgt).items()}
    assert scores[(2, 3)] == pytest.approx(1.0)
    assert choose_pair(scores) == (2, 3)
    # Even when the embedding pair scores best, it is not the recommendation while a deeper pair exists.
    assert choose_pair({(0, 0): 0.99, (0, 2): 0.95, (1, 1): 0.9, (2, 2): 0.3, (3, 2): float("nan")}) == (2, 2)
    assert choose_pair({(0, 0): 0.5, (1, 1): 0.1}) == (1, 1)  # no pair >= 2 fitted: still never the embeddings
    assert choose_pair({(0, 0): 0.5, (0, 1): float("nan")}) == (0, 0)
