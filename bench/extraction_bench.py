"""Extraction throughput of alignment_plugins.extraction against a bare forward pass and naive HF use.

All three contenders run in one process on the same model and the same anchors:
- ours: `extract(model, anchors, layers, cache=False)` (length-sorted batches under `MAX_BATCH_TOKENS`, hooks,
  pooling), and again with 8,192-token batches (the budget before: activations that leave the CPU's caches);
- bare: the base model's forward over exactly the same batches and tokens, no hooks, no pooling (the floor);
- naive: one text at a time, fp32, `model(**enc, output_hidden_states=True)` on the full causal LM (logits
  included), then a mean over tokens per layer — what a first script with transformers looks like.
Prints tokens per second and the ratios ours/bare (target >= 0.8) and ours/naive (target >= 3), then each
contender's compute rate against this CPU's float32 GEMM peak at the model's MLP shape. With
`--bf16`, ours again on the model loaded in bfloat16: its throughput as a ratio to fp32 and how far its pooled
states are from fp32's (per-anchor cosine in the fp32 states' standardized space).

    python bench/extraction_bench.py --model smollm2-135m-instruct --num-anchors 256
"""

from __future__ import annotations

import argparse
import time

OLD_BUDGET = 8192  # extract()'s token budget per batch before MAX_BATCH_TOKENS


