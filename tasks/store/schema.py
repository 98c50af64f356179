"""The warehouse's tables as Arrow schemas: the one definition the lake's DDL, the writers and the readers share.

A column added here is added to the lake's table by ``ALTER TABLE … ADD COLUMN`` on the next writer session;
rows written before read it as NULL until ``wirehouse reenrich`` fills it.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

_TS = pa.timestamp("us", tz="UTC")
_ALTERNATIVE = pa.struct([("code", pa.string()), ("probability", pa.float64())])
_DATE_MENTION = pa.struct(
    [
        ("text", pa.string()),
        ("year", pa.int32()),
        ("month", pa.int32()),
        ("day", pa.int32()),
        ("weekday", pa.string()),
        ("resolved", pa.date32()),
    ]
)
_LANGUAGE_SHARE = pa.struct([("code", pa.string()), ("share", pa.float64())])
_ENTITY = pa.struct(
    [
        ("kind", pa.string()),
        ("name", pa.string()),
        ("normalised", pa.string()),
        ("start", pa.int32()),
        ("end", pa.int32()),
        ("country", pa.string()),
    ]
)
_QUOTE = pa.struct([("quote", pa.string()), ("speaker", pa.string()), ("start", pa.int32()), ("end", pa.int32())])
_AMOUNT = pa.struct(
    [("text", pa.string()), ("value", pa.float64()), ("unit", pa.string()), ("start", pa.int32()), ("end", pa.int32())]
)

# Keyed by the lake table's name. ``article_versions`` and ``run_records`` keep the raw history; the ``runs`` view
# reads the latest of each run (warehouse/sql/views.sql), the ``articles`` table the articles held now
# (``table_schemas``, tasks/store/articles.py).
SCHEMAS: dict[str, pa.Schema] = {
    "article_versions": pa.schema(
        [
            ("article_id", pa.string()),
            ("source_path", pa.string()),
            ("record_index", pa.int32()),
            ("file_version", pa.int32()),
            ("content_sha256", pa.string()),
            ("size", pa.int64()),
            ("mtime", _TS),
            ("format", pa.string()),
            ("encoding", pa.string()),
            ("language", pa.string()),
            ("language_variant", pa.string()),
            ("language_confidence", pa.float64()),
            ("language_alternatives", pa.list_(_ALTERNATIVE)),
            ("language_reason", pa.string()),
            ("language_script", pa.string()),
            ("language_detector", pa.string()),  # who answered: langdetect, script, py3langid
            ("languages", pa.list_(_LANGUAGE_SHARE)),
            ("is_multilingual", pa.bool_()),
            ("title", pa.string()),
            ("title_source", pa.string()),  # where each metadata value was found: tasks.parse.page_metadata.SOURCES
            ("lede", pa.string()),
            ("description", pa.string()),
            ("description_source", pa.string()),
            ("author", pa.string()),
            ("author_source", pa.string()),
            ("published_date", pa.date32()),  # the day the source states, in its own time zone
            ("published_at", _TS),  # the instant, when the source states a time with its zone
            ("published_source", pa.string()),
            ("dateline", pa.string()),
            ("site", pa.string()),
            ("site_source", pa.string()),
            ("url", pa.string()),
            ("url_source", pa.string()),
            ("source_fields", pa.string()),  # JSON: the title and fields the source gave (reenrich recomputes from it)
            ("text", pa.string()),
            ("char_count", pa.int32()),
            ("word_count", pa.int32()),
            ("paragraph_count", pa.int32()),
            ("sentence_count", pa.int32()),
            ("reading_time_minutes", pa.float64()),
            ("quote_count", pa.int32()),
            ("dates_mentioned", pa.list_(_DATE_MENTION)),
            ("entities", pa.list_(_ENTITY)),
            ("countries", pa.list_(pa.string())),
            ("quotes", pa.list_(_QUOTE)),
            ("keywords", pa.list_(pa.string())),
            ("amounts", pa.list_(_AMOUNT)),
            ("fingerprint", pa.int64()),
            ("near_duplicate_of", pa.string()),
            ("enricher_version", pa.string()),
            ("ingested_at", _TS),
            ("flow_run_id", pa.string()),
            ("batch_id", pa.string()),
        ]
    ),
    "files": pa.schema(
        [
            ("source_path", pa.string()),
            ("file_version", pa.int32()),
            ("size", pa.int64()),
            ("mtime", _TS),
            ("mtime_ns", pa.int64()),
            ("source_etag", pa.string()),  # object storage only: ETag / version id
            ("content_sha256", pa.string()),
            ("status", pa.string()),
            ("article_id", pa.string()),
            ("articles", pa.int32()),
            ("reason_code", pa.string()),
            ("format", pa.string()),
            ("encoding", pa.string()),
            ("flow_run_id", pa.string()),
            ("batch_id", pa.string()),
            ("recorded_at", _TS),
        ]
    ),
    # Articles an enriched content (by hash) yields that landed from another path or file (what landed from it is
    # in `articles` with its content_sha256): a file with these bytes holds them too, so they stay in `articles`.
    "content_articles": pa.schema(
        [
            ("content_sha256", pa.string()),
            ("article_id", pa.string()),
            ("record_index", pa.int32()),
            ("batch_id", pa.string()),
        ]
    ),
    "quarantine": pa.schema(
        [
            ("source_path", pa.string()),
            ("file_version", pa.int32()),
            ("record_index", pa.int32()),
            ("reason_code", pa.string()),
            ("reason_detail", pa.string()),
            ("stage", pa.string()),
            ("content_sha256", pa.string()),
            ("kept_as", pa.string()),
            ("flow_run_id", pa.string()),
            ("batch_id", pa.string()),
            ("quarantined_at", _TS),
        ]
    ),
    "validations": pa.schema(
        [
            ("validation_id", pa.string()),
            ("suite", pa.string()),
            ("success", pa.bool_()),
            ("evaluated_rows", pa.int64()),
            ("failed_rows", pa.int64()),
            ("evaluated_expectations", pa.int32()),
            ("failed_expectations", pa.list_(pa.string())),
            ("details", pa.string()),
            ("flow_run_id", pa.string()),
            ("batch_id", pa.string()),
            ("validated_at", _TS),
        ]
    ),
    "run_records": pa.schema(
        [
            ("flow_run_id", pa.string()),
            ("flow_run_name", pa.string()),
            ("status", pa.string()),
            ("source", pa.string()),
            ("started_at", _TS),
            ("finished_at", _TS),
            ("duration_s", pa.float64()),
            ("files_seen", pa.int64()),
            ("new_files", pa.int64()),
            ("landed", pa.int64()),
            ("duplicates", pa.int64()),
            ("quarantined", pa.int64()),
            ("deferred", pa.int64()),
            ("deleted", pa.int64()),
            ("articles_landed", pa.int64()),
            ("rows_quarantined", pa.int64()),
            ("message", pa.string()),
            ("snapshot_before", pa.int64()),  # the lake's snapshot when the run began: ATTACH … (SNAPSHOT_VERSION n)
            ("recorded_at", _TS),
        ]
    ),
}


def table_schemas() -> dict[str, pa.Schema]:
    """Every lake table's schema: ``SCHEMAS``, and ``articles``, which has the columns of ``article_versions``."""
    return {**SCHEMAS, "articles": SCHEMAS["article_versions"]}


def table_from_rows(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    """Rows for the lake table ``name``, typed by its schema (a missing key reads as NULL)."""
    return pa.Table.from_pylist(rows, schema=SCHEMAS[name])
