"""SimHash fingerprints of article text, for near-duplicate detection (re-published, lightly edited copies).

64-bit SimHash over word 3-shingles of the casefolded text (punctuation and case ignored): copies that
differ by a few edits differ in few bits. ``near_duplicate_of`` links an article to an earlier one whose
fingerprint is within ``MAX_DISTANCE`` bits (and that is not the very same text).
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

VERSION = "1"
MAX_DISTANCE = 10  # of 64 bits: 1–5 word edits of an article measured 1–7; different corpus articles ≥ 18
_TOKEN = re.compile(r"\w+")
_BITS = np.arange(64, dtype=np.uint64)


def simhash(text: str) -> int | None:
    """Signed 64-bit SimHash (fits a Parquet int64); None for text with fewer than 3 words."""
    tokens = _TOKEN.findall(text.casefold())
    if len(tokens) < 3:
        return None
    shingles = {" ".join(tokens[i : i + 3]) for i in range(len(tokens) - 2)}
    hashes = np.fromiter(
        (int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little") for s in shingles),
        dtype=np.uint64,
        count=len(shingles),
    )
    bits = ((hashes[:, None] >> _BITS) & np.uint64(1)).astype(np.int32)
    votes = bits.sum(axis=0) * 2 - len(shingles)
    value = 0
    for index in np.nonzero(votes > 0)[0]:
        value |= 1 << int(index)
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
