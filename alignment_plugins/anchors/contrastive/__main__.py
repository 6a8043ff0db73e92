"""Print (and with --out write) the contrastive anchors: ``python -m alignment_plugins.anchors.contrastive``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from alignment_plugins.anchors.contrastive import (
    VERSION,
    contrastive_anchors,
    contrastive_hash,
    contrastive_texts,
    kinds,
)


def main(argv: list[str] | None = None) -> int:
    """Print every set's name, kind and size, the counts and the content hash; --out writes contrastive.jsonl."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=None, help="folder for contrastive.jsonl (one row per pair)")
    args = parser.parse_args(argv)
    sets = contrastive_anchors()
    for s in sets:
        print(f"{s.name:18s} {s.kind:11s} {len(s.pairs):3d} pairs  {s.description}")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / "contrastive.jsonl"
        path.write_text("".join(json.dumps({"set": s.name, "kind": s.kind, "positive": p.positive,
                                            "negative": p.negative}, ensure_ascii=False, sort_keys=True) + "\n"
                                for s in sets for p in s.pairs), encoding="utf-8")
        print(f"wrote {path}")
    pairs = sum(len(s.pairs) for s in sets)
    print(f"contrastive anchors {VERSION}: {len(sets)} sets in {len(kinds())} kinds, {pairs} pairs, "
          f"{len(contrastive_texts())} distinct texts, {contrastive_hash()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
