"""Grammatical concepts: tense, aspect, negation, number, person, questions, imperatives and the passive voice.

Each pair is one sentence in two grammatical forms built from the same verb phrase and subject, so the pair's
difference is the grammatical feature and not the content.
"""

from __future__ import annotations

from typing import NamedTuple

from alignment_plugins.concepts.base import Draft, generate


class Verb(NamedTuple):
    """A verb's forms and the rest of its phrase."""

    base: str
    s3: str  # third person singular present
    past: str
    part: str  # past participle
    ing: str
    rest: str


VERBS = (
    Verb("walk", "walks", "walked", "walked", "walking", "to the station"),
    Verb("cook", "cooks", "cooked", "cooked", "cooking", "dinner for the whole family"),
    Verb("read", "reads", "read", "read", "reading", "the newspaper in the kitchen"),
    Verb("write", "writes", "wrote", "written", "writing", "a long letter to a cousin"),
    Verb("drive", "drives", "drove", "driven", "driving", "the children to school"),
    Verb("paint", "paints", "painted", "painted", "painting", "the fence behind the house"),
    Verb("play", "plays", "played", "played", "playing", "the piano after lunch"),
    Verb("fix", "fixes", "fixed", "fixed", "fixing", "the broken chair in the hall"),
    Verb("sell", "sells", "sold", "sold", "selling", "fresh bread at the market"),
    Verb("carry", "carries", "carried", "carried", "carrying", "the heavy boxes upstairs"),
    Verb("teach", "teaches", "taught", "taught", "teaching", "maths to the younger pupils"),
    Verb("build", "builds", "built", "built", "building", "a small shed in the garden"),
    Verb("clean", "cleans", "cleaned", "cleaned", "cleaning", "the windows of the shop"),
    Verb("visit", "visits", "visited", "visited", "visiting", "the museum with friends"),
    Verb("wash", "washes", "washed", "washed", "washing", "the dishes after dinner"),
    Verb("buy", "buys", "bought", "bought", "buying", "vegetables from the farm shop"),
    Verb("feed", "feeds", "fed", "fed", "feeding", "the cats before work"),
    Verb("sing", "sings", "sang", "sung", "singing", "in the church choir"),
    Verb("swim", "swims", "swam", "swum", "swimming", "in the lake near the village"),
    Verb("climb", "climbs", "climbed", "climbed", "climbing", "the hill behind the school"),
    Verb("open", "opens", "opened", "opened", "opening", "the café on the square"),
    Verb("plant", "plants", "planted", "planted", "planting", "tomatoes along the wall"),
    Verb("answer", "answers", "answered", "answered", "answering", "the phone at the front desk"),
    Verb("watch", "watches", "watched", "watched", "watching", "the birds from the window"),
    Verb("bake", "bakes", "baked", "baked", "baking", "bread for the neighbours"),
    Verb("ride", "rides", "rode", "ridden", "riding", "a bicycle to the office"),
    Verb("study", "studies", "studied", "studied", "studying", "chemistry at the library"),
    Verb("catch", "catches", "caught", "caught", "catching", "the early bus into town"),
)


class Person(NamedTuple):
    """A third-person singular subject with its pronoun and possessive."""

    np: str
    pron: str
    poss: str
    refl: str


_HE, _SHE = ("he", "his", "himself"), ("she", "her", "herself")
PEOPLE = tuple(Person(np, *forms) for np, forms in (
    ("my sister", _SHE), ("the teacher", _SHE), ("our neighbour", _HE), ("the old farmer", _HE), ("Maria", _SHE),
    ("the young doctor", _HE), ("my uncle", _HE), ("the new student", _SHE), ("the shop owner", _HE),
    ("Daniel", _HE), ("the pilot", _SHE), ("her grandmother", _SHE), ("the quiet boy", _HE),
    ("the taxi driver", _HE), ("Aisha", _SHE), ("the librarian", _SHE),
))
_SUBJECTS = tuple(p.np for p in PEOPLE)
_PLURAL_SUBJECTS = ("my parents", "the twins", "our neighbours", "the students", "my cousins", "the farmers")


class Noun(NamedTuple):
    """A countable noun in the singular and the plural."""

    sg: str
    pl: str


