"""Compatibility estimates: the learned estimator on a small real .wmatrix (TEST_ESTIMATOR, see marketplace_helpers),
every configuration key used or refused, fine-tune checks, storage and recomputation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from marketplace_helpers import expected_retention

from alignment_plugins.transfer_features import carried_basis, dimensional_loss
from alignment_plugins.wmatrix import WMatrix as EngineMatrix
from marketplace.alignment.estimates import config_key, estimate_for, normalize_config, structural_mismatch
from marketplace.alignment.matrices import store_matrix
from marketplace.alignment.models import CompatibilityEstimate, WMatrix
from marketplace.alignment.support import support_matrix
from marketplace.errors import NotFound, ValidationFailed

pytestmark = pytest.mark.django_db

DEFAULT = {"quantization": None, "context_length": None, "custom_fine_tune": None}


def test_learned_estimate_and_its_interval(stored_matrix: WMatrix, make_listing: Any, toy: dict) -> None:
    listing = make_listing(layer=1)
    est = estimate_for(listing, toy["target"])
    point = expected_retention(0.84)  # 0.78
    assert est.basis == "learned_estimate" and est.retention == pytest.approx(point)
    assert (est.ci_low, est.ci_high) == pytest.approx((point - 0.1, point + 0.1))
    assert est.alignment_quality == pytest.approx(0.84) and est.risk_level == "medium"
    assert est.structural_mismatch == pytest.approx(0.5)  # family and activation differ
    assert est.detail["level"] == pytest.approx(0.9) and est.detail["interval"] == "conformal"
    assert est.detail["reasons"] == [] and est.detail["fine_tune"]["status"] == "none"
    assert est.config_key == config_key(DEFAULT) and est.target_config == DEFAULT
    assert est.recommendation.startswith(
        "Estimated (learned from 24 measured cases): keeps about 78% (90% interval 68–88%) of the vector's steering "
        "effect on toy-tgt at layer 1.")
    # the dimensional loss of the listing's vector through the stored map of pair 1->1
    engine = EngineMatrix.load(stored_matrix.file.path)
    _, linear = engine.map_for(1)
    expected = dimensional_loss(np.arange(1, 9, dtype=np.float64), linear.scale_x, carried_basis(linear.weight))
    assert est.dimensional_loss == pytest.approx(expected) and 0.0 < est.dimensional_loss < 1.0


def test_every_config_key_is_used_or_refused(stored_matrix: WMatrix, make_listing: Any, toy: dict) -> None:
    listing = make_listing(layer=1)
    base = estimate_for(listing, toy["target"])
    int8 = estimate_for(listing, toy["target"], quantization="INT8")  # measured range: a learned effect
    assert int8.retention == pytest.approx(expected_retention(0.84, quantization_loss=1.0))
    assert int8.retention < base.retention and int8.detail["interval"] == "conformal"
    assert int8.ci_high - int8.ci_low == pytest.approx(0.2)  # no hand-set widening
    int4 = estimate_for(listing, toy["target"], quantization="q4_k_m")  # never measured: the wide interval
    assert int4.detail["interval"] == "conformal_wide" and "quantization loss 2.00" in int4.detail["reasons"][0]
    assert (int4.ci_low, int4.ci_high) == pytest.approx((int4.retention - 0.2, int4.retention + 0.2))
    assert int4.risk_level == "high" and "widened to cover every capability" in int4.recommendation
    long = estimate_for(listing, toy["target"], context_length=4096)
    assert long.target_config["context_length"] == 4096 and long.detail["interval"] == "conformal_wide"
    assert "context log ratio 4.00" in long.detail["reasons"][0]
    toy["target"].metadata = {"info": {"max_positions": 2048}}
    toy["target"].save()
    with pytest.raises(ValidationFailed, match="exceeds the target model's maximum of 2048"):
        estimate_for(listing, toy["target"], context_length=4096)
    with pytest.raises(ValidationFailed, match="unknown quantization"):
        estimate_for(listing, toy["target"], quantization="int3")
    with pytest.raises(ValidationFailed):
        normalize_config("int4; drop table")
    assert estimate_for(listing, toy["target"], quantization="fp32").pk == base.pk  # fp32 is not quantized
    assert CompatibilityEstimate.objects.filter(listing=listing).count() == 4  # one row per config


def test_fine_tune_is_checked_against_the_target_fingerprint(stored_matrix: WMatrix, make_listing: Any,
                                                              toy: dict) -> None:
    listing = make_listing(layer=1)
    base = estimate_for(listing, toy["target"])
    named = estimate_for(listing, toy["target"], custom_fine_tune="my-checkpoint-v2")
    assert named.detail["fine_tune"]["status"] == "unverified" and named.detail["interval"] == "conformal_wide"
    assert named.retention == pytest.approx(base.retention) and named.ci_high - named.ci_low == pytest.approx(0.4)
    assert "neither a local checkpoint path nor a weight fingerprint" in named.recommendation
    unnamed = estimate_for(listing, toy["target"], custom_fine_tune=True)
    assert unnamed.detail["fine_tune"]["status"] == "unverified"
    fingerprint = "sha256:" + "e" * 64
    toy["target"].weight_fingerprint = fingerprint
    toy["target"].save()
    same = estimate_for(listing, toy["target"], custom_fine_tune=fingerprint.upper().replace("SHA256", "sha256"))
    assert same.detail["fine_tune"]["status"] == "identical" and same.detail["interval"] == "conformal"
    other = estimate_for(listing, toy["target"], custom_fine_tune="sha256:" + "f" * 64)
    assert other.detail["fine_tune"]["status"] == "different" and "differs from" in other.detail["reasons"][0]
    server_path = estimate_for(listing, toy["target"], custom_fine_tune="/etc")  # never read on the server
    assert server_path.detail["fine_tune"]["status"] == "unverified"


def test_risk_follows_the_interval(toy: dict, wmatrix_file: Any, make_listing: Any,
                                  django_capture_on_commit_callbacks: Any) -> None:
    metrics = {"0->0": {"semantic_preservation": 0.55}, "1->1": {"semantic_preservation": 0.97,
                                                                   "reconstruction_error": 0.01}}
    with django_capture_on_commit_callbacks(execute=True):
        store_matrix(wmatrix_file(metrics=metrics, layer_map=[(0, 0), (1, 1)]))
    assert estimate_for(make_listing(layer=0), toy["target"]).risk_level == "high"
    good = estimate_for(make_listing(layer=1, name="good"), toy["target"])
    assert good.retention == pytest.approx(expected_retention(0.97)) and good.risk_level == "low"


def test_stored_estimate_is_reused_and_compute_false(stored_matrix: WMatrix, make_listing: Any, toy: dict,
                                                     settings: Any, tmp_path: Any) -> None:
    listing = make_listing(layer=1)
    with pytest.raises(NotFound, match="no estimate"):
        estimate_for(listing, toy["target"], compute=False)
    first = estimate_for(listing, toy["target"])
    assert estimate_for(listing, toy["target"], compute=False).pk == first.pk
    assert estimate_for(listing, toy["target"]).computed_at == first.computed_at  # not recomputed
    from marketplace_helpers import write_test_estimator  # a refitted estimator makes stored estimates stale

    from alignment_plugins.estimator import RetentionEstimator

    model = RetentionEstimator.load(write_test_estimator(tmp_path / "new.json"))
    model.created_at = "2027-01-01T00:00:00+00:00"
    settings.RETENTION_ESTIMATOR_FILE = str(model.save(tmp_path / "new.json"))
    with pytest.raises(NotFound):
        estimate_for(listing, toy["target"], compute=False)
    assert estimate_for(listing, toy["target"]).detail["estimator"].startswith("2027-01-01")


def test_missing_pair_or_layer_is_not_found(stored_matrix: WMatrix, make_listing: Any, toy: dict) -> None:
    with pytest.raises(NotFound, match="no active W-Matrix"):
        estimate_for(make_listing(layer=1), toy["other"])
    with pytest.raises(NotFound, match="no measured map for source layer 3"):
        estimate_for(make_listing(layer=3, name="deep"), toy["target"])


def test_identity_estimate(make_listing: Any, toy: dict) -> None:
    est = estimate_for(make_listing(layer=1), toy["source"])
    assert est.pk is None and est.retention == 1.0 and est.basis == "identity" and est.ci_low == 1.0
    unknown = estimate_for(make_listing(layer=1), toy["source"], custom_fine_tune="ckpt")
    assert unknown.ci_low == 0.0 and unknown.risk_level == "high"


def test_structural_mismatch_counts_differing_fields(arch: Any) -> None:
    a = arch("a", 4, family="llama", normalization="rmsnorm", positional_encoding="rope", activation="silu")
    b = arch("b", 4, family="LLAMA", normalization="layernorm", positional_encoding="learned", activation="gelu")
    assert structural_mismatch(a, a) == 0.0 and structural_mismatch(a, b) == 0.75


def test_new_matrix_version_recomputes_estimates(
    stored_matrix: WMatrix, make_listing: Any, toy: dict, wmatrix_file: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        listing = make_listing(layer=1)
    old = CompatibilityEstimate.objects.get(listing=listing, target=toy["target"])  # precomputed on creation
    quant = estimate_for(listing, toy["target"], quantization="int8", context_length=100)
    assert old.matrix_id == quant.matrix_id == stored_matrix.id
    better = {**{k: dict(v) for k, v in stored_matrix.metrics.items()},
              "1->1": {"accuracy": 0.95, "semantic_preservation": 0.9, "reconstruction_error": 0.04}}
    with django_capture_on_commit_callbacks(execute=True):
        v2 = store_matrix(wmatrix_file(metrics=better, seed=5))
    rows = {e.target_config["quantization"]: e for e in CompatibilityEstimate.objects.filter(listing=listing)}
    assert set(rows) == {None, "int8"} and rows["int8"].target_config["context_length"] == 100
    assert all(e.matrix_id == v2.id for e in rows.values())  # both configs recomputed from v2
    assert rows[None].retention == pytest.approx(expected_retention(0.9))


def test_support_matrix_rows(stored_matrix: WMatrix, make_listing: Any, toy: dict,
                             django_capture_on_commit_callbacks: Any) -> None:
    (row,) = support_matrix()
    assert row["source"] == "toy-src" and row["target"] == "toy-tgt" and row["version"] == 1
    assert row["tier"] == 2 and row["best_pair"] == [1, 1]
    assert row["semantic_preservation"] == 0.84 and row["accuracy"] == 0.9 and row["reconstruction_error"] == 0.1
    assert row["typical_retention"] == pytest.approx(0.84) and row["basis"] == "alignment_quality (recommended pair)"
    with django_capture_on_commit_callbacks(execute=True):
        make_listing(layer=1)
        make_listing(layer=2, name="b")
        make_listing(layer=0, name="c")
    (row,) = support_matrix()
    assert row["typical_retention"] == pytest.approx(expected_retention(0.6))  # median of the three layers' estimates
    assert row["basis"] == "median of 3 listing estimates"
