"""Multi-hop alignment over the active W-Matrices: the engine's ``MultiHopAligner`` on graph edges built from the
database (held-out metrics and layer maps of each active matrix; a pair's map is read from its file only when a path
is composed). numpy only: the web process never imports torch.
"""

from __future__ import annotations

from typing import Any

from alignment_plugins.multihop import Edge, MultiHopAligner
from marketplace.alignment.estimates import estimator_id, normalize_config, retention_estimator, structural_mismatch
from marketplace.alignment.matrix_files import pair_map
from marketplace.alignment.models import WMatrix
from marketplace.catalog.models import Architecture
from marketplace.errors import NotFound, ValidationFailed

MAX_HOPS = 3


def matrix_edge(matrix: WMatrix) -> Edge:
    """The graph edge of an active matrix: every layer pair of its layer map with held-out metrics."""
    pairs = {(int(i), int(j)): dict(matrix.metrics.get(f"{i}->{j}") or {}) for i, j in matrix.layer_map
             if (matrix.metrics.get(f"{i}->{j}") or {}).get("semantic_preservation") is not None}
    return Edge(source=matrix.source.name, target=matrix.target.name, label=matrix.public_id, pairs=pairs,
                d_source=matrix.source.hidden_size, d_target=matrix.target.hidden_size,
                structural_mismatch=structural_mismatch(matrix.source, matrix.target),
                load_map=lambda pair, m=matrix: pair_map(m, pair))


def aligner(max_hops: int = MAX_HOPS) -> MultiHopAligner:
    """A MultiHopAligner over every active matrix, with the marketplace's retention estimator."""
    matrices = WMatrix.objects.filter(status=WMatrix.Status.ACTIVE).select_related("source", "target")
    return MultiHopAligner([matrix_edge(m) for m in matrices], estimator=retention_estimator(), max_hops=max_hops)


def graph() -> dict[str, Any]:
    """Nodes (models) and edges (active matrices) with each edge's estimated retention at its recommended pair and
    the search weight −log r̂ (what the admin graph shows)."""
    import math

    search = aligner()
    matrices = {m.public_id: m for m in WMatrix.objects.filter(status=WMatrix.Status.ACTIVE)}
    edges = []
    for edge in search.edges:
        matrix = matrices[edge.label]
        pair = tuple(matrix.recommended_pair)
        r = search.edge_retention(edge, pair) if pair in edge.pairs else None
        edges.append({"source": edge.source, "target": edge.target, "matrix_id": edge.label,
                      "version": matrix.version, "pair": list(pair), "layer_pairs": len(edge.pairs),
                      "estimated_retention": r, "weight": -math.log(r) if r else None})
    nodes = sorted({e["source"] for e in edges} | {e["target"] for e in edges})
    return {"nodes": nodes, "edges": sorted(edges, key=lambda e: (e["source"], e["target"])),
            "estimator": estimator_id(search.estimator)}


def find_path(source: Architecture, target: Architecture, *, layer: int | None = None, quantization: Any = None,
              context_length: Any = None) -> dict[str, Any]:
    """The best path of active matrices from `source` (at `layer`, or its best) to `target` in a configuration:
    path, hops (models, layers, estimated retention, matrix id), estimated retention and the direct pair's.
    NotFound when no chain of at most MAX_HOPS matrices exists; ValidationFailed for a bad configuration."""
    if source.pk == target.pk:
        raise ValidationFailed("source and target are the same model")
    config = normalize_config(quantization, None, context_length, target=target)
    search = aligner()
    try:
        result = search.find_optimal_path(source.name, target.name, layer=layer, config=config)
    except LookupError as exc:
        raise NotFound(str(exc)) from None
    out = result.to_dict()
    out.update(source=source.name, target=target.name, layer=layer, target_config=config,
               estimator=estimator_id(search.estimator))
    return out
