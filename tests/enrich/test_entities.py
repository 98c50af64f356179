"""Offline entity extraction: titles mark people, organisation words and gazetteers classify the rest."""

from __future__ import annotations

import pytest

from tasks.enrich.entities import countries_of, extract_entities


def _kinds(text: str) -> dict[str, str]:
    return {e.normalised: e.kind for e in extract_entities(text)}


@pytest.mark.parametrize(
    ("text", "name", "kind"),
    [
        ("Prime Minister Boris Johnson visited Paris on Friday.", "Boris Johnson", "person"),
        ("The talks were led by chief diplomat Josep Borrell.", "Josep Borrell", "person"),
        ("Chancellor Angela Merkel met President Emmanuel Macron in Berlin.", "Emmanuel Macron", "person"),
        ("The Ministry of Foreign Affairs issued a statement.", "Ministry of Foreign Affairs", "organisation"),
        ("Officials met the European Union and the EU Commission.", "European Union", "organisation"),
        ("NATO said it would respond.", "NATO", "organisation"),
        ("Protests spread from Lyon to Marseille.", "Marseille", "place"),
        ("Troops gathered along the border with Serbia.", "Serbia", "place"),
    ],
)
def test_classifies(text: str, name: str, kind: str) -> None:
    assert _kinds(text).get(name) == kind


def test_titles_and_sentence_starts_are_not_people() -> None:
    kinds = _kinds("Hand grenades were thrown. Prime Minister Albin Kurti said so. Two buildings burned.")
    assert kinds.get("Albin Kurti") == "person"
    for word in ("Prime Minister", "Hand", "Two", "Prime", "Minister"):
        assert word not in kinds


def test_surname_mentions_resolve_to_the_full_name() -> None:
    found = extract_entities("President Vjosa Osmani spoke. Later, Osmani left for Pristina.")
    osmani = [e for e in found if e.name == "Osmani"]
    assert osmani and osmani[0].normalised == "Vjosa Osmani" and osmani[0].kind == "person"


def test_places_get_country_codes_and_offsets() -> None:
    text = "Fighting near Belgrade and in Pristina worried the US."
    found = extract_entities(text)
    codes = {e.name: e.country for e in found if e.kind == "place"}
    assert codes == {"Belgrade": "RS", "Pristina": "XK", "US": "US"}
    assert all(text[e.start : e.end] == e.name for e in found)
    assert set(countries_of(found)) == {"RS", "XK", "US"}


@pytest.mark.parametrize("text", ["", "   ", "12345", "no capitals here at all", "日本語のテキスト", "A" * 10_000])
def test_odd_input_never_raises(text: str) -> None:
    extract_entities(text)


@pytest.mark.parametrize(
    ("text", "name", "normalised"),
    [
        ("Die Regierung sagte, Präsident Ödön Lázár reise nach Wien.", "Ödön Lázár", "Ödön Lázár"),
        ("Вчера Москва и Санкт-Петербург объявили о новых мерах.", "Санкт-Петербург", "Saint Petersburg"),
        ("Ο πρωθυπουργός μίλησε στην Αθήνα χθες.", "Αθήνα", "Athens"),
    ],
)
def test_capitals_beyond_ascii_start_names(text: str, name: str, normalised: str) -> None:
    assert normalised in {e.normalised for e in extract_entities(text) if e.name == name}


def test_words_glued_to_digits_are_not_names() -> None:
    assert _kinds("Operators rolled out 5G等新技术 and 3Com kit across Kosovo.") == {"Kosovo": "place"}
