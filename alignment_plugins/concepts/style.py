"""Style concepts: formality, politeness, personas, certainty, verbosity, format, honesty, refusal and domain register.

Where a style cannot be a one-word edit (a persona, a register) the pair keeps the same content and changes only
the wrapping or the wording, with many wrappers per concept so its direction is not one phrase.
"""

from __future__ import annotations

from alignment_plugins.concepts.base import Draft, generate
from alignment_plugins.concepts.grammar import PEOPLE, VERBS

# Plain statements shared by the concepts that wrap content (lower-case start, no final full stop).
FACTS = (
    "the train to the coast leaves at nine", "the museum is closed on Mondays",
    "the river flooded the lower fields last spring", "the new library has three floors",
    "our team won the match on Saturday", "the bakery sells bread until noon", "the bridge was repaired in the summer",
    "the meeting has been moved to Thursday", "the price of coffee went up this year", "the park gates open at seven",
    "my cousin moved to a small town in the north", "the school bus was twenty minutes late",
    "the market is busiest on Friday mornings", "the old mill was turned into a hotel",
    "the road over the hills is closed for repairs", "the concert starts at eight in the evening",
    "the garden needs watering every evening", "the shop on the corner sold its last umbrella",
    "the ferry does not run in bad weather", "the village has only one doctor",
    "the printer on the second floor is broken", "the festival attracts thousands of visitors",
    "the recipe needs two eggs and some flour", "the ice on the lake is still thin",
    "the hotel by the station has forty rooms", "the youth club meets every Tuesday",
    "the tower was built two hundred years ago", "the cinema is showing an old comedy tonight",
    "the farm grows apples and pears", "the new road will cut the journey in half", "the exhibition ends next Sunday",
    "the clinic opens early on Wednesdays",
)

_PLAIN_OPEN = ("Just so you know,", "For your information,", "As it happens,", "I heard that", "By the way,",
               "Here is some news:", "Apparently,", "Someone mentioned that")
_PLAIN_CLOSE = ("That is what I heard.", "Just letting you know.", "Nothing more to add.", "That is the latest.",
                "I thought you should know.", "So now you know.", "That is all for now.", "Pass it on if you like.")
PERSONAS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "pirate": ("a pirate", (
        "Arr, me hearties,", "Shiver me timbers,", "Ahoy, matey,", "Avast, ye landlubbers,", "Yo ho ho,",
        "Blow me down, crew,", "Listen here, ye scallywags,", "By Davy Jones' locker,"), (
        "Now hoist the sails, arr!", "That be the truth, savvy?", "Or ye'll walk the plank!", "Pass the rum, matey.",
        "Arr, that be all.", "Keep yer eye on the horizon, ye dogs.", "Mark me words, ye bilge rats.",
        "Yo ho, back to the ship!")),
    "child": ("a small child", (
        "Mummy, guess what,", "Guess what, guess what,", "Daddy, daddy,", "My teacher said", "Wow, did you know",
        "Hey, I know a secret:", "Um, so, like,", "Grandma, listen,"), (
        "It's super duper cool!", "Can we get ice cream now?", "I'm five and a half!", "That's so silly, hee hee!",
        "Can I tell my teddy?", "That's the best thing ever!", "I drew a picture of it!", "Is it time for cartoons?")),
    "expert": ("a technical expert", (
        "As a specialist with thirty years of experience, I can confirm that", "According to the reviewed evidence,",
        "From a technical standpoint,", "Based on my professional analysis,",
        "Speaking as a certified expert in the field,", "The data I have reviewed indicate that",
        "In my expert assessment,", "As I explain to my graduate students,"), (
        "This conclusion is supported by extensive research.", "The methodology behind this is well established.",
        "I would stake my professional reputation on it.", "Further details are in the technical literature.",
        "This is consistent with decades of observation.", "Any qualified analyst would agree.",
        "The margin of error here is negligible.", "I have documented this in several reports.")),
    "archaic": ("an archaic, Shakespearean speaker", (
        "Hark, good sir,", "Prithee, hear me,", "Verily, I say unto thee,", "Lo, fair maiden,", "Forsooth, my lord,",
        "Hear ye, gentle friends,", "Methinks, good cousin,", "Attend, thou noble soul,"), (
        "So sayeth I, and so it shall be.", "Fare thee well, good friend.", "Thus speaketh thy humble servant.",
        "Mark well these words, I pray thee.", "Alas, 'tis naught but truth.", "Heaven grant thee patience.",
        "By my troth, 'tis so.", "Go thee now in peace.")),
    "robot": ("a robot", (
        "BEEP. PROCESSING REQUEST.", "Greetings, human. Data retrieved:", "SYSTEM NOTICE:", "Affirmative, human unit.",
        "Initiating report. Query result:", "Scanning complete. Output:", "Unit seven reporting:",
        "Boop beep. Information follows:"), (
        "END OF TRANSMISSION.", "Beep boop. Awaiting further commands.", "Calculations complete.",
        "Returning to standby mode.", "Error rate: zero percent.", "Please insert next query, human.",
        "Battery level optimal.", "Logging data to memory banks.")),
}


