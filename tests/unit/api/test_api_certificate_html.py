"""Certificates over the API: the signed JSON document (verifiable offline), the self-contained HTML page, the
support matrix with measured retention, the schema, and the admin's links to the page."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from api_helpers import error_of
from django.core.management import call_command
from django.urls import reverse

from alignment_plugins import certificate as engine
from alignment_plugins.__main__ import main as cli

pytestmark = pytest.mark.django_db

HOSTILE = '"><script>alert(1)</script>'


@pytest.fixture
def cert(wmatrix):
    from marketplace.alignment.certificates import issue_certificate

    return issue_certificate(wmatrix)


@pytest.fixture
def cka_matrix(archs, tmp_path):
    """An active src-model → lonely-model matrix stored by the service from a file holding a CKA matrix."""
    from alignment_plugins.solvers import RidgeSolver
    from alignment_plugins.wmatrix import WMatrix as EngineWMatrix
    from marketplace.alignment.matrices import store_matrix

    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 8))
    linear = RidgeSolver().fit_arrays(x, x @ rng.standard_normal((8, 6)))
    engine_matrix = EngineWMatrix(
        source={"name": "src-model", "hidden_size": 8, "fingerprint": HOSTILE},
        target={"name": "lonely-model", "hidden_size": 6, "fingerprint": "fp-lonely"},
        maps={(2, 1): linear}, layer_map=[(2, 1)], best_pair=(2, 1), method="ridge",
        anchors={"hash": "anchors-v1", "counts": {"train": 50, "validation": 7, "test": 7}},
        pair_metrics={"2->1": {"semantic_preservation": 0.7, "accuracy": 0.6, "reconstruction_error": 0.2}},
        cka=rng.uniform(size=(4, 4)), cka_layers={"source": [0, 1, 2, 3], "target": [0, 1, 2, 3]},
    )
    return store_matrix(engine_matrix.save(tmp_path / "cka.wmatrix"))


def _support_file(tmp_path: Path) -> Path:
    doc = {
        "format": "support-matrix", "version": 1, "generated_at": "2026-02-03T04:05:06Z", "library_version": "0.1.0",
        "command": "bench", "anchors": {"hash": "anchors-v1", "count": 64},
        "models": {"src-model": {"fingerprint": "fp-src", "layer": 2, "hidden_size": 8},
                   "tgt-model": {"fingerprint": "fp-tgt", "layer": 1, "hidden_size": 6}},
        "pairs": [{"source": "src-model", "target": "tgt-model", "source_layer": 2, "target_layer": 1,
                   "method": "ridge", "median_retention": 0.55, "median_retention_ci": [0.45, 0.65],
                   "random_control": 0.01, "shuffled_control": 0.04, "cosine_native_transferred": 0.3,
                   "capabilities": {"style": {"retention": 0.58, "ci": [0.5, 0.66], "retention_matched_norm": 0.6,
                                              "ci_matched_norm": [0.5, 0.7], "random_control": 0.0,
                                              "shuffled_control": 0.02, "anti_steerable_fraction": 0.05,
                                              "cosine": 0.33, "best_coefficient": 3.0, "n_prompts": 30}}}],
    }
    path = tmp_path / "support-matrix.json"
    path.write_text(json.dumps(doc))
    return path


def test_certificate_json_is_the_signed_document(client_anon, cert, tmp_path, settings, capsys):
    response = client_anon.get(f"/api/v1/certificates/{cert.public_id}/")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["id"] == cert.public_id and body["signature_valid"] is True and body["algorithm"] == "hmac-sha256"
    assert body["payload"]["certificate_id"] == cert.public_id and body["tier"] == body["payload"]["tier"] == 1
    assert body["payload"]["intervals"]["accuracy"]["method"] == "not recorded"  # the file records no n
    assert body["html_url"].endswith(f"/api/v1/certificates/{cert.public_id}/html/")
    assert body["url"].endswith(f"/api/v1/certificates/{cert.public_id}/")
    key = settings.CERTIFICATE_SIGNING_KEY
    assert engine.verify(body, key) and body["key_id"] == engine.key_id(key)

    # the response body, saved as a file, verifies offline with the engine CLI
    doc_path, key_path = tmp_path / "cert.json", tmp_path / "key"
    doc_path.write_bytes(response.content)
    key_path.write_text(key)
    assert cli(["verify-certificate", str(doc_path), "--key-file", str(key_path)]) == 0
    assert capsys.readouterr().out.strip() == "valid"

    # the matrix's certificate action serves the same representation
    same = client_anon.get(f"/api/v1/wmatrices/{cert.matrix.public_id}/certificate/").json()
    assert same["payload"] == body["payload"] and same["html_url"] == body["html_url"]


def test_certificate_list_and_not_found(client_anon, cert, cka_matrix):
    body = client_anon.get("/api/v1/certificates/", {"matrix": cert.matrix.public_id}).json()
    assert [c["id"] for c in body["results"]] == [cert.public_id]
    assert client_anon.get("/api/v1/certificates/", {"target": "lonely-model"}).json()["count"] == 1
    for url in ("/api/v1/certificates/cert_nope/", "/api/v1/certificates/cert_nope/html/"):
        response = client_anon.get(url)
        assert response.status_code == 404 and error_of(response)["code"] == "not_found"


def test_certificate_html_page(client_anon, cka_matrix):
    from marketplace.alignment.certificates import latest_certificate

    cert = latest_certificate(cka_matrix)
    response = client_anon.get(f"/api/v1/certificates/{cert.public_id}/html/")
    assert response.status_code == 200 and response["Content-Type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in response["Content-Security-Policy"]
    page = response.content.decode()
    assert page.startswith("<!DOCTYPE html>") and "Tier 3" in page and "signature verified" in page
    for text in ("semantic_preservation", "0.7000", "reconstruction_error", "anchors-v1", "fp-lonely",
                 cert.signature, cert.key_id, "95% interval"):
        assert text in page, text
    images = re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 1 and base64.b64decode(images[0]).startswith(b"<svg ")  # the CKA heatmap
    assert "<script>" not in page and "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_html_of_a_tampered_certificate_says_invalid(client_anon, cert):
    type(cert).objects.filter(pk=cert.pk).update(signature="0" * 64)
    page = client_anon.get(f"/api/v1/certificates/{cert.public_id}/html/").content.decode()
    assert "signature INVALID" in page
    assert client_anon.get(f"/api/v1/certificates/{cert.public_id}/").json()["signature_valid"] is False


def test_support_matrix_endpoint_reports_measured_retention(client_anon, wmatrix, tmp_path, listing):
    call_command("import_retention", str(_support_file(tmp_path)), stdout=StringIO())
    row = client_anon.get("/api/v1/support-matrix/").json()["results"][0]
    assert row["basis"] == "measured_retention" and row["typical_retention"] == pytest.approx(0.55)
    assert (row["typical_retention_ci_low"], row["typical_retention_ci_high"]) == (0.45, 0.65)
    measured = row["measured_retention"]
    assert measured["median"]["ci_low"] == 0.45 and measured["measured_at"].startswith("2026-02-03T04:05:06")
    assert measured["capabilities"][0]["capability"] == "style" and measured["capabilities"][0]["ci_high"] == 0.66

    # the listing (capability_domain "style") now gets the measured number through the compatibility endpoint
    estimate = client_anon.get(f"/api/v1/vectors/{listing.public_id}/compatibility/",
                               {"target_model": "tgt-model"}).json()
    assert estimate["basis"] == "measured_retention"
    assert (estimate["retention"], estimate["ci_low"], estimate["ci_high"]) == pytest.approx((0.58, 0.5, 0.66))

    # a certificate issued now carries the measured retention, signed
    from marketplace.alignment.certificates import issue_certificate

    cert = issue_certificate(wmatrix)
    body = client_anon.get(f"/api/v1/certificates/{cert.public_id}/").json()
    assert body["payload"]["retention"]["capabilities"]["style"]["ci"] == [0.5, 0.66]
    assert body["signature_valid"] is True


def test_schema_documents_the_certificate_endpoints(client_anon):
    schema = client_anon.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path in ("/api/v1/certificates/", "/api/v1/certificates/{public_id}/",
                 "/api/v1/certificates/{public_id}/html/"):
        assert path in schema["paths"], path
    html_op = schema["paths"]["/api/v1/certificates/{public_id}/html/"]["get"]
    assert "text/html" in html_op["responses"]["200"]["content"]


def test_admin_links_to_the_certificate_page(admin_client_su, cert, tmp_path):
    page_url = reverse("api:certificate-html", kwargs={"public_id": cert.public_id})
    listing = admin_client_su.get(reverse("admin:alignment_qualitycertificate_changelist")).content.decode()
    assert page_url in listing and "View certificate" in listing
    change = admin_client_su.get(reverse("admin:alignment_qualitycertificate_change", args=[cert.pk]))
    assert page_url in change.content.decode()
    matrix_page = admin_client_su.get(reverse("admin:alignment_wmatrix_change", args=[cert.matrix.pk]))
    assert page_url in matrix_page.content.decode()

    call_command("import_retention", str(_support_file(tmp_path)), stdout=StringIO())
    rows = admin_client_su.get(reverse("admin:alignment_measuredretention_changelist")).content.decode()
    assert "style" in rows and "[0.500, 0.660]" in rows and "2 → 1" in rows
    support = admin_client_su.get("/admin/support-matrix/").content.decode()
    assert "measured, 95% CI 45–65%" in support


def test_file_sha256_matches(cka_matrix):
    """Sanity: the stored matrix the page is drawn from is the file that was certified."""
    from marketplace.alignment.certificates import latest_certificate

    cert = latest_certificate(cka_matrix)
    with cka_matrix.file.open("rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == cert.payload["matrix"]["file_sha256"]
