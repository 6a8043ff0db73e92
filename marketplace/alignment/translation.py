"""Translation: a capability vector of a source model's layer, carried into the target model's space by a W-Matrix.

numpy only (the matrix file is read with safetensors): the web process and any worker can translate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alignment_plugins.vectors import standardized_rescale
from marketplace.alignment.matrix_files import load_engine_matrix
from marketplace.alignment.models import WMatrix

#: How a translated vector is sized (recorded with every delivery).
RESCALE_RULE = "norm in target standard deviations = norm of the source vector in source standard deviations"


@dataclass(frozen=True)
class Translation:
    """A translated vector (float32) and how it was made: target layer, norms (L2) and the rescale factor."""

    vector: np.ndarray
    target_layer: int
    mapped_norm: float
    delivered_norm: float
    rescale_factor: float
    source_standardized_norm: float


def translate_vector(matrix: WMatrix, vector: np.ndarray, layer: int) -> Translation:
    """Translate `vector` (source model, hidden-state `layer`) through `matrix` into the target model's space.

    v_mapped = W.transform(v, layer, direction=True) (no mean shift: a capability vector is a direction). Ridge
    maps shrink outputs toward the mean, so v_mapped under-states the magnitude; the delivered vector is
    v_mapped · f with f chosen so that ‖v_target / s_y‖ = ‖v / s_x‖ (the same size in target standard deviations
    as the source vector has in source standard deviations; s_x, s_y the map's per-dimension scales).
    ValueError when the map sends the vector to zero.
    """
    engine = load_engine_matrix(matrix)
    (_, target_layer), linear = engine.map_for(layer)
    v64 = np.asarray(vector, dtype=np.float64)
    mapped = engine.transform(v64, layer=layer, direction=True)
    try:
        factor = standardized_rescale(linear, v64, mapped)
    except ValueError:
        raise ValueError(f"the map of layer {layer} sends this vector to zero; nothing to deliver") from None
    delivered = (mapped * factor).astype(np.float32)
    return Translation(
        vector=delivered, target_layer=int(target_layer), mapped_norm=float(np.linalg.norm(mapped)),
        delivered_norm=float(np.linalg.norm(delivered.astype(np.float64))), rescale_factor=factor,
        source_standardized_norm=float(np.linalg.norm(v64 / linear.scale_x)),
    )
