"""One file's bytes → article rows and rejections. Runs in worker processes: pure and picklable."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from tasks.language import detect_language
from tasks.metadata import extract_metadata
from tasks.models import Document, FileRef, Reason, Rejection
from tasks.parse import parse_file

ENRICHER_VERSION = "language=1;metadata=1;parse=1"


def article_id_of(text: str) -> str:
    """Identity of an article: SHA-256 of its normalised text (same text, same id, wherever it came from)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def enrich_document(doc: Document, ref: FileRef) -> dict[str, Any]:
    """All enrichment columns for one article (run-level columns are added by the writer)."""
    mtime = datetime.fromtimestamp(ref.mtime_ns / 1e9, tz=UTC)
    language = detect_language(doc.text)
    meta = extract_metadata(doc.text, title=doc.title, reference=mtime.date())
    return {
        "article_id": article_id_of(doc.text),
        "record_index": doc.record_index,
        "language": language.code,
        "language_variant": language.variant,
        "language_confidence": language.confidence,
        "language_alternatives": [{"code": c, "probability": p} for c, p in language.alternatives],
        "language_reason": language.reason,
        "title": meta.title,
        "lede": meta.lede,
        "author": doc.fields.get("author"),
        "published": doc.fields.get("published"),
        "site": doc.fields.get("site"),
        "url": doc.fields.get("url"),
        "text": doc.text,
        "char_count": meta.char_count,
        "word_count": meta.word_count,
        "paragraph_count": meta.paragraph_count,
        "sentence_count": meta.sentence_count,
        "reading_time_minutes": meta.reading_time_minutes,
        "quote_count": meta.quote_count,
        "dates_mentioned": [
            {
                "text": d.text,
                "year": d.year,
                "month": d.month,
                "day": d.day,
                "weekday": d.weekday,
                "resolved": d.resolved,
            }
            for d in meta.dates
        ],
        "enricher_version": ENRICHER_VERSION,
    }


def enrich_file(
    ref: FileRef, data: bytes, *, max_decompressed_bytes: int
) -> tuple[str, str | None, list[dict[str, Any]], list[Rejection]]:
    """(format, encoding, article rows, rejections) for one file version; never raises on bad input."""
    parsed = parse_file(ref.source_path, data, max_decompressed_bytes=max_decompressed_bytes)
    articles: list[dict[str, Any]] = []
    rejections = list(parsed.rejections)
    for doc in parsed.documents:
        row = enrich_document(doc, ref)
        if row["char_count"] and row["language_reason"] == "no_letters":
            rejections.append(
                Rejection(
                    Reason.NO_TEXT,
                    "no letters: only digits, punctuation or symbols",
                    "enrich",
                    doc.record_index or None,
                )
            )
            continue
        articles.append(row)
    return parsed.format, parsed.encoding, articles, rejections
