"""Text → LanguageResult with langdetect, made deterministic, script-aware and safe on odd input.

langdetect stays the engine; around it:

* noise (URLs, e-mail addresses, handles, code-ish tokens, numbers) is stripped before detection;
* long texts are detected on a sample of paragraphs spread over the text (steadier and cheaper);
* the writing system (``script``) is counted with regexes, and an answer that is impossible for the
  script (Cyrillic text "detected" as ``en``, Han text as ``no``) is replaced by the best alternative
  the script allows, or by ``und``;
* in text written mostly in a non-Latin script, Latin-script words (names, brands) are dropped first;
* ``und`` with a reason instead of a confident wrong answer when the top probability is low;
* mixed-language texts: when the whole-text answer is unsure, or paragraphs change script, groups of
  consecutive paragraphs are detected separately → ``languages`` (code, share of paragraphs) and the
  main language is the one with the largest share (ties: the one that comes first).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from langdetect.lang_detect_exception import LangDetectException

VERSION = "3"

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


# Writing systems by Unicode block; letters outside all of them count as "Other".
SCRIPTS: dict[str, str] = {
    "Latin": "A-Za-z\u00c0-\u024f\u1e00-\u1eff",
    "Cyrillic": "\u0400-\u052f",
    "Greek": "\u0370-\u03ff\u1f00-\u1fff",
    "Arabic": "\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff",
    "Hebrew": "\u0590-\u05ff",
    "Devanagari": "\u0900-\u097f",
    "Bengali": "\u0980-\u09ff",
    "Gurmukhi": "\u0a00-\u0a7f",
    "Gujarati": "\u0a80-\u0aff",
    "Tamil": "\u0b80-\u0bff",
    "Telugu": "\u0c00-\u0c7f",
    "Kannada": "\u0c80-\u0cff",
    "Malayalam": "\u0d00-\u0d7f",
    "Thai": "\u0e00-\u0e7f",
    "Hangul": "\uac00-\ud7af\u1100-\u11ff\u3130-\u318f",
    "Kana": "\u3040-\u30ff\u31f0-\u31ff",
    "Han": "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff",
}
_SCRIPT_RE = {name: re.compile(f"[{chars}]") for name, chars in SCRIPTS.items()}
_LATIN_WORD = re.compile(f"[{SCRIPTS['Latin']}]+")

# The scripts each answer may be written in (Japanese: kana with or without Han).
_LANGUAGE_SCRIPTS: dict[str, frozenset[str]] = {
    **{code: frozenset({"Latin"}) for code in LANGDETECT_CODES},
    **{code: frozenset({"Cyrillic"}) for code in ("bg", "mk", "ru", "uk")},
    "el": frozenset({"Greek"}),
    **{code: frozenset({"Arabic"}) for code in ("ar", "fa", "ur")},
    "he": frozenset({"Hebrew"}),
    **{code: frozenset({"Devanagari"}) for code in ("hi", "mr", "ne")},
    "bn": frozenset({"Bengali"}),
    "pa": frozenset({"Gurmukhi"}),
    "gu": frozenset({"Gujarati"}),
    "ta": frozenset({"Tamil"}),
    "te": frozenset({"Telugu"}),
    "kn": frozenset({"Kannada"}),
    "ml": frozenset({"Malayalam"}),
    "th": frozenset({"Thai"}),
    "ko": frozenset({"Hangul"}),  # modern Korean without Hangul does not occur
    "ja": frozenset({"Kana", "Han"}),
    "zh": frozenset({"Han"}),
}


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


def clean_for_detection(text: str) -> str:
    """Drop URLs, e-mail addresses, handles, code-like tokens and numbers: no language, but they sway the model."""
    present = tuple(bool(test.search(text)) for test, _ in _NOISE_PARTS)
    pattern = _NOISE_CACHE.get(present)
    if pattern is None:
        parts = [part for (_, part), here in zip(_NOISE_PARTS, present, strict=True) if here]
        pattern = _NOISE_CACHE[present] = re.compile("|".join([*parts, _NUMBERS]))
    return " ".join(pattern.sub(" ", text).split())


class _ScriptTable(dict[int, str | None]):
    """codepoint → one-letter tag of its script, None (dropped) otherwise; filled lazily as characters appear,
    so ``str.translate`` counts scripts in one C-level pass instead of one regex pass per script."""

    def __missing__(self, point: int) -> str | None:
        char = chr(point)
        tag = next((_TAG_OF[name] for name, pattern in _SCRIPT_RE.items() if pattern.match(char)), None)
        self[point] = tag
        return tag


_TAG_OF = {name: chr(ord("A") + index) for index, name in enumerate(SCRIPTS)}
_TAGS = {tag: name for name, tag in _TAG_OF.items()}
_SCRIPT_TABLE = _ScriptTable()


def script_counts(text: str) -> dict[str, int]:
    """Letters per writing system (only systems present)."""
    counts = Counter(text.translate(_SCRIPT_TABLE))
    return {_TAGS[tag]: n for tag, n in counts.items()}


def dominant_script(counts: dict[str, int]) -> str | None:
    """The writing system with most letters; Han + kana reads as Japanese "Kana" when kana is ≥ 10%."""
    if not counts:
        return None
    han, kana = counts.get("Han", 0), counts.get("Kana", 0)
    if kana and kana >= 0.1 * (han + kana):
        counts = {**counts, "Kana": han + kana, "Han": 0}
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


_factory: Any = None


def _ranked(text: str) -> list[tuple[str, float]]:
    """langdetect's (code, probability) list, zh variants kept apart; seeded so runs repeat exactly."""
    global _factory
    if _factory is None:
        from langdetect import detector_factory

        detector_factory.init_factory()
        _factory = detector_factory._factory
    detector = _factory.create()
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


