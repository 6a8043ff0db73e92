"""Multilingual: real sentences in languages other than English.

Sources, all read from pinned wheels:

* Django's own ``locale/*/LC_MESSAGES/*.po`` translations (BSD-3-Clause, the Django project and its translators):
  full-sentence messages of the admin, auth, forms ... in ~95 languages; strings with placeholders or markup are
  skipped, so only plain sentences remain.
* ``mimesis`` locale datasets (MIT): everyday sentences and proverbs (``text.json`` ``text``/``quotes``) in Spanish,
  Dutch, Italian, German, French, Portuguese, Swedish, Finnish, Polish, Norwegian, Russian, Japanese ...
* ``pyjokes`` (BSD-3-Clause): one-liners in German, Spanish, Italian, Polish, Russian, Czech, Swedish, ...
* ``chatterbot-corpus`` (BSD-3-Clause): conversations in Italian, Spanish, Portuguese, Dutch, German, French, ...
* gensim's test data (LGPL-2.1): the opening of Dostoevsky's *Crime and Punishment* in Russian (public domain).
"""

from __future__ import annotations

import ast
import re

from alignment_plugins.anchors.domains.dialogue import CHATTERBOT_DATA, conversation_lines, render_turns
from alignment_plugins.anchors.sourcing import Cand, Wheel, chunk_sentences, squash

DOMAIN = "multilingual"
ENGLISH_LOCALES = frozenset({"en", "en_AU", "en_CA", "en_GB", "en_IE"})
# Strings that carry code rather than language: placeholders, markup, paths, escapes.
_CODE_RE = re.compile(r"[%{}<>\\|_=@#`\[\]]|https?:|\.\w{2,4}/|\s{2,}")
# Jokes the anchors should not carry (profanity, violence), matched case-insensitively in any language.
_CRUDE_RE = re.compile(r"arsch|terror|bomb|nazi|hitler|fuck|shit|puta|merda|cazzo|kurw|сука|хуй|бля|furz|"
                       r"sex|porn|dupa|drog|zuhälter|cannibal|kannibal", re.IGNORECASE)
PO_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


def natural(text: str, *, min_words: int = 4) -> bool:
    """A plain sentence in any script: no code characters, ends like a sentence, mostly letters."""
    cjk = re.search(r"[\u3040-\u9fff\uac00-\ud7af]", text)
    if _CODE_RE.search(text) or (len(text.split()) < min_words and not cjk):
        return False
    if text[-1] not in ".!?…。！？\"'»”)":
        return False
    letters = sum(ch.isalpha() or ch.isspace() for ch in text)
    return letters / len(text) >= 0.75


def _unescape(s: str) -> str:
    return s.replace('\\"', '"').replace("\\n", " ").replace("\\t", " ")


def parse_po(text: str) -> list[tuple[str, str]]:
    """``(msgid, msgstr)`` of every translated, non-fuzzy, singular entry of a gettext ``.po`` file."""
    entries: list[tuple[str, str]] = []
    for block in re.split(r"\n\s*\n", text):
        lines = block.strip().splitlines()
        if any(ln.startswith("#,") and "fuzzy" in ln for ln in lines) or any(ln.startswith("#~") for ln in lines):
            continue
        fields: dict[str, str] = {}
        current = ""
        for ln in lines:
            head = re.match(r"(msgid|msgstr|msgid_plural|msgctxt|msgstr\[\d+\])\s", ln)
            if head:
                current = head.group(1)
                fields[current] = ""
            if current and (head or ln.startswith('"')):
                fields[current] += "".join(PO_STRING.findall(ln[head.end():] if head else ln))
        if fields.get("msgid") and fields.get("msgstr") and "msgid_plural" not in fields:
            entries.append((_unescape(fields["msgid"]), squash(_unescape(fields["msgstr"]))))
    return entries


