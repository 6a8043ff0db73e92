"""Steering settings measured in shared batches (alignment_plugins.steering_sweep) against one setting at a time."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tiny_models import HIDDEN, LAYERS  # noqa: E402

from alignment_plugins import steering_sweep, vectors  # noqa: E402
from alignment_plugins.capabilities import Capability  # noqa: E402
from alignment_plugins.types import LoadedModel  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROMPTS = ("The keeper lit the lamp above the", "Snow arrived in December and", "Bees")


def _lexicon_capability(llama: LoadedModel) -> tuple[Capability, np.ndarray, np.ndarray]:
    """A word-rate capability whose "for" word is the decoded piece a planted unembedding direction promotes."""
    head = llama.model.get_output_embeddings().weight.detach().numpy()
    k, j = vectors.first_token_id(llama, " harbour"), vectors.first_token_id(llama, " lamp")
    words = ((llama.tokenizer.decode([k]).strip(),), (llama.tokenizer.decode([j]).strip(),))
    cap = Capability(name="lex", domain="test", description="", scorer="lexicon_generation", pooling="mean",
                     pairs=(), prompts=PROMPTS, words=words)
    return cap, head[k], head[j]


def _settings(towards: np.ndarray, away: np.ndarray) -> list[tuple[np.ndarray, float]]:
    rng = np.random.default_rng(3)
    return [(towards, 0.0), (towards, 300.0), (away, 300.0), (rng.normal(size=HIDDEN) * 10, 2.0), (towards, -5e3)]


@pytest.mark.parametrize("batch_rows", [1, 4, 7, 160])
def test_shared_batches_generate_what_one_setting_at_a_time_generates(llama: LoadedModel, batch_rows: int) -> None:
    _, towards, away = _lexicon_capability(llama)
    settings = _settings(towards, away)
    texts = steering_sweep.steered_generations(llama, PROMPTS, LAYERS, settings, max_new_tokens=5,
                                               batch_rows=batch_rows)
    for (vector, c), got in zip(settings, texts, strict=True):
        assert got == vectors.generate(llama, PROMPTS, max_new_tokens=5, layer=LAYERS, vector=vector, coefficient=c)
    assert llama.tokenizer.padding_side == "right"  # restored for extraction
    # the settings differ (else the equality above would prove little) and the hooks are gone afterwards
    assert len({tuple(t) for t in texts}) >= 3
    assert vectors.generate(llama, PROMPTS, max_new_tokens=5) == texts[0]


def test_antisymmetric_effects_equal_the_per_setting_function(llama: LoadedModel) -> None:
    cap, towards, away = _lexicon_capability(llama)
    settings = [(towards, 300.0), (away, 300.0)]
    got = steering_sweep.antisymmetric_effects(llama, cap, LAYERS, settings, [0, 1, 2], max_new_tokens=5,
                                               batch_rows=4)
    want = np.stack([vectors.antisymmetric_effect(llama, cap, LAYERS, v, c, [0, 1, 2], max_new_tokens=5)
                     for v, c in settings])
    np.testing.assert_array_equal(got, want)
    assert got.shape == (2, 3) and got[0].mean() > 0 > got[1].mean()


def test_next_token_scorers_run_per_setting(llama: LoadedModel) -> None:
    head = llama.model.get_output_embeddings().weight.detach().numpy()
    a, b = vectors.first_token_id(llama, "A"), vectors.first_token_id(llama, "B")
    cap = Capability(name="ab", domain="test", description="", scorer="ab_logprob", pooling="last", pairs=(),
                     prompts=PROMPTS, answers=(("A", "B"),) * len(PROMPTS))
    got = steering_sweep.antisymmetric_effects(llama, cap, LAYERS, [(head[a] - head[b], 2.0)])
    np.testing.assert_allclose(got[0], vectors.antisymmetric_effect(llama, cap, LAYERS, head[a] - head[b], 2.0))


def test_bad_settings_are_refused_before_any_generation(llama: LoadedModel) -> None:
    with pytest.raises(ValueError, match="dimension"):
        steering_sweep.steered_generations(llama, PROMPTS, LAYERS, [(np.ones(HIDDEN + 1), 1.0)])
    with pytest.raises(ValueError, match="NaN"):
        steering_sweep.steered_generations(llama, PROMPTS, LAYERS, [(np.full(HIDDEN, np.nan), 1.0)])
    with pytest.raises(ValueError, match="coefficient"):
        steering_sweep.steered_generations(llama, PROMPTS, LAYERS, [(np.ones(HIDDEN), float("nan"))])
    with pytest.raises(ValueError, match="batch_rows"):
        steering_sweep.steered_generations(llama, PROMPTS, LAYERS, [(np.ones(HIDDEN), 1.0)], batch_rows=0)
