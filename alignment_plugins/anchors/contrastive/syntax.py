"""Sentence-level sets: absence, ordinals, generic persons, gender, tag and reported questions, direct speech,
comparison, intensifiers, and causal and concessive links."""

from __future__ import annotations

from alignment_plugins.anchors.contrastive.base import ContrastiveSet, build

_ABSENCE_FRAMES = (
    "My cousin set off for the market {w} {x} this morning.",
    "Dad walked round the park {w} {x} yesterday.",
    "She turned up at the meeting {w} {x} again.",
    "I always go over to my aunt's house {w} {x}.",
    "The boys went camping for the weekend {w} {x}.",
    "Grandma came round for tea {w} {x} on Friday.",
)
_CARRIED = ("a coat", "an umbrella", "a scarf", "a pen", "a key", "a shopping list", "a water bottle",
            "a spare jumper", "a phone charger", "a packed lunch", "a map", "a hat")

_ORDINAL_FRAMES = (
    ("Take the {o} turning on the right after the {l}.", "Take the next turning on the right after the {l}."),
    ("We got off the bus at the {o} stop after the {l}.", "We got off the bus at the next stop after the {l}."),
    ("My cousin lives in the {o} house past the {l}.", "My cousin lives in the nearest house to the {l}."),
    ("The {o} shop after the {l} sells old records.", "The shop next to the {l} sells old records."),
    ("Turn left at the {o} set of traffic lights after the {l}.", "Turn left at the traffic lights after the {l}."),
    ("Park in the {o} space along from the {l}, please.", "Park in the space next to the {l}, please."),
)
_LANDMARKS = ("church", "petrol station", "garden centre", "big roundabout", "fire station", "post office",
              "old mill", "retail park", "duck pond", "village green", "supermarket", "bus depot")

_GENERIC_FRAMES = (
    "{s} should always check the tyres before a long drive.",
    "{s} can never have too many tea towels in the kitchen.",
    "{s} ought to read the small print before buying a phone.",
    "{s} learns a lot by listening to older people talk.",
    "{s} needs a good pair of boots for muddy walks.",
    "{s} should drink a glass of water before breakfast.",
    "{s} will always be glad of a spare jumper in the evening.",
    "{s} feels better after a short walk in the fresh air.",
    "{s} has to be patient when the lifts are broken.",
    "{s} should keep a little cash at home for emergencies.",
    "{s} gets used to a new town after a few months.",
    "{s} can pick up a new language at almost any age.",
)
_SPECIFIC = ("my uncle Frank", "Aunt Meg", "my neighbour Sunil", "the new manager", "my sister", "our landlady",
             "the twins' father", "my cousin Ruth")

# (woman, her pronoun, man, his pronoun)
_COUPLES = tuple(tuple(c.split("|")) for c in (
    "my aunt|she|my uncle|he", "the landlady|she|the landlord|he", "my niece|she|my nephew|he",
    "the girl next door|she|the boy next door|he", "Grandma|she|Grandad|he", "the postwoman|she|the postman|he",
    "my stepmother|she|my stepfather|he", "the duchess|she|the duke|he", "my granddaughter|she|my grandson|he",
    "the waitress|she|the waiter|he", "my goddaughter|she|my godson|he",
    "the old lady upstairs|she|the old man upstairs|he", "my sister-in-law|she|my brother-in-law|he",
))
_GENDER_FRAMES = (
    "{g[0]} phoned to say {g[1]} would be late for supper.",
    "I bumped into {g[0]} at the bakery, and {g[1]} waved.",
    "{g[0]} lent us a ladder because {g[1]} had two.",
    "We waved at {g[0]} as {g[1]} cycled past the shop.",
    "{g[0]} insisted that {g[1]} would pay for the taxi.",
    "Nobody expected {g[0]} to come to the fete, but {g[1]} did.",
)

# (statement, matching question tag)
_TAGGED = tuple(tuple(t.split("|")) for t in (
    "the swimming baths on Queen Street close early on Fridays|don't they",
    "your brother has lived in that flat for ages|hasn't he",
    "the plumber is coming round again on Thursday morning|isn't he",
    "we ran out of washing-up liquid at the weekend|didn't we",
    "the gutter above the back door needs clearing again|doesn't it",
    "Maya will be picking us up from the coach station|won't she",
    "the lift in the block of flats was broken yesterday|wasn't it",
    "you left the spare blanket in the airing cupboard|didn't you",
    "they can fit two more chairs round the kitchen table|can't they",
    "the new neighbours have got a very friendly dog|haven't they",
    "the corner shop stays open until ten on weekdays|doesn't it",
    "Leo was supposed to bring the folding table along|wasn't he",
    "this bus goes all the way to the retail park|doesn't it",
    "we should have booked a bigger room for the party|shouldn't we",
    "the parcel for number twelve arrived this afternoon|didn't it",
    "your cousins are staying with you until Sunday night|aren't they",
))
_TAG_FRAMES = (
    ("{t[0]}, {t[1]}?", "{t[0]}."),
    ("Well, {t[0]}, {t[1]}?", "Well, {t[0]}."),
    ("So {t[0]}, {t[1]}?", "So {t[0]}."),
)

