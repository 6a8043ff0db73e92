"""Train a W-Matrix from one model to another and save it (the product's "Semantic Anchors" example).

    python examples/train_matrix.py --source smollm2-135m-instruct --target gemma3-270m --num-anchors 2000

Runs locally on the engine (no server). The first run of a GGUF model converts it once into the engine cache;
2,000 anchors on the two small packaged models take a few minutes on a laptop CPU.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from awareness_sdk import WMatrixTrainer

PRODUCT_DOMAINS = ["general_knowledge", "reasoning", "language_understanding", "code", "mathematics"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=os.environ.get("AWARENESS_SOURCE_MODEL", "smollm2-135m-instruct"),
                        help="source model: a catalogue name, a local model directory or a .gguf file")
    parser.add_argument("--target", default=os.environ.get("AWARENESS_TARGET_MODEL", "gemma3-270m"))
    parser.add_argument("--num-anchors", type=int, default=2000, help="shared texts fed to both models")
    parser.add_argument("--layers", default="all", help='"all" or comma-separated source layers')
    parser.add_argument("--optimization", default="ridge", choices=["ridge", "svd", "cca", "lowrank"])
    parser.add_argument("--out", type=Path, default=None, help="where to save the .wmatrix file")
    args = parser.parse_args(argv)
    layers = args.layers if args.layers == "all" else [int(x) for x in args.layers.split(",")]

    trainer = WMatrixTrainer(source_model=args.source, target_model=args.target)
    trainer.configure(
        num_anchors=args.num_anchors,      # number of shared concept probes
        anchor_domains=PRODUCT_DOMAINS,    # domains to sample from
        layers=layers,                     # align all layers (one map per source layer)
        optimization=args.optimization,    # closed-form solver on standardized hidden states
    )
    w_matrix = trainer.train(epochs=0, validation_split=0.1, test_split=0.1)

    print("Training complete")
    print(f"Alignment accuracy: {w_matrix.accuracy:.3f}")
    print(f"Reconstruction error: {w_matrix.reconstruction_error:.4f}")
    print(f"Recommended layer pair: {w_matrix.headline_pair[0]} -> {w_matrix.headline_pair[1]}")
    out = args.out or Path("out") / f"{Path(args.source).name}-to-{Path(args.target).name}.wmatrix"
    out.parent.mkdir(parents=True, exist_ok=True)
    print(f"Saved: {w_matrix.save(out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
