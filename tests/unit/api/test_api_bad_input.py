"""Bad input is a clean 4xx (issue 13, faults 5 and 7): NUL characters in any URL parameter, JSON bodies the database
could not store, package metadata that is too deep, not storable or too large; a failed upload leaves no file; list
pages carry listing summaries, not package metadata."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from api_helpers import LAYERS, SRC_DIM, error_of
from django.core.files.base import ContentFile

pytestmark = pytest.mark.django_db


def _schema(client) -> dict:
    return client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def _package(extra: object = None, **overrides) -> bytes:
    from alignment_plugins.vector_package import VectorPackage

    fields = {"source_model": "src-model", "source_fingerprint": "fp-src", "method": "pca",
              "capability": "formality", "contrastive_data_hash": "", "num_layers": LAYERS}
    fields.update(overrides)
    vector = np.random.default_rng(3).standard_normal(SRC_DIM).astype(np.float32)
    return VectorPackage.create({2: vector}, extra=extra, **fields).to_bytes()


def _upload(client, data: bytes):
    form = {"name": "Formal", "source_model": "src-model", "capability_domain": "style", "grade": "A",
            "price": "5", "vector": ContentFile(data, name="formal.vpkg")}
    return client.post("/api/v1/vectors/", form, format="multipart")


def _media_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# ------------------------------------------------------------------------------------------------ NUL in the URL
def test_a_nul_character_in_any_query_parameter_of_any_list_is_a_400(client_anon, key_client, listing, wmatrix):
    paths = _schema(client_anon)["paths"]
    checked = 0
    for path, operations in paths.items():
        operation = operations.get("get")
        if operation is None or "{" in path:
            continue
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "query":
                continue
            response = key_client.get(path, {parameter["name"]: "a\x00b"})
            assert response.status_code == 400, (path, parameter["name"], response.status_code)
            error = error_of(response)
            assert error["code"] == "validation_error" and parameter["name"] in error["details"], error
            checked += 1
    assert checked >= 15  # every filter, page and page_size of every list, the estimate and multi-hop queries


@pytest.mark.parametrize("url", [
    "/api/v1/models/gemma3%00-270m/", "/api/v1/vectors/vec%00x/", "/api/v1/wmatrices/%00/",
    "/api/v1/certificates/c%00/html/", "/api/v1/drift-checks/1%00/",
])
def test_a_nul_character_in_a_lookup_is_a_400(key_client, url):
    response = key_client.get(url)
    assert response.status_code == 400
    assert "NUL characters" in error_of(response)["message"]


def test_nul_in_an_admin_search_is_a_400_not_a_server_error(admin_client_su):
    assert admin_client_su.get("/admin/catalog/vectorlisting/?q=a%00b").status_code == 400


# ------------------------------------------------------------------------------------------------- JSON bodies
@pytest.mark.parametrize(("body", "message"), [
    ('{"listing": "vec_x", "target_model": "tgt-model", "idempotency_key": "\\ud800"}', "surrogate"),
    ('{"listing": "vec_x", "target_model": "tgt-model", "idempotency_key": "a\\u0000"}', "NUL"),
    ('{"listing": NaN, "target_model": "tgt-model"}', "NaN"),
    ('{"listing": ' + "[" * 5000 + "]" * 5000 + "}", "nested too deeply"),
])
def test_json_bodies_the_database_cannot_store_are_a_400(key_client, body, message):
    response = key_client.post("/api/v1/purchases/", body, content_type="application/json")
    assert response.status_code == 400
    assert message in error_of(response)["message"]


# --------------------------------------------------------------------------------------------- package metadata
@pytest.mark.parametrize(("extra", "status", "message"), [
    ({"note": "a\x00b"}, 400, "NUL character"),
    ({"note": "\ud800"}, 400, "lone UTF-16 surrogate"),
    ({"deep": json.loads("[" * 100 + "]" * 100)}, 400, "nested too deeply"),
    ({"blob": "x" * (70 << 10)}, 413, "the limit is 65536 bytes"),
])
def test_package_metadata_that_cannot_be_kept_is_refused_and_leaves_no_file(client_for, seller, archs, settings,
                                                                             extra, status, message):
    before = _media_files(settings)
    response = _upload(client_for(seller), _package(extra))
    assert response.status_code == status, response.content[:300]
    assert message in error_of(response)["message"]
    assert _media_files(settings) == before
    from marketplace.catalog.models import VectorListing

    assert not VectorListing.objects.exists()


def test_the_metadata_bound_is_a_setting(client_for, seller, archs, settings):
    settings.MAX_PACKAGE_METADATA_BYTES = 1 << 20
    assert _upload(client_for(seller), _package({"blob": "x" * (70 << 10)})).status_code == 201


def test_a_failure_after_the_file_is_written_removes_it(seller, archs, settings, monkeypatch):
    from marketplace import events
    from marketplace.catalog.listings import create_listing
    from marketplace.catalog.models import VectorListing

    def broken(listing_id: int) -> None:
        raise RuntimeError("broker gone")

    monkeypatch.setattr(events, "listing_created", broken)
    before = _media_files(settings)
    with pytest.raises(RuntimeError, match="broker gone"):
        create_listing(seller=seller, name="x", description="", source_model=archs["src"], layer=None,
                       capability_domain="style", grade="A", price=5, vector_bytes=_package())
    assert _media_files(settings) == before
    assert not VectorListing.objects.exists()


def test_a_failed_matrix_store_removes_its_file(wmatrix, settings, monkeypatch, tmp_path):
    from api_helpers import write_wmatrix

    from marketplace.alignment import matrices

    def broken(matrix):
        raise RuntimeError("signing key gone")

    monkeypatch.setattr(matrices, "issue_certificate", broken)
    before = _media_files(settings)
    with pytest.raises(RuntimeError, match="signing key gone"):
        matrices.store_matrix(write_wmatrix(tmp_path / "v2.wmatrix", seed=5))
    assert _media_files(settings) == before


# -------------------------------------------------------------------------------------- list pages are summaries
def test_list_pages_carry_summaries_and_the_detail_view_the_metadata(client_anon, client_for, seller, archs):
    client = client_for(seller)
    big = {"notes": ["n" * 1000] * 60}  # ~60 KiB, under the 64 KiB bound
    for _ in range(5):
        assert _upload(client, _package(big)).status_code == 201
    page = client_anon.get("/api/v1/vectors/", {"page_size": 200})
    assert page.status_code == 200 and page.json()["count"] == 5
    assert len(page.content) < 5 * 2048, len(page.content)  # was > 5 x 60 KiB: every package echoed
    row = page.json()["results"][0]
    assert "package" not in row and "description" not in row
    assert row["capability"] == "formality" and row["method"] == "pca"
    detail = client_anon.get(row["url"]).json()
    assert detail["package"]["extra"]["notes"] == big["notes"]


def test_a_description_is_bounded(client_for, seller, archs):
    form = {"name": "Formal", "description": "d" * 4001, "source_model": "src-model", "capability_domain": "style",
            "grade": "A", "price": "5", "vector": ContentFile(_package(), name="formal.vpkg")}
    response = client_for(seller).post("/api/v1/vectors/", form, format="multipart")
    assert response.status_code == 400 and "description" in error_of(response)["details"]


# ------------------------------------------------------------------------------------- the schema says the truth
def test_the_schema_documents_what_the_api_answers(client_anon, key_client, archs, wmatrix, user):
    import re

    from marketplace.catalog import ledger
    from marketplace.catalog.models import Architecture

    schema = _schema(client_anon)
    components, paths = schema["components"]["schemas"], schema["paths"]
    # support-matrix and multi-hop answer one object
    for path in ("/api/v1/support-matrix/", "/api/v1/multihop/"):
        body = paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert "$ref" in body and body.get("type") != "array", (path, body)
    assert isinstance(client_anon.get("/api/v1/support-matrix/").json(), dict)
    # real model names satisfy the documented name pattern, and their detail URLs resolve
    pattern = paths["/api/v1/models/{name}/"]["get"]["parameters"][0]["schema"]["pattern"]
    response_pattern = components["Architecture"]["properties"]["name"].get("pattern", "")
    for name in ("smollm2-135m-instruct", "gemma3-270m", "qwen2.5-coder-0.5b-instruct", "my_model.v2"):
        assert re.match(pattern, name) and re.match(response_pattern, name), name
        Architecture.objects.create(name=name, family="llama", hidden_size=8)
        assert client_anon.get(f"/api/v1/models/{name}/").status_code == 200
    # a page past the end is a documented 404
    for path, operations in paths.items():
        get = operations.get("get", {})
        if any(p["name"] == "page" for p in get.get("parameters", [])):
            assert "404" in get["responses"], path
    assert client_anon.get("/api/v1/models/", {"page": 99}).status_code == 404
    # references that can be null are documented as nullable
    assert components["LedgerEntry"]["properties"]["purchase"].get("nullable") is True
    assert components["Purchase"]["properties"]["matrix"].get("nullable") is True
    ledger.deposit(user, 5)
    assert key_client.get("/api/v1/accounts/me/").json()["recent_entries"][0]["purchase"] is None