THINGS = tuple(Noun(*w.split("/")) for w in (
    "lamp/lamps", "chair/chairs", "box/boxes", "knife/knives", "glass/glasses", "key/keys", "book/books",
    "bottle/bottles", "basket/baskets", "candle/candles", "mirror/mirrors", "painting/paintings", "clock/clocks",
    "shelf/shelves", "map/maps", "bowl/bowls", "cup/cups", "brush/brushes", "jar/jars", "watch/watches",
    "dish/dishes", "toy/toys",
))
HUMANS = tuple(Noun(*w.split("/")) for w in (
    "child/children", "woman/women", "man/men", "teacher/teachers", "nurse/nurses", "farmer/farmers",
    "student/students", "doctor/doctors", "driver/drivers", "neighbour/neighbours", "player/players",
    "visitor/visitors", "worker/workers", "singer/singers",
))


class Event(NamedTuple):
    """A transitive event: agent, past verb, participle, patient and its past form of 'be'."""

    agent: str
    past: str
    part: str
    patient: str
    was: str


EVENTS = tuple(Event(*e.split("|")) for e in (
    "the chef|cooked|cooked|the fish|was", "the mechanic|repaired|repaired|the old truck|was",
    "the children|painted|painted|the fence|was", "a storm|destroyed|destroyed|the barn|was",
    "the committee|approved|approved|the new budget|was", "my brother|wrote|written|the song|was",
    "the police|arrested|arrested|the thieves|were", "the gardener|planted|planted|the roses|were",
    "the dog|chased|chased|the postman|was", "the students|cleaned|cleaned|the classroom|was",
    "the council|closed|closed|the library|was", "the teacher|marked|marked|the exams|were",
    "a famous architect|designed|designed|the bridge|was", "the nurse|checked|checked|the patient|was",
    "our neighbours|built|built|the stone wall|was", "the waiter|served|served|the soup|was",
    "the flood|damaged|damaged|the houses|were", "the manager|signed|signed|the contract|was",
    "my aunt|baked|baked|the birthday cake|was", "the volunteers|collected|collected|the rubbish|was",
    "the pilot|landed|landed|the plane|was", "the company|hired|hired|three engineers|were",
    "the cat|knocked over|knocked over|the vase|was", "the editor|rejected|rejected|the article|was",
    "the farmer|sold|sold|the horses|were", "the wind|blew down|blown down|the old fence|was",
))


def _tense() -> list[Draft]:
    past = (
        ("{s} {v.past} {v.rest}.", "{s} {v.s3} {v.rest}."),
        ("On weekdays {s} {v.past} {v.rest}.", "On weekdays {s} {v.s3} {v.rest}."),
        ("{s} usually {v.past} {v.rest} before noon.", "{s} usually {v.s3} {v.rest} before noon."),
        ("I think {s} {v.past} {v.rest} quite often.", "I think {s} {v.s3} {v.rest} quite often."),
        ("When it rained, {s} {v.past} {v.rest}.", "When it rains, {s} {v.s3} {v.rest}."),
        ("{s} {v.past} {v.rest} and then had a rest.", "{s} {v.s3} {v.rest} and then has a rest."),
    )
    future = (
        ("{s} will {v.base} {v.rest}.", "{s} {v.s3} {v.rest}."),
        ("On weekdays {s} will {v.base} {v.rest}.", "On weekdays {s} {v.s3} {v.rest}."),
        ("I think {s} will {v.base} {v.rest} quite often.", "I think {s} {v.s3} {v.rest} quite often."),
        ("If it rains, {s} is going to {v.base} {v.rest}.", "If it rains, {s} {v.s3} {v.rest}."),
        ("{s} will {v.base} {v.rest} and then will have a rest.", "{s} {v.s3} {v.rest} and then has a rest."),
        ("After breakfast {s} is going to {v.base} {v.rest}.", "After breakfast {s} {v.s3} {v.rest}."),
    )
    slots = {"s": _SUBJECTS, "v": VERBS}
    return [
        Draft("past_tense", "tense", "Past tense vs present tense of the same sentence.",
              generate("past_tense", past, slots)),
        Draft("future_tense", "tense", "Future (will / going to) vs present tense of the same sentence.",
              generate("future_tense", future, slots)),
    ]


