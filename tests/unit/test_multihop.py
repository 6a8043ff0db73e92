"""Multi-hop alignment on planted linear maps: composition equals the product map, and the path search finds the
planted best path (layers chained hop to hop)."""

from __future__ import annotations

import numpy as np
import pytest

from alignment_plugins.estimator import RetentionEstimator
from alignment_plugins.multihop import ComposedMap, MultiHopAligner
from alignment_plugins.solvers.base import LinearMap, pseudo_inverse
from alignment_plugins.wmatrix import WMatrix

DIMS = {"A": 6, "B": 5, "C": 4, "D": 7}


def planted_map(dx: int, dy: int, seed: int) -> LinearMap:
    rng = np.random.default_rng(seed)
    weight = rng.normal(size=(dy, dx))
    return LinearMap(method="ridge", weight=weight, inverse_weight=pseudo_inverse(weight),
                     mean_x=rng.normal(size=dx), scale_x=rng.uniform(0.5, 2.0, dx), mean_y=rng.normal(size=dy),
                     scale_y=rng.uniform(0.5, 2.0, dy))


def matrix(source: str, target: str, pairs: dict[tuple[int, int], float], seed: int = 0) -> WMatrix:
    """A planted matrix whose pair (i, j) has held-out semantic preservation pairs[(i, j)]."""
    maps = {pair: planted_map(DIMS[source], DIMS[target], seed + k) for k, pair in enumerate(pairs)}
    first = next(iter(pairs))
    return WMatrix(source={"name": source, "hidden_size": DIMS[source], "family": "llama"},
                   target={"name": target, "hidden_size": DIMS[target], "family": "llama"}, maps=maps,
                   layer_map=list(pairs), best_pair=first, method="ridge",
                   pair_metrics={f"{i}->{j}": {"semantic_preservation": sp} for (i, j), sp in pairs.items()})


@pytest.fixture
def sp_estimator() -> RetentionEstimator:
    """An estimator whose retention is the map's semantic preservation (so the planted values are the edges')."""
    return RetentionEstimator(features=("semantic_preservation",), mean=np.zeros(1), scale=np.ones(1),
                              coef=np.ones(1), intercept=0.0, ridge=1.0, alpha=0.1, case_quantile=0.05,
                              case_guaranteed=True, pair_quantile=0.1, pair_guaranteed=True,
                              ranges={"semantic_preservation": [0.0, 1.0]})


def test_composition_equals_the_product_map() -> None:
    m1, m2, m3 = planted_map(6, 5, 1), planted_map(5, 4, 2), planted_map(4, 7, 3)
    composed = ComposedMap([m1, m2, m3])
    x = np.random.default_rng(9).normal(size=(10, 6))
    np.testing.assert_allclose(composed.transform(x), m3.transform(m2.transform(m1.transform(x))), atol=1e-12)
    product = m3.effective_weight() @ m2.effective_weight() @ m1.effective_weight()
    np.testing.assert_allclose(composed.effective_weight(), product, atol=1e-12)
    np.testing.assert_allclose(composed.transform_direction(x), x @ product.T, atol=1e-10)
    single = composed.as_linear_map()
    np.testing.assert_allclose(single.transform(x), composed.transform(x), atol=1e-10)
    np.testing.assert_allclose(single.transform_direction(x[0]), product @ x[0], atol=1e-10)
    y = np.random.default_rng(3).normal(size=7)
    np.testing.assert_allclose(single.inverse_direction(y),
                               m1.inverse_direction(m2.inverse_direction(m3.inverse_direction(y))), atol=1e-10)
    with pytest.raises(ValueError, match="hop 1 delivers 5 dimensions but hop 2 takes 4"):
        ComposedMap([m1, m3])


