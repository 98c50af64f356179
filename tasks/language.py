"""Text → LanguageResult with langdetect, made deterministic and safe on odd input."""

from __future__ import annotations

import re
from dataclasses import dataclass

from langdetect import DetectorFactory, detect_langs
from langdetect.lang_detect_exception import LangDetectException

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

_NOISE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+\.\w+|[\w.-]+\.(?:com|org|net|html?|php)\b|[#@]\w+|\d[\d.,:/%-]*")
_LETTER = re.compile(r"[^\W\d_]")
_SAMPLE_CHARS = 6000  # langdetect's answer is stable long before this; more only costs time


@dataclass(frozen=True, slots=True)
class LanguageResult:
    code: str  # ISO 639-1, or "und"
    confidence: float  # 0..1; 0 when code == "und"
    alternatives: tuple[tuple[str, float], ...]  # next best (code, probability)
    variant: str | None = None  # "zh-cn" / "zh-tw" when langdetect tells them apart
    reason: str | None = None  # why "und": "empty", "no_letters", "too_short", "low_confidence"


def clean_for_detection(text: str) -> str:
    """Drop URLs, e-mail addresses, handles and numbers: they carry no language but sway the model."""
    return " ".join(_NOISE.sub(" ", text).split())


def sample_for_detection(text: str, limit: int = _SAMPLE_CHARS) -> str:
    """Paragraphs spread over the text (start, middle, end) up to ``limit`` characters."""
    if len(text) <= limit:
        return text
    paragraphs = [p for p in text.split("\n") if p.strip()]
    if len(paragraphs) < 3:
        third = limit // 3
        middle = len(text) // 2
        return " ".join((text[:third], text[middle - third // 2 : middle + third // 2], text[-third:]))
    picked: list[str] = []
    size = 0
    step = max(1, len(paragraphs) // 12)
    for paragraph in paragraphs[::step]:
        picked.append(paragraph)
        size += len(paragraph)
        if size >= limit:
            break
    return "\n".join(picked)


def detect_language(text: str, *, min_letters: int = 12, min_confidence: float = 0.5) -> LanguageResult:
    """Detect the dominant language; never raises on odd input."""
    if not text.strip():
        return LanguageResult("und", 0.0, (), reason="empty")
    cleaned = clean_for_detection(sample_for_detection(text))
    letters = len(_LETTER.findall(cleaned))
    if letters == 0:
        return LanguageResult("und", 0.0, (), reason="no_letters")
    if letters < min_letters:
        return LanguageResult("und", 0.0, (), reason="too_short")
    DetectorFactory.seed = 0  # deterministic across runs and processes
    try:
        ranked = detect_langs(cleaned)
    except LangDetectException:
        return LanguageResult("und", 0.0, (), reason="no_letters")
    top, rest = ranked[0], ranked[1:4]
    variant = top.lang if top.lang.startswith("zh-") else None
    code = "zh" if variant else top.lang
    alternatives = tuple((("zh" if a.lang.startswith("zh-") else a.lang), round(a.prob, 4)) for a in rest)
    if top.prob < min_confidence:
        return LanguageResult("und", 0.0, ((code, round(top.prob, 4)), *alternatives), reason="low_confidence")
    return LanguageResult(code, round(top.prob, 4), alternatives, variant=variant)
