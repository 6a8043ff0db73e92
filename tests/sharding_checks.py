"""Comparison of a sharded fit with the single-process fit, shared by the unit and integration tests."""

from __future__ import annotations

import numpy as np

from alignment_plugins.wmatrix import WMatrix

#: Largest difference allowed between the sharded and single-process maps and metrics (the issue's bound).
TOLERANCE = 1e-6


def largest_difference(single: WMatrix, sharded: WMatrix) -> float:
    """Largest absolute difference over every map's arrays, held-out metric and CKA entry (AssertionError when the
    two fits differ in structure: layer pairs, chosen pairs, anchor counts)."""
    assert set(sharded.maps) == set(single.maps)
    assert sharded.layer_map == single.layer_map
    assert (sharded.best_pair, sharded.recommended_pair) == (single.best_pair, single.recommended_pair)
    assert sharded.anchors["counts"] == single.anchors["counts"]
    assert sharded.anchors["token_pairs"] == single.anchors["token_pairs"]
    worst = float(np.max(np.abs(sharded.cka - single.cka)))
    for pair, m in single.maps.items():
        s = sharded.maps[pair]
        for name in ("weight", "inverse_weight", "mean_x", "scale_x", "mean_y", "scale_y"):
            worst = max(worst, float(np.max(np.abs(getattr(s, name) - getattr(m, name)))))
    for key, values in single.pair_metrics.items():
        for metric, value in values.items():
            if isinstance(value, float):
                worst = max(worst, abs(sharded.pair_metrics[key][metric] - value))
    return worst
