"""Writing systems from Unicode data, and the languages each one is written in from CLDR.

* A character's script is its Unicode ``Script`` property, read through the ``regex`` module (its tables follow
  the Unicode release it was built with), so no code-point range is kept by hand here. Letters of no script of
  their own (``Common``/``Inherited``, e.g. the Japanese prolonged sound mark) count for the script their
  ``Script_Extensions`` name when those name only one (Hiragana and Katakana read as one "Kana").
* Which languages a script can hold, and which language it most likely holds, come from CLDR's likely subtags
  (shipped with Babel): ``und_Armn → hy_Armn_AM``, ``sr → sr_Cyrl_RS``, ``sr_ME → sr_Latn_ME`` …

Scripts are named by their ISO 15924 English name without its parenthesised variants (``Bengali``, ``Han``,
``Hangul``, ``Ethiopic``), as ``pycountry.scripts`` lists them; Hiragana and Katakana together are ``Kana``.
Tables are built once per process, on first use.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from functools import lru_cache

import regex

KANA = "Kana"
# ISO 15924 codes that stand for several Unicode scripts (fixed by the standard).
_COMPOSITE = {
    "Jpan": ("Hani", "Hira", "Kana"),
    "Kore": ("Hang", "Hani"),
    "Hans": ("Hani",),
    "Hant": ("Hani",),
    "Hanb": ("Hani", "Bopo"),
    "Jamo": ("Hang",),
}
_JAPANESE_KANA = ("Hira", "Kana")


@lru_cache(maxsize=1)
def script_names() -> dict[str, str]:
    """ISO 15924 code → name, for every code that is a Unicode script (not Common, Inherited, private use, …)."""
    import pycountry

    names: dict[str, str] = {}
    for script in pycountry.scripts:
        code = script.alpha_4
        if code[0] in "QZ" or code in _COMPOSITE or code == "Hrkt":  # private use; Common, Inherited, …; aliases
            continue
        try:
            regex.compile(rf"\p{{sc={code}}}")
        except regex.error:
            continue  # a variant or composite code (Hans, Jpan, Latf), no Unicode property
        name = re.sub(r"\s*[(,].*", "", script.name).strip()  # "Bengali (Bangla)", "Ahom, Tai Ahom"
        names[code] = KANA if code in _JAPANESE_KANA else name or code
    return names


@lru_cache(maxsize=1)
def _matchers() -> tuple[regex.Pattern[str], regex.Pattern[str]]:
    codes = script_names()
    by_script = regex.compile("|".join(rf"(?P<{code}>\p{{sc={code}}})" for code in codes))
    shared = regex.compile(r"[\p{sc=Common}\p{sc=Inherited}]")
    return by_script, shared


@lru_cache(maxsize=65536)
def script_of(char: str) -> str | None:
    """The script (name) of one character; None for characters of none (digits, punctuation, symbols)."""
    by_script, shared = _matchers()
    names = script_names()
    if shared.match(char):
        if not char.isalpha():
            return None
        # A letter shared between scripts counts only where its extensions name a single one.
        used = {names[code] for code in names if regex.match(rf"\p{{scx={code}}}", char)}
        return used.pop() if len(used) == 1 else None
    match = by_script.match(char)
    return names[match.lastgroup] if match and match.lastgroup else None


@lru_cache(maxsize=1)
def _cldr() -> tuple[dict[str, frozenset[str]], dict[str, str]]:
    """(language → script names it is written in, script name → its most likely language), from CLDR."""
    from babel.core import get_global

    names = script_names()
    written: defaultdict[str, set[str]] = defaultdict(set)
    likely: dict[str, str] = {}
    for key, value in get_global("likely_subtags").items():
        language, script, *_ = value.split("_")
        if language == "und":  # CLDR knows the script's region but no language for it (Cypro-Minoan)
            continue
        for code in _COMPOSITE.get(script, (script,)):
            if code in names:
                written[language].add(names[code])
                if key == f"und_{code}" or (key == f"und_{script}" and names[code] not in likely):
                    likely[names[code]] = language
    return {language: frozenset(scripts) for language, scripts in written.items()}, likely


def scripts_of_language(code: str) -> frozenset[str]:
    """The scripts a language (ISO 639) is written in; empty when CLDR does not know it."""
    return _cldr()[0].get(code, frozenset())


def likely_language(script: str) -> str | None:
    """The language a script most likely holds (CLDR): Armenian → hy, Thaana → dv, Cyrillic → ru."""
    return _cldr()[1].get(script)


class _ScriptTable(dict[int, str | None]):
    """codepoint → one-character tag of its script (None: dropped), filled as characters appear, so that
    ``str.translate`` counts scripts in one C-level pass whatever the number of scripts."""

    def __missing__(self, point: int) -> str | None:
        name = script_of(chr(point))
        tag = None if name is None else _tag(name)
        self[point] = tag
        return tag


_TAG_OF: dict[str, str] = {}
_NAME_OF: dict[str, str] = {}


def _tag(name: str) -> str:
    tag = _TAG_OF.get(name)
    if tag is None:
        tag = _TAG_OF[name] = chr(0xE000 + len(_TAG_OF))  # private-use characters never clash with text
        _NAME_OF[tag] = name
    return tag


_TABLE = _ScriptTable()


def script_counts(text: str) -> dict[str, int]:
    """Characters per script (only scripts present; digits, punctuation and symbols left out)."""
    return {_NAME_OF[tag]: n for tag, n in Counter(text.translate(_TABLE)).items()}


def script_letters(script: str) -> str:
    """Every letter of a script (by its ``Script`` property), in code-point order: for tests that write in it."""
    codes = [code for code, name in script_names().items() if name == script]
    return "".join(regex.findall("|".join(rf"\p{{sc={code}}}" for code in codes), _all_letters())) if codes else ""


@lru_cache(maxsize=1)
def _all_letters() -> str:
    return "".join(char for char in map(chr, range(0x110000)) if char.isalpha())
