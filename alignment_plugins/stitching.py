"""Functional quality metrics of a W-Matrix: task transfer, model stitching, attention fidelity and head mapping.

*Stitching* runs the source model up to hidden-state layer i, aligns its token states to the target's tokens by
character offsets, maps them through the fitted map of pair (i, j) (``LinearMap.transform``, means included) and
feeds them into the target from layer j on: a forward hook replaces the residual stream after block j−1 (the input
of block j; a pre-hook on block 0 when j = 0). Token alignment: each target token takes the mean of the source
token states whose character spans (trimmed of whitespace) overlap its own. Target special tokens, position 0 (the
attention sink), padding and target tokens that overlap no source token keep the target's own state; source special
tokens and source position 0 are never used as inputs (their states are attention-sink states of the source).

Every interval is a 95% percentile bootstrap (paired where two runs are compared) over texts, or over test rows for
the task probe. Nothing here imports scipy or sklearn; the assignment solver is our own Hungarian algorithm.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from alignment_plugins.solvers.base import LinearMap
from alignment_plugins.types import LoadedModel
from alignment_plugins.wmatrix import WMatrix

__all__ = [
    "StitchedOutput",
    "attention_fidelity",
    "certificate_metrics",
    "gradient_stability",
    "head_mapping",
    "jensen_shannon",
    "linear_assignment",
    "stitched_forward",
    "stitched_loss",
    "task_transfer_accuracy",
]

Pair = tuple[int, int]
MapLike = WMatrix | tuple[Pair, LinearMap]

_LEVEL = 0.95
_RESAMPLES = 1000
_BATCH = 8
_WORD = re.compile(r"\w+|[^\w\s]")


# --------------------------------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------------------------------


def _resolve_pair(wmatrix: MapLike, source_layer: int | None = None) -> tuple[Pair, LinearMap]:
    """Return ((i, j), map) from a WMatrix (pair of `source_layer`, None: best pair) or a ((i, j), LinearMap)."""
    if isinstance(wmatrix, WMatrix):
        pair, linear = wmatrix.map_for(source_layer)
        return (int(pair[0]), int(pair[1])), linear
    if isinstance(wmatrix, tuple) and len(wmatrix) == 2 and isinstance(wmatrix[1], LinearMap):
        pair = (int(wmatrix[0][0]), int(wmatrix[0][1]))
        if source_layer is not None and source_layer != pair[0]:
            raise ValueError(f"the given map is for source layer {pair[0]}, not {source_layer}")
        return pair, wmatrix[1]
    raise TypeError(f"expected a WMatrix or a ((i, j), LinearMap) tuple, got {type(wmatrix).__name__}")


def _finite_or_none(value: float) -> float | None:
    """A Python float, or None where it is NaN/inf (JSON has no NaN)."""
    value = float(value)
    return value if math.isfinite(value) else None


def _bootstrap(
    statistic: Callable[[np.ndarray], float], n: int, *, seed: int = 0, n_resamples: int = _RESAMPLES
) -> tuple[float | None, float | None]:
    """95% percentile bootstrap interval of statistic(rows) over n rows resampled with replacement (None if n < 2)."""
    if n < 2:
        return None, None
    rng = np.random.default_rng(seed)
    values = np.array([statistic(rng.integers(0, n, size=n)) for _ in range(n_resamples)], dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None, None
    alpha = (1.0 - _LEVEL) / 2.0
    return float(np.quantile(values, alpha)), float(np.quantile(values, 1.0 - alpha))


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen–Shannon divergence (bits, in [0, 1]) along the last axis: ½KL(p‖m) + ½KL(q‖m), m = (p + q)/2."""
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, None)
    q = np.clip(np.asarray(q, dtype=np.float64), 0.0, None)
    p = p / np.maximum(p.sum(axis=-1, keepdims=True), 1e-300)
    q = q / np.maximum(q.sum(axis=-1, keepdims=True), 1e-300)
    m = 0.5 * (p + q)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log2(p / np.where(m > 0, m, 1.0)), 0.0).sum(axis=-1)
        kl_q = np.where(q > 0, q * np.log2(q / np.where(m > 0, m, 1.0)), 0.0).sum(axis=-1)
    return np.clip(0.5 * (kl_p + kl_q), 0.0, 1.0)


