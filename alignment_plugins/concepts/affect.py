"""Affective concepts: sentiment, praise, six emotions (each vs a neutral reaction), agreement and urgency."""

from __future__ import annotations

from alignment_plugins.concepts.base import Draft, generate

_PRODUCTS = (
    "blender", "laptop", "pair of running shoes", "vacuum cleaner", "set of headphones", "coffee machine",
    "desk lamp", "backpack", "electric kettle", "winter coat", "tent", "phone case", "office chair", "bicycle helmet",
)
_REVIEW_FRAMES = (
    ("Five stars: this {p} is excellent and works perfectly.", "One star: this {p} is useless and broke at once."),
    ("I love my new {p}; it is reliable and well made.", "I regret buying this {p}; it is flimsy and badly made."),
    ("The {p} arrived quickly and exceeded my expectations.", "The {p} arrived late and fell short of my "
                                                              "expectations."),
    ("Great value: the {p} feels sturdy and comfortable.", "Poor value: the {p} feels cheap and uncomfortable."),
    ("I would happily buy this {p} again and recommend it to friends.",
     "I would never buy this {p} again or recommend it to anyone."),
    ("After a month, the {p} still works beautifully.", "After a month, the {p} has already stopped working."),
)
_EXPERIENCES = (
    "our visit to the zoo", "my first week at university", "the family dinner", "the school trip",
    "the neighbourhood festival", "the long weekend", "the visit to my grandparents", "the boat tour",
    "the job interview", "the move to the new flat", "the evening with old friends", "the holiday in the mountains",
)
_EXPERIENCE_FRAMES = (
    ("{e} was a wonderful experience that I will always treasure.",
     "{e} was an awful experience that I would rather forget."),
    ("Looking back, {e} brought me so much happiness.", "Looking back, {e} brought me so much misery."),
    ("Everyone agreed that {e} was a great success.", "Everyone agreed that {e} was a complete failure."),
    ("I felt lucky and grateful during {e}.", "I felt unlucky and resentful during {e}."),
    ("{e} went beautifully from start to finish.", "{e} went terribly from start to finish."),
    ("Thinking about {e} still makes me smile.", "Thinking about {e} still makes me wince."),
)
_WORKS = (
    "presentation", "garden", "report", "painting", "cake", "speech", "repair work", "website", "essay", "costume",
    "song", "kitchen renovation",
)
_PRAISE_FRAMES = (
    ("You did a brilliant job on the {w}; I'm proud of you.", "You did a pathetic job on the {w}; I'm ashamed of "
                                                              "you."),
    ("Your {w} is clever, thoughtful and beautifully done.", "Your {w} is stupid, careless and sloppily done."),
    ("Honestly, you are a genius; the {w} is superb.", "Honestly, you are an idiot; the {w} is rubbish."),
    ("Thanks to your talent, the {w} turned out wonderfully.", "Because of your incompetence, the {w} turned out "
                                                               "horribly."),
    ("Everyone admires the {w} you made; it is first-class.", "Everyone laughs at the {w} you made; it is "
                                                              "third-rate."),
)

_EVENTS = (
    "the letter arrived", "my brother called", "the results came out", "I opened the front door",
    "the lights went out", "the train stopped suddenly", "the teacher read my essay aloud",
    "I saw the message on my phone", "the doctor came back into the room", "the dog ran into the garden",
    "we reached the end of the road", "the music started", "the phone rang late in the evening",
    "the package was delivered", "the manager called my name", "I looked at the old photograph",
)
_EMOTION_FRAMES = (
    ("When {e}, {r}.", "When {e}, {n}."),
    ("The moment {e}, {r}.", "The moment {e}, {n}."),
    ("Last Tuesday {e}, and {r}.", "Last Tuesday {e}, and {n}."),
    ("As soon as {e}, {r}.", "As soon as {e}, {n}."),
    ("I still remember how, after {e}, {r}.", "I still remember how, after {e}, {n}."),
)
_NEUTRAL_REACTIONS = (
    "I put my bag down and checked the time", "I wrote a short note in my diary",
    "I nodded and went on with my work", "I sat down at the kitchen table", "I made a cup of tea as usual",
    "I looked at the clock on the wall", "I read the details and filed them away", "I walked over and took a look",
)
EMOTIONS: dict[str, tuple[str, ...]] = {
    "joy": ("I jumped up and laughed with pure delight", "my heart filled with happiness",
            "I could not stop smiling all day", "I felt overjoyed and hugged everyone",
            "I was so happy I almost cried with joy", "I felt a wonderful rush of joy",
            "I cheered and danced around the room", "everything suddenly felt bright and cheerful"),
    "anger": ("I was furious and slammed my fist on the table", "my face went red with rage",
              "I shouted angrily at everyone nearby", "I felt a wave of anger boil up inside me",
              "I clenched my fists, absolutely livid", "I was so angry I could barely speak",
              "I stormed out and slammed the door", "I felt outraged and bitter"),
    "fear": ("I froze, terrified, my heart pounding", "a cold wave of fear ran through me",
             "I was so scared I could hardly breathe", "I trembled with dread", "I panicked and hid behind the door",
             "my hands shook with fear", "I felt a horrible sense of terror", "I was frightened out of my wits"),
    "sadness": ("I sat down and quietly wept", "a deep sadness settled over me", "my heart felt heavy with grief",
                "I felt lonely and miserable for days", "tears ran down my face", "I was overcome with sorrow",
                "I felt hopeless and empty inside", "I could not stop crying"),
    "surprise": ("I gasped, completely astonished", "my jaw dropped in amazement", "I could not believe my eyes",
                 "I was utterly stunned and speechless", "I blinked in total disbelief",
                 "I was shocked because it was so unexpected", "I stared, amazed, wondering how it was possible",
                 "it took me completely by surprise"),
    "disgust": ("I felt sick and turned away in disgust", "I wrinkled my nose at the revolting smell",
                "my stomach turned with revulsion", "I was repulsed and nearly gagged",
                "it was so gross I had to look away", "I felt utterly disgusted",
                "the filthy sight made me shudder", "I recoiled from the nasty slime"),
}