_ASKERS = ("my aunt", "the caretaker", "our neighbour", "the woman at the desk", "my flatmate", "the driver",
           "Grandad", "the new lodger")
_CLAUSES = ("the café on the corner was still open", "the plumber had fixed the boiler",
            "the buses ran on Sunday mornings", "the parcel for flat two had arrived",
            "the footpath by the canal was closed", "the pool had reopened after the repairs",
            "the key to the shed was under the mat", "the last ferry had already left", "the shop took cards",
            "the fair was coming back this year", "the lift in the car park was working",
            "the library had the new atlas")
_REPORTED_FRAMES = (
    ("{r} asked whether {c}.", "{r} said that {c}."),
    ("{r} wanted to know if {c}.", "{r} told us that {c}."),
    ("{r} wondered aloud whether {c}.", "{r} mentioned that {c}."),
    ("At breakfast {r} asked if {c}.", "At breakfast {r} said {c}."),
    ("On the phone {r} asked me whether {c}.", "On the phone {r} told me that {c}."),
)

# (quoted words, the same reported with the tense moved back)
_SAID = tuple(tuple(s.split("|")) for s in (
    "The front gate is stuck again|the front gate was stuck again",
    "The bakery has run out of rolls|the bakery had run out of rolls",
    "The bins go out on Thursday|the bins went out on Thursday",
    "The heating is making a strange noise|the heating was making a strange noise",
    "The spare room needs a new lightbulb|the spare room needed a new lightbulb",
    "The man from number four keeps knocking|the man from number four kept knocking",
    "The car park fills up by nine|the car park filled up by nine",
    "The new timetable starts on Monday|the new timetable started on Monday",
    "The shop on the corner is closing down|the shop on the corner was closing down",
    "The tap in the bathroom drips all night|the tap in the bathroom dripped all night",
    "The lift only goes up to the fourth floor|the lift only went up to the fourth floor",
    "The van is blocking the drive|the van was blocking the drive",
))
_SPEAKERS = ("my uncle", "the porter", "our landlady", "the man next door", "my sister", "the caretaker's wife",
             "Auntie Jo", "the lodger upstairs")
_SPEECH_FRAMES = (
    ('{s} said, "{q[0]}."', "{s} said that {q[1]}."),
    ('"{q[0]}," {s} told me.', "{s} told me that {q[1]}."),
    ('{s} called out, "{q[0]}!"', "{s} called out that {q[1]}."),
    ('"{q[0]}," {s} explained.', "{s} explained that {q[1]}."),
    ('Over the fence {s} said, "{q[0]}."', "Over the fence {s} said that {q[1]}."),
)

# (thing, adjective, comparative)
_COMPARED = tuple(tuple(c.split("|")) for c in (
    "kettle|quiet|quieter", "reading lamp|bright|brighter", "sofa bed|comfy|comfier", "fridge|roomy|roomier",
    "bike lock|strong|stronger", "garden hose|long|longer", "ironing board|sturdy|sturdier", "umbrella|wide|wider",
    "kitchen bin|tall|taller", "alarm clock|simple|simpler", "toaster|shiny|shinier", "desk|neat|neater",
    "hallway rug|thick|thicker", "shower head|gentle|gentler",
))
_COMPARATIVE_FRAMES = (
    ("According to my mum, the new {i[0]} is {i[2]} than the last one.",
     "According to my mum, the new {i[0]} is {i[1]}."),
    ("I have to admit that the new {i[0]} is {i[2]} than the old one.",
     "I have to admit that the new {i[0]} is {i[1]}."),
    ("Everyone who visits agrees that our {i[0]} is {i[2]} than theirs.",
     "Everyone who visits agrees that our {i[0]} is {i[1]}."),
    ("The {i[0]} in the spare room is {i[2]} than ours.", "The {i[0]} in the spare room is {i[1]}."),
    ("The {i[0]} we bought this year is {i[2]} than before.", "The {i[0]} we bought this year is {i[1]}."),
)
_DESCRIBED = tuple(tuple(d.split("|")) for d in (
    "the path by the canal|muddy", "the queue at the chemist|long", "the lane behind the church|narrow",
    "the hill up to the school|steep", "the water in the lido|clear", "the woman at number six|friendly",
    "the waiting room at the garage|crowded", "the instructions for the oven|confusing", "the soup at the café|salty",
    "the car park behind the library|busy", "the old staircase in the hall|creaky", "the light in the hallway|dim",
    "the blanket on the sofa|scratchy",
))
_INTENSITY_FRAMES = (
    ("{i[0]} was {x} {i[1]} this morning.", "{i[0]} was {i[1]} this morning."),
    ("I thought {i[0]} was {x} {i[1]} on Friday.", "I thought {i[0]} was {i[1]} on Friday."),
    ("My friend warned me that {i[0]} is {x} {i[1]}.", "My friend warned me that {i[0]} is {i[1]}."),
    ("To me, {i[0]} seemed {x} {i[1]} yesterday.", "To me, {i[0]} seemed {i[1]} yesterday."),
)
_INTENSIFIERS = ("extremely", "incredibly", "terribly", "remarkably", "exceptionally", "unusually")

