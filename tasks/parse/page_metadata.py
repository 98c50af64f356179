"""A web page's title, author, date, site, description and URL, each with where it was found.

trafilatura's ``extract_metadata`` (OpenGraph and meta tags, then JSON-LD, then the page's headings, bylines and
``<title>``) and htmldate's ``find_date`` (extensive search, original date) are the floor: this module runs their
own steps, in their order and on the tree the page was parsed into once, so every value is theirs, and records
which step gave it (``*_source``). A date htmldate finds is upgraded to an instant when a JSON-LD or meta
timestamp of the same day states its time and zone.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tasks.parse.instants import parse_instant

# Where a value was found; the ``*_source`` columns take only these (expectations/articles.json checks it).
SOURCES = (
    "json-ld",  # schema.org JSON-LD
    "meta",  # OpenGraph, Dublin Core, Twitter and other <meta> tags
    "link",  # <link rel="canonical">, <base>
    "title-tag",  # the page's <title>
    "h1",  # an <h1> (the single one, or the first)
    "heading",  # another headline element: a classed <h1>/<h2>/<h3> ("entry-title"), the first <h2>
    "byline",  # an author element of the page (rel="author", class="byline", …)
    "url",  # the page's URL (a date in its path, the site's domain)
    "markup",  # elsewhere in the page's markup (htmldate: <time>, date-like classes, the page's text)
    "text",  # the article's text (a "By …" line, a date near the top, a headline-like first line)
    "json",  # a key of a JSON / JSONL article
    "markdown-heading",  # a Markdown file's first heading
)
FIELDS = ("title", "author", "site", "description", "url")
_SLOTS = {"title": "title", "author": "author", "site": "sitename", "description": "description", "url": "url"}
_URL_DATE = re.compile(r"(?<!\d)((?:19|20)\d\d)[/_.-]([01]?\d)[/_.-]([0-3]?\d)(?!\d)")
_JSON_DATE = re.compile(r'"(datePublished|dateCreated|uploadDate)"\s*:\s*"([^"]{10,40})"')


@dataclass(frozen=True, slots=True)
class PageMetadata:
    values: dict[str, str]  # field → value (title, author, site, description, url, published, published_at)
    sources: dict[str, str]  # field → one of SOURCES


def page_metadata(tree: Any) -> PageMetadata:
    """Metadata of a parsed page (``lxml.html`` tree, left unchanged) with each field's source."""
    import htmldate
    from trafilatura import metadata as traf

    found = traf.examine_meta(tree)
    if found.author and " " not in found.author:  # as trafilatura: a one-word meta author is a handle
        found.author = None
    sources = {name: "meta" for name, slot in _SLOTS.items() if getattr(found, slot)}
    before = {slot: getattr(found, slot) for slot in _SLOTS.values()}
    with contextlib.suppress(Exception):  # as trafilatura: a bug in its JSON-LD reader costs only the JSON-LD
        found = traf.extract_meta_json(tree, found)
    sources |= {name: "json-ld" for name, slot in _SLOTS.items() if getattr(found, slot) != before[slot]}
    if not found.title and (title := traf.extract_title(tree)):
        found.title, sources["title"] = title, _title_source(tree, title, traf)
    if not found.author and (author := traf.extract_author(tree)):
        found.author, sources["author"] = author, "byline"
    if not found.url and (url := traf.extract_url(tree)):
        found.url, sources["url"] = url, "link"
    if not found.sitename and (site := traf.extract_sitename(tree)):
        found.sitename, sources["site"] = _other_title_part(tree, site, found.title, traf), "title-tag"
    if found.sitename:
        found.sitename = found.sitename.lstrip("@")
        if found.sitename and "." not in found.sitename and not found.sitename[0].isupper():
            found.sitename = found.sitename.title()
    elif found.url and (domain := traf.META_URL.match(found.url)):
        found.sitename, sources["site"] = domain[1], "url"
    found.clean_and_trim()
    values = {name: value for name, slot in _SLOTS.items() if isinstance(value := getattr(found, slot), str) and value}
    day = htmldate.find_date(tree, extensive_search=True, original_date=True, url=found.url)
    if day:
        values["published"] = day
        moment, sources["published"] = _date_source(tree, day, found.url)
        if moment is not None:
            values["published_at"] = moment.isoformat()
    return PageMetadata(values, {name: source for name, source in sources.items() if name in values})


def _other_title_part(tree: Any, site: str, title: str | None, traf: Any) -> str | None:
    """trafilatura takes the part of "<headline> | <site>" that holds a dot as the site: when that part is the
    headline ("… Agenda. Does He …", "L.A. schools"), the site is the other part."""
    if not title or " ".join(site.split()) != " ".join(title.split()):
        return site
    _, first, second = traf.examine_title_element(tree)
    other: str | None = second if first == site else first
    return other


def _title_source(tree: Any, title: str, traf: Any) -> str:
    """Which of trafilatura's title steps gave ``title``: an <h1>, the <title>, or another headline element."""
    from trafilatura.baseline import block_text

    h1s = tree.findall(".//h1")
    if any(block_text(h1) == title for h1 in h1s[:3]):
        return "h1"
    whole, first, second = traf.examine_title_element(tree)
    return "title-tag" if title in (whole, first, second) else "heading"


def _date_source(tree: Any, day: str, url: str | None) -> tuple[datetime | None, str]:
    """Where htmldate's ``day`` is stated, in htmldate's order (URL, meta, JSON-LD, elsewhere), and the instant
    a timestamp of that day in the meta tags, the JSON-LD or a ``<time datetime>`` gives (None when none states
    a time with its zone). htmldate returns only the day: a stated value of that same day is what it read.
    """
    stated = {"meta": _meta_dates(tree), "json-ld": _json_dates(tree), "markup": _time_elements(tree)}
    same = {source: [stamp for stamp in stamps if stamp[:10] == day] for source, stamps in stated.items()}
    moment = next((m for stamps in same.values() for stamp in stamps if (m := parse_instant(stamp))), None)
    if url and (match := _URL_DATE.search(url)) and _same_day(match, day):
        return moment, "url"
    return moment, next((source for source in ("meta", "json-ld") if same[source]), "markup")


def _time_elements(tree: Any) -> list[str]:
    """The ``datetime`` of the page's first <time> elements."""
    return [str(element.get("datetime")).strip() for element in tree.xpath("(//time[@datetime])[position() <= 5]")]


def _same_day(match: re.Match[str], day: str) -> bool:
    try:
        return date(int(match[1]), int(match[2]), int(match[3])).isoformat() == day
    except ValueError:
        return False


def _meta_dates(tree: Any) -> list[str]:
    """Publication timestamps of the page's <meta> tags (htmldate's list of publication-date names)."""
    from htmldate.core import DATE_ATTRIBUTES

    stamps = []
    for element in tree.iterfind(".//head/meta[@content]"):
        name = (element.get("property") or element.get("name") or element.get("itemprop") or "").lower()
        if name in DATE_ATTRIBUTES or name in ("datepublished", "datecreated"):
            stamps.append(str(element.get("content")).strip())
    return stamps


def _json_dates(tree: Any) -> list[str]:
    """``datePublished``-like values in the page's JSON-LD, read as text (a broken block still yields them)."""
    stamps = []
    for script in tree.iterfind(".//script[@type='application/ld+json']"):
        stamps += [value for _, value in _JSON_DATE.findall(script.text or "")]
    return [json.loads(f'"{s}"') if "\\" in s and _is_json_string(s) else s for s in stamps]


def _is_json_string(value: str) -> bool:
    try:
        json.loads(f'"{value}"')
    except ValueError:
        return False
    return True