_OPINIONS = (
    "the park needs more benches", "the new bus timetable is an improvement", "the meeting should start earlier",
    "the library should open on Sundays", "the school day is too long", "we should plant more trees on the street",
    "the film was far too long", "the new logo looks better", "remote work suits our team",
    "the town needs a second bridge", "the café should serve breakfast all day", "the club rules are too strict",
    "cycling lanes make the city safer", "the museum ticket is too expensive", "the football club needs a new coach",
    "the report needs more detail",
)
_AGREEMENT_FRAMES = (
    ("I completely agree that {o}.", "I completely disagree that {o}."),
    ("You are right to say that {o}.", "You are wrong to say that {o}."),
    ("Yes, exactly: {o}, and I support that view.", "No, I do not accept that {o}, and I oppose that view."),
    ("I share your opinion that {o}.", "I reject your opinion that {o}."),
    ("We are on the same side here: {o}.", "We are on opposite sides here: I doubt {o}."),
    ("Absolutely, I also think {o}.", "Not at all, I don't think {o}."),
)
_TASKS = (
    "send the signed contract", "call the plumber", "fix the server", "collect the parcel", "book the hall",
    "reply to the client", "move the van", "print the tickets", "sign the form", "check the alarm",
    "order more paper", "update the website",
)
_URGENCY_FRAMES = (
    ("URGENT: please {t} immediately, there is no time to lose!",
     "Whenever you have a moment, please {t}; there is no rush."),
    ("We must {t} right now, within the next five minutes!", "We can {t} sometime next week, whenever suits you."),
    ("Emergency! Someone needs to {t} at once!", "No hurry at all, someone can {t} later on."),
    ("Drop everything and {t} as fast as you can!", "Take your time and {t} when it is convenient."),
    ("This cannot wait: {t} before the deadline in an hour!", "This can wait: {t} at some point this month."),
)


def drafts() -> list[Draft]:
    """Sentiment (3), emotions (6), agreement and urgency concepts."""
    out = [
        Draft("sentiment_reviews", "sentiment", "Positive vs negative product reviews of the same product.",
              generate("sentiment_reviews", _REVIEW_FRAMES, {"p": _PRODUCTS})),
        Draft("sentiment_experiences", "sentiment", "Positive vs negative accounts of the same experience.",
              generate("sentiment_experiences", _EXPERIENCE_FRAMES, {"e": _EXPERIENCES})),
        Draft("praise", "sentiment", "Praise vs insult about the same piece of work.",
              generate("praise", _PRAISE_FRAMES, {"w": _WORKS})),
    ]
    for name, reactions in EMOTIONS.items():
        out.append(Draft(name, "emotion", f"A reaction showing {name} vs a neutral reaction to the same event.",
                         generate(name, _EMOTION_FRAMES, {"e": _EVENTS, "r": reactions, "n": _NEUTRAL_REACTIONS})))
    out.append(Draft("agreement", "stance", "Agreeing vs disagreeing with the same opinion.",
                     generate("agreement", _AGREEMENT_FRAMES, {"o": _OPINIONS})))
    out.append(Draft("urgency", "urgency", "An urgent vs a relaxed request for the same task.",
                     generate("urgency", _URGENCY_FRAMES, {"t": _TASKS})))
    return out
