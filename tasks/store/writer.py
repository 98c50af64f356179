"""One writer session for everything that writes the warehouse: run, reenrich, compact, requeue.

``with writer(warehouse, sql_dir, timeout=…) as session`` takes the writer lock, attaches the lake read-write,
creates or evolves the tables and views, removes what a killed writer left, and yields a :class:`Writer` whose
``commit`` lands any set of tables as one DuckLake transaction: one snapshot, all or nothing.

The lock: ``flock`` on ``warehouse/.wirehouse.lock`` for a local catalog (the kernel releases it when its holder
dies); a PostgreSQL advisory lock on the catalog's server for a shared one, so writers on different machines
never interleave (the server releases it when the holder's connection drops).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import duckdb
import pyarrow as pa

from tasks.faults import crash_point
from tasks.store.lake import LAKE, Warehouse, sql_literal
from tasks.store.schema import SCHEMAS, TABLES

INLINING_ROW_LIMIT = 100  # commits this small stay in the catalog (a run's records, a quiet schedule's few files)
VIEW_STAMP = "articles"  # the view whose comment carries the fingerprint of views.sql
LOCK_POLL_SECONDS = 0.2
# The writer lock's key on a PostgreSQL catalog. Advisory locks are scoped to a database, and one database holds one
# lake's catalog: the key names no path, so machines that spell the data path or the server differently still
# exclude each other (a key hashed from the data path did not: a mount seen under two names made two locks).
ADVISORY_LOCK_KEY = int.from_bytes(hashlib.sha256(b"wirehouse:writer").digest()[:8], "big", signed=True)


class WarehouseBusy(RuntimeError):
    """Another writer holds the warehouse."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_batch_id(now: datetime) -> str:
    """Sortable by time, unique across processes."""
    return f"{now:%Y%m%dT%H%M%S%fZ}-{uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True)
class CompactResult:
    files_before: int
    files_after: int
    snapshots_expired: int
    seconds: float