def linear_assignment(cost: np.ndarray, maximize: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Optimal assignment (Hungarian algorithm with potentials, O(n²m)) of a (n, m) cost matrix, unitless.

    Minimizes Σ_k cost[rows[k], cols[k]] (maximizes with `maximize`) over min(n, m) pairs with distinct rows and
    columns; returns (rows, cols) with rows ascending, the same convention as scipy.optimize.linear_sum_assignment.
    """
    c = np.asarray(cost, dtype=np.float64)
    if c.ndim != 2:
        raise ValueError(f"cost must be a 2-D matrix, got shape {c.shape}")
    if not np.isfinite(c).all():
        raise ValueError("cost contains non-finite values")
    if c.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if maximize:
        c = -c
    transposed = c.shape[0] > c.shape[1]
    if transposed:
        c = c.T
    n, m = c.shape
    u = np.zeros(n + 1)
    v = np.zeros(m + 1)
    owner = np.zeros(m + 1, dtype=np.int64)  # owner[col] = 1-based row assigned to col (0 = free); col 0 is virtual
    way = np.zeros(m + 1, dtype=np.int64)
    for row in range(1, n + 1):
        owner[0] = row
        col0 = 0
        minv = np.full(m + 1, np.inf)
        used = np.zeros(m + 1, dtype=bool)
        while True:
            used[col0] = True
            i0 = owner[col0]
            free = ~used[1:]
            reduced = c[i0 - 1] - u[i0] - v[1:]
            better = free & (reduced < minv[1:])
            minv[1:][better] = reduced[better]
            way[1:][better] = col0
            candidates = np.where(free, minv[1:], np.inf)
            col1 = int(np.argmin(candidates)) + 1
            delta = candidates[col1 - 1]
            u[owner[used]] += delta
            v[used] -= delta
            minv[1:][free] -= delta
            col0 = col1
            if owner[col0] == 0:
                break
        while col0:
            col1 = way[col0]
            owner[col0] = owner[col1]
            col0 = col1
    cols = np.nonzero(owner[1:])[0]
    rows = owner[1:][cols] - 1
    if transposed:
        rows, cols = cols, rows
    order = np.argsort(rows)
    return rows[order].astype(np.int64), cols[order].astype(np.int64)


# --------------------------------------------------------------------------------------------------------------------
# task transfer
# --------------------------------------------------------------------------------------------------------------------


def _fit_softmax(z: np.ndarray, y: np.ndarray, k: int, l2: float, max_iter: int) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression (mean cross-entropy + l2/2·‖W‖²) by L-BFGS; returns W (k, d), b (k,).

    With fewer rows than dimensions the problem is solved in the row space of z (z = U S Vᵀ, features z V, V from
    the eigendecomposition of the Gram matrix z zᵀ): the regularized optimum lies in that span, so this is exact
    and costs O(N²) per step instead of O(N·d).
    """
    import torch

    basis = None
    if z.shape[0] < z.shape[1]:
        evals, u = np.linalg.eigh(z @ z.T)
        keep = evals > max(float(evals.max()), 0.0) * 1e-12
        basis = (z.T @ u[:, keep]) / np.sqrt(evals[keep])  # (d, r) orthonormal columns spanning the rows of z
        z = z @ basis
    x = torch.as_tensor(z, dtype=torch.float64)
    target = torch.as_tensor(y, dtype=torch.long)
    weight = torch.zeros(k, x.shape[1], dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(k, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=max_iter, tolerance_grad=1e-9,
                                  tolerance_change=1e-12, history_size=20, line_search_fn="strong_wolfe")

    def closure() -> Any:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ weight.T + bias, target) + 0.5 * l2 * (weight * weight).sum()
        loss.backward()
        return loss

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # (N, r) problems: thread start-up costs more than it saves, badly so on a busy host
    try:
        with torch.enable_grad():
            optimizer.step(closure)
    finally:
        torch.set_num_threads(threads)
    w = weight.detach().numpy()
    return (w if basis is None else w @ basis.T), bias.detach().numpy()


def task_transfer_accuracy(
    src_train: np.ndarray,
    y_train: Sequence[Any],
    src_test: np.ndarray,
    tgt_test: np.ndarray,
    y_test: Sequence[Any],
    wmatrix_or_linear_map: WMatrix | LinearMap | tuple[Pair, LinearMap],
    *,
    layer: int | None = None,
    l2: float = 1e-2,
    max_iter: int = 100,
    seed: int = 0,
) -> dict[str, Any]:
    """Accuracy (fraction, 0..1) of a source-space linear probe on target states mapped back by the map's inverse.

    A multinomial logistic-regression probe is trained on source pooled states standardized with the map's source
    statistics, z = (x − μx)/sx. It is scored on source test states (``source_accuracy``) and on target test states
    mapped into the source space, x̂ = μx + sx ⊙ (W⁺ ((y − μy)/sy)) (``transferred_accuracy``).
    relative_accuracy = transferred_accuracy / source_accuracy (None when the source probe scores 0), with a 95%
    percentile bootstrap interval over test rows (``ci_low``, ``ci_high``). ``chance_accuracy`` is the accuracy of
    always predicting the most frequent training class. `layer` picks the WMatrix pair by source layer.
    """
    if isinstance(wmatrix_or_linear_map, LinearMap):
        linear = wmatrix_or_linear_map
    else:
        _, linear = _resolve_pair(wmatrix_or_linear_map, layer)
    xs_train = np.asarray(src_train, dtype=np.float64)
    xs_test = np.asarray(src_test, dtype=np.float64)
    yt_test = np.asarray(tgt_test, dtype=np.float64)
    labels_train = list(y_train)
    labels_test = list(y_test)
    if xs_train.ndim != 2 or xs_train.shape[0] != len(labels_train):
        raise ValueError(f"src_train must be (N, d) with one label per row; got {xs_train.shape}, {len(labels_train)}")
    if xs_test.shape[0] != len(labels_test) or yt_test.shape[0] != len(labels_test):
        raise ValueError("src_test, tgt_test and y_test must have the same number of rows")
    if len(labels_test) == 0:
        raise ValueError("no test rows")
    classes = sorted(set(labels_train), key=str)
    if len(classes) < 2:
        raise ValueError("the probe needs at least two classes in y_train")
    index = {label: k for k, label in enumerate(classes)}
    train_idx = np.array([index[label] for label in labels_train])
    test_idx = np.array([index.get(label, -1) for label in labels_test])

    def _z(x: np.ndarray) -> np.ndarray:
        return (x - linear.mean_x) / linear.scale_x

    weight, bias = _fit_softmax(_z(xs_train), train_idx, len(classes), float(l2), int(max_iter))
    correct_source = (np.argmax(_z(xs_test) @ weight.T + bias, axis=1) == test_idx).astype(np.float64)
    mapped_back = linear.inverse(yt_test)
    correct_transfer = (np.argmax(_z(mapped_back) @ weight.T + bias, axis=1) == test_idx).astype(np.float64)
    source_acc = float(correct_source.mean())
    transfer_acc = float(correct_transfer.mean())

    def _relative(rows: np.ndarray) -> float:
        den = correct_source[rows].mean()
        return float(correct_transfer[rows].mean() / den) if den > 0 else float("nan")

    low, high = _bootstrap(_relative, len(labels_test), seed=seed)
    majority = np.bincount(train_idx, minlength=len(classes)).argmax()
    return {
        "source_accuracy": source_acc,
        "transferred_accuracy": transfer_acc,
        "relative_accuracy": _finite_or_none(transfer_acc / source_acc) if source_acc > 0 else None,
        "ci_low": low,
        "ci_high": high,
        "chance_accuracy": float(np.mean(test_idx == majority)),
        "n_train": len(labels_train),
        "n_test": len(labels_test),
        "classes": [c.item() if isinstance(c, np.generic) else c for c in classes],
    }


# --------------------------------------------------------------------------------------------------------------------
# stitching machinery
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class _Batch:
    """One batch of texts prepared for stitching: target encoding, replacement states and where they go."""

    texts: list[str]
    encoded: dict[str, Any]  # target tokenization (torch tensors)
    replacement: Any  # (B, T, d_target) torch tensor of mapped source states (zeros where not replaced)
    replaced: Any  # (B, T) bool torch tensor: positions whose layer-j state is replaced
    content: Any  # (B, T) bool torch tensor: real, non-special target tokens, never position 0


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


def _trimmed_spans(text: str, offsets: np.ndarray) -> np.ndarray:
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


def _content_positions(encoded: dict[str, Any]) -> Any:
    """(B, T) bool: real, non-special tokens, excluding position 0 (the attention sink)."""
    mask = encoded["attention_mask"].bool() & ~encoded["special_tokens_mask"].bool()
    mask[:, 0] = False
    return mask


def _overlap_weights(text: str, t_offsets: np.ndarray, t_ok: np.ndarray, s_offsets: np.ndarray,
                     s_ok: np.ndarray) -> np.ndarray:
    """(Tt, Ts) row-stochastic weights averaging the source tokens whose spans overlap each target token."""
    ts = _trimmed_spans(text, t_offsets)
    ss = _trimmed_spans(text, s_offsets)
    t_valid = t_ok & (ts[:, 1] > ts[:, 0])
    s_valid = s_ok & (ss[:, 1] > ss[:, 0])
    overlap = (ss[None, :, 0] < ts[:, None, 1]) & (ss[None, :, 1] > ts[:, None, 0])
    overlap &= t_valid[:, None] & s_valid[None, :]
    weights = overlap.astype(np.float64)
    counts = weights.sum(axis=1, keepdims=True)
    return np.divide(weights, counts, out=np.zeros_like(weights), where=counts > 0)


def _prepare(source: LoadedModel, target: LoadedModel, pair: Pair, linear: LinearMap, texts: Sequence[str],
             max_length: int) -> _Batch:
    """Run the source to layer i, align its token states to the target's tokens, map them with W (raw units)."""
    import torch

    from alignment_plugins.architectures.hf_common import hooked_forward, tokenize

    i, j = pair
    if not 0 <= j <= target.num_layers:
        raise ValueError(f"target layer {j} out of range 0..{target.num_layers} for {target.name}")
    if linear.dx != source.info.hidden_size or linear.dy != target.info.hidden_size:
        raise ValueError(f"map is {linear.dx}->{linear.dy} but the models have hidden sizes "
                         f"{source.info.hidden_size}->{target.info.hidden_size}")
    texts = list(texts)
    s_enc = tokenize(source, texts, max_length=max_length)
    t_enc = tokenize(target, texts, max_length=max_length)
    s_states = hooked_forward(source, s_enc, [i])[i].float().cpu().numpy().astype(np.float64)
    s_ok_all = _content_positions(s_enc).numpy()
    t_ok_all = _content_positions(t_enc).numpy()
    s_off = s_enc["offset_mapping"].numpy()
    t_off = t_enc["offset_mapping"].numpy()
    batch, length = t_enc["input_ids"].shape
    replaced = np.zeros((batch, length), dtype=bool)
    replacement = np.zeros((batch, length, linear.dy), dtype=np.float64)
    for b, text in enumerate(texts):
        weights = _overlap_weights(text, t_off[b], t_ok_all[b], s_off[b], s_ok_all[b])
        rows = weights.sum(axis=1) > 0
        if rows.any():
            replacement[b, rows] = linear.transform(weights[rows] @ s_states[b])
            replaced[b] = rows
    param = next(target.model.parameters())
    return _Batch(
        texts=texts, encoded=t_enc,
        replacement=torch.as_tensor(replacement, dtype=param.dtype, device=param.device),
        replaced=torch.as_tensor(replaced, device=param.device), content=_content_positions(t_enc),
    )


def _batches(source: LoadedModel, target: LoadedModel, pair: Pair, linear: LinearMap, texts: Sequence[str],
             max_length: int, batch_size: int = _BATCH) -> list[_Batch]:
    if len(texts) == 0:
        raise ValueError("no texts")
    return [_prepare(source, target, pair, linear, texts[k : k + batch_size], max_length)
            for k in range(0, len(texts), batch_size)]


@contextlib.contextmanager
def _stitch(target: LoadedModel, layer: int, batch: _Batch | None, record: list[Any] | None = None) -> Iterator[None]:
    """Replace the target's hidden-state layer `layer` at the batch's replaced positions (None: leave it native).

    `record` receives the (possibly replaced) layer tensor of each forward pass, made a detached leaf that requires
    grad when grad is enabled, so callers can read d loss / d h_j.
    """
    import torch

    from alignment_plugins.architectures.hf_common import find_blocks

    blocks = find_blocks(target.model, target.num_layers)

    def _swap(hidden: Any) -> Any:
        out = hidden
        if batch is not None:
            mask = batch.replaced.to(hidden.device)[..., None]
            out = torch.where(mask, batch.replacement.to(device=hidden.device, dtype=hidden.dtype), hidden)
        if record is not None:
            if torch.is_grad_enabled():  # a leaf, so d loss / d h_j exists even with upstream parameters frozen
                out = out.detach().requires_grad_(True)
            record.append(out)
        return out

    if layer == 0:

        def _pre(module: Any, args: tuple, kwargs: dict) -> Any:
            if args:
                return (_swap(args[0]), *args[1:]), kwargs
            kwargs["hidden_states"] = _swap(kwargs["hidden_states"])
            return args, kwargs

        handle = blocks[0].register_forward_pre_hook(_pre, with_kwargs=True)
    else:

        def _post(module: Any, args: tuple, output: Any) -> Any:
            if isinstance(output, (tuple, list)):
                return (_swap(output[0]), *output[1:])
            return _swap(output)

        handle = blocks[layer - 1].register_forward_hook(_post)
    try:
        yield
    finally:
        handle.remove()


@contextlib.contextmanager
def _eager_attention(model: LoadedModel) -> Iterator[None]:
    """Temporarily switch the model to the eager attention implementation (which returns probabilities)."""
    module = model.model
    previous = getattr(module.config, "_attn_implementation", None)
    switch = previous not in (None, "eager") and hasattr(module, "set_attn_implementation")
    if switch:
        module.set_attn_implementation("eager")
    try:
        yield
    finally:
        if switch:
            module.set_attn_implementation(previous)


def _base(model: LoadedModel) -> Any:
    return getattr(model.model, "base_model", model.model)


def _has_lm_head(model: LoadedModel) -> bool:
    getter = getattr(model.model, "get_output_embeddings", None)
    return getter is not None and getter() is not None


def _run_target(target: LoadedModel, batch: _Batch, layer: int, stitched: bool, *, attention_block: int | None = None,
                logits: bool = False, record: list[Any] | None = None) -> Any:
    """Forward the target on a batch (stitched or native); returns attention probs of a block, logits or hidden."""
    device = next(target.model.parameters()).device
    inputs = {"input_ids": batch.encoded["input_ids"].to(device),
              "attention_mask": batch.encoded["attention_mask"].to(device), "use_cache": False}
    with _stitch(target, layer, batch if stitched else None, record):
        if attention_block is not None:
            with _eager_attention(target):
                out = _base(target)(**inputs, output_attentions=True)
            if not out.attentions or out.attentions[attention_block] is None:
                raise RuntimeError(f"{target.name} returned no attention probabilities")
            return out.attentions[attention_block]
        if logits:
            return target.model(**inputs).logits
        return _base(target)(**inputs).last_hidden_state


def _require_lm_head(target: LoadedModel) -> None:
    if not _has_lm_head(target):
        raise ValueError(f"{target.name} has no language-model head: next-token loss is undefined for it")


def _token_losses(logits: Any, batch: _Batch) -> tuple[Any, Any]:
    """Per-text summed next-token cross-entropy (nats) and token counts: positions t predict t+1, both real."""
    import torch

    ids = batch.encoded["input_ids"].to(logits.device)
    mask = batch.encoded["attention_mask"].to(logits.device).bool()
    valid = (mask[:, :-1] & mask[:, 1:]).float()
    ce = torch.nn.functional.cross_entropy(
        logits[:, :-1].float().reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), reduction="none"
    ).reshape(valid.shape)
    return (ce * valid).sum(dim=1), valid.sum(dim=1)


