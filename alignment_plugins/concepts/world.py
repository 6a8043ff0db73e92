"""World concepts: physical attributes (size, temperature, speed, age), setting (night, winter), quantity, truth."""

from __future__ import annotations

from alignment_plugins.capabilities import ContrastivePair
from alignment_plugins.concepts.base import Draft, generate

# name: (description, nouns, positive adjectives, negative adjectives, frames with {n} and {a})
_ATTRIBUTE_FRAMES = (
    "The {a} {n} stood right in the middle of the yard.",
    "I could not believe how {a} the {n} was.",
    "Everyone stared at the {a} {n} for a while.",
    "In the photo, the {n} looks really {a}.",
    "My neighbour told me the {n} was {a}.",
    "We were surprised that the {n} seemed so {a}.",
)
ATTRIBUTES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "big": ("Something large vs something small, same sentence.",
            ("dog", "house", "box", "tree", "boat", "cake", "garden", "stone", "room", "bag", "fish", "statue"),
            ("huge", "enormous", "gigantic", "massive", "giant"), ("tiny", "little", "miniature", "small", "petite"),
            _ATTRIBUTE_FRAMES),
    "hot": ("Something hot vs something cold, same sentence.",
            ("soup", "tea", "bath water", "room", "car seat", "stone floor", "coffee", "sand", "milk", "kitchen",
             "metal railing", "wind"),
            ("hot", "boiling", "scorching", "burning hot", "steaming"), ("cold", "freezing", "icy", "chilly",
                                                                          "frosty"),
            ("The {n} was {a} when I touched it.", "I could not believe how {a} the {n} was.",
             "By noon the {n} felt {a}.", "She complained that the {n} was far too {a}.",
             "The {a} {n} made everyone shiver or sweat.", "We noticed the {n} had become {a}.")),
    "fast": ("Something fast vs something slow, same sentence.",
             ("train", "car", "internet connection", "waiter", "river", "horse", "bus", "runner", "computer",
              "boat", "lift", "delivery"),
             ("fast", "quick", "rapid", "speedy", "swift"), ("slow", "sluggish", "leisurely", "unhurried",
                                                               "plodding"),
             ("The {n} was surprisingly {a} today.", "I could not believe how {a} the {n} was.",
              "Everyone talked about the {a} {n}.", "They say the new {n} is very {a}.",
              "Compared with last year, the {n} seems {a}.", "We were lucky that the {n} was so {a}.")),
    "old": ("Something old vs something new, same sentence.",
            ("house", "bridge", "clock", "church", "car", "piano", "map", "coin", "castle", "bicycle", "tree",
             "photograph"),
            ("ancient", "old", "antique", "weathered", "very old"), ("new", "modern", "brand-new", "recent",
                                                                         "newly made"),
            _ATTRIBUTE_FRAMES),
}

_PLACES = ("streets", "park", "forest", "market", "harbour", "old town", "square", "campus", "beach", "village",
           "valley", "city centre")
_SETTINGS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    "night": ("The same scene at night vs in daytime.",
              ("at midnight", "late at night", "under the stars", "in the dark of night", "after the sun had set",
               "in the small hours"),
              ("at noon", "in the middle of the day", "under the bright sun", "in broad daylight",
               "in the late morning", "in the early afternoon"),
              (("We walked through the {p} {a}.", "We walked through the {p} {b}."),
               ("The {p} was completely quiet {a}.", "The {p} was completely quiet {b}."),
               ("I took a photo of the {p} {a}.", "I took a photo of the {p} {b}."),
               ("{a}, the {p} looked different.", "{b}, the {p} looked different."),
               ("My friends met me in the {p} {a}.", "My friends met me in the {p} {b}."))),
    "winter": ("The same scene in winter vs in summer.",
               ("in the depths of winter", "during the snowy winter", "in the January frost",
                "on a freezing December morning", "when the snow was deep", "in the middle of winter"),
               ("in the height of summer", "during the sunny summer", "in the July heat",
                "on a warm June morning", "when the days were long", "in the middle of summer"),
               (("We visited the {p} {a}.", "We visited the {p} {b}."),
                ("The {p} was full of people {a}.", "The {p} was full of people {b}."),
                ("I remember the {p} best {a}.", "I remember the {p} best {b}."),
                ("{a}, the {p} felt like another world.", "{b}, the {p} felt like another world."),
                ("They painted the {p} {a}.", "They painted the {p} {b}."))),
}

_MANY = ("hundreds of", "dozens of", "countless", "a huge crowd of", "so many", "thousands of")
_FEW = ("only two", "just a few", "hardly any", "a handful of", "one or two", "barely three")
_PLURALS = ("people", "birds", "cars", "boats", "tourists", "students", "cyclists", "children", "dogs",
            "runners", "shoppers", "musicians")
