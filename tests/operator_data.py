"""What an operator decides on, as test data: a certified W-Matrix row whose file recommends another layer pair
than its best retrieval pair, with a measured median retention of its pair and a drifted last check."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

MEASURED_AT = datetime(2026, 2, 3, 4, 5, tzinfo=UTC)


def two_pair_file(path: Path, source: Any, target: Any) -> Path:
    """A .wmatrix between two Architecture rows whose recommended pair (3, 2) differs from its best pair (2, 1)."""
    from alignment_plugins.solvers import RidgeSolver
    from alignment_plugins.wmatrix import WMatrix, pair_key

    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, source.hidden_size))
    linear = RidgeSolver().fit_arrays(x, x @ rng.standard_normal((source.hidden_size, target.hidden_size)))
    metrics = {"semantic_preservation": 0.9, "accuracy": 0.8, "reconstruction_error": 0.04}
    matrix = WMatrix(
        source={"name": source.name, "hidden_size": source.hidden_size, "num_layers": source.num_layers,
                "fingerprint": "fp-src"},
        target={"name": target.name, "hidden_size": target.hidden_size, "num_layers": target.num_layers,
                "fingerprint": "fp-tgt"},
        maps={(2, 1): linear, (3, 2): linear}, layer_map=[(2, 1), (3, 2)], best_pair=(2, 1),
        recommended_pair=(3, 2), method="ridge", anchors={"hash": "anchors-v1", "count": 64},
        pair_metrics={pair_key((2, 1)): metrics, pair_key((3, 2)): metrics},
    )
    return matrix.save(path)


def decided_matrix(source: Any, target: Any, folder: Path, *, measured: bool = True) -> Any:
    """A stored matrix row (file from ``two_pair_file``) with a certificate; with `measured`, also a measured median
    retention 0.62 [0.50, 0.70] of its pair and a drifted drift check (drop 0.08)."""
    from django.core.files import File

    from marketplace.alignment.certificates import issue_certificate
    from marketplace.alignment.models import DriftCheck, MeasuredRetention, WMatrix

    path = two_pair_file(folder / f"{source.name}-{target.name}.wmatrix", source, target)
    row = WMatrix(source=source, target=target, version=1, method="ridge", layer_map=[[2, 1], [3, 2]],
                  best_source_layer=2, best_target_layer=1, recommended_source_layer=3, recommended_target_layer=2,
                  anchor_set_hash="anchors-v1",
                  file_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
                  metrics={"2->1": {"semantic_preservation": 0.9, "accuracy": 0.8, "reconstruction_error": 0.04},
                           "3->2": {"semantic_preservation": 0.8, "accuracy": 0.7, "reconstruction_error": 0.12}})
    with path.open("rb") as handle:
        row.file.save(path.name, File(handle), save=False)
    row.save()
    issue_certificate(row)
    if measured:
        MeasuredRetention.objects.create(source=source, target=target, retention=0.62, ci_low=0.5, ci_high=0.7,
                                         source_layer=3, target_layer=2, measured_at=MEASURED_AT)
        DriftCheck.objects.create(matrix=row, status=DriftCheck.Status.DRIFTED, drift=0.08)
    return row
