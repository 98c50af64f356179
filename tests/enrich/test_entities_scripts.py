"""Countries and cities in scripts without capitals: matched by name, longest first, never inside a longer word."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.enrich.entities import countries_of, extract_entities
from tasks.enrich.gazetteer import find_places
from tasks.enrich.scripts import script_letters


@pytest.mark.parametrize(
    ("text", "language", "countries"),
    [
        ("法国总统马克龙周二访问北京，并与中国领导人会谈。", "zh", ["CN", "FR"]),
        ("日本の首相がインドとインドネシアを訪問した。", "ja", ["JP", "IN", "ID"]),
        ("미국과 중국은 서울에서 회담을 열었다.", "ko", ["US", "CN", "KR"]),
        ("وقال الرئيس إن فرنسا ومصر اتفقتا على التعاون", "ar", ["FR", "EG"]),
        ("ראש הממשלה ביקר בצרפת ובארצות הברית", "he", ["FR", "US"]),
        ("นายกรัฐมนตรีเดินทางไปประเทศจีนเมื่อวันอังคาร", "th", ["CN"]),
        ("भारत और चीन के बीच बातचीत", "hi", ["IN", "CN"]),
    ],
)
def test_countries_are_found_in_scripts_without_capitals(text: str, language: str, countries: list[str]) -> None:
    found = countries_of(extract_entities(text, language))
    assert sorted(found) == sorted(countries)


@pytest.mark.parametrize(
    "text",
    [
        "インドアスポーツが人気だ。",  # インド (India) inside a longer katakana word
        "ראש הממשלה אמר הלילה",  # ליל (Lille) inside "tonight"
        "அவர் சாட்சியமளித்தார்",  # சாட் (Chad) inside "testified"
        "中",  # one Han character is no name
    ],
)
def test_no_place_inside_a_longer_word(text: str) -> None:
    assert find_places(text) == []


def test_the_longest_name_wins_and_the_entity_is_normalised() -> None:
    [place] = [e for e in extract_entities("他们到达了印度尼西亚。", "zh") if e.kind == "place"]
    assert (place.name, place.normalised, place.country) == ("印度尼西亚", "Indonesia", "ID")


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(script_letters("Han")[:3000] + "，。"), max_size=60))
def test_matches_are_real_spans_of_at_least_two_han_characters(text: str) -> None:
    for place in find_places(text):
        assert text[place.start : place.end] == place.name and len(place.name) >= 2
        assert place.country.isalpha() and len(place.country) == 2
