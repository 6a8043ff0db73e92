"""Emotion: first-person feelings of many kinds, pleasant and unpleasant, mild to overwhelming.

No pinned package ships first-person emotional text, so every text is generated from templates written here: an
emotion (28 of them, each with its own words, bodily sensations and thoughts), a situation that caused it and one
of several frames (a diary line, a message to a friend, a reflection, a confession ...).
"""

from __future__ import annotations

from alignment_plugins.anchors.domains import generated, sentence
from alignment_plugins.anchors.sourcing import Cand, Rng, Wheel

DOMAIN = "emotion"

# name: (adjectives, how it shows in the body, what goes through one's head)
EMOTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "elation": (("elated", "over the moon", "giddy"), ("I keep grinning like a fool", "I could barely sit still"),
                ("everything seems possible today", "I want to phone everyone I know")),
    "gratitude": (("grateful", "deeply thankful", "touched"), ("my throat went tight", "I had to blink back "
                  "tears"), ("I don't know how I'll ever repay them", "I'm lucky to have people like that")),
    "pride": (("proud", "quietly proud", "chuffed"), ("I stood a little taller", "I caught myself smiling"),
              ("all those early mornings paid off", "I actually did it on my own")),
    "relief": (("relieved", "so relieved", "weak with relief"), ("my shoulders finally dropped", "I let out a "
               "breath I didn't know I was holding"), ("it's over at last", "it could have been so much worse")),
    "contentment": (("content", "at peace", "settled"), ("my whole body felt loose and warm", "I slept like a "
                    "log"), ("I don't need anything more than this", "this is what a good life feels like")),
    "excitement": (("excited", "buzzing", "thrilled to bits"), ("my heart was racing", "I couldn't sleep"),
                   ("I keep counting down the days", "I've already packed twice")),
    "awe": (("awestruck", "humbled", "spellbound"), ("the hairs on my arms stood up", "I went completely quiet"),
            ("I felt very small in the best way", "how can something be that vast")),
    "amusement": (("amused", "in stitches", "tickled"), ("I laughed until my sides ached", "I snorted tea out "
                  "of my nose"), ("I'll be giggling about it for weeks", "I can't look at him without laughing")),
    "tenderness": (("tender", "full of love", "soft-hearted"), ("my chest felt warm", "I held them a little "
                   "longer than usual"), ("I'd do anything to keep them safe", "how did I get this lucky")),
    "hope": (("hopeful", "cautiously optimistic", "encouraged"), ("I felt lighter", "I slept properly for the "
             "first time in weeks"), ("maybe things are turning a corner", "for once I can picture next year")),
    "nostalgia": (("nostalgic", "wistful", "sentimental"), ("I could almost smell my grandmother's kitchen",
                  "I stared at the photo for ages"), ("those summers felt endless", "I miss who we were back "
                  "then")),
    "fury": (("furious", "livid", "seething"), ("my jaw was clenched so hard it hurt", "my hands were shaking"),
             ("how dare they treat people like that", "I'm not letting this go")),
    "frustration": (("frustrated", "fed up", "exasperated"), ("I wanted to throw my laptop out of the window",
                    "I rubbed my temples for the tenth time"), ("why does nothing ever work first time",
                    "I've explained this three times already")),
    "irritation": (("irritated", "annoyed", "prickly"), ("I could feel my patience fraying", "I kept tapping "
                   "my foot"), ("it's such a small thing, yet it gets under my skin", "just once I'd like some "
                   "quiet")),
    "anxiety": (("anxious", "on edge", "jittery"), ("my stomach was in knots", "I kept checking my phone"),
                ("what if I've forgotten something important", "I keep running through the worst case")),
    "dread": (("full of dread", "sick with worry", "uneasy"), ("I felt cold all over", "my legs felt heavy"),
              ("I know exactly how this will go", "I wish I could skip the next week entirely")),
    "panic": (("panicked", "frantic", "beside myself"), ("I couldn't catch my breath", "my heart was hammering"),
              ("I have to fix this right now", "everything is falling apart at once")),
    "grief": (("heartbroken", "grief-stricken", "bereft"), ("I cried in the car park", "the house felt too "
              "quiet"), ("I keep reaching for the phone to call her", "nothing will ever be quite the same")),
    "loneliness": (("lonely", "cut off", "invisible"), ("the evenings stretch on forever", "I talk to the radio "
                   "just to hear a voice"), ("nobody would notice if I vanished for a week", "I miss having "
                   "someone to tell things to")),
    "disappointment": (("disappointed", "let down", "deflated"), ("my smile faded", "I went quiet for the rest "
                       "of the evening"), ("I really thought this time would be different", "I shouldn't have "
                       "got my hopes up")),
    "shame": (("ashamed", "mortified", "small"), ("my face burned", "I couldn't meet anyone's eyes"),
              ("I'm not the person I want to be", "I wish I could take it all back")),
    "guilt": (("guilty", "remorseful", "sick with guilt"), ("I lay awake going over it", "I avoided her all "
              "week"), ("I should have been there", "I owe him an apology and I know it")),
    "embarrassment": (("embarrassed", "red-faced", "sheepish"), ("I wanted the floor to swallow me",
                      "I laughed far too loudly"), ("everyone must have seen", "I'll be cringing about this "
                      "for years")),
    "jealousy": (("jealous", "envious", "green with envy"), ("a sour feeling settled in my stomach", "I scrolled "
                 "past their photos too quickly"), ("why does it come so easily to them", "I hate that I "
                 "begrudge them this")),
    "boredom": (("bored", "restless", "listless"), ("I stared at the ceiling for an hour", "I kept yawning"),
                ("every day feels exactly the same", "I need something, anything, to happen")),
    "confusion": (("confused", "baffled", "lost"), ("I read the letter four times", "I just stood there "
                  "blinking"), ("none of this adds up", "I don't even know what question to ask")),
    "regret": (("regretful", "full of regret", "rueful"), ("my chest ached whenever I thought of it", "I kept "
               "replaying the conversation"), ("if only I'd spoken up sooner", "I let a good thing slip "
               "away")),
    "revulsion": (("repulsed", "queasy", "sickened"), ("my skin crawled", "I had to step outside for air"),
                  ("I can't unsee that", "how could anyone think that was acceptable")),
}
PLEASANT = frozenset({"elation", "gratitude", "pride", "relief", "contentment", "excitement", "awe", "amusement",
                      "tenderness", "hope", "nostalgia"})
