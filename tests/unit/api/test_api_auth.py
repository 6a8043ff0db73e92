"""API keys: hashed storage, both headers, revocation, last-use bookkeeping, where authentication is required."""

from __future__ import annotations

from datetime import timedelta

import pytest
from api_helpers import error_of
from django.utils import timezone
from rest_framework.test import APIClient

from marketplace.catalog.models import ApiKey

pytestmark = pytest.mark.django_db

ME = "/api/v1/accounts/me/"


def test_clear_key_is_never_stored(user):
    row, raw = ApiKey.issue(user)
    row.refresh_from_db()
    stored = [str(getattr(row, f.attname)) for f in ApiKey._meta.concrete_fields]
    assert raw not in stored
    assert row.key_hash == ApiKey.hash_key(raw) and len(row.key_hash) == 64
    assert raw.startswith(row.prefix)


@pytest.mark.parametrize("header", ["authorization", "x-api-key"])
def test_api_key_headers_authenticate(api_key, header):
    client = APIClient()
    if header == "authorization":
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key[1]}")
    else:
        client.credentials(HTTP_X_API_KEY=api_key[1])
    response = client.get(ME)
    assert response.status_code == 200, response.content
    assert response.json()["username"] == "buyer"


def test_unknown_and_revoked_keys_are_401(api_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Api-Key amk_not-a-real-key")
    response = client.get(ME)
    assert response.status_code == 401
    assert error_of(response)["code"] == "authentication_failed"
    assert response["WWW-Authenticate"] == "Api-Key"

    row, raw = api_key
    row.revoked = True
    row.save()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    response = client.get("/api/v1/vectors/")  # even a public read: a bad key is an error, not anonymity
    assert response.status_code == 401
    assert error_of(response)["code"] == "authentication_failed"


def test_last_used_at_written_at_most_once_a_minute(api_key, key_client, django_assert_num_queries):
    row, _ = api_key
    assert key_client.get(ME).status_code == 200
    row.refresh_from_db()
    first = row.last_used_at
    assert first is not None
    assert key_client.get(ME).status_code == 200
    row.refresh_from_db()
    assert row.last_used_at == first  # within the minute: no write

    ApiKey.objects.filter(pk=row.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    assert key_client.get(ME).status_code == 200
    row.refresh_from_db()
    assert row.last_used_at > first


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", ME),
        ("get", "/api/v1/purchases/"),
        ("post", "/api/v1/purchases/"),
        ("post", "/api/v1/vectors/"),
        ("post", "/api/v1/alignment-jobs/"),
        ("get", "/api/v1/purchases/pur_doesnotexist0000/download/"),
    ],
)
def test_authentication_required(client_anon, method, path):
    response = getattr(client_anon, method)(path, {}, format="json")
    assert response.status_code == 401, response.content
    assert error_of(response)["code"] == "not_authenticated"


@pytest.mark.parametrize("path", ["/api/v1/models/", "/api/v1/vectors/", "/api/v1/wmatrices/",
                                  "/api/v1/support-matrix/", "/api/v1/plugins/"])
def test_catalog_reads_are_public(client_anon, archs, path):
    assert client_anon.get(path).status_code == 200


def test_session_auth_for_browsable_api(user):
    client = APIClient()
    client.force_login(user)
    assert client.get(ME).status_code == 200
