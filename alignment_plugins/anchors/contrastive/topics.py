"""Topic sets: a sentence about a hobby or field vs the same sentence about a household chore or bit of admin."""

from __future__ import annotations

from alignment_plugins.anchors.contrastive.base import ContrastiveSet, build

_FRAMES = (
    "My cousin will not stop chatting about {x} these days.",
    "On the way home I overheard two women discussing {x}.",
    "Her latest letter was almost entirely about {x}.",
    "I borrowed a thick old book on {x} from my aunt.",
    "Our whole lunch break was spent arguing over {x}.",
    "The evening class next term is all about {x}.",
    "He told us a rambling story about {x} after supper.",
    "Somebody left a leaflet about {x} on the kitchen counter.",
    "My flatmate has recently become very interested in {x}.",
    "The first video on my feed today was about {x}.",
    "At the party, the quiet man only wanted to discuss {x}.",
    "I asked my grandmother what she remembers about {x}.",
    "We spent most of Sunday morning learning about {x}.",
    "Her blog has a whole section devoted to {x}.",
    "A stranger in the queue started telling me about {x}.",
    "My notebook is full of scribbles about {x}.",
)
# Household chores and small admin: what the sentence is about when it is about nothing in particular.
_ERRANDS = (
    "the delivery slip", "the missing sock", "the plastic folders", "the change of postcode", "the dripping radiator",
    "the spare light bulbs", "the queue at the post office", "the wobbly table leg", "the roll of sticky tape",
    "the lost library card", "the extension cable", "the drawer of takeaway menus", "the renewal letter",
    "the squeaky hinge", "the jar of loose buttons", "the flat battery in the remote", "the name badge",
    "the meter reading", "the box of old chargers", "the bathroom scales", "the paper shredder",
    "the form for the new doorbell", "the unpaired gloves", "the stack of junk mail",
)
TOPICS: dict[str, tuple[str, ...]] = {
    "gardening": ("pruning the rose bushes", "the compost heap", "the vegetable patch", "planting tulip bulbs",
                  "the tomatoes in the greenhouse", "weeding the flower beds", "the herb border", "the new lawn seed",
                  "taking cuttings from the fuchsias", "repotting the geraniums", "the allotment",
                  "the climbing sweet peas"),
    "railways": ("the old steam locomotive", "the railway signal box", "the narrow-gauge railway",
                 "the overnight sleeper train", "the new high-speed rail line", "the engine sheds at the depot",
                 "the railway viaduct", "the level crossing", "the model railway in the loft",
                 "the station master", "the freight wagons", "the restored railway carriages"),
    "chemistry": ("the periodic table", "the chemical reaction", "the test tubes and beakers", "acids and bases",
                  "the molecules in table salt", "the chemistry set", "the electrons in an atom",
                  "the bubbling solution in the flask", "carbon compounds", "the titration experiment",
                  "the fume cupboard in the lab", "the crystals forming in the dish"),
    "fashion": ("the autumn fashion collection", "the designer handbags", "the catwalk show",
                "this year's trends in dresses", "the tailored suits", "the glossy fashion magazine",
                "the silk scarves", "the latest trainer designs", "the models on the runway",
                "the vintage clothing shop", "this season's fabric patterns", "the fashion designer's studio"),
    "theatre": ("the new stage play", "the actors' rehearsal", "the theatre's opening night", "the stage lighting",
                "the costume department", "the playwright's script", "the curtain call",
                "the audition for the comedy", "the understudy", "the matinee performance",
                "the amateur drama club", "the backstage crew"),
    "fishing": ("the fishing rods", "the trout in the stream", "the bait and tackle", "the fishing trip to the lake",
                "casting a line from the jetty", "the salmon leaping upstream", "the fly-fishing lesson",
                "the angler's catch", "the carp pond", "the hooks and floats", "the keep net",
                "the pike in the reservoir"),
    "mountains": ("the mountain summit", "the steep alpine pass", "the glacier below the ridge",
                  "the climbers' base camp", "the jagged peaks", "the mountain hut", "the cliffs above the valley",
                  "the long climb to the peak", "the mountain range in the north", "the ropes and ice axes",
                  "the view from the top of the mountain", "the scree slopes"),
    "knitting": ("the knitting needles", "the balls of wool", "the cardigan she is knitting", "the knitting pattern",
                 "the knitting circle", "the cable stitch", "the half-finished jumper on the needles",
                 "the yarn shop", "casting on a new scarf", "the dropped stitches", "the knitted blanket",
                 "the crochet hooks"),
}


def sets() -> list[ContrastiveSet]:
    """One set per entry of TOPICS: topic phrases vs errand phrases in the same frames (no text repeated)."""
    frames = [(f.replace("{x}", "{t}"), f.replace("{x}", "{e}")) for f in _FRAMES]
    taken: set[str] = set()
    return [build(name, "topic", f"Sentences about {name} vs the same sentences about chores and admin.", frames,
                  {"t": phrases, "e": _ERRANDS}, taken=taken)
            for name, phrases in TOPICS.items()]