# --------------------------------------------------------------------------------------------------------------------
# public stitching metrics
# --------------------------------------------------------------------------------------------------------------------


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

    pair, linear = _resolve_pair(wmatrix, source_layer)
    batch = _prepare(source, target, pair, linear, texts, max_length)
    device = next(target.model.parameters()).device
    inputs = {"input_ids": batch.encoded["input_ids"].to(device),
              "attention_mask": batch.encoded["attention_mask"].to(device), "use_cache": False}
    logits = None
    with torch.inference_mode(), _stitch(target, pair[1], batch):
        if _has_lm_head(target):
            out = target.model(**inputs, output_hidden_states=True)
            logits, hidden = out.logits, out.hidden_states[-1]
        else:
            hidden = _base(target)(**inputs).last_hidden_state
    content = batch.content.cpu().numpy()
    replaced = batch.replaced.cpu().numpy()
    return StitchedOutput(
        pair=pair, input_ids=batch.encoded["input_ids"].numpy(), attention_mask=batch.encoded["attention_mask"].numpy(),
        replaced=replaced, coverage=float(replaced[content].mean()) if content.any() else 0.0,
        last_hidden_state=hidden.float().cpu().numpy(), logits=None if logits is None else logits.float().cpu().numpy(),
    )


def _attention_fidelity(target: LoadedModel, batches: list[_Batch], layer: int, *, exclude_sink_keys: bool,
                        seed: int) -> dict[str, Any]:
    import torch

    if layer >= target.num_layers:
        raise ValueError(f"target layer {layer} is the last hidden state of {target.name}: no block reads it")
    per_text: list[float] = []
    with torch.inference_mode():
        for batch in batches:
            stitched = _run_target(target, batch, layer, True, attention_block=layer).float().cpu().numpy()
            native = _run_target(target, batch, layer, False, attention_block=layer).float().cpu().numpy()
            content = batch.content.cpu().numpy()
            keys = content if exclude_sink_keys else batch.encoded["attention_mask"].bool().numpy()
            for b in range(len(batch.texts)):
                queries = np.nonzero(content[b])[0]
                if queries.size == 0:
                    continue
                cols = np.nonzero(keys[b])[0]
                p = stitched[b][:, queries][:, :, cols]
                q = native[b][:, queries][:, :, cols]
                per_text.append(float(jensen_shannon(p, q).mean()))
    if not per_text:
        raise ValueError("no text has a content token to compare attention on")
    values = np.asarray(per_text)
    low, high = _bootstrap(lambda rows: float(values[rows].mean()), values.size, seed=seed)
    return {
        "value": 1.0 - float(values.mean()),
        "ci_low": None if high is None else 1.0 - high,
        "ci_high": None if low is None else 1.0 - low,
        "mean_jsd_bits": float(values.mean()),
        "n_texts": int(values.size),
        "target_block": int(layer),
        "exclude_sink_keys": bool(exclude_sink_keys),
        "space": "target attention probabilities at the first block after the stitch",
        "definition": "1 - mean Jensen-Shannon divergence (bits) between stitched and native attention rows over "
                      "heads and content queries (no specials, no position 0), averaged per text then over texts",
    }


