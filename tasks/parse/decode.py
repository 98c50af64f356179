"""Bytes → normalised text plus the encoding that produced it, or a Rejection.

Order matters: BOMs are certain, binary magic numbers are near-certain, strict UTF-8 is
right for almost every modern file, and only then do we ask charset-normalizer to guess.
"""

from __future__ import annotations

import codecs
import functools
import re
import unicodedata
from dataclasses import dataclass

from charset_normalizer import from_bytes

from tasks.models import Reason, Rejection

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\x7fELF", "ELF executable"),
    (b"PK\x03\x04", "zip archive"),
    (b"%PDF-", "PDF document"),
    (b"\x1f\x8b", "gzip data"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"BZh", "bzip2 data"),
    (b"\xfd7zXZ\x00", "xz data"),
    (b"7z\xbc\xaf\x27\x1c", "7z archive"),
    (b"MZ", "DOS/Windows executable"),
    (b"\xca\xfe\xba\xbe", "Mach-O/Java class"),
    (b"SQLite format 3\x00", "SQLite database"),
    (b"RIFF", "RIFF media"),
    (b"OggS", "Ogg media"),
    (b"ID3", "MP3 audio"),
    (b"\x00asm", "WebAssembly"),
)

# C0 controls other than tab, newline, carriage return and form feed; plus DEL.
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")
_MAX_CONTROL_SHARE = 0.02
# A declared charset we do not take: UTF-8/16/32 were tried already; the rest are Python codecs, not charsets.
_NOT_DECLARABLE = {"utf-8", "utf-16", "utf-32", "idna", "punycode", "undefined", "unicode-escape", "raw-unicode-escape"}
_BLANK_RUN = re.compile(r"\n{3,}")
# Only from the start of a run, possessively: `[ \t]+\n` alone retries every position of a long run of spaces
# that ends in a word, not a newline (quadratic: 40 KB of spaces took 2 s).
_TRAILING_SPACE = re.compile(r"(?<![ \t\u00a0])[ \t\u00a0]++\n")
# surrogateescape turns each invalid byte 0x80-0xFF into one lone surrogate U+DC80-U+DCFF.
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
_CP1252_OF_ESCAPE = {chr(0xDC00 + b): bytes([b]).decode("cp1252", errors="replace") for b in range(0x80, 0x100)}
# UAX #15 stream-safe text: at most 30 combining marks in a row. CPython's NFC sorts a run of marks by
# insertion (quadratic: 80,000 alternating accents took 6 s); zalgo text is the only text with longer runs.
_MAX_NON_STARTERS = 30
_GRAPHEME_JOINER = "\u034f"  # a starter that joins nothing: it only blocks reordering across it


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    encoding: str  # Python codec name; "utf-8+cp1252" when stray legacy bytes were repaired


def sniff_binary(data: bytes) -> str | None:
    """Name the binary format when the bytes start with a known magic number."""
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    return None


def _utf16_or_32_without_bom(data: bytes) -> str | None:
    """Guess BOM-less UTF-16/32 from where the NUL bytes sit (ASCII-heavy text shows a clear pattern)."""
    sample = data[:4096]
    n = len(sample) - len(sample) % 4
    if n < 8:
        return None
    quads = [sample[i : i + 4] for i in range(0, n, 4)]
    if sum(q[1:] == b"\x00\x00\x00" for q in quads) > 0.6 * len(quads):
        return "utf-32-le"
    if sum(q[:3] == b"\x00\x00\x00" for q in quads) > 0.6 * len(quads):
        return "utf-32-be"
    even_nul = sum(sample[i] == 0 for i in range(0, n, 2))
    odd_nul = sum(sample[i] == 0 for i in range(1, n, 2))
    pairs = n // 2
    if odd_nul > 0.3 * pairs and even_nul < 0.05 * pairs:
        return "utf-16-le"
    if even_nul > 0.3 * pairs and odd_nul < 0.05 * pairs:
        return "utf-16-be"
    return None


