"""Register sets: greetings, honorifics, American English, hearsay, three narrator voices, headlines, manuals."""

from __future__ import annotations

import re

from alignment_plugins.anchors.contrastive.base import ContrastiveSet, build

_MESSAGES = (
    "The parcel for flat six is waiting at the front desk", "The meeting room upstairs is free after lunch",
    "Your dry cleaning is ready to collect from the shop", "The quiz team will meet at the pub at eight",
    "There is fresh coffee in the staff kitchen this morning", "The window cleaner will be here on Wednesday",
    "The car park will be closed for resurfacing next week", "The spare keys are in the blue tin by the door",
    "The new rota for the weekend shifts is on the noticeboard", "Your library books are due back this month",
    "The bikes need to be moved out of the hallway today", "The fire alarm will be tested at eleven today",
    "The minibus for the outing leaves from outside the hall", "Dinner tonight will be a little later than usual",
)
_GREETINGS = ("Good morning!", "Hello there!", "Hi everyone!", "Good afternoon, all.", "Morning, folks!",
              "Hello again, everybody.")
_NOTES = ("See the noticeboard for details.", "More details to follow.", "Details are on the website.",
          "Ask at reception for details.")

_HONORIFICS = tuple(tuple(h.split("|")) for h in (
    "Mrs Okafor|Ngozi", "Mr Henderson|Dave", "Dr Lindqvist|Karin", "Ms Alvarez|Lucia", "Mr Nakamura|Hiro",
    "Mrs Fitzgerald|Maureen", "Professor Adeyemi|Tunde", "Miss Patel|Anjali", "Mr Kowalski|Piotr",
    "Mrs Brennan|Siobhan", "Dr Mensah|Kwame", "Ms Whitfield|Jo",
))
_ADDRESS_FRAMES = (
    "{h} will collect the keys from the office on Friday.",
    "Could you let {h} know that the room is ready?",
    "I sat next to {h} at the residents' meeting last night.",
    "The parcel on the hall table is addressed to {h}.",
    "{h} wants to borrow the projector for the afternoon.",
    "We are having dinner with {h} and the family on Saturday.",
)

# [American|British] alternatives inside otherwise identical sentences; {t} is a time phrase.
_DIALECT_FRAMES = (
    "My [mom|mum] left the [cookies|biscuits] on the counter next to the [faucet|tap] {t}.",
    "We took the [elevator|lift] up to our [apartment|flat] on the top floor {t}.",
    "The kids threw their [candy|sweet] wrappers in the [trash can|rubbish bin] on the [sidewalk|pavement] {t}.",
    "I had to stand in [line|a queue] at the [gas station|petrol station] {t}.",
    "Our [neighbor|neighbour] parked his [truck|lorry] in the [parking lot|car park] {t}.",
    "She wrote our [zip code|postcode] on the back of the [check|cheque] {t}.",
    "The [color|colour] of the new [drapes|curtains] in the [living room|lounge] looked [gray|grey] {t}.",
    "We bought [fries|chips] and a [soda|fizzy drink] at the [mall|shopping centre] {t}.",
    "My [favorite|favourite] [sweater|jumper] got a hole in the sleeve {t}.",
    "The [movie theater|cinema] by the [highway|motorway] was half empty {t}.",
    "I left my [cell phone|mobile phone] in the [trunk|boot] of the car {t}.",
    "We planned our [vacation|holiday] for the [fall|autumn] {t}.",
    "The baby needed a clean [diaper|nappy] and a [pacifier|dummy] {t}.",
    "He put the [garbage|rubbish] out and locked the [yard|garden] gate {t}.",
    "Please [organize|organise] the [flashlights|torches] in the hall [closet|cupboard] {t}.",
    "The [subway|underground] station in the [center|centre] of town was busy {t}.",
)
_TIMES = ("this morning", "on Tuesday", "last week", "after lunch", "yesterday evening")
_ALTERNATIVE = re.compile(r"\[([^|\]]+)\|([^\]]+)\]")