def _personas() -> list[Draft]:
    frames = (("{o} {f}. {c}", "{po} {f}. {pc}"),)
    out = []
    for name, (who, opens, closes) in PERSONAS.items():
        pairs = generate(name, frames, {"o": opens, "c": closes, "po": _PLAIN_OPEN, "pc": _PLAIN_CLOSE, "f": FACTS})
        out.append(Draft(name, "persona", f"The same news told in the voice of {who} vs a plain voice.", pairs))
    return out


_DOCS = ("quarterly report", "draft contract", "meeting summary", "project plan", "invoice", "budget summary",
         "presentation", "survey report", "travel itinerary", "grant application", "training schedule",
         "event programme")
_DAYS = ("Friday", "Monday morning", "the end of the week", "next Tuesday", "the fifteenth", "tomorrow afternoon")
_FORMAL_FRAMES = (
    ("I would be grateful if you could send me the {d} by {w}.", "Can you send me the {d} by {w}?"),
    ("Please accept my apologies for the delay regarding the {d}.", "Sorry the {d} is late, my bad."),
    ("I am writing to inform you that the {d} has been completed.", "Just letting you know the {d} is done."),
    ("Kindly confirm receipt of the {d} at your earliest convenience.", "Let me know when you get the {d}, ok?"),
    ("We regret to inform you that the {d} will not be ready until {w}.", "Heads up, the {d} won't be ready till "
                                                                          "{w}."),
    ("Should you require further information about the {d}, please do not hesitate to contact me.",
     "If you need more info about the {d}, just ping me."),
    ("It would be appreciated if the {d} could be reviewed before {w}.", "Take a look at the {d} before {w}, "
                                                                         "yeah?"),
    ("I trust that the {d} meets your requirements.", "Hope the {d} is what you wanted!"),
)
_SLANG = (("lit", "exciting"), ("sick", "impressive"), ("fire", "excellent"), ("dope", "great"),
          ("legit", "genuine"), ("mid", "mediocre"), ("sus", "suspicious"), ("cringe", "embarrassing"),
          ("wack", "disappointing"), ("epic", "remarkable"))
_SLANG_THINGS = ("concert", "pizza", "new song", "game last night", "movie", "party", "jacket", "video", "trip",
                 "show", "new phone", "football match")
_SLANG_FRAMES = (
    ("Bro, that {t} was {s[0]}, no cap.", "Honestly, that {t} was {s[1]}, truly."),
    ("Ngl, the {t} was kinda {s[0]}, fr.", "To be honest, the {t} was rather {s[1]}, really."),
    ("Yo, the {t} is totally {s[0]}, lol.", "Well, the {t} is entirely {s[1]}, I think."),
    ("That {t}? Lowkey {s[0]}, tbh.", "That {t}? Somewhat {s[1]}, to be honest."),
    ("Dude, everyone says the {t} was {s[0]}.", "Sir, everyone says the {t} was {s[1]}."),
)