def _aspect() -> list[Draft]:
    progressive = (
        ("{s} is {v.ing} {v.rest}.", "{s} {v.s3} {v.rest}."),
        ("Right now {s} is {v.ing} {v.rest}.", "Right now {s} {v.s3} {v.rest}."),
        ("I heard that {s} was {v.ing} {v.rest}.", "I heard that {s} {v.past} {v.rest}."),
        ("At that moment {s} was {v.ing} {v.rest}.", "At that moment {s} {v.past} {v.rest}."),
        ("{s} is still {v.ing} {v.rest}, I think.", "{s} still {v.s3} {v.rest}, I think."),
    )
    perfect = (
        ("{s} has {v.part} {v.rest} since Monday.", "{s} {v.past} {v.rest} on Monday."),
        ("I believe {s} has just {v.part} {v.rest}.", "I believe {s} {v.past} {v.rest} yesterday."),
        ("By then {s} had already {v.part} {v.rest}.", "Back then {s} {v.past} {v.rest}."),
        ("{s} has never {v.part} {v.rest} before.", "{s} never {v.past} {v.rest} before."),
        ("They say {s}'s {v.part} {v.rest} twice this year.", "They say {s} {v.past} {v.rest} twice last year."),
        ("{q} have {v.part} {v.rest} many times.", "{q} {v.past} {v.rest} many times."),
    )
    slots = {"s": _SUBJECTS, "v": VERBS, "q": _PLURAL_SUBJECTS}
    return [
        Draft("progressive", "aspect", "Progressive (is/was ...ing) vs simple form of the same sentence.",
              generate("progressive", progressive, slots)),
        Draft("perfect", "aspect", "Perfect (has/had + participle) vs simple past of the same sentence.",
              generate("perfect", perfect, slots)),
    ]


_PROPERTIES = tuple(tuple(p.split("|")) for p in (
    "soup|hot", "room|clean", "film|long", "road|safe", "shop|open", "answer|correct", "bridge|finished",
    "water|cold", "test|difficult", "bread|fresh", "printer|working", "car|expensive", "garden|tidy", "train|full",
    "story|true", "music|loud", "coffee|strong", "hotel|quiet", "path|muddy", "paint|dry",
))


def _negation() -> list[Draft]:
    action = (
        ("{s} did not {v.base} {v.rest}.", "{s} {v.past} {v.rest}."),
        ("{s} does not {v.base} {v.rest}.", "{s} {v.s3} {v.rest}."),
        ("I know {s} won't {v.base} {v.rest}.", "I know {s} will {v.base} {v.rest}."),
        ("{s} never {v.past} {v.rest} last year.", "{s} often {v.past} {v.rest} last year."),
        ("Today {s} didn't {v.base} {v.rest}.", "Today {s} did {v.base} {v.rest}."),
        ("It seems {s} has not {v.part} {v.rest} yet.", "It seems {s} has {v.part} {v.rest} already."),
    )
    prop = (
        ("The {p[0]} is not {p[1]} this time.", "The {p[0]} is {p[1]} this time."),
        ("I am sure the {p[0]} was not {p[1]} yesterday.", "I am sure the {p[0]} was {p[1]} yesterday."),
        ("They told me the {p[0]} isn't {p[1]} today.", "They told me the {p[0]} is {p[1]} today."),
        ("Apparently the {p[0]} will not be {p[1]} tomorrow.", "Apparently the {p[0]} will be {p[1]} tomorrow."),
        ("My friend said the {p[0]} was never {p[1]}.", "My friend said the {p[0]} was always {p[1]}."),
        ("I noticed that the {p[0]} is no longer {p[1]}.", "I noticed that the {p[0]} is still {p[1]}."),
        ("Nobody thinks the {p[0]} is {p[1]} now.", "Everybody thinks the {p[0]} is {p[1]} now."),
    )
    return [
        Draft("negation", "negation", "Negated vs affirmative statements of an action (not, never, won't).",
              generate("negation", action, {"s": _SUBJECTS, "v": VERBS})),
        Draft("negated_property", "negation", "Negated vs affirmative statements of a property.",
              generate("negated_property", prop, {"p": _PROPERTIES})),
    ]


