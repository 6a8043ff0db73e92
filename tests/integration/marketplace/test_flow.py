"""The marketplace end to end through a real broker and a real worker process, once per broker (Redis, RabbitMQ).

Synthetic architectures (hidden sizes 8 → 6 and 8 → 4) and ridge-fitted .wmatrix files stored through
``alignment.matrices.store_matrix`` stand in for real models, so the flow needs no model weights. Over HTTP (DRF's
APIClient, API keys): a seller lists a vector → the worker writes the compatibility estimates of every target with a
matrix → a buyer reads one, pays, and the worker delivers the translated vector → the ledger is debited once, the
buyer downloads it, nobody else can → a duplicated task message changes nothing → the worker never loaded torch.
Fixtures (PostgreSQL database, shared media folder, broker, worker process): see conftest.py.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from live_services import LiveWorker, wait_for
from rest_framework.test import APIClient

pytestmark = pytest.mark.integration

SOURCE_DIM = 8
TARGETS = {"itest-target-a": 6, "itest-target-b": 4}  # each gets a stored W-Matrix from the source
UNALIGNED = "itest-target-c"  # registered, but no matrix: no estimate for it
LAYERS = 2  # layers 0 (embeddings) .. 2
LISTING_LAYER = 1
PRICE = Decimal("12.5000")
DEPOSIT = Decimal("100.0000")
TASK_TIMEOUT = 60.0  # seconds for the worker to finish one step (it starts Django in ~2 s; tasks take ms)


def _architecture(name: str, hidden: int, family: str):
    from marketplace.catalog.models import Architecture

    return Architecture.objects.create(
        name=name, family=family, kind="causal", hidden_size=hidden, num_layers=LAYERS,
        support_level=Architecture.Support.FULL, adapter="hf_causal",
    )


def _write_wmatrix(path: Path, source: str, target: str, dy: int, seed: int) -> Path:
    """A ridge map per layer pair fitted on planted data (Y = X·A + noise), with held-out-style metrics."""
    from alignment_plugins.solvers import RidgeSolver
    from alignment_plugins.wmatrix import WMatrix, pair_key

    rng = np.random.default_rng(seed)
    pairs = [(layer, layer) for layer in range(LAYERS + 1)]
    maps, metrics = {}, {}
    for pair in pairs:
        x = rng.standard_normal((96, SOURCE_DIM))
        y = x @ rng.standard_normal((SOURCE_DIM, dy)) + 0.05 * rng.standard_normal((96, dy))
        maps[pair] = RidgeSolver().fit_arrays(x, y)
        metrics[pair_key(pair)] = {"semantic_preservation": 0.9, "accuracy": 0.85, "reconstruction_error": 0.04}
    matrix = WMatrix(
        source={"name": source, "fingerprint": "sha256:itest-src", "hidden_size": SOURCE_DIM, "num_layers": LAYERS},
        target={"name": target, "fingerprint": f"sha256:{target}", "hidden_size": dy, "num_layers": LAYERS},
        maps=maps, layer_map=pairs, best_pair=(LISTING_LAYER, LISTING_LAYER), method="ridge",
        hyperparams={"regularization": 1e-2},
        anchors={"hash": "sha256:itest-anchors", "counts": {"train": 64, "validation": 16, "test": 16}},
        pair_metrics=metrics,
    )
    return matrix.save(path)


def _vector_upload(dim: int) -> SimpleUploadedFile:
    from safetensors.numpy import save

    vector = np.random.default_rng(7).standard_normal(dim).astype(np.float32)
    return SimpleUploadedFile("vector.safetensors", save({"vector": vector}), content_type="application/octet-stream")


def _client(user) -> APIClient:
    from marketplace.catalog.models import ApiKey

    _, raw = ApiKey.issue(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def _ledger_snapshot() -> list[tuple]:
    from marketplace.catalog.models import LedgerEntry

    rows = LedgerEntry.objects.values_list("id", "transaction_id", "account_id", "amount", "kind", "purchase_id")
    return sorted(rows, key=lambda row: row[0])


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_listing_estimates_purchase_delivery_and_duplicate_message(
    worker: LiveWorker, transactional_db: None, django_user_model, tmp_path: Path,
) -> None:
    from django.conf import settings
    from django.db.models import Sum
    from safetensors.numpy import load

    from marketplace.alignment.matrices import store_matrix
    from marketplace.alignment.models import CompatibilityEstimate, TaskRun
    from marketplace.catalog.ledger import deposit
    from marketplace.catalog.models import Account, LedgerEntry, Purchase, VectorListing
    from marketplace.celery import app

    # the worker really consumes from this broker, and this process really publishes there (eager is off)
    scheme = worker.broker_url.split("://", 1)[0]
    worker.wait_for_log(rf"Connected to {scheme}://", timeout=5)
    assert not app.conf.task_always_eager and app.conf.broker_url == worker.broker_url

    # --- synthetic models and matrices (stored as the operator's command would) -------------------------------
    source = _architecture("itest-source", SOURCE_DIM, "llama")
    for seed, (name, dim) in enumerate(TARGETS.items()):
        _architecture(name, dim, "gemma3")
        stored = store_matrix(_write_wmatrix(tmp_path / f"{name}.wmatrix", source.name, name,
                                                                dim, seed))
        assert stored.status == "active" and stored.version == 1
    _architecture(UNALIGNED, 5, "qwen2")

    seller = django_user_model.objects.create_user("itest-seller", password="pw")
    buyer = django_user_model.objects.create_user("itest-buyer", password="pw")
    stranger = django_user_model.objects.create_user("itest-stranger", password="pw")
    seller_api, buyer_api, stranger_api = _client(seller), _client(buyer), _client(stranger)

    # --- a seller lists a vector (multipart safetensors upload) ----------------------------------------------
    response = seller_api.post(
        "/api/v1/vectors/",
        {"name": "itest honesty", "description": "integration", "source_model": source.name,
         "layer": LISTING_LAYER, "capability_domain": "reasoning", "grade": "B", "price": str(PRICE),
         "vector": _vector_upload(SOURCE_DIM)},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    listing_id = response.json()["id"]
    listing = VectorListing.objects.get(public_id=listing_id)

    # --- the worker precomputes an estimate for every target with a matrix (and none for the other) ----------
    def estimated_targets() -> set[str] | None:
        names = set(CompatibilityEstimate.objects.filter(listing=listing).values_list("target__name", flat=True))
        return names if names >= set(TARGETS) else None

    assert wait_for(estimated_targets, timeout=TASK_TIMEOUT, what="estimates written by the worker") == set(TARGETS)
    worker.wait_for_log(r"alignment\.precompute_estimates\[[^\]]+\] succeeded", timeout=TASK_TIMEOUT)
    assert not CompatibilityEstimate.objects.filter(listing=listing, target__name=UNALIGNED).exists()
    stored_estimate = CompatibilityEstimate.objects.get(listing=listing, target__name="itest-target-a")

    response = buyer_api.get(f"/api/v1/vectors/{listing_id}/compatibility/", {"target_model": "itest-target-a"})
    assert response.status_code == 200, response.content
    estimate = response.json()
    assert estimate["listing"] == listing_id and estimate["target_model"] == "itest-target-a"
    assert estimate["retention"] == pytest.approx(stored_estimate.retention)
    assert estimate["ci_low"] <= estimate["retention"] <= estimate["ci_high"]
    assert estimate["matrix"]["id"] == stored_estimate.matrix.public_id
    assert CompatibilityEstimate.objects.filter(listing=listing).count() == len(TARGETS)  # served, not recomputed

    # --- the buyer deposits and buys: 202, delivered by the worker ---------------------------------------------
    deposit(buyer, DEPOSIT, memo="itest")
    order = {"listing": listing_id, "target_model": "itest-target-a", "idempotency_key": "itest-order-1"}
    response = buyer_api.post("/api/v1/purchases/", order, format="json")
    assert response.status_code == 202, response.content
    purchase_id = response.json()["id"]

    def delivered() -> dict | None:
        body = buyer_api.get(f"/api/v1/purchases/{purchase_id}/").json()
        assert body["status"] not in ("failed", "refunded"), body
        return body if body["status"] == "delivered" else None

    delivery = wait_for(delivered, timeout=TASK_TIMEOUT, interval=0.3, what="the purchase to be delivered")
    assert delivery["target_layer"] == LISTING_LAYER
    purchase = Purchase.objects.get(public_id=purchase_id)

    # the same order again is the same purchase, not a second debit
    response = buyer_api.post("/api/v1/purchases/", order, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["id"] == purchase_id

    # --- the ledger: debited exactly once, every transaction balanced ------------------------------------------
    def check_ledger() -> None:
        assert Purchase.objects.filter(buyer=buyer).count() == 1
        entries = LedgerEntry.objects.filter(purchase=purchase)
        assert sorted(entries.values_list("kind", "amount")) == [("purchase", -PRICE), ("sale", PRICE)]
        for txid in set(LedgerEntry.objects.values_list("transaction_id", flat=True)):
            assert LedgerEntry.objects.filter(transaction_id=txid).aggregate(s=Sum("amount"))["s"] == 0, txid
        assert Account.objects.get(user=buyer).balance == DEPOSIT - PRICE
        assert Account.objects.get(user=seller).balance == PRICE

    check_ledger()

    # --- download: the buyer gets the translated vector, anyone else a 404 -------------------------------------
    response = buyer_api.get(f"/api/v1/purchases/{purchase_id}/download/")
    assert response.status_code == 200
    delivered_bytes = _body(response)
    vector = load(delivered_bytes)["vector"]
    assert vector.shape == (TARGETS["itest-target-a"],) and np.isfinite(vector).all() and np.any(vector)
    assert stranger_api.get(f"/api/v1/purchases/{purchase_id}/download/").status_code in (403, 404)
    assert stranger_api.get(f"/api/v1/purchases/{purchase_id}/").status_code in (403, 404)
    assert APIClient().get(f"/api/v1/purchases/{purchase_id}/download/").status_code == 401

    # --- a duplicated task message creates nothing twice --------------------------------------------------------
    file_path = Path(purchase.translated_vector.path)
    file_digest = hashlib.sha256(file_path.read_bytes()).hexdigest()
    media_files = sorted(p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file())
    ledger_before = _ledger_snapshot()
    duplicate = app.send_task("alignment.translate_purchase", args=[purchase.id], queue="gpu")
    worker.wait_for_log(rf"alignment\.translate_purchase\[{duplicate.id}\] succeeded.*'skipped': True",
                        timeout=TASK_TIMEOUT)
    runs = TaskRun.objects.filter(task_name="alignment.translate_purchase")
    assert [(r.idempotency_key, r.status, r.attempts) for r in runs] == [
        (f"translate_purchase:{purchase.id}", "succeeded", 1)
    ]
    purchase_after = Purchase.objects.get(pk=purchase.pk)
    assert purchase_after.status == "delivered"
    assert purchase_after.delivered_at == purchase.delivered_at
    assert purchase_after.translated_vector.name == purchase.translated_vector.name
    assert hashlib.sha256(file_path.read_bytes()).hexdigest() == file_digest
    assert sorted(p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()) == media_files
    assert _ledger_snapshot() == ledger_before
    check_ledger()

    # --- the worker ran every step above without loading torch ------------------------------------------------
    loaded = [line.split()[-1] for line in worker.mapped_files().splitlines() if len(line.split()) >= 6]
    torch_libs = sorted({path for path in loaded if "libtorch" in path or "/torch/" in path})
    assert not torch_libs, f"the worker loaded torch: {torch_libs[:5]}"
