"""Operations as users would probe them: a withdrawn listing is gone for the public but not for its buyers; GPU
alignment jobs are not free for every account."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from api_helpers import error_of

from marketplace.catalog.models import LedgerEntry, Purchase, VectorListing

pytestmark = pytest.mark.django_db

HIDDEN = [VectorListing.Status.SUSPENDED, VectorListing.Status.REMOVED, VectorListing.Status.DRAFT]


@pytest.fixture
def funded(user):
    from marketplace.catalog.ledger import deposit

    deposit(user, Decimal("100"), memo="test funds")
    return user


@pytest.mark.parametrize("status", HIDDEN)
def test_a_withdrawn_listing_is_not_public(status: str, client_anon, client_for, funded, seller, superuser,
                                           make_listing, wmatrix) -> None:
    listing = make_listing(status=status)
    detail = f"/api/v1/vectors/{listing.public_id}/"
    estimate = f"{detail}compatibility/?target_model=tgt-model"
    buyer = client_for(funded)
    for client in (client_anon, buyer):
        for params in ({}, {"status": status}, {"status": "all"}, {"search": listing.name}):
            ids = {r["id"] for r in client.get("/api/v1/vectors/", params).json()["results"]}
            assert listing.public_id not in ids, params
        for url in (detail, estimate):
            response = client.get(url)
            assert response.status_code == 404 and error_of(response)["code"] == "not_found", url
    bought = buyer.post("/api/v1/purchases/", {"listing": listing.public_id, "target_model": "tgt-model",
                                               "idempotency_key": "k1"}, format="json")
    assert bought.status_code == 404 and error_of(bought)["code"] == "not_found"
    assert not Purchase.objects.exists() and not LedgerEntry.objects.filter(kind="purchase").exists()
    # its seller and staff still see it
    for who in (seller, superuser):
        assert client_for(who).get(detail).status_code == 200
        assert listing.public_id in {r["id"] for r in client_for(who).get("/api/v1/vectors/", {"status": status})
                                     .json()["results"]}


def test_buyers_keep_their_deliveries_after_the_listing_is_removed(client_for, funded, listing, wmatrix,
                                                                  django_capture_on_commit_callbacks) -> None:
    buyer = client_for(funded)
    with django_capture_on_commit_callbacks(execute=True):  # the delivery task, eager
        bought = buyer.post("/api/v1/purchases/", {"listing": listing.public_id, "target_model": "tgt-model",
                                                   "idempotency_key": "k1"}, format="json")
    assert bought.status_code == 202, bought.content
    purchase_url = f"/api/v1/purchases/{bought.json()['id']}/"
    assert buyer.get(purchase_url).json()["status"] == "delivered"  # eager Celery in the unit tests
    VectorListing.objects.filter(pk=listing.pk).update(status=VectorListing.Status.REMOVED)

    assert buyer.get(f"/api/v1/vectors/{listing.public_id}/").status_code == 404
    assert buyer.get(purchase_url).json()["status"] == "delivered"
    assert buyer.get(f"{purchase_url}download/").status_code == 200
    assert buyer.get(f"{purchase_url}vector/", {"format": "vpkg"}).status_code == 200
    replay = buyer.post("/api/v1/purchases/", {"listing": listing.public_id, "target_model": "tgt-model",
                                               "idempotency_key": "k1"}, format="json")
    assert replay.status_code == 200 and replay.json()["id"] == bought.json()["id"]  # idempotent replay kept


def _job(client: Any, target: str) -> Any:
    return client.post("/api/v1/alignment-jobs/", {"source": "src-model", "target": target, "num_anchors": 200},
                       format="json")


def test_alignment_jobs_have_a_daily_quota_per_user(settings, client_for, user, other_user, superuser,
                                                     django_user_model, archs) -> None:
    from marketplace.catalog.models import Architecture

    settings.ALIGNMENT_JOB_DAILY_QUOTA = 2
    common = {"family": "tiny", "num_layers": 4, "support_level": Architecture.Support.FULL, "hidden_size": 6}
    for i in range(5):
        Architecture.objects.create(name=f"t{i}", **common)
    client = client_for(user)
    assert [_job(client, t).status_code for t in ("t0", "t1")] == [202, 202]
    refused = _job(client, "t2")
    assert refused.status_code == 403
    error = error_of(refused)
    assert error["code"] == "quota_exceeded" and error["details"]["quota"] == 2
    assert 0 < error["details"]["retry_after"] <= 24 * 3600
    assert _job(client_for(other_user), "t2").status_code == 202  # per user
    assert _job(client_for(superuser), "t3").status_code == 202  # staff are not limited

    settings.ALIGNMENT_JOB_DAILY_QUOTA = 0  # staff only
    newcomer = django_user_model.objects.create_user("newcomer", "n@example.test", "pw")
    response = _job(client_for(newcomer), "t4")
    assert response.status_code == 403 and "reserved for staff" in error_of(response)["message"]
