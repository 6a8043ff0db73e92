"""Find the best alignment path between two models, possibly through an intermediary (the product's "Multi-Hop
Alignment" example).

    python examples/multihop_path.py --source qwen2.5-coder-0.5b-instruct --target gemma3-270m

The graph is the marketplace's active W-Matrices; each hop's weight is −log(estimated retention), so the path with
the highest product of retentions wins, and the direct pair's retention is shown beside it.
"""

from __future__ import annotations

import argparse

from awareness_sdk import Marketplace, MultiHopAligner


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="qwen2.5-coder-0.5b-instruct")
    parser.add_argument("--target", default="gemma3-270m")
    parser.add_argument("--base-url", default=None, help="marketplace URL (default $AWARENESS_BASE_URL)")
    args = parser.parse_args(argv)

    market = Marketplace(base_url=args.base_url)
    matrices = [market.wmatrices.load(m) for m in market.wmatrices.iter(status="active")]
    aligner = MultiHopAligner(matrices)
    result = aligner.find_optimal_path(source=args.source, target=args.target)

    print(f"Optimal path: {' -> '.join(result.path)}")
    print(f"Expected retention: {result.estimated_retention:.1%}")
    print(f"Direct alignment retention: {result.direct_retention:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