def attention_fidelity(
    source: LoadedModel,
    target: LoadedModel,
    wmatrix: MapLike,
    texts: Sequence[str],
    source_layer: int | None = None,
    max_length: int = 128,
    *,
    exclude_sink_keys: bool = False,
    seed: int = 0,
) -> dict[str, Any]:
    """Attention fidelity in [0, 1] at target block j (the block reading the stitched layer): 1 − mean JSD (bits).

    fidelity = 1 − mean_texts mean_{heads, queries} JS(a_stitched(q, ·), a_native(q, ·)), JS in base 2. Queries are
    the target's content tokens (no special tokens, never position 0, which only attends to itself in a causal
    model and is an attention sink). Keys: all real tokens, or only content tokens with `exclude_sink_keys` (rows
    renormalized). Returns {"value", "ci_low", "ci_high" (bootstrap over texts), "mean_jsd_bits", "n_texts", ...}.
    """
    pair, linear = _resolve_pair(wmatrix, source_layer)
    batches = _batches(source, target, pair, linear, texts, max_length)
    return _attention_fidelity(target, batches, pair[1], exclude_sink_keys=exclude_sink_keys, seed=seed)


def _stitched_loss(target: LoadedModel, batches: list[_Batch], layer: int, *, seed: int) -> dict[str, Any]:
    import torch

    _require_lm_head(target)
    sums = {True: [], False: []}
    counts: list[float] = []
    with torch.inference_mode():
        for batch in batches:
            for stitched in (True, False):
                total, count = _token_losses(_run_target(target, batch, layer, stitched, logits=True), batch)
                sums[stitched].extend(total.cpu().tolist())
            counts.extend(count.cpu().tolist())
    s, n, c = np.asarray(sums[True]), np.asarray(sums[False]), np.asarray(counts)
    if c.sum() <= 0:
        raise ValueError("the texts have no next-token predictions (every text is a single token)")

    def _stats(rows: np.ndarray) -> tuple[float, float]:
        den = c[rows].sum()
        return (s[rows].sum() / den, n[rows].sum() / den) if den > 0 else (float("nan"), float("nan"))

    stitched_ce, native_ce = _stats(np.arange(c.size))
    ci = {
        "stitched": _bootstrap(lambda r: _stats(r)[0], c.size, seed=seed),
        "native": _bootstrap(lambda r: _stats(r)[1], c.size, seed=seed),
        "difference": _bootstrap(lambda r: _stats(r)[0] - _stats(r)[1], c.size, seed=seed),
        "ratio": _bootstrap(lambda r: _stats(r)[0] / _stats(r)[1], c.size, seed=seed),
    }
    return {
        "value": _finite_or_none(stitched_ce - native_ce),
        "stitched": _finite_or_none(stitched_ce),
        "native": _finite_or_none(native_ce),
        "difference": _finite_or_none(stitched_ce - native_ce),
        "ratio": _finite_or_none(stitched_ce / native_ce) if native_ce > 0 else None,
        "ci": {key: list(value) for key, value in ci.items()},
        "ci_low": ci["difference"][0],
        "ci_high": ci["difference"][1],
        "n_texts": int(c.size),
        "n_tokens": int(c.sum()),
        "units": "nats/token",
        "space": "target next-token predictions on the texts",
        "definition": "token-weighted mean next-token cross-entropy of the target with its layer-j states replaced "
                      "by mapped source states (stitched) vs unmodified (native); value = stitched - native",
    }