# Local news, lower-case and without a full stop, wrapped by the hearsay and narrator sets.
_NEWS = (
    "the bridge over the canal has been painted dark green", "the old cinema on Park Road is becoming a bookshop",
    "the car park behind the church now closes at six", "the corner shop has started selling fresh flowers",
    "the number nine bus now skips the post office",
    "the town clock has finally been fixed after three years",
    "a new playground is being built beside the leisure centre",
    "the library will lend out tools from March",
    "the Thursday market is moving to the station square", "the footpath along the river has been widened at last",
    "the village hall got a new roof at the weekend", "the café by the canal has changed its name again",
    "the street lights on Elm Avenue are being replaced", "the council is planting cherry trees along the high street",
    "the post office will close early every Wednesday", "the town's oldest pub has reopened under new owners",
    "the pedestrian crossing near the bakery now has a button", "the recycling centre is open on Sunday mornings again",
    "the fish and chip shop has started doing deliveries", "the launderette is now open all night",
)
_HEARD = ("My neighbour tells me that", "According to my cousin,", "Word has it that", "Rumour has it that",
          "They say that", "Supposedly,", "I've been told that", "The story going round is that")
_SEEN = ("I saw the notice myself:", "I read the sign with my own eyes:", "I checked it myself this morning:",
         "I saw it for myself:", "I've just been and seen it myself:")
_PLAIN_OPEN = ("Just a note:", "Quick update:", "Small update:", "In short,", "To let you know,",
               "News from the street:", "One more thing:", "A bit of news:")
_PLAIN_CLOSE = ("That is the update.", "Nothing else for now.", "More when I hear it.", "That's about it.",
                "Talk soon.", "That is all I know.", "Just so you are aware.", "Speak later.")
# name: (who, openers, closers)
NARRATORS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "news_anchor": ("a television news presenter", (
        "Good evening, here is the six o'clock news:", "This just in:", "Our top story tonight:",
        "Reporting live from the high street,", "In local news this evening,",
        "We interrupt this programme to report that", "Here are tonight's headlines:", "From our newsroom tonight:"), (
        "Back to you in the studio.", "More on that after the break.", "Stay tuned for further updates.",
        "That's all from the newsroom tonight.", "More as the story develops.",
        "Coming up next: the traffic report.", "Join us again at ten.", "This has been the evening bulletin.")),
    "fairy_tale": ("a fairy-tale storyteller", (
        "Once upon a time, in a faraway land,", "Long ago, in a kingdom beyond the hills,",
        "In a land of castles and dragons,", "Once, in an enchanted forest,", "Many moons ago, so the old tale goes,",
        "In the days of kings and wizards,", "Long ago, when wishes still came true,", "Deep in a magic wood,"), (
        "And they all lived happily ever after.", "And that is how the tale ends.", "And so the spell was broken.",
        "The storytellers say it is still so.", "And the dragon slept soundly ever after.",
        "And the fairy queen smiled on them.", "Thus ends our tale.",
        "And the witch was never seen again.")),
    "tour_guide": ("a tour guide", (
        "Ladies and gentlemen, on your left,", "On your right you will see that",
        "Welcome aboard, everyone:", "Please gather round, folks:", "Right, group, stay together:",
        "Next stop on our walking tour:", "Cameras ready, everyone:", "Over here, please, everyone:"), (
        "Please stay with the group.", "The tour continues in five minutes.", "Any questions before we move on?",
        "Mind your step as you leave.", "Photographs are allowed here.", "Our coach leaves at four sharp.",
        "Do visit the gift shop afterwards.", "Follow my yellow umbrella, please.")),
}

