"""Extract a capability vector from a model and list it for sale on the marketplace.

    AWARENESS_API_KEY=amk_... python examples/sell_vector.py --model smollm2-135m-instruct --layer 15 \
        --capability sentiment --price 12.5

The vector is the difference of mean hidden states over the capability's contrastive pairs (CAA) at `--layer`,
packaged with its provenance (.vpkg) and uploaded; the listing's id is printed.
"""

from __future__ import annotations

import argparse
import os

from alignment_plugins.capabilities import CAPABILITIES, get_capability
from alignment_plugins.vector_package import VectorPackage
from alignment_plugins.vectors import extract_vector
from awareness_sdk import Marketplace, load_model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=os.environ.get("AWARENESS_SOURCE_MODEL", "smollm2-135m-instruct"),
                        help="the model to extract from (catalogue name, local directory or .gguf file)")
    parser.add_argument("--listed-as", default=None, help="the model's name on the marketplace (default: --model)")
    parser.add_argument("--layer", type=int, default=15, help="hidden-state layer (0 = embeddings)")
    parser.add_argument("--capability", default="sentiment", choices=CAPABILITIES)
    parser.add_argument("--method", default="caa", choices=["caa", "pca", "probe"])
    parser.add_argument("--coefficient", type=float, default=4.0, help="recommended steering coefficient")
    parser.add_argument("--price", default="12.5", help="price in AMEM")
    parser.add_argument("--grade", default="B", choices=list("ABCDEF"))
    parser.add_argument("--base-url", default=None, help="marketplace URL (default $AWARENESS_BASE_URL)")
    args = parser.parse_args(argv)

    capability = get_capability(args.capability)
    model = load_model(args.model)
    vector = extract_vector(model, capability, args.layer, method=args.method)
    package = VectorPackage.create(
        {vector.layer: vector.vector}, source_model=args.listed_as or model.name, source_fingerprint=model.fingerprint,
        method=vector.method, capability=capability.name, contrastive_data_hash=vector.data_hash,
        domain=capability.domain, recommended_coefficient=args.coefficient, pooling=vector.pooling,
        token_position="last" if vector.pooling == "last" else "mean", num_layers=model.num_layers,
    )
    print(f"Extracted {capability.name} at layer {vector.layer} of {model.name}: norm {vector.norm:.4g} "
          f"({len(capability.pairs)} contrastive pairs, {vector.method})")

    market = Marketplace(base_url=args.base_url)
    listing = market.vectors.create(
        name=f"{capability.name.capitalize()} ({package.metadata['source_model']} layer {vector.layer})",
        description=f"{vector.method.upper()} direction of the built-in {capability.name} capability",
        source_model=package.metadata["source_model"], vector=package, capability_domain=capability.domain,
        grade=args.grade, price=args.price,
    )
    print(f"Listed: {listing.id} at {listing.price} AMEM ({listing.source_model}, layer {listing.layer}, "
          f"grade {listing.grade})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