_QUANTITY_FRAMES = (
    ("There were {m} {n} in the square this morning.", "There were {f} {n} in the square this morning."),
    ("We counted {m} {n} along the road.", "We counted {f} {n} along the road."),
    ("{m} {n} arrived before noon.", "{f} {n} arrived before noon."),
    ("That day I saw {m} {n} in the park.", "That day I saw {f} {n} in the park."),
    ("By evening, {m} {n} had gathered by the river.", "By evening, {f} {n} had gathered by the river."),
)

# True statements and a false variant changing as little as possible (written for this project).
_TRUTH = (
    ("Water freezes at zero degrees Celsius.", "Water freezes at fifty degrees Celsius."),
    ("Paris is the capital city of France.", "Paris is the capital city of Brazil."),
    ("A week has seven days in it.", "A week has twelve days in it."),
    ("The sun rises in the east each morning.", "The sun rises in the west each morning."),
    ("Most spiders have eight legs and several eyes.", "Most spiders have three legs and several eyes."),
    ("Cows are mammals that give milk.", "Cows are insects that give milk."),
    ("The Pacific is the largest ocean on Earth.", "The Pacific is the smallest ocean on Earth."),
    ("There are twelve months in a year.", "There are twenty months in a year."),
    ("Ice is the solid form of water.", "Ice is the gaseous form of water."),
    ("Penguins live mostly in the Southern Hemisphere.", "Penguins live mostly in the Sahara desert."),
    ("The Moon orbits the Earth about once a month.", "The Moon orbits the Earth about once an hour."),
    ("Every triangle has exactly three sides.", "Every triangle has exactly five sides."),
    ("Bees make honey from the nectar of flowers.", "Bees make honey from the sand of beaches."),
    ("Humans need oxygen to breathe.", "Humans need helium to breathe."),
    ("Mount Everest is the highest mountain in the world.", "Mount Everest is the lowest mountain in the world."),
    ("Two plus two equals four.", "Two plus two equals nine."),
    ("The heart pumps blood around the body.", "The liver pumps blood around the body."),
    ("Tokyo is a large city in Japan.", "Tokyo is a large city in Canada."),
    ("Fish breathe through their gills underwater.", "Fish breathe through their ears underwater."),
    ("Fresh snow is usually white and cold.", "Fresh snow is usually black and hot."),
    ("William Shakespeare wrote the play Hamlet.", "Charles Darwin wrote the play Hamlet."),
    ("The Earth travels around the Sun.", "The Sun travels around the Earth."),
    ("Elephants are much larger than mice.", "Mice are much larger than elephants."),
    ("Sound travels more slowly than light.", "Sound travels more quickly than light."),
    ("A hundred centimetres make one metre.", "A hundred centimetres make one kilometre."),
    ("Lemons usually taste sour and sharp.", "Lemons usually taste sweet and creamy."),
    ("The Nile is a river in Africa.", "The Nile is a river in Australia."),
    ("Plants use sunlight to make their food.", "Plants use sound to make their food."),
    ("Gold is a precious yellow metal.", "Gold is a precious yellow gas."),
    ("Diamonds are much harder than chalk.", "Diamonds are much softer than chalk."),
    ("Rome is the capital city of Italy.", "Rome is the capital city of Norway."),
    ("Boiling water is hotter than melting ice.", "Boiling water is colder than melting ice."),
    ("An octopus has eight long arms.", "An octopus has two long arms."),
    ("Owls are mostly active at night.", "Owls are mostly active underwater."),
)


def drafts() -> list[Draft]:
    """Attribute (4), setting (2), quantity and truth concepts."""
    out = []
    for name, (description, nouns, pos, neg, frames) in ATTRIBUTES.items():
        pairs = generate(name, [(f.replace("{a}", "{p}"), f.replace("{a}", "{q}")) for f in frames],
                         {"n": nouns, "p": pos, "q": neg})
        out.append(Draft(name, "attribute", description, pairs))
    for name, (description, pos, neg, frames) in _SETTINGS.items():
        out.append(Draft(name, "setting", description, generate(name, frames, {"p": _PLACES, "a": pos, "b": neg})))
    out.append(Draft("many", "quantity", "Many vs few of the same things, same sentence.",
                     generate("many", _QUANTITY_FRAMES, {"m": _MANY, "f": _FEW, "n": _PLURALS})))
    out.append(Draft("truth", "truth", "A true factual statement vs a minimally changed false one.",
                     tuple(ContrastivePair(t, f) for t, f in _TRUTH)))
    return out
