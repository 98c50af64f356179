"""Text → LanguageResult: langdetect for articles, the script where it names the language, a second detector
for short texts and for languages langdetect does not know; deterministic and safe on odd input.

Around langdetect (the engine for articles):

* noise (URLs, e-mail addresses, handles, code-ish tokens, numbers) is stripped before detection;
* long texts are detected on a sample of paragraphs spread over the text (steadier and cheaper);
* the writing system (``script``) comes from Unicode data (``tasks.enrich.scripts``). A script that only one
  language we can name is written in decides alone (Armenian → hy, Hangul → ko, Thai → th); otherwise every
  answer must be a language written in the script (CLDR), so Armenian text is never "et" and Han text never
  "no": the best answer the script allows wins, or ``und``;
* in text written mostly in a non-Latin script, Latin-script words (names, brands) are dropped first;
* short texts (under ``SHORT_LETTERS`` letters: titles, one-liners), where langdetect's n-gram profiles guess,
  are answered by py3langid (its model ships in its wheel), backed by langdetect when both agree;
* articles in languages langdetect does not have (Icelandic, Zulu, Serbian, Basque…) are caught by a second
  opinion from py3langid on the sample, taken only when it is near certain (its probabilities are calibrated:
  ≥ 0.9 was right 99.8% of the time on the UI-message check in tests/enrich/test_language_short.py);
* ``und`` with a reason instead of a confident wrong answer when the top probability is low;
* mixed-language texts: when the whole-text answer is unsure, or paragraphs change script, groups of
  consecutive paragraphs are detected separately → ``languages`` (code, share of paragraphs) and the
  main language is the one with the largest share (ties: the one that comes first).

``detector`` says which one answered: ``langdetect``, ``script`` or ``py3langid``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

import regex
from langdetect.lang_detect_exception import LangDetectException

from tasks.enrich.scripts import KANA, likely_language, script_counts, scripts_of_language

VERSION = "4"

# Everything langdetect 1.0.9 can answer, with zh-cn/zh-tw folded into zh.
LANGDETECT_CODES = frozenset(
    [
        "af",
        "ar",
        "bg",
        "bn",
        "ca",
        "cs",
        "cy",
        "da",
        "de",
        "el",
        "en",
        "es",
        "et",
        "fa",
        "fi",
        "fr",
        "gu",
        "he",
        "hi",
        "hr",
        "hu",
        "id",
        "it",
        "ja",
        "kn",
        "ko",
        "lt",
        "lv",
        "mk",
        "ml",
        "mr",
        "ne",
        "nl",
        "no",
        "pa",
        "pl",
        "pt",
        "ro",
        "ru",
        "sk",
        "sl",
        "so",
        "sq",
        "sv",
        "sw",
        "ta",
        "te",
        "th",
        "tl",
        "tr",
        "uk",
        "ur",
        "vi",
        "zh",
    ]
)

MIN_CONFIDENCE = 0.75  # tuned on ../shared/corpora (see README "Enrichment quality"): below it, "und"
MIN_LETTERS = 3  # fewer letters carry no language signal at all
SHORT_LETTERS = 100  # below this many letters (titles, one-liners) langdetect guesses: py3langid answers
SHORT_MIN_CONFIDENCE = 0.2  # short texts: below it py3langid was wrong 3 times in 4 on the UI-message check
SECOND_OPINION = 0.9  # articles: py3langid overrules langdetect only this sure (right 99.8% of the time there)
_SECOND_OPINION_CHARS = 500  # py3langid walks the text byte by byte in Python: this much settles it
MIN_LETTER_SHARE = 0.15  # text that is mostly digits and punctuation (CSV, logs) has no language
MULTILINGUAL_SHARE = 0.2  # a second language counts when it holds at least this share of paragraphs
_SAMPLE_CHARS = 1500  # measured on the corpus: answers hold down to here; langdetect costs grow with length
_SEGMENT_CHARS = 500  # per paragraph group when a text is split for mixed-language detection
_MAX_SEGMENTS = 6
_UNSURE = 0.9  # whole-text answers below this (or with a runner-up over 1 - this) trigger the split

# Noise patterns, each with a cheap test of whether the text can contain it at all (most texts hold
# no URL, e-mail or code: skipping those alternatives makes cleaning several times faster).
_NOISE_PARTS = (
    (re.compile(r"://|www\."), r"https?://\S+|www\.\S+"),
    (re.compile(r"[@#]"), r"\S+@\S+\.\w+|[#@]\w+"),
    (re.compile(r"\.(?:com|org|net|html?|php|js|css)\b"), r"[\w.-]+\.(?:com|org|net|html?|php|js|css)\b"),
    (re.compile(r"\w_\w"), r"\w+(?:_\w+)+"),
    (re.compile(r"[{}<>=\\|`$]"), r"\w*[{}<>=\\|`$]\S*"),
)
_NUMBERS = r"\d[\d.,:/%-]*"
_NOISE_CACHE: dict[tuple[bool, ...], re.Pattern[str]] = {}
_LETTER = re.compile(r"[^\W\d_]")
_NON_LETTERS = re.compile(r"[\W\d_]+")


def _letters(text: str) -> int:
    return len(_NON_LETTERS.sub("", text))  # one pass, no list of matches


_LATIN_WORD = regex.compile(r"\p{sc=Latin}+")
DETECTORS = ("langdetect", "script", "py3langid")
# Korean news is written in Hangul (CLDR also lists Han for it): Han text's "ko" share is no sign of Korean.
_SCRIPTS_IN_USE = {"ko": frozenset({"Hangul"})}


@dataclass(frozen=True, slots=True)
class LanguageResult:
    code: str  # ISO 639-1, or "und"
    confidence: float  # 0..1; 0 when code == "und"
    alternatives: tuple[tuple[str, float], ...]  # next best (code, probability)
    variant: str | None = None  # "zh-cn" / "zh-tw" when langdetect tells them apart
    reason: str | None = None  # why "und": "empty", "no_letters", "too_short", "low_confidence", "script_mismatch"
    script: str | None = None  # dominant writing system: "Latin", "Cyrillic", "Han", …
    languages: tuple[tuple[str, float], ...] = ()  # (code, share of paragraphs), largest first
    is_multilingual: bool = False
    corrected: str | None = None  # what langdetect said when the script ruled its answer out
    detector: str | None = None  # who answered: "langdetect", "script", "py3langid"; None when "und"


def clean_for_detection(text: str) -> str:
    """Drop URLs, e-mail addresses, handles, code-like tokens and numbers: no language, but they sway the model."""
    present = tuple(bool(test.search(text)) for test, _ in _NOISE_PARTS)
    pattern = _NOISE_CACHE.get(present)
    if pattern is None:
        parts = [part for (_, part), here in zip(_NOISE_PARTS, present, strict=True) if here]
        pattern = _NOISE_CACHE[present] = re.compile("|".join([*parts, _NUMBERS]))
    return " ".join(pattern.sub(" ", text).split())


def dominant_script(counts: dict[str, int]) -> str | None:
    """The writing system with most letters; Han + kana reads as Japanese "Kana" when kana is ≥ 10%."""
    if not counts:
        return None
    han, kana = counts.get("Han", 0), counts.get(KANA, 0)
    if kana and kana >= 0.1 * (han + kana):
        counts = {**counts, KANA: han + kana, "Han": 0}
    return max(counts.items(), key=lambda item: item[1])[0]


def sample_for_detection(text: str, limit: int = _SAMPLE_CHARS) -> str:
    """About ``limit`` characters of paragraphs spread evenly over the text (each cut to a third of it).

    A long text's language shows in any part of it, and langdetect's cost grows with the length it reads;
    spreading the sample keeps a lede or a sign-off in another language from deciding alone.
    """
    if len(text) <= limit:
        return text
    third = limit // 3
    paragraphs = [p[:third] for p in text.split("\n") if p.strip()]
    if len(paragraphs) < 3:
        middle = len(text) // 2
        return " ".join((text[:third], text[middle - third // 2 : middle + third // 2], text[-third:]))
    # Paragraphs of the mean length that fill the limit: at least 3, as none is longer than a third of it.
    wanted = min(len(paragraphs), -(-limit * len(paragraphs) // sum(map(len, paragraphs))))
    step = (len(paragraphs) - 1) / (wanted - 1)
    return "\n".join(paragraphs[round(index * step)] for index in range(wanted))


@cache
def _langdetect() -> Any:
    """langdetect's profiles, loaded once per process (a worker warms it before its first file)."""
    from langdetect import detector_factory

    detector_factory.init_factory()
    return detector_factory._factory


