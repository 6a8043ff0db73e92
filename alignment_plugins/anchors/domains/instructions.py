"""Instructions: how-to steps, recipes, requests to an assistant, commands and directions.

No pinned package ships such English text as prose, so it is generated from templates written here: multi-step
procedures for household, garden, computer and travel tasks, short recipes, requests and commands a user gives an
assistant, safety notices and route directions.
"""

from __future__ import annotations

from alignment_plugins.anchors.domains import generated, sentence
from alignment_plugins.anchors.sourcing import Cand, Rng, Wheel

DOMAIN = "instructions"

# task: steps (imperative, lower-case, no final full stop)
PROCEDURES: dict[str, tuple[str, ...]] = {
    "change a bicycle tyre": ("shift to the smallest cog", "open the brake and remove the wheel",
                              "lever one side of the tyre off the rim", "pull out the old tube",
                              "run your fingers inside the tyre to find anything sharp",
                              "fit the new tube and push the tyre back on", "pump it to the pressure on the sidewall"),
    "repot a houseplant": ("water the plant an hour before", "choose a pot one size larger",
                           "put a layer of fresh compost in the bottom", "ease the plant out by tipping the pot",
                           "loosen the roots gently", "set it at the same depth as before",
                           "fill around it and firm the soil", "water well and keep it out of direct sun for a week"),
    "back up the photos on your phone": ("connect to Wi-Fi", "open the settings menu", "tap the backup option",
                                         "choose which albums to include", "start the backup and leave the phone "
                                         "charging", "check a few pictures on the other device afterwards"),
    "bleed a radiator": ("turn the heating off and let the radiators cool", "put a cloth under the valve",
                         "turn the bleed key a quarter turn", "wait for the hissing to stop and water to appear",
                         "close the valve again", "check the boiler pressure and top it up if needed"),
    "make a compost heap": ("pick a shady corner of the garden", "start with a layer of twigs for air",
                            "add green waste such as peelings and grass", "add brown waste such as cardboard "
                            "and leaves", "keep it as damp as a wrung-out sponge", "turn it every few weeks"),
    "set up a new email signature": ("open the mail app's settings", "find the section called signatures",
                                     "type your name, role and phone number", "keep it to three or four lines",
                                     "save the change", "send yourself a test message"),
    "prepare for a long-distance walk": ("break in your boots weeks before", "plan the route and tell someone "
                                         "where you're going", "pack water, snacks and a waterproof",
                                         "check the forecast the night before", "start early and pace yourself",
                                         "stop before you're exhausted"),
    "clean a cast-iron pan": ("let it cool a little", "rinse it with hot water", "scrub off stuck bits with coarse "
                              "salt", "dry it completely on the hob", "rub in a thin film of oil",
                              "store it somewhere dry"),
    "write a cover letter": ("read the job advert twice", "open with the role you're applying for",
                             "give two examples that match what they ask for", "explain why this company in "
                             "particular", "keep it to one page", "proofread it aloud before sending"),
    "hang a picture straight": ("hold the frame where you want it and mark the top edge", "measure down to the "
                                "hook", "use a spirit level to mark the nail position", "tap the nail in at a "
                                "slight angle", "hang the frame and adjust until the bubble sits centred"),
    "reset a forgotten password": ("go to the sign-in page", "choose the option for a forgotten password",
                                   "enter the address you registered with", "open the link in the message you "
                                   "receive", "pick a long passphrase you haven't used before",
                                   "store it in a password manager"),
    "train a puppy to sit": ("hold a treat just above its nose", "move the treat slowly back over its head",
                             "say the word once as its bottom goes down", "reward it straight away",
                             "practise for a few minutes several times a day", "gradually stop using the treat"),
}
CONNECTORS = (("First,", "Next,", "Then", "After that,", "Finally,"),
              ("Step 1:", "Step 2:", "Step 3:", "Step 4:", "Step 5:"),
              ("1.", "2.", "3.", "4.", "5."),
              ("Start by", "Once that's done,", "Now", "When you're ready,", "To finish,"))


