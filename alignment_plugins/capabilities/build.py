"""Write the built-in capability datasets as JSONL: ``python -m alignment_plugins.capabilities.build --out DIR``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from alignment_plugins.capabilities import CAPABILITIES, get_capability


def main(argv: list[str] | None = None) -> int:
    """Write one ``<capability>.jsonl`` per capability into --out and print their data hashes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in CAPABILITIES:
        cap = get_capability(name)
        path = args.out / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in cap.to_records()))
        print(f"{path}: {len(cap.pairs)} pairs, {len(cap.prompts)} prompts, {cap.data_hash}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
