"""Capability vectors: extract from contrastive pairs, transfer through a W-Matrix, inject, and measure effects.

Extraction reads the residual stream (hidden-state layer L = output of block L−1) of the positive and negative
text of every contrastive pair, pooled the way the capability says ("mean" over content tokens — specials and
the first position, an attention sink, are never pooled — or "last" content token), and reduces the differences
d_k = h(pos_k) − h(neg_k) to one direction:

* ``caa``   — difference of means, v = mean_k d_k (Rimsky et al., contrastive activation addition);
* ``pca``   — first principal component of the d_k (uncentred, as in representation engineering), signed to agree
  with the mean difference and scaled to the mean projection: v = u·mean_k(d_k·u);
* ``probe`` — weight of an L2-regularised logistic regression separating pos from neg states fitted in per-dimension
  standardized space, mapped back to raw coordinates (w / scale) and scaled to the CAA vector's norm.

Vectors live in the model's raw residual-stream coordinates (units of hidden-state activations). Transfer maps a
direction through the W-Matrix's linear part only (a difference of means has no mean shift).
"""

from __future__ import annotations

import contextlib
import inspect
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alignment_plugins.capabilities import Capability, ContrastivePair
from alignment_plugins.manager import get_plugin_manager
from alignment_plugins.types import LoadedModel

METHODS: tuple[str, ...] = ("caa", "pca", "probe")


@dataclass
class CapabilityVector:
    """One steering direction in a model's raw residual stream at one hidden-state layer."""

    vector: np.ndarray
    layer: int
    model: str
    method: str
    capability: str = ""
    pooling: str = "mean"
    fingerprint: str = ""
    data_hash: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def norm(self) -> float:
        """Euclidean norm of the vector (activation units)."""
        return float(np.linalg.norm(self.vector))


def _finite_vector(vector: Any, dim: int | None = None) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float64).reshape(-1)
    if dim is not None and v.shape[0] != dim:
        raise ValueError(f"vector has dimension {v.shape[0]}, expected {dim}")
    if not np.isfinite(v).all():
        raise ValueError("vector has NaN or infinite values")
    return v


