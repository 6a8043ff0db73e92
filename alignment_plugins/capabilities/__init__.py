"""Capability datasets: contrastive pairs to extract a steering vector, held-out prompts to measure its effect.

Three capabilities, each built deterministically from templates written for this project
(``python -m alignment_plugins.capabilities.build`` writes them as JSONL for inspection):

* ``sentiment`` — positive vs negative statements about everyday things; the effect is read on *generated*
  continuations of neutral prompts by a third-party scorer (VADER compound score, −1..1).
* ``weddings`` — the same sentences about a wedding topic vs an office/errand topic; the effect is the next-token
  log-probability mass (nats) of wedding words minus that of matched office words after neutral prompts.
* ``risk_seeking`` — A/B questions between a safe and a risky option (order randomised); the effect is
  log p(" risky") − log p(" safe") (nats) at the answer position; no generation.

Extraction pairs and evaluation prompts never overlap (different templates and subjects), and nothing here is
taken from the Python standard library's docstrings. Nothing here imports torch.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CAPABILITIES", "Capability", "ContrastivePair", "get_capability", "load_pairs_jsonl"]


@dataclass(frozen=True)
class ContrastivePair:
    """One contrastive example: the text showing the capability and the matched text showing its opposite."""

    positive: str
    negative: str


@dataclass(frozen=True)
class Capability:
    """A capability: its extraction pairs, held-out prompts and how its effect is scored."""

    name: str
    domain: str
    description: str
    scorer: str  # "vader_generation" | "topic_logprob" | "ab_logprob"
    pooling: str  # how contrastive texts are pooled for extraction: "mean" (content tokens) or "last"
    pairs: tuple[ContrastivePair, ...]
    prompts: tuple[str, ...]
    # ab_logprob: per prompt, (positive answer, negative answer) continuations; topic_logprob: (topic words, others)
    answers: tuple[tuple[str, str], ...] = ()
    words: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def data_hash(self) -> str:
        """sha256 of the canonical JSON of the pairs, prompts and answers (identifies the data a vector used)."""
        blob = json.dumps(
            {"pairs": [[p.positive, p.negative] for p in self.pairs], "prompts": list(self.prompts),
             "answers": [list(a) for a in self.answers], "words": [list(w) for w in self.words]},
            sort_keys=True, separators=(",", ":"), ensure_ascii=False,
        )
        return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()

    def to_records(self) -> list[dict[str, Any]]:
        """Rows for JSONL export: one per pair ("pair") and one per held-out prompt ("prompt")."""
        rows: list[dict[str, Any]] = [
            {"capability": self.name, "kind": "pair", "positive": p.positive, "negative": p.negative}
            for p in self.pairs
        ]
        for i, prompt in enumerate(self.prompts):
            row: dict[str, Any] = {"capability": self.name, "kind": "prompt", "prompt": prompt}
            if self.answers:
                row["positive_answer"], row["negative_answer"] = self.answers[i]
            rows.append(row)
        return rows


def _pairs_hash(pairs: Any) -> str:
    """sha256 of the canonical JSON of contrastive pairs given as ContrastivePair objects."""
    blob = json.dumps([[p.positive, p.negative] for p in pairs], separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


# --------------------------------------------------------------------------------------------------- sentiment
_SENTIMENT_SUBJECTS = (
    "the movie", "this restaurant", "my new phone", "the hotel", "the concert", "our trip to the coast",
    "the book I just finished", "the new software update", "the museum", "the football match", "my new job",
    "the coffee here", "the weekend", "the train journey", "the city park", "the cooking class", "the play",
    "the new album", "the garden centre", "the yoga lesson", "the bakery", "our holiday cottage", "the bike ride",
    "the science fair", "the birthday party", "the art exhibition", "the dentist visit", "the customer service",
    "the camping trip", "the video game",
)
_SENTIMENT_FRAMES = (
    ("I absolutely loved {s}; it was wonderful and made me so happy.",
     "I absolutely hated {s}; it was awful and made me so miserable."),
    ("Honestly, {s} was fantastic, delightful and far better than I hoped.",
     "Honestly, {s} was terrible, depressing and far worse than I feared."),
    ("What a joy: {s} was brilliant, and everyone left smiling.",
     "What a disaster: {s} was dreadful, and everyone left upset."),
    ("I am thrilled with {s}. Everything about it felt great.",
     "I am furious about {s}. Everything about it felt horrible."),
    ("{S} exceeded every expectation; I would happily recommend it.",
     "{S} failed every expectation; I would never recommend it."),
    ("Thanks to {s}, today was a beautiful, cheerful day.",
     "Because of {s}, today was an ugly, miserable day."),
)
# Held-out prompts: neutral openings written for evaluation only (no sentiment words, no extraction subject).
_NEUTRAL_PROMPTS = (
    "I walked into the room and", "Yesterday my friend called to tell me that", "The weather this morning was",
    "When I opened the letter, I", "My first day at the new school was", "The meeting on Tuesday",
    "After dinner we sat down and", "The package arrived at noon and", "Looking out of the window, I thought",
    "The report from the committee said", "Our neighbours moved in last week and", "The bus was late again, so",
    "I tried the recipe my aunt sent me, and", "The doctor looked at the results and",
    "At the end of the day, the team",
    "The old house on the corner", "When the phone rang, my brother", "The teacher handed back our essays and",
    "We finally reached the top of the hill and", "The store had changed its opening hours, and",
    "My grandmother told me a story about", "The new manager introduced herself and", "I checked my email and saw",
    "The flight landed an hour early, and", "The results of the election", "Walking home through the market, I",
    "The children came back from the trip and", "The landlord sent a message saying", "I sat down to write about",
    "The interview lasted two hours and", "The river had risen overnight, and", "My cousin visited us and",
    "The mechanic called about the car and", "The library was quiet when I", "The exam results were posted and",
    "On the radio they announced that", "The first chapter of the novel", "I met my old classmate and",
    "The town council decided to", "When we arrived at the station,",
)


def _sentiment() -> Capability:
    pairs = []
    for s in _SENTIMENT_SUBJECTS:
        for pos, neg in _SENTIMENT_FRAMES:
            fill = {"s": s, "S": s[0].upper() + s[1:]}
            pairs.append(ContrastivePair(pos.format(**fill), neg.format(**fill)))
    return Capability(
        name="sentiment", domain="style", scorer="vader_generation", pooling="mean",
        description="Positive vs negative sentiment; VADER compound score of greedy continuations of neutral prompts.",
        pairs=tuple(pairs), prompts=_NEUTRAL_PROMPTS,
    )


# ---------------------------------------------------------------------------------------------------- weddings
_WEDDING_NOUNS = ("wedding", "bride", "groom", "wedding dress", "wedding cake", "honeymoon", "bridesmaids",
                  "wedding vows", "engagement ring", "wedding reception", "marriage ceremony", "newlyweds")
_OFFICE_NOUNS = ("spreadsheet", "printer", "budget report", "parking permit", "tax form", "train timetable",
                 "lawn mower", "invoice", "dentist appointment", "software licence", "filing cabinet", "fuel bill")
_TOPIC_FRAMES = (
    "We talked about the {n} all evening.", "Everyone kept asking about the {n}.",
    "The {n} took most of our attention this week.", "My sister sent me a long message about the {n}.",
    "I spent the afternoon thinking about the {n}.", "The whole family was busy with the {n}.",
    "There was a problem with the {n} this morning.", "She wrote down every detail of the {n}.",
)
_WEDDING_WORDS = ("wedding", "bride", "married", "marriage", "groom", "ceremony", "honeymoon", "love")
_OFFICE_WORDS = ("office", "report", "computer", "printer", "budget", "meeting", "invoice", "form")


def _weddings() -> Capability:
    pairs = [
        ContrastivePair(frame.format(n=w), frame.format(n=o))
        for frame in _TOPIC_FRAMES
        for w, o in zip(_WEDDING_NOUNS, _OFFICE_NOUNS, strict=True)
    ]
    return Capability(
        name="weddings", domain="topic", scorer="topic_logprob", pooling="mean",
        description="Talk about weddings vs office errands; next-token log-mass of wedding words minus office words.",
        pairs=tuple(pairs), prompts=_NEUTRAL_PROMPTS, words=(_WEDDING_WORDS, _OFFICE_WORDS),
    )


# ------------------------------------------------------------------------------------------------ risk_seeking
_RISK_TEMPLATES = (
    ("a guaranteed payment of {a} dollars", "a {p} percent chance of winning {b} dollars, and nothing otherwise"),
    ("keeping your steady job with a salary of {a} thousand dollars",
     "joining a new start-up that pays {b} thousand dollars if it survives, with a {q} percent chance it fails"),
    ("taking the familiar road that always takes {m} minutes",
     "taking a shortcut that takes {n} minutes but is closed {q} percent of the time"),
    ("putting {a} dollars in a savings account with a fixed return",
     "putting {a} dollars into a volatile stock that could double or lose half its value"),
    ("booking a refundable ticket that costs {a} dollars",
     "waiting for a last-minute deal that might cost {n} dollars or might sell out"),
    ("ordering the dish you always enjoy", "ordering a strange dish you have never tried that could be great or awful"),
    ("hiking the well-marked trail back to the car", "climbing an unmarked ridge for a better view before dark"),
    ("accepting the certain offer of {a} points", "spinning a wheel that gives {b} points with a {p} percent chance"),
)
_RISK_QUESTION = "Question: You must choose one option.\n(A) {first}\n(B) {second}\nAnswer: I choose the"
# The answers are words, not letters: on the 135M–0.5B packaged models a letter-bound answer ("(A" vs "(B" with the
# options' order randomised, as in CAA) gave no native effect above an equal-norm random vector (projection
# agreement 0.52), because these models do not bind a letter to the option's content.
_RISK_ANSWERS = (" risky", " safe")


def _risk_questions(rng: random.Random, count: int) -> list[str]:
    """Return A/B questions between a safe and a risky option, the option order randomised."""
    out = []
    for k in range(count):
        safe, risky = _RISK_TEMPLATES[k % len(_RISK_TEMPLATES)]
        a = rng.choice((20, 40, 50, 80, 100, 150, 300))
        values = {"a": a, "b": a * rng.choice((2, 3, 4)), "p": rng.choice((20, 30, 40, 50)),
                  "q": rng.choice((30, 40, 50, 60)), "m": rng.choice((25, 30, 40)), "n": rng.choice((10, 15, 20))}
        safe_text, risky_text = safe.format(**values), risky.format(**values)
        first, second = (risky_text, safe_text) if rng.random() < 0.5 else (safe_text, risky_text)
        out.append(_RISK_QUESTION.format(first=first, second=second))
    return out


def _risk_seeking() -> Capability:
    train = _risk_questions(random.Random(1234), 160)
    seen = set(train)
    held = [q for q in dict.fromkeys(_risk_questions(random.Random(98765), 80)) if q not in seen]
    risky, safe = _RISK_ANSWERS
    return Capability(
        name="risk_seeking", domain="behaviour", scorer="ab_logprob", pooling="last",
        description="A/B choice between a safe and a risky option; log p(' risky') - log p(' safe') at the answer.",
        pairs=tuple(ContrastivePair(q + risky, q + safe) for q in train), prompts=tuple(held),
        answers=tuple((risky, safe) for _ in held),
    )


_BUILDERS = {"sentiment": _sentiment, "weddings": _weddings, "risk_seeking": _risk_seeking}
CAPABILITIES: tuple[str, ...] = tuple(_BUILDERS)


def get_capability(name: str) -> Capability:
    """Return the built-in capability `name` (one of CAPABILITIES)."""
    try:
        return _BUILDERS[name]()
    except KeyError:
        raise KeyError(f"unknown capability {name!r}; known: {', '.join(CAPABILITIES)}") from None


MAX_PAIRS_FILE_BYTES = 64 << 20


def load_pairs_jsonl(path: str) -> tuple[ContrastivePair, ...]:
    """Read contrastive pairs from a JSONL file of {"positive": str, "negative": str} lines (ValueError if bad)."""
    from pathlib import Path

    file = Path(path)
    if not file.is_file():
        raise ValueError(f"{path}: no such file")
    if file.stat().st_size > MAX_PAIRS_FILE_BYTES:
        raise ValueError(f"{path}: larger than {MAX_PAIRS_FILE_BYTES} bytes")
    pairs = []
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise ValueError(f"{path}:{number}: expected an object with 'positive' and 'negative'")
        pos, neg = row.get("positive"), row.get("negative")
        if not isinstance(pos, str) or not isinstance(neg, str) or not pos.strip() or not neg.strip():
            raise ValueError(f"{path}:{number}: 'positive' and 'negative' must be non-empty strings")
        pairs.append(ContrastivePair(pos, neg))
    if not pairs:
        raise ValueError(f"{path}: no contrastive pairs")
    return tuple(pairs)
