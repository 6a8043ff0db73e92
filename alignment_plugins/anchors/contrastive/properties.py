"""Property sets: physical attributes, colour, material, evaluations, settings and quantities of everyday things."""

from __future__ import annotations

from alignment_plugins.anchors.contrastive.base import ContrastiveSet, build

# Predicative frames shared by the attribute sets: {n} a singular noun, {a} the adjective.
_STATE_FRAMES = (
    "Somebody mentioned that the {n} was {a} again.",
    "I was told the {n} would be {a} by this afternoon.",
    "The {n} seemed {a} when I came back from the shop.",
    "Everybody in the house agreed that the {n} was {a}.",
    "I could tell at a glance that the {n} was {a}.",
    "She pointed at the {n} and said it was {a}.",
)
# name: (description, nouns, adjectives with the property, adjectives with the contrasting one)
ATTRIBUTES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "wet": ("Something wet vs something dry.",
            ("grass", "sand on the path", "tent", "garden bench", "firewood", "pavement", "washing on the line",
             "bath mat", "sponge", "picnic blanket", "dog's bed", "seat of the swing"),
            ("wet", "soaking wet", "damp", "drenched", "sodden"),
            ("dry", "bone dry", "perfectly dry", "dried out", "completely dry")),
    "soft": ("Something soft vs something hard.",
             ("pillow", "mattress", "bread roll", "cheese", "ground in the field", "sofa cushion", "butter",
              "seat of the chair", "modelling clay", "toffee", "pear", "bed in the spare room"),
             ("soft", "very soft", "squishy", "soft and springy", "pillowy"),
             ("hard", "rock hard", "very hard", "stiff and hard", "solid")),
    "heavy": ("Something heavy vs something light.",
              ("suitcase", "box of books", "parcel", "shopping bag", "rucksack", "toolbox", "bucket", "crate",
               "bag of flour", "wardrobe", "cast-iron pan", "winter coat"),
              ("heavy", "very heavy", "incredibly heavy", "as heavy as lead", "weighty"),
              ("light", "very light", "feather-light", "light as a feather", "lightweight")),
    "sweet": ("Something sweet vs something bitter.",
              ("lemonade", "coffee", "plum jam", "cocoa", "sauce on the ribs", "home-made wine", "grapefruit",
               "cider", "tea from the flask", "dark chocolate", "marmalade", "cough syrup"),
              ("sweet", "very sweet", "sugary", "sweet as honey", "syrupy"),
              ("bitter", "very bitter", "sharp and bitter", "rather bitter", "quite bitter")),
    "loud": ("Something loud vs something quiet.",
             ("music next door", "washing machine", "fridge", "party upstairs", "fan in the bedroom", "lawnmower",
              "road outside", "radio in the workshop", "hairdryer", "dishwasher", "heating pipe", "old printer"),
             ("loud", "very loud", "deafening", "noisy", "extremely noisy"),
             ("quiet", "very quiet", "almost silent", "hushed", "silent")),
    "full": ("A container that is full vs one that is empty.",
             ("fridge", "biscuit tin", "bath", "petrol tank", "fruit bowl", "water jug", "wardrobe", "post box",
              "rubbish bag", "paint tin", "sugar jar", "laundry hamper"),
             ("full", "completely full", "packed", "full to the brim", "crammed full"),
             ("empty", "completely empty", "nearly empty", "totally empty", "bare")),
}

