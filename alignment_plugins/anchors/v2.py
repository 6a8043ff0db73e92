"""Corpus v2: the v1 corpus (five product domains, unchanged) plus seven capability domains of ~500-700 texts each.

``python -m alignment_plugins.anchors.build`` rebuilds v1 from its pinned wheels, checks it against
``V1_CONTENT_HASH`` and extends it here with the pools of ``alignment_plugins.anchors.domains``, deduplicated
against v1 and each other (case-folded, whitespace-collapsed). Sources and licences of the new text:

* ``chatterbot-corpus`` 1.3.3 (BSD-3-Clause): dialogue (English conversations), multilingual (other languages).
* ``mimesis`` 22.2.0 (MIT): multilingual everyday sentences and proverbs.
* ``django`` 5.2.19 (BSD-3-Clause): multilingual, the translated messages of its bundled locales.
* ``pyjokes`` 0.8.3 (BSD-3-Clause): multilingual one-liners.
* ``gensim`` 4.4.0 (LGPL-2.1) test data: opinion (film reviews from the IMDB sentiment sample ``alldata-id-10.txt``),
  multilingual (*Crime and Punishment* in Russian, public domain).
* Generated from templates written for this project (no licence needed): the rest of opinion, dialogue,
  instructions, emotion, narrative and style.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from alignment_plugins.anchors import CAPABILITY_DOMAINS, DOMAINS
from alignment_plugins.anchors.domains import dialogue, emotion, instructions, multilingual, narrative, opinion, style
from alignment_plugins.anchors.sourcing import Cand, Pin, Wheel, norm_key, select_plan

# sha256 content hash of corpus v1 (AnchorSet.content_hash); v2 is built only on exactly this v1.
V1_CONTENT_HASH = "sha256:450e431e2238b487852df2334b71eeb50e048f8f0ab5fd3824cd51b9edb1d7f5"
MIN_PER_NEW_DOMAIN = 500
MIN_TOTAL = 14_000

# Wheels read by v2 only (v1's pins are ``build.PINNED``).
PINNED_V2: tuple[Pin, ...] = (
    Pin("chatterbot-corpus", "1.3.3", "chatterbot_corpus-1.3.3-py2.py3-none-any.whl",
        "86de5300afb9a80826386339d3bec79c0a72eb0358abb8327e2ecef5ae0ce154"),
    Pin("mimesis", "22.2.0", "mimesis-22.2.0-py3-none-any.whl",
        "037011eb3d5edf0b0b5d9eafd74d9881f6dce25b4f01032da0e13fb2a56f37e9"),
)

# (pool label, quota, per-group cap) per new domain; quotas are upper bounds, ``check`` enforces the minimums.
PLAN: dict[str, tuple[tuple[str, int, int], ...]] = {
    "opinion": (("imdb-reviews", 60, 12), ("opinion-templates", 560, 250)),
    "dialogue": (("chatterbot", 330, 30), ("dialogue-templates", 320, 40)),
    "instructions": (("instruction-templates", 620, 200),),
    "emotion": (("emotion-templates", 620, 150),),
    "narrative": (("narrative-templates", 620, 160),),
    "style": (("style-templates", 640, 40),),
    "multilingual": (("django-locales", 250, 3), ("mimesis", 250, 30), ("pyjokes-multilingual", 80, 12),
                     ("chatterbot-multilingual", 110, 12), ("novel", 10, 10)),
}


def build_pools(wheels: dict[str, Wheel]) -> dict[str, list[Cand]]:
    """Every candidate pool named in ``PLAN``."""
    pools: dict[str, list[Cand]] = {}
    for module in (opinion, dialogue, instructions, emotion, narrative, style, multilingual):
        pools.update(module.pools(wheels))
    return pools


def assemble(base: Sequence[Cand], pools: dict[str, list[Cand]]) -> list[Cand]:
    """``base`` (v1, in its order) followed by the new domains' selections, each sorted by (source, text)."""
    chosen = select_plan(PLAN, CAPABILITY_DOMAINS, pools, {norm_key(c.text) for c in base})
    order = {d: i for i, d in enumerate(DOMAINS)}
    return list(base) + sorted(chosen, key=lambda c: (order[c.domain], c.source, c.text))


def problems(anchors: Sequence[Cand]) -> list[str]:
    """What the v2 corpus misses of its contract (counts of the new domains, total), empty when none."""
    counts = Counter(a.domain for a in anchors)
    out = [f"{d}: {counts[d]} < {MIN_PER_NEW_DOMAIN}" for d in CAPABILITY_DOMAINS if counts[d] < MIN_PER_NEW_DOMAIN]
    if len(anchors) < MIN_TOTAL:
        out.append(f"total {len(anchors)} < {MIN_TOTAL}")
    return out