def stitched_loss(
    source: LoadedModel,
    target: LoadedModel,
    wmatrix: MapLike,
    texts: Sequence[str],
    source_layer: int | None = None,
    max_length: int = 128,
    *,
    seed: int = 0,
) -> dict[str, Any]:
    """Next-token cross-entropy (nats/token) of the target, stitched vs native, with paired bootstrap CIs over texts.

    CE = Σ_texts Σ_t −log p(x_{t+1} | x_≤t) / #predictions, over every position t whose next token is real.
    Returns {"stitched", "native", "difference" (= stitched − native, also "value"), "ratio" (= stitched/native),
    "ci": {name: [low, high]}, "ci_low"/"ci_high" (of the difference), "n_texts", "n_tokens", ...}. Causal targets
    only (a target without an LM head raises ValueError).
    """
    pair, linear = _resolve_pair(wmatrix, source_layer)
    _require_lm_head(target)
    batches = _batches(source, target, pair, linear, texts, max_length)
    return _stitched_loss(target, batches, pair[1], seed=seed)


def _downstream_parameters(target: LoadedModel, layer: int) -> list[Any]:
    """Target parameters downstream of hidden-state layer `layer`: blocks layer.., final norm, head (no embeddings)."""
    from alignment_plugins.architectures.hf_common import find_blocks

    blocks = find_blocks(target.model, target.num_layers)
    upstream = {id(p) for block in blocks[:layer] for p in block.parameters()}
    embeddings = target.model.get_input_embeddings()
    if embeddings is not None:
        upstream |= {id(p) for p in embeddings.parameters()}
    for name, module in target.model.named_modules():  # learned absolute position embeddings (gpt2 wpe, ...)
        if name.endswith(("wpe", "position_embeddings", "embed_positions")):
            upstream |= {id(p) for p in module.parameters()}
    return [p for p in target.model.parameters() if id(p) not in upstream]


