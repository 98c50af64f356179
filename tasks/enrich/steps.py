"""One file's bytes → article rows and rejections. Runs in worker processes: pure and picklable."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, date, datetime
from itertools import islice
from typing import Any

from tasks.enrich import entities as entities_module
from tasks.enrich import fingerprint as fingerprint_module
from tasks.enrich import keywords as keywords_module
from tasks.enrich import language as language_module
from tasks.enrich import quotes as quotes_module
from tasks.enrich.entities import Entity, countries_of, extract_entities
from tasks.enrich.fingerprint import simhash
from tasks.enrich.keywords import extract_amounts, extract_keywords
from tasks.enrich.language import detect_language
from tasks.enrich.metadata import (
    byline_from_text,
    clean_author,
    clean_title,
    dateline_place,
    extract_metadata,
    read_published,
)
from tasks.enrich.pool import IsolatingPool
from tasks.enrich.quotes import extract_quotes
from tasks.faults import poison_point
from tasks.models import Document, FileRef, Reason, Rejection
from tasks.parse.documents import Parsed, format_of, parse_file

METADATA_VERSION = "3"
PARSE_VERSION = "3"
# One version per component: bump a component's and `wirehouse reenrich --only <component>` recomputes it.
COMPONENT_VERSIONS = {
    "language": language_module.VERSION,
    "metadata": METADATA_VERSION,
    "entities": entities_module.VERSION,
    "quotes": quotes_module.VERSION,
    "keywords": keywords_module.VERSION,
    "fingerprint": fingerprint_module.VERSION,
    "parse": PARSE_VERSION,
}
ENRICHER_VERSION = ";".join(f"{name}={version}" for name, version in COMPONENT_VERSIONS.items())

# The columns each component writes (reenrich recomputes exactly these from the stored text).
COMPONENT_COLUMNS = {
    "language": (
        "language",
        "language_variant",
        "language_confidence",
        "language_alternatives",
        "language_reason",
        "language_script",
        "language_detector",
        "languages",
        "is_multilingual",
    ),
    "metadata": (
        "title",
        "title_source",
        "lede",
        "author",
        "author_source",
        "published_date",
        "published_at",
        "published_source",
        "description",
        "description_source",
        "site",
        "site_source",
        "url",
        "url_source",
        "dateline",
        "char_count",
        "word_count",
        "paragraph_count",
        "sentence_count",
        "reading_time_minutes",
        "quote_count",
        "dates_mentioned",
    ),
    "entities": ("entities", "countries"),
    "quotes": ("quotes",),
    "keywords": ("keywords", "amounts"),
    "fingerprint": ("fingerprint",),
}


def article_id_of(text: str) -> str:
    """Identity of an article: SHA-256 of its normalised text (same text, same id, wherever it came from)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def language_columns(text: str) -> dict[str, Any]:
    language = detect_language(text)
    return {
        "language": language.code,
        "language_variant": language.variant,
        "language_confidence": language.confidence,
        "language_alternatives": [{"code": c, "probability": p} for c, p in language.alternatives],
        "language_reason": language.reason,
        "language_script": language.script,
        "language_detector": language.detector,
        "languages": [{"code": c, "share": s} for c, s in language.languages],
        "is_multilingual": language.is_multilingual,
    }


