"""Token-level anchors: pair per-position hidden states of two models whose tokenizers differ.

A mean-pooled anchor gives one (source, target) pair per text. Inside a text, both models have a state at every
token; where the two tokenizers *end* a token at the same character (after trimming the whitespace a token carries,
e.g. SentencePiece's leading "▁" or a BPE "Ġ"), both states have read exactly the same prefix of the text, so the pair
is a like-for-like anchor. A text of n words gives up to ~n pairs, so 10,000 texts give 10⁵–10⁶ pairs.

Excluded: special tokens (BOS, [CLS], [SEP]: empty character spans), padding, and position 0 of either model (the
attention sink, whose state is ~100× larger than the rest). Pairs are streamed into `CrossStats` (O(d²) memory,
whatever their number), which are cached on disk per (model fingerprints, texts, layer pairs, max length, dtype).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from alignment_plugins.extraction import MAX_BATCH_TOKENS, MAX_LENGTH, _progress, _token_lengths, plan_batches
from alignment_plugins.manager import get_plugin_manager
from alignment_plugins.solvers import CrossStats
from alignment_plugins.types import LoadedModel

#: Texts per forward batch of the token pass by default (sharded training cuts its text shards on multiples).
TOKEN_BATCH = 32

log = logging.getLogger(__name__)

_CACHE_VERSION = "1"
PAIRINGS: tuple[str, ...] = ("mean", "tokens", "both")
Pair = tuple[int, int]


def token_ends(text: str, offsets: np.ndarray) -> np.ndarray:
    """End character (exclusive) of each token after trimming its whitespace; -1 for tokens with no characters."""
    ends = np.full(len(offsets), -1, dtype=np.int64)
    for t, (start, end) in enumerate(np.asarray(offsets).tolist()):
        end = min(int(end), len(text))
        start = int(start)
        while end > start and text[end - 1].isspace():
            end -= 1
        while start < end and text[start].isspace():
            start += 1
        if end > start:
            ends[t] = end
    return ends


def match_token_ends(
    text: str, source_offsets: np.ndarray, target_offsets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return (source positions, target positions) of tokens ending at the same character, position 0 excluded.

    Tokens without characters (special tokens, padding) never match; where several tokens of one side end at the
    same character (a multi-token character), the last of them is used: it is the one that has read it all.
    """
    s_ends, t_ends = token_ends(text, source_offsets), token_ends(text, target_offsets)
    s_ends[:1], t_ends[:1] = -1, -1
    s_last = {int(e): i for i, e in enumerate(s_ends.tolist()) if e >= 0}
    t_last = {int(e): j for j, e in enumerate(t_ends.tolist()) if e >= 0}
    common = sorted(set(s_last) & set(t_last))
    return (np.array([s_last[e] for e in common], dtype=np.int64),
            np.array([t_last[e] for e in common], dtype=np.int64))


def token_states(model: LoadedModel, texts: Sequence[str], layers: Sequence[int],
                 max_length: int = MAX_LENGTH) -> dict:
    """Per-token states {layer: [TokenStates per text]} (raw units, with character offsets) through the plugin host."""
    states = get_plugin_manager().hook.alignment_extract_hidden_states(
        model=model, texts=list(texts), layers=sorted(set(layers)), pooling="tokens", max_length=max_length
    )
    if states is None:
        raise RuntimeError(f"no architecture adapter extracts token states for {model.name}")
    return states


def _cache_folder(source: LoadedModel, target: LoadedModel, texts: Sequence[str], pairs: Sequence[Pair],
                  max_length: int) -> Path:
    from alignment_plugins.models import cache_dir

    texts_hash = hashlib.sha256("\x1e".join(texts).encode()).hexdigest()
    key = json.dumps([_CACHE_VERSION, source.fingerprint, target.fingerprint, source.dtype, target.dtype, texts_hash,
                      max_length], sort_keys=True)
    return cache_dir() / "token-stats" / hashlib.sha256(key.encode()).hexdigest()[:24]


