"""``enthusiasm``: the same news told with excitement vs flatly, read as excited minus flat markers in continuations.

Positive texts exclaim ("!") and use intensifiers; negative texts report the same event plainly. The scorer counts
"!" as a word, so an effect is a change in how the model writes, not only in what it writes about.
"""

from __future__ import annotations

from alignment_plugins.capabilities.base import Capability, ContrastivePair
from alignment_plugins.capabilities.prompts import NEUTRAL_PROMPTS

__all__ = ["EXCITED_MARKERS", "FLAT_MARKERS", "build"]

_EVENTS = ("we finished painting the fence", "the parcel from my cousin came", "my sister passed her driving test",
           "the bakery reopened on our street", "our team won the quiz", "the new bridge opened",
           "I got the last seat on the train", "the tomatoes in the garden are ripe", "my friend moved to our town",
           "the library extended its hours", "the snow finally melted", "we found the lost keys")
_FRAMES = (
    ("Guess what, {e}! This is absolutely amazing!", "For the record, {e}. That is all."),
    ("Wow, {e}! I am so thrilled I could shout!", "Note: {e}. Nothing else to report."),
    ("Oh my goodness, {e}! Best news all week!", "Update: {e}. It was as expected."),
    ("Yes! {E}! I can hardly believe it, it is fantastic!", "{E}. It was an ordinary day."),
    ("Incredible! {E}, and I am totally over the moon!", "{E}, and the day went on as usual."),
    ("Hooray, {e}! Everyone, this is so exciting!", "As planned, {e}. No further comment."),
    ("{E}! Wow, wow, wow, what a wonderful surprise!", "{E}. This was noted in the log."),
    ("Listen to this: {e}! I am bursting with joy!", "Summary: {e}. The matter is closed."),
)
EXCITED_MARKERS = ("!", "wow", "amazing", "incredible", "awesome", "so", "absolutely", "totally", "yay", "thrilled",
                   "excited", "exciting", "fantastic", "wonderful", "hooray", "love", "best", "really", "super")
FLAT_MARKERS = ("usual", "normal", "ordinary", "expected", "nothing", "routine", "noted", "plain", "fine", "okay",
                "ok", "simply", "just", "standard", "regular", "report", "record")


def build() -> Capability:
    """The capability record (pairs, held-out prompts, scorer)."""
    pairs = []
    for excited, flat in _FRAMES:
        for event in _EVENTS:
            fill = {"e": event, "E": event[0].upper() + event[1:]}
            pairs.append(ContrastivePair(excited.format(**fill), flat.format(**fill)))
    return Capability(
        name="enthusiasm", domain="style", scorer="lexicon_generation", pooling="mean",
        description="Excited vs flat telling of the same news; excited minus flat markers per word of continuations.",
        pairs=tuple(pairs), prompts=NEUTRAL_PROMPTS, words=(EXCITED_MARKERS, FLAT_MARKERS),
    )