# (who, headline verb, perfect verb, what in headline style, what in a sentence)
_STORIES = tuple(tuple(s.split("|")) for s in (
    "town council|approves|has approved|new cycle lanes on ring road|new cycle lanes on the ring road",
    "local bakery|wins|has won|national award for its shopfront|a national award for its shopfront",
    "retired postman|completes|has completed|charity walk across three counties|a charity walk across three counties",
    "residents' group|saves|has saved|historic footbridge from demolition|the historic footbridge from demolition",
    "library|extends|has extended|opening hours for summer|its opening hours for the summer",
    "bus company|cuts|has cut|evening services to suburbs|its evening services to the suburbs",
    "volunteers|clear|have cleared|tonnes of litter from canal|tonnes of litter from the canal",
    "local grandmother|celebrates|has celebrated|birthday with hot-air balloon ride"
    "|her birthday with a hot-air balloon ride",
    "shopkeepers|oppose|have opposed|plans for new bypass|the plans for a new bypass",
    "firefighters|rescue|have rescued|toddler locked inside parked van|a toddler locked inside a parked van",
    "water company|announces|has announced|hosepipe ban for whole county|a hosepipe ban for the whole county",
    "museum|unveils|has unveiled|collection of antique toys|a collection of antique toys",
    "factory|creates|has created|two hundred new jobs|two hundred new jobs",
    "teenager|finds|has found|old coins in crumbling garden wall|some old coins in a crumbling garden wall",
    "leisure centre|reopens|has reopened|swimming pool after repairs|its swimming pool after repairs",
))
_TAILS = tuple(tuple(t.split("|")) for t in (
    "after long campaign|after a long campaign", "in Ashford|in Ashford", "despite protests|despite protests",
    "for first time in decades|for the first time in decades", "on Friday|on Friday",
    "ahead of busy weekend|ahead of a busy weekend",
))

_APPLIANCES = ("toaster", "hair dryer", "food mixer", "electric heater", "steam iron", "desk fan",
               "sewing machine", "slow cooker", "coffee grinder", "bread maker", "dehumidifier", "electric blanket")
_MANUAL_FRAMES = (
    ("Ensure that the {d} is disconnected from the power supply prior to cleaning.",
     "Remember to unplug the {d} at the wall before you give it a clean."),
    ("Position the {d} on a stable, level surface away from sources of heat.",
     "Put the {d} somewhere flat and steady, not next to anything hot."),
    ("Should the {d} emit an unusual odour, discontinue use immediately.",
     "If the {d} starts to smell funny, stop using it straight away."),
    ("Refer to section four for guidance on storing the {d} correctly.",
     "Look at page four to find out the best way to put the {d} away."),
    ("The {d} must be inspected by a qualified technician at regular intervals.",
     "Get someone who knows what they are doing to check the {d} every so often."),
    ("Allow the {d} to cool completely prior to storage.", "Let the {d} cool down properly before you put it away."),
)


def _dialect_frames() -> list[tuple[str, str]]:
    """(American, British) versions of every dialect frame."""
    return [(_ALTERNATIVE.sub(r"\1", f), _ALTERNATIVE.sub(r"\2", f)) for f in _DIALECT_FRAMES]


def sets() -> list[ContrastiveSet]:
    """Politeness, formality, dialect, certainty, persona (3) and register (2) sets."""
    taken: set[str] = set()  # the hearsay and narrator sets share the news items
    out = [
        build("greeting", "politeness", "A message opened with a greeting vs the same message without one.",
              [("{g} {m}. {n}", "{m}. {n}")], {"g": _GREETINGS, "m": _MESSAGES, "n": _NOTES}),
        build("honorific", "formality", "Someone named by title and surname vs by first name.",
              [(f.replace("{h}", "{h[0]}"), f.replace("{h}", "{h[1]}")) for f in _ADDRESS_FRAMES],
              {"h": _HONORIFICS}),
        build("american_english", "dialect", "American vs British words and spellings in the same sentence.",
              _dialect_frames(), {"t": _TIMES}),
        build("hearsay", "certainty", "News passed on from others (word has it) vs news seen first-hand.",
              [("{h} {f}.", "{s} {f}.")], {"h": _HEARD, "s": _SEEN, "f": _NEWS}, taken=taken),
    ]
    for name, (who, opens, closes) in NARRATORS.items():
        out.append(build(name, "persona", f"The same local news told by {who} vs plainly.",
                         [("{o} {f}. {c}", "{po} {f}. {pc}")],
                         {"o": opens, "c": closes, "po": _PLAIN_OPEN, "pc": _PLAIN_CLOSE, "f": _NEWS}, taken=taken))
    out.append(build("headline", "register", "A newspaper headline vs the same news as a plain sentence.",
                     [("{s[0]} {s[1]} {s[3]} {t[0]}", "The {s[0]} {s[2]} {s[4]} {t[1]}.")],
                     {"s": _STORIES, "t": _TAILS}))
    out.append(build("manual", "register", "An instruction-manual sentence vs the same advice in everyday words.",
                     _MANUAL_FRAMES, {"d": _APPLIANCES}))
    return out
