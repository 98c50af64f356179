"""Text → title, lede, counts, dates and quotations: cheap, deterministic, language-agnostic."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime

from tasks.parse.instants import parse_instant

WORDS_PER_MINUTE = 230  # adult silent reading of non-fiction
_CJK_CHARS_PER_MINUTE = 500

_WORD = re.compile(r"\w+(?:['’-]\w+)*")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_SENTENCE_END = re.compile(r"[.!?。！？؟।]+[\"'”’»)]*(?=\s|$)")
_QUOTE = re.compile(r"“[^”]{2,}”|«[^»]{2,}»|„[^“”]{2,}[“”]|\"[^\"\n]{2,}\"|「[^」]{2,}」")

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS |= {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
_WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}
_MONTH = "|".join(sorted((m for m in _MONTHS), key=len, reverse=True))
_WEEKDAY = "|".join(_WEEKDAYS)
_DATE_PATTERNS = (
    # Monday (27 September) / Monday, 27 September 2021 / 27 Sept. 2021
    re.compile(
        rf"\b(?=[0-9MTWFSmtwfs])(?:(?P<wd>{_WEEKDAY})\s*[,(]?\s*)?(?P<d>[0-3]?\d)(?:st|nd|rd|th)?\s+(?P<m>{_MONTH})\.?(?:,?\s+(?P<y>(?:19|20)\d\d))?\)?",
        re.I,
    ),
    # September 27, 2021 / Monday, September 27
    re.compile(
        rf"\b(?=[JFMASONDTWjfmasondtw])(?:(?P<wd>{_WEEKDAY}),?\s+)?(?P<m>{_MONTH})\.?\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)?\b(?:,?\s+(?P<y>(?:19|20)\d\d))?",
        re.I,
    ),
    re.compile(r"\b(?P<y>(?:19|20)\d\d)-(?P<m>[01]\d)-(?P<d>[0-3]\d)\b"),
    re.compile(r"\b(?=[isubfoISUBFO])(?:in|since|until|by|from|of)\s+(?P<y>(?:19|20)\d\d)\b", re.I),
)

# What each pattern cannot match without (lowercase): month names start with their abbreviations.
_MONTH_NEEDLES = tuple(name.lower() for name in calendar.month_abbr if name)
_DATE_NEEDLES = (_MONTH_NEEDLES, _MONTH_NEEDLES, ("19", "20"), ("19", "20"))


@dataclass(frozen=True, slots=True)
class DateMention:
    text: str
    year: int | None
    month: int | None
    day: int | None
    weekday: str | None
    resolved: date | None  # full date when year is written or inferred from the reference date


@dataclass(frozen=True, slots=True)
class TextMetadata:
    title: str | None
    lede: str | None
    char_count: int
    word_count: int
    paragraph_count: int
    sentence_count: int
    reading_time_minutes: float
    quote_count: int
    dates: tuple[DateMention, ...] = field(default_factory=tuple)


def paragraphs(text: str) -> list[str]:
    """Blank-line separated blocks; single-newline text (one sentence per line) counts lines."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]
    if len(blocks) <= 1:
        blocks = [line.strip() for line in text.split("\n") if line.strip()]
    return blocks


def count_words(text: str) -> tuple[int, int]:
    """(words, of which CJK characters): each Chinese, Japanese or Korean character counts as a word."""
    rest, cjk = _CJK.subn(" ", text)
    return len(_WORD.findall(rest)) + cjk, cjk


def _month(value: str) -> int:
    return int(value) if value.isdigit() else _MONTHS[value.lower().rstrip(".")]


def resolve_year(month: int, day: int, weekday: str | None, reference: date) -> int | None:
    """The year of a day-month mention: the latest on or before the reference (a file's date) whose weekday
    matches; without a weekday, the reference's year unless that puts the date after the reference."""
    latest = reference + timedelta(days=2)  # a file saved just after midnight, UTC vs local time
    for year in range(reference.year, reference.year - 12, -1):  # weekdays repeat within 11 years
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate > latest:
            continue
        if weekday is None or candidate.weekday() == _WEEKDAYS[weekday.lower()]:
            return int(year)
    return None