def _utf8_repairing_cp1252(data: bytes) -> str | None:
    """Decode mostly-UTF-8 bytes whose few invalid bytes are stray cp1252 (a common CMS accident).

    Each byte that is not part of a valid UTF-8 sequence is read as cp1252 on its own (U+FFFD for the
    five bytes cp1252 leaves undefined). One decode and one substitution: linear in the input.

    Returns None when invalid bytes are more than 1% of the input: then it is not UTF-8.
    """
    text = data.decode("utf-8", errors="surrogateescape")
    # Valid UTF-8 round-trips byte for byte and each escaped byte fails to encode: the length lost is the count.
    bad = len(data) - len(text.encode("utf-8", errors="ignore"))
    if bad > max(4, len(data) // 100):
        return None
    return _ESCAPED_BYTE.sub(lambda stray: _CP1252_OF_ESCAPE[stray.group()], text) if bad else text


def _has_multibyte_utf8(data: bytes) -> bool:
    return re.search(rb"[\xc2-\xf4][\x80-\xbf]", data) is not None


def decode_bytes(data: bytes, *, declared: str | None = None) -> Decoded | Rejection:
    """Decode file bytes; ``declared`` is an encoding the file claims (HTML meta), trusted last."""
    if not data.strip():
        return Rejection(Reason.EMPTY, "file is empty or whitespace only", "decode")
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return _finish(data.decode(codec), codec)
            except UnicodeDecodeError as error:
                return Rejection(Reason.DECODE_ERROR, f"{codec} BOM but invalid bytes: {error.reason}", "decode")
    if (kind := sniff_binary(data)) is not None:
        return Rejection(Reason.BINARY, f"binary content ({kind})", "decode")
    if b"\x00" in data[:4096] and (wide := _utf16_or_32_without_bom(data)) is not None:
        try:
            return _finish(data.decode(wide), wide)
        except UnicodeDecodeError:
            pass
    try:
        return _finish(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    if _has_multibyte_utf8(data) and (repaired := _utf8_repairing_cp1252(data)) is not None:
        return _finish(repaired, "utf-8+cp1252")
    if declared:
        try:
            codec = codecs.lookup(declared).name
            if codec not in _NOT_DECLARABLE:
                return _finish(data.decode(codec), codec)
        except (LookupError, ValueError):  # UnicodeError too: idna and punycode raise it, not UnicodeDecodeError
            pass
    best = from_bytes(data[:262_144]).best()
    if best is None:
        return Rejection(Reason.DECODE_ERROR, "no encoding decodes it to plausible text", "decode")
    codec = codecs.lookup(best.encoding).name
    try:
        return _finish(data.decode(codec), codec)
    except UnicodeDecodeError as error:
        return Rejection(Reason.DECODE_ERROR, f"guessed {codec} but bytes are invalid: {error.reason}", "decode")


def _finish(text: str, encoding: str) -> Decoded | Rejection:
    cleaned, controls = _CONTROL.subn("", text)
    if controls and controls > _MAX_CONTROL_SHARE * len(text):
        return Rejection(Reason.BINARY, f"{controls} control characters in {len(text)}: not text", "decode")
    normalised = normalise_text(cleaned)
    if not normalised:  # a lone BOM, stray control bytes, or whitespace in a wide encoding
        return Rejection(Reason.EMPTY, f"no text once decoded ({encoding})", "decode")
    return Decoded(normalised, encoding)


def normalise_text(text: str) -> str:
    """NFC, Unix newlines, no BOM, no trailing spaces, at most one blank line in a row.

    Linear in the text: a run of more than 30 combining marks gets U+034F (combining grapheme joiner)
    after every 30 before NFC, as Unicode's stream-safe format prescribes; shorter runs are exact NFC.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", _non_starter_runs().sub(rf"\g<0>{_GRAPHEME_JOINER}", text))
    text = _TRAILING_SPACE.sub("\n", text)
    return _BLANK_RUN.sub("\n\n", text).strip()


@functools.cache
def _non_starter_runs() -> re.Pattern[str]:
    """30 non-starters followed by another; built on first need (a scan of all code points, ~0.1 s)."""
    marks = {c for c in range(0x110000) if unicodedata.combining(chr(c))}
    marks |= {0x0F73, 0x0F75, 0x0F81}  # combining class 0, but each decomposes to two marks
    ranges: list[list[int]] = []
    for code in sorted(marks):
        if ranges and ranges[-1][1] + 1 == code:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    klass = "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges)
    return re.compile(f"[{klass}]{{{_MAX_NON_STARTERS}}}(?=[{klass}])")
