"""The splice: source token states of layer i, aligned to the target's tokens and mapped by W, fed into layer j.

The source runs up to hidden-state layer i; its token states are aligned to the target's tokens by character
offsets, mapped through the fitted map of pair (i, j) (``LinearMap.transform``, means included) and written into
the target's residual stream at layer j through the ``alignment_edit_residual`` hook (the input of block j). Token
alignment: each target token takes the mean of the source token states whose character spans (trimmed of
whitespace) overlap its own. Target special tokens, position 0 (the attention sink), padding and target tokens that
overlap no source token keep the target's own state; source special tokens and source position 0 are never used as
inputs (their states are attention-sink states of the source). Every model access goes through the plugin host.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from alignment_plugins.manager import get_plugin_manager
from alignment_plugins.solvers.base import LinearMap
from alignment_plugins.types import ForwardOutputs, LoadedModel
from alignment_plugins.wmatrix import WMatrix

Pair = tuple[int, int]
MapLike = WMatrix | tuple[Pair, LinearMap]

BATCH = 8


def resolve_pair(wmatrix: MapLike, source_layer: int | None = None) -> tuple[Pair, LinearMap]:
    """Return ((i, j), map) from a WMatrix (pair of `source_layer`, None: recommended pair) or ((i, j), LinearMap)."""
    if isinstance(wmatrix, WMatrix):
        pair, linear = wmatrix.map_for(source_layer)
        return (int(pair[0]), int(pair[1])), linear
    if isinstance(wmatrix, tuple) and len(wmatrix) == 2 and isinstance(wmatrix[1], LinearMap):
        pair = (int(wmatrix[0][0]), int(wmatrix[0][1]))
        if source_layer is not None and source_layer != pair[0]:
            raise ValueError(f"the given map is for source layer {pair[0]}, not {source_layer}")
        return pair, wmatrix[1]
    raise TypeError(f"expected a WMatrix or a ((i, j), LinearMap) tuple, got {type(wmatrix).__name__}")


def run_forward(
    model: LoadedModel, texts: Sequence[str], outputs: Sequence[str], *, layers: Sequence[int] = (),
    max_length: int = 128,
) -> ForwardOutputs:
    """One forward pass through the model's architecture adapter (``alignment_forward``); no outputs: tokens only."""
    result = get_plugin_manager().hook.alignment_forward(
        model=model, texts=list(texts), layers=list(layers), outputs=list(outputs), max_length=max_length
    )
    if result is None:
        raise RuntimeError(f"no architecture adapter runs forward passes of {model.name}")
    return result


def has_lm_head(model: LoadedModel) -> bool:
    """Whether the model predicts next tokens (causal models; the forward hook returns logits only for them)."""
    return model.info.kind == "causal"


def require_lm_head(model: LoadedModel) -> None:
    """Raise ValueError for a model without a language-model head."""
    if not has_lm_head(model):
        raise ValueError(f"{model.name} has no language-model head: next-token loss is undefined for it")


@dataclass
class SpliceBatch:
    """One batch of texts prepared for stitching: target encoding, replacement states and where they go."""

    texts: list[str]
    max_length: int  # tokens per text, special tokens included (every pass re-tokenizes with it)
    encoding: ForwardOutputs  # target tokenization (torch tensors, no outputs)
    replacement: Any  # (B, T, d_target) float64 torch tensor of mapped source states (zeros where not replaced)
    replaced: Any  # (B, T) bool torch tensor: positions whose layer-j state is replaced

    @property
    def content(self) -> Any:
        """(B, T) bool torch tensor: real, non-special target tokens, never position 0."""
        return self.encoding.content


@dataclass
class StitchedOutput:
    """Result of ``stitched_forward``: target outputs with the stitch in place (numpy, float32)."""

    pair: Pair
    input_ids: np.ndarray  # (B, T) target token ids
    attention_mask: np.ndarray  # (B, T)
    replaced: np.ndarray  # (B, T) bool: positions fed from the source
    coverage: float  # fraction of target content tokens (non-special, position > 0) that were replaced
    last_hidden_state: np.ndarray  # (B, T, d_target) final hidden state of the target's base model
    logits: np.ndarray | None  # (B, T, vocab) next-token logits, None for targets without an LM head


def trimmed_spans(text: str, offsets: np.ndarray) -> np.ndarray:
    """Character spans (T, 2) with leading/trailing whitespace removed (empty spans become (0, 0))."""
    out = np.zeros_like(offsets)
    for t, (start, end) in enumerate(offsets.tolist()):
        while start < end and start < len(text) and text[start].isspace():
            start += 1
        while end > start and end <= len(text) and text[end - 1].isspace():
            end -= 1
        if end > start:
            out[t] = (start, end)
    return out


def overlap_weights(text: str, t_offsets: np.ndarray, t_ok: np.ndarray, s_offsets: np.ndarray,
                    s_ok: np.ndarray) -> np.ndarray:
    """(Tt, Ts) row-stochastic weights averaging the source tokens whose spans overlap each target token."""
    ts = trimmed_spans(text, t_offsets)
    ss = trimmed_spans(text, s_offsets)
    t_valid = t_ok & (ts[:, 1] > ts[:, 0])
    s_valid = s_ok & (ss[:, 1] > ss[:, 0])
    overlap = (ss[None, :, 0] < ts[:, None, 1]) & (ss[None, :, 1] > ts[:, None, 0])
    overlap &= t_valid[:, None] & s_valid[None, :]
    weights = overlap.astype(np.float64)
    counts = weights.sum(axis=1, keepdims=True)
    return np.divide(weights, counts, out=np.zeros_like(weights), where=counts > 0)


