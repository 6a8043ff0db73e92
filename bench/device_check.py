"""The engine on an accelerator: the same training, extraction, transfer and steering on CPU and CUDA, compared.

What a GPU worker runs (``--device cuda`` of the CLI, the Celery GPU queue) must give the CPU's answers. On tiny
seeded models (``tests/tiny_models.py``: llama → gemma3, random weights, real tokenizers) this script, for each
device:

* trains a W-Matrix (ridge, every layer, token-offset pairing) on a sample of the built-in anchors;
* extracts a CAA vector (the ``sentiment`` capability's contrastive pairs) in the source, transfers it;
* measures the antisymmetric effect of the transferred vector on the target for a next-token capability
  (``weddings``: log-mass, nats) and a generated-text one (``sentiment``: VADER on greedy continuations);

then compares every device with the first: the maps (max |ΔW·x| / max |W·x| on random inputs, per layer pair), the
extracted vectors (cosine), the next-token effects (max absolute difference, nats) and the greedy generations (share
of identical continuations: random tiny models have near-ties, so a float-rounding difference can flip a token).
With ``--speed`` it also times all-layer token-state extraction of a random model with SmolLM2-135M's shape
(576 wide, 30 layers; seeded random weights, no download) per device and dtype, side by side in one run.

    python bench/device_check.py                                 # cpu (and cuda when torch sees one)
    python bench/device_check.py --devices cpu cuda --speed --out device_check.json
    python bench/device_check.py --speed --speed-devices cpu --speed-dtypes float32 bfloat16 --speed-texts 16

Exit status 1 when a device disagrees with the first beyond the tolerances printed.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

MAP_TOLERANCE = 1e-3  # max |ΔW·x| / max |W·x|
COSINE_TOLERANCE = 1e-4  # 1 − cosine of the extracted vectors
EFFECT_TOLERANCE = 1e-3  # nats, next-token effects


def run_device(device: str, source: Path, target: Path, num_anchors: int) -> dict[str, Any]:
    """Train, extract, transfer and steer on one device; the outputs and the seconds each phase took."""
    import torch

    from alignment_plugins import models, vectors
    from alignment_plugins.anchors import load_builtin
    from alignment_plugins.capabilities import get_capability
    from alignment_plugins.steering_sweep import antisymmetric_effects
    from alignment_plugins.trainer import WMatrixTrainer

    models.clear_loaded_models()
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    trainer = WMatrixTrainer(str(source), str(target), anchors=load_builtin().sample(num_anchors, seed=5),
                             device=device, cache=False, seed=1)
    trainer.configure(layers="all", optimization="ridge", regularization=1e-2, pairing="tokens")
    wm = trainer.train(epochs=0, validation_split=0.15, test_split=0.15)
    seconds["train"] = time.perf_counter() - clock
    rng = np.random.default_rng(0)
    d_source = int(wm.source["hidden_size"])
    probe = rng.normal(size=(16, d_source)).astype(np.float32)
    transforms = {f"{i}->{j}": np.asarray(wm.transform(probe, layer=i), dtype=np.float64) for i, j in wm.layer_map}

    clock = time.perf_counter()
    src = models.load_model(str(source), device=device)
    tgt = models.load_model(str(target), device=device)
    vector = vectors.extract_vector(src, get_capability("sentiment"), wm.headline_pair[0])
    moved = vectors.transfer_vector(vector, wm, norm=float(np.linalg.norm(vector.vector)))
    seconds["extract_transfer"] = time.perf_counter() - clock

    clock = time.perf_counter()
    settings = [(moved.vector, c) for c in (1.0, 4.0)]
    weddings = antisymmetric_effects(tgt, get_capability("weddings"), moved.layer, settings, list(range(6)))
    seconds["next_token_effects"] = time.perf_counter() - clock
    clock = time.perf_counter()
    sentiment = get_capability("sentiment")
    prompts = list(range(4))
    texts = {c: vectors.generate(tgt, [sentiment.prompts[i] for i in prompts], layer=moved.layer,
                                 vector=moved.vector, coefficient=c, max_new_tokens=8) for c in (4.0, -4.0)}
    seconds["generation"] = time.perf_counter() - clock
    return {
        "device": device, "torch_device": str(next(tgt.model.parameters()).device),
        "name": torch.cuda.get_device_name(0) if device.startswith("cuda") else platform.processor() or "cpu",
        "recommended_pair": list(wm.headline_pair),
        "transforms": transforms, "vector": vector.vector.astype(np.float64),
        "weddings_effects": weddings, "generations": texts, "seconds": seconds,
    }


def compare(reference: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """How far `other` is from `reference`: map, vector, effect and generation agreement, with pass/fail."""
    map_error = max(float(np.abs(other["transforms"][k] - v).max() / max(np.abs(v).max(), 1e-12))
                    for k, v in reference["transforms"].items())
    a, b = reference["vector"], other["vector"]
    cosine = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    effects = np.asarray(other["weddings_effects"]) - np.asarray(reference["weddings_effects"])
    effect_error = float(np.abs(effects).max())
    same = [x == y for c in reference["generations"] for x, y in zip(reference["generations"][c],
                                                                      other["generations"][c], strict=True)]
    result = {
        "same_recommended_pair": reference["recommended_pair"] == other["recommended_pair"],
        "map_relative_error": map_error, "vector_cosine": cosine, "weddings_effect_max_abs_diff_nats": effect_error,
        "identical_generations": f"{sum(same)}/{len(same)}",
    }
    result["ok"] = bool(result["same_recommended_pair"] and map_error <= MAP_TOLERANCE
                        and 1 - cosine <= COSINE_TOLERANCE and effect_error <= EFFECT_TOLERANCE)
    return result


def speed(devices: list[str], dtypes: list[str], num_texts: int) -> list[dict[str, Any]]:
    """Seconds to extract every layer's token states for `num_texts` anchors with a SmolLM2-135M-shaped random model."""
    import torch
    from tiny_models import build_tiny_model
    from transformers import LlamaConfig, LlamaForCausalLM

    from alignment_plugins import models
    from alignment_plugins.anchors import load_builtin
    from alignment_plugins.token_pairs import token_states

    texts = [a.text for a in load_builtin().sample(num_texts, seed=9)]

    def extract(model: Any, layers: list[int]) -> None:
        for start in range(0, len(texts), 32):
            token_states(model, texts[start:start + 32], layers)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer_dir = build_tiny_model("llama", Path(tmp))
        config = LlamaConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                             num_attention_heads=9, num_key_value_heads=3, max_position_embeddings=2048,
                             tie_word_embeddings=True)
        torch.manual_seed(0)
        path = Path(tmp) / "smollm2-shaped"
        LlamaForCausalLM(config).save_pretrained(path)
        for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
            if (tokenizer_dir / name).is_file():
                (path / name).write_bytes((tokenizer_dir / name).read_bytes())
        for device in devices:
            for dtype in dtypes:
                models.clear_loaded_models()
                model = models.load_model(str(path), dtype=dtype, device=device)
                layers = list(range(config.num_hidden_layers + 1))
                token_states(model, texts[:8], layers)  # warm-up
                if device.startswith("cuda"):
                    torch.cuda.synchronize()
                clock = time.perf_counter()
                extract(model, layers)
                if device.startswith("cuda"):
                    torch.cuda.synchronize()
                elapsed = time.perf_counter() - clock
                rows.append({"device": device, "dtype": dtype, "texts": len(texts), "seconds": elapsed,
                             "texts_per_second": len(texts) / elapsed, "threads": torch.get_num_threads()})
                print(f"speed {device} {dtype}: {len(texts)} texts, all {len(layers)} layers in {elapsed:.2f} s "
                      f"({len(texts) / elapsed:.1f} texts/s)", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the check on every requested device; print the comparison; exit 1 on a disagreement."""
    import torch
    from tiny_models import build_tiny_model

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
    parser.add_argument("--devices", nargs="+", default=default)
    parser.add_argument("--num-anchors", type=int, default=200)
    parser.add_argument("--speed", action="store_true", help="also time all-layer extraction, SmolLM2-135M shape")
    parser.add_argument("--speed-texts", type=int, default=64)
    parser.add_argument("--speed-devices", nargs="+", default=None, help="default: --devices")
    parser.add_argument("--speed-dtypes", nargs="+", default=["float32", "bfloat16"])
    parser.add_argument("--out", type=Path, default=None, help="JSON report (default: print only)")
    args = parser.parse_args(argv)
    report: dict[str, Any] = {"torch": torch.__version__, "devices": {}, "comparisons": {}}
    with tempfile.TemporaryDirectory() as tmp:
        source, target = build_tiny_model("llama", Path(tmp)), build_tiny_model("gemma3", Path(tmp))
        results = [run_device(d, source, target, args.num_anchors) for d in args.devices]
    for r in results:
        report["devices"][r["device"]] = {"name": r["name"], "torch_device": r["torch_device"],
                                          "recommended_pair": r["recommended_pair"], "seconds": r["seconds"]}
        print(f"{r['device']} ({r['name']}, tensors on {r['torch_device']}): recommended pair "
              f"{r['recommended_pair']}, seconds " + ", ".join(f"{k} {v:.2f}" for k, v in r["seconds"].items()))
    ok = True
    for r in results[1:]:
        c = compare(results[0], r)
        report["comparisons"][f"{r['device']} vs {results[0]['device']}"] = c
        ok &= c["ok"]
        print(f"{r['device']} vs {results[0]['device']}: " + ", ".join(f"{k} {v}" for k, v in c.items()))
    if args.speed:
        report["speed"] = speed(args.speed_devices or args.devices, args.speed_dtypes, args.speed_texts)
    report["ok"] = ok
    if args.out:
        args.out.write_text(json.dumps(report, indent=1, default=float))
    print("OK" if ok else f"MISMATCH (tolerances: map {MAP_TOLERANCE}, 1-cosine {COSINE_TOLERANCE}, "
          f"effect {EFFECT_TOLERANCE} nats)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
