"""Capability vectors on the real packaged decoders: extract, steer, transfer, export, and stitch.

Small versions of what ``bench/retention_bench.py`` measures at full size (docs/support-matrix.md): a handful of
held-out prompts and the log-probability capability (no generation), so the assertions are about direction and
rough size, with margins far wider than the bootstrap intervals of the full run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.integration

SOURCE, TARGET = "smollm2-135m-instruct", "gemma3-270m"
S_LAYER, T_LAYER = 9, 6
PROMPTS = list(range(12))
COEF = 4.0


@pytest.fixture(scope="module")
def models() -> tuple[object, object]:
    import torch

    from alignment_plugins.models import load_model

    torch.set_num_threads(2)
    return load_model(SOURCE), load_model(TARGET)


@pytest.fixture(scope="module")
def weddings():
    from alignment_plugins.capabilities import get_capability

    return get_capability("weddings")


@pytest.fixture(scope="module")
def wmatrix(models: tuple[object, object]):
    """A ridge map SmolLM2 layer 9 → Gemma-3 layer 6 fit on 1,500 pooled anchors (standardized space)."""
    from alignment_plugins.anchors import load_builtin
    from alignment_plugins.extraction import extract
    from alignment_plugins.solvers import RidgeSolver
    from alignment_plugins.wmatrix import WMatrix

    source, target = models
    anchors = load_builtin().sample(1500, seed=0)
    x = extract(source, anchors, [S_LAYER])[S_LAYER]
    y = extract(target, anchors, [T_LAYER])[T_LAYER]
    linear = RidgeSolver(regularization=1e-2).fit_arrays(x, y)
    return WMatrix(source={"name": SOURCE, "fingerprint": source.fingerprint, "hidden_size": 576},
                   target={"name": TARGET, "fingerprint": target.fingerprint, "hidden_size": 640},
                   maps={(S_LAYER, T_LAYER): linear}, layer_map=[(S_LAYER, T_LAYER)], best_pair=(S_LAYER, T_LAYER),
                   method="ridge", anchors={"hash": anchors.content_hash, "pooling": "mean"})


def _random_like(v: np.ndarray, seed: int = 0) -> np.ndarray:
    r = np.random.default_rng(seed).standard_normal(v.shape)
    return (r / np.linalg.norm(r) * np.linalg.norm(v)).astype(np.float32)


def test_native_vector_steers_and_a_random_one_does_not(models, weddings) -> None:
    from alignment_plugins import vectors

    source, _ = models
    v = vectors.extract_vector(source, weddings, S_LAYER)
    assert v.extra["projection_agreement"] > 0.95  # the contrast is consistent across pairs
    native = vectors.antisymmetric_effect(source, weddings, S_LAYER, v, COEF, PROMPTS)
    random = vectors.antisymmetric_effect(source, weddings, S_LAYER, _random_like(v.vector), COEF, PROMPTS)
    assert native.mean() > 2.0  # nats: +c·v makes wedding words far likelier than −c·v does
    assert (native > 0).mean() >= 0.9
    assert abs(random.mean()) < 0.25 * native.mean()


def test_transferred_vector_keeps_most_of_the_native_effect(models, weddings, wmatrix, tmp_path: Path) -> None:
    import gguf

    from alignment_plugins import vectors
    from alignment_plugins.vector_package import VectorPackage, export_control_vector, read_control_vector

    source, target = models
    native = vectors.extract_vector(target, weddings, T_LAYER)
    moved = vectors.transfer_vector(vectors.extract_vector(source, weddings, S_LAYER), wmatrix, norm=native.norm)
    assert moved.layer == T_LAYER and moved.vector.shape == (640,)
    e_native = vectors.antisymmetric_effect(target, weddings, T_LAYER, native, COEF, PROMPTS).mean()
    e_moved = vectors.antisymmetric_effect(target, weddings, T_LAYER, moved, COEF, PROMPTS).mean()
    e_random = vectors.antisymmetric_effect(target, weddings, T_LAYER, _random_like(native.vector), COEF,
                                            PROMPTS).mean()
    assert e_native > 2.0
    assert (e_moved - e_random) / (e_native - e_random) > 0.5
    # the buyer's artefacts: a vector package and a llama.cpp control vector of the transferred direction
    package = VectorPackage.create(
        {T_LAYER: moved.vector}, source_model=TARGET, source_fingerprint=target.fingerprint, method="transferred",
        capability="weddings", contrastive_data_hash=weddings.data_hash, pooling="mean", token_position="mean",
        transfer={"norm_mode": "native", "source_model": SOURCE}, num_layers=18,
    )
    path = package.save(tmp_path / "weddings.vpkg")
    np.testing.assert_array_equal(VectorPackage.load(path).vector(), moved.vector)
    gguf_path = export_control_vector(VectorPackage.load(path), tmp_path / "weddings.gguf")
    hint, layers = read_control_vector(gguf_path)
    assert hint == "gemma3" and list(layers) == [T_LAYER]
    np.testing.assert_allclose(layers[T_LAYER], moved.vector)
    reader = gguf.GGUFReader(str(gguf_path))
    assert [t.name for t in reader.tensors] == [f"direction.{T_LAYER - 1}"]


def test_stitching_metrics_on_the_real_pair(models, wmatrix) -> None:
    from alignment_plugins.anchors import PRODUCT_DOMAINS, load_builtin
    from alignment_plugins.stitching import certificate_metrics

    source, target = models
    # the five product domains (v1's texts), grouped by domain: interleave so both halves hold all five
    anchors = load_builtin().filter(PRODUCT_DOMAINS).sample(48, seed=123)
    texts, domains = anchors.texts, anchors.domains
    out = certificate_metrics(source, target, wmatrix, texts[1::2], labels=domains[1::2], train_texts=texts[0::2],
                              train_labels=domains[0::2], max_texts=24)
    assert out["pair"] == [S_LAYER, T_LAYER]
    assert 0.0 < out["attention_fidelity"]["value"] <= 1.0
    loss = out["stitched_loss"]
    assert loss["native"] > 0 and loss["stitched"] > 0 and np.isfinite(loss["ratio"])
    assert out["gradient_stability"]["finite"]
    assert out["task_transfer"]["source_accuracy"] > 0.4  # five domains, 24 training texts: chance is 0.2
    assert len(out["head_mapping"]["pairs"]) == 4  # min(9 SmolLM2 heads, 4 Gemma-3 heads)
