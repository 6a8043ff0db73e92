"""Models and vector listings: reads, filters, search, pagination, multipart upload, compatibility estimates."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from api_helpers import SRC_DIM, error_of, vector_bytes
from django.core.files.uploadedfile import SimpleUploadedFile

from marketplace.catalog.models import VectorListing

pytestmark = pytest.mark.django_db


def test_models_list_and_detail(client_anon, archs, wmatrix):
    response = client_anon.get("/api/v1/models/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [m["name"] for m in body["results"]] == ["lonely-model", "src-model", "tgt-model"]
    assert body["results"][1]["support_level"] == "full" and body["results"][1]["hidden_size"] == SRC_DIM

    detail = client_anon.get("/api/v1/models/src-model/").json()
    assert detail["matrices"] == {"as_source": ["tgt-model"], "as_target": []}
    assert client_anon.get("/api/v1/models/nope/").status_code == 404


def test_vectors_filters_and_search(client_anon, make_listing, archs):
    a = make_listing(name="Formal tone", grade="A", price=Decimal("5"), capability_domain="style")
    b = make_listing(name="Code review", description="spots bugs", grade="C", price=Decimal("50"),
                     capability_domain="coding")
    c = make_listing(name="Removed one", status=VectorListing.Status.REMOVED)
    make_listing(name="Other source", source_model=archs["tgt"])

    def ids(**params):
        response = client_anon.get("/api/v1/vectors/", params)
        assert response.status_code == 200, response.content
        return {r["id"] for r in response.json()["results"]}

    assert c.public_id not in ids()
    assert ids(source_model="src-model") == {a.public_id, b.public_id}
    assert ids(capability_domain="coding") == {b.public_id}
    assert ids(grade="a", source_model="src-model") == {a.public_id}
    assert ids(min_price="10", source_model="src-model") == {b.public_id}
    assert ids(max_price="10", source_model="src-model") == {a.public_id}
    assert ids(search="BUGS") == {b.public_id}
    assert ids(status="removed") == set()  # not public: only its seller and staff see it
    assert c.public_id not in ids(status="all")


def test_listing_detail_hides_the_vector_file(client_anon, listing):
    body = client_anon.get(f"/api/v1/vectors/{listing.public_id}/").json()
    assert body["id"] == listing.public_id and body["source_model"] == "src-model" and body["price"] == "10.0000"
    assert body["seller"] == "seller"
    assert "vector_file" not in body and not any("media" in str(v) for v in body.values())


def test_pagination_page_size_and_cap(client_anon, make_listing):
    for i in range(5):
        make_listing(name=f"v{i}")
    body = client_anon.get("/api/v1/vectors/", {"page_size": 2}).json()
    assert body["count"] == 5 and len(body["results"]) == 2 and body["next"] and body["previous"] is None
    page3 = client_anon.get("/api/v1/vectors/", {"page_size": 2, "page": 3}).json()
    assert len(page3["results"]) == 1 and page3["next"] is None
    assert len(client_anon.get("/api/v1/vectors/", {"page_size": 10_000}).json()["results"]) == 5
    response = client_anon.get("/api/v1/vectors/", {"page": 99})
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"

    from marketplace.api.pagination import PageNumberPagination

    assert PageNumberPagination.max_page_size == 200


def _upload_form(data: bytes, **overrides) -> dict:
    form = {"name": "Polite", "description": "politeness", "source_model": "src-model", "layer": 2,
            "capability_domain": "style", "grade": "B", "price": "12.5",
            "vector": SimpleUploadedFile("polite.safetensors", data, content_type="application/octet-stream")}
    form.update(overrides)
    return form


def test_create_listing_multipart(client_for, seller, archs):
    response = client_for(seller).post("/api/v1/vectors/", _upload_form(vector_bytes(SRC_DIM)), format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"].endswith(f"/api/v1/vectors/{body['id']}/")
    listing = VectorListing.objects.get(public_id=body["id"])
    assert listing.seller == seller and listing.vector_dim == SRC_DIM and listing.price == Decimal("12.5")


@pytest.mark.parametrize(
    "data",
    [
        vector_bytes(SRC_DIM + 3),                                   # wrong dimension for the source model
        vector_bytes(SRC_DIM, values=np.full(SRC_DIM, np.nan)),      # non-finite values
        b"definitely not safetensors",
    ],
    ids=["wrong-dim", "nan", "garbage"],
)
def test_upload_validation_errors_surface_the_service_message(client_for, seller, archs, data):
    from marketplace.catalog import listings
    from marketplace.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as expected:
        listings.create_listing(seller=seller, name="Polite", description="", source_model=archs["src"], layer=2,
                                capability_domain="style", grade="B", price=Decimal("1"), vector_bytes=data)
    response = client_for(seller).post("/api/v1/vectors/", _upload_form(data), format="multipart")
    assert response.status_code == 400, response.content
    error = error_of(response)
    assert error["message"] == str(expected.value)
    assert error["code"] == expected.value.code


def test_upload_form_validation(client_for, seller, archs):
    response = client_for(seller).post("/api/v1/vectors/", _upload_form(vector_bytes(SRC_DIM), grade="Z",
                                                                           source_model="nope"), format="multipart")
    assert response.status_code == 400
    assert set(error_of(response)["details"]) == {"grade", "source_model"}


def test_compatibility_estimate(client_anon, listing, wmatrix):
    response = client_anon.get(f"/api/v1/vectors/{listing.public_id}/compatibility/",
                               {"target_model": "tgt-model", "custom_fine_tune": "false"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["target_model"] == "tgt-model" and body["listing"] == listing.public_id
    assert 0.0 <= body["retention"] <= 1.0 and body["ci_low"] <= body["ci_high"]
    assert body["matrix_version"] == 1 and body["matrix"]["id"] == wmatrix.public_id
    assert body["basis"] and body["risk_level"] in {"low", "medium", "high"}


def test_compatibility_same_model_is_identity(client_anon, listing):
    body = client_anon.get(f"/api/v1/vectors/{listing.public_id}/compatibility/",
                           {"target_model": "src-model"}).json()
    assert body["retention"] == 1.0 and body["basis"] == "identity"
    assert body["matrix"] is None and body["matrix_version"] is None


def test_compatibility_without_matrix_hints_alignment(client_anon, listing, archs):
    response = client_anon.get(f"/api/v1/vectors/{listing.public_id}/compatibility/",
                               {"target_model": "lonely-model"})
    assert response.status_code == 404
    error = error_of(response)
    assert "POST /api/v1/alignment-jobs/" in error["message"]
    assert error["details"]["hint"] == "request alignment via POST /api/v1/alignment-jobs/"
    assert error["details"]["alignment_jobs_url"].endswith("/api/v1/alignment-jobs/")


def test_compatibility_requires_target(client_anon, listing):
    response = client_anon.get(f"/api/v1/vectors/{listing.public_id}/compatibility/")
    assert response.status_code == 400
    assert "target_model" in error_of(response)["details"]


def test_compatibility_config_keys_are_used_or_refused(client_anon, listing, wmatrix):
    url = f"/api/v1/vectors/{listing.public_id}/compatibility/"
    body = client_anon.get(url, {"target_model": "tgt-model", "quantization": "int8", "context_length": 4096,
                                 "custom_fine_tune": "my-checkpoint-v2"}).json()
    assert body["target_config"] == {"quantization": "int8", "context_length": 4096,
                                     "custom_fine_tune": "my-checkpoint-v2"}
    assert body["fine_tune"]["status"] == "unverified" and body["interval"] == "conformal_wide"
    assert body["reasons"] and body["ci_level"] == 0.9 and body["basis"] == "learned_estimate"
    unknown = client_anon.get(url, {"target_model": "tgt-model", "batch_size": 8})
    assert unknown.status_code == 400 and "batch_size" in error_of(unknown)["details"]
    for bad in ({"quantization": "int3"}, {"context_length": 0}, {"context_length": "long"}):
        response = client_anon.get(url, {"target_model": "tgt-model", **bad})
        assert response.status_code == 400, (bad, response.content)
    assert "unknown quantization" in error_of(client_anon.get(url, {"target_model": "tgt-model",
                                                                    "quantization": "int3"}))["message"]
