"""Celery tasks: stable names, options, queues, once-only execution, drift checks, and no torch on import."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError
from django.utils import timezone

from marketplace import celery_app
from marketplace.alignment import jobs, tasks, training
from marketplace.alignment.certificates import latest_certificate
from marketplace.alignment.drift import drift_anchors, run_drift_check
from marketplace.alignment.matrices import active_matrix, store_matrix
from marketplace.alignment.models import AlignmentJob, DriftCheck, TaskRun, WMatrix
from marketplace.catalog import delivery
from marketplace.celery import TASK_ROUTES, Queue

ROOT = Path(__file__).resolve().parents[3]

EXPECTED_TASKS = {
    "alignment.check_drift_due": "default",
    "alignment.extract_anchor_shard": "gpu",
    "alignment.fit_from_shards": "gpu",
    "alignment.plan_token_shards": "gpu",
    "alignment.token_stats_shard": "gpu",
    "alignment.measure_stitching": "gpu",
    "alignment.precompute_estimates": "default",
    "alignment.recalibrate_matrix": "gpu",
    "alignment.recompute_estimates": "default",
    "alignment.revalidate_drift": "gpu",
    "alignment.run_alignment_job": "gpu",
    "alignment.translate_purchase": "gpu",
}


def test_task_names_snapshot() -> None:
    celery_app.loader.import_default_modules()  # as a worker does at start
    registered = {name for name in celery_app.tasks if name.startswith("alignment.")}
    assert registered == set(EXPECTED_TASKS) == set(TASK_ROUTES) - {"outbox.relay_events"}
    assert "outbox.relay_events" in celery_app.tasks
    assert celery_app.amqp.router.route({}, "outbox.relay_events")["queue"].name == "default"


@pytest.mark.parametrize("name", sorted(EXPECTED_TASKS))
def test_task_options_and_route(name: str) -> None:
    task = celery_app.tasks[name]
    assert task.acks_late and task.reject_on_worker_lost
    assert task.max_retries == 5 and task.retry_backoff and task.retry_backoff_max == 300
    assert set(task.autoretry_for) == {OperationalError, tasks.RetryLater}
    route = celery_app.amqp.router.route({}, name)
    assert route["queue"].name == EXPECTED_TASKS[name]
    assert route["queue"].routing_key == EXPECTED_TASKS[name]  # each queue has its own binding


def test_app_configuration() -> None:
    conf = celery_app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost and conf.worker_prefetch_multiplier == 1
    assert conf.task_default_queue == Queue.DEFAULT == "default" and Queue.GPU == "gpu"
    beat = conf.beat_schedule["alignment.check_drift_due"]
    assert beat["task"] == "alignment.check_drift_due"
    assert beat["schedule"].minute == {0} and len(beat["schedule"].hour) == 24
    relay = conf.beat_schedule["outbox.relay_events"]
    assert relay["task"] == "outbox.relay_events" and relay["schedule"] == relay["options"]["expires"] == 30.0


def test_importing_any_marketplace_module_does_not_import_torch() -> None:
    code = (
        "import importlib, pkgutil, sys, django; django.setup()\n"
        "import marketplace\n"
        "for m in pkgutil.walk_packages(marketplace.__path__, 'marketplace.'):\n"
        "    if '.settings.' not in m.name and '.migrations.' not in m.name: importlib.import_module(m.name)\n"
        "from marketplace import celery_app; celery_app.loader.import_default_modules()\n"
        "heavy = sorted(m for m in ('torch', 'transformers') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "marketplace.settings.test"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


# ------------------------------------------------------------------------------------------------- once()
@pytest.mark.django_db
def test_once_runs_work_once_and_returns_the_stored_result() -> None:
    calls: list[int] = []

    def work() -> dict[str, Any]:
        calls.append(1)
        return {"n": len(calls)}

    assert tasks.once("k:1", "t", work) == {"n": 1}
    assert tasks.once("k:1", "t", work) == {"n": 1, "skipped": True}
    assert len(calls) == 1
    run = TaskRun.objects.get(idempotency_key="k:1")
    assert run.status == "succeeded" and run.attempts == 1 and run.finished_at is not None


@pytest.mark.django_db
def test_once_retries_after_a_failure() -> None:
    def boom() -> dict[str, Any]:
        raise ValueError("first attempt fails")

    with pytest.raises(ValueError):
        tasks.once("k:2", "t", boom)
    run = TaskRun.objects.get(idempotency_key="k:2")
    assert run.status == "failed" and "first attempt fails" in run.error
    assert tasks.once("k:2", "t", lambda: {"ok": True}) == {"ok": True}
    run.refresh_from_db()
    assert run.status == "succeeded" and run.attempts == 2 and run.error == ""


@pytest.mark.django_db
def test_once_leaves_a_live_lease_alone_and_takes_over_an_expired_one() -> None:
    calls: list[int] = []
    lease = timezone.now() + timedelta(seconds=30)
    run = TaskRun.objects.create(idempotency_key="k:3", task_name="t", lease_owner="gpu-1:7:abc",
                                 lease_expires_at=lease)  # another worker runs it right now
    with pytest.raises(tasks.LeaseHeld) as held:
        tasks.once("k:3", "t", lambda: calls.append(1))
    assert held.value.owner == "gpu-1:7:abc" and 29 <= held.value.retry_in <= 31 and calls == []

    TaskRun.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))  # it died
    assert tasks.once("k:3", "t", lambda: calls.append(1) or {"ran": True}) == {"ran": True}
    run.refresh_from_db()
    assert calls == [1] and run.status == "succeeded" and run.attempts == 2
    assert run.lease_owner.startswith(socket.gethostname()) and run.lease_expires_at is None


@pytest.mark.django_db
def test_a_watching_copy_stops_on_a_failed_run_and_runs_an_abandoned_one() -> None:
    calls: list[int] = []
    TaskRun.objects.create(idempotency_key="k:4", task_name="t", status="failed", error="boom")
    assert tasks.once("k:4", "t", lambda: calls.append(1), watching=True) == {"skipped": True, "failed": True}
    assert calls == [] and TaskRun.objects.get(idempotency_key="k:4").attempts == 1  # retries are not its job
    TaskRun.objects.create(idempotency_key="k:5", task_name="t", status="started",
                           lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert tasks.once("k:5", "t", lambda: calls.append(1) or {"ok": 1}, watching=True) == {"ok": 1}
    assert calls == [1]


@pytest.mark.django_db
def test_a_watcher_message_stops_on_a_failed_run(make_listing: Any) -> None:
    listing = make_listing()
    TaskRun.objects.create(idempotency_key=f"precompute_estimates:{listing.id}", task_name="t", status="failed")
    watcher = tasks.precompute_estimates.apply(args=[listing.id], headers={"lease_watch": True}).get()
    assert watcher == {"skipped": True, "failed": True}
    retry = tasks.precompute_estimates.apply(args=[listing.id]).get()  # an ordinary (re)delivery runs it again
    assert "skipped" not in retry and TaskRun.objects.get(idempotency_key__startswith="precompute").attempts == 2


@pytest.mark.django_db
def test_a_copy_that_finds_a_live_lease_resends_itself_as_a_watcher(settings: Any) -> None:
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 40}
    TaskRun.objects.create(idempotency_key="translate_purchase:9", task_name="t", lease_owner="gpu-1:7:abc",
                           lease_expires_at=timezone.now() + timedelta(seconds=55))
    sent: list[dict[str, Any]] = []

    class Request:
        args, kwargs, headers, is_eager = [9], {}, None, False

    class Task:
        name, request = "alignment.translate_purchase", Request()

        def apply_async(self, **options: Any) -> None:
            sent.append(options)

    result = tasks.run_once(Task(), "translate_purchase:9", lambda: pytest.fail("must not run"))
    assert result == {"deferred": True, "lease_owner": "gpu-1:7:abc"}
    # looks again at the latest after half the visibility timeout (an ETA message held longer would be restored)
    assert sent == [{"args": [9], "kwargs": {}, "countdown": 20.0, "headers": {"lease_watch": True}}]
    assert tasks.watch_interval(3.5) == 3.5 and tasks.watch_interval(0.1) == 1.0


@pytest.mark.django_db
def test_redelivered_translation_does_the_work_once(
    stored_matrix: WMatrix, make_listing: Any, toy: dict, users: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from decimal import Decimal

    from marketplace.catalog.ledger import deposit
    from marketplace.catalog.purchases import create_purchase

    deposit(users["buyer"], Decimal("10"))
    purchase, _ = create_purchase(buyer=users["buyer"], listing=make_listing(), target_model=toy["target"],
                                  idempotency_key="t")  # not committed: no event fires here
    calls: list[int] = []
    real = delivery.deliver_purchase
    monkeypatch.setattr(delivery, "deliver_purchase", lambda p: (calls.append(p.pk), real(p))[1])
    first = tasks.translate_purchase.apply(args=[purchase.id]).get()
    second = tasks.translate_purchase.apply(args=[purchase.id]).get()
    assert calls == [purchase.pk]
    assert first["status"] == "delivered" and second["skipped"] is True
    assert TaskRun.objects.get(idempotency_key=f"translate_purchase:{purchase.id}").attempts == 1


@pytest.mark.django_db
def test_missing_row_is_retried_then_gives_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", False)  # eager retries then run inline
    result = tasks.precompute_estimates.apply(args=[987654])
    assert isinstance(result.result, tasks.RetryLater)
    assert not TaskRun.objects.exists()  # nothing ran for a row that does not exist


# ------------------------------------------------------------------------------------------------ drift
def _fake_monitor(recommendation: str, *, detected: bool | None = None, drop: float = 0.0,
                  changed: bool = False) -> Any:
    """A WMatrixMonitor.check answering `recommendation` (the engine's own tests run the real statistics)."""
    from alignment_plugins.monitor import DriftStatus

    def check(self: Any, wmatrix: Any = None) -> DriftStatus:
        return DriftStatus(
            source="toy-src", target="toy-tgt", version=self.version, last_validated=self.last_validated or "",
            checked_at="2026-01-01T00:00:00+00:00", pair=(1, 1), metrics={"semantic_preservation": 0.84 - drop,
                                                                             "accuracy": 0.8},
            recorded_metrics={"semantic_preservation": 0.84}, drift_detected=recommendation != "keep" if detected
            is None else detected, recommendation=recommendation, reason=f"planted: {recommendation}",
            quality_drop=drop, false_alarm_rate=self.alpha,
            fingerprints=[{"side": "source", "changed": changed}, {"side": "target", "changed": False}],
            anchors={"count": len(self.anchors), "hash": "sha256:fresh"})

    return check


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("recommendation", "detected", "drop", "status"),
    [("keep", False, 0.0, "ok"), ("keep", True, 0.01, "ok"), ("recalibrate", True, 0.06, "drifted"),
     ("retrain", True, 0.3, "drifted")],
)
def test_drift_check_records_the_monitors_structured_result(
    stored_matrix: WMatrix, monkeypatch: pytest.MonkeyPatch, sent_tasks: list, recommendation: str,
    detected: bool, drop: float, status: str, django_capture_on_commit_callbacks: Any,
) -> None:
    from alignment_plugins.monitor import WMatrixMonitor

    monkeypatch.setattr(WMatrixMonitor, "check", _fake_monitor(recommendation, detected=detected, drop=drop,
                                                               changed=detected))
    before = stored_matrix.validated_at
    with django_capture_on_commit_callbacks(execute=True):
        check = run_drift_check(stored_matrix, anchors=["a"] * 20)
    stored_matrix.refresh_from_db()
    assert check.status == status and check.recommendation == recommendation and check.drift == pytest.approx(drop)
    assert check.drift_detected is detected and check.fingerprint_changed is detected
    assert check.result["recommendation"] == recommendation and check.result["version"] == stored_matrix.version
    assert check.detail == f"planted: {recommendation}"
    if status == "ok":
        assert stored_matrix.status == "active" and stored_matrix.validated_at > before and check.action == ""
        assert sent_tasks == []
    else:
        assert stored_matrix.status == "drifted" and active_matrix(stored_matrix.source, stored_matrix.target) is None
    if recommendation == "recalibrate":
        assert sent_tasks == [("alignment.recalibrate_matrix", [check.id], "gpu")]
        assert check.action == "recalibration queued"
    if recommendation == "retrain":
        job = AlignmentJob.objects.get()
        assert check.action == f"alignment job {job.public_id} queued" and job.trigger == f"drift check {check.id}: " \
            "retrain" and job.num_anchors == 1000
        assert sent_tasks == [("alignment.run_alignment_job", [job.id], "gpu")]


