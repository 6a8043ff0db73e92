"""Vector packages over HTTP: package uploads, and the delivered vector downloaded as safetensors, .vpkg or GGUF."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from api_helpers import LAYERS, SRC_DIM, TGT_DIM, error_of, vector_bytes, write_wmatrix
from django.core.files.base import ContentFile

from alignment_plugins.vector_package import VectorPackage
from marketplace.catalog.models import Purchase, VectorListing
from marketplace.catalog.vector_files import safetensors_header

pytestmark = pytest.mark.django_db

VECTORS = {layer: np.random.default_rng(layer).standard_normal(SRC_DIM).astype(np.float32) for layer in (2, 3)}


def package_bytes(layers=(2, 3), source_model: str = "src-model", dim: int = SRC_DIM) -> bytes:
    vectors = {layer: VECTORS[layer] if dim == SRC_DIM else np.ones(dim, np.float32) for layer in layers}
    return VectorPackage.create(
        vectors, source_model=source_model, source_fingerprint="fp-src", method="pca", capability="formality",
        contrastive_data_hash="sha256:" + "a" * 64, domain="style", recommended_coefficient=2.5, num_layers=LAYERS,
    ).to_bytes()


def _form(data: bytes, **overrides) -> dict:
    form = {"name": "Formal", "description": "", "source_model": "src-model", "capability_domain": "style",
            "grade": "A", "price": "5", "vector": ContentFile(data, name="formal.vpkg")}
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


# ---------------------------------------------------------------------------------------------------- uploads
def test_package_upload_creates_a_listing_with_its_metadata(client_for, seller, archs, client_anon):
    response = client_for(seller).post("/api/v1/vectors/", _form(package_bytes(), layer=3), format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["layer"] == 3 and body["vector_dim"] == SRC_DIM
    package = body["package"]
    assert (package["method"], package["capability"], package["domain"]) == ("pca", "formality", "style")
    assert package["contrastive_data_hash"] == "sha256:" + "a" * 64 and package["recommended_coefficient"] == 2.5
    listing = VectorListing.objects.get(public_id=body["id"])
    assert listing.vector_sha256 == hashlib.sha256(VECTORS[3].astype("<f4").tobytes()).hexdigest()
    assert client_anon.get(f"/api/v1/vectors/{body['id']}/").json()["package"]["method"] == "pca"


def test_package_upload_without_layer_takes_the_package_layer(client_for, seller, archs):
    response = client_for(seller).post("/api/v1/vectors/", _form(package_bytes((2,))), format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["layer"] == 2


def test_plain_upload_shows_no_package_and_needs_a_layer(client_for, seller, archs):
    client = client_for(seller)
    response = client.post("/api/v1/vectors/", _form(vector_bytes(SRC_DIM), layer=2), format="multipart")
    assert response.status_code == 201 and response.json()["package"] is None
    response = client.post("/api/v1/vectors/", _form(vector_bytes(SRC_DIM)), format="multipart")
    assert response.status_code == 400
    assert "layer is required" in error_of(response)["message"]


@pytest.mark.parametrize(
    ("data", "layer", "message"),
    [
        (package_bytes(source_model="tgt-model"), 2, "extracted from 'tgt-model' but the listing's source model is"),
        (package_bytes(dim=SRC_DIM + 1), 2, f"hidden size {SRC_DIM + 1} but the source model's hidden size is"),
        (package_bytes(), 1, "has no vector for layer 1; it has layers [2, 3]"),
        (package_bytes(), None, "has layers [2, 3]; say which one to sell"),
        (package_bytes()[:-4], 2, "truncated"),
    ],
    ids=["wrong-model", "wrong-dim", "missing-layer", "ambiguous-layer", "truncated"],
)
def test_bad_package_upload_is_400_and_stores_nothing(client_for, seller, archs, data, layer, message):
    response = client_for(seller).post("/api/v1/vectors/", _form(data, layer=layer), format="multipart")
    assert response.status_code == 400, response.content
    error = error_of(response)
    assert message in error["message"] and error["code"] == "invalid"
    assert not VectorListing.objects.exists()


# ------------------------------------------------------------------------------------------------- downloads
@pytest.fixture
def llama_archs(db):
    from marketplace.catalog.models import Architecture

    common = {"family": "llama", "num_layers": LAYERS, "support_level": Architecture.Support.FULL}
    return {"src": Architecture.objects.create(name="src-llama", hidden_size=SRC_DIM, **common),
            "tgt": Architecture.objects.create(name="tgt-llama", hidden_size=TGT_DIM, weight_fingerprint="fp-tgt",
                                               **common)}


def _matrix(source, target, pair, tmp_path: Path):
    from django.core.files import File

    from marketplace.alignment.models import WMatrix

    path = write_wmatrix(tmp_path / f"{source.name}__{target.name}.wmatrix", source.name, target.name, pair=pair)
    key = f"{pair[0]}->{pair[1]}"
    row = WMatrix(
        source=source, target=target, version=1, method="ridge", layer_map=[list(pair)], best_source_layer=pair[0],
        best_target_layer=pair[1], file_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        metrics={key: {"semantic_preservation": 0.93, "accuracy": 0.88, "reconstruction_error": 0.04}},
        anchor_set_hash="anchors-v1", source_fingerprint="fp-src", target_fingerprint="fp-tgt",
    )
    with path.open("rb") as handle:
        row.file.save(path.name, File(handle), save=False)
    row.save()
    return row


def _delivered(user, seller, source, target, layer: int, data: bytes, django_capture_on_commit_callbacks):
    """List `data` on `source` at `layer`, buy it for `target` and run the real delivery (translate_for_purchase)."""
    from marketplace.catalog.ledger import deposit
    from marketplace.catalog.listings import create_listing
    from marketplace.catalog.purchases import create_purchase

    listing = create_listing(seller=seller, name="Formal", description="formal register", source_model=source,
                             layer=layer, capability_domain="style", grade="A", price=Decimal("5"), vector_bytes=data)
    deposit(user, Decimal("5"))
    with django_capture_on_commit_callbacks(execute=True):
        purchase, _ = create_purchase(buyer=user, listing=listing, target_model=target, idempotency_key="dl")
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.DELIVERED, purchase.error
    return purchase


def test_vector_download_in_three_formats(client_for, user, other_user, client_anon, seller, llama_archs, tmp_path,
                                          django_capture_on_commit_callbacks):
    import gguf

    matrix = _matrix(llama_archs["src"], llama_archs["tgt"], (3, 3), tmp_path)
    data = VectorPackage.create({3: VECTORS[3]}, source_model="src-llama", source_fingerprint="fp-src",
                                method="caa", capability="formality", contrastive_data_hash="",
                                recommended_coefficient=6.0).to_bytes()
    purchase = _delivered(user, seller, llama_archs["src"], llama_archs["tgt"], 3, data,
                          django_capture_on_commit_callbacks)
    url = f"/api/v1/purchases/{purchase.public_id}/vector/"
    buyer = client_for(user)
    detail = buyer.get(f"/api/v1/purchases/{purchase.public_id}/").json()
    assert detail["vector_urls"]["gguf"].endswith(f"{url}?format=gguf")
    stem = f"{purchase.listing.public_id}__tgt-llama"

    response = buyer.get(url)  # default: safetensors, the delivered vector under "vector" with the package metadata
    assert response.status_code == 200
    delivered_file = response.content
    with purchase.translated_vector.open("rb") as handle:
        stored_file = handle.read()  # what the delivery stored
    stored = VectorPackage.from_bytes(stored_file)
    assert json.loads(safetensors_header(delivered_file)["__metadata__"]["metadata"]) == stored.metadata
    assert response["X-Content-SHA256"] == hashlib.sha256(delivered_file).hexdigest()
    assert f'filename="{stem}.safetensors"' in response["Content-Disposition"]
    assert response["Content-Type"] == "application/octet-stream"
    from safetensors.numpy import load

    delivered = load(delivered_file)["vector"]

    response = buyer.get(url, {"format": "vpkg"})
    assert response.status_code == 200, response.content
    assert response["Content-Disposition"] == f'attachment; filename="{stem}.vpkg"'
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-SHA256"] == hashlib.sha256(response.content).hexdigest()
    package = VectorPackage.from_bytes(response.content)
    assert response.content == stored_file  # the stored package itself
    meta = package.metadata
    assert (meta["method"], meta["source_model"], meta["layers"], meta["hidden_size"]) == (
        "transferred", "tgt-llama", [3], TGT_DIM)
    assert meta["capability"] == "formality" and meta["recommended_coefficient"] == 6.0
    transfer = meta["transfer"]
    assert (transfer["matrix"], transfer["matrix_version"], transfer["source_model"]) == (
        matrix.public_id, 1, "src-llama")
    assert transfer["norm_mode"] == "map" and set(transfer["norms"]) >= {"source_norm", "delivered_norm"}
    np.testing.assert_array_equal(package.vector(3), delivered)

    response = buyer.get(url, {"format": "gguf"})
    assert response.status_code == 200, response.content
    assert response["Content-Disposition"] == f'attachment; filename="{stem}.gguf"'
    path = tmp_path / "downloaded.gguf"
    path.write_bytes(response.content)
    reader = gguf.GGUFReader(str(path))
    assert reader.get_field("general.architecture").contents() == "controlvector"
    assert reader.get_field("controlvector.model_hint").contents() == "llama"
    tensors = {t.name: np.array(t.data, dtype=np.float32).reshape(-1) for t in reader.tensors}
    assert list(tensors) == ["direction.2"]  # delivered layer 3 -> direction.2
    np.testing.assert_array_equal(tensors["direction.2"], delivered)

    response = buyer.get(url, {"format": "onnx"})
    assert response.status_code == 400
    assert set(error_of(response)["details"]) == {"format"}

    stranger = client_for(other_user)
    for fmt in ("safetensors", "vpkg", "gguf"):
        response = stranger.get(url, {"format": fmt})
        assert response.status_code == 404 and error_of(response)["code"] == "not_found"
        assert client_anon.get(url, {"format": fmt}).status_code == 401


def test_gguf_of_layer_1_is_409(client_for, user, seller, listing, wmatrix, django_capture_on_commit_callbacks):
    """The api fixtures' matrix maps source layer 2 to target layer 1: direction.0 cannot be written."""
    from marketplace.catalog.ledger import deposit
    from marketplace.catalog.purchases import create_purchase

    deposit(user, Decimal("10"))
    with django_capture_on_commit_callbacks(execute=True):
        purchase, _ = create_purchase(buyer=user, listing=listing, target_model=wmatrix.target, idempotency_key="x")
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.DELIVERED and purchase.target_layer == 1
    client = client_for(user)
    response = client.get(f"/api/v1/purchases/{purchase.public_id}/vector/", {"format": "gguf"})
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "not_exportable" and error["details"]["layer"] == 1
    assert "direction.0" in error["message"]
    package = client.get(f"/api/v1/purchases/{purchase.public_id}/vector/", {"format": "vpkg"})
    assert package.status_code == 200
    meta = VectorPackage.from_bytes(package.content).metadata
    assert meta["method"] == "transferred" and meta["transfer"]["matrix"] == wmatrix.public_id
    assert meta["capability"] == listing.name and "plain safetensors upload" in meta["extra"]["provenance"]


