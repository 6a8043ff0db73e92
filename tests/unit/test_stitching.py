"""Known-answer tests of alignment_plugins.stitching on tiny models and synthetic data."""

from __future__ import annotations

import copy
import dataclasses
import json
import math

import numpy as np
import pytest

from alignment_plugins.solvers.base import LinearMap
from alignment_plugins.stitching import (
    attention_fidelity,
    certificate_metrics,
    gradient_stability,
    head_mapping,
    jensen_shannon,
    match_heads,
    stitched_forward,
    stitched_loss,
    task_transfer_accuracy,
)
from alignment_plugins.wmatrix import WMatrix

TEXTS = [
    "The lighthouse keeper climbed the spiral stairs every evening at dusk.",
    "Fishing boats came home slowly across the grey water.",
    "She answered with news of the orchard: the early frost, the bees in the clover.",
    "In spring the village held a market in the square, with bread, cheese and honey.",
    "The baker opened her shop before sunrise.",
    "Students walked to school along the river, counting herons and ducks.",
]


def _identity(d: int) -> LinearMap:
    return LinearMap("identity", np.eye(d), np.eye(d), np.zeros(d), np.ones(d), np.zeros(d), np.ones(d))


def _wmatrix(linear: LinearMap, pair: tuple[int, int], dx: int, dy: int) -> WMatrix:
    return WMatrix(source={"name": "src", "hidden_size": dx}, target={"name": "tgt", "hidden_size": dy},
                   maps={pair: linear}, layer_map=[pair], best_pair=pair, method=linear.method)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def trained_llama(tiny_model):
    """The tiny llama trained briefly on the tiny corpus, so its attention and predictions carry structure."""
    import torch
    from tiny_models import CORPUS

    from alignment_plugins.models import load_model

    base = load_model(str(tiny_model("llama")))
    model = copy.deepcopy(base.model)
    enc = base.tokenizer(CORPUS.splitlines()[:8], return_tensors="pt", padding=True)
    labels = enc["input_ids"].masked_fill(enc["attention_mask"] == 0, -100)
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-2)
    model.train()
    for _ in range(40):
        optimizer.zero_grad()
        model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], labels=labels).loss.backward()
        optimizer.step()
    model.eval()
    return dataclasses.replace(base, model=model, name="llama-trained")


# ---------------------------------------------------------------------------------------------------- assignment


def test_match_heads_known_answers() -> None:
    # Greedy (take 0.9 first) would pair 0->0 and 1->1 (total 1.0); the optimum is 0->1, 1->0 (total 1.6).
    sim = np.array([[0.9, 0.8], [0.8, 0.1]])
    pairs = match_heads(sim)
    assert [(p["source_head"], p["target_head"]) for p in pairs] == [(0, 1), (1, 0)]
    assert [p["similarity"] for p in pairs] == [0.8, 0.8]
    # A planted permutation among noise is recovered exactly, whichever side has more heads.
    rng = np.random.default_rng(0)
    perm = rng.permutation(6)
    planted = rng.uniform(-0.3, 0.3, size=(6, 9))
    planted[np.arange(6), perm] = 1.0
    assert [p["target_head"] for p in match_heads(planted)] == perm.tolist()
    wide = match_heads(planted.T)  # 9 source heads, 6 target heads: 6 pairs, rows ascending
    assert [(p["source_head"], p["target_head"]) for p in wide] == sorted((int(c), r) for r, c in enumerate(perm))
    ties = match_heads(np.ones((4, 4)))  # all ties: still a permutation
    assert sorted(p["target_head"] for p in ties) == [0, 1, 2, 3]
    assert match_heads(np.zeros((0, 3))) == []
    with pytest.raises(ValueError, match="non-finite"):
        match_heads(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="2-D"):
        match_heads(np.ones(3))


