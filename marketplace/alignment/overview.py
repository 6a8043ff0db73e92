"""What an operator decides on, per W-Matrix: certificate tier, recommended layer pair, measured retention and the
last drift check. Used by the admin's W-Matrix list and the support-matrix heatmap (read-only, no torch).

``with_decision_columns`` annotates a WMatrix queryset in one query (latest drift check, the pair's latest
measured median retention); ``recommended_pair`` is the pair buyers should use, as stored with the version.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from marketplace.alignment.models import DriftCheck, MeasuredRetention, WMatrix

log = logging.getLogger(__name__)

#: Annotation names added by ``with_decision_columns``.
DRIFT_FIELDS = ("status", "drift", "checked_at")
RETENTION_FIELDS = ("retention", "ci_low", "ci_high", "measured_at")


def with_decision_columns(queryset: QuerySet[WMatrix]) -> QuerySet[WMatrix]:
    """`queryset` annotated with ``last_drift_<status|drift|checked_at>`` (the matrix's latest drift check) and
    ``measured_<retention|ci_low|ci_high|measured_at>`` (its pair's latest measured median retention)."""
    drift = DriftCheck.objects.filter(matrix=OuterRef("pk")).order_by("-checked_at", "-pk")
    median = MeasuredRetention.objects.filter(
        source=OuterRef("source"), target=OuterRef("target"), capability=MeasuredRetention.PAIR_MEDIAN,
    ).order_by("-measured_at")
    return queryset.annotate(
        **{f"last_drift_{name}": Subquery(drift.values(name)[:1]) for name in DRIFT_FIELDS},
        **{f"measured_{name}": Subquery(median.values(name)[:1]) for name in RETENTION_FIELDS},
    )


def recommended_pair(matrix: WMatrix) -> tuple[int, int]:
    """The layer pair buyers should use for vectors (the engine's concept-transfer choice, stored with the version;
    the best retrieval pair for versions stored before it existed)."""
    return matrix.recommended_pair


def measured_retention(matrix: WMatrix) -> dict[str, Any]:
    """An annotated matrix's pair's latest measured median retention: retention, ci_low, ci_high, measured_at."""
    return {name: getattr(matrix, f"measured_{name}", None) for name in RETENTION_FIELDS}


def last_drift_check(matrix: WMatrix) -> dict[str, Any]:
    """An annotated matrix's latest drift check: status (None: never checked), drift (drop in semantic
    preservation), checked_at."""
    return {name: getattr(matrix, f"last_drift_{name}", None) for name in DRIFT_FIELDS}


def decision_summary(matrix: WMatrix) -> dict[str, Any]:
    """The operator's view of one annotated matrix: recommended pair, measured retention, last drift check."""
    return {"recommended_pair": recommended_pair(matrix), "retention": measured_retention(matrix),
            "drift": last_drift_check(matrix)}