def _procedure(r: Rng) -> str:
    task = r.choice(sorted(PROCEDURES))
    steps = PROCEDURES[task]
    k = r.randint(3, min(5, len(steps)))
    start = r.randint(0, len(steps) - k)
    chosen = steps[start:start + k]
    words = r.choice(CONNECTORS)
    parts = []
    for i, (word, step) in enumerate(zip(words, chosen, strict=False)):
        if i == 0 and word == "Start by":
            parts.append(f"Start by {_gerund(step)}.")
        elif word[-1] in ".:":  # "1." or "Step 1:" -> a capitalised step
            parts.append(f"{word} {sentence(step)}.")
        else:
            parts.append(f"{word} {step}.")
    intro = r.choice((f"How to {task}:", f"To {task}, follow these steps.", f"Here's how to {task}.",
                      f"Instructions: {task}."))
    return sentence(" ".join([intro, *parts]))


def _gerund(step: str) -> str:
    """``step`` with its leading verb in the -ing form ("choose a pot" -> "choosing a pot")."""
    verb, _, rest = step.partition(" ")
    if verb.endswith("e") and not verb.endswith(("ee", "ye")):
        verb = verb[:-1]
    elif len(verb) >= 3 and verb[-1] in "pntg" and verb[-2] in "aeiou" and verb[-3] not in "aeiou":
        verb += verb[-1]
    return f"{verb}ing {rest}".strip()


RECIPES = (
    ("overnight oats", ("stir half a cup of oats into the same amount of milk", "add a spoon of yoghurt and a "
                        "pinch of cinnamon", "cover and leave in the fridge overnight", "top with berries in the "
                        "morning")),
    ("a quick tomato sauce", ("soften a chopped onion in olive oil", "add two crushed garlic cloves",
                              "tip in a tin of tomatoes and a pinch of sugar", "simmer for twenty minutes and "
                              "season")),
    ("scrambled eggs", ("whisk three eggs with a splash of milk", "melt butter in a pan over low heat",
                        "pour in the eggs and stir slowly", "take them off the heat while still glossy")),
    ("lemon vinaigrette", ("squeeze half a lemon into a jar", "add three spoons of olive oil",
                           "add a little mustard, salt and pepper", "shake until it thickens")),
    ("flatbreads", ("mix flour, yoghurt and a pinch of salt into a soft dough", "divide it into six balls",
                    "roll each one thin", "cook in a dry hot pan for a minute each side")),
    ("roast vegetables", ("heat the oven to two hundred degrees", "chop the vegetables into even chunks",
                          "toss them in oil, salt and rosemary", "roast for forty minutes, turning once")),
)


def _recipe(r: Rng) -> str:
    name, steps = r.choice(RECIPES)
    tail = r.choice(("Serve straight away.", "Enough for two.", "Keeps for three days in the fridge.",
                     "Taste and adjust the seasoning.", ""))
    joined = ", then ".join(steps[:-1]) + f", and finally {steps[-1]}."
    return sentence(r.choice([
        f"To make {name}, {joined} {tail}",
        f"Recipe for {name}: {'. '.join(sentence(s) for s in steps)}. {tail}",
        f"{sentence(name)}, the easy way: {joined} {tail}",
    ]).strip())


DOCS = ("the attached report", "this email thread", "my lecture notes", "the meeting transcript", "this article",
        "the paragraph below", "my CV", "these customer reviews", "the user manual", "this recipe")
TRANSFORMS = ("summarise {d} in three bullet points", "translate {d} into plain English",
              "list the action items in {d}", "rewrite {d} so a ten-year-old could follow it",
              "check {d} for spelling mistakes", "turn {d} into a short quiz with answers",
              "pull out every date mentioned in {d}", "shorten {d} to under a hundred words",
              "suggest a title for {d}", "point out anything unclear in {d}")
ASKS = ("Please {t}.", "Could you {t}?", "Can you {t} for me?", "I need you to {t}, thanks.",
        "{T}, and keep the tone neutral.", "Quick favour: {t}.", "{T}. Don't add anything that isn't there.",
        "Would you mind if I asked you to {t}?")


