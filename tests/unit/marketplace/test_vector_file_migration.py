"""Data migration catalog 0003: vector files stored in the former marketplace-only safetensors format become the
vector packages the services store now; packages are left alone, missing files are skipped."""

from __future__ import annotations

import hashlib
import importlib
import json
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from marketplace_helpers import D_SOURCE, D_TARGET
from safetensors.numpy import save

from marketplace.catalog.models import Purchase, VectorListing
from marketplace.catalog.vector_files import read_package

pytestmark = pytest.mark.django_db

migration = importlib.import_module("marketplace.catalog.migrations.0003_vector_packages")
SOURCE_VECTOR = np.linspace(-1.0, 2.0, D_SOURCE).astype(np.float32)
DELIVERED = np.linspace(0.5, -0.5, D_TARGET).astype(np.float32)


def legacy_bytes(vector: np.ndarray, meta: dict[str, Any]) -> bytes:
    """A file in the former format: tensor "vector", header {"format": "capability-vector", "metadata": JSON}."""
    header = {"format": "capability-vector", "metadata": json.dumps(meta, sort_keys=True, allow_nan=False)}
    return save({"vector": np.ascontiguousarray(vector, dtype=np.float32)}, metadata=header)


def sha(vector: np.ndarray) -> str:
    return hashlib.sha256(vector.astype("<f4").tobytes()).hexdigest()


@pytest.fixture
def legacy(stored_matrix: Any, toy: dict, users: dict) -> tuple[VectorListing, Purchase]:
    """A listing (plain upload) and its delivered purchase, both stored in the former format."""
    listing = VectorListing(seller=users["seller"], name="Legacy", description="old", source_model=toy["source"],
                            layer=2, capability_domain="code", grade="B", price=Decimal("1"), vector_dim=D_SOURCE,
                            vector_norm=1.0, vector_sha256=sha(SOURCE_VECTOR))
    meta = {"listing": listing.public_id, "source_model": "toy-src", "layer": 2, "sha256": sha(SOURCE_VECTOR)}
    listing.vector_file.save(f"{listing.public_id}.safetensors", ContentFile(legacy_bytes(SOURCE_VECTOR, meta)))
    purchase = Purchase(buyer=users["buyer"], listing=listing, target_model=toy["target"], price=Decimal("1"),
                        idempotency_key="old", matrix=stored_matrix, target_layer=1, status=Purchase.Status.DELIVERED)
    record = {
        "purchase": purchase.public_id, "listing": listing.public_id, "source_model": "toy-src",
        "target_model": "toy-tgt", "source_layer": 2, "source_norm": 2.5, "source_sha256": sha(SOURCE_VECTOR),
        "package": None, "target_layer": 1, "matrix": stored_matrix.public_id, "matrix_version": 1,
        "method": "ridge", "norm_mode": "map", "mapped_norm": 0.4, "delivered_norm": 0.9, "rescale_factor": 2.25,
        "rescale": "norm rule", "source_standardized_norm": 1.7, "dim": D_TARGET, "sha256": sha(DELIVERED),
        "delivered_at": "2026-11-01T10:00:00+00:00",
    }
    purchase.translated_vector.save(f"{purchase.public_id}.safetensors", ContentFile(legacy_bytes(DELIVERED, record)))
    return listing, purchase


def test_former_files_become_packages(legacy: tuple[VectorListing, Purchase]) -> None:
    listing, purchase = legacy
    old_names = (listing.vector_file.name, purchase.translated_vector.name)
    storage = listing.vector_file.storage
    migration.to_packages(apps, None)
    listing.refresh_from_db()
    purchase.refresh_from_db()
    assert listing.vector_file.name.endswith(".vpkg") and purchase.translated_vector.name.endswith(".vpkg")
    assert not any(storage.exists(name) for name in old_names)  # the former files are gone

    stored = read_package(listing.vector_file)
    np.testing.assert_array_equal(stored.vector(2), SOURCE_VECTOR)
    meta = stored.metadata
    assert (meta["source_model"], meta["method"], meta["capability"], meta["domain"]) == (
        "toy-src", "unknown", "Legacy", "code")
    assert meta["extra"]["listing"] == listing.public_id and meta["extra"]["sha256"] == sha(SOURCE_VECTOR)

    delivered = read_package(purchase.translated_vector)
    np.testing.assert_array_equal(delivered.vector(1), DELIVERED)
    meta = delivered.metadata
    assert (meta["source_model"], meta["method"], meta["layers"]) == ("toy-tgt", "transferred", [1])
    transfer = meta["transfer"]
    assert (transfer["matrix"], transfer["matrix_version"], transfer["matrix_method"]) == (
        purchase.matrix.public_id, 1, "ridge")
    assert transfer["norms"] == {"source_norm": 2.5, "mapped_norm": 0.4, "delivered_norm": 0.9,
                                 "source_standardized_norm": 1.7}
    assert (transfer["rescale_factor"], transfer["rescale"], transfer["norm_mode"]) == (2.25, "norm rule", "map")
    assert transfer["wmatrix_sha256"] == purchase.matrix.file_sha256
    assert meta["extra"]["sha256"] == sha(DELIVERED) and meta["extra"]["delivered_at"] == "2026-11-01T10:00:00+00:00"


def test_packages_are_left_alone_and_missing_files_skipped(legacy: tuple[VectorListing, Purchase]) -> None:
    listing, purchase = legacy
    migration.to_packages(apps, None)
    listing.refresh_from_db()
    converted = listing.vector_file.name
    purchase.translated_vector.storage.delete(purchase.translated_vector.name)  # lost from storage
    migration.to_packages(apps, None)  # rerun: nothing to convert, nothing raised
    listing.refresh_from_db()
    assert listing.vector_file.name == converted
