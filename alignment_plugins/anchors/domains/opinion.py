"""Opinion: reviews, arguments, preferences and recommendations, positive, negative and mixed.

Real text: the ten IMDB film reviews of gensim's test data (``alldata-id-10.txt``, from the Stanford large movie
review sample that gensim ships under its LGPL-2.1 distribution), re-cased and split into passages. Generated:
reviews of places, books, albums, apps and services by aspect, arguments for and against local proposals,
preferences between two options, and advice, from templates written here.
"""

from __future__ import annotations

import re

from alignment_plugins.anchors.domains import generated, sentence
from alignment_plugins.anchors.sourcing import Cand, Rng, Wheel, chunk_sentences, prose_ok, split_sentences, squash

DOMAIN = "opinion"
IMDB_MEMBER = "gensim/test/test_data/alldata-id-10.txt"


def recase(text: str) -> str:
    """Detokenise lower-cased review text: spacing around punctuation, "I", capitals after sentence ends."""
    text = squash(text)
    text = re.sub(r" ([,.;:!?%)])", r"\1", text).replace("( ", "(").replace(" n't", "n't")
    text = re.sub(r"\s*\.(\s*\.)+", ".", text)
    text = re.sub(r"\bi\b", "I", text)
    text = re.sub(r"\bmr\. ", "Mr. ", text)
    text = re.sub(r"(^|[.!?] )([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)
    return text.replace('" ', '"').replace(" \"", " \"")


def imdb_pool(gensim: Wheel) -> list[Cand]:
    """Passages of the IMDB reviews in gensim's test data."""
    out = []
    for i, line in enumerate(gensim.text(IMDB_MEMBER).splitlines()):
        _, _, review = line.partition(" ")
        review = recase(review.replace('"', "").replace("''", ""))
        for j, chunk in enumerate(chunk_sentences(split_sentences(review), target=240)):
            if prose_ok(chunk, min_words=8, extra_allowed="-"):
                out.append(Cand(DOMAIN, chunk, gensim.source(IMDB_MEMBER, f"review{i}:{j}"), f"review{i}"))
    return out


# ----------------------------------------------------------------------------------------------------- generated
VENUES = ("the Thai place on Mill Street", "the harbour-side seafood bar", "that new vegan bistro",
          "the family-run pizzeria near the station", "the rooftop tapas restaurant", "the old coaching inn",
          "the dumpling house in the arcade", "the steakhouse by the ring road", "the corner bakery-café")
VENUE_GOOD = ("the staff were warm and quick", "the portions were generous", "the bread was baked that morning",
              "the spices were perfectly balanced", "the prices were fair for the quality",
              "the terrace has a lovely view", "the desserts were worth the trip alone")
VENUE_BAD = ("we waited forty minutes for a table we had booked", "the fries were soggy and lukewarm",
             "the music was so loud we had to shout", "the bill had two drinks we never ordered",
             "the tables were sticky", "the menu promised far more than the kitchen delivered",
             "the waiter rolled his eyes when we asked for water")
WORKS = ("the new detective novel by Lena Ortiz", "the sci-fi film everyone is talking about",
         "the graphic novel my cousin lent me", "the revival of the old musical", "this season's final episode",
         "the documentary about deep-sea divers", "the historical drama on at the Regent")
WORK_GOOD = ("the pacing never lets up", "the characters feel like real people", "the ending genuinely moved me",
             "the dialogue is sharp and funny", "it trusts the audience to think", "the world feels lived-in")
WORK_BAD = ("the plot collapses in the second half", "the jokes fall flat", "it drags on for far too long",
            "the lead performance is wooden", "it recycles every cliché in the genre",
            "the twist is obvious from the start")
ALBUMS = ("the band's third album", "her debut record", "the live recording from the festival",
          "the new jazz compilation", "the remastered soundtrack")
ALBUM_GOOD = ("every track has its own mood", "the production is crisp and warm", "the vocals are astonishing",
              "it rewards repeated listening")
ALBUM_BAD = ("the mixing buries the vocals", "half the songs sound the same", "the lyrics are painfully "
             "clumsy", "it runs out of ideas by track four")
THINGS = ("budget airline", "meal-kit subscription", "banking app", "budget smartwatch", "electric scooter",
          "language-learning app", "robot vacuum", "cordless drill", "noise-cancelling earbuds", "air fryer",
          "standing desk", "streaming service", "fitness tracker", "e-bike")
THING_GOOD = ("setup took two minutes", "the battery lasts for days", "customer support actually answers",
              "it feels solid in the hand", "the interface is clean and obvious", "it saves me real time every "
              "week", "it was cheaper than the competition")
THING_BAD = ("it crashes whenever I change a setting", "the battery dies by lunchtime", "the subscription is a "
             "trap to cancel", "it arrived with a cracked case", "the instructions are useless",
             "it is louder than advertised", "half the features hide behind a paywall")
SCORES = ("two out of ten", "four out of ten", "six out of ten", "seven out of ten", "eight out of ten",
          "nine out of ten", "three stars", "four and a half stars")


def _review(r: Rng) -> str:
    kind = r.randint(0, 3)
    subject, good, bad = [(VENUES, VENUE_GOOD, VENUE_BAD), (WORKS, WORK_GOOD, WORK_BAD),
                          (ALBUMS, ALBUM_GOOD, ALBUM_BAD), (tuple(f"this {t}" for t in THINGS), THING_GOOD,
                                                            THING_BAD)][kind]
    s, g, b, g2, b2 = r.choice(subject), r.choice(good), r.choice(bad), r.choice(good), r.choice(bad)
    return sentence(r.choice([
        f"I had high hopes for {s}, and honestly {g}. My only complaint is that {b}. Still, I'd go back.",
        f"Verdict on {s}: {r.choice(SCORES)}. {sentence(g)}, and {g2}, but {b}.",
        f"Overrated. Everyone raves about {s}, yet {b}, and {b2}. I won't be returning.",
        f"Pleasantly surprised by {s}: {g}, and {g2}. Worth every penny.",
        f"Mixed feelings about {s}. On the plus side, {g}; on the other hand, {b}.",
        f"If you're on the fence about {s}, don't be: {g}. Easily {r.choice(SCORES)} from me.",
        f"I really wanted to like {s}, but {b}. To be fair, {g}, which almost made up for it.",
        f"Hard pass on {s}. {sentence(b)}, and when I complained, nothing changed.",
        f"My honest take on {s}? {sentence(g)}. Not perfect, since {b}, but I'd still recommend it.",
    ]))


PROPOSALS = ("a four-day working week", "banning cars from the old town centre", "school uniforms",
             "a tax on sugary drinks", "turning the disused rail line into a cycle path", "later school start times",
             "free public transport for under-25s", "building flats on the golf course",
             "a tourist tax for overnight visitors", "replacing exams with coursework",
             "a curfew for teenagers in the park", "daylight saving time")
PRO = ("it would cut pollution noticeably", "the evidence from other cities is encouraging",
       "it gives young people a fairer start", "local shops would benefit", "it costs less than people think",
       "it would ease pressure on families", "people would be healthier for it")
CON = ("it punishes the people with the least choice", "nobody has explained who pays for it",
       "the trial elsewhere was quietly abandoned", "it treats a symptom rather than the cause",
       "small businesses would carry the cost", "it sounds good but would be hard to enforce",
       "it takes a decision away from families")


def _argument(r: Rng) -> str:
    p, pro, con, pro2, con2 = r.choice(PROPOSALS), r.choice(PRO), r.choice(CON), r.choice(PRO), r.choice(CON)
    return sentence(r.choice([
        f"I'm firmly in favour of {p}, mainly because {pro}. Critics say {con}, but I think that is overstated.",
        f"Call me old-fashioned, but I oppose {p}: {con}, and {con2}.",
        f"The case for {p} is stronger than its opponents admit: {pro}, and {pro2}.",
        f"I used to support {p}, until I realised that {con}. Now I'm not so sure.",
        f"In my view {p} is a mistake. Supporters claim {pro}, yet {con}.",
        f"People argue about {p} endlessly. My position is simple: {pro}, so let's try it.",
        f"Letter to the editor: your columnist is wrong about {p}. {sentence(pro)}, and {pro2}.",
        f"On balance I'd vote against {p}. Yes, {pro}, but {con}.",
    ]))


PAIRS = (("tea", "coffee"), ("the mountains", "the seaside"), ("paper books", "e-readers"),
         ("cats", "dogs"), ("working from home", "working in the office"), ("trains", "planes"),
         ("cooking at home", "eating out"), ("summer", "winter"), ("city life", "village life"),
         ("board games", "video games"), ("running", "swimming"), ("vinyl", "streaming"),
         ("early mornings", "late nights"), ("a small wedding", "a big party"))
REASONS = ("it suits my temperament", "it feels calmer", "there's more variety", "it's better value",
           "I grew up with it", "it leaves me more energy", "it's kinder to the planet", "it's simply more fun",
           "it gives me time to think")


def _preference(r: Rng) -> str:
    a, b = r.choice(PAIRS)
    if r.randint(0, 1):
        a, b = b, a
    reason, reason2 = r.sample(REASONS, 2)
    return sentence(r.choice([
        f"Given the choice between {a} and {b}, I'd pick {a} every time: {reason}.",
        f"I know plenty of people swear by {b}, but personally I prefer {a} because {reason}.",
        f"{a} or {b}? For me it's {a}, no contest. {sentence(reason)}, and {reason2}.",
        f"I've tried both, and I've come round to {a}. {b} is fine, but {reason}.",
        f"Unpopular opinion: {a} beats {b}. {sentence(reason)}.",
        f"If I'm honest, I like {a} a little more than {b}, mostly because {reason}.",
    ]))


ADVICE_TOPICS = ("learning an instrument as an adult", "buying a second-hand car", "adopting an older dog",
                 "starting a vegetable patch", "taking a gap year", "switching careers at forty",
                 "renting before buying", "joining a choir", "going to university far from home",
                 "running your first marathon", "keeping a paper diary")
VERDICTS = ("absolutely worth it", "worth it if you're patient", "not for everyone", "more rewarding than I "
            "expected", "overhyped, in my experience", "one of the best decisions I've made")


def _recommendation(r: Rng) -> str:
    t, v = r.choice(ADVICE_TOPICS), r.choice(VERDICTS)
    return sentence(r.choice([
        f"Someone asked me whether {t} is a good idea. I think it's {v}, as long as you go in with open eyes.",
        f"My two cents on {t}: {v}. Start small and don't compare yourself with others.",
        f"Would I recommend {t}? Honestly, it's {v}. I'd do it again tomorrow.",
        f"I'm sceptical about {t}. For some it's {v}, but I found it more stressful than rewarding.",
    ]))


FAMILIES = {"review": (_review, 520), "argument": (_argument, 300), "preference": (_preference, 260),
            "recommendation": (_recommendation, 160)}


def pools(wheels: dict[str, Wheel]) -> dict[str, list[Cand]]:
    """The opinion pools: ``imdb-reviews`` (real) and ``opinion-templates`` (generated)."""
    return {
        "imdb-reviews": imdb_pool(wheels["gensim"]),
        "opinion-templates": [c for family, (make, n) in FAMILIES.items() for c in generated(DOMAIN, family, n, make)],
    }
