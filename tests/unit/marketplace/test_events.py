"""Events end to end with eager Celery: listing → estimates, purchase → delivered vector, on-commit semantics."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from django.db import transaction
from marketplace_helpers import D_SOURCE, D_TARGET

from marketplace import routing
from marketplace.alignment.jobs import request_alignment
from marketplace.alignment.matrices import store_matrix
from marketplace.alignment.matrix_files import load_engine_matrix
from marketplace.alignment.models import CompatibilityEstimate, TaskRun
from marketplace.catalog import delivery
from marketplace.catalog.ledger import deposit
from marketplace.catalog.models import Purchase, VectorListing
from marketplace.catalog.purchases import create_purchase
from marketplace.catalog.vector_files import read_package
from marketplace.errors import Conflict, ValidationFailed

pytestmark = pytest.mark.django_db


@pytest.fixture
def enqueued(sent_tasks: list[tuple[str, list, str]]) -> list[tuple[str, list, str]]:
    """Record the tasks sent (task name, args, the queue the router picks) instead of running them."""
    return sent_tasks


def test_listing_creation_estimates_every_target_with_a_matrix(
    toy: dict, arch: Any, wmatrix_file: Any, make_listing: Any, django_capture_on_commit_callbacks: Any
) -> None:
    third = arch("toy-third", 4, 2, family="phi")
    with django_capture_on_commit_callbacks(execute=True):
        store_matrix(wmatrix_file())
        store_matrix(wmatrix_file(target="toy-third", d_target=4))
        listing = make_listing(layer=1)
    estimates = CompatibilityEstimate.objects.filter(listing=listing)
    assert {e.target.name for e in estimates} == {"toy-tgt", "toy-third"}  # not toy-other: it has no matrix
    assert TaskRun.objects.get(idempotency_key=f"precompute_estimates:{listing.id}").result["estimates"] == 2
    assert third.pk in {e.target_id for e in estimates}


def test_events_fire_only_after_commit(toy: dict, make_listing: Any, enqueued: list,
                                       django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            make_listing()
            raise RuntimeError("rolled back")
        assert enqueued == []  # still inside the outer (test) transaction
    assert enqueued == [] and not VectorListing.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        listing = make_listing()
        assert enqueued == []
    assert enqueued == [("alignment.precompute_estimates", [listing.id], "default")]


def test_estimate_work_goes_to_gpu_when_a_matrix_file_is_not_local(
    stored_matrix: Any, make_listing: Any, enqueued: list, django_capture_on_commit_callbacks: Any
) -> None:
    assert routing.estimates_queue(stored_matrix.source_id) == "default"
    stored_matrix.file.storage.delete(stored_matrix.file.name)  # e.g. only the GPU node's volume has it
    with django_capture_on_commit_callbacks(execute=True):
        listing = make_listing()
    assert enqueued == [("alignment.precompute_estimates", [listing.id], "gpu")]


def test_events_publish_to_the_queue_the_router_picks(
    stored_matrix: Any, make_listing: Any, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    """Without eager Celery the event is published by name through app.send_task, whose router picks the queue."""
    from marketplace import celery_app

    published: list[tuple[str, str]] = []
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    monkeypatch.setattr(celery_app.amqp, "send_task_message",
                        lambda producer, name, message, queue=None, **kw: published.append((name, queue.name)))
    with django_capture_on_commit_callbacks(execute=True):
        make_listing()
    stored_matrix.file.storage.delete(stored_matrix.file.name)
    with django_capture_on_commit_callbacks(execute=True):
        make_listing()
    assert published == [("alignment.precompute_estimates", "default"), ("alignment.precompute_estimates", "gpu")]


def test_purchase_delivers_translated_vector(
    stored_matrix: Any, toy: dict, users: dict, make_listing: Any, django_capture_on_commit_callbacks: Any
) -> None:
    vector = np.linspace(-2.0, 3.0, D_SOURCE)
    listing = make_listing(layer=2, vector=vector, price="4")
    deposit(users["buyer"], Decimal("4"))
    with django_capture_on_commit_callbacks(execute=True):
        purchase, _ = create_purchase(buyer=users["buyer"], listing=listing, target_model=toy["target"],
                                      idempotency_key="deliver")
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.DELIVERED and purchase.delivered_at is not None
    assert purchase.target_layer == 1 and purchase.matrix_id == stored_matrix.id
    package = read_package(purchase.translated_vector)  # stored as a package of the target model
    delivered, meta = package.vector(1), package.metadata
    transfer, norms = meta["transfer"], meta["transfer"]["norms"]
    assert delivered.shape == (D_TARGET,) and delivered.dtype == np.float32

    engine = load_engine_matrix(stored_matrix)
    _, linear = engine.map_for(2)
    mapped = engine.transform(vector.astype(np.float32).astype(np.float64), layer=2, direction=True)
    cos = delivered @ mapped / (np.linalg.norm(delivered) * np.linalg.norm(mapped))
    assert cos == pytest.approx(1.0, abs=1e-6)  # same direction as the map's output ...
    # ... rescaled to the same size in target standard deviations as the source has in source ones
    assert np.linalg.norm(delivered / linear.scale_y) == pytest.approx(
        np.linalg.norm(vector / linear.scale_x), rel=1e-5)
    assert norms["mapped_norm"] == pytest.approx(float(np.linalg.norm(mapped)), rel=1e-6)
    assert norms["delivered_norm"] == pytest.approx(float(np.linalg.norm(delivered)), rel=1e-5)
    assert norms["source_norm"] == pytest.approx(float(np.linalg.norm(vector)), rel=1e-6)
    assert (transfer["source_layer"], transfer["target_layer"], transfer["matrix_version"]) == (2, 1, 1)
    assert package.layers == [1]
    assert transfer["matrix"] == stored_matrix.public_id and meta["source_model"] == "toy-tgt"
    import hashlib

    assert meta["extra"]["sha256"] == hashlib.sha256(delivered.astype("<f4").tobytes()).hexdigest()


def test_identity_purchase_is_a_copy(toy: dict, users: dict, make_listing: Any,
                                     django_capture_on_commit_callbacks: Any) -> None:
    vector = np.linspace(1.0, 2.0, D_SOURCE)
    listing = make_listing(vector=vector, price="0")
    with django_capture_on_commit_callbacks(execute=True):
        purchase, _ = create_purchase(buyer=users["buyer"], listing=listing, target_model=toy["source"],
                                      idempotency_key="same-model")
    purchase.refresh_from_db()
    package = read_package(purchase.translated_vector)
    np.testing.assert_array_equal(package.vector(1), vector.astype(np.float32))
    transfer = package.metadata["transfer"]
    assert purchase.status == "delivered" and package.metadata["source_model"] == "toy-src"  # identity: no matrix
    assert transfer["matrix"] is None and transfer["norm_mode"] == "native" and transfer["rescale_factor"] == 1.0


def test_failed_translation_refunds_the_purchase(
    stored_matrix: Any, toy: dict, users: dict, make_listing: Any, monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The purchase ends refunded with a public message; the exception text is for the logs (test_refunds.py)."""
    listing = make_listing(price="0")
    monkeypatch.setattr(delivery, "deliver_purchase", lambda p: (_ for _ in ()).throw(ValueError("bad map")))
    with pytest.raises(ValueError), django_capture_on_commit_callbacks(execute=True):
        purchase, _ = create_purchase(buyer=users["buyer"], listing=listing, target_model=toy["target"],
                                      idempotency_key="fail")
    purchase = Purchase.objects.get(idempotency_key="fail")
    assert purchase.status == Purchase.Status.REFUNDED and purchase.refund_reason == "delivery failed"
    assert purchase.error and "bad map" not in purchase.error


def test_alignment_request_enqueues_a_gpu_job_once(toy: dict, users: dict, stored_matrix: Any, enqueued: list,
                                                   django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        job = request_alignment(user=users["buyer"], source=toy["source"], target=toy["other"],
                                         num_anchors=100)
    assert enqueued == [("alignment.run_alignment_job", [job.id], "gpu")]
    assert job.status == "queued" and job.num_anchors == 100
    with pytest.raises(Conflict) as info:
        request_alignment(user=users["buyer"], source=toy["source"], target=toy["other"])
    assert info.value.extra == {"job_id": job.public_id}
    with pytest.raises(Conflict) as info:  # the pair already has an active matrix
        request_alignment(user=users["buyer"], source=toy["source"], target=toy["target"])
    assert info.value.extra == {"matrix_id": stored_matrix.public_id}
    with pytest.raises(ValidationFailed, match="same model"):
        request_alignment(user=users["buyer"], source=toy["source"], target=toy["source"])
    assert len(enqueued) == 1