def _number() -> list[Draft]:
    objects = (
        ("The {t.pl} are next to the door.", "The {t.sg} is next to the door."),
        ("Those {t.pl} were much older than we thought.", "That {t.sg} was much older than we thought."),
        ("We found the {t.pl} under the stairs last week.", "We found the {t.sg} under the stairs last week."),
        ("These {t.pl} belong to my grandmother.", "This {t.sg} belongs to my grandmother."),
        ("The {t.pl} have been cleaned and put away.", "The {t.sg} has been cleaned and put away."),
        ("Where did you put the {t.pl} I gave you?", "Where did you put the {t.sg} I gave you?"),
        ("The new {t.pl} look lovely in the hall.", "The new {t.sg} looks lovely in the hall."),
        ("Several {t.pl} were broken during the move.", "One {t.sg} was broken during the move."),
    )
    people = (
        ("The {h.pl} were waiting outside the hall.", "The {h.sg} was waiting outside the hall."),
        ("Our {h.pl} say the road is closed.", "Our {h.sg} says the road is closed."),
        ("Those {h.pl} have lived here for years.", "That {h.sg} has lived here for years."),
        ("I spoke to the {h.pl} after the meeting.", "I spoke to the {h.sg} after the meeting."),
        ("The {h.pl} are tired after the long day.", "The {h.sg} is tired after the long day."),
        ("Some {h.pl} asked about the new rules.", "One {h.sg} asked about the new rules."),
        ("These {h.pl} want to join the club.", "This {h.sg} wants to join the club."),
    )
    return [
        Draft("plural_objects", "number", "Plural vs singular object nouns (with agreeing verbs and determiners).",
              generate("plural_objects", objects, {"t": THINGS})),
        Draft("plural_people", "number", "Plural vs singular nouns for people (with agreeing verbs and determiners).",
              generate("plural_people", people, {"h": HUMANS})),
    ]


def _person() -> list[Draft]:
    first = (
        ("I {v.past} {v.rest}.", "{p.np} {v.past} {v.rest}."),
        ("Yesterday I {v.past} {v.rest}, and I enjoyed it.", "Yesterday {p.np} {v.past} {v.rest}, and {p.pron} "
                                                             "enjoyed it."),
        ("In my opinion, I {v.past} {v.rest} too quickly.", "In {p.poss} opinion, {p.pron} {v.past} {v.rest} too "
                                                            "quickly."),
        ("My friends say I {v.past} {v.rest} last week.", "{p.poss} friends say {p.pron} {v.past} {v.rest} last "
                                                          "week."),
        ("I told myself that I {v.past} {v.rest}.", "{p.pron} told {p.refl} that {p.pron} {v.past} {v.rest}."),
        ("The job to {v.base} {v.rest} was given to me.", "The job to {v.base} {v.rest} was given to {p.np}."),
    )
    second = (
        ("You {v.past} {v.rest}.", "{p.np} {v.past} {v.rest}."),
        ("Yesterday you {v.past} {v.rest}, and you enjoyed it.", "Yesterday {p.np} {v.past} {v.rest}, and "
                                                                 "{p.pron} enjoyed it."),
        ("In your opinion, you {v.past} {v.rest} too quickly.", "In {p.poss} opinion, {p.pron} {v.past} {v.rest} "
                                                                "too quickly."),
        ("Your friends say you {v.past} {v.rest} last week.", "{p.poss} friends say {p.pron} {v.past} {v.rest} "
                                                              "last week."),
        ("You know that you {v.past} {v.rest}.", "{p.pron} knows that {p.pron} {v.past} {v.rest}."),
        ("The job to {v.base} {v.rest} was given to you.", "The job to {v.base} {v.rest} was given to {p.np}."),
    )
    plural = (
        ("We {v.past} {v.rest}.", "I {v.past} {v.rest}."),
        ("Yesterday we {v.past} {v.rest}, and we enjoyed it.", "Yesterday I {v.past} {v.rest}, and I enjoyed it."),
        ("In our opinion, we {v.past} {v.rest} too quickly.", "In my opinion, I {v.past} {v.rest} too quickly."),
        ("Our friends say we {v.past} {v.rest} {t}.", "My friends say I {v.past} {v.rest} {t}."),
        ("We told ourselves that we {v.past} {v.rest} {t}.", "I told myself that I {v.past} {v.rest} {t}."),
        ("Both of us {v.past} {v.rest} {t}.", "Only I {v.past} {v.rest} {t}."),
        ("The job to {v.base} {v.rest} was given to us {t}.", "The job to {v.base} {v.rest} was given to me {t}."),
    )
    times = ("last week", "on Sunday", "twice", "this morning", "last summer", "at the weekend")
    return [
        Draft("first_person", "person", "First person singular (I, my) vs third person (she/he, her/his).",
              generate("first_person", first, {"p": PEOPLE, "v": VERBS})),
        Draft("second_person", "person", "Second person (you, your) vs third person (she/he, her/his).",
              generate("second_person", second, {"p": PEOPLE, "v": VERBS})),
        Draft("first_person_plural", "person", "First person plural (we, our) vs singular (I, my).",
              generate("first_person_plural", plural, {"v": VERBS, "t": times})),
    ]