def django_pool(django: Wheel) -> list[Cand]:
    """Translated full-sentence messages of Django's bundled locales (English locales excluded)."""
    out = []
    for member in django.names:
        m = re.search(r"/locale/([^/]+)/LC_MESSAGES/[^/]+\.po$", member)
        if not m or m.group(1) in ENGLISH_LOCALES:
            continue
        for msgid, msgstr in parse_po(django.text(member)):
            if msgstr != msgid and natural(msgstr, min_words=5):
                out.append(Cand(DOMAIN, msgstr, django.source(member, msgid[:40]), m.group(1)))
    return out


def mimesis_pool(mimesis: Wheel) -> list[Cand]:
    """Sentences and proverbs from mimesis' per-locale ``text.json`` (base locales, English excluded)."""
    out = []
    for member in mimesis.names:
        m = re.fullmatch(r"mimesis/datasets/([a-z]{2})/text\.json", member)
        if not m or m.group(1) == "en":
            continue
        data = mimesis.json(member)
        for key in ("text", "quotes"):
            for i, text in enumerate(data.get(key) or []):
                text = squash(str(text))
                if text and text[-1].isalpha():
                    text += "."
                if text and natural(text):
                    out.append(Cand(DOMAIN, text, mimesis.source(member, f"{key}[{i}]"), m.group(1)))
    return out


def jokes_pool(pyjokes: Wheel) -> list[Cand]:
    """Non-English one-liners of pyjokes (every list in ``jokes_<lang>.py`` other than English)."""
    out = []
    for member in pyjokes.names:
        m = re.fullmatch(r"pyjokes/jokes_([a-z]{2})\.py", member)
        if not m or m.group(1) == "en":
            continue
        tree = ast.parse(pyjokes.text(member))
        for node in tree.body:
            if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.List)):
                continue
            name = node.targets[0].id if isinstance(node.targets[0], ast.Name) else "jokes"
            for i, joke in enumerate(ast.literal_eval(node.value)):
                joke = squash(joke)
                if joke and not _CRUDE_RE.search(joke) and natural(joke):
                    out.append(Cand(DOMAIN, joke, pyjokes.source(member, f"{name}[{i}]"), m.group(1)))
    return out


def chatterbot_pool(chatterbot: Wheel) -> list[Cand]:
    """Non-English chatterbot-corpus conversations, two speakers labelled with dashes."""
    out = []
    for member in chatterbot.names:
        m = re.fullmatch(re.escape(CHATTERBOT_DATA) + r"([a-z]+)/[^/]+\.yml", member)
        if not m or m.group(1) in ("english", "hinglish"):
            continue
        for i, turns in enumerate(conversation_lines(chatterbot.text(member))):
            text = render_turns(turns, ("—", "—")).replace("—:", "—")
            if len(turns) >= 2 and not _CODE_RE.search(text) and not _CRUDE_RE.search(text):
                out.append(Cand(DOMAIN, text, chatterbot.source(member, str(i)), m.group(1)))
    return out


CRIME_AND_PUNISHMENT = "gensim/test/test_data/crime-and-punishment.txt"


def novel_pool(gensim: Wheel) -> list[Cand]:
    """Passages of the Russian original of *Crime and Punishment* shipped in gensim's test data."""
    body = squash(gensim.text(CRIME_AND_PUNISHMENT)).replace(" -- ", " — ")
    sentences = re.split(r"(?<=[.!?…])\s+(?=[А-ЯЁ«—])", body)
    return [Cand(DOMAIN, chunk, gensim.source(CRIME_AND_PUNISHMENT, str(i)), "ru-novel")
            for i, chunk in enumerate(chunk_sentences(sentences, target=260)) if natural(chunk)]


def pools(wheels: dict[str, Wheel]) -> dict[str, list[Cand]]:
    """The multilingual pools, one per source package."""
    return {
        "django-locales": django_pool(wheels["django"]),
        "mimesis": mimesis_pool(wheels["mimesis"]),
        "pyjokes-multilingual": jokes_pool(wheels["pyjokes"]),
        "chatterbot-multilingual": chatterbot_pool(wheels["chatterbot-corpus"]),
        "novel": novel_pool(wheels["gensim"]),
    }