@pytest.mark.django_db
def test_drift_check_without_auto_act_only_records(stored_matrix: WMatrix, monkeypatch: pytest.MonkeyPatch,
                                                   sent_tasks: list, settings: Any,
                                                   django_capture_on_commit_callbacks: Any) -> None:
    from alignment_plugins.monitor import WMatrixMonitor
    from marketplace.alignment.drift import act_on_check

    settings.DRIFT_AUTO_ACT = False
    monkeypatch.setattr(WMatrixMonitor, "check", _fake_monitor("recalibrate", drop=0.06))
    check = run_drift_check(stored_matrix, anchors=["a"] * 20)
    assert check.status == "drifted" and check.action == "" and sent_tasks == []
    with django_capture_on_commit_callbacks(execute=True):
        assert act_on_check(check) == "recalibration queued"
    assert sent_tasks == [("alignment.recalibrate_matrix", [check.id], "gpu")]


@pytest.mark.django_db
def test_drift_anchors_are_fresh_and_exclude_training(toy: dict, wmatrix_file: Any,
                                                      django_capture_on_commit_callbacks: Any) -> None:
    from datetime import date

    from alignment_plugins.anchors import load_builtin

    training = load_builtin().sample(100, seed=0)
    anchors = {"hash": training.content_hash, "seed": 0, "counts": {"train": 80, "validation": 10, "test": 10}}
    with django_capture_on_commit_callbacks(execute=True):
        matrix = store_matrix(wmatrix_file(anchors=anchors))
    fresh = drift_anchors(matrix, 50, today=date(2025, 1, 2))
    assert len(fresh) == 50 and not set(fresh.texts) & set(training.texts)
    assert fresh == drift_anchors(matrix, 50, today=date(2025, 1, 2))  # seeded by the date
    assert fresh != drift_anchors(matrix, 50, today=date(2025, 1, 3))


