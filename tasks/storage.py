"""The warehouse on disk: Arrow schemas, atomic batch commits, the ledger, DuckDB views.

Layout (everything under ``warehouse/``)::

    data/current -> gen-000001      relative symlink: the live generation (compaction swaps it)
    data/gen-000001/batch=<id>/     one directory per committed batch: articles, files (the ledger),
                                    quarantine, validations, runs Parquet files, any subset
    data/_staging/<id>/             a batch being written; renamed into place as the commit point
    quarantine/<sha256[:2]>/<sha>   original bytes of quarantined files
    wirehouse.duckdb                views only (no copies of data)

A batch becomes visible in one ``rename(2)`` of its directory, so readers never see half a batch,
and the ledger rows (``files.parquet``) commit together with the rows they describe.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from tasks.faults import crash_point

DB_FILE = "wirehouse.duckdb"
DUCKDB_STORAGE_VERSION = "v1.5.0"  # readable by the duckdb-cli 1.5 executable as well as newer clients
TABLE_FILES = ("articles", "files", "quarantine", "validations", "runs")
SCHEMA_BATCH = "00000000T000000000000Z-schema"  # empty files of every table: views never match nothing

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

SCHEMAS: dict[str, pa.Schema] = {
    "articles": pa.schema(
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
            ("languages", pa.list_(_LANGUAGE_SHARE)),
            ("is_multilingual", pa.bool_()),
            ("title", pa.string()),
            ("lede", pa.string()),
            ("description", pa.string()),
            ("author", pa.string()),
            ("published", pa.string()),
            ("published_source", pa.string()),
            ("dateline", pa.string()),
            ("site", pa.string()),
            ("url", pa.string()),
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
    "runs": pa.schema(
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
            ("recorded_at", _TS),
        ]
    ),
}


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_batch_id(now: datetime) -> str:
    """Sortable by time, unique across processes."""
    return f"{now:%Y%m%dT%H%M%S%fZ}-{uuid4().hex[:8]}"


def sql_literal(value: str) -> str:
    """The one place a string becomes SQL text: single-quoted, quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


