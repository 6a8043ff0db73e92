"""The hooks stitching runs on: alignment_forward, alignment_edit_residual, alignment_downstream_parameters.

Checked against the Hugging Face models' own outputs on tiny models, and through a third-party adapter that the
built-ins decline, to show that stitching needs nothing but these hooks.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from tiny_models import LAYERS  # noqa: E402

from alignment_plugins import hookimpl, models  # noqa: E402
from alignment_plugins.architectures import hf_residual  # noqa: E402
from alignment_plugins.manager import get_plugin_manager  # noqa: E402
from alignment_plugins.solvers.base import LinearMap  # noqa: E402
from alignment_plugins.types import LoadedModel  # noqa: E402

TEXTS = ["The keeper lit the lamp above the harbour.", "Bees", "Snow arrived in December; the hills went white."]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def bert(tiny_model) -> LoadedModel:
    """The tiny bert encoder (no LM head)."""
    return models.load_model(str(tiny_model("bert")))


def _forward(model: LoadedModel, outputs: list[str], layers: list[int] | None = None, texts: list[str] = TEXTS):
    return get_plugin_manager().hook.alignment_forward(model=model, texts=texts, layers=layers or [],
                                                      outputs=outputs, max_length=64)


def _reference(model: LoadedModel, texts: list[str] = TEXTS):
    """The HF model's own outputs on the same right-padded batch."""
    enc = model.tokenizer(texts, return_tensors="pt", padding=True)
    with torch.inference_mode():
        return enc, model.model(**enc, output_hidden_states=True)


def test_forward_matches_the_model_outputs(llama: LoadedModel) -> None:
    enc, ref = _reference(llama)
    with torch.inference_mode():
        out = _forward(llama, ["hidden_states", "attentions", "logits", "last_hidden_state"], [0, 1, LAYERS])
    torch.testing.assert_close(out.input_ids, enc["input_ids"], atol=0, rtol=0)
    torch.testing.assert_close(out.logits, ref.logits)
    torch.testing.assert_close(out.last_hidden_state, ref.hidden_states[-1])
    for layer in (0, 1):  # HF agrees with the residual stream below the final norm
        torch.testing.assert_close(out.hidden_states[layer], ref.hidden_states[layer])
    assert len(out.attentions) == LAYERS and out.attentions[1].shape[1] == llama.info.num_heads
    rows = out.attentions[1].sum(dim=-1).transpose(1, 2)[out.attention_mask.bool()]  # (real queries, heads)
    torch.testing.assert_close(rows, torch.ones_like(rows))
    assert not out.content[:, 0].any() and out.offsets.shape == (*out.input_ids.shape, 2)
    # Reading states only: the pass stops early and returns the same states.
    early = _forward(llama, ["hidden_states"], [1])
    torch.testing.assert_close(early.hidden_states[1], ref.hidden_states[1])
    assert early.logits is None and early.attentions is None


def test_forward_without_outputs_only_tokenizes(llama: LoadedModel, monkeypatch: pytest.MonkeyPatch) -> None:
    def _no_pass(*args, **kwargs):
        raise AssertionError("no forward pass expected")

    monkeypatch.setattr(llama.model, "forward", _no_pass)
    out = _forward(llama, [])
    assert out.input_ids.shape[0] == len(TEXTS) and out.hidden_states == {} and out.logits is None


def test_forward_on_an_encoder_has_no_logits(bert: LoadedModel) -> None:
    with torch.inference_mode():
        out = _forward(bert, ["logits", "last_hidden_state"])
    assert out.logits is None and out.last_hidden_state.shape[-1] == bert.info.hidden_size


def test_forward_rejects_unknown_outputs(llama: LoadedModel) -> None:
    with pytest.raises(ValueError, match="unknown forward outputs"):
        _forward(llama, ["logits", "everything"])
    with pytest.raises(ValueError, match="out of range"):
        _forward(llama, ["hidden_states"], [LAYERS + 1])