# Attributive frames shared by the colour and material sets: {a} an adjective starting with a consonant.
_OBJECT_FRAMES = (
    "We found a {a} {n} at the back of the shed.",
    "My grandmother still uses the same {a} {n} every day.",
    "There was a {a} {n} on the table when we arrived.",
    "He asked if he could borrow my {a} {n} for the weekend.",
    "The shop round the corner was selling a {a} {n} quite cheaply.",
    "I put the {a} {n} back where it belongs after dinner.",
)
_OBJECTS: dict[str, tuple[str, str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "red": ("colour", "A red object vs the same object in blue.",
            ("bicycle", "scarf", "umbrella", "mug", "kite", "raincoat", "bucket", "backpack", "teapot", "toy car",
             "sleeping bag", "notebook", "flask"),
            ("red", "bright red", "dark red", "cherry-red", "scarlet"),
            ("blue", "bright blue", "dark blue", "sky-blue", "navy")),
    "wooden": ("material", "A wooden object vs the same object in plastic.",
               ("spoon", "chair", "toy boat", "bowl", "box", "ruler", "comb", "picnic table", "clothes peg",
                "chopping board", "tray", "stool"),
               ("wooden", "solid wooden", "pine", "beech", "carved wooden"),
               ("plastic", "grey plastic", "white plastic", "moulded plastic", "recycled plastic")),
}

# name: (description, frames with {x} and {a}, subjects, adjectives with the property, contrasting adjectives)
EVALUATIONS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "easy": ("A task judged easy vs the same task judged difficult.",
             ("To be honest, I found {x} {a} this time.", "My cousin says {x} is {a} for beginners.",
              "We all agreed that {x} turned out to be {a}.", "After an hour or so, we decided {x} was {a}.",
              "The instructions made {x} look {a}."),
             ("the crossword in the Sunday paper", "assembling the new bookcase", "the board game we got last year",
              "the quiz at the pub", "the form for the library card", "the walk up to the reservoir",
              "setting up the new printer", "the jigsaw of the harbour", "changing the bicycle tyre",
              "the application for a parking space", "the route through the old town", "the sudoku on the back page"),
             ("easy", "very easy", "simple", "straightforward", "effortless"),
             ("difficult", "very difficult", "tricky", "complicated", "hard going")),
    "punctual": ("Someone arriving on time vs arriving late.",
                 ("My neighbour mentioned that {x} {a} this morning.", "On the day of the move, {x} {a}.",
                  "Just as Dad predicted, {x} {a}.", "I made a note that {x} {a} on Tuesday.",
                  "Once again this week, {x} {a}.", "According to the message, {x} {a} today."),
                 ("the plumber turned up", "the delivery van arrived", "the number twelve bus came",
                  "my cousin's coach got in", "the window cleaner arrived", "the taxi to the airport came",
                  "the babysitter turned up", "the new lodger arrived", "the electrician showed up",
                  "the removal men turned up", "the post arrived", "the dog walker came"),
                 ("on time", "right on time", "exactly on time", "punctually", "at the agreed time"),
                 ("late", "very late", "an hour late", "long after the agreed time", "later than planned")),
    "fair": ("An arrangement judged fair vs judged unfair.",
             ("Most people thought {x} was {a}.", "If you ask me, {x} seemed {a}.",
              "Even the twins admitted that {x} was {a}.", "My uncle wrote to the paper saying {x} was {a}.",
              "Looking back, {x} was {a}, I suppose."),
             ("the way the prize money was split", "the new rota for the washing-up",
              "the decision to close the pool early", "the rule about parking on the drive",
              "the landlord's rent increase", "the charge for extra luggage", "the way the cake was shared out",
              "the queue system at the post office", "the decision to give the job to Sam",
              "the split of the household chores", "the fine for returning the book late",
              "the allocation of seats on the coach"),
             ("fair", "perfectly fair", "fair to everyone", "reasonable and fair", "even-handed"),
             ("unfair", "deeply unfair", "unjust", "one-sided", "rather unfair")),
}

_SETTINGS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "outdoors": ("The same activity outdoors vs indoors.",
                 ("{x} {a} on Saturday morning.", "I think {x} {a} for most of the day.",
                  "Because it was Sunday, {x} {a}.", "Last weekend {x} {a} with the radio on.",
                  "My sister says {x} {a} until it got late."),
                 ("we ate our lunch", "the children played cards", "the group practised yoga",
                  "my aunt read her book", "the club held its monthly meeting", "we had the birthday tea",
                  "the cat slept all afternoon", "Grandad fixed the old radio", "the twins sorted their stamps",
                  "we waited for the taxi", "my cousins played board games", "we sorted through the old photos"),
                 ("out in the garden", "outside on the grass", "in the open air", "out on the patio",
                  "outside under the trees"),
                 ("in the living room", "inside by the fire", "indoors in the kitchen", "in the front room",
                  "inside in the hall")),
    "countryside": ("Living or staying in the countryside vs in the city.",
                    ("{x} has lived {a} for almost ten years.", "{x} spent the long weekend {a} with old friends.",
                     "{x} opened a little bookshop {a} last spring.", "{x} grew up {a} with three brothers.",
                     "{x} has found a new job {a}, not far from a bakery.", "{x} wants to retire {a} one day."),
                    ("my cousin", "our old neighbour", "the woman from the choir", "my best friend",
                     "the retired postman", "my sister-in-law", "the family next door", "my godfather"),
                    ("in a quiet country village", "out in the countryside", "among the fields and hedges",
                     "in a cottage down a country lane", "deep in the countryside", "in a tiny rural hamlet"),
                    ("in the middle of the city", "on a busy city street", "in a flat downtown",
                     "in the heart of the city", "near the city's main square", "in a high-rise in the city centre")),
}

