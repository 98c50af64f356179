"""Scripts from Unicode data: every script's text gets only a language written in it, and a script that names
one language gives that language, whatever the letters (generated with hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks.enrich.language import _allowed, detect_language, dominant_script, script_language
from tasks.enrich.scripts import likely_language, script_counts, script_letters, script_names, script_of

SCRIPTS = sorted(set(script_names().values()))
WRITTEN = [script for script in SCRIPTS if script_letters(script)]  # a newer ISO 15924 code may have no letters yet
UNIQUE = [script for script in WRITTEN if script_language(script)]


def _words(script: str) -> st.SearchStrategy[str]:
    letters = script_letters(script)
    word = st.text(alphabet=st.sampled_from(letters), min_size=2, max_size=9)
    return st.lists(word, min_size=3, max_size=30).map(" ".join)


def test_the_scripts_langdetect_cannot_name_are_decided_by_script() -> None:
    expected = {"Armenian": "hy", "Georgian": "ka", "Ethiopic": "am", "Khmer": "km", "Lao": "lo", "Myanmar": "my"}
    expected |= {"Sinhala": "si", "Tibetan": "bo", "Thaana": "dv", "Ol Chiki": "sat"}
    expected |= {"Thai": "th", "Hebrew": "he", "Greek": "el", "Hangul": "ko", "Gujarati": "gu", "Kana": "ja"}
    assert {script: script_language(script) for script in expected} == expected
    assert script_language("Latin") is None and script_language("Cyrillic") is None and script_language("Han") is None


@pytest.mark.parametrize(
    ("char", "script"),
    [
        *[("a", "Latin"), ("Ж", "Cyrillic"), ("Ա", "Armenian"), ("ა", "Georgian"), ("ー", "Kana"), ("か", "Kana")],
        *[("カ", "Kana"), ("漢", "Han"), ("한", "Hangul"), ("ש", "Hebrew"), ("ލ", "Thaana"), ("1", None), ("!", None)],
    ],
)
def test_script_of_a_character(char: str, script: str | None) -> None:
    assert script_of(char) == script


def test_counts_and_the_japanese_rule() -> None:
    assert script_counts("Hi Ժամ 12!") == {"Latin": 2, "Armenian": 3}
    assert dominant_script(script_counts("これは日本語の文章です。漢字も使います。")) == "Kana"


@pytest.mark.parametrize("script", UNIQUE)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_script_of_one_language_gives_that_language(script: str, data: st.DataObject) -> None:
    text = data.draw(_words(script))
    result = detect_language(text)
    assert (result.code, result.detector) == (script_language(script), "script")


@pytest.mark.parametrize("script", [s for s in WRITTEN if s not in UNIQUE])
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_no_script_ever_gets_a_language_not_written_in_it(script: str, data: st.DataObject) -> None:
    text = data.draw(_words(script))
    result = detect_language(text)
    assert result.code == "und" or _allowed(result.code, result.script), (script, result)
    assert result.script == script


@settings(max_examples=25, deadline=None)
@given(armenian=_words("Armenian"), names=st.lists(st.sampled_from(["Tallinn", "Pashinyan", "EU", "Kiev"])))
def test_latin_names_in_armenian_text_do_not_make_it_estonian(armenian: str, names: list[str]) -> None:
    result = detect_language(" ".join([armenian, *names]))
    assert result.code == "hy" or result.script != "Armenian"
    if len(armenian.replace(" ", "")) > 2 * sum(map(len, names)):
        assert (result.script, result.code) == ("Armenian", "hy")


def test_every_script_with_a_likely_language_is_answerable() -> None:
    assert likely_language("Armenian") == "hy" and likely_language("Latin") is None
