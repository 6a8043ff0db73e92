"""The plugin-author guide's example package (examples/plugin-package): built and installed by pip as a separate
distribution, loaded through the entry-point group the manager reads, and used for a model family no built-in
adapter handles (GPT-NeoX): described, trained against, steered."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sdk_helpers import ROOT

from alignment_plugins.manager import ENTRYPOINT_GROUP, get_plugin_manager

PACKAGE = ROOT / "examples" / "plugin-package"
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package installed by pip into a folder of its own (wheel built from its pyproject, from a copy so that
    the build leaves nothing in the source tree)."""
    source = tmp_path_factory.mktemp("plugin-source") / "plugin-package"
    shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("*.egg-info", "build", "__pycache__"))
    target = tmp_path_factory.mktemp("plugin-site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(target), str(source)], check=True, capture_output=True)
    return target


@pytest.fixture(scope="module")
def tiny_neox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny seeded GPT-NeoX model (partial rotary, parallel residual) with a real fast tokenizer."""
    import torch
    import transformers
    from tiny_models import HEADS, HIDDEN, INTERMEDIATE, LAYERS, MAX_POSITIONS, build_tokenizer

    tokenizer = build_tokenizer("gpt2")
    config = transformers.GPTNeoXConfig(
        vocab_size=len(tokenizer), hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
        intermediate_size=INTERMEDIATE, max_position_embeddings=MAX_POSITIONS, rotary_pct=0.5,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("neox") / "tiny-neox"
    transformers.AutoModelForCausalLM.from_config(config).eval().save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture
def neox_loaded(installed: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.syspath_prepend(str(installed))
    importlib.invalidate_caches()
    return get_plugin_manager().load_entrypoint_plugins(["neox"])


def test_the_package_declares_its_entry_point_in_the_managers_group(installed: Path) -> None:
    dist_info, = installed.glob("awareness_neox_plugin-0.1.0.dist-info")
    entry_points = (dist_info / "entry_points.txt").read_text()
    assert f"[{ENTRYPOINT_GROUP}]" in entry_points and "neox = neox_alignment_plugin:plugin" in entry_points


def test_without_the_plugin_the_family_is_unknown(tiny_neox: Path) -> None:
    from alignment_plugins import models

    with pytest.raises(models.UnknownModelError, match="gpt_neox"):
        models.model_info(str(tiny_neox))


def test_loaded_from_its_entry_point_it_describes_trains_and_steers(
    neox_loaded: list[str], tiny_neox: Path, tiny_model, tmp_path: Path
) -> None:
    from alignment_plugins import models
    from alignment_plugins.anchors import load_builtin
    from alignment_plugins.extraction import extract
    from alignment_plugins.trainer import WMatrixTrainer
    from alignment_plugins.vectors import steer
    from alignment_plugins.wmatrix import WMatrix

    assert neox_loaded == ["neox"]
    info, = [i for i in get_plugin_manager().plugin_infos() if i.name == "neox"]
    assert (info.origin, info.distribution, info.version) == ("entrypoint", "awareness-neox-plugin", "0.1.0")
    assert {"alignment_describe_architecture", "alignment_load_model", "alignment_extract_hidden_states",
            "alignment_inject_vector", "alignment_edit_residual", "alignment_forward"} <= set(info.hooks)

    described = models.model_info(str(tiny_neox))
    assert (described.family, described.adapter, described.hidden_size, described.num_layers) == (
        "gpt_neox", "neox", 32, 3)
    assert described.positional_encoding == "rope (partial, 0.5 of each head)"

    anchors = load_builtin().sample(80, seed=3)
    trainer = WMatrixTrainer(str(tiny_model("llama")), str(tiny_neox), anchors=anchors, seed=1)
    wm = trainer.configure(layers=[2], pairing="mean", contrastive_weight=0).train(validation_split=0.15,
                                                                                  test_split=0.15)
    loaded = WMatrix.load(wm.save(tmp_path / "llama-to-neox.wmatrix"))
    assert loaded.target["family"] == "gpt_neox" and np.isfinite(loaded.accuracy)

    neox = models.load_model(str(tiny_neox))
    texts = load_builtin().sample(4, seed=9)
    plain = extract(neox, texts, [3], cache=False)[3]
    with steer(neox, 1, np.full(32, 3.0, np.float32), 2.0):
        steered = extract(neox, texts, [3], cache=False)[3]
    assert not np.allclose(plain, steered)  # the vector added after block 1 reaches block 3's output
    np.testing.assert_allclose(extract(neox, texts, [3], cache=False)[3], plain, rtol=1e-6)  # restored on exit
