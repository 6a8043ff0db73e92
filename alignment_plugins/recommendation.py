"""Which layer pair a W-Matrix recommends for vectors, and which it reports for embedding migration.

The recommended pair is the one whose maps carry the *validation* concepts' CAA directions best (never an embedding
layer while a deeper pair was fitted); for a sentence encoder on either side the last-layers pair is reported too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from alignment_plugins.solvers import LinearMap
from alignment_plugins.types import LoadedModel
from alignment_plugins.wmatrix import pair_key

__all__ = ["MIN_RECOMMENDED_LAYER", "RECOMMENDATION", "choose_pair", "embedding_pair", "recommend_pair"]

# Shallowest hidden-state layer a recommended pair may use (0 = embeddings; 0 and 1 are not exportable to llama.cpp).
MIN_RECOMMENDED_LAYER = 2
RECOMMENDATION = ("recommended pair: highest mean cosine of transferred vs native CAA directions of the validation "
                  "concepts (target standardized space) among pairs with both layers >= 2; metrics on test split")


def recommend_pair(
    source: LoadedModel, target: LoadedModel, maps: dict[tuple[int, int], LinearMap], *, cache: bool = True,
    progress: bool = False,
) -> tuple[tuple[int, int], dict[str, float]]:
    """Choose the layer pair buyers should use for vectors: best mean concept-transfer cosine on validation concepts.

    score(i, j) = mean over validation concepts c of cos(W·v_src(c, i) / s_y, v_tgt(c, j) / s_y), with v the CAA
    direction of c's contrastive pairs; see `choose_pair` for the layers that may be chosen. Returns (pair,
    {pair key: score}).
    """
    from alignment_plugins.concepts import concepts, native_directions, transfer_cosines

    chosen = concepts("validation")
    src_dirs = native_directions(source, chosen, sorted({i for i, _ in maps}), cache=cache, progress=progress)
    tgt_dirs = native_directions(target, chosen, sorted({j for _, j in maps}), cache=cache, progress=progress)
    cosines = transfer_cosines(maps, src_dirs, tgt_dirs)
    scores = {pair: float(np.nanmean(list(row.values()))) for pair, row in cosines.items()}
    return choose_pair(scores), {pair_key(pair): score for pair, score in sorted(scores.items())}


def embedding_pair(
    source: LoadedModel, target: LoadedModel, source_layers: Sequence[int], target_layers: Sequence[int]
) -> tuple[int, int] | None:
    """(last source layer, last target layer) when either model is a sentence encoder, else None.

    An encoder is used by pooling its last layer (the embedding-migration use: re-embedding a vector store made with
    one encoder into another's space), so that pair is fitted and reported whatever the layer map says.
    """
    if "encoder" not in (source.info.kind, target.info.kind):
        return None
    if source.num_layers not in source_layers:
        return None
    return source.num_layers, max(target_layers)


def choose_pair(scores: dict[tuple[int, int], float]) -> tuple[int, int]:
    """The pair with the highest concept-transfer score (unitless) among pairs whose layers are both ≥ 2.

    Layer 0 is the token embeddings (retrieval is trivial there, no capability lives there) and a vector delivered at
    layer 0 or 1 cannot be exported as a llama.cpp control vector, so neither is recommended while a deeper pair was
    fitted (then pairs without layer 0, then any pair). NaN scores rank last.
    """
    if not scores:
        raise ValueError("no layer pairs to choose from")
    candidates = ([pair for pair in scores if min(pair) >= MIN_RECOMMENDED_LAYER]
                  or [pair for pair in scores if min(pair) > 0] or list(scores))
    return max(candidates, key=lambda pair: (np.nan_to_num(scores[pair], nan=-2.0), pair))
