"""The Marketplace client against a live server (pytest-django's live_server, SQLite, eager Celery, tiny models):
every resource, typed results, idempotent purchase, downloads in each format, certificates verified offline,
alignment jobs, and the API's errors as the SDK's exceptions."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import numpy as np
import pytest
from sdk_helpers import BUYER_FUNDS, SOURCE, TARGET, LiveMarket, management_command

from alignment_plugins.vector_package import VectorPackage
from awareness_sdk import errors
from awareness_sdk.types import Certificate, Estimate, Purchase, VectorListing

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _package(seed: int = 0, layer: int = 2) -> VectorPackage:
    vector = np.random.default_rng(seed).standard_normal(32).astype(np.float32)
    return VectorPackage.create({layer: vector}, source_model=SOURCE, source_fingerprint="fp", method="caa",
                                capability="formality", contrastive_data_hash="sha256:" + "0" * 64,
                                domain="style", recommended_coefficient=3.0)


@pytest.fixture
def listing(live_market: LiveMarket) -> VectorListing:
    seller = live_market.client(live_market.seller_key)
    return seller.vectors.create(name="Formal tone", description="a more formal register", source_model=SOURCE,
                                 vector=_package(), capability_domain="style", grade="B", price="10")


def test_catalogue_reads_need_no_key(live_market: LiveMarket, listing: VectorListing) -> None:
    anonymous = live_market.client()
    assert {m.name for m in anonymous.models.list()} == {SOURCE, TARGET}
    model = anonymous.models.get(TARGET)
    assert model.hidden_size == 32 and model.matrices == {"as_source": [], "as_target": [SOURCE]}
    assert listing.id.startswith("vec_") and listing.price == Decimal("10") and listing.layer == 2
    assert listing.capability == "formality" and listing.package["recommended_coefficient"] == 3.0
    assert anonymous.vectors.get(listing.id) == listing
    assert [v.id for v in anonymous.vectors.list(grade="b", source_model=SOURCE)] == [listing.id]
    assert anonymous.vectors.list(max_price="9.99").count == 0
    assert [v.id for v in anonymous.vectors.search("formal", min_price=5)] == [listing.id]
    assert list(anonymous.vectors.search("nothing like this")) == []
    row, = anonymous.support_matrix()
    assert (row.source, row.target, row.matrix_id) == (SOURCE, TARGET, live_market.matrix_id)
    assert {"builtin"} <= {p.origin for p in anonymous.plugins()}


def test_estimate_then_idempotent_purchase_then_every_download(live_market: LiveMarket,
                                                                listing: VectorListing) -> None:
    market = live_market.client(live_market.buyer_key)
    estimate = market.vectors.estimate(listing, TARGET, quantization="int8")
    assert isinstance(estimate, Estimate) and estimate.listing == listing.id
    assert estimate.matrix is not None and estimate.matrix.id == live_market.matrix_id
    assert 0 <= estimate.ci_low <= estimate.retention <= estimate.ci_high <= 1
    assert estimate.target_config.get("quantization") == "int8"

    first = market.purchases.create(listing, TARGET, idempotency_key="order-1")
    again = market.vectors.purchase(listing.id, TARGET, idempotency_key="order-1")
    assert isinstance(first, Purchase) and again.id == first.id
    assert (first.replayed, again.replayed) == (False, True)
    assert market.account().balance == BUYER_FUNDS - listing.price
    delivered = market.purchases.wait(first, timeout=30)
    assert delivered.delivered and delivered.matrix == live_market.matrix_id and delivered.target_layer is not None
    assert set(delivered.vector_urls) == {"safetensors", "vpkg", "gguf"}
    assert [p.id for p in market.purchases.list()] == [first.id]

    package = market.purchases.vector(delivered)
    assert package.metadata["source_model"] == TARGET and package.layers == [delivered.target_layer]
    plain = market.purchases.download(delivered)  # safetensors: tensor "vector"
    from safetensors.numpy import load

    np.testing.assert_array_equal(load(plain)["vector"], package.vector(delivered.target_layer))
    try:
        gguf = market.purchases.download(delivered, "gguf")
        assert gguf[:4] == b"GGUF"
    except errors.NotExportable as exc:  # layer 0/1 or a model llama.cpp cannot run
        assert exc.status == 409 and exc.code == "not_exportable"


def test_matrices_and_certificates(live_market: LiveMarket, settings, tmp_path) -> None:
    market = live_market.client()
    version, = market.wmatrices.list(source=SOURCE, target=TARGET, status="active")
    assert version.id == live_market.matrix_id and version.version == 1 and version.recommended_pair
    path = market.wmatrices.download(version, tmp_path / "m.wmatrix")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == version.file_sha256
    engine = market.wmatrices.load(version.id)
    assert engine.source["name"] == SOURCE and engine.target["name"] == TARGET

    cert = market.wmatrices.certificate(version)
    assert isinstance(cert, Certificate) and cert.matrix == version.id and cert.signature_valid
    assert market.certificates.get(cert.id).document() == cert.document()
    listed = market.certificates.list(matrix=version.id)  # newest first: the one the matrix's link gives
    assert listed.results[0].id == cert.id and {c.matrix for c in listed} == {version.id}
    assert cert.verify(settings.CERTIFICATE_SIGNING_KEY)
    assert market.certificates.verify(cert.id, settings.CERTIFICATE_SIGNING_KEY)
    assert not cert.verify("not the key")
    assert cert.verify_detail("not the key")[1].startswith("signed with key")
    tampered = Certificate(**{**cert.__dict__, "payload": {**cert.payload, "tier": 1 + cert.payload["tier"] % 4}})
    assert tampered.verify_detail(settings.CERTIFICATE_SIGNING_KEY) == (False,
                                                                       "the signature does not match the payload")
    assert "<html" in market.certificates.html(cert).lower()


def test_alignment_job_trains_the_missing_reverse_pair(live_market: LiveMarket) -> None:
    market = live_market.client(live_market.buyer_key)
    job = market.alignment_jobs.create(TARGET, SOURCE, num_anchors=100)  # eager Celery: trains in the request
    done = market.alignment_jobs.wait(job, timeout=120, poll=0.2)
    assert done.status == "succeeded" and done.matrix and done.progress == 1.0
    assert market.wmatrices.get(done.matrix).source == TARGET
    assert [j.id for j in market.alignment_jobs.list()] == [job.id]
    with pytest.raises(errors.Conflict, match="active W-Matrix already exists") as info:
        market.alignment_jobs.create(TARGET, SOURCE, num_anchors=100)
    assert info.value.details["matrix_id"] == done.matrix


def test_api_errors_arrive_as_sdk_exceptions(live_market: LiveMarket, listing: VectorListing) -> None:
    from django.contrib.auth import get_user_model

    from marketplace.catalog.models import Architecture
    from marketplace.catalog.models import Purchase as PurchaseRow
    from marketplace.catalog.models import VectorListing as ListingRow

    anonymous = live_market.client()
    with pytest.raises(errors.AuthenticationFailed):
        live_market.client("amk_wrong").account()
    with pytest.raises(errors.AuthenticationFailed):
        anonymous.purchases.list()
    with pytest.raises(errors.ValidationError) as info:
        anonymous.vectors.list(grade="Z")
    assert info.value.details == {"grade": ["must be one of ['A', 'B', 'C', 'D', 'E', 'F']"]}
    with pytest.raises(errors.NotFound):
        anonymous.vectors.get("vec_nope")
    with pytest.raises(errors.ValidationError, match="target_model"):
        anonymous.vectors.estimate(listing, "no-such-model")
    Architecture.objects.create(name="lonely", family="tiny", hidden_size=16, num_layers=3,
                                support_level=Architecture.Support.FULL)
    with pytest.raises(errors.NotFound, match="alignment-jobs") as no_matrix:
        anonymous.vectors.estimate(listing, "lonely")
    assert no_matrix.value.details["target"] == "lonely"

    poor = live_market.client(management_command("issue_api_key", "poor", "--create"))
    with pytest.raises(errors.InsufficientFunds) as broke:
        poor.vectors.purchase(listing, TARGET)
    assert broke.value.status == 402

    row = ListingRow.objects.get(public_id=listing.id)
    pending = PurchaseRow.objects.create(buyer=get_user_model().objects.get(username="buyer"), listing=row,
                                         target_model=Architecture.objects.get(name=TARGET), price=row.price,
                                         idempotency_key="pending-1")
    with pytest.raises(errors.NotDelivered) as not_yet:
        live_market.client(live_market.buyer_key).purchases.download(pending.public_id)
    assert not_yet.value.details == {"status": "pending"}

    seller = live_market.client(live_market.seller_key)
    with pytest.raises(errors.ValidationError, match="safetensors"):
        seller.vectors.create(name="bad", source_model=SOURCE, vector=b"not a safetensors file", layer=2,
                              capability_domain="style", grade="B", price="1")