def _allowed(code: str, script: str | None) -> bool:
    return script is None or script == "Other" or script in _LANGUAGE_SCRIPTS.get(code, frozenset({"Latin"}))


def _prepare(text: str) -> tuple[str, str | None]:
    """Cleaned text and its script; in non-Latin text the Latin-script words (names, brands) are dropped."""
    cleaned = clean_for_detection(text)
    script = dominant_script(script_counts(cleaned))
    if script not in (None, "Latin"):
        stripped = " ".join(_LATIN_WORD.sub(" ", cleaned).split())
        if _LETTER.search(stripped):
            cleaned = stripped
    return cleaned, script


def _detect_one(text: str, script: str | None) -> tuple[str, float, list[tuple[str, float]], str | None, str | None]:
    """(code, probability, folded ranking, zh variant, langdetect's own top when the script overruled it)."""
    try:
        ranked = _ranked(text)
    except LangDetectException:
        return "und", 0.0, [], None, None
    folded, variant = _fold(ranked)
    if not folded:
        return "und", 0.0, [], None, None
    possible = [(code, prob) for code, prob in folded if _allowed(code, script)]
    if not possible:
        return "und", 0.0, folded, None, folded[0][0]
    code, prob = possible[0]
    prob /= sum(p for _, p in possible)  # confidence among the answers the script allows
    corrected = folded[0][0] if code != folded[0][0] else None
    return code, prob, folded, variant if code == "zh" else None, corrected


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


def _paragraph_languages(text: str) -> tuple[list[tuple[str, float]], dict[str, float]]:
    """(code, share of paragraphs) over paragraph groups in order of first appearance, and mean probabilities."""
    shares: dict[str, float] = {}
    probs: dict[str, list[float]] = {}
    total = 0
    for segment, weight in _segments(text):
        cleaned, script = _prepare(segment)
        if _letters(cleaned) < MIN_LETTERS:
            continue
        code, prob, *_ = _detect_one(cleaned, script)
        if code == "und" or prob < MIN_CONFIDENCE:
            continue
        shares[code] = shares.get(code, 0.0) + weight
        probs.setdefault(code, []).append(prob)
        total += weight
    if not total:
        return [], {}
    return [(code, round(weight / total, 3)) for code, weight in shares.items()], {
        code: sum(p) / len(p) for code, p in probs.items()
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
    code, prob, folded, variant, corrected = _detect_one(cleaned, script)
    languages: list[tuple[str, float]] = [(code, 1.0)] if code != "und" else []
    # Runner-up among the answers the script allows: Han text's "ko" share is no sign of a second language.
    runner_up = next((p for c, p in folded if c != code and _allowed(c, script)), 0.0)
    if len(sample) > 200 and _mixed_signal(sample, prob, runner_up):
        by_paragraph, segment_probs = _paragraph_languages(sample)
        if len(by_paragraph) > 1:
            languages = by_paragraph
            main = max(by_paragraph, key=lambda item: item[1])[0]  # max() keeps the first of equals
            whole = dict(folded)
            explained = sum(whole.get(c, 0.0) for c, share in by_paragraph if share >= MULTILINGUAL_SHARE)
            # A real mixture: the whole-text answer splits between the paragraph languages (en .57 + fr .43),
            # so the paragraphs' own confidence counts. Confusion looks different: the paragraph answers do
            # not add up to the whole-text ranking (Basque: id .57 + hr .14, rest elsewhere).
            if main != code or explained >= 0.9:
                variant = variant if main == "zh" else None
                code, prob = main, segment_probs[main]
    languages.sort(key=lambda item: -item[1])
    multilingual = sum(1 for _, share in languages if share >= MULTILINGUAL_SHARE) > 1
    alternatives = tuple((c, round(p, 4)) for c, p in folded if c != code)[:3]
    if code == "und":
        return LanguageResult("und", 0.0, alternatives, reason="script_mismatch", script=script, corrected=corrected)
    if prob < min_confidence:
        return LanguageResult(
            "und", 0.0, ((code, round(prob, 4)), *alternatives), reason="low_confidence", script=script
        )
    return LanguageResult(
        code,
        round(prob, 4),
        alternatives,
        variant=variant,
        script=script,
        languages=tuple(languages),
        is_multilingual=multilingual,
        corrected=corrected,
    )