def _ranked(text: str) -> list[tuple[str, float]]:
    """langdetect's (code, probability) list, zh variants kept apart; seeded so runs repeat exactly."""
    detector = _langdetect().create()
    detector.seed = 0  # deterministic across runs and processes
    detector.append(text + " ")  # the last word's final n-grams need a boundary after it
    return [(lang.lang, lang.prob) for lang in detector.get_probabilities()]


def _fold(ranked: list[tuple[str, float]]) -> tuple[list[tuple[str, float]], str | None]:
    """zh-cn/zh-tw summed into zh (the variant that led is returned apart)."""
    variant = next((code for code, _ in ranked if code.startswith("zh-")), None)
    folded: dict[str, float] = {}
    for code, prob in ranked:
        key = "zh" if code.startswith("zh-") else code
        folded[key] = folded.get(key, 0.0) + prob
    return sorted(folded.items(), key=lambda item: -item[1]), variant


@lru_cache(maxsize=1)
def _identifier() -> Any:
    """py3langid's model (inside its wheel, no download), loaded once per process on first use, restricted to
    ISO 639-1 codes: its dialect and historical labels (yue, wuu, hbo, zxx…) are not answers for this table."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages([code for code in identifier.labels if len(code) == 2])
    return identifier


def second_detector_codes() -> frozenset[str]:
    """Languages py3langid can answer."""
    return frozenset(_identifier().labels)


@lru_cache(maxsize=1)
def answerable_codes() -> frozenset[str]:
    """Every code ``detect_language`` can answer (``und`` apart): langdetect's, py3langid's, and the most likely
    language of each script (CLDR)."""
    from tasks.enrich.scripts import script_names

    by_script = {likely_language(name) for name in set(script_names().values())}
    return LANGDETECT_CODES | second_detector_codes() | {code for code in by_script if code}


@cache
def _scripts(code: str) -> frozenset[str]:
    return _SCRIPTS_IN_USE.get(code) or scripts_of_language(code) or frozenset({"Latin"})


def _allowed(code: str, script: str | None) -> bool:
    return script is None or script in _scripts(code)


@cache
def script_language(script: str | None) -> str | None:
    """The language a script decides alone, or None when detection must choose.

    A script decides when the detectors can name only one language written in it (Armenian → hy, Hangul → ko,
    Thai → th), or when they cannot name the language the script most likely holds (Tibetan → bo, Thaana → dv:
    they would only ever answer its minority languages).
    """
    if script is None:
        return None
    likely = likely_language(script)
    known = {code for code in LANGDETECT_CODES | second_detector_codes() if _allowed(code, script)}
    if likely and likely not in known:
        return likely
    return known.pop() if len(known) == 1 else None


def _prepare(text: str) -> tuple[str, str | None]:
    """Cleaned text and its script; in non-Latin text the Latin-script words (names, brands) are dropped."""
    cleaned = clean_for_detection(text)
    script = dominant_script(script_counts(cleaned))
    if script not in (None, "Latin"):
        stripped = " ".join(_LATIN_WORD.sub(" ", cleaned).split())
        if _LETTER.search(stripped):
            cleaned = stripped
    return cleaned, script


@dataclass(slots=True)
class _Answer:
    code: str
    prob: float  # among the answers the script allows
    ranking: list[tuple[str, float]] = field(default_factory=list)  # the answering detector's, best first
    variant: str | None = None  # langdetect's zh-cn / zh-tw, whoever answered
    corrected: str | None = None  # langdetect's own top when the script overruled it
    detector: str | None = None
    settled: bool = False  # the rule that chose it already weighed its confidence


def _langdetect_answer(text: str, script: str | None) -> _Answer:
    try:
        ranked = _ranked(text)
    except LangDetectException:
        return _Answer("und", 0.0)
    folded, variant = _fold(ranked)
    if not folded:
        return _Answer("und", 0.0)
    possible = [(code, prob) for code, prob in folded if _allowed(code, script)]
    if not possible:
        return _Answer("und", 0.0, folded, corrected=folded[0][0])
    code, prob = possible[0]
    prob /= sum(p for _, p in possible)  # confidence among the answers the script allows
    corrected = folded[0][0] if code != folded[0][0] else None
    return _Answer(code, prob, folded, variant, corrected, "langdetect")


def _second_ranking(text: str, script: str | None) -> list[tuple[str, float]]:
    """py3langid's best answers the script allows, probabilities renormalised among those."""
    possible = [(code, prob) for code, prob in _identifier().rank(text) if _allowed(code, script)]
    total = sum(prob for _, prob in possible)
    return [(code, prob / total) for code, prob in possible[:4]] if total > 0 else []


