"""Registering trained matrices (REST upload and ``WMatrix.register`` against a live server) and drift checks over
the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from api_helpers import error_of, write_wmatrix
from django.core.files.uploadedfile import SimpleUploadedFile

import marketplace.alignment.tasks  # noqa: F401  (registers the tasks sent_tasks intercepts when run alone)
from alignment_plugins.wmatrix import WMatrix as EngineWMatrix

pytestmark = pytest.mark.django_db

URL = "/api/v1/wmatrices/"


def _upload(client: Any, path: Path, name: str = "custom-to-tgt") -> Any:
    return client.post(URL, {"name": name, "file": SimpleUploadedFile("m.wmatrix", path.read_bytes())},
                       format="multipart")


def test_upload_stores_a_certified_version_owned_by_the_caller(key_client: Any, user: Any, archs: dict,
                                                               tmp_path: Path) -> None:
    from marketplace.catalog.models import Architecture

    path = write_wmatrix(tmp_path / "m.wmatrix", source="my-custom-model", target="tgt-model")
    response = _upload(key_client, path)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["owner"] == user.get_username() and body["name"] == "custom-to-tgt" and body["version"] == 1
    assert response["Location"] == body["url"]
    certificate = key_client.get(body["certificate_url"])
    assert certificate.status_code == 200 and certificate.json()["signature_valid"] is True
    custom = Architecture.objects.get(name="my-custom-model")
    assert custom.support_level == "partial" and custom.hidden_size == 8 and custom.weight_fingerprint == "fp-src"
    assert _upload(key_client, write_wmatrix(tmp_path / "v2.wmatrix", source="my-custom-model", seed=1)).json()[
        "version"] == 2  # the owner may upload the next version


def test_bad_uploads_are_refused_and_nothing_is_stored(key_client: Any, client_anon: Any, archs: dict,
                                                       tmp_path: Path, settings: Any, client_for: Any,
                                                       other_user: Any) -> None:
    from marketplace.alignment.models import WMatrix

    path = write_wmatrix(tmp_path / "m.wmatrix", source="my-custom-model")
    assert _upload(client_anon, path).status_code == 401
    tampered = tmp_path / "bad.wmatrix"
    tampered.write_bytes(path.read_bytes()[:-8] + b"\x00" * 8)
    response = _upload(key_client, tampered)
    assert response.status_code == 400 and "integrity check failed" in error_of(response)["message"]
    assert "not a valid .wmatrix" in _upload(key_client, tmp_path.joinpath("x").write_bytes(b"nope") and
                                             tmp_path / "x").json()["error"]["message"]
    bad_name = _upload(key_client, path, name="../../etc")
    assert bad_name.status_code == 400 and "name must be" in error_of(bad_name)["message"]
    wrong_size = write_wmatrix(tmp_path / "w.wmatrix", source="src-model", dx=5)  # src-model has hidden size 8
    assert "hidden size" in error_of(_upload(key_client, wrong_size))["message"]
    archs["src"].weight_fingerprint = "sha256:registered"
    archs["src"].save()
    other_weights = write_wmatrix(tmp_path / "o.wmatrix", source="src-model")
    assert "registered with weights sha256:registered" in error_of(_upload(key_client, other_weights))["message"]
    settings.MAX_WMATRIX_UPLOAD_BYTES = 100
    assert _upload(key_client, path).status_code == 413
    assert not WMatrix.objects.exists()
    settings.MAX_WMATRIX_UPLOAD_BYTES = 1 << 30
    assert _upload(key_client, path).status_code == 201
    conflict = _upload(client_for(other_user), write_wmatrix(tmp_path / "c.wmatrix", source="my-custom-model",
                                                             seed=3))
    assert conflict.status_code == 409 and error_of(conflict)["details"]["matrix_id"]


def test_register_uploads_through_a_live_server(live_server: Any, api_key: Any, archs: dict, tmp_path: Path) -> None:
    from alignment_plugins.registry import RegistrationError

    engine = EngineWMatrix.load(write_wmatrix(tmp_path / "m.wmatrix", source="my-custom-model"))
    stored = engine.register(name="custom-to-llama", api_key=api_key[1], base_url=live_server.url)
    assert stored["name"] == "custom-to-llama" and stored["source"] == "my-custom-model" and stored["id"]
    with pytest.raises(RegistrationError, match="HTTP 401") as info:
        engine.register(name="again", api_key="wrong-key", base_url=live_server.url)
    assert info.value.status == 401
    with pytest.raises(ValueError, match="no API key"):
        engine.register(name="x", base_url=live_server.url)


# ----------------------------------------------------------------------------------------------- drift
def _check(matrix: Any, recommendation: str = "recalibrate") -> Any:
    from marketplace.alignment.models import DriftCheck

    return DriftCheck.objects.create(matrix=matrix, status="drifted", drift=0.07, drift_detected=True,
                                     recommendation=recommendation, detail="planted",
                                     result={"recommendation": recommendation, "paired_test": {"p_value": 0.001}})


def test_drift_checks_are_readable_over_the_api(key_client: Any, client_anon: Any, wmatrix: Any) -> None:
    check = _check(wmatrix)
    assert client_anon.get("/api/v1/drift-checks/").status_code == 401
    listing = key_client.get(f"/api/v1/drift-checks/?matrix={wmatrix.public_id}").json()
    assert listing["count"] == 1 and listing["results"][0]["recommendation"] == "recalibrate"
    detail = key_client.get(f"/api/v1/drift-checks/{check.pk}/").json()
    assert detail["matrix"] == wmatrix.public_id and detail["result"]["paired_test"]["p_value"] == 0.001
    assert key_client.get("/api/v1/drift-checks/?matrix=wm_other").json()["count"] == 0


def test_owners_and_staff_ask_for_checks_and_act_on_them(
    key_client: Any, user: Any, client_for: Any, other_user: Any, superuser: Any, wmatrix: Any, sent_tasks: list,
    django_capture_on_commit_callbacks: Any,
) -> None:
    other = client_for(other_user)
    assert other.post("/api/v1/drift-checks/", {"matrix": wmatrix.public_id}, format="json").status_code == 403
    wmatrix.owner = user
    wmatrix.save()
    with django_capture_on_commit_callbacks(execute=True):
        response = key_client.post("/api/v1/drift-checks/", {"matrix": wmatrix.public_id}, format="json")
    assert response.status_code == 202 and response.json()["status"] == "queued"
    assert sent_tasks == [("alignment.revalidate_drift", [wmatrix.id], "gpu")]
    check = _check(wmatrix)
    assert other.post(f"/api/v1/drift-checks/{check.pk}/act/").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        acted = client_for(superuser).post(f"/api/v1/drift-checks/{check.pk}/act/")
    assert acted.status_code == 200 and acted.json()["action"] == "recalibration queued"
    assert sent_tasks[-1] == ("alignment.recalibrate_matrix", [check.pk], "gpu")
    unknown = key_client.post("/api/v1/drift-checks/", {"matrix": "wm_nope"}, format="json")
    assert unknown.status_code == 400