class Writer:
    """The warehouse open for writing under the lock; every write goes through ``commit``."""

    def __init__(self, warehouse: Warehouse, connection: duckdb.DuckDBPyConnection) -> None:
        self.warehouse = warehouse
        self.connection = connection

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own on the same lake (``USE lake`` done), for a thread or a transaction."""
        cursor = self.connection.cursor()
        cursor.execute(f"USE {LAKE}")
        return cursor

    def snapshot(self) -> int:
        """The lake's latest snapshot id."""
        return int(self._scalar(f"SELECT id FROM ducklake_current_snapshot({sql_literal(LAKE)})"))

    def _scalar(self, statement: str, parameters: list[Any] | None = None) -> Any:
        """One value, read to the end on a cursor closed at once: a result left open holds the catalog's read
        transaction, and a SQLite catalog then refuses every commit ("database is locked")."""
        cursor = self.cursor()
        try:
            rows = cursor.execute(statement, parameters or []).fetchall()
        finally:
            cursor.close()
        return rows[0][0] if rows else None

    def commit(self, tables: Mapping[str, pa.Table], *, batch_id: str) -> int:
        """Insert every non-empty table in one transaction; return the snapshot it became.

        A crash before ``COMMIT`` leaves data files no snapshot references: the next session deletes them.
        """
        with self.transaction(message=batch_id) as cursor:
            for name, table in tables.items():
                if not table.num_rows:
                    continue
                cursor.register("incoming", table.cast(SCHEMAS[name]))
                cursor.execute(f"INSERT INTO {TABLES[name]} BY NAME SELECT * FROM incoming")
                cursor.unregister("incoming")
                crash_point("parquet_write")
        return self.snapshot()  # the single writer: nobody committed since

    @contextmanager
    def transaction(self, *, message: str) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor inside one transaction with ``message`` on its snapshot, committed on exit, rolled back on any error."""
        cursor = self.cursor()
        try:
            cursor.execute("BEGIN")
            try:
                cursor.execute(
                    f"CALL ducklake_set_commit_message({sql_literal(LAKE)}, 'wirehouse', {sql_literal(message)})"
                )
                yield cursor
                crash_point("before_commit")
                cursor.execute("COMMIT")
            except BaseException:
                _rollback(cursor)
                raise
        finally:
            cursor.close()

    def data_files(self) -> int:
        """Live data files across the tables (what compaction merges)."""
        return int(self._scalar(f"SELECT coalesce(sum(file_count), 0) FROM ducklake_table_info({sql_literal(LAKE)})"))

    def compaction_debt(self) -> int:
        """Data files plus commits inlined since the last flush: what the next ``compact`` would fold together."""
        inlined = self._scalar(
            f"""
            WITH snapshots AS (
                SELECT snapshot_id, map_keys(changes) AS kinds FROM ducklake_snapshots({sql_literal(LAKE)})
            )
            SELECT count(*) FROM snapshots
            WHERE list_contains(kinds, 'inlined_insert') AND snapshot_id > coalesce(
                (SELECT max(snapshot_id) FROM snapshots WHERE list_contains(kinds, 'flushed_inlined')), -1)
            """
        )
        return self.data_files() + int(inlined or 0)

    def initialise(self, sql_dir: Path) -> None:
        """Create missing tables, add columns the schemas gained, (re)create the views when views.sql changed.

        One transaction, and none at all when nothing changed (no empty snapshot per run). A column added to
        ``SCHEMAS`` is added with ``ALTER TABLE … ADD COLUMN``: older rows read it as NULL.
        """
        cursor = self.cursor()
        try:
            columns: dict[str, set[str]] = {}
            for table, column in cursor.execute(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_catalog = ?", [LAKE]
            ).fetchall():
                columns.setdefault(table, set()).add(column)
            statements = []
            for name, schema in SCHEMAS.items():
                table = TABLES[name]
                types = _duckdb_types(cursor, schema)
                if table not in columns:
                    defined = ", ".join(f'"{column}" {kind}' for column, kind in types.items())
                    statements.append(f"CREATE TABLE {table} ({defined})")
                    continue
                statements += [
                    f'ALTER TABLE {table} ADD COLUMN "{column}" {kind}'
                    for column, kind in types.items()
                    if column not in columns[table]
                ]
            views = (sql_dir / "views.sql").read_text(encoding="utf-8")
            stamp = hashlib.sha256(views.encode()).hexdigest()
            stored = cursor.execute(
                "SELECT comment FROM duckdb_views() WHERE database_name = ? AND view_name = ?", [LAKE, VIEW_STAMP]
            ).fetchall()
            if not statements and stored and stored[0][0] == stamp:
                return
            cursor.execute("BEGIN")
            try:
                for statement in statements:
                    cursor.execute(statement)
                cursor.execute(views)
                cursor.execute(f"COMMENT ON VIEW {VIEW_STAMP} IS {sql_literal(stamp)}")
                crash_point("view_refresh")
                cursor.execute("COMMIT")
            except BaseException:
                _rollback(cursor)
                raise
        finally:
            cursor.close()

    def recover(self) -> list[str]:
        """Delete what a killed writer left: data files no snapshot references, half-kept originals."""
        removed = [
            str(row[0])
            for row in self.connection.execute(
                f"CALL ducklake_delete_orphaned_files({sql_literal(LAKE)}, cleanup_all => true)"
            ).fetchall()
        ]
        return removed + self.warehouse.remove_partial_originals()

    def compact(self, *, keep_snapshots: timedelta) -> CompactResult:
        """DuckLake's maintenance: flush inlined rows, merge small files, expire old snapshots, delete their files.

        Time travel reaches back ``keep_snapshots``; results of every view are unchanged.
        """
        started = time.perf_counter()
        before = self.data_files()
        lake = sql_literal(LAKE)
        self.connection.execute(f"CALL ducklake_flush_inlined_data({lake})").fetchall()
        self.connection.execute(f"CALL ducklake_merge_adjacent_files({lake})").fetchall()
        crash_point("compaction")
        cutoff = utc_now() - keep_snapshots
        expired = self.connection.execute(
            f"CALL ducklake_expire_snapshots({lake}, older_than => ?::TIMESTAMPTZ)", [cutoff]
        ).fetchall()
        self.connection.execute(f"CALL ducklake_cleanup_old_files({lake}, cleanup_all => true)").fetchall()
        return CompactResult(before, self.data_files(), len(expired), time.perf_counter() - started)


def _rollback(cursor: duckdb.DuckDBPyConnection) -> None:
    """Roll back, unless the failure already ended the transaction (a failed COMMIT does): keep the first error."""
    with suppress(duckdb.TransactionException):
        cursor.execute("ROLLBACK")


def _duckdb_types(cursor: duckdb.DuckDBPyConnection, schema: pa.Schema) -> dict[str, str]:
    """Each column's DuckDB type, as DuckDB maps the Arrow type (the schemas stay the single definition)."""
    cursor.register("wirehouse_schema", schema.empty_table())
    try:
        return {str(row[0]): str(row[1]) for row in cursor.execute("DESCRIBE wirehouse_schema").fetchall()}
    finally:
        cursor.unregister("wirehouse_schema")


@contextmanager
def writer(warehouse: Warehouse, sql_dir: Path, *, timeout: float) -> Iterator[Writer]:
    """The single writer session: lock, attach, initialise, recover; raise :class:`WarehouseBusy` on timeout."""
    warehouse.root.mkdir(parents=True, exist_ok=True)
    with _writer_lock(warehouse, timeout):
        crash_point("after_lock")
        connection = warehouse.connect(read_only=False, inlining=INLINING_ROW_LIMIT)
        try:
            session = Writer(warehouse, connection)
            session.initialise(sql_dir)
            session.recover()
            crash_point("after_recover")
            warehouse.write_attach_script()
            yield session
        finally:
            connection.close()


@contextmanager
def _writer_lock(warehouse: Warehouse, timeout: float) -> Iterator[None]:
    if warehouse.postgres_dsn is not None:
        with _advisory_lock(warehouse.postgres_dsn, ADVISORY_LOCK_KEY, timeout):
            yield
        return
    from filelock import FileLock, Timeout

    lock = FileLock(warehouse.lock_path, timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        raise WarehouseBusy(f"another writer holds the lock on {warehouse.root}") from None
    try:
        yield
    finally:
        lock.release()


@contextmanager
def _advisory_lock(dsn: str, key: int, timeout: float) -> Iterator[None]:
    """``pg_try_advisory_lock`` polled until ``timeout``; held by a connection that lives as long as the session."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as connection:
        deadline = time.monotonic() + timeout
        while True:
            row = connection.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            if row is not None and row[0]:
                break
            if time.monotonic() >= deadline:
                raise WarehouseBusy("another writer holds the lake's advisory lock on its catalog server")
            time.sleep(LOCK_POLL_SECONDS)
        try:
            yield
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (key,))