def test_jensen_shannon_bounds() -> None:
    p = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    assert np.allclose(jensen_shannon(p, p), 0.0)
    assert np.isclose(jensen_shannon(np.array([1.0, 0.0]), np.array([0.0, 1.0])), 1.0)
    value = float(jensen_shannon(np.array([0.5, 0.5]), np.array([0.9, 0.1])))
    assert 0.0 < value < 1.0


def test_character_offset_alignment() -> None:
    from alignment_plugins.stitching.splice import overlap_weights

    text = "hello world"
    target = np.array([[0, 0], [0, 5], [5, 11]])  # special token, "hello", " world" (leading space trimmed)
    source = np.array([[0, 0], [0, 3], [3, 5], [6, 8], [8, 11]])  # BOS, "hel", "lo", "wo", "rld"
    weights = overlap_weights(text, target, np.array([False, True, True]), source,
                              np.array([False, True, True, True, True]))
    expected = np.array([[0, 0, 0, 0, 0], [0, 0.5, 0.5, 0, 0], [0, 0, 0, 0.5, 0.5]])
    np.testing.assert_allclose(weights, expected)
    # Source position 0 is an attention sink and is never used; a target token covered only by it keeps its state.
    weights = overlap_weights(text, target, np.array([False, True, True]), np.array([[0, 5], [5, 11]]),
                              np.array([False, True]))
    np.testing.assert_allclose(weights, [[0, 0], [0, 0], [0, 1]])


# ---------------------------------------------------------------------------------------------------- task transfer


def _clusters(rng: np.random.Generator, n: int, d: int = 16, k: int = 5) -> tuple[np.ndarray, list[str]]:
    centres = rng.normal(scale=4.0, size=(k, d))
    labels = rng.integers(0, k, size=n)
    return centres[labels] + rng.normal(size=(n, d)), [f"domain{c}" for c in labels]


def test_task_transfer_planted_orthogonal_map() -> None:
    rng = np.random.default_rng(0)
    x, y = _clusters(rng, 300)
    q, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    shift = rng.normal(size=16)
    linear = LinearMap("planted", q, q.T, np.zeros(16), np.ones(16), shift, np.ones(16))
    target = x @ q.T + shift
    result = task_transfer_accuracy(x[:200], y[:200], x[200:], target[200:], y[200:], linear)
    assert result["source_accuracy"] > 0.9
    assert result["relative_accuracy"] == pytest.approx(1.0, abs=1e-9)
    assert result["ci_low"] <= 1.0 <= result["ci_high"]
    assert result["n_test"] == 100 and result["classes"] == [f"domain{c}" for c in range(5)]


def test_task_transfer_fitted_and_shuffled_maps() -> None:
    from alignment_plugins.manager import get_plugin_manager

    rng = np.random.default_rng(1)
    x, y = _clusters(rng, 400)
    mix = rng.normal(size=(24, 16))
    target = x @ mix.T + 0.1 * rng.normal(size=(400, 24))
    ridge = get_plugin_manager().get_solver("ridge")
    fitted = ridge.fit_arrays(x, target)
    good = task_transfer_accuracy(x[:200], y[:200], x[200:], target[200:], y[200:], fitted)
    assert good["relative_accuracy"] > 0.95
    shuffled = ridge.fit_arrays(x, target[rng.permutation(400)])
    bad = task_transfer_accuracy(x[:200], y[:200], x[200:], target[200:], y[200:], shuffled)
    assert bad["transferred_accuracy"] < 0.4  # chance is 0.2 with five balanced classes
    assert bad["relative_accuracy"] < 0.45 and bad["ci_high"] < good["ci_low"]


# ---------------------------------------------------------------------------------------------------- stitching