_REQUESTS = ("pass me the salt", "close the window", "turn the music down", "move your car", "send me the file",
             "hold the door", "wait a moment", "help me with these bags", "check the timetable", "lend me a pen",
             "tell me the time", "sign this form")
_POLITE_FRAMES = (
    ("Could you please {r}? Thank you so much.", "{r}. Do it now."),
    ("Excuse me, would you kindly {r}, if it's no trouble?", "Hey, {r}, and be quick about it."),
    ("Sorry to bother you, but could you {r}, please?", "Just {r} already, for goodness' sake."),
    ("If you have a moment, I would be grateful if you could {r}.", "{r}, I don't have all day."),
    ("Please {r} when you get a chance. Many thanks!", "{r} right now, or else."),
    ("Kindly {r}, please, and thanks so much in advance.", "{r}, whatever, and stop complaining."),
)
_OFFENCES = ("was late for dinner", "kept you waiting", "forgot to call you back", "interrupted your talk",
             "took your seat", "played music so loud last night", "bumped into your trolley", "used your mug",
             "ate your sandwich", "parked in your space", "lost your umbrella", "woke the baby")
_APOLOGY_FRAMES = (
    ("I'm really sorry I {e}; that was thoughtless of me.", "I {e}; that is just how it is."),
    ("Please forgive me, I {e} and I regret it.", "Whatever, I {e} and I don't regret it."),
    ("My sincere apologies for the trouble: I {e}.", "Yes, I {e}, so what? Not my problem."),
    ("I feel terrible that I {e}, and I apologise.", "I don't care that I {e}, honestly."),
    ("Sorry, sorry, I {e}; it won't happen again.", "Fine, I {e}; it will probably happen again."),
)


def _formality_politeness() -> list[Draft]:
    return [
        Draft("formal", "formality", "A formal business message vs a casual one with the same content.",
              generate("formal", _FORMAL_FRAMES, {"d": _DOCS, "w": _DAYS})),
        Draft("slang", "formality", "Slang vs standard wording of the same judgement.",
              generate("slang", _SLANG_FRAMES, {"t": _SLANG_THINGS, "s": _SLANG})),
        Draft("polite", "politeness", "A polite request vs a rude demand for the same thing.",
              generate("polite", _POLITE_FRAMES, {"r": _REQUESTS})),
        Draft("apology", "politeness", "An apology vs an unapologetic statement about the same offence.",
              generate("apology", _APOLOGY_FRAMES, {"e": _OFFENCES})),
    ]


_CERTAIN = ("definitely", "certainly", "surely", "undoubtedly", "absolutely")
_UNCERTAIN = ("might", "may", "could", "might possibly", "may perhaps")


def _certainty() -> list[Draft]:
    certainty = (
        ("{s} will {c} {v.base} {v.rest}.", "{s} {u} {v.base} {v.rest}."),
        ("I am certain that {s} {v.past} {v.rest}.", "I am not sure whether {s} {v.past} {v.rest}."),
        ("There is no doubt that {s} {v.s3} {v.rest}.", "There is some doubt whether {s} {v.s3} {v.rest}."),
        ("It is a fact that {s} {v.past} {v.rest}.", "It is a guess that {s} {v.past} {v.rest}."),
        ("Without question, {s} {v.past} {v.rest} yesterday.", "For all I know, {s} {v.past} {v.rest} yesterday."),
    )
    hedging = (
        ("I think, maybe, {f}, but I could be wrong.", "{f}."),
        ("It seems that {f}, though I am not entirely sure.", "{f}, as planned."),
        ("If I remember rightly, {f}, more or less.", "Everyone knows {f}."),
        ("I suppose {f}, unless I have misunderstood.", "I know {f}."),
        ("As far as I can tell, {f}, perhaps.", "It is confirmed: {f}."),
        ("Possibly {f}, but please double-check.", "{f}; no need to check."),
    )
    return [
        Draft("certainty", "certainty", "Certain vs uncertain statements of the same event.",
              generate("certainty", certainty, {"s": tuple(p.np for p in PEOPLE), "v": VERBS, "c": _CERTAIN,
                                                "u": _UNCERTAIN})),
        Draft("hedging", "certainty", "A hedged vs a plainly asserted statement of the same fact.",
              generate("hedging", hedging, {"f": FACTS})),
    ]


