"""Compatibility estimates: the documented formula on a small real .wmatrix, storage, and recomputation."""

from __future__ import annotations

import math
from typing import Any

import pytest

from marketplace.alignment.estimates import config_key, estimate_for, normalize_config, structural_mismatch
from marketplace.alignment.matrices import store_matrix
from marketplace.alignment.models import CompatibilityEstimate, WMatrix
from marketplace.alignment.support import support_matrix
from marketplace.errors import NotFound, ValidationFailed

pytestmark = pytest.mark.django_db

HALF = 2 * math.sqrt(0.84 * 0.16 / 100)  # p = 0.84 on a 100-anchor test split


def test_formula_with_test_split_interval(stored_matrix: WMatrix, make_listing: Any, toy: dict) -> None:
    est = estimate_for(make_listing(layer=1), toy["target"])
    assert est.alignment_quality == pytest.approx(0.84) and est.retention == pytest.approx(0.84)
    assert est.ci_low == pytest.approx(0.84 - HALF) and est.ci_high == pytest.approx(0.84 + HALF)
    assert est.risk_level == "medium"  # 0.7667 < 0.8
    assert est.dimensional_loss == pytest.approx(1 - 6 / 8)
    assert est.structural_mismatch == pytest.approx(0.5)  # family and activation differ
    assert est.basis == "alignment_quality" and est.matrix_id == stored_matrix.id
    assert est.config_key == config_key({"quantization": None, "custom_fine_tune": False})
    assert est.recommendation.startswith(
        "Expected to keep about 84% (95% CI 77–91%) of the vector's representational content at toy-tgt layer 1; "
        "quality tier 2.")
    assert "25% fewer dimensions" in est.recommendation and "Medium risk" in est.recommendation


def test_recorded_interval_is_used(stored_matrix: WMatrix, make_listing: Any, toy: dict) -> None:
    est = estimate_for(make_listing(layer=2), toy["target"])  # pair 2->1 records its own CI
    assert (est.retention, est.ci_low, est.ci_high) == pytest.approx((0.6, 0.55, 0.66))
    assert est.risk_level == "medium"


def test_quantization_and_fine_tune_widen_without_moving_the_point(
    stored_matrix: WMatrix, make_listing: Any, toy: dict
) -> None:
    listing = make_listing(layer=1)
    base = estimate_for(listing, toy["target"])
    quant = estimate_for(listing, toy["target"], quantization="INT4")
    both = estimate_for(listing, toy["target"], quantization="q4_k_m", custom_fine_tune=True)
    assert quant.retention == both.retention == base.retention
    assert quant.ci_low == pytest.approx(0.84 - 1.5 * HALF) and quant.ci_high == pytest.approx(0.84 + 1.5 * HALF)
    assert both.ci_low == pytest.approx(0.84 - 2.25 * HALF)
    assert quant.risk_level == both.risk_level == "high"  # medium, one step up
    assert quant.target_config == {"quantization": "int4", "custom_fine_tune": False}
    assert "int4-quantized target" in quant.recommendation
    assert CompatibilityEstimate.objects.filter(listing=listing).count() == 3  # one row per config
    assert estimate_for(listing, toy["target"], quantization="fp32").pk == base.pk  # fp32 is not quantized
    with pytest.raises(ValidationFailed):
        normalize_config("int4; drop table")


def test_high_and_low_risk(toy: dict, wmatrix_file: Any, make_listing: Any,
                           django_capture_on_commit_callbacks: Any) -> None:
    metrics = {"0->0": {"semantic_preservation": 0.3}, "1->1": {"semantic_preservation": 0.97,
                                                                  "reconstruction_error": 0.01}}
    with django_capture_on_commit_callbacks(execute=True):
        store_matrix(wmatrix_file(metrics=metrics, layer_map=[(0, 0), (1, 1)]))
    low_layer, good_layer = make_listing(layer=0), make_listing(layer=1, name="good")
    assert estimate_for(low_layer, toy["target"]).risk_level == "high"
    good = estimate_for(good_layer, toy["target"])
    assert good.risk_level == "low" and "quality tier 1" in good.recommendation


def test_stored_estimate_is_reused_and_compute_false(stored_matrix: WMatrix, make_listing: Any, toy: dict) -> None:
    listing = make_listing(layer=1)
    with pytest.raises(NotFound, match="no estimate"):
        estimate_for(listing, toy["target"], compute=False)
    first = estimate_for(listing, toy["target"])
    assert estimate_for(listing, toy["target"], compute=False).pk == first.pk
    assert estimate_for(listing, toy["target"]).computed_at == first.computed_at  # not recomputed


def test_missing_pair_or_layer_is_not_found(stored_matrix: WMatrix, make_listing: Any, toy: dict) -> None:
    with pytest.raises(NotFound, match="no active W-Matrix"):
        estimate_for(make_listing(layer=1), toy["other"])
    with pytest.raises(NotFound, match="no measured map for source layer 3"):
        estimate_for(make_listing(layer=3, name="deep"), toy["target"])


def test_identity_estimate(make_listing: Any, toy: dict) -> None:
    est = estimate_for(make_listing(layer=1), toy["source"])
    assert est.pk is None and est.retention == 1.0 and est.basis == "identity"


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
    quant = estimate_for(listing, toy["target"], quantization="int8")
    assert old.matrix_id == quant.matrix_id == stored_matrix.id
    better = {**{k: dict(v) for k, v in stored_matrix.metrics.items()},
              "1->1": {"accuracy": 0.95, "semantic_preservation": 0.9, "reconstruction_error": 0.04}}
    with django_capture_on_commit_callbacks(execute=True):
        v2 = store_matrix(wmatrix_file(metrics=better, seed=5))
    rows = {e.target_config["quantization"]: e for e in CompatibilityEstimate.objects.filter(listing=listing)}
    assert set(rows) == {None, "int8"}
    assert all(e.matrix_id == v2.id for e in rows.values())  # both configs recomputed from v2
    assert rows[None].retention == pytest.approx(0.9) and "quality tier 1" in rows[None].recommendation


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
    assert row["typical_retention"] == pytest.approx(0.6)  # median of 0.84, 0.6, 0.55
    assert row["basis"] == "median of 3 listing estimates"
