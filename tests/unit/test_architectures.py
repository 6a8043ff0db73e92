"""The built-in Hugging Face architecture adapters on tiny random models of every supported family.

Covers config-derived metadata, loading, mean/last/token pooling (against ``output_hidden_states`` of the HF
model), batching invariance, early stopping of the forward pass, the activation cache and vector injection.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from tiny_models import CAUSAL_FAMILIES, FAMILIES, HEADS, HIDDEN, KV_HEADS, LAYERS  # noqa: E402

from alignment_plugins import extraction, models  # noqa: E402
from alignment_plugins.architectures.hf_residual import find_blocks  # noqa: E402
from alignment_plugins.manager import get_plugin_manager  # noqa: E402
from alignment_plugins.types import LoadedModel, TokenStates  # noqa: E402

L = LAYERS
TEXTS = [
    "The keeper lit the lamp above the harbour.",
    "Fishing boats came home slowly across the grey water, their small engines humming under a low sky.",
    "Bees",
    "She tested the design with a model of wood and string.",
    "Snow arrived in December; the hills went white.",
]
KV_EXPECTED = {"gpt2": HEADS, "bert": HEADS, "roberta": HEADS, "mpnet": HEADS}  # no grouped-query attention
ADAPTER = {family: "hf_causal" if family in CAUSAL_FAMILIES else "hf_encoder" for family in FAMILIES}



pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(params=FAMILIES)
def family(request: pytest.FixtureRequest) -> str:
    """Every tiny model family."""
    return request.param


@pytest.fixture
def loaded(family: str, tiny_model) -> LoadedModel:
    """The tiny model of `family`, loaded through the plugin host."""
    return models.load_model(str(tiny_model(family)))


def content_positions(tokenizer, text: str) -> tuple[list[int], list[int]]:
    """(ids, pooled positions) of one text computed independently: non-special tokens, never position 0."""
    ids = tokenizer(text)["input_ids"]
    special = set(tokenizer.all_special_ids)
    positions = [p for p, token in enumerate(ids) if token not in special and p != 0]
    return ids, positions or [p for p, token in enumerate(ids) if token not in special]


def hf_hidden_states(loaded: LoadedModel, text: str) -> tuple:
    """hidden_states of the HF model itself for one unpadded text."""
    encoded = loaded.tokenizer(text, return_tensors="pt")
    with torch.inference_mode():
        out = loaded.model(**encoded, output_hidden_states=True)
    return out.hidden_states


def token_piece(tokenizer, token_id: int) -> str:
    """The surface string of one token (WordPiece continuation marker dropped), lower-cased."""
    token = tokenizer.convert_ids_to_tokens(int(token_id))
    if token.startswith("##"):
        return token[2:].lower()
    return tokenizer.decode([int(token_id)], clean_up_tokenization_spaces=False).strip().lower()


# ---------------------------------------------------------------------- metadata and loading
def test_model_info_reads_the_config(family: str, tiny_model) -> None:
    path = tiny_model(family)
    raw = json.loads((path / "config.json").read_text())
    info = models.model_info(str(path))
    assert info.family == family
    assert info.kind == ("causal" if family in CAUSAL_FAMILIES else "encoder")
    assert info.adapter == ADAPTER[family]
    assert info.hidden_size == HIDDEN == raw.get("hidden_size", raw.get("n_embd"))
    assert info.num_layers == L == raw.get("num_hidden_layers", raw.get("n_layer"))
    assert info.num_heads == HEADS
    assert info.num_kv_heads == KV_EXPECTED.get(family, KV_HEADS)
    assert info.vocab_size == raw["vocab_size"] == 400
    assert info.runnable
    hook_info = get_plugin_manager().hook.alignment_describe_architecture(
        config=models.load_config(str(path))[2], name="x"
    )
    assert hook_info.hidden_size == HIDDEN and hook_info.name == "x"


def test_load_model(family: str, tiny_model) -> None:
    loaded = models.load_model(str(tiny_model(family)))
    assert loaded.adapter == ADAPTER[family]
    assert loaded.num_layers == L and loaded.info.family == family
    assert loaded.fingerprint.startswith("sha256:")
    assert not loaded.model.training
    assert models.load_model(str(tiny_model(family))) is loaded  # cached per process
    assert len(find_blocks(loaded.model, L)) == L


def test_load_model_hook_directly(tiny_model) -> None:
    name, path, config = models.load_config(str(tiny_model("llama")))
    loaded = get_plugin_manager().hook.alignment_load_model(
        name=name, path=path, config=config, dtype="float32", device="cpu"
    )
    assert isinstance(loaded, LoadedModel) and loaded.adapter == "hf_causal"
    config.model_type = "not-a-family"
    assert get_plugin_manager().hook.alignment_load_model(
        name=name, path=path, config=config, dtype="float32", device="cpu"
    ) is None


def test_directory_without_config_is_rejected(tmp_path) -> None:
    with pytest.raises(models.UnknownModelError, match=r"config\.json"):
        models.resolve(str(tmp_path))


# ---------------------------------------------------------------------- pooling
@pytest.mark.parametrize("pooling", ["mean", "last"])
def test_extract_pooled_shapes(loaded: LoadedModel, pooling: str) -> None:
    acts = extraction.extract(loaded, TEXTS, layers=[0, 1, L], pooling=pooling, cache=False)
    assert sorted(acts.layers) == [0, 1, L]
    for layer in (0, 1, L):
        array = acts[layer]
        assert array.dtype == np.float32
        assert array.shape == (len(TEXTS), HIDDEN)
        assert np.isfinite(array).all()
    assert acts.tokens == sum(len(loaded.tokenizer(t)["input_ids"]) for t in TEXTS)


def test_extract_rejects_token_pooling_and_bad_layers(loaded: LoadedModel) -> None:
    with pytest.raises(ValueError, match="extract_tokens"):
        extraction.extract(loaded, TEXTS, layers=[1], pooling="tokens")
    with pytest.raises(ValueError, match="out of range"):
        extraction.extract(loaded, TEXTS, layers=[L + 1], cache=False)


def test_pooling_matches_hf_hidden_states(family: str, loaded: LoadedModel) -> None:
    # Decoders: hidden_states[i] is our layer i for i < L (HF applies the final norm to its last entry);
    # encoders have no final norm, so every layer matches.
    check = [0, 1, 2] if family in CAUSAL_FAMILIES else [0, 1, 2, L]
    mean = extraction.extract(loaded, TEXTS, layers=check, pooling="mean", cache=False)
    last = extraction.extract(loaded, TEXTS, layers=check, pooling="last", cache=False)
    tokens = extraction.extract_tokens(loaded, TEXTS, layers=check)
    for row, text in enumerate(TEXTS):
        ids, positions = content_positions(loaded.tokenizer, text)
        hidden = hf_hidden_states(loaded, text)
        if family == "gemma3":
            assert ids[0] == loaded.tokenizer.bos_token_id  # <bos> added by the post-processor, never pooled
        for layer in check:
            h = hidden[layer][0].float().numpy()
            np.testing.assert_allclose(mean[layer][row], h[positions].mean(axis=0), atol=1e-5, rtol=1e-4)
            np.testing.assert_allclose(last[layer][row], h[positions[-1]], atol=1e-5, rtol=1e-4)
            np.testing.assert_allclose(tokens[layer][row].states, h, atol=1e-5, rtol=1e-4)
            if len(positions) > 1:  # position 0 (BOS / attention sink or first token) is excluded
                assert not np.allclose(mean[layer][row], h.mean(axis=0), atol=1e-6)
    assert 0 not in content_positions(loaded.tokenizer, TEXTS[0])[1]


def test_token_states_and_offsets(family: str, loaded: LoadedModel) -> None:
    states = extraction.extract_tokens(loaded, TEXTS, layers=[0, 1, L], batch_size=2)
    hook_offsets = get_plugin_manager().hook.alignment_token_offsets(model=loaded, texts=TEXTS)
    special = set(loaded.tokenizer.all_special_ids)
    assert sorted(states) == [0, 1, L]
    for layer in (0, 1, L):
        assert len(states[layer]) == len(TEXTS)
    for row, text in enumerate(TEXTS):
        ids = loaded.tokenizer(text)["input_ids"]
        for layer in (0, 1, L):
            item = states[layer][row]
            assert isinstance(item, TokenStates)
            assert item.states.dtype == np.float32 and item.states.shape == (len(ids), HIDDEN)
            assert np.asarray(item.offsets).shape == (len(ids), 2)
        offsets = [tuple(int(v) for v in pair) for pair in states[0][row].offsets]
        assert offsets == hook_offsets[row]
        pieces = []
        for token_id, (start, end) in zip(ids, offsets, strict=True):
            if token_id in special:
                assert (start, end) == (0, 0)
                continue
            assert 0 <= start <= end <= len(text)  # a lone space token is trimmed to zero width
            assert text[start:end].lower() == token_piece(loaded.tokenizer, token_id)
            pieces.append(text[start:end])
        assert "".join(pieces) == text.replace(" ", "")


def test_max_length_truncates(family: str, loaded: LoadedModel) -> None:
    text = TEXTS[1]
    ids = loaded.tokenizer(text)["input_ids"]
    assert len(ids) > 8
    short = extraction.extract(loaded, [text], layers=[1], max_length=8, cache=False)
    assert short.tokens == 8
    encoded = loaded.tokenizer(text, truncation=True, max_length=8, return_tensors="pt")
    with torch.inference_mode():
        h = loaded.model(**encoded, output_hidden_states=True).hidden_states[1][0].numpy()
    special = set(loaded.tokenizer.all_special_ids)
    kept = encoded["input_ids"][0].tolist()
    positions = [p for p, token in enumerate(kept) if token not in special and p != 0]
    np.testing.assert_allclose(short[1][0], h[positions].mean(axis=0), atol=1e-5, rtol=1e-4)
    full = extraction.extract(loaded, [text], layers=[1], cache=False)
    assert full.tokens == len(ids) and not np.allclose(full[1], short[1])
    tokens = extraction.extract_tokens(loaded, [text], layers=[1], max_length=8)
    assert tokens[1][0].states.shape == (8, HIDDEN)


def test_batching_invariance(loaded: LoadedModel) -> None:
    for pooling in ("mean", "last"):
        one_by_one = extraction.extract(loaded, TEXTS, layers=[0, 1, L], pooling=pooling, max_batch_tokens=1,
                                        cache=False)
        together = extraction.extract(loaded, TEXTS, layers=[0, 1, L], pooling=pooling, max_batch_tokens=1 << 16,
                                      cache=False)
        for layer in (0, 1, L):
            np.testing.assert_allclose(one_by_one[layer], together[layer], atol=1e-4, rtol=0)


def test_batches_are_planned_under_the_token_budget() -> None:
    lengths = [5, 3, 9, 3, 7]
    batches = extraction.plan_batches(lengths, max_batch_tokens=10, max_batch_size=64)
    assert sorted(i for batch in batches for i in batch) == list(range(5))
    for batch in batches:
        assert len(batch) == 1 or len(batch) * max(lengths[i] for i in batch) <= 10
    assert extraction.plan_batches(lengths, max_batch_tokens=1, max_batch_size=64) == [[1], [3], [0], [4], [2]]


def test_forward_stops_after_deepest_layer(loaded: LoadedModel) -> None:
    blocks = find_blocks(loaded.model, L)
    calls = [0] * L
    handles = [
        block.register_forward_hook(lambda *_, i=i: calls.__setitem__(i, calls[i] + 1))
        for i, block in enumerate(blocks)
    ]
    try:
        extraction.extract(loaded, TEXTS, layers=[1], cache=False)
        assert calls == [1, 0, 0]  # one batch: block 1 ran, blocks 2 and 3 never did
        calls[:] = [0] * L
        extraction.extract(loaded, TEXTS, layers=[0], cache=False)
        assert calls == [0, 0, 0]  # layer 0 is the input of block 1: no block runs
        calls[:] = [0] * L
        extraction.extract(loaded, TEXTS, layers=[L], cache=False)
        assert calls == [1, 1, 1]
    finally:
        for handle in handles:
            handle.remove()


def test_activation_cache(family: str, loaded: LoadedModel, alignment_cache_dir) -> None:
    texts = [*TEXTS, f"cache test for {family}"]
    first = extraction.extract(loaded, texts, layers=[0, 1, L], pooling="mean")
    assert first.from_cache == []
    second = extraction.extract(loaded, texts, layers=[0, 1, L], pooling="mean")
    assert second.from_cache == [0, 1, L]
    for layer in (0, 1, L):
        np.testing.assert_array_equal(first[layer], second[layer])
    partial = extraction.extract(loaded, texts, layers=[1, 2], pooling="mean")
    assert partial.from_cache == [1]
    assert list((alignment_cache_dir / "activations").glob("*/layer_2.npy"))
    other_pooling = extraction.extract(loaded, texts, layers=[1], pooling="last")
    assert other_pooling.from_cache == []


def test_extract_hook_declines_other_adapters(loaded: LoadedModel) -> None:
    foreign = LoadedModel(name="x", info=loaded.info, model=loaded.model, tokenizer=loaded.tokenizer,
                          adapter="someone-else", fingerprint="sha256:0")
    hook = get_plugin_manager().hook
    assert hook.alignment_extract_hidden_states(
        model=foreign, texts=TEXTS, layers=[1], pooling="mean", max_length=256
    ) is None
    assert hook.alignment_token_offsets(model=foreign, texts=TEXTS) is None
    with pytest.raises(RuntimeError, match="no architecture adapter"):
        extraction.extract(foreign, TEXTS, layers=[1], cache=False)


# ---------------------------------------------------------------------- injection
PROMPT = "The keeper lit the lamp above the"


def _logits(loaded: LoadedModel, text: str = PROMPT):
    encoded = loaded.tokenizer(text, return_tensors="pt")
    with torch.inference_mode():
        return loaded.model(**encoded).logits[0]


def _unembedding_row(loaded: LoadedModel, logits) -> tuple[int, np.ndarray]:
    """The least likely next token k and its lm_head row."""
    k = int(logits[-1].argmin())
    return k, loaded.model.get_output_embeddings().weight[k].detach().numpy().copy()


@pytest.mark.parametrize("layer", [0, 1, L])
def test_inject_vector_steers_to_token(llama: LoadedModel, layer: int) -> None:
    before = _logits(llama)
    k, v = _unembedding_row(llama, before)
    assert int(before[-1].argmax()) != k
    with get_plugin_manager().hook.alignment_inject_vector(
        model=llama, layer=layer, vector=v, coefficient=1e4, positions="all"
    ):
        steered = _logits(llama)
    assert int(steered[-1].argmax()) == k
    assert (steered.argmax(dim=-1) == k).all()
    torch.testing.assert_close(_logits(llama), before, atol=0, rtol=0)  # hook removed on exit


def test_inject_new_positions_only_steers_the_last_prompt_token(llama: LoadedModel) -> None:
    before = _logits(llama)
    k, v = _unembedding_row(llama, before)
    with get_plugin_manager().hook.alignment_inject_vector(
        model=llama, layer=1, vector=v, coefficient=1e4, positions="new"
    ):
        steered = _logits(llama)
    torch.testing.assert_close(steered[:-1], before[:-1])
    assert int(steered[-1].argmax()) == k


@pytest.mark.parametrize("layer", [0, 1])
def test_inject_during_generate(llama: LoadedModel, layer: int) -> None:
    encoded = llama.tokenizer(PROMPT, return_tensors="pt")
    k, v = _unembedding_row(llama, _logits(llama))
    kwargs = {"max_new_tokens": 3, "min_new_tokens": 3, "do_sample": False,
              "pad_token_id": llama.tokenizer.pad_token_id}
    with torch.inference_mode():
        plain = llama.model.generate(**encoded, **kwargs)
        with get_plugin_manager().hook.alignment_inject_vector(
            model=llama, layer=layer, vector=v, coefficient=1e4, positions="new"
        ):
            steered = llama.model.generate(**encoded, **kwargs)
        again = llama.model.generate(**encoded, **kwargs)
    prompt_len = encoded["input_ids"].shape[1]
    assert not torch.equal(plain, steered)
    assert steered[0, prompt_len:].tolist() == [k, k, k]
    assert torch.equal(plain, again)


@pytest.mark.parametrize(
    ("vector", "kwargs", "match"),
    [
        (np.ones(HIDDEN + 1), {}, "dim"),
        (np.full(HIDDEN, np.nan), {}, "non-finite"),
        (np.ones(HIDDEN), {"positions": "some"}, "positions"),
        (np.ones(HIDDEN), {"layer": L + 1}, "out of range"),
    ],
)
def test_inject_rejects_bad_requests(llama: LoadedModel, vector, kwargs, match: str) -> None:
    args = {"model": llama, "layer": 1, "vector": vector, "coefficient": 2.0, "positions": "all", **kwargs}
    before = _logits(llama)
    with pytest.raises(ValueError, match=match), get_plugin_manager().hook.alignment_inject_vector(**args):
        pass
    torch.testing.assert_close(_logits(llama), before, atol=0, rtol=0)
