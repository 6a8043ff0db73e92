"""manage.py demo's first-run behaviour: storing the matrix does not run the gpu stitching task in-process (eager
Celery), step 4 measures stitching on a small sample and says so, and with a broker it is left to the gpu worker."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from api_helpers import write_wmatrix

pytestmark = pytest.mark.django_db


@pytest.fixture
def command() -> Any:
    from marketplace.alignment.management.commands.demo import Command

    return Command(stdout=StringIO())


def test_storing_the_matrix_leaves_stitching_to_step_4(command: Any, archs: dict, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    from marketplace.alignment import stitching

    def not_now(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the full stitching measurement ran while storing the matrix")

    monkeypatch.setattr(stitching, "measure_stitching", not_now)
    assert settings.CELERY_TASK_ALWAYS_EAGER and settings.MEASURE_STITCHING_ON_NEW_MATRIX
    path = write_wmatrix(tmp_path / "m.wmatrix")
    matrix = command.ensure_matrix(archs["src"], archs["tgt"], {"matrix_file": path, "num_anchors": 10})
    assert matrix.source == archs["src"] and f"loading {path}" in command.stdout.getvalue()
    assert settings.MEASURE_STITCHING_ON_NEW_MATRIX  # restored


def test_step_4_measures_a_small_sample_and_reports_it(command: Any, wmatrix: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from marketplace.alignment import stitching
    from marketplace.alignment.certificates import issue_certificate, record_extra_metrics

    issue_certificate(wmatrix)
    calls: list[int] = []

    def fake(matrix: Any, *, num_texts: int) -> dict[str, Any]:
        calls.append(num_texts)
        metrics = {"n_texts": num_texts, "task_transfer": {"value": 0.9}, "attention_fidelity": {"value": 0.7},
                   "stitched_loss": {"value": 3.25}, "gradient_stability": {"value": None}}
        record_extra_metrics(matrix, "stitching", metrics)
        return metrics

    monkeypatch.setattr(stitching, "measure_stitching", fake)
    command.measure_stitching(wmatrix, 4)
    out = command.stdout.getvalue()
    assert calls == [4] and "measuring on 4 held-out anchor texts" in out and "measured in" in out
    assert "task transfer 0.900, attention fidelity 0.700, stitched loss 3.250, gradient stability n/a" in out
    assert "certificate" in out

    command.measure_stitching(wmatrix, 4)  # rerun: already measured, nothing runs again
    assert calls == [4] and "already measured on 4 held-out texts" in command.stdout.getvalue()


def test_step_4_with_a_broker_leaves_it_to_the_gpu_worker(command: Any, wmatrix: Any, settings: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from marketplace.alignment import stitching

    monkeypatch.setattr(stitching, "measure_stitching", lambda *a, **k: pytest.fail("measured in-process"))
    settings.CELERY_TASK_ALWAYS_EAGER = False
    command.measure_stitching(wmatrix, 4)
    assert "queued on the gpu worker (32 held-out texts)" in command.stdout.getvalue()
