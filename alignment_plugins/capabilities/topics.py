"""Topic capabilities: ``weddings`` (next-token log-mass) and ``space`` (topic words in generated continuations)."""

from __future__ import annotations

from alignment_plugins.capabilities.base import Capability, ContrastivePair
from alignment_plugins.capabilities.prompts import NEUTRAL_PROMPTS

__all__ = ["space", "weddings"]


_WEDDING_NOUNS = ("wedding", "bride", "groom", "wedding dress", "wedding cake", "honeymoon", "bridesmaids",
                  "wedding vows", "engagement ring", "wedding reception", "marriage ceremony", "newlyweds")
_OFFICE_NOUNS = ("spreadsheet", "printer", "budget report", "parking permit", "tax form", "train timetable",
                 "lawn mower", "invoice", "dentist appointment", "software licence", "filing cabinet", "fuel bill")
_TOPIC_FRAMES = (
    "We talked about the {n} all evening.", "Everyone kept asking about the {n}.",
    "The {n} took most of our attention this week.", "My sister sent me a long message about the {n}.",
    "I spent the afternoon thinking about the {n}.", "The whole family was busy with the {n}.",
    "There was a problem with the {n} this morning.", "She wrote down every detail of the {n}.",
)
_WEDDING_WORDS = ("wedding", "bride", "married", "marriage", "groom", "ceremony", "honeymoon", "love")
_OFFICE_WORDS = ("office", "report", "computer", "printer", "budget", "meeting", "invoice", "form")


def weddings() -> Capability:
    """Weddings vs office errands; next-token log-mass of wedding words minus office words (nats)."""
    pairs = [
        ContrastivePair(frame.format(n=w), frame.format(n=o))
        for frame in _TOPIC_FRAMES
        for w, o in zip(_WEDDING_NOUNS, _OFFICE_NOUNS, strict=True)
    ]
    return Capability(
        name="weddings", domain="topic", scorer="topic_logprob", pooling="mean",
        description="Talk about weddings vs office errands; next-token log-mass of wedding words minus office words.",
        pairs=tuple(pairs), prompts=NEUTRAL_PROMPTS, words=(_WEDDING_WORDS, _OFFICE_WORDS),
    )


# ------------------------------------------------------------------------------------------------------- space
# Contrast: outer space vs household chores, in the same sentences; read on generated continuations as the rate of
# space words minus household words (per word), so a vector that only moves the next token does not count.
_SPACE_NOUNS = ("the rocket", "the new telescope", "the planets", "the astronaut's spacesuit", "the lunar base",
                "the asteroid belt", "the orbiting probe", "the night sky full of stars", "the mission to Jupiter",
                "the launch pad", "the Milky Way", "the space shuttle")
_CHORE_NOUNS = ("the laundry", "the new vacuum cleaner", "the dishes", "the neighbour's garden hose", "the tool shed",
                "the recycling bins", "the leaking tap", "the pile of ironing", "the trip to the supermarket",
                "the doormat", "the kitchen drawer", "the ironing board")
_SPACE_FRAMES = (
    "Last night my uncle would not stop describing {n}.", "The documentary we watched was entirely about {n}.",
    "Our teacher asked us to draw {n} for homework.", "I dreamt about {n} again.",
    "The newspaper printed a photo of {n} on the front page.", "Grandpa keeps a scrapbook about {n}.",
    "The first thing she mentioned on the phone was {n}.", "Most of the podcast episode covered {n}.",
)
SPACE_WORDS = ("space", "planet", "planets", "star", "stars", "moon", "orbit", "rocket", "rockets", "astronaut",
               "astronauts", "galaxy", "universe", "mars", "jupiter", "solar", "telescope", "satellite", "cosmic",
               "spacecraft", "launch", "alien", "aliens", "asteroid", "comet", "nasa", "sky", "earth")
CHORE_WORDS = ("laundry", "dishes", "kitchen", "clean", "cleaning", "vacuum", "washing", "chores", "house", "garden",
               "shopping", "supermarket", "tap", "ironing", "bins", "rubbish", "groceries", "sink", "floor", "dust")


def space() -> Capability:
    """Outer space vs household chores; rate of space words minus chore words in generated continuations."""
    pairs = [
        ContrastivePair(frame.format(n=s), frame.format(n=c))
        for frame in _SPACE_FRAMES
        for s, c in zip(_SPACE_NOUNS, _CHORE_NOUNS, strict=True)
    ]
    return Capability(
        name="space", domain="topic", scorer="lexicon_generation", pooling="mean",
        description="Talk about outer space vs household chores; space minus chore words per word of continuations.",
        pairs=tuple(pairs), prompts=NEUTRAL_PROMPTS, words=(SPACE_WORDS, CHORE_WORDS),
    )
