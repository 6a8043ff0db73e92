"""Estimate how well a listed vector transfers to your model, before buying it (free, no AMEM spent).

    python examples/estimate_before_buying.py vec_abc123 --target gemma3-270m --quantization int8

Without a listing id, the first active listing whose source model has a matrix to the target is estimated.
"""

from __future__ import annotations

import argparse
import os

from awareness_sdk import Marketplace
from awareness_sdk.errors import NotFound


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("listing", nargs="?", default=None, help="listing id (vec_...)")
    parser.add_argument("--target", default=os.environ.get("AWARENESS_TARGET_MODEL", "gemma3-270m"))
    parser.add_argument("--quantization", default=None, help="your deployment's quantization, e.g. int8")
    parser.add_argument("--base-url", default=None, help="marketplace URL (default $AWARENESS_BASE_URL)")
    args = parser.parse_args(argv)

    market = Marketplace(base_url=args.base_url)
    if args.listing:
        listing = market.vectors.get(args.listing)
    else:
        sources = {row.source for row in market.support_matrix() if row.target == args.target}
        listing = next((v for v in market.vectors.search() if v.source_model in sources), None)
        if listing is None:
            print(f"No listing has a W-Matrix to {args.target} yet; see market.support_matrix().")
            return 1
    try:
        estimate = market.vectors.estimate(listing, target_model=args.target, quantization=args.quantization)
    except NotFound as exc:  # no active matrix for the pair: the API says how to request one
        print(f"No estimate: {exc.message}")
        return 1

    print(f"Compatibility Report for: {listing.name}")
    print("=" * 50)
    print(f"Source model:         {listing.source_model}")
    print(f"Target model:         {estimate.target_model}")
    print(f"Estimated retention:  {estimate.retention:.1%}")
    print(f"Confidence interval:  {estimate.ci_low:.1%} - {estimate.ci_high:.1%}")
    print(f"Alignment quality:    {estimate.alignment_quality:.3f}")
    print(f"Risk level:           {estimate.risk_level}")
    print(f"Recommendation:       {estimate.recommendation}")
    print(f"Basis:                {estimate.basis} (matrix v{estimate.matrix_version})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
