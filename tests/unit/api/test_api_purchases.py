"""Purchases over HTTP: idempotency (one purchase, one debit), buyer-only reads and downloads, accounts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from api_helpers import TGT_DIM, error_of, vector_bytes
from django.core.files.base import ContentFile
from safetensors.numpy import load

from marketplace.catalog.models import LedgerEntry, Purchase
from marketplace.catalog.vector_files import delivered_package

pytestmark = pytest.mark.django_db


@pytest.fixture
def funded(user):
    from marketplace.catalog.ledger import deposit

    deposit(user, Decimal("100"), memo="test funds")
    return user


def _debits(user) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(account__user=user, kind=LedgerEntry.Kind.PURCHASE))


def test_same_key_twice_is_one_purchase_one_debit(funded, key_client, listing, wmatrix):
    from marketplace.catalog.ledger import get_account

    payload = {"listing": listing.public_id, "target_model": "tgt-model", "idempotency_key": "order-1"}
    first = key_client.post("/api/v1/purchases/", payload, format="json")
    assert first.status_code == 202, first.content
    body = first.json()
    assert first["Location"] == body["status_url"] and body["status_url"].endswith(f"/purchases/{body['id']}/")
    assert body["status"] in {"pending", "processing", "delivered"}

    second = key_client.post("/api/v1/purchases/", payload, format="json")
    assert second.status_code in (200, 202)
    assert second.json()["id"] == body["id"]
    assert second["Idempotent-Replayed"] == "true"

    assert Purchase.objects.filter(buyer=funded).count() == 1
    assert len(_debits(funded)) == 1
    assert get_account(funded).balance == Decimal("100") - listing.price


def test_idempotency_key_from_header(funded, key_client, listing, wmatrix):
    payload = {"listing": listing.public_id, "target_model": "tgt-model"}
    first = key_client.post("/api/v1/purchases/", payload, format="json", HTTP_IDEMPOTENCY_KEY="hdr-1")
    second = key_client.post("/api/v1/purchases/", payload, format="json", HTTP_IDEMPOTENCY_KEY="hdr-1")
    assert first.status_code == 202 and second.status_code in (200, 202)
    assert first.json()["id"] == second.json()["id"]
    assert len(_debits(funded)) == 1

    missing = key_client.post("/api/v1/purchases/", payload, format="json")
    assert missing.status_code == 400 and "idempotency_key" in error_of(missing)["details"]
    clash = key_client.post("/api/v1/purchases/", {**payload, "idempotency_key": "a"}, format="json",
                            HTTP_IDEMPOTENCY_KEY="b")
    assert clash.status_code == 400


def test_insufficient_funds_is_402(user, key_client, listing, wmatrix):
    response = key_client.post("/api/v1/purchases/", {"listing": listing.public_id, "target_model": "tgt-model",
                                                      "idempotency_key": "broke"}, format="json")
    assert response.status_code == 402, response.content
    assert error_of(response)["message"]
    assert Purchase.objects.count() == 0


@pytest.fixture
def delivered(user, listing, archs, wmatrix):
    purchase = Purchase(buyer=user, listing=listing, target_model=archs["tgt"], price=listing.price,
                        idempotency_key="done", matrix=wmatrix, target_layer=1, status=Purchase.Status.DELIVERED)
    package = delivered_package(purchase, load(vector_bytes(TGT_DIM, seed=3))["vector"], {"matrix": wmatrix.public_id})
    purchase.translated_vector.save("out.vpkg", ContentFile(package.to_bytes()), save=False)
    purchase.save()
    return purchase


def test_buyer_only_detail_and_download(delivered, client_for, user, other_user, client_anon):
    url = f"/api/v1/purchases/{delivered.public_id}/"
    buyer = client_for(user)
    body = buyer.get(url).json()
    assert body["status"] == "delivered" and body["matrix"] == delivered.matrix.public_id
    assert body["download_url"].endswith(f"{url}download/")

    response = buyer.get(f"{url}download/")
    assert response.status_code == 200
    assert load(response.content)["vector"].tobytes() == load(vector_bytes(TGT_DIM, seed=3))["vector"].tobytes()
    assert f'filename="{delivered.listing.public_id}__tgt-model.safetensors"' in response["Content-Disposition"]

    stranger = client_for(other_user)
    for path in (url, f"{url}download/"):
        response = stranger.get(path)
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"
    assert client_anon.get(f"{url}download/").status_code == 401
    assert [p["id"] for p in stranger.get("/api/v1/purchases/").json()["results"]] == []
    assert [p["id"] for p in buyer.get("/api/v1/purchases/").json()["results"]] == [delivered.public_id]


def test_account_me_balance_and_entries(funded, key_client):
    body = key_client.get("/api/v1/accounts/me/").json()
    assert body["balance"] == "100.0000" and body["currency"] == "AMEM"
    assert [(e["kind"], e["amount"]) for e in body["recent_entries"]] == [("deposit", "100.0000")]