@pytest.mark.django_db
def test_drift_anchors_of_a_matrix_trained_on_corpus_v1(toy: dict, wmatrix_file: Any,
                                                         django_capture_on_commit_callbacks: Any) -> None:
    from datetime import date

    from alignment_plugins.anchors import PRODUCT_DOMAINS, load_builtin

    training = load_builtin("v1").sample(100, seed=0)
    anchors = {"hash": training.content_hash, "name": training.name, "seed": 0,
               "counts": {"train": 80, "validation": 10, "test": 10}}
    with django_capture_on_commit_callbacks(execute=True):
        matrix = store_matrix(wmatrix_file(anchors=anchors))
    fresh = drift_anchors(matrix, 50, today=date(2025, 1, 2))
    assert len(fresh) == 50 and not set(fresh.texts) & set(training.texts)
    assert set(fresh.domains) <= set(PRODUCT_DOMAINS)  # revalidated on the corpus it was trained on
    assert fresh.name.startswith("builtin:v1|")


@pytest.mark.django_db
def test_check_drift_due_enqueues_due_matrices_once(
    stored_matrix: WMatrix, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    from alignment_plugins.monitor import WMatrixMonitor

    monkeypatch.setattr(WMatrixMonitor, "check", _fake_monitor("keep"))
    assert tasks.check_drift_due.apply().get() == {"enqueued": []}  # just validated: not due
    TaskRun.objects.all().delete()
    WMatrix.objects.filter(pk=stored_matrix.pk).update(validated_at=timezone.now() - timedelta(hours=25))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.check_drift_due.apply().get() == {"enqueued": [stored_matrix.id]}
    check = DriftCheck.objects.get(matrix=stored_matrix)
    assert check.status == "ok"
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.check_drift_due.apply().get()["skipped"] is True  # same hour: nothing twice
    assert DriftCheck.objects.count() == 1


# ---------------------------------------------------------------------------------------------- jobs
@pytest.mark.django_db
def test_alignment_job_failure_is_recorded(toy: dict, users: dict, monkeypatch: pytest.MonkeyPatch,
                                           django_capture_on_commit_callbacks: Any,
                                           caplog: pytest.LogCaptureFixture) -> None:
    """A failed job shows users a short message with its reference; the exception (paths, hosts) is logged."""
    import alignment_plugins.models

    def no_model(name: str, **kwargs: Any) -> Any:
        raise RuntimeError(f"cannot load {name} from /srv/secret/weights")

    monkeypatch.setattr(training, "best_device", lambda: "cpu")
    monkeypatch.setattr(alignment_plugins.models, "load_model", no_model)
    job = jobs.request_alignment(user=users["buyer"], source=toy["source"], target=toy["target"], num_anchors=100)
    with pytest.raises(RuntimeError, match="cannot load toy-src"):
        tasks.run_alignment_job.apply(args=[job.id]).get()
    job.refresh_from_db()
    assert job.status == AlignmentJob.Status.FAILED
    assert job.error == f"alignment failed (reference {job.public_id}); the operators have the details"
    logged = [r for r in caplog.records if r.name == "marketplace.alignment.jobs" and r.exc_info]
    assert logged and job.public_id in logged[0].getMessage()
    assert "cannot load toy-src from /srv/secret/weights" in str(logged[0].exc_info[1])
    assert job.message.startswith("loading toy-src and toy-tgt") and job.progress == 0.0


@pytest.fixture
def tiny_pair(arch: Any, tiny_model: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    """Two tiny seeded models (llama → gemma3, d=32, 3 blocks) known to the engine and registered; training on cpu."""
    import alignment_plugins.models as engine_models
    from alignment_plugins.types import ModelSpec

    known = engine_models.known_models()
    for family in ("llama", "gemma3"):
        known[f"tiny-{family}"] = ModelSpec(name=f"tiny-{family}", family=family, kind="causal",
                                            locate=lambda f=family: tiny_model(f))
    monkeypatch.setattr(engine_models, "known_models", lambda: known)
    monkeypatch.setattr(training, "best_device", lambda: "cpu")
    return arch("tiny-llama", 32, 3), arch("tiny-gemma3", 32, 3, family="gemma3")


@pytest.mark.slow  # torch + two tiny models: ~10 s alone, ~3 s when the engine tests already loaded them
@pytest.mark.django_db
def test_alignment_job_trains_stores_and_reports_progress(
    tiny_pair: tuple[Any, Any], users: dict, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    """The real trainer on two tiny seeded models (llama → gemma3, d=32) through the gpu task."""
    source, target = tiny_pair
    seen: list[tuple[float, str]] = []
    monkeypatch.setattr(jobs, "run_alignment_job",
                        lambda job, progress_cb=None, _real=jobs.run_alignment_job: _real(
                            job, lambda f, m: seen.append((f, m))))
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.request_alignment(user=users["buyer"], source=source, target=target, num_anchors=100)
    job.refresh_from_db()
    assert job.status == AlignmentJob.Status.SUCCEEDED and job.progress == 1.0 and job.eta_seconds == 0.0
    assert job.matrix is not None and job.matrix.version == 1 and job.matrix.status == "active"
    assert job.started_at <= job.finished_at and job.message.startswith("done: v1, tier ")
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert any("extracting tiny-gemma3 hidden states (100 anchors, 4 layers)" in m for _, m in seen)
    assert len(job.matrix.layer_map) == 4
    # the new version's event measured its stitching metrics on the gpu queue and re-certified it with them
    job.matrix.refresh_from_db()
    stitching = job.matrix.extra_metrics["stitching"]
    assert stitching["pair"] == [job.matrix.best_source_layer, job.matrix.best_target_layer]
    assert 0.0 <= stitching["task_transfer"]["source_accuracy"] <= 1.0
    assert job.matrix.certificates.count() == 2
    assert latest_certificate(job.matrix).payload["stitching"]["pair"] == stitching["pair"]


# ------------------------------------------------------------------------------------------ commands
@pytest.mark.slow  # trains on two tiny models, as the job above
@pytest.mark.django_db
def test_precompute_support_matrix_trains_with_the_jobs_recipe(
    tiny_pair: tuple[Any, Any], tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    """The command trains through ``training.train_and_store`` (all layers, ridge) and stores a certified v1."""
    from io import StringIO

    from django.core.management import call_command

    source, target = tiny_pair
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("precompute_support_matrix", "--pairs", f"{source.name}:{target.name}", "--num-anchors", "100",
                     "--device", "cpu", "--out-dir", str(tmp_path), stdout=out)
    assert (tmp_path / "tiny-llama-to-tiny-gemma3.wmatrix").is_file()
    matrix = active_matrix(source, target)
    assert matrix is not None and matrix.version == 1 and len(matrix.layer_map) == 4
    text = out.getvalue()
    assert f"tiny-llama -> tiny-gemma3: v1 {matrix.public_id}" in text and "(signature valid)" in text


@pytest.mark.django_db
def test_precompute_support_matrix_stores_files_from_a_folder(
    toy: dict, wmatrix_file: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from io import StringIO

    from django.core.management import call_command

    folder = wmatrix_file().parent
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("precompute_support_matrix", "--pairs", "toy-src:toy-tgt", "toy-src:toy-other",
                     "--from-dir", str(folder), stdout=out)
    matrix = active_matrix(toy["source"], toy["target"])
    assert matrix is not None and f"toy-src -> toy-tgt: v1 {matrix.public_id}" in out.getvalue()
    assert "toy-src -> toy-other: no .wmatrix file" in out.getvalue()
