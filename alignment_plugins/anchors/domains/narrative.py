"""Narrative: very short stories and accounts of past events, told in the past tense.

No pinned package ships short English fiction, so the stories are generated from templates written here: a
character, a setting, an inciting event, what the character did and how it ended, in several story shapes (a
fable, an everyday mishap, a small adventure, a mystery, a folk tale, a memory, a news-like account).
"""

from __future__ import annotations

from alignment_plugins.anchors.domains import generated, sentence
from alignment_plugins.anchors.sourcing import Cand, Rng, Wheel

DOMAIN = "narrative"

HEROES = ("an old lighthouse keeper", "a young baker called Ottilie", "a retired postman", "a shy girl named Priya",
          "a fisherman's son", "a travelling tinker", "a night-shift nurse", "a boy who collected stamps",
          "a widowed farmer", "a street musician", "a new schoolteacher", "a clockmaker's apprentice",
          "a beekeeper from the valley", "a lorry driver named Gus", "two sisters who ran a bookshop")
PLACES = ("a village at the edge of the marsh", "a crowded port city", "a mining town in the hills",
          "an island with one road", "a tower block on the ring road", "a snowed-in mountain hut",
          "a market town by the river", "a caravan site by the dunes", "a narrowboat on the canal")
INCIDENTS = ("a stranger knocked on the door at midnight", "the river burst its banks",
             "a letter arrived with no name on it", "the power failed across the whole district",
             "a fox stole the prize hen", "a ship was seen where no ship should be",
             "the church bell rang by itself", "an old map fell out of a library book",
             "a child went missing during the fair", "the well ran dry in the middle of summer",
             "a parcel was delivered to the wrong house", "the ice on the pond cracked under the sledges")
ACTIONS = ("gathered the neighbours and made a plan", "set off alone with a lantern and a flask of tea",
           "followed the muddy footprints down to the shore", "wrote to everyone who might know the answer",
           "climbed the hill to get a better view", "knocked on every door in the street",
           "stayed up all night keeping watch", "borrowed a rowing boat and crossed the water",
           "opened the shop early and handed out soup", "searched the attic from top to bottom")
ENDINGS = ("by morning everyone was safe and laughing about it", "the mystery was never fully solved",
           "the village threw a feast in their honour", "they found the answer had been under their noses all "
           "along", "nobody ever spoke of it again", "it became a story told to every child in the town",
           "a friendship began that lasted the rest of their lives", "the old quarrel between the families was "
           "forgotten", "the culprit turned out to be a very hungry goat", "they were home before the kettle "
           "boiled")
SEASONS = ("One winter", "Late one autumn", "On the first warm day of spring", "Many years ago",
           "During the long hot summer of that year", "On a foggy Tuesday", "The night before the harvest fair")


def _tale(r: Rng) -> str:
    hero, place, incident, action, ending = (r.choice(HEROES), r.choice(PLACES), r.choice(INCIDENTS),
                                             r.choice(ACTIONS), r.choice(ENDINGS))
    when = r.choice(SEASONS)
    return sentence(r.choice([
        f"{when}, in {place}, {incident}. {sentence(hero)} {action}. In the end, {ending}.",
        f"There once lived {hero} in {place}. {when}, {incident}, so without a second thought they {action}, "
        f"and {ending}.",
        f"{when} {incident}. Nobody in {place} knew what to do, except {hero}, who {action}. {sentence(ending)}.",
        f"People in {place} still talk about the time {incident}. {sentence(hero)} {action}, and {ending}.",
    ]))


ANIMALS = ("a vain peacock", "a patient tortoise", "a greedy crow", "a clever mouse", "a proud stag",
           "a lazy cat", "a hard-working ant", "a boastful rooster", "a timid rabbit", "a cunning fox",
           "an old owl", "a young bear")
FABLE_TRIALS = ("a race to the old oak", "a drought that dried every pond", "a contest to sing at the wedding",
                "a storm that flattened the barley", "a bet over who could carry the most acorns",
                "a quarrel over a single ripe plum")
MORALS = ("pride comes before a fall", "slow and steady wins the day", "a friend in need is a friend indeed",
          "those who share are never hungry", "it is wiser to listen than to boast",
          "kindness is never wasted", "greed leaves you with nothing")


def definite(phrase: str) -> str:
    """``phrase`` with a leading indefinite article made definite ("a fox" -> "the fox")."""
    head, _, rest = phrase.partition(" ")
    return f"the {rest}" if head in ("a", "an") else phrase


def _fable(r: Rng) -> str:
    a, b = r.sample(ANIMALS, 2)
    the_a, the_b = definite(a), definite(b)
    trial, moral = r.choice(FABLE_TRIALS), r.choice(MORALS)
    return sentence(r.choice([
        f"Long ago, {a} and {b} argued over {trial}. {sentence(the_a)} laughed and wandered off, while {the_b} "
        f"kept going quietly. When it was over, {the_b} had won, and everyone learned that {moral}.",
        f"When {trial} came, {a} refused to help {b}. Later {the_a} needed help in turn, and found none. And so, "
        f"they say, {moral}.",
        f"{sentence(a)} once challenged {b} to {trial}. Things did not go as {the_a} expected. The moral: "
        f"{moral}.",
    ]))


