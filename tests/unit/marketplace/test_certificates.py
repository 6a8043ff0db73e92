"""Quality certificates: tier bands from settings, HMAC signing, verification, tampering; matrix versioning."""

from __future__ import annotations

import math
from typing import Any

import pytest

from marketplace.alignment.certificates import (
    issue_certificate,
    latest_certificate,
    sign_payload,
    tier_for,
    verify_certificate,
)
from marketplace.alignment.estimates import canonical_json
from marketplace.alignment.matrices import store_matrix
from marketplace.alignment.models import QualityCertificate, WMatrix
from marketplace.errors import NotFound, ValidationFailed


@pytest.mark.parametrize(
    ("error", "tier"),
    [(0.0, 1), (0.05, 1), (0.0501, 2), (0.15, 2), (0.2, 3), (0.30, 3), (0.3001, 4), (1.5, 4), (math.nan, 4)],
)
def test_tier_bands(error: float, tier: int) -> None:
    assert tier_for(error) == tier


def test_tier_bands_come_from_settings(settings: Any) -> None:
    settings.QUALITY_TIER_BANDS = [0.01, 0.02, 0.03]
    assert [tier_for(e) for e in (0.005, 0.015, 0.025, 0.05)] == [1, 2, 3, 4]


def test_canonical_json_is_order_independent() -> None:
    assert canonical_json({"b": 1, "a": [1, 2]}) == canonical_json({"a": [1, 2], "b": 1}) == '{"a":[1,2],"b":1}'


@pytest.mark.django_db
def test_stored_matrix_gets_a_valid_signed_certificate(stored_matrix: WMatrix) -> None:
    cert = latest_certificate(stored_matrix)
    assert cert is not None and cert.tier == 2  # best pair 1->1: reconstruction error 0.1
    payload = cert.payload
    assert payload["matrix"]["id"] == stored_matrix.public_id and payload["matrix"]["version"] == 1
    assert payload["source"] == {"name": "toy-src", "fingerprint": "sha256:aa"}
    assert payload["target"] == {"name": "toy-tgt", "fingerprint": "sha256:bb"}
    assert payload["best_pair"] == [1, 1] and payload["metrics"]["semantic_preservation"] == 0.84
    assert payload["anchor_set_hash"] == "sha256:cc" and payload["library_version"]
    assert payload["certificate_id"] == cert.public_id and payload["issued_at"] == cert.issued_at.isoformat()
    assert cert.signature == sign_payload(payload) and len(cert.signature) == 64
    assert cert.key_id.startswith("hmac-sha256:")
    assert verify_certificate(cert)
    assert verify_certificate(QualityCertificate.objects.get(pk=cert.pk))  # survives the JSON round trip


@pytest.mark.django_db
def test_the_certificate_describes_the_recommended_pair(toy: dict[str, Any], wmatrix_file: Any,
                                                          django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        matrix = store_matrix(wmatrix_file(recommended=(0, 0)))
    assert matrix.recommended_pair == (0, 0) and (matrix.best_source_layer, matrix.best_target_layer) == (1, 1)
    payload = latest_certificate(matrix).payload
    assert payload["recommended_pair"] == [0, 0] and payload["best_pair"] == [1, 1]
    assert payload["metrics"] == matrix.headline_metrics != matrix.best_metrics
    assert latest_certificate(matrix).tier == 4  # 0->0: reconstruction error 0.4, not the best pair's 0.1


@pytest.mark.django_db
@pytest.mark.parametrize("tamper", ["metrics", "tier-column", "tier-payload", "signature", "matrix"])
def test_tampering_invalidates(stored_matrix: WMatrix, tamper: str) -> None:
    cert = QualityCertificate.objects.get(matrix=stored_matrix)
    if tamper == "metrics":
        cert.payload["metrics"]["semantic_preservation"] = 0.99
    elif tamper == "tier-column":
        cert.tier = 1
    elif tamper == "tier-payload":
        cert.payload["tier"] = 1
    elif tamper == "signature":
        cert.signature = "0" * 64
    else:
        cert.payload["matrix"]["id"] = "wm_someoneelse"
    assert not verify_certificate(cert)


@pytest.mark.django_db
def test_other_key_does_not_verify(stored_matrix: WMatrix, settings: Any) -> None:
    cert = latest_certificate(stored_matrix)
    settings.CERTIFICATE_SIGNING_KEY = "another-key"
    assert not verify_certificate(cert)
    reissued = issue_certificate(stored_matrix)
    assert verify_certificate(reissued) and reissued.key_id != cert.key_id


@pytest.mark.django_db
def test_versions_supersede_and_rerun_is_idempotent(
    toy: dict, wmatrix_file: Any, django_capture_on_commit_callbacks: Any
) -> None:
    first = wmatrix_file(seed=1)
    with django_capture_on_commit_callbacks(execute=True):
        v1 = store_matrix(first)
        assert store_matrix(first).pk == v1.pk  # the same file again: no new version
        v2 = store_matrix(wmatrix_file(seed=2))
    v1.refresh_from_db()
    assert (v1.version, v1.status, v2.version, v2.status) == (1, "superseded", 2, "active")
    assert v2.validated_at is not None and v2.file.name.endswith("toy-src-to-toy-tgt-v2.wmatrix")
    assert v2.layer_map == [[0, 0], [1, 1], [2, 1], [3, 2]] and (v2.best_source_layer, v2.best_target_layer) == (1, 1)
    assert QualityCertificate.objects.filter(matrix=v2).count() == 1


@pytest.mark.django_db
def test_store_refuses_unknown_models_and_mismatched_sizes(toy: dict, wmatrix_file: Any, tmp_path: Any) -> None:
    with pytest.raises(NotFound, match="not registered"):
        store_matrix(wmatrix_file(source="nobody"))
    with pytest.raises(ValidationFailed, match="hidden size"):
        store_matrix(wmatrix_file(d_source=7))
    broken = tmp_path / "broken.wmatrix"
    broken.write_bytes(wmatrix_file().read_bytes()[:-10])
    with pytest.raises(ValidationFailed, match="cannot store"):
        store_matrix(broken)
    assert not WMatrix.objects.exists()