def test_self_stitch_with_identity_is_exact(trained_llama) -> None:
    model = trained_llama
    d = model.info.hidden_size
    wm = _wmatrix(_identity(d), (1, 1), d, d)
    fidelity = attention_fidelity(model, model, wm, TEXTS)
    assert fidelity["value"] == pytest.approx(1.0, abs=1e-5)
    assert fidelity["target_block"] == 1 and fidelity["n_texts"] == len(TEXTS)
    loss = stitched_loss(model, model, wm, TEXTS)
    assert loss["stitched"] == pytest.approx(loss["native"], abs=1e-5)
    assert loss["ratio"] == pytest.approx(1.0, abs=1e-5)
    assert loss["native"] < math.log(model.info.vocab_size) - 0.5  # the trained model predicts better than uniform
    grads = gradient_stability(model, model, wm, TEXTS)
    assert grads["passed"] and grads["ratio"] == pytest.approx(1.0, abs=1e-4)
    assert grads["stitched_state_grad_norm"] == pytest.approx(grads["native_state_grad_norm"], rel=1e-4)
    heads = head_mapping(model, model, wm, TEXTS)
    assert [(p["source_head"], p["target_head"]) for p in heads["pairs"]] == [(h, h) for h in range(4)]
    assert heads["value"] == pytest.approx(1.0, abs=1e-6)
    out = stitched_forward(model, model, wm, TEXTS[:2])
    assert out.coverage == 1.0 and out.logits is not None
    assert not out.replaced[:, 0].any()


def test_head_mapping_recovers_planted_permutation(trained_llama) -> None:
    import torch

    model = trained_llama
    permuted = dataclasses.replace(model, model=copy.deepcopy(model.model), name="llama-permuted")
    perm = [1, 0, 3, 2]  # swaps query heads inside each key/value group: same function, heads relabelled
    head_dim = model.info.hidden_size // model.info.num_heads
    index = torch.cat([torch.arange(h * head_dim, (h + 1) * head_dim) for h in perm])
    with torch.no_grad():
        for layer in permuted.model.model.layers:
            layer.self_attn.q_proj.weight.copy_(layer.self_attn.q_proj.weight[index])
            layer.self_attn.o_proj.weight.copy_(layer.self_attn.o_proj.weight[:, index])
    heads = head_mapping(model, permuted, (1, 1), TEXTS)
    assert [p["target_head"] for p in heads["pairs"]] == [perm.index(h) for h in range(4)]
    assert heads["value"] == pytest.approx(1.0, abs=1e-5)
    # The stitch with an identity map still reproduces the permuted model's loss exactly (same function).
    loss = stitched_loss(model, permuted, ((1, 1), _identity(model.info.hidden_size)), TEXTS[:3])
    assert loss["difference"] == pytest.approx(0.0, abs=1e-4)


def test_stitch_at_embeddings_and_last_layer(trained_llama) -> None:
    model = trained_llama
    d = model.info.hidden_size
    first = _wmatrix(_identity(d), (0, 0), d, d)
    assert attention_fidelity(model, model, first, TEXTS[:3])["value"] == pytest.approx(1.0, abs=1e-5)
    last = _wmatrix(_identity(d), (3, 3), d, d)
    loss = stitched_loss(model, model, last, TEXTS[:3])
    assert loss["difference"] == pytest.approx(0.0, abs=1e-5)
    with pytest.raises(ValueError, match="no block reads it"):
        attention_fidelity(model, model, last, TEXTS[:3])


def test_destroying_map_lowers_fidelity_and_raises_loss(trained_llama) -> None:
    from alignment_plugins.architectures.hf_residual import pooled_states

    model = trained_llama
    d = model.info.hidden_size
    states = pooled_states(model, TEXTS, [1], "mean")[1].astype(np.float64)
    mean, scale = states.mean(axis=0), states.std(axis=0) + 1e-3
    # Every token gets the mean state: all token information is destroyed, the scale is kept.
    constant = LinearMap("zero", np.zeros((d, d)), np.zeros((d, d)), mean, scale, mean, scale)
    rng = np.random.default_rng(0)
    random = LinearMap("random", rng.normal(size=(d, d)) / np.sqrt(d), np.eye(d), mean, scale, mean, scale)
    identity = attention_fidelity(model, model, ((1, 1), _identity(d)), TEXTS)["value"]
    for linear in (constant, random):
        fidelity = attention_fidelity(model, model, ((1, 1), linear), TEXTS)
        assert 0.0 <= fidelity["value"] < identity - 0.01
        loss = stitched_loss(model, model, ((1, 1), linear), TEXTS)
        assert loss["difference"] > 0.1 and loss["ci_low"] > 0.0
        assert loss["ratio"] > 1.0


