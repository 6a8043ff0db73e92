"""The capability records: contrastive pairs, held-out prompts, how the effect is scored; a JSONL pairs reader."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_PAIRS_FILE_BYTES", "SCORERS", "Capability", "ContrastivePair", "load_pairs_jsonl", "pairs_hash"]

# How a capability's effect is read (see alignment_plugins.vectors.capability_scores for the formulas).
SCORERS: tuple[str, ...] = ("vader_generation", "lexicon_generation", "topic_logprob", "ab_logprob")


@dataclass(frozen=True)
class ContrastivePair:
    """One contrastive example: the text showing the capability and the matched text showing its opposite."""

    positive: str
    negative: str


@dataclass(frozen=True)
class Capability:
    """A capability: its extraction pairs, held-out prompts and how its effect is scored."""

    name: str
    domain: str
    description: str
    scorer: str  # one of SCORERS
    pooling: str  # how contrastive texts are pooled for extraction: "mean" (content tokens) or "last"
    pairs: tuple[ContrastivePair, ...]
    prompts: tuple[str, ...]
    # ab_logprob: per prompt, (positive answer, negative answer) continuations; topic_logprob and
    # lexicon_generation: (words counted for the capability, words counted against it)
    answers: tuple[tuple[str, str], ...] = ()
    words: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def data_hash(self) -> str:
        """sha256 of the canonical JSON of the pairs, prompts and answers (identifies the data a vector used)."""
        blob = json.dumps(
            {"pairs": [[p.positive, p.negative] for p in self.pairs], "prompts": list(self.prompts),
             "answers": [list(a) for a in self.answers], "words": [list(w) for w in self.words]},
            sort_keys=True, separators=(",", ":"), ensure_ascii=False,
        )
        return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()

    def to_records(self) -> list[dict[str, Any]]:
        """Rows for JSONL export: one per pair ("pair") and one per held-out prompt ("prompt")."""
        rows: list[dict[str, Any]] = [
            {"capability": self.name, "kind": "pair", "positive": p.positive, "negative": p.negative}
            for p in self.pairs
        ]
        for i, prompt in enumerate(self.prompts):
            row: dict[str, Any] = {"capability": self.name, "kind": "prompt", "prompt": prompt}
            if self.answers:
                row["positive_answer"], row["negative_answer"] = self.answers[i]
            rows.append(row)
        return rows


def pairs_hash(pairs: Any) -> str:
    """sha256 of the canonical JSON of contrastive pairs given as ContrastivePair objects."""
    blob = json.dumps([[p.positive, p.negative] for p in pairs], separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


MAX_PAIRS_FILE_BYTES = 64 << 20


def load_pairs_jsonl(path: str) -> tuple[ContrastivePair, ...]:
    """Read contrastive pairs from a JSONL file of {"positive": str, "negative": str} lines (ValueError if bad)."""
    from pathlib import Path

    file = Path(path)
    if not file.is_file():
        raise ValueError(f"{path}: no such file")
    if file.stat().st_size > MAX_PAIRS_FILE_BYTES:
        raise ValueError(f"{path}: larger than {MAX_PAIRS_FILE_BYTES} bytes")
    pairs = []
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise ValueError(f"{path}:{number}: expected an object with 'positive' and 'negative'")
        pos, neg = row.get("positive"), row.get("negative")
        if not isinstance(pos, str) or not isinstance(neg, str) or not pos.strip() or not neg.strip():
            raise ValueError(f"{path}:{number}: 'positive' and 'negative' must be non-empty strings")
        pairs.append(ContrastivePair(pos, neg))
    if not pairs:
        raise ValueError(f"{path}: no contrastive pairs")
    return tuple(pairs)