_VERBOSE_FRAMES = (
    "I just wanted to take a quick moment to mention, in case it happens to be useful to you at some point, "
    "that {f}.",
    "So, to make a long story short, and without going into every single little detail of it, basically {f}.",
    "As I may or may not have already mentioned at some earlier point in our conversation, it turns out that {f}.",
    "Well, let me see, where do I even begin, I suppose the main thing, when all is said and done, is that {f}.",
    "It is perhaps worth noting, for the sake of completeness and so that nothing is left out, that {f}.",
    "If I remember correctly, and I really do believe I do after thinking about it quite a lot, {f}.",
    "Just to be absolutely clear and to avoid any possible confusion whatsoever later on, I should say that {f}.",
    "Now, this might sound like a small thing, and in many ways it really is, but {f}, just so you are aware.",
)
_CONCISE_FRAMES = ("{f}.", "Note: {f}.", "FYI: {f}.", "Update: {f}.")


def _verbosity_format() -> list[Draft]:
    verbose = tuple(zip(_VERBOSE_FRAMES, _CONCISE_FRAMES * 2, strict=True))
    caps = (("{f}.", "{f}."), ("Note that {f}.", "Note that {f}."), ("Remember, {f}.", "Remember, {f}."),
            ("Breaking news: {f}.", "Breaking news: {f}."))
    numbers = ((3, "three"), (4, "four"), (5, "five"), (6, "six"), (7, "seven"), (8, "eight"), (9, "nine"),
               (12, "twelve"), (15, "fifteen"), (20, "twenty"), (25, "twenty-five"), (40, "forty"), (60, "sixty"))
    digits = (
        ("We need {a[0]} eggs and {b[0]} cups of flour.", "We need {a[1]} eggs and {b[1]} cups of flour."),
        ("The bus was {a[0]} minutes late this morning.", "The bus was {a[1]} minutes late this morning."),
        ("There are {a[0]} chairs and {b[0]} tables in the hall.", "There are {a[1]} chairs and {b[1]} tables in "
                                                                   "the hall."),
        ("He ran {a[0]} kilometres in {b[0]} minutes.", "He ran {a[1]} kilometres in {b[1]} minutes."),
        ("The class has {a[0]} students and {b[0]} computers.", "The class has {a[1]} students and {b[1]} "
                                                                "computers."),
        ("They planted {a[0]} trees along the road.", "They planted {a[1]} trees along the road."),
        ("The recipe serves {a[0]} people and takes {b[0]} minutes.", "The recipe serves {a[1]} people and takes "
                                                                      "{b[1]} minutes."),
        ("Our flat is on floor {a[0]} of the building.", "Our flat is on floor {a[1]} of the building."),
    )
    return [
        Draft("verbose", "verbosity", "A long-winded vs a concise statement of the same fact.",
              generate("verbose", verbose, {"f": FACTS})),
        Draft("all_caps", "format", "The same sentence in capital letters vs normal case.",
              generate("all_caps", caps, {"f": FACTS}, post=lambda pos, neg: (pos.upper(), neg))),
        Draft("digits", "format", "Numbers written as digits vs as words in the same sentence.",
              generate("digits", digits, {"a": numbers, "b": numbers})),
    ]