# (what happened, why it happened)
_CAUSES = tuple(tuple(c.split("|")) for c in (
    "we stayed in all afternoon|the path was icy",
    "the shop closed early|the owner had a family party",
    "my brother took a taxi home|his bike had a puncture",
    "the meeting was moved to Friday|the hall was double-booked",
    "we ate at the kitchen table|the dining room was being painted",
    "the baby slept for hours|she had been awake most of the night",
    "the neighbours knocked on our door|their kitchen tap was leaking",
    "I walked to work|the buses were on strike",
    "the bread went stale|nobody had wrapped it up",
    "the garden party moved indoors|a strong wind picked up",
    "the lodger paid his rent late|his wages came in a day late",
    "we missed the start of the show|the car would not start",
    "the library stayed open until nine|there was a book sale",
    "Grandad bought a new kettle|the old one had stopped working",
))
_CAUSAL_FRAMES = (
    ("{c[0]} because {c[1]}.", "{c[0]}, and {c[1]}."),
    ("I think {c[0]} because {c[1]}.", "I think {c[0]}, and {c[1]}."),
    ("On Monday {c[0]} because {c[1]}.", "On Monday {c[0]}, and {c[1]}."),
    ("As it turned out, {c[0]} because {c[1]}.", "As it turned out, {c[0]}, and {c[1]}."),
)
# (an obstacle, what happened anyway)
_OBSTACLES = tuple(tuple(c.split("|")) for c in (
    "the bus was nearly an hour late|we got to the cinema on time",
    "the shop was about to close|the owner let us in",
    "the instructions looked complicated|the shelf went up quickly",
    "the flat was tiny|six of us stayed there for a week",
    "the road was closed|the removal van found a way through",
    "nobody had practised|the quiz team did well",
    "the tickets were expensive|the hall was full",
    "the map was out of date|we found the guesthouse easily",
    "the printer was ancient|it printed every page perfectly",
    "the kettle was new|it already leaked",
    "the lift was out of order|Grandma climbed to the fifth floor",
    "the café was packed|we found a table by the window",
    "the train was cancelled|my cousin arrived in time for lunch",
))
_CONCESSION_FRAMES = (
    ("Although {c[0]}, {c[1]}.", "{c[0]}, and {c[1]}."),
    ("Even though {c[0]}, {c[1]}.", "{c[0]}, and then {c[1]}."),
    ("I was told that although {c[0]}, {c[1]}.", "I was told that {c[0]}, and {c[1]}."),
)


def sets() -> list[ContrastiveSet]:
    """Negation, number, person, gender, question (2), speech, degree (2) and discourse (2) sets."""
    absence = [(f.replace("{w}", "without"), f.replace("{w}", "with")) for f in _ABSENCE_FRAMES]
    generic = [(f, f.replace("{s}", "{n}")) for f in _GENERIC_FRAMES]
    gender = [(f, f.replace("{g[0]}", "{g[2]}").replace("{g[1]}", "{g[3]}")) for f in _GENDER_FRAMES]
    return [
        build("absence", "negation", "Doing something without an item vs with it.", absence, {"x": _CARRIED}),
        build("ordinal", "number", "A position given by an ordinal number (the third) vs the next or nearest one.",
              _ORDINAL_FRAMES, {"o": ("second", "third", "fourth", "fifth", "sixth"), "l": _LANDMARKS}),
        build("generic_person", "person", "A generic person (one, anyone) vs a specific person, same advice.",
              generic, {"s": ("one", "anyone", "a person"), "n": _SPECIFIC}),
        build("female", "gender", "A woman or girl vs a man or boy doing the same thing.", gender, {"g": _COUPLES}),
        build("tag_question", "question", "A statement with a question tag (isn't it?) vs the bare statement.",
              _TAG_FRAMES, {"t": _TAGGED}),
        build("reported_question", "question", "A reported question (asked whether) vs a reported statement.",
              _REPORTED_FRAMES, {"r": _ASKERS, "c": _CLAUSES}),
        build("direct_speech", "speech", "Direct speech in quotation marks vs the same words reported.",
              _SPEECH_FRAMES, {"s": _SPEAKERS, "q": _SAID}),
        build("comparative", "degree", "A comparison (quieter than) vs the plain adjective.", _COMPARATIVE_FRAMES,
              {"i": _COMPARED}),
        build("intensity", "degree", "An intensified adjective (extremely muddy) vs the plain adjective.",
              _INTENSITY_FRAMES, {"i": _DESCRIBED, "x": _INTENSIFIERS}),
        build("causal", "discourse", "Two events linked by cause (because) vs merely joined (and).", _CAUSAL_FRAMES,
              {"c": _CAUSES}),
        build("concession", "discourse", "An outcome despite an obstacle (although) vs the two merely joined.",
              _CONCESSION_FRAMES, {"c": _OBSTACLES}),
    ]
