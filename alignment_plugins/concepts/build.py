"""Write the built-in concepts as JSONL: ``python -m alignment_plugins.concepts.build --out DIR``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from alignment_plugins.concepts import SPLITS, VERSION, concepts


def main(argv: list[str] | None = None) -> int:
    """Write ``concepts.jsonl`` (one row per pair) into --out and print each concept's split, size and data hash."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--split", choices=SPLITS, default=None, help="only this split (default: all concepts)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    chosen = concepts(args.split)
    path = args.out / "concepts.jsonl"
    path.write_text("".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n"
                            for c in chosen for row in c.to_records()), encoding="utf-8")
    for c in chosen:
        print(f"{c.name:22s} {c.kind:11s} {c.split:10s} {len(c.pairs):3d} pairs  {c.data_hash}")
    print(f"{path}: {len(chosen)} concepts ({VERSION}), {sum(len(c.pairs) for c in chosen)} pairs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
