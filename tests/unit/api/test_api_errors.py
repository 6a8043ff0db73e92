"""Every error is {"error": {"code", "message", "details"}}: 400, 401, 404, 405, 409, 413, 429."""

from __future__ import annotations

import pytest
from api_helpers import SRC_DIM, error_of, vector_bytes
from django.core.files.uploadedfile import SimpleUploadedFile

pytestmark = pytest.mark.django_db


def test_404_unknown_object_and_unknown_path(client_anon, archs):
    response = client_anon.get("/api/v1/vectors/vec_nope000000000000/")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"

    response = client_anon.get("/api/v1/no-such-endpoint/")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_405(client_for, user, listing):
    response = client_for(user).delete(f"/api/v1/vectors/{listing.public_id}/")
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"


def test_400_validation_has_field_details(key_client, archs):
    response = key_client.post("/api/v1/purchases/", {"target_model": "nope"}, format="json")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert set(error["details"]) >= {"listing", "target_model"}
    assert error["message"]


def test_400_bad_filter(client_anon, archs):
    response = client_anon.get("/api/v1/vectors/", {"min_price": "abc"})
    assert response.status_code == 400
    assert error_of(response)["details"] == {"min_price": ["must be a number"]}


@pytest.mark.parametrize(
    ("url", "params", "details"),
    [("/api/v1/vectors/", {"max_price": "NaN"}, {"max_price": ["must be a number"]}),
     ("/api/v1/vectors/", {"status": "gone"}, {"status": ["must be one of ['draft', 'active', 'suspended', "
                                                          "'removed', 'all']"]}),
     ("/api/v1/vectors/", {"grade": "z"}, {"grade": ["must be one of ['A', 'B', 'C', 'D', 'E', 'F']"]}),
     ("/api/v1/wmatrices/", {"status": "fresh"}, {"status": ["must be one of ['active', 'superseded', "
                                                             "'drifted', 'failed']"]}),
     ("/api/v1/models/", {"support_level": "most"}, {"support_level": ["must be one of ['full', 'partial', "
                                                                       "'metadata']"]})],
)
def test_400_bad_filter_values_name_the_parameter(client_anon, archs, url, params, details):
    response = client_anon.get(url, params)
    assert response.status_code == 400
    assert error_of(response)["code"] == "validation_error" and error_of(response)["details"] == details


def test_filters_apply_to_lists_only(client_for, seller, make_listing):
    """The seller's own suspended listing is hidden from the default list, but its detail URL answers the seller
    whatever the `status` filter says (filters apply to lists only)."""
    from marketplace.catalog.models import VectorListing

    hidden = make_listing(status=VectorListing.Status.SUSPENDED)
    client = client_for(seller)
    assert client.get("/api/v1/vectors/").json()["count"] == 0
    assert client.get(f"/api/v1/vectors/{hidden.public_id}/", {"status": "active"}).status_code == 200


def test_409_download_before_delivery(client_for, user, listing, archs):
    from marketplace.catalog.models import Purchase

    purchase = Purchase.objects.create(buyer=user, listing=listing, target_model=archs["tgt"], price=listing.price,
                                       idempotency_key="k")
    response = client_for(user).get(f"/api/v1/purchases/{purchase.public_id}/download/")
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "not_delivered" and error["details"] == {"status": "pending"}


def test_service_errors_map_to_their_status(key_client, listing, archs, monkeypatch):
    from marketplace import errors
    from marketplace.catalog import purchases

    for exc_class, status in ((errors.InsufficientFunds, 402), (errors.Conflict, 409),
                              (errors.ValidationFailed, 400), (errors.NotFound, 404)):
        def _raise(*args, exc_class=exc_class, **kwargs):
            raise exc_class("service said no")

        monkeypatch.setattr(purchases, "create_purchase", _raise)
        response = key_client.post("/api/v1/purchases/", {"listing": listing.public_id, "target_model": "tgt-model",
                                                          "idempotency_key": "k1"}, format="json")
        assert response.status_code == status, (exc_class, response.content)
        error = error_of(response)
        assert error["message"] == "service said no"
        assert error["code"] == exc_class("x").code


def test_413_upload_over_limit(client_for, seller, archs, settings):
    settings.MAX_VECTOR_UPLOAD_BYTES = 64
    upload = SimpleUploadedFile("v.safetensors", vector_bytes(SRC_DIM) + b"\0" * 128)
    response = client_for(seller).post("/api/v1/vectors/", {
        "name": "x", "source_model": "src-model", "layer": 1, "capability_domain": "style", "grade": "A",
        "price": "1", "vector": upload,
    }, format="multipart")
    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "payload_too_large" and error["details"]["max_bytes"] == 64


def test_413_body_over_limit_refused_before_parsing(client_for, seller, archs, settings):
    settings.MAX_VECTOR_UPLOAD_BYTES = 64
    upload = SimpleUploadedFile("v.safetensors", b"\0" * (200 << 10))
    response = client_for(seller).post("/api/v1/vectors/", {"vector": upload}, format="multipart")
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


def test_429_throttled_per_api_key_and_per_ip(settings, client_for, user, other_user, client_anon, archs):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"api_key": "3/min", "anon": "2/min"}}
    first = client_for(user)
    for _ in range(3):
        assert first.get("/api/v1/models/").status_code == 200
    response = first.get("/api/v1/models/")
    assert response.status_code == 429
    error = error_of(response)
    assert error["code"] == "throttled" and error["details"]["retry_after"] > 0
    assert int(response["Retry-After"]) > 0
    # a second user's key has its own budget
    assert client_for(other_user).get("/api/v1/models/").status_code == 200

    for _ in range(2):
        assert client_anon.get("/api/v1/models/").status_code == 200
    assert client_anon.get("/api/v1/models/").status_code == 429