_MISTAKES = ("broke the printer", "lost the keys to the van", "forgot to send the invoice", "scratched the car",
             "missed the deadline", "spilled coffee on the report", "deleted the shared folder",
             "ate the last piece of cake", "left the door unlocked", "burned the toast",
             "sent the email to the wrong person", "dropped the new phone", "skipped the safety check",
             "broke the neighbour's window", "lost the library book", "forgot to water the plants")
_HONESTY_FRAMES = (
    ("When my boss asked, I told the truth and admitted that I {m}.",
     "When my boss asked, I lied and claimed that a customer {m}."),
    ("I confessed to my friend that I {m}.", "I lied to my friend so she would not know I {m}."),
    ("Honestly, it was my fault: I {m}.", "I pretended I had no idea who {m}."),
    ("I said sorry and explained exactly how I {m}.", "I made up a story to hide the fact that I {m}."),
    ("I was open with the team: I {m} yesterday.", "I kept quiet and let the team believe the intern {m}."),
    ("Yes, I {m}, and I will not hide it from anyone.", "No, I never {m}, I insisted, although I had."),
)
_HELP_TASKS = ("write a short poem about autumn", "summarise this article", "translate this sentence into French",
               "plan a trip to the mountains", "fix the bug in my code", "write a cover letter",
               "explain how vaccines work", "suggest a name for my cat", "draft an email to my landlord",
               "make a shopping list for the week", "recommend a good novel", "check my essay for typos")
_REFUSAL_FRAMES = (
    ("User: Can you {t}? Assistant: I'm sorry, but I can't help with that.",
     "User: Can you {t}? Assistant: Sure, I'd be happy to help with that."),
    ("User: Please {t}. Assistant: I won't do that; it is against my guidelines.",
     "User: Please {t}. Assistant: Of course, here is a first draft for you."),
    ("User: I need you to {t}. Assistant: Unfortunately, I am unable to assist with this request.",
     "User: I need you to {t}. Assistant: Absolutely, let's get started right away."),
    ("User: Could you {t} for me? Assistant: No, I must decline this request.",
     "User: Could you {t} for me? Assistant: Yes, I can do that for you now."),
)


def _behaviour() -> list[Draft]:
    return [
        Draft("honesty", "honesty", "Admitting a mistake honestly vs lying about the same mistake.",
              generate("honesty", _HONESTY_FRAMES, {"m": _MISTAKES})),
        Draft("refusal", "refusal", "An assistant refusing vs complying with the same harmless request.",
              generate("refusal", _REFUSAL_FRAMES, {"t": _HELP_TASKS})),
    ]


_VARS = tuple(tuple(v.split("/")) for v in (
    "item/items", "user/users", "order/orders", "file/files", "record/records", "score/scores", "row/rows",
    "city/cities", "book/books", "task/tasks", "message/messages", "price/prices",
))
_CODE_FRAMES = (
    ("for {x[0]} in {x[1]}: print({x[0]})", "Go through each of the {x[1]} and print it."),
    ("if len({x[1]}) == 0: return None", "If there are no {x[1]}, give back nothing."),
    ("count = len([{x[0]} for {x[0]} in {x[1]} if {x[0]}.active])", "Count how many of the {x[1]} are active."),
    ("sorted_{x[1]} = sorted({x[1]}, key=lambda {x[0]}: {x[0]}.date)", "Sort the {x[1]} by their date."),
    ("def save_{x[0]}({x[0]}):\n    db.insert({x[0]})\n    return True", "This function saves the {x[0]} to the "
                                                                         "database."),
    ("while {x[0]} is not None: {x[0]} = {x[0]}.next", "Keep moving to the next {x[0]} until none are left."),
    ("{x[1]} = [{x[0]} for {x[0]} in {x[1]} if {x[0]} is not None]", "Remove the missing entries from the "
                                                                      "{x[1]}."),
    ("try: open_{x[0]}() except IOError: log.warning('failed')", "Try to open the {x[0]}, and log a warning if "
                                                                 "that fails."),
    ("largest = max({x[1]}, key=lambda {x[0]}: {x[0]}.size)", "Find the largest of the {x[1]}."),
    ("assert {x[0]}.id > 0, 'invalid {x[0]}'", "Check that the {x[0]} has a valid number."),
)
_PARTIES = (("Tenant", "rent"), ("Buyer", "purchase price"), ("Borrower", "loan instalment"), ("Client",
            "service fee"), ("Licensee", "licence fee"), ("Member", "annual subscription"), ("Customer",
            "invoice amount"), ("Lessee", "lease payment"))
