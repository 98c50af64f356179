"""Quotes with speakers, keywords and amounts, and SimHash near-duplicates on generated edits."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tasks.enrich.entities import extract_entities
from tasks.enrich.fingerprint import MAX_DISTANCE, distance, near_duplicate, simhash
from tasks.enrich.keywords import extract_amounts, extract_keywords
from tasks.enrich.quotes import extract_quotes


@pytest.mark.parametrize(
    ("text", "speaker"),
    [
        ('"We will win," said Prime Minister Boris Johnson on Monday.', "Boris Johnson"),
        ("“It is over,” the ministry in Rome said.", "the ministry in Rome"),
        ("Senator Jane Doe spoke. “We are ready,” she said.", "Jane Doe"),
        ("Senator Jane Doe urged voters to act “before it is too late”.", "Jane Doe"),
        ("The sign read “closed”.", None),
    ],
)
def test_quote_speakers(text: str, speaker: str | None) -> None:
    quotes = extract_quotes(text, extract_entities(text))
    assert len(quotes) == 1
    assert quotes[0].speaker == speaker
    assert text[quotes[0].start : quotes[0].end] == quotes[0].quote


def test_keywords_skip_stopwords() -> None:
    text = "The railway strike hit the railway network. Railway unions said the strike would go on. " * 3
    keywords = extract_keywords(text, "en")
    assert keywords[0].lower().startswith("railway")
    assert "the" not in [k.lower() for k in keywords]
    assert extract_keywords("too short", "en") == []


def test_amounts() -> None:
    found = {a.text: (a.value, a.unit) for a in extract_amounts("Costs rose 3.5% to $5.2 million, or €20 a head.")}
    assert found == {"3.5%": (3.5, "%"), "$5.2 million": (5_200_000.0, "USD"), "€20": (20.0, "EUR")}


ARTICLE = (Path(__file__).resolve().parents[2] / "seeds" / "000_30a036b7f4c49258.txt").read_text(encoding="utf-8")


def _edit(text: str, edits: int, seed: int) -> str:
    words = text.split()
    rng = random.Random(seed)
    for _ in range(edits):
        words[rng.randrange(len(words))] = rng.choice(["edited", "changed", "new", "fixed"])
    return " ".join(words)


@pytest.mark.parametrize("seed", range(5))
def test_light_edits_stay_near(seed: int) -> None:
    original = simhash(ARTICLE)
    copy = simhash(_edit(ARTICLE, 3, seed))
    assert original is not None and copy is not None
    assert distance(original, copy) <= MAX_DISTANCE
    assert near_duplicate(copy, [("a1", original)], own_id="a2") == "a1"


def test_different_articles_are_far() -> None:
    other = simhash(" ".join(f"Report {i}: heavy snow closed mountain passes and {i} ski lifts." for i in range(40)))
    assert other is not None
    original = simhash(ARTICLE)
    assert original is not None and other is not None
    assert distance(original, other) > MAX_DISTANCE
    assert near_duplicate(other, [("a1", original)], own_id="a2") is None


def test_fingerprint_fits_int64_and_short_text_has_none() -> None:
    value = simhash(ARTICLE)
    assert value is not None and -(2**63) <= value < 2**63
    assert simhash("two words") is None
    assert near_duplicate(value, [("same", value)], own_id="same") is None