def _detect_one(text: str, script: str | None, min_confidence: float = MIN_CONFIDENCE) -> _Answer:
    """The script's language where it decides; else langdetect, with py3langid for short texts and as a
    second opinion on languages langdetect does not have."""
    alone = script_language(script)
    if alone is not None:
        return _Answer(alone, 1.0, [(alone, 1.0)], detector="script", settled=True)
    first = _langdetect_answer(text, script)
    short = _letters(text) < SHORT_LETTERS
    second = _second_ranking(text if short else text[:_SECOND_OPINION_CHARS], script)
    if not second:
        return first
    code, prob = second[0]
    if short:
        # Two detectors agreeing is rarely wrong; alone, py3langid needs SHORT_MIN_CONFIDENCE.
        if code == first.code or prob >= SHORT_MIN_CONFIDENCE:
            return _Answer(code, prob, second, first.variant, first.corrected, "py3langid", settled=True)
        return _Answer("und", 0.0, [*second[:1], *first.ranking[:2]], settled=True)
    unknown_to_first = code not in LANGDETECT_CODES or first.code == "und" or first.prob < min_confidence
    if code != first.code and prob >= SECOND_OPINION and unknown_to_first:
        return _Answer(code, prob, second, first.variant, first.corrected, "py3langid", settled=True)
    return first