class Warehouse:
    """Paths of one warehouse folder; creating one touches nothing on disk."""

    def __init__(self, root: Path) -> None:
        self.root = root.absolute()
        self.data = self.root / "data"
        self.current = self.data / "current"
        self.staging = self.data / "_staging"
        self.kept = self.root / "quarantine"
        self.db_path = self.root / DB_FILE
        self.lock_path = self.root / ".wirehouse.lock"

    def initialise(self) -> None:
        """Create the folders, the first generation and an empty batch holding every table's schema.

        The empty batch means every view's glob matches from day one (DuckDB refuses a view over no files).
        """
        self.staging.mkdir(parents=True, exist_ok=True)
        self.kept.mkdir(parents=True, exist_ok=True)
        if not self.current.exists():
            generation = self.data / "gen-000001"
            generation.mkdir(exist_ok=True)
            tmp_link = self.data / f".current-{uuid4().hex[:8]}"
            tmp_link.symlink_to(generation.name)
            os.replace(tmp_link, self.current)
        if not any(self.current.glob("batch=*")):
            empty = {name: schema.empty_table() for name, schema in SCHEMAS.items()}
            self.commit(empty, batch_id=SCHEMA_BATCH)
        self._upgrade_schema_batch()

    def _upgrade_schema_batch(self) -> None:
        """Give the empty schema batch any columns added since it was written (a new view may need them;
        union_by_name then reads them as NULL from older files). Each file is swapped in by one rename."""
        folder = self.current.resolve() / f"batch={SCHEMA_BATCH}"
        if not folder.is_dir():
            return
        for name, schema in SCHEMAS.items():
            path = folder / f"{name}.parquet"
            if path.exists() and pq.read_schema(path).names == schema.names:
                continue
            tmp = folder / f".{name}-{uuid4().hex[:8]}.tmp"
            pq.write_table(schema.empty_table(), tmp, compression="zstd")
            _fsync(tmp)
            os.replace(tmp, path)

    def batch_dirs(self) -> list[Path]:
        """Committed batch directories of the live generation, oldest first."""
        return sorted(self.current.resolve().glob("batch=*"))

    def swap_generation(self, build: Callable[[Path], None]) -> Path:
        """Replace the whole live generation atomically (for compaction and re-enrichment).

        ``build`` fills a fresh generation folder (hard-link the batch files it keeps, write the ones it
        changes); then the ``current`` symlink is replaced in one rename. Readers see the old generation or
        the new one, never a mix. The old generation is deleted by the next ``recover()``, once in-flight
        queries are long done.
        """
        live = self.current.resolve()
        number = int(live.name.removeprefix("gen-")) + 1
        generation = self.data / f"gen-{number:06d}"
        if generation.exists():  # left by a build that crashed before the swap
            shutil.rmtree(generation)
        generation.mkdir()
        schema_batch = generation / f"batch={SCHEMA_BATCH}"
        schema_batch.mkdir()
        for name, schema in SCHEMAS.items():  # every view's glob must keep matching
            pq.write_table(schema.empty_table(), schema_batch / f"{name}.parquet", compression="zstd")
        build(generation)
        for path in generation.rglob("*"):
            if path.is_file():
                _fsync(path)
        for batch in generation.glob("batch=*"):
            _fsync(batch)
        _fsync(generation)
        tmp_link = self.data / f".current-{uuid4().hex[:8]}"
        tmp_link.symlink_to(generation.name)
        crash_point("generation_swap")
        os.replace(tmp_link, self.current)
        _fsync(self.data)
        return generation

    def recover(self) -> list[str]:
        """Remove what never reached a commit point (a crashed or killed writer) and retired generations."""
        removed = []
        if self.staging.exists():
            for orphan in self.staging.iterdir():
                shutil.rmtree(orphan, ignore_errors=True)
                removed.append(orphan.name)
        live = self.current.resolve().name if self.current.exists() else None
        for generation in self.data.glob("gen-*"):
            if generation.name != live:
                shutil.rmtree(generation, ignore_errors=True)
                removed.append(generation.name)
        for link in self.data.glob(".current-*"):
            link.unlink(missing_ok=True)
        for tmp in self.kept.glob("**/.tmp-*"):
            tmp.unlink(missing_ok=True)
            removed.append(tmp.name)
        return removed

    def commit(self, tables: Mapping[str, pa.Table], *, batch_id: str) -> Path:
        """Write tables under staging, fsync, then publish them with one directory rename."""
        stage = self.staging / batch_id
        if stage.exists():  # a retried task: start the batch over
            shutil.rmtree(stage)
        stage.mkdir(parents=True)
        for name, table in tables.items():
            path = stage / f"{name}.parquet"
            pq.write_table(table.cast(SCHEMAS[name]), path, compression="zstd", row_group_size=64_000)
            _fsync(path)
            crash_point("parquet_write")
        _fsync(stage)
        target = self.current.resolve() / f"batch={batch_id}"
        crash_point("before_rename")
        os.rename(stage, target)
        _fsync(target.parent)
        return target

    def keep_original(self, data: bytes) -> str:
        """Store a quarantined file's bytes by content hash (idempotent); return the path relative to root."""
        digest = hashlib.sha256(data).hexdigest()
        path = self.kept / digest[:2] / digest
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.parent / f".tmp-{uuid4().hex}"
            tmp.write_bytes(data)
            _fsync(tmp)
            crash_point("keep_original")
            os.replace(tmp, path)
        return path.relative_to(self.root).as_posix()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def render_views(sql_dir: Path, warehouse: Warehouse) -> str:
    """views.sql with the live data folder substituted (quoted by sql_literal)."""
    template = (sql_dir / "views.sql").read_text(encoding="utf-8")
    data = sql_literal(warehouse.current.as_posix())[1:-1]  # inside an existing quoted string
    return template.replace("{data}", data)


def reader(warehouse: Warehouse, sql_dir: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the warehouse views: never locks wirehouse.duckdb."""
    connection = duckdb.connect()
    connection.execute(render_views(sql_dir, warehouse)).fetchall()
    return connection


def refresh_views(warehouse: Warehouse, sql_dir: Path) -> bool:
    """(Re)create the views in wirehouse.duckdb when they are missing, stale or the folder moved.

    Returns True when the file was written. Views are globs, so new batches need no refresh.
    """
    rendered = render_views(sql_dir, warehouse)
    fingerprint = hashlib.sha256(rendered.encode()).hexdigest()
    if warehouse.db_path.exists():
        try:
            with duckdb.connect(str(warehouse.db_path), read_only=True) as connection:
                stored = connection.execute("SELECT fingerprint FROM _wirehouse").fetchone()
            if stored is not None and stored[0] == fingerprint:
                return False
        except duckdb.Error:
            pass
    with duckdb.connect(
        str(warehouse.db_path), config={"storage_compatibility_version": DUCKDB_STORAGE_VERSION}
    ) as connection:
        connection.execute("BEGIN")
        connection.execute(rendered).fetchall()
        crash_point("view_refresh")
        connection.execute(
            f"CREATE OR REPLACE VIEW _wirehouse AS SELECT {sql_literal(fingerprint)} AS fingerprint, "
            f"{sql_literal(warehouse.root.as_posix())} AS root"
        )
        connection.execute("COMMIT")
    return True


@contextmanager
def query(warehouse: Warehouse, sql_dir: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only view of the warehouse for users: in memory, so it never blocks a writer."""
    connection = reader(warehouse, sql_dir)
    try:
        yield connection
    finally:
        connection.close()


def table_from_rows(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMAS[name])