def test_path_search_finds_the_planted_best_path(sp_estimator: RetentionEstimator) -> None:
    matrices = [
        matrix("A", "C", {(2, 1): 0.5}),                   # direct: 0.5
        matrix("A", "B", {(2, 3): 0.95, (4, 3): 0.99}),    # from layer 2 the path arrives at B layer 3
        matrix("B", "C", {(3, 1): 0.9, (5, 1): 0.99}),     # so it must use B's (3, 1) map: 0.95 × 0.9
        matrix("A", "D", {(2, 2): 0.99}),
        matrix("D", "C", {(2, 1): 0.6}),                   # 0.99 × 0.6 = 0.594
    ]
    aligner = MultiHopAligner(matrices, estimator=sp_estimator)
    result = aligner.find_optimal_path(source="A", target="C", layer=2)
    assert result.path == ["A", "B", "C"]
    assert [(h.source_layer, h.target_layer) for h in result.hops] == [(2, 3), (3, 1)]
    assert result.estimated_retention == pytest.approx(0.95 * 0.9)
    assert result.direct_retention == pytest.approx(0.5) and result.direct_layers == (2, 1)
    assert result.improvement == pytest.approx(0.855 - 0.5)
    # without a layer, A's layer 4 reaches B layer 3 with 0.99
    assert aligner.find_optimal_path("A", "C").estimated_retention == pytest.approx(0.99 * 0.9)
    # one hop at most: only the direct matrix is a path
    direct_only = MultiHopAligner(matrices, estimator=sp_estimator, max_hops=1).find_optimal_path("A", "C", layer=2)
    assert direct_only.path == ["A", "C"] and direct_only.estimated_retention == pytest.approx(0.5)
    with pytest.raises(LookupError, match="no chain of at most 3 stored matrices leads from A from layer 7"):
        aligner.find_optimal_path("A", "C", layer=7)
    with pytest.raises(LookupError):
        aligner.find_optimal_path("C", "A")
    # the composed map of the found path is the product of the two planted maps at the chosen layers
    composed = aligner.composed_map(result)
    expected = matrices[2].maps[(3, 1)].effective_weight() @ matrices[1].maps[(2, 3)].effective_weight()
    np.testing.assert_allclose(composed.effective_weight(), expected, atol=1e-12)
    assert result.to_dict()["path"] == ["A", "B", "C"]


def test_config_is_used_or_refused(sp_estimator: RetentionEstimator) -> None:
    aligner = MultiHopAligner([matrix("A", "B", {(2, 3): 0.9})], estimator=sp_estimator)
    assert aligner.find_optimal_path("A", "B", config={"quantization": "int8"}).path == ["A", "B"]
    with pytest.raises(ValueError, match="unknown target_config key"):
        aligner.find_optimal_path("A", "B", config={"beam": 2})


def test_multihop_bench_composes_and_scores_on_a_planted_work_directory(tmp_path, monkeypatch) -> None:
    """bench/multihop_bench.py's composed vector and statistics on planted maps and synthetic effects."""
    import importlib.util
    import json
    from pathlib import Path

    from alignment_plugins.retention import as_arrays, retention_statistics

    spec = importlib.util.spec_from_file_location(
        "multihop_bench", Path(__file__).resolve().parents[2] / "bench" / "multihop_bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    (tmp_path / "maps").mkdir()
    ab, bc = matrix("A", "B", {(2, 3): 0.9}, seed=1), matrix("B", "C", {(3, 1): 0.8}, seed=2)
    ab.save(tmp_path / "maps" / "A__B.ridge.wmatrix")
    bc.save(tmp_path / "maps" / "B__C.ridge.wmatrix")
    v = np.random.default_rng(0).normal(size=DIMS["A"])
    np.save(tmp_path / "native.A.cap.npy", v)
    got = bench.composed_vector(tmp_path, ["A", "B", "C"], {"A": 2, "B": 3, "C": 1}, "cap", 2.5)
    expected = bc.maps[(3, 1)].effective_weight() @ ab.maps[(2, 3)].effective_weight() @ v
    np.testing.assert_allclose(got, expected / np.linalg.norm(expected) * 2.5, atol=1e-10)

    rng = np.random.default_rng(1)
    arm = lambda scale: {"1.0": (scale + rng.normal(0, 0.1, 12)).tolist(),  # noqa: E731
                         "2.0": (2 * scale + rng.normal(0, 0.1, 12)).tolist()}
    effects = {"native": arm(1.0), "random": arm(0.0), "transferred:A": arm(0.6)}
    (tmp_path / "measure.C.json").write_text(json.dumps(
        {"capabilities": {"cap": {"n_prompts": 12, "coefficients": [1.0, 2.0], "effects": effects}}}))
    monkeypatch.setattr(bench, "estimated", lambda work, path, estimator: 0.5 if len(path) == 3 else 0.7)
    args = type("Args", (), {"bootstrap": 50, "seed": 0})()
    multihop = arm(0.4)
    (row,) = bench.statistics(args, tmp_path, ("A", "B", "C"), {"cap": {"effects": multihop}}, None)
    expected_multihop = retention_statistics(as_arrays({**effects, "multihop": multihop}), "multihop")["retention"]
    assert row["multihop"] == pytest.approx(expected_multihop) and 0.2 < row["multihop"] < 0.6
    assert row["direct"] == pytest.approx(retention_statistics(as_arrays(effects), "transferred:A")["retention"])
    assert row["multihop_ci"][0] <= row["multihop"] <= row["multihop_ci"][1]
    assert (row["estimated_path"], row["estimated_direct"]) == (0.5, 0.7)
    text = bench.markdown({"rows": [row], "summary": {"n": 1, "mean_multihop": row["multihop"],
                                                      "mean_direct": row["direct"], "multihop_better": 0,
                                                      "path_mae": 0.1, "direct_mae": 0.1, "ranking_agreement": 1},
                           "generated_at": "now", "command": "python bench/multihop_bench.py", "work": "w"})
    assert "| A → B → C | cap |" in text