def metadata_columns(
    text: str, *, title: str | None, fields: dict[str, Any], reference: date, current: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Title, byline, dates and counts, each found value with its ``*_source`` (one of ``page_metadata.SOURCES``).

    The source's own metadata comes first (HTML: trafilatura and htmldate; JSON keys); the text is searched
    for an author or a date only when the source has none. ``current`` (re-enrichment) is unused: everything
    is recomputed from ``fields``.
    """
    site = fields.get("site")
    headings = tuple(h for h in str(fields.get("headings") or "").split("\n") if h)
    title_source = fields.get("title_source")
    if title:
        cleaned = clean_title(title, headings=headings, site=site, page_title=fields.get("page_title"))
        if cleaned != title and cleaned in headings:
            title_source = "h1"  # the <h1> that matches the <title>
        title = cleaned
    meta = extract_metadata(text, title=title, reference=reference)
    author, author_source = clean_author(fields.get("author"), site=site), fields.get("author_source")
    if not author and (author := byline_from_text(text)):
        author_source = "text"
    elif not author:  # the site's own name as its author (a personal blog) rather than none
        author = clean_author(fields.get("author"))
    published = published_columns(fields)
    if published["published_date"] is None:
        early = text[: max(600, len(meta.lede or "") + len(title or "") + 4)]
        first = next((d for d in meta.dates if d.resolved and d.text in early), None)
        if first is not None and first.resolved is not None:
            published = {"published_date": first.resolved, "published_at": None, "published_source": "text"}
    found = {name: fields.get(name) or None for name in ("description", "site", "url")}
    return {
        "title": meta.title,
        "title_source": title_source if meta.title else None,
        "lede": meta.lede,
        "author": author,
        "author_source": author_source if author else None,
        **published,
        **found,
        **{f"{name}_source": fields.get(f"{name}_source") if value else None for name, value in found.items()},
        "dateline": dateline_place(text, title=title),
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
    }


def published_columns(fields: dict[str, Any]) -> dict[str, Any]:
    """``published_date`` (the day the source states), ``published_at`` (UTC, when it states a time and zone)
    and ``published_source`` from the source's fields; all None when it states no readable date."""
    day, moment = read_published(str(fields.get("published") or ""), fields.get("published_at"))
    if day is None:
        return {"published_date": None, "published_at": None, "published_source": None}
    return {"published_date": day, "published_at": moment, "published_source": fields.get("published_source")}


def entity_columns(found: list[Entity]) -> dict[str, Any]:
    return {
        "entities": [
            {
                "kind": e.kind,
                "name": e.name,
                "normalised": e.normalised,
                "start": e.start,
                "end": e.end,
                "country": e.country,
            }
            for e in found
        ],
        "countries": countries_of(found),
    }


def quote_columns(text: str, found: list[Entity]) -> dict[str, Any]:
    return {
        "quotes": [
            {"quote": q.quote, "speaker": q.speaker, "start": q.start, "end": q.end}
            for q in extract_quotes(text, found)
        ]
    }


def keyword_columns(text: str, language: str) -> dict[str, Any]:
    return {
        "keywords": extract_keywords(text, language),
        "amounts": [
            {"text": a.text, "value": a.value, "unit": a.unit, "start": a.start, "end": a.end}
            for a in extract_amounts(text)
        ],
    }


def _language_step(row: dict[str, Any], doc: Document, ref: FileRef) -> dict[str, Any]:
    return language_columns(doc.text)


def _metadata_step(row: dict[str, Any], doc: Document, ref: FileRef) -> dict[str, Any]:
    mtime = datetime.fromtimestamp(ref.mtime_ns / 1e9, tz=UTC)
    return metadata_columns(doc.text, title=doc.title, fields=doc.fields, reference=mtime.date()) | {
        "source_fields": source_fields_json(doc),
        "text": doc.text,
    }


def _entities_step(row: dict[str, Any], doc: Document, ref: FileRef) -> dict[str, Any]:
    poison_point(doc.text)  # fault injection for the isolation tests (off unless WIREHOUSE_FAULT_POISON is set)
    found = extract_entities(doc.text, row["language"])
    return entity_columns(found) | quote_columns(doc.text, found)


def _keywords_step(row: dict[str, Any], doc: Document, ref: FileRef) -> dict[str, Any]:
    return keyword_columns(doc.text, row["language"])


def _fingerprint_step(row: dict[str, Any], doc: Document, ref: FileRef) -> dict[str, Any]:
    return {"fingerprint": simhash(doc.text), "near_duplicate_of": None, "enricher_version": ENRICHER_VERSION}


Step = Callable[[dict[str, Any], Document, FileRef], dict[str, Any]]
# In dependency order: entities, quotes and keywords read the language; each step runs over every article
# of a chunk before the next starts.
STEPS: tuple[tuple[str, Step], ...] = (
    ("language", _language_step),
    ("metadata", _metadata_step),
    ("entities", _entities_step),
    ("keywords", _keywords_step),
    ("fingerprint", _fingerprint_step),
)


def source_fields_json(doc: Document) -> str:
    """What the source said about the article (title, HTML/JSON fields), stored so reenrich sees what ingest saw."""
    return json.dumps({"title": doc.title, **doc.fields}, ensure_ascii=False, sort_keys=True, default=str)


def document_of(row: dict[str, Any]) -> Document:
    """A stored article row back as the Document its enrichment started from (inverse of source_fields_json)."""
    fields = json.loads(row.get("source_fields") or "{}")
    title = fields.pop("title", None)
    return Document(row.get("text") or "", row.get("record_index") or 0, title=title, fields=fields)


def enrich_failure(step: str, error: BaseException, *, stage: str = "enrich", record_index: int = 0) -> Rejection:
    """The ``enrich_error`` of an article (or file) whose ``step`` raised: the step, the exception, the version."""
    detail = f"{step} raised {type(error).__name__}: {error}"[:2000]
    return Rejection(Reason.ENRICH_ERROR, f"{detail} (enricher {ENRICHER_VERSION})", stage, record_index or None)


def no_letters_rejection(row: dict[str, Any]) -> Rejection | None:
    """``no_text`` for an enriched article with characters but no letters (digits, punctuation, symbols)."""
    if row.get("char_count") and row.get("language_reason") == "no_letters":
        return Rejection(
            Reason.NO_TEXT, "no letters: only digits, punctuation or symbols", "enrich", row.get("record_index") or None
        )
    return None


Input = tuple[Document, FileRef] | Rejection  # what a step reads, or why the article has nothing to enrich


def run_steps(
    rows: list[dict[str, Any]],
    inputs: Sequence[Input],
    names: Collection[str] | None = None,
    steps: Sequence[tuple[str, Step]] | None = None,
) -> list[dict[str, Any] | Rejection]:
    """``rows`` with the columns of the steps named (default: all) of ``steps`` (default: ``STEPS``) merged in, or
    the Rejection of an article whose input is one or whose step raised: one article's bug never costs the others
    theirs.

    One step runs over every article before the next starts: langdetect's n-gram profiles and the gazetteers are
    large tables, and an article's other steps would push the one in use out of the CPU caches (measured: ~13%
    faster per article than running all steps article by article).
    """
    failed = {position: given for position, given in enumerate(inputs) if isinstance(given, Rejection)}
    for component, step in STEPS if steps is None else steps:
        if names is not None and component not in names:
            continue
        for position, (row, given) in enumerate(zip(rows, inputs, strict=True)):
            if position in failed or isinstance(given, Rejection):
                continue
            try:
                row |= step(row, *given)
            except Exception as error:  # a bug in one enricher on one article: that article is quarantined
                failed[position] = enrich_failure(component, error, record_index=given[0].record_index)
    return [failed.get(position, row) for position, row in enumerate(rows)]


def enrich_documents(docs: list[tuple[Document, FileRef]]) -> list[dict[str, Any] | Rejection]:
    """All enrichment columns for each article (run-level columns are added by the writer), or its Rejection."""
    rows: list[dict[str, Any]] = [
        {"article_id": article_id_of(d.text), "record_index": d.record_index} for d, _ in docs
    ]
    return run_steps(rows, docs)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def stored_input(row: dict[str, Any], now: datetime) -> Input:
    """The Document and file version ingest enriched a stored row from (``now`` when it has no mtime), or the
    ``enrich_error`` of a row whose ``source_fields`` no longer read. A row without ``source_fields`` (written by
    hand) is rebuilt from its columns."""
    moment: datetime = row.get("mtime") or now
    delta = moment - _EPOCH
    mtime_ns = (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
    ref = FileRef(row.get("source_path") or "", int(row.get("size") or 0), mtime_ns)
    if row.get("source_fields") is None:
        fields = {name: row[name] for name in ("site", "url", "description", "author") if row.get(name)}
        return Document(row.get("text") or "", row.get("record_index") or 0, title=row.get("title"), fields=fields), ref
    try:
        return document_of(row), ref
    except Exception as error:  # a stored row that no longer rebuilds (source_fields unreadable)
        return enrich_failure("source_fields", error, record_index=row.get("record_index") or 0)


class EnrichError(RuntimeError):
    """An enricher raised on the one article ``enrich_document`` was asked for (the pipeline quarantines it)."""


def enrich_document(doc: Document, ref: FileRef) -> dict[str, Any]:
    """All enrichment columns for one article (for tools and tests; the pipeline enriches chunks)."""
    row = enrich_documents([(doc, ref)])[0]
    if isinstance(row, Rejection):
        raise EnrichError(row.detail)
    return row


EnrichJob = tuple[FileRef, bytes, int]  # (file version, its bytes, max_decompressed_bytes)
EnrichOutput = tuple[str, str | None, list[dict[str, Any]], list[Rejection]]  # (format, encoding, rows, rejections)


def _parse(ref: FileRef, data: bytes, limit: int) -> Parsed:
    try:
        return parse_file(ref.source_path, data, max_decompressed_bytes=limit)
    except Exception as error:  # parse_file handles bad input; what escapes is a bug, quarantined per file
        return Parsed(
            format_of(ref.source_path)[0] or "unknown", rejections=[enrich_failure("parse", error, stage="parse")]
        )


def enrich_jobs(jobs: list[EnrichJob]) -> list[EnrichOutput]:
    """(format, encoding, article rows, rejections) for each file version; never raises on a file's account.

    The unit of work of an enrichment worker: a chunk of files, parsed one by one, then enriched together
    (``enrich_documents``). Top-level and picklable; it lives here, not in tasks.store.batches, so that a spawned
    worker imports only what enrichment needs (no DuckDB or pyarrow: ~60 MB less per worker).
    """
    parsed = [_parse(ref, data, limit) for ref, data, limit in jobs]
    rows = iter(
        enrich_documents(
            [(doc, ref) for (ref, _, _), result in zip(jobs, parsed, strict=True) for doc in result.documents]
        )
    )
    outputs: list[EnrichOutput] = []
    for result in parsed:
        articles: list[dict[str, Any]] = []
        rejections = list(result.rejections)
        for row in islice(rows, len(result.documents)):
            if isinstance(row, Rejection):
                rejections.append(row)
            elif (empty := no_letters_rejection(row)) is not None:
                rejections.append(empty)
            else:
                articles.append(row)
        outputs.append((result.format, result.encoding, articles, rejections))
    return outputs


def failed_output(job: EnrichJob, reason: Reason, detail: str) -> EnrichOutput:
    """The output of a file whose enrichment never returned (its worker died or ran out of time)."""
    ref = job[0]
    return format_of(ref.source_path)[0] or "unknown", None, [], [Rejection(reason, detail, "enrich")]


def enrich_file(ref: FileRef, data: bytes, *, max_decompressed_bytes: int) -> EnrichOutput:
    """One file version's enrichment (``enrich_jobs`` of one)."""
    return enrich_jobs([(ref, data, max_decompressed_bytes)])[0]


def enrichment_pool(workers: int, file_timeout: float) -> IsolatingPool:
    """Worker processes, each warmed once (imports, langdetect's profiles), every file under ``file_timeout``."""
    return IsolatingPool(workers, file_timeout, initializer=warm_worker)


def warm_worker() -> None:
    """Load langdetect's profiles once per worker process, not once per article."""
    from langdetect import DetectorFactory
    from langdetect.detector_factory import init_factory

    DetectorFactory.seed = 0
    init_factory()
