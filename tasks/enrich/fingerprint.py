"""SimHash fingerprints of article text, for near-duplicate detection (re-published, lightly edited copies).

64-bit SimHash over word 3-shingles of the casefolded text (punctuation and case ignored): copies that
differ by a few edits differ in few bits. ``near_duplicate_of`` links an article to an earlier one whose
fingerprint is within ``MAX_DISTANCE`` bits (and that is not the very same text).
"""

from __future__ import annotations

import re
import zlib

import numpy as np

VERSION = "1"
MAX_DISTANCE = 10  # of 64 bits: 1–5 word edits of an article measured 1–7; different corpus articles ≥ 18
_TOKEN = re.compile(r"\w+")
_BITS = np.arange(64, dtype=np.uint64)


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads every input bit over all 64 output bits."""
    values = (values ^ (values >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    values = (values ^ (values >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    mixed: np.ndarray = values ^ (values >> np.uint64(31))
    return mixed


def simhash(text: str) -> int | None:
    """Signed 64-bit SimHash (fits a Parquet int64); None for text with fewer than 3 words.

    Each word is hashed once (CRC-32, stable across processes), a shingle's hash mixes its three words'
    (vectorised), and each distinct shingle votes once per bit.
    """
    tokens = _TOKEN.findall(text.casefold())
    if len(tokens) < 3:
        return None
    words = np.array(list(map(zlib.crc32, map(str.encode, tokens))), dtype=np.uint64)  # no Python frame per word
    with np.errstate(over="ignore"):
        words = _mix(words)
        shingles = np.unique(_mix(words[:-2] ^ (words[1:-1] * np.uint64(31)) ^ (words[2:] * np.uint64(961))))
    bits = np.unpackbits(shingles.astype("<u8").view(np.uint8).reshape(-1, 8), axis=1, bitorder="little")
    votes = bits.sum(axis=0, dtype=np.int64) * 2 - len(shingles)
    value = int(np.packbits((votes > 0).astype(np.uint8), bitorder="little").view("<u8")[0])
    return value - (1 << 64) if value >= 1 << 63 else value


def distance(a: int, b: int) -> int:
    """Hamming distance of two fingerprints."""
    return ((a ^ b) & ((1 << 64) - 1)).bit_count()


def near_duplicate(fingerprint: int | None, known: list[tuple[str, int]], *, own_id: str) -> str | None:
    """The first known (article_id, fingerprint) within MAX_DISTANCE bits, other than the article itself."""
    if fingerprint is None:
        return None
    for article_id, other in known:
        if article_id != own_id and distance(fingerprint, other) <= MAX_DISTANCE:
            return article_id
    return None
