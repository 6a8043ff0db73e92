"""Multi-hop alignment: the best chain of stored W-Matrices from a source model to a target, and the composed map that
carries vectors along it (numpy only; no torch).

The graph's states are (model, hidden-state layer). A matrix A→B with a map of layer pair (i, j) is an edge from
(A, i) to (B, j) with weight w = −log r̂, r̂ the learned estimator's retention (``alignment_plugins.estimator``) of that
map: its held-out metrics at (i, j), the structural mismatch of A and B, the target configuration, and the dimensional
loss an isotropic vector would have (1 − d_B/d_A: the path is chosen before any particular vector), r̂ clipped to
[``MIN_RETENTION``, 1]. The path minimizing Σ w (Dijkstra, at most ``max_hops`` matrices, no model visited twice)
maximizes the estimated retention Π r̂ of the chain — the model this search assumes, which ``bench/multihop_bench.py``
checks against measured retention. The layer at each hop is the one the previous map delivers to.

A ``ComposedMap`` applies the hops' maps in turn: for a direction v, v ↦ E_k ⋯ E_1 v (E = diag(s_y) W diag(1/s_x),
each hop's raw-coordinate weight); ``as_linear_map`` writes the product as one ``LinearMap``.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alignment_plugins.estimator import RetentionEstimator, default_estimator
from alignment_plugins.solvers.base import LinearMap
from alignment_plugins.target_config import config_features, normalize_config
from alignment_plugins.transfer_features import expected_dimensional_loss, structural_mismatch

__all__ = ["MIN_RETENTION", "ComposedMap", "Edge", "Hop", "MultiHopAligner", "MultiHopResult"]

MIN_RETENTION = 1e-3
Pair = tuple[int, int]


@dataclass
class Edge:
    """One stored matrix as a graph edge: its layer pairs' held-out metrics and a way to load a pair's map."""

    source: str
    target: str
    label: str
    pairs: dict[Pair, dict[str, Any]]
    d_source: int
    d_target: int
    structural_mismatch: float | None
    load_map: Callable[[Pair], LinearMap] = field(repr=False)

    @classmethod
    def from_wmatrix(cls, wm: Any, label: str = "", architectures: Mapping[str, Any] | None = None) -> Edge:
        """An edge from an engine ``WMatrix`` (architectures by model name, else the file's header fields)."""
        source, target = wm.source.get("name", ""), wm.target.get("name", "")
        archs = architectures or {}
        return cls(source=source, target=target, label=label or f"{source}->{target}",
                   pairs={pair: dict(wm.pair_metrics.get(f"{pair[0]}->{pair[1]}", {})) for pair in wm.maps},
                   d_source=int(wm.source["hidden_size"]), d_target=int(wm.target["hidden_size"]),
                   structural_mismatch=structural_mismatch(archs.get(source) or wm.source,
                                                           archs.get(target) or wm.target),
                   load_map=lambda pair: wm.maps[pair])


@dataclass(frozen=True)
class Hop:
    """One matrix of a path: models, the layer pair used and its estimated retention."""

    source: str
    target: str
    source_layer: int
    target_layer: int
    estimated_retention: float
    matrix: str


@dataclass(frozen=True)
class MultiHopResult:
    """The best path (model names), its hops, its estimated retention and the direct pair's (None: no direct
    matrix, or none at the asked layer)."""

    path: list[str]
    hops: list[Hop]
    estimated_retention: float
    direct_retention: float | None
    direct_layers: Pair | None

    @property
    def improvement(self) -> float | None:
        """Estimated retention of the path minus the direct pair's (None without a direct pair)."""
        return None if self.direct_retention is None else self.estimated_retention - self.direct_retention

    def to_dict(self) -> dict[str, Any]:
        """The result as a JSON-serializable dict."""
        return {"path": list(self.path), "hops": [vars(h) for h in self.hops],
                "estimated_retention": self.estimated_retention, "direct_retention": self.direct_retention,
                "direct_layers": list(self.direct_layers) if self.direct_layers else None,
                "improvement": self.improvement}


class ComposedMap:
    """Maps applied in turn (hop 1 first); directions and states, and their product as one LinearMap."""

    def __init__(self, maps: Iterable[LinearMap]) -> None:
        self.maps = list(maps)
        if not self.maps:
            raise ValueError("a composed map needs at least one map")
        for k, (a, b) in enumerate(zip(self.maps, self.maps[1:], strict=False)):
            if a.dy != b.dx:
                raise ValueError(f"hop {k + 1} delivers {a.dy} dimensions but hop {k + 2} takes {b.dx}")

    def transform(self, x: Any) -> np.ndarray:
        """Source hidden states (d,) or (N, d) through every hop (each y = μ_y + s_y ⊙ W((x − μ_x)/s_x))."""
        for linear in self.maps:
            x = linear.transform(x)
        return x

    def transform_direction(self, v: Any) -> np.ndarray:
        """A source direction through every hop without mean shifts: E_k ⋯ E_1 v."""
        for linear in self.maps:
            v = linear.transform_direction(v)
        return v

    def effective_weight(self) -> np.ndarray:
        """The product E_k ⋯ E_1 of the hops' raw-coordinate weights, shape (d_target, d_source)."""
        out = self.maps[0].effective_weight()
        for linear in self.maps[1:]:
            out = linear.effective_weight() @ out
        return out

    def as_linear_map(self) -> LinearMap:
        """One LinearMap equal to the composition: source scales and mean of hop 1, target scales of the last hop,
        target mean = the image of the source mean; its inverse is the hops' inverses composed in reverse."""
        first, last = self.maps[0], self.maps[-1]
        product = self.effective_weight()
        weight = product * first.scale_x[None, :] / last.scale_y[:, None]
        inverse_raw = first.scale_x[:, None] * first.inverse_weight / first.scale_y[None, :]
        for linear in self.maps[1:]:
            inverse_raw = inverse_raw @ (linear.scale_x[:, None] * linear.inverse_weight / linear.scale_y[None, :])
        inverse = inverse_raw * last.scale_y[None, :] / first.scale_x[:, None]
        return LinearMap(method="composed", weight=weight, inverse_weight=inverse, mean_x=first.mean_x,
                         scale_x=first.scale_x, mean_y=self.transform(first.mean_x), scale_y=last.scale_y,
                         hyperparams={"hops": len(self.maps)})


class MultiHopAligner:
    """Path search over stored matrices (see the module docstring)."""

    def __init__(self, matrices: Iterable[Any] = (), *, estimator: RetentionEstimator | None = None,
                 architectures: Mapping[str, Any] | None = None, max_hops: int = 3) -> None:
        from alignment_plugins.wmatrix import WMatrix

        self.edges: list[Edge] = []
        for item in matrices:
            if isinstance(item, Edge):
                self.edges.append(item)
            else:
                wm = item if isinstance(item, WMatrix) else WMatrix.load(item)
                self.edges.append(Edge.from_wmatrix(wm, "" if isinstance(item, WMatrix) else str(item),
                                                    architectures))
        self.estimator = estimator if estimator is not None else default_estimator()
        if max_hops < 1:
            raise ValueError("max_hops must be at least 1")
        self.max_hops = max_hops

    def edge_retention(self, edge: Edge, pair: Pair, config: Mapping[str, Any] | None = None) -> float:
        """Estimated retention r̂ of one edge's map at `pair` (isotropic dimensional loss), clipped to [MIN, 1]."""
        features = {**edge.pairs.get(pair, {}), **config_features(normalize_config(config)),
                    "dimensional_loss": expected_dimensional_loss(edge.d_source, edge.d_target),
                    "structural_mismatch": edge.structural_mismatch}
        estimate = self.estimator.predict(features, source=edge.source, target=edge.target)
        return min(1.0, max(MIN_RETENTION, estimate.retention))

    def _direct(self, source: str, target: str, layer: int | None,
                config: Mapping[str, Any] | None) -> tuple[float | None, Pair | None]:
        best: tuple[float | None, Pair | None] = (None, None)
        for edge in self.edges:
            if edge.source != source or edge.target != target:
                continue
            for pair in edge.pairs:
                if layer is not None and pair[0] != layer:
                    continue
                r = self.edge_retention(edge, pair, config)
                if best[0] is None or r > best[0]:
                    best = (r, pair)
        return best

    def find_optimal_path(self, source: str, target: str, *, layer: int | None = None,
                          config: Mapping[str, Any] | None = None) -> MultiHopResult:
        """The path from `source` (at `layer`, or its best layer) to `target` with the highest estimated retention;
        LookupError when no chain of matrices (of at most max_hops) reaches the target."""
        if source == target:
            raise ValueError("source and target are the same model")
        normalize_config(config)  # refuse unknown keys before searching
        layers = sorted({pair[0] for edge in self.edges if edge.source == source for pair in edge.pairs
                         if layer is None or pair[0] == layer})
        heap: list[tuple[float, int, str, int, tuple[Hop, ...]]] = [
            (0.0, k, source, lyr, ()) for k, lyr in enumerate(layers)]
        counter, settled = len(heap), set()
        while heap:
            cost, _, model, lyr, hops = heapq.heappop(heap)
            if model == target:
                return self._result(source, target, layer, config, hops, cost)
            if (model, lyr, len(hops)) in settled or len(hops) >= self.max_hops:
                continue
            settled.add((model, lyr, len(hops)))
            visited = {source} | {h.target for h in hops}
            for edge in self.edges:
                if edge.source != model or edge.target in visited:
                    continue
                for pair in edge.pairs:
                    if pair[0] != lyr:
                        continue
                    r = self.edge_retention(edge, pair, config)
                    hop = Hop(edge.source, edge.target, pair[0], pair[1], r, edge.label)
                    counter += 1
                    heapq.heappush(heap, (cost - math.log(r), counter, edge.target, pair[1], (*hops, hop)))
        where = f" from layer {layer}" if layer is not None else ""
        raise LookupError(f"no chain of at most {self.max_hops} stored matrices leads from {source}{where} to "
                          f"{target}")

    def _result(self, source: str, target: str, layer: int | None, config: Mapping[str, Any] | None,
                hops: tuple[Hop, ...], cost: float) -> MultiHopResult:
        direct, direct_pair = self._direct(source, target, layer, config)
        return MultiHopResult(path=[source, *(h.target for h in hops)], hops=list(hops),
                              estimated_retention=math.exp(-cost), direct_retention=direct, direct_layers=direct_pair)

    def composed_map(self, result: MultiHopResult) -> ComposedMap:
        """The maps of a result's hops, composed (each loaded from its matrix at the hop's layer pair)."""
        maps = []
        for hop in result.hops:
            edge = next((e for e in self.edges if e.label == hop.matrix and e.source == hop.source
                         and e.target == hop.target), None)
            if edge is None:
                raise LookupError(f"matrix {hop.matrix} of the path is not in this aligner")
            maps.append(edge.load_map((hop.source_layer, hop.target_layer)))
        return ComposedMap(maps)
