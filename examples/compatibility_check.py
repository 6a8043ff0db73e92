"""Pre-purchase compatibility check on your own deployment configuration, computed locally by the engine
(the product's "Quality Estimation Before Purchase" example).

    python examples/compatibility_check.py vec_abc123 --target gemma3-270m --quantization int8 --context-length 8192

The listing and the pair's W-Matrix come from the marketplace; ``CompatibilityChecker`` estimates the retention of
this vector on your configuration (quantization, context length, fine-tune) from the matrix file, the vector's
package and the measured-retention records.
"""

from __future__ import annotations

import argparse
import os

from awareness_sdk import CompatibilityChecker, Marketplace


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("listing", help="listing id (vec_...)")
    parser.add_argument("--target", default=os.environ.get("AWARENESS_TARGET_MODEL", "gemma3-270m"))
    parser.add_argument("--quantization", default="fp16")
    parser.add_argument("--context-length", type=int, default=None)
    parser.add_argument("--custom-fine-tune", default=None, help="weight fingerprint or local checkpoint path")
    parser.add_argument("--base-url", default=None, help="marketplace URL (default $AWARENESS_BASE_URL)")
    args = parser.parse_args(argv)

    market = Marketplace(base_url=args.base_url)
    listing = market.vectors.get(args.listing)
    matrices = [market.wmatrices.load(m) for m in market.wmatrices.iter(source=listing.source_model,
                                                                         target=args.target, status="active")]
    checker = CompatibilityChecker(matrices)
    target_config = {"quantization": args.quantization, "context_length": args.context_length,
                     "custom_fine_tune": args.custom_fine_tune}
    estimate = checker.estimate(vector_listing=listing, target_model=args.target,
                                target_config={k: v for k, v in target_config.items() if v is not None})

    print(f"Compatibility Report for: {listing.name}")
    print("=" * 50)
    print(f"Source model:         {listing.source_model}")
    print(f"Target model:         {args.target}")
    print(f"Estimated retention:  {estimate.retention:.1%}")
    print(f"Confidence interval:  {estimate.ci_low:.1%} - {estimate.ci_high:.1%}")
    print(f"Alignment quality:    {estimate.alignment_quality:.3f}")
    print(f"Risk level:           {estimate.risk_level}")
    print(f"Recommendation:       {estimate.recommendation}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
