"""Capability datasets: contrastive pairs to extract a steering vector, held-out prompts to measure its effect.

Six capabilities of different kinds, each built deterministically from templates written for this project
(``python -m alignment_plugins.capabilities.build`` writes them as JSONL for inspection). Four are read on
*generated* text (what a buyer sees), two on next-token log-probabilities:

* ``sentiment`` (style) — positive vs negative statements about everyday things; VADER compound score (−1..1) of
  greedy continuations of neutral prompts.
* ``enthusiasm`` (style) — excited vs flat telling of the same news; excited minus flat markers ("!" counts as a
  word) per word of continuations.
* ``french`` (language) — French vs English versions of the same sentences; French minus English function words
  per word of continuations of English prompts.
* ``space`` (topic) — outer space vs household chores in the same sentences; space minus chore words per word of
  continuations.
* ``weddings`` (topic) — wedding vs office/errand topics; next-token log-mass (nats) of wedding words minus office
  words after neutral prompts.
* ``risk_seeking`` (behaviour) — A/B questions between a safe and a risky option (order randomised);
  log p(" risky") − log p(" safe") (nats) at the answer position.

Extraction pairs and evaluation prompts never overlap (different templates and subjects), and nothing here is
taken from the Python standard library's docstrings. Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Callable

from alignment_plugins.capabilities import behaviour, language, sentiment, style, topics
from alignment_plugins.capabilities.base import (
    MAX_PAIRS_FILE_BYTES,
    SCORERS,
    Capability,
    ContrastivePair,
    load_pairs_jsonl,
    pairs_hash,
)

__all__ = ["CAPABILITIES", "MAX_PAIRS_FILE_BYTES", "SCORERS", "Capability", "ContrastivePair", "get_capability",
           "load_pairs_jsonl", "pairs_hash"]

_BUILDERS: dict[str, Callable[[], Capability]] = {
    "sentiment": sentiment.build, "weddings": topics.weddings, "risk_seeking": behaviour.build,
    "french": language.build, "space": topics.space, "enthusiasm": style.build,
}
CAPABILITIES: tuple[str, ...] = tuple(_BUILDERS)


def get_capability(name: str) -> Capability:
    """Return the built-in capability `name` (one of CAPABILITIES)."""
    try:
        return _BUILDERS[name]()
    except KeyError:
        raise KeyError(f"unknown capability {name!r}; known: {', '.join(CAPABILITIES)}") from None