def _segments(text: str) -> list[tuple[str, int]]:
    """Up to _MAX_SEGMENTS groups of consecutive paragraphs: (sampled text, paragraphs in the group)."""
    paragraphs = [p for p in text.split("\n") if p.strip()]
    if len(paragraphs) < 2:
        return []
    count = min(_MAX_SEGMENTS, len(paragraphs))
    size, extra = divmod(len(paragraphs), count)
    groups: list[tuple[str, int]] = []
    start = 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        groups.append(("\n".join(paragraphs[start:end])[:_SEGMENT_CHARS], end - start))
        start = end
    return groups


def _paragraph_languages(text: str) -> tuple[list[tuple[str, float]], dict[str, tuple[float, str | None]]]:
    """(code, share of paragraphs) over paragraph groups in order of first appearance, and per code the mean
    probability and the detector that first answered it."""
    shares: dict[str, float] = {}
    probs: dict[str, list[float]] = {}
    detectors: dict[str, str | None] = {}
    total = 0
    for segment, weight in _segments(text):
        cleaned, script = _prepare(segment)
        if _letters(cleaned) < MIN_LETTERS:
            continue
        answer = _detect_one(cleaned, script)
        if answer.code == "und" or (answer.prob < MIN_CONFIDENCE and not answer.settled):
            continue
        shares[answer.code] = shares.get(answer.code, 0.0) + weight
        probs.setdefault(answer.code, []).append(answer.prob)
        detectors.setdefault(answer.code, answer.detector)
        total += weight
    if not total:
        return [], {}
    return [(code, round(weight / total, 3)) for code, weight in shares.items()], {
        code: (sum(p) / len(p), detectors[code]) for code, p in probs.items()
    }


