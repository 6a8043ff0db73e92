"""Verb-phrase sets: habitual past, inception, obligation, ability, permission, repetition and the causative.

Each pair keeps the subject and the activity and changes only the verb group (or one frequency phrase).
"""

from __future__ import annotations

from typing import NamedTuple

from alignment_plugins.anchors.contrastive.base import ContrastiveSet, build


class Activity(NamedTuple):
    """An everyday activity: its verb forms (past = participle for all of them) and the rest of the phrase."""

    base: str
    s3: str
    past: str
    ing: str
    rest: str


ACTIVITIES = tuple(Activity(*a.split("|")) for a in (
    "water|waters|watered|watering|the plants on the balcony",
    "tidy|tidies|tidied|tidying|the shed at the bottom of the garden",
    "iron|irons|ironed|ironing|a whole basket of shirts",
    "mend|mends|mended|mending|the torn sleeves of old jackets",
    "polish|polishes|polished|polishing|the brass handles on the front door",
    "sweep|sweeps|swept|sweeping|the leaves off the front path",
    "sort|sorts|sorted|sorting|the recycling into separate boxes",
    "bring|brings|brought|bringing|soup to the old man next door",
    "fetch|fetches|fetched|fetching|the papers from the corner shop",
    "organise|organises|organised|organising|the quiz night at the community hall",
    "phone|phones|phoned|phoning|the council about the broken streetlight",
    "repair|repairs|repaired|repairing|the punctures on the children's bikes",
    "decorate|decorates|decorated|decorating|the hallway with old posters",
    "empty|empties|emptied|emptying|the big bins behind the flats",
    "defrost|defrosts|defrosted|defrosting|the freezer in the garage",
    "collect|collects|collected|collecting|the twins from the swimming pool",
    "lock|locks|locked|locking|the back gate with the heavy padlock",
    "stack|stacks|stacked|stacking|the firewood against the wall of the barn",
    "translate|translates|translated|translating|letters for the neighbours upstairs",
    "deliver|delivers|delivered|delivering|leaflets around the whole estate",
    "lend|lends|lent|lending|tools to anyone on the street",
    "check|checks|checked|checking|the smoke alarms in every room",
    "fold|folds|folded|folding|the clean towels into neat piles",
    "greet|greets|greeted|greeting|every customer at the shop door",
))
SUBJECTS = ("my flatmate", "the postwoman", "our landlord", "Uncle Bernard", "the night porter", "my friend Priya",
            "the new lodger", "my cousin Hugo", "the caretaker", "Grandma Joan", "the barista",
            "my neighbour Tomás", "the lifeguard", "my godmother", "the florist", "our friend Kenji")