def _request(r: Rng) -> str:
    t = r.choice(TRANSFORMS).format(d=r.choice(DOCS))
    ask = r.choice(ASKS)
    extra = r.choice(("", " It's for a meeting at nine.", " Use British spelling.", " Keep it friendly.",
                      " I'm in a hurry.", " Then email it to the team."))
    return sentence(ask.format(t=t, T=sentence(t)) + extra)


COMMANDS = ("Switch off the lights in the living room.", "Set a timer for twelve minutes.",
            "Add oat milk and batteries to the shopping list.", "Remind me to call the vet at four.",
            "Turn the heating down two degrees.", "Play something calm for studying.",
            "Book a table for four on Friday at eight.", "Cancel my alarm for tomorrow.",
            "Open the spreadsheet called household budget.", "Mute all notifications until lunch.",
            "Move my dentist appointment to next week.", "Start a new page called holiday ideas.")
COMMAND_PREFIXES = ("", "Right, ", "OK, ", "Hey, ", "Now ", "Please ")
COMMAND_SUFFIXES = ("", " Then read me the weather.", " And tell me what's next on my calendar.",
                    " After that, lock the front door.", " Thanks.", " Do it quietly.")


def _command(r: Rng) -> str:
    a, b = r.sample(COMMANDS, 2)
    prefix = r.choice(COMMAND_PREFIXES)
    first = prefix + (a[:1].lower() + a[1:] if prefix else a)
    return sentence(r.choice([f"{first} {b}", f"{first}{r.choice(COMMAND_SUFFIXES)}"]).strip())


HAZARDS = (("the fire alarm sounds", ("leave by the nearest exit", "do not use the lifts",
                                      "gather at the assembly point in the car park", "wait until a marshal "
                                      "says it is safe")),
           ("you smell gas", ("do not switch anything on or off", "open doors and windows",
                              "turn off the supply at the meter", "call the emergency number from outside")),
           ("someone is choking", ("encourage them to cough", "give up to five sharp back blows",
                                   "try abdominal thrusts if that fails", "call for help if it does not clear")),
           ("you are caught in a thunderstorm outdoors", ("stay away from tall trees", "crouch low with your "
                                                          "feet together", "avoid open water",
                                                          "wait half an hour after the last thunder")))


def _safety(r: Rng) -> str:
    event, steps = r.choice(HAZARDS)
    k = r.randint(2, len(steps))
    return sentence(r.choice([
        f"If {event}: {'; '.join(steps[:k])}.",
        f"What to do if {event}. {' '.join(sentence(s) + '.' for s in steps[:k])}",
        f"Safety notice. When {event}, {', '.join(steps[:k - 1])} and {steps[k - 1]}.",
    ]))


LANDMARKS = ("the bakery", "a blue door", "the roundabout", "the second set of lights", "the war memorial",
             "a petrol station", "the footbridge", "the school gates", "the big oak tree")


def _directions(r: Rng) -> str:
    a, b, c = r.sample(LANDMARKS, 3)
    turn1, turn2 = r.choice(("left", "right")), r.choice(("left", "right"))
    dest = r.choice(("the library", "the hospital entrance", "my house", "the sports hall", "the ferry terminal"))
    return sentence(r.choice([
        f"To get to {dest}, head straight past {a}, turn {turn1} at {b}, and it's just after {c}.",
        f"From the station, walk towards {a}. Take the {turn1} at {b}, then the next {turn2}. {sentence(dest)} is "
        f"opposite {c}.",
        f"Go down the hill until you reach {a}, bear {turn1}, and keep going until you see {c}; {dest} is on the "
        f"{turn2}.",
    ]))


FAMILIES = {"procedure": (_procedure, 500), "recipe": (_recipe, 150), "request": (_request, 260),
            "command": (_command, 200), "safety": (_safety, 80), "directions": (_directions, 200)}


def pools(wheels: dict[str, Wheel]) -> dict[str, list[Cand]]:
    """The instructions pool: ``instruction-templates``, one template family per kind of instruction."""
    return {"instruction-templates": [c for family, (make, n) in FAMILIES.items()
                                      for c in generated(DOMAIN, family, n, make)]}
