"""Matrices (download, certificate), the support matrix, alignment jobs, plugins."""

from __future__ import annotations

import hashlib

import pytest
from api_helpers import error_of

from marketplace.alignment.models import AlignmentJob

pytestmark = pytest.mark.django_db


def test_wmatrix_list_filters_and_detail(client_anon, wmatrix):
    body = client_anon.get("/api/v1/wmatrices/", {"source": "src-model", "status": "active"}).json()
    assert [m["id"] for m in body["results"]] == [wmatrix.public_id]
    assert client_anon.get("/api/v1/wmatrices/", {"target": "lonely-model"}).json()["count"] == 0

    detail = client_anon.get(f"/api/v1/wmatrices/{wmatrix.public_id}/").json()
    assert detail["source"] == "src-model" and detail["target"] == "tgt-model" and detail["version"] == 1
    assert detail["best_metrics"]["semantic_preservation"] == pytest.approx(0.93)


def test_wmatrix_download_streams_the_file(client_anon, wmatrix):
    response = client_anon.get(f"/api/v1/wmatrices/{wmatrix.public_id}/download/")
    assert response.status_code == 200
    content = b"".join(response.streaming_content)
    assert hashlib.sha256(content).hexdigest() == wmatrix.file_sha256
    assert 'filename="src-model__tgt-model__v1.wmatrix"' in response["Content-Disposition"]
    assert response["X-Content-SHA256"] == wmatrix.file_sha256


def test_wmatrix_certificate(client_anon, wmatrix):
    url = f"/api/v1/wmatrices/{wmatrix.public_id}/certificate/"
    response = client_anon.get(url)
    assert response.status_code == 404 and error_of(response)["code"] == "certificate_not_found"

    from marketplace.alignment.certificates import issue_certificate

    cert = issue_certificate(wmatrix)
    body = client_anon.get(url).json()
    assert body["id"] == cert.public_id and body["signature_valid"] is True and body["tier"] in (1, 2, 3, 4)

    type(cert).objects.filter(pk=cert.pk).update(signature="0" * 64)
    assert client_anon.get(url).json()["signature_valid"] is False


def test_support_matrix(client_anon, wmatrix):
    body = client_anon.get("/api/v1/support-matrix/").json()
    assert body["count"] == 1
    row = body["results"][0]
    assert (row["source"], row["target"], row["version"]) == ("src-model", "tgt-model", 1)
    assert {"tier", "best_pair", "semantic_preservation", "typical_retention", "basis"} <= set(row)


def test_alignment_job_create_and_detail(key_client, user, archs):
    response = key_client.post("/api/v1/alignment-jobs/", {"source": "src-model", "target": "lonely-model",
                                                           "num_anchors": 500}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert response["Location"] == body["status_url"]
    job = AlignmentJob.objects.get(public_id=body["id"])
    assert job.requested_by == user and job.num_anchors == 500

    detail = key_client.get(f"/api/v1/alignment-jobs/{job.public_id}/").json()
    assert {"status", "progress", "eta_seconds", "message", "matrix"} <= set(detail)
    assert detail["source"] == "src-model" and detail["target"] == "lonely-model"


def test_alignment_job_conflict_names_the_running_job(key_client, archs):
    payload = {"source": "src-model", "target": "lonely-model"}
    first = key_client.post("/api/v1/alignment-jobs/", payload, format="json")
    assert first.status_code == 202
    again = key_client.post("/api/v1/alignment-jobs/", payload, format="json")
    assert again.status_code == 409
    error = error_of(again)
    assert error["code"] == "conflict" and error["details"] == {"job_id": first.json()["id"]}


def test_alignment_job_bad_input(key_client, archs):
    response = key_client.post("/api/v1/alignment-jobs/", {"source": "nope", "target": "tgt-model"}, format="json")
    assert response.status_code == 400 and "source" in error_of(response)["details"]


def test_plugins_lists_builtins(client_anon):
    body = client_anon.get("/api/v1/plugins/").json()
    names = {p["name"] for p in body}
    assert "alignment_plugins.solvers.plugin" in names
    solver = next(p for p in body if p["name"] == "alignment_plugins.solvers.plugin")
    assert solver["origin"] == "builtin" and solver["version"] and solver["hooks"]