def _mixed_signal(text: str, prob: float, runner_up: float) -> bool:
    """Worth detecting paragraph groups apart: an unsure answer, a strong runner-up, or a change of script."""
    if prob < _UNSURE or runner_up > 1 - _UNSURE:
        return True
    counts = script_counts(text)
    if len(counts) < 2 or sorted(counts.values())[-2] < 0.05 * sum(counts.values()):
        return False  # one writing system: no script change between paragraphs to look for
    scripts = {dominant_script(script_counts(p)) for p in text.split("\n") if len(p) > 20}
    return len(scripts - {None}) > 1


def detect_language(
    text: str, *, min_letters: int = MIN_LETTERS, min_confidence: float = MIN_CONFIDENCE
) -> LanguageResult:
    """Detect the dominant language, its script and any other languages; never raises on odd input."""
    if not text.strip():
        return LanguageResult("und", 0.0, (), reason="empty")
    sample = sample_for_detection(text)
    cleaned, script = _prepare(sample)
    letters = _letters(cleaned)
    if letters == 0:
        return LanguageResult("und", 0.0, (), reason="no_letters", script=script)
    if letters < min_letters:
        return LanguageResult("und", 0.0, (), reason="too_short", script=script)
    if letters < MIN_LETTER_SHARE * len("".join(sample.split())):
        return LanguageResult("und", 0.0, (), reason="few_letters", script=script)  # tables of numbers, logs
    answer = _detect_one(cleaned, script, min_confidence)
    code, prob, ranking, detector = answer.code, answer.prob, answer.ranking, answer.detector
    languages: list[tuple[str, float]] = [(code, 1.0)] if code != "und" else []
    # Runner-up among the answers the script allows: Han text's "ko" share is no sign of a second language.
    runner_up = next((p for c, p in ranking if c != code and _allowed(c, script)), 0.0)
    if len(sample) > 200 and _mixed_signal(sample, prob, runner_up):
        by_paragraph, segment_answers = _paragraph_languages(sample)
        if len(by_paragraph) > 1:
            languages = by_paragraph
            main = max(by_paragraph, key=lambda item: item[1])[0]  # max() keeps the first of equals
            whole = dict(ranking)
            explained = sum(whole.get(c, 0.0) for c, share in by_paragraph if share >= MULTILINGUAL_SHARE)
            # A real mixture: the whole-text answer splits between the paragraph languages (en .57 + fr .43),
            # so the paragraphs' own confidence counts. Confusion looks different: the paragraph answers do
            # not add up to the whole-text ranking (Basque: id .57 + hr .14, rest elsewhere).
            if main != code or explained >= 0.9:
                code, (prob, detector) = main, segment_answers[main]
    languages.sort(key=lambda item: -item[1])
    multilingual = sum(1 for _, share in languages if share >= MULTILINGUAL_SHARE) > 1
    alternatives = tuple((c, round(p, 4)) for c, p in ranking if c != code)[:3]
    if code == "und":
        reason = "low_confidence" if answer.settled else "script_mismatch"
        return LanguageResult("und", 0.0, alternatives, reason=reason, script=script, corrected=answer.corrected)
    if not _allowed(code, script):  # a paragraph language the text's own script rules out: never in the table
        return LanguageResult(
            "und", 0.0, ((code, round(prob, 4)), *alternatives), reason="script_mismatch", script=script
        )
    if prob < min_confidence and not (answer.settled and code == answer.code):
        return LanguageResult(
            "und", 0.0, ((code, round(prob, 4)), *alternatives), reason="low_confidence", script=script
        )
    return LanguageResult(
        code,
        round(prob, 4),
        alternatives,
        variant=answer.variant if code == "zh" else None,
        script=script,
        languages=tuple(languages),
        is_multilingual=multilingual,
        corrected=answer.corrected,
        detector=detector,
    )
