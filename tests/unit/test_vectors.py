"""Capability vectors: extraction methods with planted answers, transfer through a W-Matrix, steering, scorers."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tiny_models import HIDDEN, LAYERS  # noqa: E402

from alignment_plugins import models, vectors  # noqa: E402
from alignment_plugins.capabilities import CAPABILITIES, Capability, ContrastivePair, get_capability  # noqa: E402
from alignment_plugins.solvers.base import LinearMap  # noqa: E402
from alignment_plugins.types import LoadedModel  # noqa: E402
from alignment_plugins.wmatrix import WMatrix  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ------------------------------------------------------------------------------------------- reduction methods
def _planted(rng: np.random.Generator, n: int = 200, d: int = 16, shift: float = 3.0):
    direction = rng.normal(size=d)
    direction /= np.linalg.norm(direction)
    base = rng.normal(size=(n, d))
    pos = base + shift * direction + 0.1 * rng.normal(size=(n, d))
    neg = base + 0.1 * rng.normal(size=(n, d))
    return direction, pos, neg


def test_caa_is_the_difference_of_means() -> None:
    rng = np.random.default_rng(0)
    pos, neg = rng.normal(size=(30, 5)), rng.normal(size=(30, 5))
    np.testing.assert_allclose(vectors.caa_direction(pos, neg), pos.mean(0) - neg.mean(0))


@pytest.mark.parametrize("method", ["caa", "pca", "probe"])
def test_every_method_recovers_a_planted_direction(method: str) -> None:
    direction, pos, neg = _planted(np.random.default_rng(1))
    v = {"caa": vectors.caa_direction, "pca": vectors.pca_direction, "probe": vectors.probe_direction}[method](pos, neg)
    assert vectors.cosine(v, direction) > 0.95
    # caa and pca estimate the shift itself (norm ≈ 3); the probe is rescaled to the CAA norm
    assert np.linalg.norm(v) == pytest.approx(3.0, rel=0.1)


def test_pca_sign_follows_the_mean_difference() -> None:
    direction, pos, neg = _planted(np.random.default_rng(2))
    assert vectors.cosine(vectors.pca_direction(neg, pos), direction) < -0.95


def test_cosine_in_standardized_space_discounts_a_loud_dimension() -> None:
    a, b = np.array([100.0, 1.0, 0.0]), np.array([100.0, 0.0, 1.0])
    assert vectors.cosine(a, b) > 0.99
    assert vectors.cosine(a, b, scale=np.array([100.0, 1.0, 1.0])) == pytest.approx(1 / 2)


# --------------------------------------------------------------------------------------------------- extraction
def test_extract_vector_on_a_tiny_model(llama: LoadedModel) -> None:
    cap = get_capability("sentiment")
    v = vectors.extract_vector(llama, cap, layer=2, method="caa")
    assert v.vector.shape == (HIDDEN,) and v.vector.dtype == np.float32 and np.isfinite(v.vector).all()
    assert v.layer == 2 and v.model == llama.name and v.capability == "sentiment" and v.pooling == "mean"
    assert v.data_hash == cap.data_hash and v.extra["pairs"] == len(cap.pairs)
    pos, neg = vectors.contrastive_states(llama, cap.pairs, [2])[2]
    np.testing.assert_allclose(v.vector, (pos.astype(np.float64) - neg).mean(0), rtol=1e-5, atol=1e-6)


def test_extract_vector_rejects_bad_method_and_pooling(llama: LoadedModel) -> None:
    pairs = [ContrastivePair("good day", "bad day")]
    with pytest.raises(ValueError, match="unknown extraction method"):
        vectors.extract_vector(llama, pairs, 1, method="ica")
    with pytest.raises(ValueError, match="pooling"):
        vectors.contrastive_states(llama, pairs, [1], pooling="max")
    with pytest.raises(ValueError, match="no contrastive pairs"):
        vectors.contrastive_states(llama, [], [1])


def test_last_token_pooling_reads_the_answer_letter(llama: LoadedModel) -> None:
    cap = get_capability("risk_seeking")
    v = vectors.extract_vector(llama, cap.pairs[:8], layer=1, pooling="last")
    assert v.pooling == "last" and v.extra["token_position"] == "last content token"


# ------------------------------------------------------------------------------------------------------ transfer
def _planted_wmatrix(dx: int, dy: int, rng: np.random.Generator) -> tuple[WMatrix, np.ndarray]:
    """A W-Matrix whose (2, 1) map is y = A x in raw units (scales 2 and 0.5 to exercise de-standardization)."""
    a = rng.normal(size=(dy, dx))
    scale_x, scale_y = np.full(dx, 2.0), np.full(dy, 0.5)
    weight = np.diag(1 / scale_y) @ a @ np.diag(scale_x)  # standardized: ỹ = W x̃
    linear = LinearMap("ridge", weight, np.linalg.pinv(weight), np.zeros(dx), scale_x, np.ones(dy), scale_y)
    wm = WMatrix(source={"name": "src", "hidden_size": dx}, target={"name": "tgt", "hidden_size": dy},
                 maps={(2, 1): linear}, layer_map=[(2, 1)], best_pair=(2, 1), method="ridge")
    return wm, a


def test_transfer_maps_the_linear_part_only_and_reports_both_norms() -> None:
    rng = np.random.default_rng(3)
    wm, a = _planted_wmatrix(6, 4, rng)
    v = vectors.CapabilityVector(vector=rng.normal(size=6).astype(np.float32), layer=2, model="src", method="caa",
                                 capability="sentiment")
    mapped = vectors.transfer_vector(v, wm)  # mean_y = 1 would shift a state; a direction must not move
    np.testing.assert_allclose(mapped.vector, a @ v.vector, rtol=1e-5)
    assert mapped.layer == 1 and mapped.model == "tgt" and mapped.method == "transferred"
    assert mapped.extra["norm_mode"] == "map"
    assert mapped.extra["map_norm"] == pytest.approx(np.linalg.norm(a @ v.vector), rel=1e-5)
    matched = vectors.transfer_vector(v, wm, norm=7.0)
    assert matched.norm == pytest.approx(7.0, rel=1e-5) and matched.extra["norm_mode"] == "matched"
    assert vectors.cosine(matched.vector, mapped.vector) == pytest.approx(1.0)


@pytest.mark.parametrize("bad", [np.full(6, np.nan), np.zeros(5)])
def test_transfer_rejects_bad_vectors(bad: np.ndarray) -> None:
    wm, _ = _planted_wmatrix(6, 4, np.random.default_rng(4))
    with pytest.raises(ValueError):
        vectors.transfer_vector(bad, wm, layer=2)


def test_transfer_rejects_unmapped_layer_and_bad_norm() -> None:
    wm, _ = _planted_wmatrix(6, 4, np.random.default_rng(5))
    with pytest.raises(ValueError, match="no map fitted for source layer 3"):
        vectors.transfer_vector(np.ones(6), wm, layer=3)
    with pytest.raises(ValueError, match="positive number"):
        vectors.transfer_vector(np.ones(6), wm, layer=2, norm=-1.0)


# ------------------------------------------------------------------------------------ steering and measurement
def _ab_capability(llama: LoadedModel) -> tuple[Capability, np.ndarray]:
    """An A/B capability on the tiny model and the planted direction (unembedding of A minus that of B)."""
    prompts = ("The keeper lit the lamp above the", "Snow arrived in December and", "Bees in the clover")
    cap = Capability(name="ab", domain="test", description="", scorer="ab_logprob", pooling="last", pairs=(),
                     prompts=prompts, answers=(("A", "B"),) * len(prompts))
    head = llama.model.get_output_embeddings().weight.detach().numpy()
    a, b = vectors.first_token_id(llama, "A"), vectors.first_token_id(llama, "B")
    return cap, head[a] - head[b]


def test_planted_direction_moves_the_logits_the_expected_way(llama: LoadedModel) -> None:
    cap, planted = _ab_capability(llama)
    base = vectors.capability_scores(llama, cap)
    plus = vectors.capability_scores(llama, cap, layer=LAYERS, vector=planted, coefficient=2.0)
    minus = vectors.capability_scores(llama, cap, layer=LAYERS, vector=planted, coefficient=-2.0)
    assert (plus > base).all() and (minus < base).all()
    effect = vectors.antisymmetric_effect(llama, cap, LAYERS, planted, 2.0)
    np.testing.assert_allclose(effect, plus - minus, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(vectors.capability_scores(llama, cap), base, rtol=0, atol=0)  # hook removed


def test_antisymmetric_effect_cancels_sign_independent_damage(llama: LoadedModel) -> None:
    cap, planted = _ab_capability(llama)
    # a direction orthogonal to the planted one moves the A/B difference (almost) symmetrically: ±c ≈ equal
    rng = np.random.default_rng(6)
    other = rng.normal(size=planted.shape)
    other -= planted * (other @ planted) / (planted @ planted)
    effect_planted = vectors.antisymmetric_effect(llama, cap, LAYERS, planted, 1.0)
    effect_other = vectors.antisymmetric_effect(llama, cap, LAYERS, other / np.linalg.norm(other)
                                                * np.linalg.norm(planted), 1.0)
    assert np.abs(effect_other).mean() < 0.1 * np.abs(effect_planted).mean()


def test_topic_scorer_rises_with_the_topic_direction(llama: LoadedModel) -> None:
    cap = Capability(name="t", domain="test", description="", scorer="topic_logprob", pooling="mean", pairs=(),
                     prompts=("The keeper lit the lamp above the",), words=(("harbour",), ("lamp",)))
    head = llama.model.get_output_embeddings().weight.detach().numpy()
    planted = head[vectors.first_token_id(llama, " harbour")] - head[vectors.first_token_id(llama, " lamp")]
    assert vectors.antisymmetric_effect(llama, cap, LAYERS, planted, 1.0)[0] > 0


def test_generate_is_deterministic_and_steerable(llama: LoadedModel) -> None:
    prompts = ["The keeper lit the lamp", "Snow arrived"]
    first = vectors.generate(llama, prompts, max_new_tokens=4)
    assert first == vectors.generate(llama, prompts, max_new_tokens=4) and len(first) == 2
    head = llama.model.get_output_embeddings().weight.detach().numpy()
    k = vectors.first_token_id(llama, " harbour")
    steered = vectors.generate(llama, prompts, max_new_tokens=4, layer=LAYERS, vector=head[k], coefficient=1e4)
    piece = llama.tokenizer.decode([k]).strip()
    assert piece and all(text.count(piece) >= 3 for text in steered)
    assert llama.tokenizer.padding_side == "right"  # restored for extraction


def test_steer_rejects_bad_vectors(llama: LoadedModel) -> None:
    with pytest.raises(ValueError, match="dimension"):
        vectors.steer(llama, 1, np.ones(HIDDEN + 1), 1.0)
    with pytest.raises(ValueError, match="NaN"):
        vectors.steer(llama, 1, np.full(HIDDEN, np.nan), 1.0)
    with pytest.raises(ValueError, match="coefficient"):
        vectors.steer(llama, 1, np.ones(HIDDEN), float("inf"))


def test_vader_scores_sentiment_of_text() -> None:
    scores = vectors.vader_compound(["What a wonderful, happy day!", "This is awful and I hate it.", "It is a door."])
    assert scores[0] > 0.5 and scores[1] < -0.5 and scores[2] == 0.0


# ------------------------------------------------------------------------------------------------ capability data
@pytest.mark.parametrize("name", CAPABILITIES)
def test_capability_data_is_deterministic_and_held_out(name: str) -> None:
    cap = get_capability(name)
    assert cap.data_hash == get_capability(name).data_hash
    assert len(cap.pairs) >= 80 and len(cap.prompts) >= 40
    texts = {p.positive for p in cap.pairs} | {p.negative for p in cap.pairs}
    assert not any(prompt in texts for prompt in cap.prompts)
    assert all(p.positive != p.negative for p in cap.pairs)


def test_lexicon_rate_counts_words_for_minus_against_per_word() -> None:
    rates = vectors.lexicon_rate(["Le chat est sur la table, and the dog!", "", "Wow!! So good"],
                                 ("le", "la", "est", "!", "wow"), ("the", "and"))
    assert rates[0] == pytest.approx((4 - 2) / 10)  # le est la ! | and the; 9 words and "!"
    assert rates[1] == 0.0
    assert rates[2] == pytest.approx(3 / 5)  # wow ! ! so good: wow and both "!" count


def test_capabilities_cover_kinds_and_half_are_read_on_generated_text() -> None:
    caps = [get_capability(name) for name in CAPABILITIES]
    assert len(caps) >= 6 and len({c.domain for c in caps}) >= 4
    generated = [c for c in caps if c.scorer.endswith("_generation")]
    assert 2 * len(generated) >= len(caps)
    for cap in generated:
        if cap.scorer == "lexicon_generation":
            assert cap.words[0] and cap.words[1] and not set(cap.words[0]) & set(cap.words[1])


def test_french_pairs_are_french_on_the_positive_side() -> None:
    cap = get_capability("french")
    fr, en = cap.words
    for pair in cap.pairs:
        assert vectors.lexicon_rate([pair.positive], fr, en)[0] > 0 > vectors.lexicon_rate([pair.negative], fr, en)[0]


def test_ab_option_order_is_balanced() -> None:
    cap = get_capability("risk_seeking")
    risky_words = ("chance", "start-up", "shortcut", "volatile", "last-minute", "strange", "unmarked", "spinning")
    risky_first = [any(w in q.split("\n(A) ")[1].split("\n")[0] for w in risky_words) for q in cap.prompts]
    assert 0.3 < sum(risky_first) / len(risky_first) < 0.7
    assert all(p.positive.endswith(" risky") and p.negative.endswith(" safe") for p in cap.pairs)


def test_unknown_capability() -> None:
    with pytest.raises(KeyError, match="unknown capability"):
        get_capability("humour")


# ------------------------------------------------------------------------------------------------------------- CLI
def test_cli_extract_then_transfer_vector(tiny_model, tmp_path) -> None:
    from alignment_plugins.__main__ import main
    from alignment_plugins.extraction import extract
    from alignment_plugins.solvers import RidgeSolver
    from alignment_plugins.vector_package import VectorPackage, read_control_vector

    src_path, tgt_path = str(tiny_model("llama")), str(tiny_model("qwen2"))
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"positive": "a happy bright day", "negative": "a sad grey day"}\n'
                     '{"positive": "we loved the garden", "negative": "we hated the garden"}\n')
    out = tmp_path / "v.vpkg"
    assert main(["extract-vector", "--model", src_path, "--layer", "2", "--pairs", str(pairs), "--name", "mood",
                 "--method", "pca", "--out", str(out), "--gguf", str(tmp_path / "v.gguf")]) == 0
    package = VectorPackage.load(out)
    assert package.layers == [2] and package.metadata["capability"] == "mood"
    src, tgt = models.load_model(src_path), models.load_model(tgt_path)
    assert package.metadata["method"] == "pca" and package.metadata["source_model"] == src.name
    assert list(read_control_vector(tmp_path / "v.gguf")[1]) == [2]

    texts = [f"sentence number {k} about the harbour and the lamp" for k in range(60)]
    x, y = extract(src, texts, [2], cache=False)[2], extract(tgt, texts, [1], cache=False)[1]
    wm = WMatrix(source={"name": src.name, "fingerprint": src.fingerprint, "hidden_size": HIDDEN},
                 target={"name": tgt.name, "fingerprint": tgt.fingerprint, "hidden_size": HIDDEN, "num_layers": 3},
                 maps={(2, 1): RidgeSolver(regularization=1.0).fit_arrays(x, y)}, layer_map=[(2, 1)],
                 best_pair=(2, 1), method="ridge")
    wm_path = wm.save(tmp_path / "m.wmatrix")
    moved = tmp_path / "moved.vpkg"
    assert main(["transfer-vector", str(out), "--wmatrix", str(wm_path), "--norm", "3.5", "--out", str(moved)]) == 0
    result = VectorPackage.load(moved)
    assert result.layers == [1] and result.metadata["source_model"] == tgt.name
    assert result.metadata["transfer"]["source_model"] == src.name
    assert np.linalg.norm(result.vector()) == pytest.approx(3.5, rel=1e-5)
    np.testing.assert_allclose(
        result.vector() / 3.5,
        wm.transform(package.vector(), 2, direction=True) / np.linalg.norm(wm.transform(package.vector(), 2,
                                                                                         direction=True)),
        rtol=1e-4, atol=1e-6)


def test_cli_vector_commands_reject_bad_input(tiny_model, tmp_path, capsys) -> None:
    from alignment_plugins.__main__ import main

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"positive": "ok"}\n')
    assert main(["extract-vector", "--model", str(tiny_model("llama")), "--layer", "1", "--pairs", str(bad),
                 "--out", str(tmp_path / "x.vpkg")]) == 2
    assert "'positive' and 'negative' must be non-empty strings" in capsys.readouterr().err
    assert main(["extract-vector", "--model", str(tiny_model("llama")), "--layer", "1",
                 "--out", str(tmp_path / "x.vpkg")]) == 2
    assert "exactly one of --capability" in capsys.readouterr().err
    assert not (tmp_path / "x.vpkg").exists()


def test_next_token_logprobs_read_only_the_last_position_and_match_full_logits(llama: LoadedModel) -> None:
    prompts = ["The keeper lit the lamp above the harbour and", "Snow", "Bees in the clover hum"]
    got = vectors.next_token_logprobs(llama, prompts, batch_size=2)
    for k, text in enumerate(prompts):  # one prompt alone: no padding, every position's logits
        enc = llama.tokenizer([text], return_tensors="pt")
        with torch.inference_mode():
            logits = llama.model(**enc, use_cache=False).logits[0, -1].float()
        np.testing.assert_allclose(got[k], torch.log_softmax(logits, -1).numpy(), rtol=0, atol=1e-4)
    assert got.shape == (3, llama.model.config.vocab_size)


def test_next_token_logprobs_of_a_model_without_logits_to_keep(llama: LoadedModel) -> None:
    """A forward that does not take ``logits_to_keep`` (a plugin's own module) still gets every prompt's last token."""
    import dataclasses

    class PlainForward(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, use_cache=False):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask, use_cache=use_cache)

    prompts = ["The keeper lit the lamp above the harbour and", "Snow"]
    plain = dataclasses.replace(llama, model=PlainForward(llama.model))
    np.testing.assert_allclose(vectors.next_token_logprobs(plain, prompts), vectors.next_token_logprobs(llama, prompts),
                               rtol=0, atol=1e-4)