def prepare(source: LoadedModel, target: LoadedModel, pair: Pair, linear: LinearMap, texts: Sequence[str],
            max_length: int) -> SpliceBatch:
    """Run the source to layer i, align its token states to the target's tokens, map them with W (raw units)."""
    import torch

    i, j = pair
    if not 0 <= j <= target.num_layers:
        raise ValueError(f"target layer {j} out of range 0..{target.num_layers} for {target.name}")
    if linear.dx != source.info.hidden_size or linear.dy != target.info.hidden_size:
        raise ValueError(f"map is {linear.dx}->{linear.dy} but the models have hidden sizes "
                         f"{source.info.hidden_size}->{target.info.hidden_size}")
    texts = list(texts)
    src = run_forward(source, texts, ["hidden_states"], layers=[i], max_length=max_length)
    tgt = run_forward(target, texts, [], max_length=max_length)
    s_states = src.hidden_states[i].float().cpu().numpy().astype(np.float64)
    s_ok_all, t_ok_all = src.content.numpy(), tgt.content.numpy()
    s_off, t_off = src.offsets.numpy(), tgt.offsets.numpy()
    batch, length = tgt.input_ids.shape
    replaced = np.zeros((batch, length), dtype=bool)
    replacement = np.zeros((batch, length, linear.dy), dtype=np.float64)
    for b, text in enumerate(texts):
        weights = overlap_weights(text, t_off[b], t_ok_all[b], s_off[b], s_ok_all[b])
        rows = weights.sum(axis=1) > 0
        if rows.any():
            replacement[b, rows] = linear.transform(weights[rows] @ s_states[b])
            replaced[b] = rows
    return SpliceBatch(texts=texts, max_length=max_length, encoding=tgt, replacement=torch.as_tensor(replacement),
                       replaced=torch.as_tensor(replaced))


def batches(source: LoadedModel, target: LoadedModel, pair: Pair, linear: LinearMap, texts: Sequence[str],
            max_length: int, batch_size: int = BATCH) -> list[SpliceBatch]:
    """Prepare `texts` for stitching in batches of `batch_size`."""
    if len(texts) == 0:
        raise ValueError("no texts")
    return [prepare(source, target, pair, linear, texts[k : k + batch_size], max_length)
            for k in range(0, len(texts), batch_size)]


@contextlib.contextmanager
def splice(target: LoadedModel, layer: int, batch: SpliceBatch | None, record: list[Any] | None = None
           ) -> Iterator[None]:
    """Replace the target's hidden-state layer `layer` at the batch's replaced positions (None: leave it native).

    `record` receives the (possibly replaced) layer tensor of each forward pass, made a detached leaf that requires
    grad when grad is enabled, so callers can read d loss / d h_j.
    """
    import torch

    def _swap(hidden: Any) -> Any:
        out = hidden
        if batch is not None:
            if tuple(hidden.shape[:2]) != tuple(batch.replaced.shape):
                raise RuntimeError(f"{target.name} tokenized the batch differently between passes")
            mask = batch.replaced.to(hidden.device)[..., None]
            out = torch.where(mask, batch.replacement.to(device=hidden.device, dtype=hidden.dtype), hidden)
        if record is not None:
            if torch.is_grad_enabled():  # a leaf, so d loss / d h_j exists even with upstream parameters frozen
                out = out.detach().requires_grad_(True)
            record.append(out)
        return out

    ctx = get_plugin_manager().hook.alignment_edit_residual(model=target, layer=layer, edit=_swap)
    if ctx is None:
        raise RuntimeError(f"no architecture adapter edits the residual stream of {target.name}")
    with ctx:
        yield


def run_target(target: LoadedModel, batch: SpliceBatch, layer: int, stitched: bool, outputs: Sequence[str], *,
               record: list[Any] | None = None) -> ForwardOutputs:
    """Forward the target on a batch, stitched at `layer` or native, returning the `outputs` asked for."""
    with splice(target, layer, batch if stitched else None, record):
        return run_forward(target, batch.texts, outputs, max_length=batch.max_length)


def stitched_forward(
    source: LoadedModel,
    target: LoadedModel,
    wmatrix: MapLike,
    texts: Sequence[str],
    source_layer: int | None = None,
    max_length: int = 128,
) -> StitchedOutput:
    """Run the target with source states from layer i mapped by W into its layer j (one batch; raw target units).

    Target tokens take the mean of the overlapping source tokens' states (character offsets), mapped with
    y = μy + sy ⊙ (W ((x − μx)/sx)); special tokens, position 0 and unmatched tokens keep the target's own state.
    """
    import torch

    pair, linear = resolve_pair(wmatrix, source_layer)
    batch = prepare(source, target, pair, linear, texts, max_length)
    with torch.inference_mode():
        out = run_target(target, batch, pair[1], True, ["logits", "last_hidden_state"])
    content = batch.content.cpu().numpy()
    replaced = batch.replaced.cpu().numpy()
    return StitchedOutput(
        pair=pair, input_ids=batch.encoding.input_ids.numpy(), attention_mask=batch.encoding.attention_mask.numpy(),
        replaced=replaced, coverage=float(replaced[content].mean()) if content.any() else 0.0,
        last_hidden_state=out.last_hidden_state.float().cpu().numpy(),
        logits=None if out.logits is None else out.logits.float().cpu().numpy(),
    )