def test_cross_family_certificate(tiny_model) -> None:
    from tiny_models import CORPUS

    from alignment_plugins.architectures.hf_residual import pooled_states
    from alignment_plugins.manager import get_plugin_manager
    from alignment_plugins.models import load_model

    source = load_model(str(tiny_model("llama")))
    target = load_model(str(tiny_model("qwen2")))
    lines = CORPUS.splitlines()
    xs = pooled_states(source, lines, [2], "mean")[2]
    ys = pooled_states(target, lines, [1], "mean")[1]
    linear = get_plugin_manager().get_solver("ridge", regularization=0.1).fit_arrays(xs, ys)
    wm = _wmatrix(linear, (2, 1), 32, 32)
    labels = ["even" if k % 2 == 0 else "odd" for k in range(len(lines))]
    report = certificate_metrics(source, target, wm, lines, labels=labels, max_texts=8, seed=0)
    json.dumps(report, allow_nan=False)  # JSON-serializable, no NaN
    assert report["pair"] == [2, 1] and report["n_texts"] == 8
    assert set(report) >= {"task_transfer", "attention_fidelity", "stitched_loss", "gradient_stability",
                           "head_mapping"}
    for key in ("task_transfer", "attention_fidelity", "stitched_loss", "gradient_stability", "head_mapping"):
        assert report[key]["space"] and report[key]["definition"]
    assert 0.0 <= report["task_transfer"]["transferred_accuracy"] <= 1.0
    assert report["task_transfer"]["n_test"] == 4
    fid = report["attention_fidelity"]
    assert 0.0 <= fid["ci_low"] <= fid["value"] <= fid["ci_high"] <= 1.0
    loss = report["stitched_loss"]
    assert loss["stitched"] > 0 and loss["native"] > 0 and math.isfinite(loss["ratio"])
    assert loss["ci"]["difference"][0] <= loss["difference"] <= loss["ci"]["difference"][1]
    grads = report["gradient_stability"]
    assert grads["finite"] and grads["stitched_grad_norm"] > 0 and grads["factor"] == 10.0
    heads = report["head_mapping"]
    assert len(heads["pairs"]) == 4 and len({p["target_head"] for p in heads["pairs"]}) == 4
    assert all(-1.0 <= p["similarity"] <= 1.0 for p in heads["pairs"])
    assert 0.5 < report["coverage"] <= 1.0
    # Without labels the task metric is reported as not applicable.
    bare = certificate_metrics(source, target, wm, lines[:3], max_texts=3)
    assert bare["task_transfer"]["value"] is None and bare["task_transfer"]["applicable"] is False


def test_encoder_target_has_no_loss(tiny_model) -> None:
    from alignment_plugins.models import load_model

    source = load_model(str(tiny_model("llama")))
    target = load_model(str(tiny_model("bert")))
    pair = ((1, 1), _identity(32))
    with pytest.raises(ValueError, match="language-model head"):
        stitched_loss(source, target, pair, TEXTS[:2])
    fidelity = attention_fidelity(source, target, pair, TEXTS[:2])
    assert 0.0 <= fidelity["value"] <= 1.0
    report = certificate_metrics(source, target, _wmatrix(pair[1], (1, 1), 32, 32), TEXTS[:3])
    assert report["stitched_loss"]["applicable"] is False and report["gradient_stability"]["value"] is None
    json.dumps(report, allow_nan=False)
