"""Emotion sets: someone's reaction showing a feeling vs an unremarkable action at the same moment."""

from __future__ import annotations

from alignment_plugins.anchors.contrastive.base import ContrastiveSet, build

_FRAMES = (
    "{p} {r} as {e}.",
    "I noticed that {p} {r} just after {e}.",
    "According to my sister, {p} {r} once {e}.",
    "Yesterday evening {p} {r} the minute {e}.",
    "{p} {r} after {e}, or so I was told.",
    "It was plain to see that {p} {r} when {e}.",
)
_PEOPLE = ("my flatmate", "the new intern", "our landlady", "my older brother", "the bus driver", "Grandad",
           "my best friend", "the baker", "Auntie Rosa", "the receptionist", "my colleague Tom", "the caretaker")
_MOMENTS = (
    "the club secretary read out the names", "the photos from the summer were passed round",
    "the long meeting finally reached the last item", "the old home video was played",
    "the neighbours showed off their new kitchen", "the certificates were handed out",
    "the speeches at the dinner began", "the guide explained the rules once more",
    "the email about the promotions went round", "the box from the loft was opened",
    "the results of the raffle were pinned up", "the visitors from the head office arrived",
)
# Unremarkable actions: the negative side of every emotion set.
_ACTIONS = (
    "put the kettle on", "carried on sorting the post", "folded up the newspaper", "took off a coat and sat down",
    "wrote the date on a notepad", "pushed the chair back under the table", "switched off the radio",
    "refilled the water jug", "tidied the pile of papers", "closed the curtains", "hung the keys by the door",
    "stacked the plates in the cupboard",
)
EMOTIONS: dict[str, tuple[str, ...]] = {
    "pride": ("beamed with pride", "stood a little taller with pride", "felt deeply proud",
              "swelled with pride", "glowed with quiet pride", "felt proud of every single detail",
              "grinned proudly at everyone", "could not hide a proud smile"),
    "boredom": ("yawned and stared at the ceiling", "felt utterly bored", "sighed with boredom",
                "drummed on the table in boredom", "nearly dozed off from boredom", "found it all dreadfully dull",
                "fidgeted restlessly out of boredom", "kept glancing at the door out of sheer boredom"),
    "gratitude": ("felt deeply grateful", "said thank you again and again", "was moved to thank everyone",
                  "felt a warm rush of gratitude", "felt truly thankful", "wrote a heartfelt thank-you note",
                  "thanked everyone with real warmth", "felt enormously grateful for the help"),
    "jealousy": ("felt a sharp pang of jealousy", "burned with envy", "looked on with jealous eyes",
                 "felt bitterly envious", "was green with envy", "could not hide a jealous scowl",
                 "felt jealous and left out", "envied every bit of it"),
    "nostalgia": ("felt a wave of nostalgia", "longed for the old days", "smiled wistfully at childhood memories",
                  "grew nostalgic about the past", "missed those long-ago school holidays",
                  "drifted back to fond memories of youth", "felt homesick for the old days",
                  "sighed and got lost in old memories"),
    "embarrassment": ("blushed bright red with embarrassment", "felt mortified", "hid a red face in deep embarrassment",
                      "squirmed with embarrassment", "felt awkward and self-conscious", "turned pink and stammered",
                      "cringed with embarrassment", "laughed nervously in embarrassment"),
    "curiosity": ("leaned in full of curiosity", "asked one question after another", "was burning with curiosity",
                  "wanted to know every detail", "peered closer with great interest", "felt intensely curious",
                  "could not resist finding out more", "was fascinated and eager to learn more"),
}


def sets() -> list[ContrastiveSet]:
    """One set per entry of EMOTIONS: a reaction showing it vs an unremarkable action (no text repeated)."""
    frames = [(f, f.replace("{r}", "{a}")) for f in _FRAMES]
    taken: set[str] = set()
    return [build(name, "emotion", f"A reaction showing {name} vs an unremarkable action at the same moment.",
                  frames, {"p": _PEOPLE, "e": _MOMENTS, "r": reactions, "a": _ACTIONS}, taken=taken)
            for name, reactions in EMOTIONS.items()]