# Situations by the valence of the feelings they plausibly cause.
GOOD_EVENTS = (
    "my sister rang to say the scan was clear", "I opened my exam results and saw the grade",
    "I finally finished the quilt I started three years ago", "the interview panel called me back",
    "a stranger paid for my groceries", "I heard our song on the radio", "the kids made me breakfast in bed",
    "I found my father's letters in the attic", "the surgeon came out smiling",
    "I saw the northern lights for the first time", "I got the keys to my first flat",
    "I held my niece for the first time", "I watched the sun rise over the valley", "we paid off the last of the "
    "debt", "my son learned to ride his bike", "my old teacher wrote to say she remembered me",
    "the choir sang the piece we had rehearsed for months", "my grandad told the story of how he met Nan",
)
BAD_EVENTS = (
    "my landlord raised the rent again", "my best friend moved to another country", "our old dog had to be put "
    "down", "I missed the last train home", "my manager took credit for my work", "my flight was cancelled",
    "I forgot my friend's birthday", "my team lost the final in extra time", "my neighbour's party went on until "
    "four", "I tripped on stage in front of the whole school", "my brother stopped answering my messages",
    "the bank flagged my account", "my application was turned down", "I spent another weekend alone",
    "the washing machine flooded the kitchen", "the doctor asked me to come in and talk",
    "my colleague got the promotion I wanted", "I said something cruel to my mum", "the new software deleted my "
    "notes", "the results were delayed yet again", "I found mould in the fridge", "I reread my old diaries",
)
INTENSIFIERS = ("a little", "quite", "really", "incredibly", "utterly", "strangely", "unexpectedly")


def _slots(r: Rng) -> dict[str, str]:
    name = r.choice(sorted(EMOTIONS))
    adjectives, body, thoughts = EMOTIONS[name]
    events = GOOD_EVENTS if name in PLEASANT else BAD_EVENTS
    if name == "nostalgia":
        events = (*GOOD_EVENTS, "I reread my old diaries", "my best friend moved to another country")
    return {"adj": r.choice(adjectives), "sens": r.choice(body), "thought": r.choice(thoughts),
            "sit": r.choice(events), "very": r.choice(INTENSIFIERS)}


# family: frames filled with an emotion's words and a situation
FRAMES: dict[str, tuple[str, ...]] = {
    "trigger": ("When {sit}, I felt {very} {adj}. {Sens}, and all I could think was: {thought}.",
                "I didn't expect to feel so {adj} when {sit}, but {sens}.",
                "Ever since {sit}, I've been {adj}. {Thought}."),
    "diary": ("Dear diary, today {sit}. I'm {adj}. {Sens}.",
              "Diary, {date}: {sit}. Feeling {very} {adj}; {thought}.",
              "Note to self, written late: {sit}, and I am {adj}. {Sens}."),
    "confession": ("Can I be honest? I'm {adj}. {Sit}, and {thought}.",
                   "It's silly, but I'm {very} {adj} because {sit}. {Sens}.",
                   "I haven't told anyone yet, but I'm {adj}. {Sit}, and {sens}."),
    "message": ("Texting you because I'm {adj}: {sit}!! {Thought}.",
                "I need to tell someone: {sit}, and I'm {very} {adj}. Honestly, {thought}.",
                "Sorry for the long voice note, I'm just {adj}. {Sit}, and {thought}."),
    "reflection": ("Part of me is {adj}, part of me is just tired. {Sit}, and {thought}.",
                   "Looking back on the week, what stays with me is how {adj} I felt when {sit}.",
                   "Right now I feel {adj}. {Sit} this morning and {sens}."),
}
DATES = ("Monday", "a rainy Tuesday", "Wednesday night", "Thursday", "Friday evening", "Saturday", "Sunday morning")


def _frame(family: str):
    def make(r: Rng) -> str:
        slots = _slots(r)
        slots.update({k.title(): sentence(v) for k, v in list(slots.items())}, date=r.choice(DATES))
        return sentence(r.choice(FRAMES[family]).format(**slots))
    return make


def pools(wheels: dict[str, Wheel]) -> dict[str, list[Cand]]:
    """The emotion pool: ``emotion-templates``, one template family per kind of frame."""
    return {"emotion-templates": [c for family in FRAMES for c in generated(DOMAIN, family, 320, _frame(family))]}
