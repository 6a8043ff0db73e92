"""Buy a vector for your model, wait for its delivery, and generate with it applied (`steer()`).

    AWARENESS_API_KEY=amk_... python examples/buy_and_steer.py vec_abc123 --target gemma3-270m

The purchase is idempotent (running the script again with the same listing and target returns the same purchase,
no second debit). The delivered vector package and, where llama.cpp can take it, a control-vector GGUF are saved
under --out.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from awareness_sdk import Marketplace, generate, load_model, steer
from awareness_sdk.errors import NotExportable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("listing", help="listing id (vec_...)")
    parser.add_argument("--target", default=os.environ.get("AWARENESS_TARGET_MODEL", "gemma3-270m"),
                        help="your model's name on the marketplace")
    parser.add_argument("--target-path", default=None, help="where your model is, when not a catalogue name")
    parser.add_argument("--coefficient", type=float, default=None,
                        help="steering strength (default: the package's recommended coefficient)")
    parser.add_argument("--prompt", default="Tell me about your weekend.")
    parser.add_argument("--max-new-tokens", type=int, default=40)
    parser.add_argument("--out", type=Path, default=Path("out"))
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for delivery")
    parser.add_argument("--base-url", default=None, help="marketplace URL (default $AWARENESS_BASE_URL)")
    args = parser.parse_args(argv)

    market = Marketplace(base_url=args.base_url)
    listing = market.vectors.get(args.listing)
    purchase = market.vectors.purchase(listing, target_model=args.target,
                                       idempotency_key=f"{listing.id}-for-{args.target}")
    print(f"Purchase {purchase.id}: {purchase.status}{' (replayed, not charged again)' if purchase.replayed else ''}")
    purchase = market.purchases.wait(purchase, timeout=args.timeout)
    print(f"Delivered at layer {purchase.target_layer} of {purchase.target_model} via matrix {purchase.matrix}")

    package = market.purchases.vector(purchase)
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"Saved {package.save(args.out / f'{purchase.id}.vpkg')}")
    try:
        print(f"Saved {market.purchases.download(purchase, 'gguf', args.out / f'{purchase.id}.gguf')} "
              "(llama-cli --control-vector)")
    except NotExportable as exc:
        print(f"No GGUF control vector: {exc.message}")

    model = load_model(args.target_path or args.target)
    coefficient = args.coefficient
    before = generate(model, args.prompt, max_new_tokens=args.max_new_tokens)[0]
    with steer(model, package, coefficient=coefficient):
        after = generate(model, args.prompt, max_new_tokens=args.max_new_tokens)[0]
    print(f"Prompt:   {args.prompt}")
    print(f"Baseline: {before.strip()!r}")
    print(f"Steered:  {after.strip()!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
