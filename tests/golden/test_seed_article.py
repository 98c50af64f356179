"""Golden test: the seed article's enrichment matches what a careful reader finds in it."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tasks.enrich.steps import enrich_document
from tasks.models import FileRef
from tasks.parse.documents import parse_file

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = json.loads((Path(__file__).parent / "seed_000_30a036b7f4c49258.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def row() -> dict[str, Any]:
    path = ROOT / GOLDEN["source"]
    data = path.read_bytes()
    parsed = parse_file(path.name, data, max_decompressed_bytes=10_000_000)
    # mtime 2021-09-28: the "Monday (27 September)" mention resolves against the file's date
    return enrich_document(parsed.documents[0], FileRef(path.name, len(data), 1_632_787_200 * 10**9))


def _names(row: dict[str, Any], kind: str) -> set[str]:
    return {e["normalised"] for e in row["entities"] if e["kind"] == kind}


def test_language(row: dict[str, Any]) -> None:
    assert row["language"] == GOLDEN["language"]
    assert row["language_script"] == "Latin"
    assert not row["is_multilingual"]


def test_persons(row: dict[str, Any]) -> None:
    persons = _names(row, "person")
    assert set(GOLDEN["persons"]) <= persons
    assert not persons & set(GOLDEN["not_persons"])
    surnames = {e["name"]: e["normalised"] for e in row["entities"] if e["kind"] == "person"}
    assert surnames["Haradinaj"] == "Ramush Haradinaj"  # a surname mention links to the full name
    assert surnames["Krasniqi"] == "Memli Krasniqi"


def test_places_with_country_codes(row: dict[str, Any]) -> None:
    places = {e["name"]: e["country"] for e in row["entities"] if e["kind"] == "place"}
    for name, code in GOLDEN["places"].items():
        assert places.get(name) == code, name
    assert row["countries"][:2] == GOLDEN["countries_first"]
    assert "US" in row["countries"]


def test_organisations(row: dict[str, Any]) -> None:
    assert set(GOLDEN["organisations"]) <= _names(row, "organisation")


def test_offsets_point_at_the_text(row: dict[str, Any]) -> None:
    for entity in row["entities"]:
        assert row["text"][entity["start"] : entity["end"]] == entity["name"]
    for quote in row["quotes"]:
        assert row["text"][quote["start"] : quote["end"]] == quote["quote"]


def test_quotes_with_speakers(row: dict[str, Any]) -> None:
    found = [(q["quote"], q["speaker"]) for q in row["quotes"]]
    for expected in GOLDEN["quotes"]:
        matches = [speaker for quote, speaker in found if quote.startswith(expected["starts"])]
        assert matches == [expected["speaker"]], expected


def test_dates(row: dict[str, Any]) -> None:
    mentions = row["dates_mentioned"]
    for expected in GOLDEN["dates"]:
        hit = next(d for d in mentions if d["text"] == expected["text"])
        assert (hit["month"], hit["day"], hit["weekday"]) == (expected["month"], expected["day"], expected["weekday"])
        assert hit["resolved"].isoformat() == "2021-09-27"  # the Monday nearest before the file date
    assert {d["year"] for d in mentions if d["year"]} >= set(GOLDEN["years"])
    assert row["published_date"] == date(2021, 9, 27) and row["published_source"] == "text"
    assert row["published_at"] is None  # the text states the day only
