"""Vector packages in the marketplace: package uploads (validated, metadata kept on the listing) and the delivered
vector as a package (.vpkg) or a llama.cpp control-vector GGUF."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from marketplace_helpers import D_SOURCE, D_TARGET, vector_bytes
from safetensors.numpy import load as safetensors_load

from alignment_plugins.vector_package import VectorPackage, content_hash
from marketplace.catalog.delivery import delivery_bytes, delivery_package
from marketplace.catalog.ledger import deposit
from marketplace.catalog.listings import create_listing
from marketplace.catalog.models import Purchase, VectorListing
from marketplace.catalog.purchases import create_purchase
from marketplace.catalog.vector_files import read_package, safetensors_header, validate_vector_upload
from marketplace.errors import NotExportable, ValidationFailed

pytestmark = pytest.mark.django_db

DATA_HASH = content_hash([["polite text", "rude text"]])
RNG = np.random.default_rng(7)
VECTORS = {layer: RNG.standard_normal(D_SOURCE).astype(np.float32) for layer in (1, 2, 3)}


def package_bytes(layers: tuple[int, ...] = (1, 2, 3), *, source_model: str = "toy-src", dim: int = D_SOURCE,
                  **meta: Any) -> bytes:
    vectors = {layer: VECTORS[layer] if dim == D_SOURCE else np.ones(dim, np.float32) for layer in layers}
    fields = {"source_fingerprint": "sha256:aa", "method": "caa", "capability": "politeness",
              "contrastive_data_hash": DATA_HASH, "domain": "style", "recommended_coefficient": 4.0,
              "token_position": "last", "pooling": "last", "num_layers": 3}
    fields.update(meta)
    return VectorPackage.create(vectors, source_model=source_model, **fields).to_bytes()


def _list(users: dict, toy: dict, data: bytes, layer: int | None = 2, **fields: Any) -> VectorListing:
    kwargs = {"name": "Polite", "description": "more polite", "capability_domain": "style", "grade": "B",
              "price": Decimal("3")}
    kwargs.update(fields)
    return create_listing(seller=users["seller"], source_model=toy["source"], layer=layer, vector_bytes=data, **kwargs)


# ------------------------------------------------------------------------------------------------ uploads
def test_package_upload_stores_the_layer_vector_and_the_metadata(users: dict, toy: dict) -> None:
    listing = _list(users, toy, package_bytes(), layer=2)
    stored = read_package(listing.vector_file)  # the listing's file is a one-layer package
    np.testing.assert_array_equal(stored.vector(2), VECTORS[2])
    assert listing.layer == 2 and listing.vector_dim == D_SOURCE
    package = listing.package
    assert (package["method"], package["capability"], package["domain"]) == ("caa", "politeness", "style")
    assert package["contrastive_data_hash"] == DATA_HASH and package["recommended_coefficient"] == 4.0
    assert package["layers"] == [1, 2, 3] and package["source_model"] == "toy-src"
    meta = stored.metadata  # the stored file describes itself too
    assert (meta["method"], meta["capability"], meta["layers"]) == ("caa", "politeness", [2])
    assert meta["contrastive_data_hash"] == DATA_HASH and meta["extra"]["listing"] == listing.public_id


def test_package_layer_is_taken_from_a_single_layer_package(users: dict, toy: dict) -> None:
    listing = _list(users, toy, package_bytes((3,)), layer=None)
    assert listing.layer == 3
    np.testing.assert_array_equal(read_package(listing.vector_file).vector(3), VECTORS[3])


def test_validate_vector_upload_accepts_a_package() -> None:
    out = validate_vector_upload(package_bytes(), expected_dim=D_SOURCE, source_model="toy-src", layer=1)
    np.testing.assert_array_equal(out, VECTORS[1])
    assert validate_vector_upload(package_bytes((2,)), expected_dim=D_SOURCE).shape == (D_SOURCE,)


def _tampered() -> bytes:
    data = bytearray(package_bytes())
    data[-1] ^= 0x01  # one bit of the last tensor
    return bytes(data)


@pytest.mark.parametrize(
    ("data", "layer", "message"),
    [
        (package_bytes(dim=D_SOURCE + 2), 2, f"hidden size {D_SOURCE + 2} but the source model's hidden size is"),
        (package_bytes(source_model="gemma3-270m"), 2,
         "extracted from 'gemma3-270m' but the listing's source model is 'toy-src'"),
        (package_bytes((1, 3)), 2, "has no vector for layer 2; it has layers [1, 3]"),
        (package_bytes(), None, "has layers [1, 2, 3]; say which one to sell"),
        (package_bytes(num_layers=30), 2, "a model with 30 blocks but toy-src has 3"),
        (_tampered(), 2, "integrity check failed"),
        (package_bytes()[:-9], 2, "truncated"),
        (vector_bytes(np.ones(D_SOURCE)), None, "layer is required"),
    ],
    ids=["wrong-dim", "wrong-model", "layer-not-in-package", "ambiguous-layer", "num-layers", "tampered",
         "truncated", "plain-without-layer"],
)
def test_bad_package_uploads_are_refused_and_nothing_is_stored(
    users: dict, toy: dict, data: bytes, layer: int | None, message: str
) -> None:
    with pytest.raises(ValidationFailed) as info:
        _list(users, toy, data, layer=layer)
    assert message in str(info.value)
    assert info.value.status == 400
    assert not VectorListing.objects.exists()


def test_plain_uploads_still_work(users: dict, toy: dict) -> None:
    listing = _list(users, toy, vector_bytes(np.arange(1, D_SOURCE + 1)), layer=1)
    assert listing.package == {} and listing.layer == 1
    stored = read_package(listing.vector_file)  # converted to a package on upload, its provenance unknown
    meta = stored.metadata
    assert stored.layers == [1] and meta["method"] == "unknown" and meta["source_model"] == "toy-src"
    assert meta["capability"] == "Polite" and "plain safetensors upload" in meta["extra"]["provenance"]
    np.testing.assert_array_equal(stored.vector(1), np.arange(1, D_SOURCE + 1, dtype=np.float32))


# ----------------------------------------------------------------------------------------------- delivery
def _buy(users: dict, listing: VectorListing, target: Any, capture: Any, key: str = "k") -> Purchase:
    if listing.price > 0:
        deposit(users["buyer"], listing.price)
    with capture(execute=True):
        purchase, _ = create_purchase(buyer=users["buyer"], listing=listing, target_model=target, idempotency_key=key)
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.DELIVERED, purchase.error
    return purchase


def _read_gguf(data: bytes, tmp_path: Path) -> tuple[Any, dict[str, np.ndarray]]:
    import gguf

    path = tmp_path / "cvec.gguf"
    path.write_bytes(data)
    reader = gguf.GGUFReader(str(path))
    tensors = {t.name: np.array(t.data, dtype=np.float32).reshape(-1) for t in reader.tensors}
    return reader, tensors


def test_translated_delivery_as_package_and_control_vector(
    stored_matrix: Any, users: dict, toy: dict, django_capture_on_commit_callbacks: Any, tmp_path: Path
) -> None:
    listing = _list(users, toy, package_bytes(), layer=3)
    purchase = _buy(users, listing, toy["target"], django_capture_on_commit_callbacks)
    assert purchase.target_layer == 2  # LAYER_MAP: 3 -> 2
    stored = read_package(purchase.translated_vector)  # a delivery is stored as the target model's package
    delivered = stored.vector(2)
    assert stored.metadata["transfer"]["norm_mode"] == "map" and stored.metadata["capability"] == "politeness"

    package = VectorPackage.from_bytes(delivery_bytes(purchase, "vpkg"))
    np.testing.assert_array_equal(package.vector(2), delivered)
    m = package.metadata
    assert (m["method"], m["source_model"], m["hidden_size"], m["layers"]) == ("transferred", "toy-tgt", D_TARGET, [2])
    assert (m["capability"], m["domain"], m["contrastive_data_hash"]) == ("politeness", "style", DATA_HASH)
    assert m["recommended_coefficient"] == 4.0 and m["grade"] == "B" and m["num_layers"] == 2
    assert m["source_fingerprint"] == "sha256:bb"  # the target model's weights
    transfer = m["transfer"]
    assert (transfer["matrix"], transfer["matrix_version"]) == (stored_matrix.public_id, 1)
    assert (transfer["source_model"], transfer["source_layer"], transfer["target_layer"]) == ("toy-src", 3, 2)
    assert transfer["norm_mode"] == "map" and transfer["source_method"] == "caa"
    assert transfer["wmatrix_sha256"] == stored_matrix.file_sha256
    assert transfer["norms"]["delivered_norm"] == pytest.approx(float(np.linalg.norm(delivered)), rel=1e-5)
    assert transfer["norms"]["source_norm"] == pytest.approx(float(np.linalg.norm(VECTORS[3])), rel=1e-5)
    assert m["extra"]["purchase"] == purchase.public_id

    reader, tensors = _read_gguf(delivery_bytes(purchase, "gguf"), tmp_path)
    assert reader.get_field("general.architecture").contents() == "controlvector"
    assert reader.get_field("controlvector.model_hint").contents() == "gemma3"  # toy-tgt's family
    assert reader.get_field("controlvector.layer_count").contents() == 1
    assert list(tensors) == ["direction.1"]  # layer L -> direction.{L-1}
    np.testing.assert_array_equal(tensors["direction.1"], delivered)

    plain = delivery_bytes(purchase, "safetensors")  # the vector under "vector", the package metadata as JSON
    np.testing.assert_array_equal(safetensors_load(plain)["vector"], delivered)
    assert json.loads(safetensors_header(plain)["__metadata__"]["metadata"]) == m
    with pytest.raises(ValidationFailed, match="format must be one of"):
        delivery_bytes(purchase, "onnx")


def test_identity_delivery_of_a_plain_upload(users: dict, toy: dict, django_capture_on_commit_callbacks: Any) -> None:
    vector = np.linspace(1.0, 2.0, D_SOURCE)
    listing = _list(users, toy, vector_bytes(vector), layer=2, name="Plain")
    purchase = _buy(users, listing, toy["source"], django_capture_on_commit_callbacks)
    package = delivery_package(purchase)
    m = package.metadata
    assert m["method"] == "unknown" and m["capability"] == "Plain" and m["domain"] == "style"
    assert m["transfer"]["matrix"] is None and m["transfer"]["norm_mode"] == "native"
    assert "plain safetensors upload" in m["extra"]["provenance"]
    np.testing.assert_array_equal(package.vector(2), vector.astype(np.float32))


@pytest.mark.parametrize("layer", [0, 1])
def test_control_vector_refuses_layers_0_and_1(
    layer: int, users: dict, toy: dict, django_capture_on_commit_callbacks: Any
) -> None:
    listing = _list(users, toy, vector_bytes(np.ones(D_SOURCE)), layer=layer)
    purchase = _buy(users, listing, toy["source"], django_capture_on_commit_callbacks)
    with pytest.raises(NotExportable, match=f"layer {layer} of toy-src") as info:
        delivery_bytes(purchase, "gguf")
    assert info.value.status == 409 and info.value.extra["layer"] == layer
    assert VectorPackage.from_bytes(delivery_bytes(purchase, "vpkg")).layers == [layer]  # a package is fine


def test_control_vector_refuses_a_model_llama_cpp_cannot_run(
    users: dict, arch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    encoder = arch("toy-encoder", D_SOURCE, 3, family="bert")
    listing = create_listing(seller=users["seller"], name="x", description="", source_model=encoder, layer=2,
                             capability_domain="style", grade="B", price=Decimal("0"),
                             vector_bytes=vector_bytes(np.ones(D_SOURCE)))
    purchase = _buy(users, listing, encoder, django_capture_on_commit_callbacks)
    with pytest.raises(NotExportable, match=r"no llama\.cpp decoder architecture"):
        delivery_bytes(purchase, "gguf")


def test_packages_and_control_vectors_do_not_import_torch() -> None:
    """The web process builds .vpkg and GGUF downloads with numpy, safetensors and gguf only."""
    code = """
import sys, tempfile, pathlib
import numpy as np
import django, os
os.environ["DJANGO_SETTINGS_MODULE"] = "marketplace.settings.test"
django.setup()
import marketplace.api.views, marketplace.catalog.delivery
from alignment_plugins.vector_package import VectorPackage, export_control_vector, llama_cpp_model_hint
import gguf
pkg = VectorPackage.create({3: np.ones(8, np.float32)}, source_model="smollm2-135m-instruct", source_fingerprint="",
                           method="caa", capability="c", contrastive_data_hash="")
VectorPackage.from_bytes(pkg.to_bytes())
path = pathlib.Path(tempfile.mkdtemp()) / "c.gguf"
export_control_vector(pkg, path, model_hint=llama_cpp_model_hint("smollm2-135m-instruct"))
gguf.GGUFReader(str(path))
heavy = sorted(m for m in ("torch", "transformers") if m in sys.modules)
assert not heavy, heavy
print("ok")
"""
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
