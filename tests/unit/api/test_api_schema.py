"""The OpenAPI schema renders and documents every endpoint; the docs page loads."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

EXPECTED_PATHS = [
    "/api/v1/models/", "/api/v1/models/{name}/", "/api/v1/vectors/", "/api/v1/vectors/{public_id}/",
    "/api/v1/vectors/{public_id}/compatibility/", "/api/v1/wmatrices/", "/api/v1/wmatrices/{public_id}/",
    "/api/v1/wmatrices/{public_id}/download/", "/api/v1/wmatrices/{public_id}/certificate/",
    "/api/v1/support-matrix/", "/api/v1/purchases/", "/api/v1/purchases/{public_id}/",
    "/api/v1/purchases/{public_id}/download/", "/api/v1/alignment-jobs/", "/api/v1/alignment-jobs/{public_id}/",
    "/api/v1/plugins/", "/api/v1/accounts/me/",
]


def test_schema_renders_with_every_path(client_anon):
    response = client_anon.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    missing = [p for p in EXPECTED_PATHS if p not in schema["paths"]]
    assert not missing, missing
    assert "ApiKeyAuth" in schema["components"]["securitySchemes"]


def test_docs_page(client_anon):
    assert client_anon.get("/api/docs/").status_code == 200


def test_schema_documents_the_list_filters(client_anon):
    """The list endpoints' query parameters come from their FilterSets, with the accepted values."""
    paths = client_anon.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]

    def params(path: str) -> dict:
        return {p["name"]: p for p in paths[path]["get"]["parameters"] if p["in"] == "query"}

    vectors = params("/api/v1/vectors/")
    assert {"source_model", "capability_domain", "grade", "min_price", "max_price", "status", "search"} <= set(vectors)
    assert "all" in vectors["status"]["schema"]["enum"] and "default active" in vectors["status"]["description"]
    assert {"source", "target", "status"} <= set(params("/api/v1/wmatrices/"))
    assert {"family", "kind", "support_level"} <= set(params("/api/v1/models/"))
    assert {"matrix", "source", "target"} <= set(params("/api/v1/certificates/"))
    assert "status" not in params("/api/v1/vectors/{public_id}/")  # filters apply to lists only
