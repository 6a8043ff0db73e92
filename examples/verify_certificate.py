"""Fetch a W-Matrix's quality certificate and verify its signature offline.

    python examples/verify_certificate.py wm_abc123 --key-file signing.key

The key is the marketplace's CERTIFICATE_SIGNING_KEY (``--key-file``, else $ALIGNMENT_CERTIFICATE_KEY). The signed
document is saved as cert.json, which ``python -m alignment_plugins verify-certificate`` also checks.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from alignment_plugins.certificate import load_key
from awareness_sdk import Marketplace


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("matrix", help="W-Matrix id (wm_...)")
    parser.add_argument("--key-file", default=None, help="file holding the signing key")
    parser.add_argument("--out", type=Path, default=Path("cert.json"))
    parser.add_argument("--base-url", default=None, help="marketplace URL (default $AWARENESS_BASE_URL)")
    args = parser.parse_args(argv)

    market = Marketplace(base_url=args.base_url)
    matrix = market.wmatrices.get(args.matrix)
    certificate = market.wmatrices.certificate(matrix)
    print(f"{matrix.source} -> {matrix.target} v{matrix.version}: tier {certificate.tier}, "
          f"recommended pair {matrix.recommended_pair}")
    print(f"Saved {certificate.save(args.out)}")
    valid, reason = certificate.verify_detail(load_key(args.key_file))
    print(f"Signature: {'valid' if valid else 'INVALID: ' + reason}")
    return 0 if valid else 1


if __name__ == "__main__":
    raise SystemExit(main())
