"""Text → quotations with their speakers, when the text attributes them.

A quotation is text between typographic or straight quotes (“…”, «…», „…“, "…", 「…」). Its speaker is
looked for, in order:

1. right after it: “…,” Rama said / “…,” said the minister / “…,” the defence ministry in Belgrade said;
2. before it in the same sentence: a person named before a speech verb (Borrell urged … “…”),
   or "X said/wrote … that … “…”";
3. a pronoun speaker (he, she, they) resolves to the last person named before the quotation.

Speakers that are people found by ``tasks.enrich.entities`` are normalised to their full name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tasks.enrich.entities import PERSON, Entity

VERSION = "1"

_QUOTE = re.compile(
    r"“([^”]{1,2000})”|«\s*([^»]{1,2000}?)\s*»|„([^“”]{1,2000})[“”]|\"([^\"\n]{1,2000})\"|「([^」]{1,2000})」"
)
_VERBS = (
    r"said|says|say|told|tells|added|adds|stated|states|wrote|writes|noted|notes|explained|explains|warned|warns|"
    r"urged|urges|insisted|insists|claimed|claims|argued|argues|asked|asks|replied|replies|declared|declares|"
    r"announced|announces|called|calls|tweeted|posted|continued|concluded|admitted|acknowledged|stressed|"
    r"according to"
)
_AFTER = re.compile(
    rf"\s*[,.]?\s*(?:(?P<verb1>{_VERBS})\s+(?P<who1>[^.,;“”\"\n]{{1,80}}?)(?=[.,;]|\s+(?:in|on|at|during)\b|$)"
    rf"|(?!(?:and|but|or|then|which|who|that|to|as|while|so)\b)(?P<who2>[^\s.,;“”\"\n][^.,;“”\"\n]{{0,79}}?)\s+(?:{_VERBS})\b)",
    re.I,
)
_BEFORE_VERB = re.compile(rf"\b(?:{_VERBS})\b", re.I)
_PRONOUNS = frozenset({"he", "she", "they", "him", "her"})
_SENTENCE_START = re.compile(r"[.!?]\s+(?=[^\s])|\n")


@dataclass(frozen=True, slots=True)
class Quote:
    quote: str
    speaker: str | None
    start: int  # offsets of the quoted text (without the quote marks)
    end: int


def _person_at(entities: list[Entity], start: int, end: int) -> Entity | None:
    for entity in entities:
        if entity.kind == PERSON and start <= entity.start and entity.end <= end:
            return entity
    return None


def _last_person_before(entities: list[Entity], position: int) -> Entity | None:
    found = None
    for entity in entities:
        if entity.start >= position:
            break
        if entity.kind == PERSON:
            found = entity
    return found


def _resolve(who: str, who_start: int, entities: list[Entity], quote_start: int) -> str | None:
    who = who.strip()
    if not who:
        return None
    if who.lower() in _PRONOUNS:
        person = _last_person_before(entities, quote_start)
        return person.normalised if person else None
    person = _person_at(entities, who_start, who_start + len(who))
    if person:
        return person.normalised
    return who


def extract_quotes(text: str, entities: list[Entity]) -> list[Quote]:
    """Quotations in order, each with its speaker when the text says who."""
    ordered = sorted(entities, key=lambda e: e.start)
    quotes = []
    for match in _QUOTE.finditer(text):
        group = next(i for i in range(1, 6) if match.group(i) is not None)
        start, end = match.start(group), match.end(group)
        while end > start and (text[end - 1].isspace() or text[end - 1] == ","):  # “…,” he said
            end -= 1
        while start < end and text[start].isspace():
            start += 1
        quote = text[start:end]
        if not re.search(r"[^\W\d_]", quote):
            continue
        speaker = None
        after = _AFTER.match(text, match.end(), min(len(text), match.end() + 120))
        if after:
            who = after.group("who1") or after.group("who2") or ""
            who_start = after.start("who1") if after.group("who1") else after.start("who2")
            if len(who.split()) <= 8 and not _QUOTE.search(who):
                speaker = _resolve(who, who_start, ordered, match.start())
        if speaker is None:
            sentence_start = max((m.end() for m in _SENTENCE_START.finditer(text, 0, match.start())), default=0)
            before = text[sentence_start : match.start()]
            verb = _BEFORE_VERB.search(before)
            if verb is not None:
                subject_end = sentence_start + verb.start()
                person = None
                for entity in ordered:
                    if entity.kind == PERSON and sentence_start <= entity.start < subject_end:
                        person = entity
                if person is not None:
                    speaker = person.normalised
                else:
                    subject = text[sentence_start:subject_end].split()
                    if subject and subject[-1].lower() in _PRONOUNS:
                        speaker = _resolve(subject[-1], 0, ordered, match.start())
        quotes.append(Quote(quote, speaker, start, end))
    return quotes