# -------------------------------------------------------------------------------------------------- extraction
def contrastive_states(
    model: LoadedModel,
    pairs: Sequence[ContrastivePair],
    layers: Sequence[int],
    *,
    pooling: str = "mean",
    max_length: int = 256,
    batch_size: int = 16,
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Return {layer: (positive states (N, d), negative states (N, d))}, float32, pooled as `pooling`."""
    if not pairs:
        raise ValueError("no contrastive pairs")
    if pooling not in ("mean", "last"):
        raise ValueError(f"pooling must be 'mean' or 'last', got {pooling!r}")
    hook = get_plugin_manager().hook.alignment_extract_hidden_states
    texts = [p.positive for p in pairs] + [p.negative for p in pairs]
    chunks: dict[int, list[np.ndarray]] = {layer: [] for layer in layers}
    for start in range(0, len(texts), batch_size):
        pooled = hook(model=model, texts=texts[start : start + batch_size], layers=list(layers), pooling=pooling,
                      max_length=max_length)
        if pooled is None:
            raise RuntimeError(f"no architecture adapter extracts hidden states for {model.name}")
        for layer in layers:
            chunks[layer].append(np.asarray(pooled[layer], dtype=np.float32))
    n = len(pairs)
    out = {}
    for layer in layers:
        states = np.concatenate(chunks[layer])
        out[layer] = (states[:n], states[n:])
    return out


def caa_direction(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """Difference of means v = mean(pos) − mean(neg) (activation units)."""
    return (np.asarray(pos, np.float64) - np.asarray(neg, np.float64)).mean(axis=0)


def pca_direction(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """First principal axis u of the differences d_k (uncentred), signed like the mean, scaled: v = u·mean(d·u)."""
    diffs = np.asarray(pos, np.float64) - np.asarray(neg, np.float64)
    _, _, vt = np.linalg.svd(diffs, full_matrices=False)
    u = vt[0]
    if float(diffs.mean(axis=0) @ u) < 0:
        u = -u
    return u * float((diffs @ u).mean())


def probe_direction(pos: np.ndarray, neg: np.ndarray, *, l2: float = 1e-2, steps: int = 300) -> np.ndarray:
    """Logistic-probe direction: w/scale of an L2 logistic regression on standardized states, scaled to ‖CAA‖."""
    import torch

    x = np.concatenate([pos, neg]).astype(np.float64)
    y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 1e-8 * max(1.0, float(scale.max(initial=0.0))), scale, 1.0)
    xt = torch.as_tensor((x - mean) / scale, dtype=torch.float64)
    yt = torch.as_tensor(y, dtype=torch.float64)
    w = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([w, b], max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> Any:
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(xt @ w + b, yt) + l2 * (w @ w) / 2
        loss.backward()
        return loss

    optimizer.step(closure)
    direction = w.detach().numpy() / scale
    norm = float(np.linalg.norm(direction))
    if not math.isfinite(norm) or norm == 0.0:
        raise FloatingPointError("logistic probe did not produce a usable direction")
    return direction / norm * float(np.linalg.norm(caa_direction(pos, neg)))


_REDUCERS = {"caa": caa_direction, "pca": pca_direction, "probe": probe_direction}


def extract_vector(
    model: LoadedModel,
    capability: Capability | Sequence[ContrastivePair],
    layer: int,
    *,
    method: str = "caa",
    pooling: str | None = None,
    max_length: int = 256,
) -> CapabilityVector:
    """Extract a steering vector for `capability` at hidden-state `layer` of `model` (raw activation units)."""
    if method not in _REDUCERS:
        raise ValueError(f"unknown extraction method {method!r}; use one of {', '.join(METHODS)}")
    if isinstance(capability, Capability):
        pairs, name, data_hash = capability.pairs, capability.name, capability.data_hash
        pooling = pooling or capability.pooling
    else:
        from alignment_plugins.capabilities import pairs_hash

        pairs, name, data_hash = tuple(capability), "", pairs_hash(capability)
        pooling = pooling or "mean"
    pos, neg = contrastive_states(model, pairs, [layer], pooling=pooling, max_length=max_length)[layer]
    vector = _REDUCERS[method](pos, neg)
    if not np.isfinite(vector).all() or not np.any(vector):
        raise FloatingPointError(f"{method} extraction gave a zero or non-finite vector")
    diffs = pos.astype(np.float64) - neg.astype(np.float64)
    unit = vector / np.linalg.norm(vector)
    return CapabilityVector(
        vector=vector.astype(np.float32), layer=layer, model=model.name, method=method, capability=name,
        pooling=pooling, fingerprint=model.fingerprint, data_hash=data_hash,
        extra={"pairs": len(pairs), "token_position": "last content token" if pooling == "last" else
               "mean of content tokens (specials and position 0 excluded)",
               "projection_agreement": float((diffs @ unit > 0).mean())},
    )


# ---------------------------------------------------------------------------------------------------- transfer
def transfer_vector(
    vector: CapabilityVector | np.ndarray,
    wmatrix: Any,
    *,
    layer: int | None = None,
    norm: str | float = "map",
    target_model: str = "",
) -> CapabilityVector:
    """Map a source direction into the target space through W's linear part; rescale as `norm` says.

    ``norm="map"`` keeps the norm the map implies (‖W·v‖ in raw target units); a float rescales the result to
    that norm (e.g. the target's native vector norm: "matched norm"). The source layer defaults to the vector's.
    """
    if isinstance(vector, CapabilityVector):
        source_layer = vector.layer if layer is None else layer
        raw = vector.vector
    else:
        source_layer, raw = layer, vector
    pair, _ = wmatrix.map_for(source_layer)
    v = _finite_vector(raw)
    mapped = np.asarray(wmatrix.transform(v, pair[0], direction=True), dtype=np.float64).reshape(-1)
    map_norm = float(np.linalg.norm(mapped))
    if map_norm == 0.0 or not math.isfinite(map_norm):
        raise FloatingPointError("the W-Matrix maps this vector to zero")
    if norm == "map":
        scaled = mapped
    else:
        target_norm = float(norm)
        if not math.isfinite(target_norm) or target_norm <= 0:
            raise ValueError(f"norm must be 'map' or a positive number, got {norm!r}")
        scaled = mapped / map_norm * target_norm
    base = vector if isinstance(vector, CapabilityVector) else None
    return CapabilityVector(
        vector=scaled.astype(np.float32), layer=pair[1], model=target_model or str(wmatrix.target.get("name", "")),
        method="transferred", capability=base.capability if base else "", pooling=base.pooling if base else "mean",
        data_hash=base.data_hash if base else "",
        extra={"source_model": base.model if base else str(wmatrix.source.get("name", "")),
               "source_method": base.method if base else "", "source_layer": pair[0], "target_layer": pair[1],
               "norm_mode": "map" if norm == "map" else "matched", "map_norm": map_norm,
               "source_norm": float(np.linalg.norm(v))},
    )


def standardized_rescale(linear: Any, vector: np.ndarray, mapped: np.ndarray) -> float:
    """Factor f (unitless) with ‖f·mapped / s_y‖ = ‖vector / s_x‖: the delivered vector spans as many target standard
    deviations as the source vector spans source ones (s_x, s_y: the map's per-dimension scales)."""
    source_std = float(np.linalg.norm(np.asarray(vector, np.float64) / linear.scale_x))
    mapped_std = float(np.linalg.norm(np.asarray(mapped, np.float64) / linear.scale_y))
    if not mapped_std > 0.0:
        raise ValueError("the map sends this vector to zero; nothing to deliver")
    return source_std / mapped_std


def cosine(a: np.ndarray, b: np.ndarray, scale: np.ndarray | None = None) -> float:
    """Cosine of two vectors; with `scale`, in per-dimension standardized space (a/scale, b/scale)."""
    x, y = np.asarray(a, np.float64).reshape(-1), np.asarray(b, np.float64).reshape(-1)
    if scale is not None:
        s = np.asarray(scale, np.float64).reshape(-1)
        x, y = x / s, y / s
    denom = float(np.linalg.norm(x) * np.linalg.norm(y))
    return float(x @ y / denom) if denom > 0 else float("nan")


# --------------------------------------------------------------------------------------------------- injection
def steer(
    model: LoadedModel, layer: int, vector: Any, coefficient: float = 1.0, positions: str = "all"
) -> contextlib.AbstractContextManager[None]:
    """Context manager adding coefficient·vector to the residual stream at `layer` (use around generate/forward)."""
    v = vector.vector if isinstance(vector, CapabilityVector) else vector
    _finite_vector(v, model.info.hidden_size)
    if not math.isfinite(float(coefficient)):
        raise ValueError(f"coefficient must be finite, got {coefficient!r}")
    ctx = get_plugin_manager().hook.alignment_inject_vector(
        model=model, layer=layer, vector=np.asarray(v, np.float32), coefficient=float(coefficient), positions=positions
    )
    if ctx is None:
        raise RuntimeError(f"no architecture adapter injects vectors into {model.name}")
    return ctx


@contextlib.contextmanager
def _maybe_steer(model: LoadedModel, layer: int | None, vector: Any, coefficient: float) -> Iterator[None]:
    if vector is None or coefficient == 0.0:
        yield
    else:
        with steer(model, int(layer), vector, coefficient):  # type: ignore[arg-type]
            yield


# ------------------------------------------------------------------------------------------ effect measurement
def generate(
    model: LoadedModel,
    prompts: Sequence[str],
    *,
    max_new_tokens: int = 24,
    batch_size: int = 40,
    layer: int | None = None,
    vector: Any = None,
    coefficient: float = 0.0,
) -> list[str]:
    """Greedy continuations (new text only) of `prompts`, optionally steered by coefficient·vector at `layer`.

    Each decoding step reads every weight once per batch, so fewer, larger batches amortize it (a capability's 40
    prompts are one batch).
    """
    import torch

    tok = model.tokenizer
    side = tok.padding_side
    tok.padding_side = "left"
    out: list[str] = []
    device = next(model.model.parameters()).device
    try:
        for start in range(0, len(prompts), batch_size):
            enc = tok(list(prompts[start : start + batch_size]), return_tensors="pt", padding=True)
            with _maybe_steer(model, layer, vector, coefficient), torch.inference_mode():
                ids = model.model.generate(
                    input_ids=enc["input_ids"].to(device), attention_mask=enc["attention_mask"].to(device),
                    max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tok.pad_token_id,
                )
            new = ids[:, enc["input_ids"].shape[1]:]
            out.extend(tok.batch_decode(new, skip_special_tokens=True))
    finally:
        tok.padding_side = side
    return out


def next_token_logprobs(
    model: LoadedModel,
    prompts: Sequence[str],
    *,
    batch_size: int = 16,
    layer: int | None = None,
    vector: Any = None,
    coefficient: float = 0.0,
) -> np.ndarray:
    """Log-probabilities (nats, (N, vocab) float32) of the token after each prompt, optionally steered.

    Only each prompt's last position goes through the output head where the model's forward takes
    ``logits_to_keep`` (transformers' causal LMs): the head is most of a small model's compute (Gemma-3's 262k-token
    vocabulary: 168M of its 268M weights), and all other positions' logits would be thrown away.
    """
    import torch

    tok = model.tokenizer
    device = next(model.model.parameters()).device
    per_row = "logits_to_keep" in inspect.signature(model.model.forward).parameters
    rows = []
    for start in range(0, len(prompts), batch_size):
        enc = tok(list(prompts[start : start + batch_size]), return_tensors="pt", padding=True)
        last = (enc["attention_mask"].sum(dim=1) - 1).to(device)
        keep = {"logits_to_keep": last[:, None]} if per_row else {}
        with _maybe_steer(model, layer, vector, coefficient), torch.inference_mode():
            logits = model.model(input_ids=enc["input_ids"].to(device),
                                 attention_mask=enc["attention_mask"].to(device), use_cache=False, **keep).logits
        picked = (logits[:, 0] if per_row else logits[torch.arange(logits.shape[0]), last]).float()
        rows.append(torch.log_softmax(picked, dim=-1).cpu().numpy())
    return np.concatenate(rows)


def first_token_id(model: LoadedModel, text: str) -> int:
    """Id of the first token of `text` encoded without special tokens."""
    ids = model.tokenizer.encode(text, add_special_tokens=False)
    if not ids:
        raise ValueError(f"{text!r} encodes to no tokens for {model.name}")
    return int(ids[0])


def _logsumexp(a: np.ndarray, axis: int = -1) -> np.ndarray:
    m = a.max(axis=axis, keepdims=True)
    return (m + np.log(np.exp(a - m).sum(axis=axis, keepdims=True))).squeeze(axis)


_VADER: Any = None


def vader_compound(texts: Sequence[str]) -> np.ndarray:
    """VADER compound sentiment of each text (−1 most negative .. 1 most positive; vaderSentiment package)."""
    global _VADER
    if _VADER is None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        _VADER = SentimentIntensityAnalyzer()
    return np.array([_VADER.polarity_scores(t)["compound"] for t in texts], dtype=np.float64)


_WORD_RE = re.compile(r"[^\W\d_]+|!")


def lexicon_rate(texts: Sequence[str], positive: Sequence[str], negative: Sequence[str]) -> np.ndarray:
    """Per text (#positive − #negative lexicon words) / #words (words: runs of letters, and "!"; lower-cased).

    An empty text scores 0. Units: words per word (−1..1).
    """
    pos, neg = {w.lower() for w in positive}, {w.lower() for w in negative}
    out = np.zeros(len(texts), dtype=np.float64)
    for k, text in enumerate(texts):
        words = _WORD_RE.findall(text.lower())
        if words:
            out[k] = (sum(w in pos for w in words) - sum(w in neg for w in words)) / len(words)
    return out


GENERATION_SCORERS = ("vader_generation", "lexicon_generation")


def score_texts(capability: Capability, texts: Sequence[str]) -> np.ndarray:
    """Per-text score of a generation scorer's continuations (VADER −1..1, or word rate −1..1)."""
    if capability.scorer == "vader_generation":
        return vader_compound(texts)
    if capability.scorer == "lexicon_generation":
        return lexicon_rate(texts, *capability.words)
    raise ValueError(f"{capability.scorer!r} does not score generated text")


def capability_scores(
    model: LoadedModel,
    capability: Capability,
    prompt_indices: Sequence[int] | None = None,
    *,
    layer: int | None = None,
    vector: Any = None,
    coefficient: float = 0.0,
    max_new_tokens: int = 24,
) -> np.ndarray:
    """Per-prompt capability score under steering (units by scorer: VADER −1..1, word rate −1..1, or nats).

    * vader_generation: VADER compound of the greedy continuation;
    * lexicon_generation: `lexicon_rate` of the greedy continuation with the capability's (for, against) words;
    * topic_logprob: log Σ_{w∈topic} p(w) − log Σ_{w∈other} p(w) over the first tokens of " word";
    * ab_logprob: log p(positive letter) − log p(negative letter) at the answer position.
    """
    idx = list(range(len(capability.prompts))) if prompt_indices is None else list(prompt_indices)
    prompts = [capability.prompts[i] for i in idx]
    kw = {"layer": layer, "vector": vector, "coefficient": coefficient}
    if capability.scorer in GENERATION_SCORERS:
        return score_texts(capability, generate(model, prompts, max_new_tokens=max_new_tokens, **kw))
    logp = next_token_logprobs(model, prompts, **kw).astype(np.float64)
    if capability.scorer == "topic_logprob":
        topic = sorted({first_token_id(model, " " + w) for w in capability.words[0]})
        other = sorted({first_token_id(model, " " + w) for w in capability.words[1]})
        return _logsumexp(logp[:, topic]) - _logsumexp(logp[:, other])
    if capability.scorer == "ab_logprob":
        pos = np.array([first_token_id(model, capability.answers[i][0]) for i in idx])
        neg = np.array([first_token_id(model, capability.answers[i][1]) for i in idx])
        rows = np.arange(len(idx))
        return logp[rows, pos] - logp[rows, neg]
    raise ValueError(f"unknown scorer {capability.scorer!r}")


def antisymmetric_effect(
    model: LoadedModel,
    capability: Capability,
    layer: int,
    vector: Any,
    coefficient: float,
    prompt_indices: Sequence[int] | None = None,
    **kw: Any,
) -> np.ndarray:
    """Per-prompt effect(+c·v) − effect(−c·v) (scorer units); cancels damage that does not depend on the sign."""
    plus = capability_scores(model, capability, prompt_indices, layer=layer, vector=vector, coefficient=coefficient,
                             **kw)
    minus = capability_scores(model, capability, prompt_indices, layer=layer, vector=vector,
                              coefficient=-coefficient, **kw)
    return plus - minus