def _gradient_stability(target: LoadedModel, batches: list[_Batch], layer: int, factor: float) -> dict[str, Any]:
    import torch

    _require_lm_head(target)
    params = list(target.model.parameters())
    downstream = _downstream_parameters(target, layer)
    wanted = {id(p) for p in downstream}
    saved = [(p, p.requires_grad, p.grad) for p in params]
    total_tokens = 0.0
    for batch in batches:
        mask = batch.encoded["attention_mask"].bool()
        total_tokens += float((mask[:, :-1] & mask[:, 1:]).sum())
    if total_tokens <= 0:
        raise ValueError("the texts have no next-token predictions (every text is a single token)")
    results: dict[bool, tuple[float, float, float, bool]] = {}
    try:
        for p in params:
            p.requires_grad_(id(p) in wanted)
        for stitched in (True, False):
            for p in params:
                p.grad = None
            state_sq = 0.0
            loss_sum = 0.0
            finite = True
            with torch.enable_grad():
                for batch in batches:
                    record: list[Any] = []
                    logits = _run_target(target, batch, layer, stitched, logits=True, record=record)
                    total, _ = _token_losses(logits, batch)
                    loss = total.sum() / total_tokens
                    loss.backward()
                    loss_sum += float(loss.detach())
                    grad = record[0].grad if record and record[0].grad is not None else None
                    if grad is not None:
                        valid = batch.encoded["attention_mask"].bool().to(grad.device)
                        state_sq += float((grad.float()[valid] ** 2).sum())
                        finite &= bool(torch.isfinite(grad).all())
            param_sq = 0.0
            for p in downstream:
                if p.grad is not None:
                    finite &= bool(torch.isfinite(p.grad).all())
                    param_sq += float((p.grad.float() ** 2).sum())
            finite &= math.isfinite(loss_sum)
            results[stitched] = (math.sqrt(param_sq), math.sqrt(state_sq), loss_sum, finite)
    finally:
        for p, requires_grad, grad in saved:
            p.requires_grad_(requires_grad)
            p.grad = grad
    (s_norm, s_state, s_loss, s_ok), (n_norm, n_state, n_loss, n_ok) = results[True], results[False]
    ratio = s_norm / n_norm if n_norm > 0 else float("inf")
    finite = s_ok and n_ok and math.isfinite(s_norm) and math.isfinite(n_norm)
    passed = finite and n_norm > 0 and 1.0 / factor <= ratio <= factor
    return {
        "passed": bool(passed),
        "value": _finite_or_none(ratio),
        "stitched_grad_norm": _finite_or_none(s_norm),
        "native_grad_norm": _finite_or_none(n_norm),
        "ratio": _finite_or_none(ratio),
        "factor": float(factor),
        "finite": bool(finite),
        "stitched_state_grad_norm": _finite_or_none(s_state),
        "native_state_grad_norm": _finite_or_none(n_state),
        "stitched_loss": _finite_or_none(s_loss),
        "native_loss": _finite_or_none(n_loss),
        "n_parameters": int(sum(p.numel() for p in downstream)),
        "space": "target parameters downstream of the stitch (blocks j.., final norm, LM head; no embeddings)",
        "definition": f"global L2 norm of d(mean next-token CE)/d(parameters), stitched vs native; passed when all "
                      f"gradients are finite and 1/{factor:g} <= stitched/native <= {factor:g}",
    }


def gradient_stability(
    source: LoadedModel,
    target: LoadedModel,
    wmatrix: MapLike,
    texts: Sequence[str],
    source_layer: int | None = None,
    max_length: int = 128,
    factor: float = 10.0,
) -> dict[str, Any]:
    """Whether the stitched model's loss gradient is finite and within `factor` (either way) of the native one's.

    g = ‖∂CE/∂θ‖₂ over the target parameters downstream of the stitch (blocks j.., final norm, LM head; embeddings
    and blocks before j excluded, as the stitched run cuts them off), CE = mean next-token cross-entropy (nats/token).
    passed = all gradients finite and 1/factor ≤ g_stitched / g_native ≤ factor. Also reports ‖∂CE/∂h_j‖₂, the
    gradient with respect to the (stitched) layer-j input states. Returns {"passed", "stitched_grad_norm",
    "native_grad_norm", "ratio", "factor", ...}. Causal targets only.
    """
    if not factor > 1.0:
        raise ValueError(f"factor must be > 1, got {factor}")
    pair, linear = _resolve_pair(wmatrix, source_layer)
    _require_lm_head(target)
    batches = _batches(source, target, pair, linear, texts, max_length)
    return _gradient_stability(target, batches, pair[1], float(factor))


# --------------------------------------------------------------------------------------------------------------------
# head mapping
# --------------------------------------------------------------------------------------------------------------------


def _word_spans(text: str) -> np.ndarray:
    return np.array([m.span() for m in _WORD.finditer(text)], dtype=np.int64).reshape(-1, 2)


