"""The gpu task that measures a new matrix version's stitching metrics: skips models it cannot run, never fails."""

from __future__ import annotations

from typing import Any

import pytest

from marketplace.alignment import stitching, tasks
from marketplace.alignment.certificates import latest_certificate
from marketplace.alignment.models import TaskRun


@pytest.mark.django_db
def test_unknown_models_are_skipped_with_the_reason(stored_matrix: Any) -> None:
    before = stored_matrix.certificates.count()
    result = tasks.measure_stitching.apply(args=[stored_matrix.id]).get()
    assert "toy-src" in result["not_measured"]
    stored_matrix.refresh_from_db()
    assert "stitching" not in (stored_matrix.extra_metrics or {})
    assert stored_matrix.certificates.count() == before
    run = TaskRun.objects.get(idempotency_key=f"measure_stitching:{stored_matrix.id}")
    assert run.status == TaskRun.Status.SUCCEEDED


@pytest.mark.django_db
def test_metadata_only_models_are_not_runnable() -> None:
    ok, reason = stitching.runnable("gpt-4")
    assert not ok and "metadata only" in reason


@pytest.mark.django_db
def test_new_matrix_event_enqueues_the_measurement(
    stored_matrix: Any, settings: Any, django_capture_on_commit_callbacks: Any, sent_tasks: list
) -> None:
    def seen() -> list[tuple[str, Any]]:
        return [(queue, args) for name, args, queue in sent_tasks if name == tasks.measure_stitching.name]

    from marketplace import events

    settings.MEASURE_STITCHING_ON_NEW_MATRIX = True
    with django_capture_on_commit_callbacks(execute=True):
        events.matrix_version_created(stored_matrix.id)
    assert seen() == [("gpu", [stored_matrix.id])]
    settings.MEASURE_STITCHING_ON_NEW_MATRIX = False
    with django_capture_on_commit_callbacks(execute=True):
        events.matrix_version_created(stored_matrix.id)
    assert len(seen()) == 1
    assert latest_certificate(stored_matrix) is not None
