"""Register a W-Matrix you trained for your own model on the marketplace (the product's "Custom W-Matrix
Training" example).

    python examples/train_matrix.py --source ./my-model --target gemma3-270m --out out/custom.wmatrix
    AWARENESS_API_KEY=amk_... python examples/register_matrix.py out/custom.wmatrix --name custom-to-gemma3

The server validates the file like every upload, records you as its owner and issues its quality certificate.
"""

from __future__ import annotations

import argparse

from awareness_sdk import Marketplace, WMatrix


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("matrix", help="a trained .wmatrix file")
    parser.add_argument("--name", required=True, help="the name to register it under")
    parser.add_argument("--base-url", default=None, help="marketplace URL (default $AWARENESS_BASE_URL)")
    args = parser.parse_args(argv)

    w_matrix = WMatrix.load(args.matrix)
    market = Marketplace(base_url=args.base_url)
    version = market.wmatrices.register(w_matrix, name=args.name)
    certificate = market.wmatrices.certificate(version)
    print(f"Registered {version.id}: {version.source} -> {version.target} v{version.version}")
    print(f"Certificate {certificate.id}: tier {certificate.tier}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