def _word_membership(text: str, words: np.ndarray, offsets: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """(W, T) 0/1 matrix: token t (content, position > 0) overlaps word w."""
    spans = _trimmed_spans(text, offsets)
    valid = ok & (spans[:, 1] > spans[:, 0])
    overlap = (spans[None, :, 0] < words[:, None, 1]) & (spans[None, :, 1] > words[:, None, 0])
    return (overlap & valid[None, :]).astype(np.float64)


def _word_grid(attn: np.ndarray, member: np.ndarray) -> np.ndarray:
    """(H, W, W) word-level attention: mean over a word's query tokens, sum over its key tokens, rows renormalized."""
    counts = member.sum(axis=1, keepdims=True)
    query = np.divide(member, counts, out=np.zeros_like(member), where=counts > 0)
    grid = np.einsum("wq,hqk,vk->hwv", query, attn, member)
    sums = grid.sum(axis=-1, keepdims=True)
    return np.divide(grid, sums, out=np.zeros_like(grid), where=sums > 0)


def _native_attention(model: LoadedModel, texts: list[str], block: int, max_length: int) -> list[tuple[Any, ...]]:
    """Per text: (attention probs (H, T, T) of `block`, offsets (T, 2), content mask (T,), uniform attention over
    the visible real keys (1, T, T)), native forward."""
    import torch

    from alignment_plugins.architectures.hf_common import tokenize

    enc = tokenize(model, texts, max_length=max_length)
    device = next(model.model.parameters()).device
    with torch.inference_mode(), _eager_attention(model):
        out = _base(model)(input_ids=enc["input_ids"].to(device), attention_mask=enc["attention_mask"].to(device),
                           output_attentions=True, use_cache=False)
    probs = out.attentions[block].float().cpu().numpy().astype(np.float64)
    content = _content_positions(enc).numpy()
    offsets = enc["offset_mapping"].numpy()
    real = enc["attention_mask"].bool().numpy()
    length = real.shape[1]
    allowed = np.tril(np.ones((length, length), dtype=bool)) if model.info.kind == "causal" else np.ones(
        (length, length), dtype=bool)
    out_rows = []
    for b in range(len(texts)):
        uniform = (allowed & real[b][None, :]).astype(np.float64)
        uniform /= np.maximum(uniform.sum(axis=1, keepdims=True), 1.0)
        out_rows.append((probs[b], offsets[b], content[b], uniform[None]))
    return out_rows


def _similarity_matrix(source: LoadedModel, target: LoadedModel, blocks: Pair, texts: Sequence[str],
                       max_length: int, batch_size: int = _BATCH) -> np.ndarray:
    """(Hs, Ht) Pearson correlation of per-head word-level attention patterns minus the model's uniform-attention
    pattern (so the shared causal/positional baseline does not make every pair look alike), over all texts."""
    causal = source.info.kind == "causal" and target.info.kind == "causal"
    acc: dict[str, Any] = {}
    count = 0
    texts = list(texts)
    for start in range(0, len(texts), batch_size):
        chunk = texts[start : start + batch_size]
        src = _native_attention(source, chunk, blocks[0], max_length)
        tgt = _native_attention(target, chunk, blocks[1], max_length)
        for text, (sa, so, sc, su), (ta, to, tc, tu) in zip(chunk, src, tgt, strict=True):
            words = _word_spans(text)
            if len(words) == 0:
                continue
            sm, tm = _word_membership(text, words, so, sc), _word_membership(text, words, to, tc)
            keep = (sm.sum(axis=1) > 0) & (tm.sum(axis=1) > 0)
            if not keep.any():
                continue
            sg = _word_grid(sa, sm[keep]) - _word_grid(su, sm[keep])  # deviation from uniform attention
            tg = _word_grid(ta, tm[keep]) - _word_grid(tu, tm[keep])
            n_words = int(keep.sum())
            cells = np.tril(np.ones((n_words, n_words), dtype=bool)) if causal else np.ones((n_words, n_words), bool)
            x, y = sg[:, cells], tg[:, cells]  # (Hs, F), (Ht, F)
            for key, value in (("x", x.sum(1)), ("y", y.sum(1)), ("xx", (x * x).sum(1)), ("yy", (y * y).sum(1)),
                               ("xy", x @ y.T)):
                acc[key] = acc.get(key, 0.0) + value
            count += x.shape[1]
    if count < 2:
        raise ValueError("the texts give too few word pairs to compare attention patterns")
    mx, my = acc["x"] / count, acc["y"] / count
    cov = acc["xy"] / count - np.outer(mx, my)
    vx = np.maximum(acc["xx"] / count - mx * mx, 0.0)
    vy = np.maximum(acc["yy"] / count - my * my, 0.0)
    den = np.sqrt(np.outer(vx, vy))
    return np.clip(np.divide(cov, den, out=np.zeros_like(cov), where=den > 1e-18), -1.0, 1.0)


def _head_blocks(source: LoadedModel, target: LoadedModel, pair: Pair) -> Pair:
    """Blocks reading hidden-state layers i and j (the last block when the layer is the final hidden state)."""
    return min(pair[0], source.num_layers - 1), min(pair[1], target.num_layers - 1)


def head_mapping(
    source: LoadedModel,
    target: LoadedModel,
    wmatrix_or_pair: MapLike | Pair,
    texts: Sequence[str],
    max_length: int = 128,
) -> dict[str, Any]:
    """Heads of source block i matched one-to-one to heads of target block j by attention-pattern correlation (−1..1).

    Each head's attention matrix is pooled onto the words of the text (``\\w+`` runs and punctuation, shared by
    both tokenizers): word-level A_w[u, v] = mean over u's query tokens of Σ over v's key tokens, rows
    renormalized; special tokens and position 0 (attention sinks) are dropped as queries and keys first, and the
    same pooling of uniform attention over the visible keys is subtracted (the baseline every head shares).
    similarity = Pearson correlation of the two heads' word-level deviations over all texts (lower triangle for
    causal pairs);
    the assignment maximizing Σ similarity is found with the Hungarian algorithm (min(Hs, Ht) pairs). Blocks i and j
    are those reading hidden-state layers i and j (the last block for the final layer). Returns {"value" (= mean
    similarity of the matched pairs), "pairs": [{"source_head", "target_head", "similarity"}], "similarity": (Hs, Ht)
    nested list, "source_block", "target_block", ...}.
    """
    if isinstance(wmatrix_or_pair, tuple) and len(wmatrix_or_pair) == 2 and not isinstance(wmatrix_or_pair[1],
                                                                                         LinearMap):
        pair = (int(wmatrix_or_pair[0]), int(wmatrix_or_pair[1]))
    else:
        pair, _ = _resolve_pair(wmatrix_or_pair)  # type: ignore[arg-type]
    if len(texts) == 0:
        raise ValueError("no texts")
    blocks = _head_blocks(source, target, pair)
    sim = _similarity_matrix(source, target, blocks, texts, max_length)
    rows, cols = linear_assignment(sim, maximize=True)
    pairs = [{"source_head": int(r), "target_head": int(c), "similarity": float(sim[r, c])}
             for r, c in zip(rows, cols, strict=True)]
    return {
        "value": float(np.mean([p["similarity"] for p in pairs])),
        "mean_similarity": float(np.mean([p["similarity"] for p in pairs])),
        "pairs": pairs,
        "similarity": sim.round(6).tolist(),
        "source_block": int(blocks[0]),
        "target_block": int(blocks[1]),
        "n_texts": len(texts),
        "space": "attention patterns pooled onto a common word grid (no special tokens, no position 0)",
        "definition": "Pearson correlation of per-head word-level attention matrices minus the uniform-attention "
                      "baseline; one-to-one head assignment "
                      "maximizing total correlation (Hungarian); value = mean correlation of assigned pairs",
    }


# --------------------------------------------------------------------------------------------------------------------
# certificate
# --------------------------------------------------------------------------------------------------------------------


def _pooled(model: LoadedModel, texts: list[str], layer: int, pooling: str, max_length: int) -> np.ndarray:
    from alignment_plugins.extraction import extract

    return extract(model, texts, [layer], pooling=pooling, cache=False, max_length=max_length).layers[layer]


def _not_applicable(reason: str, space: str, definition: str) -> dict[str, Any]:
    return {"value": None, "applicable": False, "reason": reason, "space": space, "definition": definition}


def certificate_metrics(
    source: LoadedModel,
    target: LoadedModel,
    wmatrix: MapLike,
    texts: Sequence[str],
    labels: Sequence[Any] | None = None,
    train_texts: Sequence[str] | None = None,
    train_labels: Sequence[Any] | None = None,
    max_texts: int = 64,
    seed: int = 0,
) -> dict[str, Any]:
    """All functional metrics of the best pair (i, j) of `wmatrix` as one JSON-serializable dict.

    Keys "task_transfer" (relative probe accuracy, only with `labels`; without `train_texts` the texts are split
    in half, seeded), "attention_fidelity", "stitched_loss" (nats/token), "gradient_stability", "head_mapping";
    each a dict with "value", its interval(s) where defined, "space" and "definition". A metric that does not
    apply (no labels, no LM head, j is the last layer) has value None, "applicable": False and a "reason".
    At most `max_texts` texts (a seeded sample) are used for each of the evaluation and training sets.
    """
    pair, linear = _resolve_pair(wmatrix)
    i, j = pair
    max_length = 128
    texts = list(texts)
    if labels is not None and len(labels) != len(texts):
        raise ValueError(f"{len(labels)} labels for {len(texts)} texts")
    rng = np.random.default_rng(seed)
    if len(texts) > max_texts:
        keep = np.sort(rng.choice(len(texts), size=max_texts, replace=False))
        texts = [texts[k] for k in keep]
        labels = None if labels is None else [labels[k] for k in keep]
    pooling = str((getattr(wmatrix, "anchors", None) or {}).get("pooling", "mean"))
    out: dict[str, Any] = {"pair": [i, j], "n_texts": len(texts), "seed": seed, "max_length": max_length}

    # task transfer
    space = f"source layer {i} ({pooling}-pooled), target layer {j} mapped back with the inverse map"
    definition = ("multinomial logistic probe trained on standardized source states; relative accuracy = accuracy on "
                  "inverse-mapped target states / accuracy on source states (bootstrap over test rows)")
    if labels is None:
        out["task_transfer"] = _not_applicable("no labels given", space, definition)
    else:
        if train_texts is not None:
            if train_labels is None or len(train_labels) != len(train_texts):
                raise ValueError("train_texts needs one train_label per text")
            tr_texts, tr_labels = list(train_texts), list(train_labels)
            if len(tr_texts) > max_texts:
                keep = np.sort(rng.choice(len(tr_texts), size=max_texts, replace=False))
                tr_texts, tr_labels = [tr_texts[k] for k in keep], [tr_labels[k] for k in keep]
            te_texts, te_labels = texts, list(labels)
        else:
            order = rng.permutation(len(texts))
            half = len(texts) // 2
            tr_idx, te_idx = np.sort(order[:half]), np.sort(order[half:])
            tr_texts, tr_labels = [texts[k] for k in tr_idx], [labels[k] for k in tr_idx]
            te_texts, te_labels = [texts[k] for k in te_idx], [labels[k] for k in te_idx]
        if len(set(map(str, tr_labels))) < 2 or not te_texts:
            out["task_transfer"] = _not_applicable("need two classes in training and a test text", space, definition)
        else:
            result = task_transfer_accuracy(
                _pooled(source, tr_texts, i, pooling, max_length), tr_labels,
                _pooled(source, te_texts, i, pooling, max_length), _pooled(target, te_texts, j, pooling, max_length),
                te_labels, linear, seed=seed,
            )
            result["classes"] = [c if isinstance(c, (str, int, float, bool)) else str(c) for c in result["classes"]]
            out["task_transfer"] = {"value": result["relative_accuracy"], **result, "space": space,
                                    "definition": definition}

    batches = _batches(source, target, pair, linear, texts, max_length)
    n_content = sum(int(b.content.sum()) for b in batches)
    n_replaced = sum(int((b.replaced & b.content.to(b.replaced.device)).sum()) for b in batches)
    out["coverage"] = n_replaced / n_content if n_content else 0.0

    space = "target attention probabilities at the first block after the stitch"
    definition = "1 - mean Jensen-Shannon divergence (bits) of stitched vs native attention rows"
    if j >= target.num_layers:
        out["attention_fidelity"] = _not_applicable(f"target layer {j} is the final hidden state", space, definition)
    else:
        out["attention_fidelity"] = _attention_fidelity(target, batches, j, exclude_sink_keys=False, seed=seed)

    if _has_lm_head(target):
        out["stitched_loss"] = _stitched_loss(target, batches, j, seed=seed)
        out["gradient_stability"] = _gradient_stability(target, batches, j, 10.0)
    else:
        reason = f"{target.name} has no language-model head"
        out["stitched_loss"] = _not_applicable(reason, "target next-token predictions",
                                               "stitched vs native next-token cross-entropy (nats/token)")
        out["gradient_stability"] = _not_applicable(reason, "target parameters downstream of the stitch",
                                                    "stitched/native loss-gradient norm within a factor of 10")
    out["head_mapping"] = head_mapping(source, target, pair, texts, max_length=max_length)
    return out
