"""Style: the same kinds of everyday content said in many registers.

Generated from templates written here: one of ~30 plain pieces of news (a subject and what happened to it) is
wrapped in the wording of one of 20 registers (formal, informal, polite, rude, archaic, childlike, academic,
legal, headline, sarcastic, enthusiastic, bureaucratic, poetic, texting, sports commentary, a Victorian letter,
corporate jargon, radio procedure, fairy tale, hard-boiled detective). Each register is a template family, so a
register's texts differ from each other only in their content.
"""

from __future__ import annotations

from alignment_plugins.anchors.domains import generated, sentence
from alignment_plugins.anchors.sourcing import Cand, Rng, Wheel

DOMAIN = "style"

# (subject, what happened): plain everyday news, lower-case, no final full stop.
NEWS = (
    ("the staff picnic", "has been moved to Sunday"), ("my library book", "is two weeks overdue"),
    ("the boiler", "broke down again last night"), ("your parcel", "was left with the neighbours"),
    ("the new café on Elm Road", "opens next month"), ("the school concert", "was called off because of snow"),
    ("the photocopier in reception", "keeps jamming"), ("the rent", "goes up in April"),
    ("the last bus", "no longer stops at the hospital"), ("our cat", "has learned to open the fridge"),
    ("the swimming gala", "starts an hour later than planned"), ("the car", "failed its inspection"),
    ("the wedding photographs", "are finally ready"), ("the allotment committee", "has banned bonfires"),
    ("the Wi-Fi in the flat", "drops out every evening"), ("the team", "reached the regional final"),
    ("the neighbour's extension", "blocks our light"), ("the village shop", "now sells fresh bread"),
    ("the invoice", "was paid twice by mistake"), ("the builders", "will not finish before Christmas"),
    ("the choir", "needs two more tenors"), ("the kitchen tap", "has been dripping all week"),
    ("the quiz night", "raised four hundred pounds"), ("my sister's flight", "lands at six in the morning"),
    ("the football pitch", "is waterlogged"), ("the spare key", "is under the blue flowerpot"),
    ("the parking permit", "expires at the end of the month"), ("the apple harvest", "was the best in years"),
    ("the heating at the office", "will be off on Friday"), ("the old oak in the square", "is to be felled"),
)