def find_dates(text: str, *, reference: date | None = None) -> tuple[DateMention, ...]:
    """Dates written in the text, in order; day-month mentions get their year from ``reference``."""
    found: dict[int, DateMention] = {}
    taken: list[range] = []
    lowered = text.lower()
    for pattern, needles in zip(_DATE_PATTERNS, _DATE_NEEDLES, strict=True):
        if not any(needle in lowered for needle in needles):
            continue  # substring tests in C: most texts hold no English month name, and trying one costs
        for match in pattern.finditer(text):
            span = range(match.start(), match.end())
            if any(span.start < t.stop and t.start < span.stop for t in taken):
                continue
            groups = match.groupdict()
            year = int(groups["y"]) if groups.get("y") else None
            month = _month(groups["m"]) if groups.get("m") else None
            day = int(groups["d"]) if groups.get("d") else None
            if day is not None and not 1 <= day <= 31:
                continue
            weekday = groups.get("wd")
            weekday = weekday.capitalize() if weekday else None
            resolved: date | None = None
            if month and day:
                if year is None and reference is not None:
                    year_guess = resolve_year(month, day, weekday, reference)
                else:
                    year_guess = year
                if year_guess is not None:
                    try:
                        resolved = date(year_guess, month, day)
                    except ValueError:
                        resolved = None
            taken.append(span)
            found[match.start()] = DateMention(match.group(0).strip(), year, month, day, weekday, resolved)
    return tuple(found[k] for k in sorted(found))


def extract_metadata(text: str, *, title: str | None = None, reference: date | None = None) -> TextMetadata:
    """Counts and simple structure of an article's text."""
    blocks = paragraphs(text)
    body = blocks[1:] if title and blocks and blocks[0] == title else blocks
    lede = body[0] if body else None
    words, cjk = count_words(text)
    minutes = (words - cjk) / WORDS_PER_MINUTE + cjk / _CJK_CHARS_PER_MINUTE
    sentences = len(_SENTENCE_END.findall(text)) or (1 if text.strip() else 0)
    return TextMetadata(
        title=title,
        lede=lede,
        char_count=len(text),
        word_count=words,
        paragraph_count=len(blocks),
        sentence_count=sentences,
        reading_time_minutes=round(minutes, 2),
        quote_count=len(_QUOTE.findall(text)),
        dates=find_dates(text, reference=reference),
    )


# --- Title, author, byline and dateline: what the article extractors (news-please, newspaper4k) give ---

_TITLE_SEPARATORS = re.compile(r"\s+[|–—·•]\s+|\s+-\s+|\s*[|｜]\s*|\s*::\s*")
_SEPARATOR_CHARS = "|–—·•-:：_｜"
_TOKEN = re.compile(r"\w+")
_CJK_SITE_SUFFIX = re.compile(r"\s*[-_|｜]\s*[\u4e00-\u9fff\w]{1,8}(?:网|網|报|報|新闻|新聞)$")  # "…-新华网"
_LEADING_DATE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\s*")
_AUTHOR_PREFIX = re.compile(
    r"^(?:by|por|von|par|di|door|av|af|przez|autor(?:in)?|author|texto?|text|redacción|reportage|"
    r"责任编辑|编辑|作者|記者|文)\s*[:：]?\s+|^(?:责任编辑|编辑|作者|記者)\s*[:：]\s*",
    re.I,
)
_AUTHOR_SPLIT = re.compile(r"\s*;\s*")
_BYLINE = re.compile(
    r"^(?:By|Por|Von|Par|Di|Door|Av|Przez|Texto:|Text:|Autor:|Author:)\s+"
    r"(?P<name>[^\W\d_][\w.'’-]*(?:\s+(?:[^\W\d_][\w.'’-]*|de|da|del|van|von|der|y|und|and|et)){0,5})\s*$"
)
_SIGNATURE = re.compile(r"^[^\W\d_][\w'’-]+(?:\s+[^\W\d_][\w.'’-]+){1,3}$")
_FOOTNOTE = re.compile(r"^(?:\(\d{1,2}\)|\[\d{1,2}\]|\d{1,2}\.|\*)\s")
_DATELINE = re.compile(
    r"^(?P<place>[^\W\d_][\w'’.-]*(?:[ -][^\W\d_][\w'’.-]*){0,3})(?:,\s*[^\W\d_][\w.]*(?:\s[^\W\d_][\w.]*)?)?"
    r"\s*(?:\((?P<agency>[A-Za-z]{2,6}(?:/[A-Za-z]{2,6})?)\))?\s*[—–-]{1,2}\s"
)


def _squash(value: str) -> str:
    return "".join(_TOKEN.findall(value.casefold()))