def _question_and_mood() -> list[Draft]:
    question = (
        ("Did {s} {v.base} {v.rest}?", "{s} {v.past} {v.rest}."),
        ("Does {s} {v.base} {v.rest}?", "{s} {v.s3} {v.rest}."),
        ("Will {s} {v.base} {v.rest} tomorrow?", "{s} will {v.base} {v.rest} tomorrow."),
        ("Why did {s} {v.base} {v.rest} so early?", "{s} {v.past} {v.rest} so early."),
        ("Has {s} {v.part} {v.rest} yet?", "{s} has {v.part} {v.rest} already."),
        ("When does {s} {v.base} {v.rest}?", "{s} {v.s3} {v.rest} on Mondays."),
    )
    imperative = (
        ("{v.base} {v.rest} today.", "{s} {v.s3} {v.rest} today."),
        ("Please {v.base} {v.rest} before lunch.", "{s} {v.s3} {v.rest} before lunch."),
        ("Don't forget to {v.base} {v.rest}.", "{s} did not forget to {v.base} {v.rest}."),
        ("Go and {v.base} {v.rest} right away.", "{s} went and {v.past} {v.rest} right away."),
        ("Now {v.base} {v.rest}, and be careful.", "Now {s} {v.s3} {v.rest}, carefully."),
    )
    slots = {"s": _SUBJECTS, "v": VERBS}
    return [
        Draft("question", "question", "Questions vs the matching statements.", generate("question", question, slots)),
        Draft("imperative", "mood", "Commands (imperative) vs statements about someone doing the same thing.",
              generate("imperative", imperative, slots)),
    ]


def _voice() -> list[Draft]:
    frames = (
        ("{e.patient} {e.was} {e.part} by {e.agent}.", "{e.agent} {e.past} {e.patient}."),
        ("Yesterday afternoon {e.patient} {e.was} {e.part} by {e.agent}.",
         "Yesterday afternoon {e.agent} {e.past} {e.patient}."),
        ("I heard that {e.patient} {e.was} {e.part} by {e.agent}.", "I heard that {e.agent} {e.past} {e.patient}."),
        ("In the end, {e.patient} {e.was} {e.part} by {e.agent}.", "In the end, {e.agent} {e.past} {e.patient}."),
        ("Everyone knows {e.patient} {e.was} {e.part} by {e.agent}.",
         "Everyone knows {e.agent} {e.past} {e.patient}."),
        ("Last week {e.patient} {e.was} finally {e.part}, it seems.", "Last week {e.agent} finally {e.past} "
                                                                      "{e.patient}, it seems."),
    )
    return [Draft("passive", "voice", "Passive voice vs active voice of the same event.",
                  generate("passive", frames, {"e": EVENTS}))]


def drafts() -> list[Draft]:
    """All grammatical concepts."""
    return _tense() + _aspect() + _negation() + _number() + _person() + _question_and_mood() + _voice()
