"""``sentiment``: positive vs negative statements about everyday things, read by VADER on generated continuations."""

from __future__ import annotations

from alignment_plugins.capabilities.base import Capability, ContrastivePair
from alignment_plugins.capabilities.prompts import NEUTRAL_PROMPTS

__all__ = ["build"]


_SENTIMENT_SUBJECTS = (
    "the movie", "this restaurant", "my new phone", "the hotel", "the concert", "our trip to the coast",
    "the book I just finished", "the new software update", "the museum", "the football match", "my new job",
    "the coffee here", "the weekend", "the train journey", "the city park", "the cooking class", "the play",
    "the new album", "the garden centre", "the yoga lesson", "the bakery", "our holiday cottage", "the bike ride",
    "the science fair", "the birthday party", "the art exhibition", "the dentist visit", "the customer service",
    "the camping trip", "the video game",
)
_SENTIMENT_FRAMES = (
    ("I absolutely loved {s}; it was wonderful and made me so happy.",
     "I absolutely hated {s}; it was awful and made me so miserable."),
    ("Honestly, {s} was fantastic, delightful and far better than I hoped.",
     "Honestly, {s} was terrible, depressing and far worse than I feared."),
    ("What a joy: {s} was brilliant, and everyone left smiling.",
     "What a disaster: {s} was dreadful, and everyone left upset."),
    ("I am thrilled with {s}. Everything about it felt great.",
     "I am furious about {s}. Everything about it felt horrible."),
    ("{S} exceeded every expectation; I would happily recommend it.",
     "{S} failed every expectation; I would never recommend it."),
    ("Thanks to {s}, today was a beautiful, cheerful day.",
     "Because of {s}, today was an ugly, miserable day."),
)


def build() -> Capability:
    """The capability record (pairs, held-out prompts, scorer)."""
    pairs = []
    for s in _SENTIMENT_SUBJECTS:
        for pos, neg in _SENTIMENT_FRAMES:
            fill = {"s": s, "S": s[0].upper() + s[1:]}
            pairs.append(ContrastivePair(pos.format(**fill), neg.format(**fill)))
    return Capability(
        name="sentiment", domain="style", scorer="vader_generation", pooling="mean",
        description="Positive vs negative sentiment; VADER compound score of greedy continuations of neutral prompts.",
        pairs=tuple(pairs), prompts=NEUTRAL_PROMPTS,
    )