def clean_title(
    title: str | None, *, headings: tuple[str, ...] = (), site: str | None = None, page_title: str | None = None
) -> str | None:
    """The headline without the site name: the page's <h1> when it matches the <title>, else <title> trimmed."""
    if not title:
        return title
    rest = page_title[len(title.rstrip()) :] if page_title and page_title.startswith(title.rstrip()) else ""
    if page_title and rest.strip() and not _TITLE_SEPARATORS.match(rest) and rest.lstrip()[:1] not in _SEPARATOR_CHARS:
        title = page_title  # the extractor's title was cut short (a stray quote in og:title), not a site appended
    title = _CJK_SITE_SUFFIX.sub("", title)
    title_tokens = set(_TOKEN.findall(title.casefold()))
    squashed_site = _squash(site) if site else ""
    for heading in headings:
        heading = _LEADING_DATE.sub("", heading)
        if squashed_site and _squash(heading) in squashed_site:
            continue  # the site's name set as a heading (a logo)
        tokens = _TOKEN.findall(heading.casefold())
        if len(tokens) >= 2 and sum(t in title_tokens for t in tokens) >= 0.4 * len(tokens):
            return " ".join(heading.split())
    parts = [p.strip() for p in _TITLE_SEPARATORS.split(title) if p.strip()]
    if len(parts) > 1 and site:
        squashed_site = _squash(site)
        kept = [p for p in parts if not (_squash(p) and (_squash(p) in squashed_site or squashed_site in _squash(p)))]
        if kept and len(kept) < len(parts):
            return " - ".join(kept) if len(kept) > 1 else kept[0]
    return title


def clean_author(author: str | None, *, site: str | None = None) -> str | None:
    """Author names without "By"/"Por"/"责任编辑：" prefixes and without the site's own name; "; "-joined."""
    if not author:
        return None
    squashed_site = _squash(site) if site else ""
    names = []
    for part in _AUTHOR_SPLIT.split(author):
        name = _AUTHOR_PREFIX.sub("", part.strip()).strip(" ,;:：")
        if not name or (squashed_site and (_squash(name) == squashed_site or _squash(name) in squashed_site)):
            continue
        if name not in names:
            names.append(name)
    return "; ".join(names) or None


def byline_from_text(text: str) -> str | None:
    """An author written in the text: a "By …"/"Por …" line near the top, an agency in the dateline
    ("Hamburg (dpa/lno) –"), or a lone name signing off the last lines."""
    blocks = [b.strip() for b in text.split("\n") if b.strip()]
    for block in blocks[:4]:
        match = _BYLINE.match(block)
        if match:
            return match.group("name")
        dateline = _DATELINE.match(block)
        if dateline and dateline.group("agency"):
            return dateline.group("agency")
    tail = blocks[-8:]
    for index in range(len(tail) - 1, 0, -1):  # a name line ending the text, or before its footnotes
        block = tail[index]
        if (
            _SIGNATURE.match(block)
            and all(w[0].isupper() and not w.isupper() for w in block.split())
            and (index == len(tail) - 1 or (len(tail[index - 1]) > 200 and _FOOTNOTE.match(tail[index + 1])))
        ):
            return block
    return None


def dateline_place(text: str, *, title: str | None = None) -> str | None:
    """The place a dateline opens the first paragraph with: "PRISTINA, Kosovo —", "Hamburg (dpa) –"."""
    blocks = [b.strip() for b in text.split("\n") if b.strip()]
    if title and blocks and blocks[0] == title:
        blocks = blocks[1:]
    for block in blocks[:2]:
        match = _DATELINE.match(block)
        if match and len(match.group("place")) <= 40:
            return match.group("place")
    return None


# --- Publication date: the day the source states, and the instant when it states a time and zone ---

_ISO_DAY = re.compile(r"^\s*((?:19|20)\d\d)-?([01]\d)-?([0-3]\d)(?![\d])")


def read_published(value: str, instant: str | None = None) -> tuple[date | None, datetime | None]:
    """(day, UTC instant) of a stated publication date: ISO 8601 ("2021-09-27", "2021-09-27T10:00:00+02:00")
    or RFC 2822 ("Mon, 27 Sep 2021 10:00:00 GMT", as feeds write it). The day is the one written, in the
    source's own time zone; ``instant`` (an ISO timestamp found with it) supplies the time when ``value`` has
    none. (None, None) for anything else."""
    moment = parse_instant(instant) if instant else None
    if (match := _ISO_DAY.match(value)) is not None:
        try:
            day = date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return None, None
        return day, moment or parse_instant(value)
    try:
        written = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None, None
    if not 1900 <= written.year <= 2100:
        return None, None
    return written.date(), moment or (written.astimezone(UTC) if written.tzinfo is not None else None)