def test_gguf_for_a_family_llama_cpp_cannot_run_is_409(client_for, user, seller, listing,
                                                       django_capture_on_commit_callbacks):
    """The api fixtures' models are of family "tiny": no llama.cpp architecture."""
    from marketplace.catalog.ledger import deposit
    from marketplace.catalog.purchases import create_purchase

    deposit(user, Decimal("10"))
    with django_capture_on_commit_callbacks(execute=True):
        purchase, _ = create_purchase(buyer=user, listing=listing, target_model=listing.source_model,
                                      idempotency_key="x")
    response = client_for(user).get(f"/api/v1/purchases/{purchase.public_id}/vector/", {"format": "gguf"})
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "not_exportable" and "src-model" in error["message"]


def test_vector_download_before_delivery_is_409(client_for, user, listing, wmatrix):
    purchase = Purchase.objects.create(buyer=user, listing=listing, target_model=wmatrix.target, price=Decimal("1"),
                                       idempotency_key="p", matrix=wmatrix, target_layer=1)
    client = client_for(user)
    assert client.get(f"/api/v1/purchases/{purchase.public_id}/").json()["vector_urls"] is None
    for fmt in ("safetensors", "vpkg", "gguf"):
        response = client.get(f"/api/v1/purchases/{purchase.public_id}/vector/", {"format": fmt})
        assert response.status_code == 409
        assert error_of(response)["code"] == "not_delivered"


def test_schema_documents_the_vector_route(client_anon):
    schema = client_anon.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/purchases/{public_id}/vector/"]["get"]
    assert any(p["name"] == "format" for p in operation["parameters"])