# register: frames over {s} (subject), {S} (capitalised subject), {p} (what happened)
REGISTERS: dict[str, tuple[str, ...]] = {
    "formal": ("Please be advised that {s} {p}. We apologise for any inconvenience this may cause.",
               "We wish to inform all residents that {s} {p}. Any queries should be directed to the office.",
               "It is my duty to report that {s} {p}. I remain at your disposal for further details."),
    "informal": ("Heads up: {s} {p}. Typical, right?", "So yeah, {s} {p}. Thought you'd want to know.",
                 "Right, quick one: {s} {p}. Catch you later."),
    "polite": ("I'm so sorry to trouble you, but I thought you'd like to know that {s} {p}.",
               "If it's not too much bother, could I mention that {s} {p}? Thank you kindly.",
               "I hope you don't mind me letting you know that {s} {p}. Many thanks for your patience."),
    "rude": ("Listen, {s} {p}. Deal with it and stop pestering me.",
             "{S} {p}. Not my problem, so don't come crying to me.",
             "Are you deaf? I already told you {s} {p}. Keep up."),
    "archaic": ("'Tis told in the town that {s} {p}, and I bid thee take heed thereof.",
                "Know, good neighbour, that {s} {p}; wherefore I pray thou be not dismayed.",
                "Ere the candle gutters, mark this tiding: {s} {p}."),
    "childlike": ("Me and Teddy found out that {s} {p}! It's the most biggest news ever!",
                  "Did you know {s} {p}? I told my whole class and they said wow.",
                  "Mummy says {s} {p} and I'm not allowed to be sad about it but I am a bit."),
    "academic": ("Preliminary observations indicate that {s} {p}; further investigation is warranted.",
                 "As the data presented here suggest, {s} {p}, a finding with wider implications.",
                 "It has been widely noted in the literature that {s} {p} (see below)."),
    "legal": ("Notwithstanding any prior communication, the undersigned hereby gives notice that {s} {p}.",
              "The parties acknowledge that {s} {p}, and agree that no liability arises therefrom.",
              "For the avoidance of doubt, {s} {p}, as set out in the schedule attached hereto."),
    "headline": ("BREAKING: {S} {p}. More to follow.", "{S} {p} - residents react.",
                 "Shock as {s} {p}; locals demand answers."),
    "sarcastic": ("Oh, wonderful. {S} {p}. Just what I needed today.",
                  "Brilliant, absolutely brilliant: {s} {p}. Could this week get any better?",
                  "Well, colour me astonished, {s} {p}. Who could possibly have seen that coming?"),
    "enthusiastic": ("Amazing news, everyone!!! {S} {p}! I can't contain myself!",
                     "Best. Day. Ever. {S} {p}, and I'm thrilled to bits!",
                     "Woohoo! {S} {p}! Let's celebrate!"),
    "bureaucratic": ("Ref. 4471/B: It has been determined that {s} {p}. No further action is required at "
                     "this stage.", "Pursuant to section 12, please note that {s} {p}. Form C7 must be "
                     "completed in triplicate.", "Your request has been logged. Status: {s} {p}. Please allow "
                     "twenty working days."),
    "poetic": ("Soft as evening rain the word arrives: {s} {p}.",
               "Beneath a pale and patient sky, {s} {p}, and the world turns on.",
               "O quiet hour, hear this small tiding: {s} {p}."),
    "texting": ("omg {s} {p} lol cant even", "ugh {s} {p} again?? txt me back", "fyi {s} {p} :( ttyl"),
    "commentary": ("And there it is! {S} {p}! Unbelievable scenes here today!",
                   "Oh, what a moment, {s} {p}, and the crowd cannot believe it!",
                   "You simply could not script this: {s} {p}!"),
    "victorian": ("My dearest Margaret, I write in haste to tell you that {s} {p}. Ever your devoted Edmund.",
                  "Dear Sir, I have the honour to acquaint you with the news that {s} {p}. I remain, sir, your "
                  "obedient servant.", "My dear cousin, you will scarcely credit it, but {s} {p}. Do write "
                  "by return of post."),
    "corporate": ("Quick sync: {s} {p}, so let's circle back and realign on deliverables.",
                  "Flagging for visibility: {s} {p}. Let's take this offline and action it going forward.",
                  "Per my last email, {s} {p}. Looping in stakeholders to drive alignment."),
    "radio": ("Control, this is Bravo Two. Be advised, {s} {p}. Over.",
              "All units, all units: {s} {p}. Acknowledge. Over.",
              "Copy that, base. Confirming {s} {p}. Out."),
    "fairytale": ("And so it came to pass that {s} {p}, just as the old stories had foretold.",
                  "In a land not so far from here, it happened that {s} {p}, and nobody lived quite the same "
                  "ever after.", "Long, long ago, or perhaps only yesterday, {s} {p}."),
    "noir": ("The rain hadn't let up in days when the word came down: {s} {p}. I smelled trouble.",
             "She lit a cigarette and told me {s} {p}. In this town, that's never an accident.",
             "Some news hits like a cold fist. This was that kind: {s} {p}."),
}


def _frame(register: str):
    def make(r: Rng) -> str:
        subject, happened = r.choice(NEWS)
        text = r.choice(REGISTERS[register]).format(s=subject, S=sentence(subject), p=happened)
        return text if register == "texting" else sentence(text)
    return make


def pools(wheels: dict[str, Wheel]) -> dict[str, list[Cand]]:
    """The style pool: ``style-templates``, one template family per register."""
    return {"style-templates": [c for register in REGISTERS for c in generated(DOMAIN, register, 60,
                                                                                _frame(register))]}
