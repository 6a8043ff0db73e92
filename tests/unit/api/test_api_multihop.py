"""Multi-hop alignment over REST (/api/v1/multihop/, its graph, the OpenAPI schema) and the admin graph page."""

from __future__ import annotations

import hashlib

import pytest
from api_helpers import TGT_DIM, error_of, write_wmatrix

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(archs, wmatrix, tmp_path):
    """src-model →(2→1) tgt-model →(1→3) lonely-model: no direct src → lonely matrix."""
    from django.core.files import File

    from marketplace.alignment.models import WMatrix

    path = write_wmatrix(tmp_path / "tgt__lonely.wmatrix", "tgt-model", "lonely-model", dx=TGT_DIM, dy=TGT_DIM,
                         pair=(1, 3), seed=1)
    row = WMatrix(source=archs["tgt"], target=archs["lonely"], version=1, method="ridge", layer_map=[[1, 3]],
                  best_source_layer=1, best_target_layer=3, file_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
                  metrics={"1->3": {"semantic_preservation": 0.9, "accuracy": 0.8, "reconstruction_error": 0.05}},
                  anchor_set_hash="anchors-v1")
    with path.open("rb") as handle:
        row.file.save("tgt__lonely_v1.wmatrix", File(handle), save=False)
    row.save()
    return wmatrix, row


def test_best_path_through_an_intermediary(client_anon, chain):
    first, second = chain
    response = client_anon.get("/api/v1/multihop/", {"source": "src-model", "target": "lonely-model"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["path"] == ["src-model", "tgt-model", "lonely-model"] and body["direct_retention"] is None
    assert [(h["source_layer"], h["target_layer"], h["matrix"]) for h in body["hops"]] == [
        (2, 1, first.public_id), (1, 3, second.public_id)]
    product = body["hops"][0]["estimated_retention"] * body["hops"][1]["estimated_retention"]
    assert body["estimated_retention"] == pytest.approx(product) and 0 < product <= 1
    direct = client_anon.get("/api/v1/multihop/", {"source": "src-model", "target": "tgt-model", "layer": 2}).json()
    assert direct["path"] == ["src-model", "tgt-model"]
    assert direct["direct_retention"] == pytest.approx(direct["estimated_retention"])


def test_no_path_unknown_parameters_and_bad_config(client_anon, chain):
    missing = client_anon.get("/api/v1/multihop/", {"source": "src-model", "target": "lonely-model", "layer": 3})
    assert missing.status_code == 404 and "no chain" in error_of(missing)["message"]
    unknown = client_anon.get("/api/v1/multihop/", {"source": "src-model", "target": "lonely-model", "beam": 4})
    assert unknown.status_code == 400 and "beam" in error_of(unknown)["details"]
    quant = client_anon.get("/api/v1/multihop/", {"source": "src-model", "target": "lonely-model",
                                                  "quantization": "int3"})
    assert quant.status_code == 400 and "unknown quantization" in error_of(quant)["message"]
    same = client_anon.get("/api/v1/multihop/", {"source": "src-model", "target": "src-model"})
    assert same.status_code == 400


def test_graph_endpoint_and_schema(client_anon, chain):
    graph = client_anon.get("/api/v1/multihop/graph/").json()
    assert graph["nodes"] == ["lonely-model", "src-model", "tgt-model"]
    assert [(e["source"], e["target"], e["pair"]) for e in graph["edges"]] == [
        ("src-model", "tgt-model", [2, 1]), ("tgt-model", "lonely-model", [1, 3])]
    assert all(0 < e["estimated_retention"] <= 1 and e["weight"] >= 0 for e in graph["edges"])
    schema = client_anon.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    params = {p["name"] for p in schema["paths"]["/api/v1/multihop/"]["get"]["parameters"]}
    assert {"source", "target", "layer", "quantization", "context_length"} <= params
    assert "/api/v1/multihop/graph/" in schema["paths"]


def test_admin_graph_page(admin_client_su, chain):
    page = admin_client_su.get("/admin/multihop/", {"source": "src-model", "target": "lonely-model"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and "Best path: <strong>src-model → tgt-model → lonely-model</strong>" in html
    assert chain[1].public_id in html
    error = admin_client_su.get("/admin/multihop/", {"source": "lonely-model", "target": "src-model"})
    assert "no chain of at most 3 stored matrices" in error.content.decode()
    listing = admin_client_su.get("/admin/alignment/wmatrix/")
    assert "/admin/multihop/" in listing.content.decode()
