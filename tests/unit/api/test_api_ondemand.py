"""On-demand alignment for a model given by path or endpoint: an ETA at request time from a throughput probe of real
local endpoints, refusals of places not allowed, and a job trained through them with progress and ETA per phase."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from api_helpers import error_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("one_torch_thread")]
URL = "/api/v1/alignment-jobs/"


@pytest.fixture
def served(tiny_model: Callable[[str], Path], settings: Any) -> Iterator[dict[str, str]]:
    """Tiny llama and qwen2 served by real local endpoints, both allowed."""
    from alignment_plugins.endpoint.server import ModelServer
    from alignment_plugins.models import load_model

    servers = {name: ModelServer(load_model(str(tiny_model(name))), "127.0.0.1", 0) for name in ("llama", "qwen2")}
    for server in servers.values():
        threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.ALIGNMENT_ENDPOINT_ALLOW = [server.url for server in servers.values()]
    yield {name: server.url for name, server in servers.items()}
    for server in servers.values():
        server.shutdown()
        server.server_close()


def test_a_job_for_served_models_answers_at_once_with_an_eta(key_client: Any, served: dict[str, str],
                                                             archs: dict) -> None:
    from alignment_plugins.throughput import training_workload
    from marketplace.alignment.models import MeasuredRetention
    from marketplace.catalog.models import Architecture

    MeasuredRetention.objects.create(source=archs["src"], target=archs["tgt"], capability="*", retention=0.4,
                                     source_layer=1, target_layer=1, measured_at=datetime(2026, 1, 1, tzinfo=UTC))
    Architecture.objects.filter(pk=archs["src"].pk).update(family="llama")
    response = key_client.post(URL, {"source": "my-llama", "source_endpoint": served["llama"], "target": "my-qwen",
                                     "target_endpoint": served["qwen2"], "num_anchors": 500}, format="json")
    assert response.status_code == 202, response.json()
    body = response.json()
    estimate = body["estimate"]
    rates = [estimate["throughput"][side]["texts_per_second"] for side in ("source", "target")]
    assert all(r > 0 for r in rates) and estimate["throughput"]["source"]["basis"] == "probe"
    total = training_workload(500)["total"]
    assert estimate["workload_texts_per_model"]["total"] == total
    assert body["eta_seconds"] == pytest.approx(total / rates[0] + total / rates[1])
    assert estimate["retention"] == {"family": "llama", "pairs": 1, "typical_retention": 0.4,
                                     "basis": "median measured retention of the family's pairs"}
    assert body["source_location"] == {"kind": "endpoint", "location": served["llama"]}
    row = Architecture.objects.get(name="my-llama")
    assert row.support_level == "partial" and row.hidden_size == 32 and row.weight_fingerprint.startswith("sha256:")


def test_places_not_allowed_are_refused(key_client: Any, served: dict[str, str], archs: dict, settings: Any,
                                        tiny_model: Callable[[str], Path]) -> None:
    settings.ALIGNMENT_ENDPOINT_ALLOW = []
    refused = key_client.post(URL, {"source": "x", "source_endpoint": served["llama"], "target": "tgt-model"},
                              format="json")
    assert refused.status_code == 400 and "ALIGNMENT_ENDPOINT_ALLOW" in error_of(refused)["message"]
    settings.ALIGNMENT_MODEL_ROOTS = []
    path = key_client.post(URL, {"source": "x", "source_path": str(tiny_model("llama")), "target": "tgt-model"},
                           format="json")
    assert path.status_code == 400 and "ALIGNMENT_MODEL_ROOTS" in error_of(path)["message"]
    settings.ALIGNMENT_MODEL_ROOTS = [str(tiny_model("llama").parent)]
    ok = key_client.post(URL, {"source": "path-llama", "source_path": str(tiny_model("llama")), "target": "tgt-model"},
                         format="json")
    assert ok.status_code == 202 and ok.json()["estimate"]["throughput"]["source"]["basis"] == \
        "unknown until the job starts" and ok.json()["eta_seconds"] is None
    unknown = key_client.post(URL, {"source": "nope", "target": "tgt-model"}, format="json")
    assert unknown.status_code == 400 and "source_path or source_endpoint" in str(error_of(unknown)["details"])


def test_the_job_trains_through_path_and_endpoint_with_progress(
    user: Any, served: dict[str, str], tiny_model: Callable[[str], Path], settings: Any,
) -> None:
    from marketplace.alignment import jobs, ondemand

    settings.ALIGNMENT_MODEL_ROOTS = [str(tiny_model("llama").parent)]
    settings.MEASURE_STITCHING_ON_NEW_MATRIX = False
    job = ondemand.request_on_demand(user=user, num_anchors=100, source="path-llama",
                                     source_path=str(tiny_model("llama")), target="served-qwen",
                                     target_endpoint=served["qwen2"])
    seen: list[tuple[float, str, Any]] = []
    matrix = jobs.run_alignment_job(job, progress_cb=lambda f, m: seen.append((f, m, job.eta_seconds)))
    job.refresh_from_db()
    assert job.status == "succeeded" and job.matrix == matrix and matrix.source.name == "path-llama"
    assert matrix.target.name == "served-qwen" and job.eta_seconds == 0.0
    assert [f for f, _, _ in seen] == sorted(f for f, _, _ in seen) and seen[-1][0] == 1.0
    assert any(eta is not None and eta > 0 for f, _, eta in seen if 0 < f < 1)
    assert set(job.estimate["measured"]) == {"path-llama", "served-qwen"}
    assert ondemand.measured_throughput(matrix.source) == job.estimate["measured"]["path-llama"]
