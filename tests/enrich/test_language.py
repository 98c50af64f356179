"""Language detection around langdetect: noise, scripts, impossible answers, und with reasons, mixtures."""

from __future__ import annotations

import pytest

from tasks.enrich.language import (
    clean_for_detection,
    detect_language,
    dominant_script,
    sample_for_detection,
    script_counts,
)

EN = "The government announced on Tuesday that it would raise taxes on fuel to pay for new railway lines."
FR = "Le gouvernement a annoncé mardi qu'il augmenterait les taxes sur le carburant pour financer de nouvelles lignes."
RU = "Правительство во вторник объявило о повышении налогов на топливо для строительства новых железных дорог."
ZH = "政府周二宣布将提高燃油税，用于资助新建铁路线路。这项决定引起了广泛的讨论和关注。"


@pytest.mark.parametrize(
    ("text", "code", "script"),
    [(EN, "en", "Latin"), (FR, "fr", "Latin"), (RU, "ru", "Cyrillic"), (ZH, "zh", "Han")],
)
def test_detects_language_and_script(text: str, code: str, script: str) -> None:
    result = detect_language(text)
    assert (result.code, result.script) == (code, script)
    assert result.confidence >= 0.75
    assert result.languages == ((code, 1.0),)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   \n ", "empty"),
        ("12345 67.89 %%% !!!", "no_letters"),
        ("😀😀😀", "no_letters"),
        ("ok", "too_short"),
        ("Date,Bid\n" + "\n".join(f"2015-07-19 21:00:{i:02d},1.0833{i}" for i in range(60)), "few_letters"),
    ],
)
def test_und_with_a_reason(text: str, reason: str) -> None:
    result = detect_language(text)
    assert (result.code, result.reason, result.confidence) == ("und", reason, 0.0)


def test_noise_is_stripped_before_detection() -> None:
    cleaned = clean_for_detection(
        "See https://example.com/a?b=1 or mail me@example.org, #tag @user 2021-09-27 snake_case"
    )
    assert cleaned == "See or mail ,"


def test_latin_names_inside_chinese_do_not_sway_it() -> None:
    text = "Still Game 明星 Ford Kieran 在被发现被列为注册餐厅公司总监后，已经准备好打入观光服务业。" * 3
    assert detect_language(text).code == "zh"


def test_script_counts_and_japanese_kana() -> None:
    assert dominant_script(script_counts("これは日本語の文章です。漢字も使います。")) == "Kana"
    assert dominant_script(script_counts("Привет, мир")) == "Cyrillic"
    assert dominant_script({}) is None


def test_cyrillic_text_is_never_answered_in_a_latin_language() -> None:
    result = detect_language("Москва " * 10)
    assert result.code in ("ru", "bg", "mk", "uk", "und")


def test_mixed_language_text_reports_paragraph_shares() -> None:
    text = "\n".join([EN] * 6 + [FR] * 4)
    result = detect_language(text)
    assert result.code == "en"
    assert result.is_multilingual
    assert dict(result.languages) == pytest.approx({"en": 0.6, "fr": 0.4}, abs=0.1)


def test_deterministic() -> None:
    assert detect_language(FR) == detect_language(FR)


def test_long_texts_are_sampled_evenly_from_start_to_end() -> None:
    paragraphs = [f"{index:02d} " + EN for index in range(40)]
    sample = sample_for_detection("\n".join(paragraphs), limit=1500)
    picked = sample.split("\n")
    assert picked[0] == paragraphs[0] and picked[-1] == paragraphs[-1]  # lede and ending both read
    assert picked == sorted(picked)  # in the text's order
    assert 1500 <= len(sample) <= 1500 + len(paragraphs[0]) + len(picked)  # about the limit, not the whole text


def test_one_huge_paragraph_is_cut_not_read_whole() -> None:
    text = "\n".join([FR * 40, EN, FR * 40])
    sample = sample_for_detection(text, limit=1500)
    assert len(sample) <= 1500 + 2 and sample.startswith(FR[:100]) and EN in sample
    assert detect_language(text).code == "fr"


def test_short_texts_are_read_whole() -> None:
    assert sample_for_detection(EN, limit=1500) == EN