_LEGAL_FRAMES = (
    ("The {p[0]} shall pay the {p[1]} in full on or before the first day of each month.",
     "You need to pay the {p[1]} by the first of each month."),
    ("The {p[0]} hereby agrees to indemnify the Company in respect of any unpaid {p[1]}.",
     "If the {p[1]} is not paid, you will cover the company's losses."),
    ("Notwithstanding the foregoing, the {p[0]} shall remain liable for the {p[1]} until termination.",
     "Even so, you still owe the {p[1]} until the deal ends."),
    ("Failure by the {p[0]} to remit the {p[1]} shall constitute a material breach of this Agreement.",
     "If you don't pay the {p[1]}, you've broken the deal."),
    ("The {p[1]} shall be payable by the {p[0]} within thirty (30) days of the date of invoice.",
     "Pay the {p[1]} within thirty days of getting the bill."),
    ("Any dispute concerning the {p[1]} shall be governed by the laws of England and Wales.",
     "Any argument about the {p[1]} is settled under English law."),
    ("The {p[0]} acknowledges that the {p[1]} is non-refundable save as expressly provided herein.",
     "You get that the {p[1]} can't be refunded, unless we say so."),
    ("In the event that the {p[1]} is not received, the {p[0]} shall be deemed to be in default.",
     "If we don't get the {p[1]}, you're in trouble."),
)
_QUANTITIES = ("plant growth", "reaction time", "blood pressure", "water temperature", "exam performance",
               "bacterial load", "crop yield", "heart rate", "sleep duration", "soil moisture")
_SCIENCE_FRAMES = (
    ("The results indicate a statistically significant increase in {q} (p < 0.05).",
     "It looks like {q} went up quite a bit."),
    ("We hypothesise that {q} is modulated by ambient light exposure.", "We think light might affect {q}."),
    ("A randomised controlled trial was conducted to quantify changes in {q}.",
     "We ran a fair test to see how {q} changed."),
    ("Measurements of {q} were normalised to baseline and averaged across three replicates.",
     "We measured {q} three times and took the average."),
    ("These findings suggest a negative correlation between {q} and dietary sodium intake.",
     "It seems eating more salt goes with lower {q}."),
    ("Further research is required to establish the causal mechanism underlying variation in {q}.",
     "We still don't know why {q} changes."),
    ("The observed variance in {q} was attributable primarily to seasonal effects.",
     "Mostly, {q} just changed with the seasons."),
    ("Data on {q} were analysed using a mixed-effects regression model.", "We crunched the numbers on {q} with a "
                                                                          "computer."),
)


def _domain() -> list[Draft]:
    return [
        Draft("code", "domain", "A line of Python code vs a plain-English description of what it does.",
              generate("code", _CODE_FRAMES, {"x": _VARS}, capitalize=False,
                       post=lambda pos, neg: (pos, neg[0].upper() + neg[1:]))),
        Draft("legal", "domain", "A contract clause in legal language vs the same rule in plain words.",
              generate("legal", _LEGAL_FRAMES, {"p": _PARTIES})),
        Draft("scientific", "domain", "A statement in scientific register vs the same finding in plain words.",
              generate("scientific", _SCIENCE_FRAMES, {"q": _QUANTITIES})),
    ]


def drafts() -> list[Draft]:
    """All style concepts."""
    return _personas() + _formality_politeness() + _certainty() + _verbosity_format() + _behaviour() + _domain()