def token_pair_stats(
    source: LoadedModel,
    target: LoadedModel,
    texts: Sequence[str],
    pairs: Sequence[Pair],
    *,
    max_length: int = MAX_LENGTH,
    batch_size: int = TOKEN_BATCH,
    max_batch_tokens: int = MAX_BATCH_TOKENS,
    cache: bool = True,
    progress: bool = False,
) -> tuple[dict[Pair, CrossStats], int]:
    """Streaming statistics of offset-matched token states for each (source layer, target layer) pair.

    Returns ({pair: CrossStats}, number of matched token pairs per layer pair). Memory is O(d_s·d_t) per pair.
    Forward batches hold at most `batch_size` texts and `max_batch_tokens` padded source tokens (one text at least).
    """
    texts = [str(t) for t in texts]
    pairs = sorted({(int(i), int(j)) for i, j in pairs})
    if not texts:
        raise ValueError("no texts to pair tokens on")
    if not pairs:
        raise ValueError("no layer pairs to accumulate")
    folder = _cache_folder(source, target, texts, pairs, max_length) if cache else None
    # The same token pairs read the other way round: statistics cached for target -> source serve, swapped.
    reverse = _cache_folder(target, source, texts, pairs, max_length) if cache else None
    out: dict[Pair, CrossStats] = {}
    if folder is not None and reverse is not None:
        for pair in pairs:
            path, back = folder / f"pair_{pair[0]}_{pair[1]}.npz", reverse / f"pair_{pair[1]}_{pair[0]}.npz"
            if path.is_file():
                with np.load(path, allow_pickle=False) as data:
                    out[pair] = CrossStats.from_arrays(dict(data))
            elif back.is_file():
                with np.load(back, allow_pickle=False) as data:
                    out[pair] = CrossStats.from_arrays(dict(data)).swapped()
    missing = [p for p in pairs if p not in out]
    if missing:
        s_layers = sorted({i for i, _ in missing})
        t_layers = sorted({j for _, j in missing})
        fresh = {p: CrossStats(source.info.hidden_size, target.info.hidden_size) for p in missing}
        bar = _progress(len(texts), f"token pairs {source.name} -> {target.name}", progress)
        # Statistics are sums, so the order is free: batches of texts of similar token length pad little (anchor
        # texts run from ~30 to ~400 characters: in corpus order a batch of 32 was padded to 1.65x its characters),
        # under extract()'s token budget (activations that stay in the CPU's caches), at most `batch_size` texts.
        lengths = _token_lengths(source, texts, max_length)
        for batch in plan_batches(lengths, max_batch_tokens, batch_size):
            chunk = [texts[k] for k in batch]
            s_states = token_states(source, chunk, s_layers, max_length)
            t_states = token_states(target, chunk, t_layers, max_length)
            s_rows: list[np.ndarray] = []
            t_rows: list[np.ndarray] = []
            for k, text in enumerate(chunk):
                si, tj = match_token_ends(text, s_states[s_layers[0]][k].offsets, t_states[t_layers[0]][k].offsets)
                s_rows.append(si)
                t_rows.append(tj)
            for i, j in missing:
                x = np.concatenate([s_states[i][k].states[s_rows[k]] for k in range(len(chunk))])
                y = np.concatenate([t_states[j][k].states[t_rows[k]] for k in range(len(chunk))])
                if not (np.isfinite(x).all() and np.isfinite(y).all()):
                    raise FloatingPointError(f"non-finite token states at layer pair {i}->{j} (try float32)")
                fresh[(i, j)].update(x, y)
            bar.update(len(chunk))
        bar.close()
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            for (i, j), stats in fresh.items():
                tmp = folder / f".pair_{i}_{j}.{os.getpid()}.npz"
                np.savez(tmp, **stats.to_arrays())
                os.replace(tmp, folder / f"pair_{i}_{j}.npz")
        out.update(fresh)
    count = min(s.n for s in out.values())
    if count < 2:
        raise ValueError("fewer than two token pairs matched: the tokenizers share no token ends on these texts")
    return out, count


__all__ = ["PAIRINGS", "match_token_ends", "token_ends", "token_pair_stats", "token_states"]