def main() -> None:
    """Time the three contenders and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--num-anchors", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=2, help="best of N for each contender")
    parser.add_argument("--bf16", action="store_true", help="also time ours in bfloat16 and compare its states")
    args = parser.parse_args()

    import torch

    from alignment_plugins.anchors import load_builtin
    from alignment_plugins.architectures.hf_residual import tokenize
    from alignment_plugins.extraction import MAX_BATCH_TOKENS, _token_lengths, extract, plan_batches
    from alignment_plugins.models import load_model

    model = load_model(args.model)
    anchors = load_builtin().sample(args.num_anchors, seed=3)
    texts = anchors.texts
    lengths = _token_lengths(model, texts, 256)
    tokens = sum(lengths)
    batches = plan_batches(lengths, MAX_BATCH_TOKENS, 64)
    base = getattr(model.model, "base_model", model.model)

    states: dict[str, object] = {}  # the last "all layers" result of each dtype, for --bf16's comparison

    def ours(layers: object, on: object = model, dtype: str = "float32", budget: int = MAX_BATCH_TOKENS) -> None:
        result = extract(on, anchors, layers, cache=False, max_batch_tokens=budget)
        if layers == "all":
            states[dtype] = result

    def bare() -> None:
        with torch.inference_mode():
            for batch in batches:
                enc = tokenize(model, [texts[i] for i in batch])
                base(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], use_cache=False)

    def naive() -> None:
        with torch.inference_mode():
            for text in texts:
                enc = model.tokenizer(text, return_tensors="pt")
                out = model.model(**enc, output_hidden_states=True)
                _ = [h[0].mean(dim=0).numpy() for h in out.hidden_states]

    def best(fn: object, *a: object) -> float:
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            fn(*a)
            times.append(time.perf_counter() - t)
        return min(times)

    half = model.num_layers // 2
    results = {
        "ours, all layers": best(ours, "all"),
        f"ours, layers 0..{half} (early stop)": best(ours, list(range(half + 1))),
        f"ours, all layers, {OLD_BUDGET}-token batches": best(ours, "all", model, "float32-old", OLD_BUDGET),
        "bare forward (all blocks)": best(bare),
        "naive HF (batch 1, all hidden states)": best(naive),
    }
    print(f"{args.model}: {len(texts)} anchors, {tokens} tokens, {torch.get_num_threads()} threads, float32")
    for name, seconds in results.items():
        print(f"  {name:42} {seconds:8.2f} s  {tokens / seconds:9.0f} tokens/s")
    ours_all = results["ours, all layers"]
    print(f"ratio ours with {MAX_BATCH_TOKENS}-token / {OLD_BUDGET}-token batches (the default before): "
          f"{results[f'ours, all layers, {OLD_BUDGET}-token batches'] / ours_all:.2f}")
    print(f"ratio ours(all layers) / bare forward throughput: {results['bare forward (all blocks)'] / ours_all:.2f}"
          " (target >= 0.8)")
    print(f"ratio ours(all layers) / naive HF throughput:     "
          f"{results['naive HF (batch 1, all hidden states)'] / ours_all:.2f} (target >= 3)")
    roofline(model, base, tokens, results)
    if args.bf16:
        from alignment_plugins.models import clear_loaded_models

        clear_loaded_models()
        seconds = best(ours, "all", load_model(args.model, dtype="bfloat16"), "bfloat16")
        compare_bf16(states["float32"], states["bfloat16"], ours_all, seconds, tokens)


def gemm_peak(rows: int, hidden: int, intermediate: int, repeats: int = 20) -> float:
    """This CPU's float32 matrix-multiply throughput (FLOP/s) at the model's MLP shape, `rows` tokens at a time."""
    import torch

    x, w = torch.randn(rows, hidden), torch.randn(intermediate, hidden)
    torch.nn.functional.linear(x, w)
    started = time.perf_counter()
    for _ in range(repeats):
        torch.nn.functional.linear(x, w)
    return 2 * rows * hidden * intermediate * repeats / (time.perf_counter() - started)


def roofline(model: object, base: object, tokens: int, results: dict[str, float]) -> None:
    """Print each contender's compute rate against the CPU's GEMM peak, and the best ours/naive any batching allows.

    Work per token ≈ 2 × the non-embedding parameters of the blocks (FLOP; attention's T² term left out, so this is
    a lower bound), plus 2 × the output head's parameters for naive use, which computes logits too.
    """
    config = model.model.config.get_text_config()
    hidden = int(config.hidden_size)
    intermediate = int(getattr(config, "intermediate_size", 4 * hidden))
    body = sum(p.numel() for n, p in base.named_parameters() if "embed" not in n)
    head = int(config.vocab_size) * hidden
    peak = gemm_peak(2048, hidden, intermediate)
    print(f"float32 GEMM peak at the MLP shape (2048 x {hidden} x {intermediate}): {peak / 1e9:.0f} GFLOP/s; "
          f"work per token {2 * body / 1e6:.0f} MFLOP (+{2 * head / 1e6:.0f} for logits)")
    for name, seconds in results.items():
        work = 2 * (body + (head if name.startswith("naive") else 0)) * tokens
        if "early stop" not in name:
            print(f"  {name:42} {work / seconds / 1e9:6.0f} GFLOP/s = {work / seconds / peak:.0%} of the GEMM peak")
    naive = results["naive HF (batch 1, all hidden states)"]
    print(f"ceiling of ours(all layers) / naive with every GEMM at peak: {naive / (2 * body * tokens / peak):.2f}")


def compare_bf16(fp32: object, bf16: object, fp32_seconds: float, seconds: float, tokens: int) -> None:
    """Print ours' bfloat16 throughput, its ratio to fp32's and how close its pooled states are to fp32's."""
    import numpy as np

    print(f"  {'ours, all layers, bfloat16':42} {seconds:8.2f} s  {tokens / seconds:9.0f} tokens/s")
    print(f"ratio bf16 / fp32 throughput (ours, all layers): {fp32_seconds / seconds:.2f}")
    keys = sorted(fp32.layers)
    for layer in keys[1::max(1, len(keys) // 4)]:
        x, y = np.asarray(fp32[layer], dtype=np.float64), np.asarray(bf16[layer], dtype=np.float64)
        mu, sd = x.mean(0), x.std(0) + 1e-6
        xs, ys = (x - mu) / sd, (y - mu) / sd
        cos = (xs * ys).sum(1) / np.linalg.norm(xs, axis=1) / np.linalg.norm(ys, axis=1)
        print(f"  layer {layer:2d}: per-anchor cosine bf16 vs fp32 (standardized) median {np.median(cos):.4f}, "
              f"min {cos.min():.4f}")


if __name__ == "__main__":
    main()
