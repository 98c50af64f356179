"""Text → keywords and the numbers / amounts it mentions: cheap, offline, per language where we can.

Keywords: yake (measured ~37 ms per 3 KB article, ten times the cost of language detection) is too slow
for the per-article budget, so this is a simpler statistical method that uses yake's stopword lists: words
and two-word phrases without stopwords, scored by frequency, with a bonus for appearing early (title and
lede) and for being capitalised (names). Scripts without spaces (Chinese, Japanese, Thai) get none.
"""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

VERSION = "1"

_NO_SPACES = frozenset({"zh", "ja", "th", "lo", "km", "my"})
_WORD = re.compile(r"[^\W\d_]+")
_NUMBER = r"\d{1,3}(?:[,\u00a0 .]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?"
_SCALE = r"(?i:thousand|million|billion|trillion|bn|m|k|mn|milliards?|millions?|milliones|millones|mil|Mio\.?|Mrd\.?)"
_PREFIX = r"[$€£¥₹₽]|US\$|\b(?:USD|EUR|GBP|JPY|CHF|CNY|RUB)"
_SUFFIX = r"%|(?i:per ?cent|percent|prozent|por ciento|pour cent|dollars?|euros?|pounds?|yen|francs?|rupees?|yuan)\b|(?:USD|EUR|GBP|JPY|CHF|CNY|RUB)\b"
_AMOUNT = re.compile(
    rf"(?=[\d$€£¥₹₽A-Z])(?:(?P<pre>{_PREFIX})\s?(?P<n1>{_NUMBER})(?:\s?(?P<s1>{_SCALE})\b)?"
    rf"|(?P<n2>{_NUMBER})(?:\s?(?P<s2>{_SCALE})\b)?\s?(?P<post>{_SUFFIX}))"
)
_SCALES = {"thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "mn": 1e6, "mio": 1e6, "billion": 1e9, "bn": 1e9}
_SCALES |= {"trillion": 1e12, "milliard": 1e9, "milliards": 1e9, "mrd": 1e9, "millions": 1e6, "millones": 1e6}
_SCALES |= {"milliones": 1e6, "mil": 1e3}
_UNITS = {"$": "USD", "us$": "USD", "usd": "USD", "dollar": "USD", "dollars": "USD", "€": "EUR", "eur": "EUR"}
_UNITS |= {"euro": "EUR", "euros": "EUR", "£": "GBP", "gbp": "GBP", "pound": "GBP", "pounds": "GBP", "¥": "JPY"}
_UNITS |= {"yen": "JPY", "jpy": "JPY", "₹": "INR", "rupee": "INR", "rupees": "INR", "₽": "RUB", "rub": "RUB"}
_UNITS |= {"chf": "CHF", "franc": "CHF", "francs": "CHF", "cny": "CNY", "yuan": "CNY"}


@dataclass(frozen=True, slots=True)
class Amount:
    text: str
    value: float | None
    unit: str  # ISO 4217 currency code, "%" or the word as written
    start: int
    end: int


@lru_cache(maxsize=64)
def stopwords(language: str) -> frozenset[str]:
    """yake's stopword list for a language (English when it has none)."""
    import yake

    folder = Path(yake.__file__).parent / "core" / "StopwordsList"
    path = folder / f"stopwords_{language}.txt"
    if not path.exists():
        path = (
            folder / "stopwords_noLang.txt"
            if (folder / "stopwords_noLang.txt").exists()
            else folder / "stopwords_en.txt"
        )
    words = path.read_text(encoding="utf-8", errors="replace").split()
    return frozenset(w.casefold() for w in words)


def extract_keywords(text: str, language: str, *, top: int = 8) -> list[str]:
    """Up to ``top`` keywords (single words or two-word phrases), best first."""
    if language in _NO_SPACES:
        return []  # words are not space-separated: a run of characters is a phrase, not a keyword
    stop = stopwords(language if language != "und" else "en")
    words = _WORD.findall(text)
    if len(words) < 5:
        return []
    early = max(5, int(0.15 * len(words)))
    scores: dict[str, float] = {}
    shown: dict[str, str] = {}
    previous: str | None = None
    for index, word in enumerate(words):
        key = word.casefold()
        if len(key) < 3 or key in stop:
            previous = None
            continue
        weight = (1.5 if index < early else 1.0) + (0.3 if word[0].isupper() else 0.0)
        scores[key] = scores.get(key, 0.0) + weight
        if key not in shown:
            shown[key] = word
        if previous is not None:
            pair = previous + " " + key
            scores[pair] = scores.get(pair, 0.0) + 1.6 * weight
            if pair not in shown:
                shown[pair] = shown[previous] + " " + word
        previous = key
    best = heapq.nlargest(top * 4, scores.items(), key=lambda item: item[1])
    picked: list[str] = []
    for key, score in best:
        if (" " in key and score < 3.0) or any(key in p or p in key for p in picked):
            continue  # a phrase seen once is chance; keep the longer of overlapping keywords
        picked.append(key)
        if len(picked) == top:
            break
    return [shown[k] for k in picked]


def _value(number: str, scale: str | None) -> float | None:
    digits = number.replace("\u00a0", "").replace(" ", "")
    if re.fullmatch(r"\d{1,3}(?:[,.]\d{3})+", digits):
        digits = re.sub(r"[,.]", "", digits)
    elif re.fullmatch(r"\d{1,3}(?:,\d{3})+\.\d+", digits):
        digits = digits.replace(",", "")
    elif re.fullmatch(r"\d{1,3}(?:\.\d{3})+,\d+", digits):
        digits = digits.replace(".", "").replace(",", ".")
    else:
        digits = digits.replace(",", ".")
    try:
        value = float(digits)
    except ValueError:
        return None
    return value * _SCALES.get((scale or "").lower().rstrip("."), 1.0)


def extract_amounts(text: str) -> list[Amount]:
    """Money amounts and percentages, with their value (scale words applied) and unit."""
    found = []
    for match in _AMOUNT.finditer(text):
        number = match.group("n1") or match.group("n2")
        scale = match.group("s1") or match.group("s2")
        unit_text = (match.group("pre") or match.group("post") or "").lower()
        unit = (
            "%" if unit_text in ("%", "per cent", "percent", "percent", "prozent", "por ciento", "pour cent") else None
        )
        unit = unit or _UNITS.get(unit_text, unit_text)
        found.append(Amount(match.group(0), _value(number, scale), unit, match.start(), match.end()))
    return found
