"""Per-field provenance (``*_source``) and the publication date as a day plus, when stated, an instant."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from tasks.enrich.metadata import parse_instant, read_published
from tasks.enrich.steps import metadata_columns
from tasks.parse.documents import parse_file
from tasks.parse.page_metadata import SOURCES

_BODY = "<p>" + "The council approved the budget after a long debate about schools and roads. " * 6 + "</p>"


def _page(head: str, body: str = "") -> bytes:
    return f'<html><head><meta charset="utf-8">{head}</head><body>{body}{_BODY}</body></html>'.encode()


def _fields(data: bytes, name: str = "p.html") -> dict[str, Any]:
    [doc] = parse_file(name, data, max_decompressed_bytes=10**6).documents
    return {"title": doc.title, **doc.fields}


_LD = (
    '<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle", '
    '"headline": "Council approves budget", "datePublished": "2021-11-01T10:52:50+01:00", '
    '"author": {"@type": "Person", "name": "Maria Silva"}, "publisher": {"@type": "Organization", '
    '"name": "Jornal Exemplo"}}</script>'
)


@pytest.mark.parametrize(
    ("head", "body", "expected"),
    [
        (_LD, "", {"title": "json-ld", "author": "json-ld", "site": "json-ld", "published": "json-ld"}),
        (
            '<meta property="og:title" content="Council approves budget"><meta name="author" content="Maria Silva">'
            '<meta property="og:site_name" content="Jornal Exemplo">'
            '<meta property="article:published_time" content="2021-11-01T10:52:50Z">'
            '<meta name="description" content="The vote.">',
            "",
            {"title": "meta", "author": "meta", "site": "meta", "published": "meta", "description": "meta"},
        ),
        ("<title>Council approves budget | Jornal Exemplo</title>", "", {"title": "title-tag"}),
        ("<title>x</title>", "<h1>Council approves budget</h1>", {"title": "h1"}),
        ("", '<h1>Council approves budget</h1><p class="byline">Maria Silva</p>', {"author": "byline"}),
        (
            '<link rel="canonical" href="https://exemplo.pt/2021/11/01/budget">',
            "",
            {"url": "link", "published": "url", "site": "url"},
        ),
        ("", '<h1>Budget</h1><time datetime="2021-11-01T10:52:50+01:00">1 Nov</time>', {"published": "markup"}),
    ],
    ids=["json-ld", "meta", "title-tag", "h1", "byline", "url", "markup"],
)
def test_each_html_field_says_where_it_was_found(head: str, body: str, expected: dict[str, str]) -> None:
    fields = _fields(_page(head, body))
    assert {name: fields.get(f"{name}_source") for name in expected} == expected
    assert all(fields[f"{name}_source"] in SOURCES for name in expected)


def test_a_stated_time_with_its_zone_makes_an_instant() -> None:
    fields = _fields(_page(_LD))
    row = metadata_columns(
        "Council approves budget\n\nText.", title=fields["title"], fields=fields, reference=date(2022, 1, 1)
    )
    assert row["published_date"] == date(2021, 11, 1)
    assert row["published_at"] == datetime(2021, 11, 1, 9, 52, 50, tzinfo=UTC)
    assert (row["published_source"], row["title_source"], row["author_source"]) == ("json-ld", "json-ld", "json-ld")


def test_a_day_alone_has_no_instant() -> None:
    fields = _fields(_page('<meta name="date" content="2021-11-01">'))
    row = metadata_columns("Text of the article.", title=None, fields=fields, reference=date(2022, 1, 1))
    assert (row["published_date"], row["published_at"], row["published_source"]) == (date(2021, 11, 1), None, "meta")


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        (
            "a.json",
            json.dumps(
                {"headline": "Budget", "body": "The council voted.", "author": "Maria Silva", "date": "2021-09-27"}
            ).encode(),
            {"title_source": "json", "author_source": "json", "published_source": "json"},
        ),
        ("a.md", b"# Budget approved\n\nThe council voted.", {"title_source": "markdown-heading"}),
        ("a.txt", b"Budget approved\n\nBy Maria Silva\n\nThe council voted on Monday (27 September).", {}),
    ],
)
def test_other_formats_say_where_their_fields_came_from(name: str, data: bytes, expected: dict[str, str]) -> None:
    [doc] = parse_file(name, data, max_decompressed_bytes=10**6).documents
    row = metadata_columns(doc.text, title=doc.title, fields=doc.fields, reference=date(2021, 10, 1))
    if name == "a.txt":
        expected = {"title_source": "text", "author_source": "text", "published_source": "text"}
        assert row["published_date"] == date(2021, 9, 27) and row["author"] == "Maria Silva"
    assert {key: row[key] for key in expected} == expected


@pytest.mark.parametrize(
    ("value", "instant", "expected"),
    [
        ("2021-09-27", None, (date(2021, 9, 27), None)),
        ("2021-09-27T23:30:00-05:00", None, (date(2021, 9, 27), datetime(2021, 9, 28, 4, 30, tzinfo=UTC))),
        ("2021-11-01T10:52:50+0100", None, (date(2021, 11, 1), datetime(2021, 11, 1, 9, 52, 50, tzinfo=UTC))),
        ("2021-09-27T10:00:00", None, (date(2021, 9, 27), None)),  # a time without its zone is no instant
        ("20170113", None, (date(2017, 1, 13), None)),
        ("Mon, 27 Sep 2021 10:00:00 GMT", None, (date(2021, 9, 27), datetime(2021, 9, 27, 10, tzinfo=UTC))),
        ("2021-09-27", "2021-09-27T08:00:00+00:00", (date(2021, 9, 27), datetime(2021, 9, 27, 8, tzinfo=UTC))),
        ("2021-02-30", None, (None, None)),
        ("yesterday", None, (None, None)),
        ("", None, (None, None)),
    ],
)
def test_read_published(value: str, instant: str | None, expected: tuple[date | None, datetime | None]) -> None:
    assert read_published(value, instant) == expected


def test_parse_instant_needs_a_time_and_a_zone() -> None:
    assert parse_instant("2021-09-27") is None and parse_instant("2021-09-27T10:00") is None
    assert parse_instant("2021-09-27T10:00Z") == datetime(2021, 9, 27, 10, tzinfo=UTC)


def test_the_expectations_allow_only_known_sources() -> None:
    suite = json.loads((Path(__file__).parents[2] / "expectations" / "articles.json").read_text(encoding="utf-8"))
    checked = {
        e["kwargs"]["column"]: set(e["kwargs"]["value_set"])
        for e in suite["expectations"]
        if e["type"] == "expect_column_values_to_be_in_set" and e["kwargs"]["column"].endswith("_source")
    }
    assert set(checked) == {f"{name}_source" for name in ("title", "author", "published", "site", "description", "url")}
    assert set().union(*checked.values()) <= set(SOURCES)
