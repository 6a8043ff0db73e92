"""Fixtures of the REST API and admin tests: users, API keys, architectures, listings and small .wmatrix files.

Everything is built with the models directly (no service call) except where a test is about the service path.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from api_helpers import LAYERS, SRC_DIM, TGT_DIM, vector_bytes, write_wmatrix
from django.core.cache import cache
from django.core.files.base import ContentFile
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _api_isolation(settings, tmp_path: Path) -> None:
    """Fresh throttle counters and a private media folder per test."""
    cache.clear()
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def client_anon() -> APIClient:
    return APIClient()


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("buyer", "buyer@example.test", "pw")


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user("other", "other@example.test", "pw")


@pytest.fixture
def seller(django_user_model):
    return django_user_model.objects.create_user("seller", "seller@example.test", "pw")


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.test", "pw")


@pytest.fixture
def api_key(user):
    """(row, clear key) of the buyer's key."""
    from marketplace.catalog.models import ApiKey

    return ApiKey.issue(user)


@pytest.fixture
def key_client(api_key) -> APIClient:
    """A client authenticated as `user` with an API key."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key[1]}")
    return client


@pytest.fixture
def client_for() -> Callable[..., APIClient]:
    """Factory: client_for(user) -> a client authenticated by a fresh API key of `user`."""
    from marketplace.catalog.models import ApiKey

    def _make(u) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {ApiKey.issue(u)[1]}")
        return client

    return _make


@pytest.fixture
def admin_client_su(superuser):
    from django.test import Client

    client = Client()
    client.force_login(superuser)
    return client


@pytest.fixture
def archs(db) -> dict:
    """Three architectures: src (d=8), tgt (d=6) with a matrix when `wmatrix` is used, lonely (no matrix)."""
    from marketplace.catalog.models import Architecture

    common = {"family": "tiny", "num_layers": LAYERS, "support_level": Architecture.Support.FULL}
    return {
        "src": Architecture.objects.create(name="src-model", hidden_size=SRC_DIM, **common),
        "tgt": Architecture.objects.create(name="tgt-model", hidden_size=TGT_DIM, **common),
        "lonely": Architecture.objects.create(name="lonely-model", hidden_size=TGT_DIM, **common),
    }


@pytest.fixture
def make_listing(seller, archs) -> Callable[..., object]:
    """Factory of active listings on src-model (file stored, dim/norm/hash filled in)."""
    from marketplace.catalog.models import VectorListing

    def _make(**overrides):
        from safetensors.numpy import load

        from marketplace.catalog.vector_files import listing_package

        data = vector_bytes(SRC_DIM, seed=overrides.pop("seed", 0))
        fields = {
            "seller": seller, "name": "Formal tone", "description": "more formal register",
            "source_model": archs["src"], "layer": 2, "capability_domain": "style", "grade": "B",
            "price": Decimal("10"), "vector_dim": SRC_DIM, "vector_norm": 1.0,
            "vector_sha256": hashlib.sha256(data).hexdigest(),
        }
        fields.update(overrides)
        listing = VectorListing(**fields)
        package = listing_package(listing, load(data)["vector"], None)  # stored as the services store it
        listing.vector_file.save("v.vpkg", ContentFile(package.to_bytes()), save=False)
        listing.save()
        return listing

    return _make


@pytest.fixture
def listing(make_listing):
    return make_listing()


@pytest.fixture
def wmatrix(archs, tmp_path):
    """An active src-model → tgt-model matrix row (version 1) backed by a real .wmatrix file."""
    from django.core.files import File

    from marketplace.alignment.models import WMatrix

    path = write_wmatrix(tmp_path / "src__tgt.wmatrix")
    row = WMatrix(
        source=archs["src"], target=archs["tgt"], version=1, method="ridge", layer_map=[[2, 1]],
        best_source_layer=2, best_target_layer=1, file_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        metrics={"2->1": {"semantic_preservation": 0.93, "accuracy": 0.88, "reconstruction_error": 0.04}},
        anchor_set_hash="anchors-v1", source_fingerprint="fp-src", target_fingerprint="fp-tgt",
    )
    with path.open("rb") as handle:
        row.file.save("src__tgt_v1.wmatrix", File(handle), save=False)
    row.save()
    return row