MISHAPS = ("locked my keys in the car at the petrol station", "dyed all my work shirts pink",
           "got on the right train going the wrong way", "set off the smoke alarm making toast",
           "turned up to the party a week early", "sent a message about my boss to my boss",
           "fell asleep on the bus and woke up at the depot", "brought the wrong baby's coat home from nursery",
           "reversed into a hedge in front of the whole street", "forgot the cake I'd spent all night baking")
AFTERMATHS = ("A kind stranger helped me sort it out", "My flatmate still hasn't let me forget it",
              "I laughed so hard I cried", "It took three hours and a locksmith to fix",
              "Luckily nobody was hurt except my pride", "By evening it had become the family's favourite story",
              "I apologised to everyone twice")


def _mishap(r: Rng) -> str:
    m, after = r.choice(MISHAPS), r.choice(AFTERMATHS)
    when = r.choice(("Last Saturday", "Years ago", "On my first day at the new job", "Yesterday morning",
                     "The week before my wedding", "During the school holidays"))
    return sentence(r.choice([
        f"{when} I {m}. {after}.",
        f"{when}, in a hurry as usual, I {m}. {after}, but I learned to slow down.",
        f"Here's what happened: {when.lower()} I {m}. {after}.",
    ]))


DETECTIVES = ("Inspector Mbeki", "the retired judge", "Sergeant Holloway", "the curious vicar",
              "a schoolgirl with a notebook", "the night porter")
CLUES = ("a wet umbrella in a dry hallway", "a clock stopped at ten past three", "a single muddy glove",
         "a torn train ticket", "the smell of pipe smoke in an empty room", "a dog that did not bark",
         "a window latched from the outside")
CULPRITS = ("the butler's nephew", "the quiet lodger upstairs", "the cheerful grocer", "nobody at all",
            "the victim's own sister", "the man who had reported the crime")


def _mystery(r: Rng) -> str:
    d, clue, culprit = r.choice(DETECTIVES), r.choice(CLUES), r.choice(CULPRITS)
    item = r.choice(("the silver candlesticks", "the mayor's medal", "the last page of the will",
                     "a rare orchid", "the takings from the fête", "the museum's jade cat"))
    return sentence(r.choice([
        f"When {item} vanished, {d} noticed {clue}. Within a day the trail led to {culprit}.",
        f"{sentence(d)} thought about {clue} for a long time. Then she smiled: {item} had been taken by {culprit}.",
        f"Everyone blamed the gardener for the loss of {item}, but {d} spotted {clue} and proved it was "
        f"{culprit}.",
    ]))


MEMORIES = ("my grandmother taught me to make bread", "we drove to the coast in Dad's old van",
            "our school put on a play about pirates", "I saw snow for the very first time",
            "we camped in the garden and watched shooting stars", "the whole street lost power for a week",
            "my brother and I built a raft that sank at once", "we spent every afternoon at the lido")


def _memory(r: Rng) -> str:
    m = r.choice(MEMORIES)
    age = r.choice(("six", "eight", "nine", "eleven", "thirteen"))
    detail = r.choice(("I can still remember the smell of it", "it rained almost the whole time",
                       "we laughed until we could hardly breathe", "I didn't realise then how rare that was",
                       "everyone I loved was in one place"))
    return sentence(r.choice([
        f"The summer I turned {age}, {m}. {sentence(detail)}.",
        f"When I was {age}, {m}. Looking back, {detail}.",
        f"I was {age} the year {m}, and {detail}.",
    ]))


def _report(r: Rng) -> str:
    place = r.choice(PLACES)
    what = r.choice(("volunteers cleared two tonnes of rubbish from the beach", "a runaway bull closed the high "
                     "street for an hour", "pupils raised money for a new minibus", "a rare heron nested by the "
                     "reservoir", "the annual boat race was cancelled because of fog", "firefighters rescued a "
                     "cat from a crane", "the old cinema reopened after ten years"))
    who = r.choice(("a local resident", "the organiser", "one witness", "the head teacher", "a spokesperson"))
    said = r.choice(("it was an unforgettable day", "nobody could quite believe it", "the whole town pulled "
                     "together", "they hoped it would happen again next year", "it was chaos, but good-natured "
                     "chaos"))
    return sentence(f"On {r.choice(('Saturday', 'Monday', 'Wednesday', 'Friday'))}, in {place}, {what}. "
                    f"{sentence(who)} said {said}.")


FAMILIES = {"tale": (_tale, 420), "fable": (_fable, 200), "mishap": (_mishap, 180), "mystery": (_mystery, 200),
            "memory": (_memory, 120), "report": (_report, 220)}


def pools(wheels: dict[str, Wheel]) -> dict[str, list[Cand]]:
    """The narrative pool: ``narrative-templates``, one template family per story shape."""
    return {"narrative-templates": [c for family, (make, n) in FAMILIES.items()
                                    for c in generated(DOMAIN, family, n, make)]}