# name: (kind, description, frames)
_VERB_SETS: dict[str, tuple[str, str, tuple[tuple[str, str], ...]]] = {
    "habitual_past": ("tense", "A past habit (used to) vs the same habit in the present.", (
        ("{s} used to {v.base} {v.rest}.", "{s} {v.s3} {v.rest}."),
        ("As far as I know, {s} used to {v.base} {v.rest}.", "As far as I know, {s} {v.s3} {v.rest}."),
        ("On Saturdays {s} used to {v.base} {v.rest}.", "On Saturdays {s} {v.s3} {v.rest}."),
        ("My sister says {s} used to {v.base} {v.rest}.", "My sister says {s} {v.s3} {v.rest}."),
        ("{s} used to {v.base} {v.rest} without being asked.", "{s} {v.s3} {v.rest} without being asked."),
    )),
    "inceptive": ("aspect", "Starting an activity (began to, took up) vs simply doing it, in the past.", (
        ("Last month {s} began to {v.base} {v.rest}.", "Last month {s} {v.past} {v.rest}."),
        ("After the holidays {s} started {v.ing} {v.rest}.", "After the holidays {s} {v.past} {v.rest}."),
        ("Without any fuss, {s} started to {v.base} {v.rest}.", "Without any fuss, {s} {v.past} {v.rest}."),
        ("That spring {s} took up {v.ing} {v.rest}.", "That spring {s} {v.past} {v.rest}."),
        ("I hear {s} has started {v.ing} {v.rest}.", "I hear {s} has {v.past} {v.rest}."),
    )),
    "obligation": ("modality", "An obligation (has to, must) vs the plain present.", (
        ("Every week {s} has to {v.base} {v.rest}.", "Every week {s} {v.s3} {v.rest}."),
        ("This month {s} is required to {v.base} {v.rest}.", "This month {s} {v.s3} {v.rest}."),
        ("According to the rota, {s} must {v.base} {v.rest}.", "According to the rota, {s} {v.s3} {v.rest}."),
        ("{s} is obliged to {v.base} {v.rest} on weekdays.", "{s} {v.s3} {v.rest} on weekdays."),
        ("Under the new rules, {s} has to {v.base} {v.rest}.", "Under the new rules, {s} {v.s3} {v.rest}."),
    )),
    "ability": ("modality", "An ability (can, is able to) vs the plain present.", (
        ("These days {s} is able to {v.base} {v.rest}.", "These days {s} {v.s3} {v.rest}."),
        ("I'm told {s} can {v.base} {v.rest} in under an hour.", "I'm told {s} {v.s3} {v.rest} in under an hour."),
        ("Even on busy days {s} can {v.base} {v.rest}.", "Even on busy days {s} {v.s3} {v.rest}."),
        ("Luckily {s} is capable of {v.ing} {v.rest}.", "Luckily {s} {v.s3} {v.rest}."),
        ("With a bit of help, {s} can {v.base} {v.rest}.", "With a bit of help, {s} {v.s3} {v.rest}."),
    )),
    "permission": ("modality", "A permission (is allowed to) vs the plain present.", (
        ("Nowadays {s} is allowed to {v.base} {v.rest}.", "Nowadays {s} {v.s3} {v.rest}."),
        ("On Fridays {s} has permission to {v.base} {v.rest}.", "On Fridays {s} {v.s3} {v.rest}."),
        ("The landlord says {s} is permitted to {v.base} {v.rest}.", "The landlord says {s} {v.s3} {v.rest}."),
        ("From now on {s} is free to {v.base} {v.rest}.", "From now on {s} {v.s3} {v.rest}."),
        ("Officially, {s} is allowed to {v.base} {v.rest}.", "Officially, {s} {v.s3} {v.rest}."),
    )),
    "repetition": ("frequency", "Doing something again and again (every day) vs once.", (
        ("{s} {v.past} {v.rest} {p} that summer.", "{s} {v.past} {v.rest} {q} that summer."),
        ("Last year {s} {v.past} {v.rest} {p}.", "Last year {s} {v.past} {v.rest} {q}."),
        ("I remember {s} {v.past} {v.rest} {p} while we were away.",
         "I remember {s} {v.past} {v.rest} {q} while we were away."),
        ("In March {s} {v.past} {v.rest} {p}, without complaining.",
         "In March {s} {v.past} {v.rest} {q}, without complaining."),
    )),
}
_OFTEN = ("every day", "every single morning", "each evening", "every weekend", "day after day")
_ONCE = ("once", "one time", "on one occasion", "a single time", "just the once")

# (past = participle, object) for the causative: someone had the object repaired vs repaired it.
_JOBS = tuple(tuple(j.split("|")) for j in (
    "repaired|the leaking bathroom roof", "painted|the front door and the gate", "cleaned|the carpets in the lounge",
    "serviced|the old gas boiler", "fixed|the broken garden gate", "washed|the muddy camper van",
    "checked|the wiring in the kitchen", "trimmed|the tall hedge by the road", "framed|the old map of the town",
    "re-covered|the faded armchair in the study", "mended|the cracked bedroom window",
    "cleared|the blocked drain outside", "replaced|the rusty gutters at the back",
    "altered|the sleeves of the new coat",
))
_WHEN = ("last autumn", "before the visitors came", "over the weekend", "at the end of May",
         "just before the holidays", "on Tuesday afternoon")
_CAUSATIVE_FRAMES = (
    ("{s} had {o[1]} {o[0]} {t}.", "{s} {o[0]} {o[1]} {t}."),
    ("I heard that {s} had {o[1]} {o[0]} {t}.", "I heard that {s} {o[0]} {o[1]} {t}."),
    ("To save time, {s} had {o[1]} {o[0]} {t}.", "To save time, {s} {o[0]} {o[1]} {t}."),
    ("{s} finally had {o[1]} {o[0]} {t}, I believe.", "{s} finally {o[0]} {o[1]} {t}, I believe."),
)


def sets() -> list[ContrastiveSet]:
    """Tense, aspect, modality (3), frequency and voice sets built on the same subjects and activities."""
    out = [build(name, kind, description, frames, {"s": SUBJECTS, "v": ACTIVITIES, "p": _OFTEN, "q": _ONCE})
           for name, (kind, description, frames) in _VERB_SETS.items()]
    out.append(build("causative", "voice", "Having something done by someone else (had it repaired) vs doing it.",
                     _CAUSATIVE_FRAMES, {"s": SUBJECTS, "o": _JOBS, "t": _WHEN}))
    return out