_FRACTION_FRAMES = (
    "{q} the {n} was gone before the guests arrived.",
    "My brother ate {q} the {n} while we were out shopping.",
    "We gave {q} the {n} to the neighbours on Sunday.",
    "I think the dog got {q} the {n} this morning.",
    "She wrapped up {q} the {n} and took it to work.",
    "There was a note saying {q} the {n} was for Grandad.",
)
_FOODS = ("pizza", "apple pie", "loaf", "chocolate bar", "cheese", "watermelon", "bread pudding", "trifle", "quiche",
          "jar of jam", "tray of flapjacks", "lemon tart")
_EXCESS_FRAMES = (
    "Someone had put {q} {m[0]} {m[1]} this morning.",
    "My dad said there was {q} {m[0]} {m[1]}.",
    "I reckon there was {q} {m[0]} {m[1]} last time.",
    "Apparently there is {q} {m[0]} {m[1]} again.",
    "The note on the door said there was {q} {m[0]} {m[1]}.",
)
_MASSES = tuple(tuple(m.split("|")) for m in (
    "water|in the bath", "soap|in the washing machine", "glue|on the poster", "air|in the bicycle tyres",
    "paint|on the old brush", "luggage|in the boot of the car", "furniture|in the little bedroom",
    "paper|in the printer tray", "fuel|in the lawnmower", "sand|in the children's sandpit",
    "polish|on the wooden floor", "string|on the parcel",
))


def sets() -> list[ContrastiveSet]:
    """Attribute (6), colour, material, evaluation (3), setting (2) and quantity (2) sets."""
    state = [(f.replace("{a}", "{p}"), f.replace("{a}", "{q}")) for f in _STATE_FRAMES]
    out = [build(name, "attribute", description, state, {"n": nouns, "p": pos, "q": neg})
           for name, (description, nouns, pos, neg) in ATTRIBUTES.items()]
    things = [(f.replace("{a}", "{p}"), f.replace("{a}", "{q}")) for f in _OBJECT_FRAMES]
    out += [build(name, kind, description, things, {"n": nouns, "p": pos, "q": neg})
            for name, (kind, description, nouns, pos, neg) in _OBJECTS.items()]
    for kind, table in (("evaluation", EVALUATIONS), ("setting", _SETTINGS)):
        for name, (description, frames, subjects, pos, neg) in table.items():
            pairs = [(f.replace("{a}", "{p}"), f.replace("{a}", "{q}")) for f in frames]
            out.append(build(name, kind, description, pairs, {"x": subjects, "p": pos, "q": neg}))
    fraction = [(f.replace("{q}", "{p}"), f) for f in _FRACTION_FRAMES]
    out.append(build("fraction", "quantity", "Part of something (half, a third ...) vs all of it.", fraction,
                     {"n": _FOODS, "p": ("half of", "a third of", "a quarter of", "two thirds of", "about half of"),
                      "q": ("all of", "all", "every crumb of", "every bit of", "the whole of")}))
    excess = [(f.replace("{q}", "{p}"), f) for f in _EXCESS_FRAMES]
    out.append(build("excess", "quantity", "Too much of something vs the right amount of it.", excess,
                     {"m": _MASSES, "p": ("too much", "far too much", "way too much", "much too much",
                                          "an excessive amount of"),
                      "q": ("just enough", "enough", "the right amount of", "exactly enough",
                            "a sensible amount of")}))
    return out