@pytest.mark.parametrize("layer", [0, 1, LAYERS])
def test_edit_residual_replaces_the_stream(llama: LoadedModel, layer: int) -> None:
    seen: list[tuple[int, ...]] = []

    def _edit(hidden):
        seen.append(tuple(hidden.shape))
        return hidden * 0.0

    with torch.inference_mode():
        before = _forward(llama, ["hidden_states", "logits"], [layer])
        with get_plugin_manager().hook.alignment_edit_residual(model=llama, layer=layer, edit=_edit):
            edited = _forward(llama, ["logits"])
        after = _forward(llama, ["logits"])
    assert seen == [tuple(before.hidden_states[layer].shape)]
    assert not torch.allclose(edited.logits, before.logits)
    torch.testing.assert_close(after.logits, before.logits, atol=0, rtol=0)  # hook removed on exit
    if layer == LAYERS:  # zero final state: the final norm maps it to zero, so every logit is the head's bias (0)
        torch.testing.assert_close(edited.logits, torch.zeros_like(edited.logits))


def test_downstream_parameters(llama: LoadedModel) -> None:
    blocks = hf_residual.find_blocks(llama.model, LAYERS)
    params = get_plugin_manager().hook.alignment_downstream_parameters(model=llama, layer=1)
    ids = {id(p) for p in params}
    assert all(id(p) not in ids for p in blocks[0].parameters())
    assert all(id(p) in ids for block in blocks[1:] for p in block.parameters())
    assert id(llama.model.get_output_embeddings().weight) in ids
    assert id(llama.model.get_input_embeddings().weight) not in ids
    everything = get_plugin_manager().hook.alignment_downstream_parameters(model=llama, layer=0)
    assert len(everything) == len(list(llama.model.parameters())) - 1  # all but the token embeddings


def test_hooks_decline_other_adapters(llama: LoadedModel) -> None:
    foreign = dataclasses.replace(llama, adapter="someone-else")
    hook = get_plugin_manager().hook
    assert hook.alignment_forward(model=foreign, texts=TEXTS, layers=[], outputs=[], max_length=64) is None
    assert hook.alignment_edit_residual(model=foreign, layer=1, edit=lambda h: h) is None
    assert hook.alignment_downstream_parameters(model=foreign, layer=1) is None


class _ThirdParty:
    """A third-party adapter for models whose adapter is "third-party"; counts the hook calls it answers."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}

    def _count(self, model: LoadedModel, hook: str) -> bool:
        if model.adapter != "third-party":
            return False
        self.calls[hook] = self.calls.get(hook, 0) + 1
        return True

    @hookimpl
    def alignment_forward(self, model, texts, layers, outputs, max_length):
        return hf_residual.forward(model, texts, layers, outputs, max_length) if self._count(model, "forward") else None

    @hookimpl
    def alignment_edit_residual(self, model, layer, edit):
        return hf_residual.edit_residual(model, layer, edit) if self._count(model, "edit") else None

    @hookimpl
    def alignment_downstream_parameters(self, model, layer):
        return hf_residual.downstream_parameters(model, layer) if self._count(model, "params") else None


def test_a_third_party_adapter_can_be_stitched(llama: LoadedModel) -> None:
    from alignment_plugins.stitching import gradient_stability, stitched_loss

    plugin = _ThirdParty()
    get_plugin_manager().register(plugin, name="third-party")
    model = dataclasses.replace(llama, adapter="third-party")
    d = model.info.hidden_size
    identity = ((1, 1), LinearMap("identity", np.eye(d), np.eye(d), np.zeros(d), np.ones(d), np.zeros(d), np.ones(d)))
    loss = stitched_loss(model, model, identity, TEXTS)
    assert loss["difference"] == pytest.approx(0.0, abs=1e-5)
    grads = gradient_stability(model, model, identity, TEXTS)
    assert grads["ratio"] == pytest.approx(1.0, abs=1e-4)
    assert set(plugin.calls) == {"forward", "edit", "params"}
