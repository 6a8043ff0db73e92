"""Steered-generation throughput: shared batches (alignment_plugins.steering_sweep) against one setting at a time.

Both contenders run in one process on the same model, capability prompts and settings (the retention bench's shape:
random vectors at the native norm, each at a sweep of coefficients, both signs), interleaved and best of N:
- one at a time: ``vectors.antisymmetric_effect`` per setting (each call: a batch of the prompts with +c, one with −c);
- shared: ``steering_sweep.antisymmetric_effects`` over all settings, ``--batch-rows`` rows per generation batch.
Prints generated rows per second, the ratio shared / one-at-a-time for each batch size, and how many of the
per-prompt effects the two paths give identically (greedy decoding; batches of another shape may round differently).

    python bench/steering_bench.py --model smollm2-135m-instruct --settings 4
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    """Time both contenders and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--layer", type=int, default=9)
    parser.add_argument("--capability", default="weddings")
    parser.add_argument("--prompts", type=int, default=40)
    parser.add_argument("--settings", type=int, default=4, help="(vector, coefficient) settings, each with ± signs")
    parser.add_argument("--batch-rows", type=int, nargs="+", default=[80, 160, 320])
    parser.add_argument("--max-new-tokens", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch

    from alignment_plugins import steering_sweep, vectors
    from alignment_plugins.capabilities import get_capability
    from alignment_plugins.models import load_model

    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    cap = get_capability(args.capability)
    prompts = list(range(min(args.prompts, len(cap.prompts))))
    native = vectors.extract_vector(model, cap, args.layer, method="caa").vector
    rng = np.random.default_rng(0)
    settings = []
    for k in range(args.settings):
        v = native if k == 0 else rng.standard_normal(native.shape)
        settings.append((v / np.linalg.norm(v) * np.linalg.norm(native), float(2 ** (k % 4))))
    rows = 2 * len(settings) * len(prompts)
    kw = {"max_new_tokens": args.max_new_tokens}

    def one_at_a_time() -> np.ndarray:
        return np.stack([vectors.antisymmetric_effect(model, cap, args.layer, v, c, prompts, **kw)
                         for v, c in settings])

    contenders = {"one at a time": one_at_a_time}
    for b in args.batch_rows:
        contenders[f"shared, {b} rows"] = (lambda b=b: steering_sweep.antisymmetric_effects(
            model, cap, args.layer, settings, prompts, batch_rows=b, **kw))
    best = {name: float("inf") for name in contenders}
    effects: dict[str, np.ndarray] = {}
    for _ in range(args.repeats):
        for name, run in contenders.items():
            clock = time.perf_counter()
            effects[name] = run()
            best[name] = min(best[name], time.perf_counter() - clock)
    print(f"{args.model} layer {args.layer}, {cap.name}: {len(settings)} settings x 2 signs x {len(prompts)} prompts "
          f"= {rows} rows of {args.max_new_tokens} new tokens, {args.threads} threads, best of {args.repeats}")
    base = best["one at a time"]
    for name, seconds in best.items():
        same = float(np.mean(effects[name] == effects["one at a time"]))
        print(f"  {name:<18} {seconds:7.1f} s  {rows / seconds:6.1f} rows/s  x{base / seconds:.2f}  "
              f"identical effects {same:.0%}")


if __name__ == "__main__":
    main()
