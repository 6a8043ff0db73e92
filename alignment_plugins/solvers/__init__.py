"""Built-in W-Matrix solvers: fit a linear map between hidden-state spaces from streaming statistics."""

from __future__ import annotations

from alignment_plugins.solvers.base import (
    TENSOR_KEYS,
    LinearMap,
    NormalizedProblem,
    Solver,
    pseudo_inverse,
)
from alignment_plugins.solvers.cca import CCASolver
from alignment_plugins.solvers.lowrank import LowRankSolver
from alignment_plugins.solvers.procrustes import ProcrustesSolver
from alignment_plugins.solvers.ridge import RidgeSolver
from alignment_plugins.solvers.stats import (
    NORMALIZATION_MODES,
    CrossStats,
    normalization_scales,
    normalized_covariances,
)

BUILTIN_SOLVERS: dict[str, type[Solver]] = {
    cls.name: cls for cls in (ProcrustesSolver, RidgeSolver, CCASolver, LowRankSolver)
}

__all__ = [
    "BUILTIN_SOLVERS",
    "NORMALIZATION_MODES",
    "TENSOR_KEYS",
    "CCASolver",
    "CrossStats",
    "LinearMap",
    "LowRankSolver",
    "NormalizedProblem",
    "ProcrustesSolver",
    "RidgeSolver",
    "Solver",
    "normalization_scales",
    "normalized_covariances",
    "pseudo_inverse",
]
