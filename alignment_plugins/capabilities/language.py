"""``french``: the same everyday sentences in French vs English, read as French minus English words in continuations.

The sentences and translations were written for this project (frames × noun phrases); the held-out prompts are the
neutral English openings of `prompts.NEUTRAL_PROMPTS`, so a French continuation is the vector's doing.
"""

from __future__ import annotations

from alignment_plugins.capabilities.base import Capability, ContrastivePair
from alignment_plugins.capabilities.prompts import NEUTRAL_PROMPTS

__all__ = ["ENGLISH_WORDS", "FRENCH_WORDS", "build"]

# (English, French) frames with one noun-phrase slot; chosen so that no French article contracts with a preposition.
_FRAMES = (
    ("I saw {e} this morning.", "J'ai vu {f} ce matin."),
    ("Where is {e}?", "Où est {f} ?"),
    ("My mother likes {e} very much.", "Ma mère aime beaucoup {f}."),
    ("We are looking for {e} near the river.", "Nous cherchons {f} près de la rivière."),
    ("Tomorrow they will sell {e} to their friends.", "Demain, ils vont vendre {f} à leurs amis."),
    ("I think that {e} costs too much.", "Je pense que {f} coûte trop cher."),
    ("The children often look at {e}.", "Les enfants regardent souvent {f}."),
    ("Can you show me {e}, please?", "Peux-tu me montrer {f}, s'il te plaît ?"),
    ("Yesterday my neighbour repaired {e}.", "Hier, mon voisin a réparé {f}."),
    ("She found {e} behind the door.", "Elle a trouvé {f} derrière la porte."),
)
_NOUNS = (
    ("the old bicycle", "le vieux vélo"), ("the red umbrella", "le parapluie rouge"),
    ("the kitchen table", "la table de la cuisine"), ("the small radio", "la petite radio"),
    ("the blue car", "la voiture bleue"), ("the wooden chair", "la chaise en bois"),
    ("the new computer", "le nouvel ordinateur"), ("the black bag", "le sac noir"),
    ("the big clock", "la grande horloge"), ("the green lamp", "la lampe verte"),
    ("the broken window", "la fenêtre cassée"), ("the white fridge", "le réfrigérateur blanc"),
)
# Frequent function words that are unambiguous between the two languages (no "a", "on", "son", "pain", ...).
FRENCH_WORDS = ("le", "la", "les", "des", "est", "et", "une", "un", "du", "je", "nous", "vous", "il", "elle", "ils",
                "pas", "que", "qui", "dans", "pour", "avec", "sur", "mais", "très", "cette", "ce", "sont", "au",
                "aux", "mon", "ma", "mes", "ses", "leur", "été", "être", "avoir", "fait", "aussi", "comme", "ou",
                "mais", "ont", "était", "avait", "tout", "bien", "plus")
ENGLISH_WORDS = ("the", "and", "is", "was", "of", "to", "it", "that", "with", "for", "but", "very", "this", "are",
                 "have", "has", "my", "we", "they", "he", "she", "you", "not", "what", "be", "been", "were", "at",
                 "by", "from", "his", "her", "had", "would")


def build() -> Capability:
    """The capability record (pairs, held-out prompts, scorer)."""
    pairs = [ContrastivePair(fr.format(f=f), en.format(e=e)) for en, fr in _FRAMES for e, f in _NOUNS]
    return Capability(
        name="french", domain="language", scorer="lexicon_generation", pooling="mean",
        description="French vs English sentences; French minus English function words per word of continuations.",
        pairs=tuple(pairs), prompts=NEUTRAL_PROMPTS, words=(tuple(dict.fromkeys(FRENCH_WORDS)), ENGLISH_WORDS),
    )
