"""One writer session for everything that writes the warehouse: run, reenrich, compact, requeue.

``with writer(warehouse, sql_dir, timeout=…) as session`` takes the writer lock, attaches the lake read-write,
creates or evolves the tables and views, removes what a killed writer left, and yields a :class:`Writer` whose
``commit`` lands any set of tables as one DuckLake transaction: one snapshot, all or nothing.

The lock: ``flock`` on ``warehouse/.wirehouse.lock`` for a local catalog (the kernel releases it when its holder
dies); a PostgreSQL advisory lock on the catalog's server for a shared one, so writers on different machines
never interleave (the server releases it when the holder's connection drops).
"""

from __future__ import annotations

import errno
import hashlib
import re
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from uuid import uuid4

import duckdb
import pyarrow as pa

from tasks.faults import crash_point
from tasks.store import articles
from tasks.store.lake import LAKE, Warehouse, sql_literal, with_password
from tasks.store.schema import SCHEMAS, table_schemas

T = TypeVar("T")
RETRY_WAIT_SECONDS = 30.0  # how long a commit retries a transient error before the run fails with it
INLINING_ROW_LIMIT = 100  # commits this small stay in the catalog (a run's records, a quiet schedule's few files)
VIEW_STAMP = "runs"  # the view whose comment carries the fingerprint of views.sql
LOCK_POLL_SECONDS = 0.2
# The writer lock's key on a PostgreSQL catalog. Advisory locks are scoped to a database, and one database holds one
# lake's catalog: the key names no path, so machines that spell the data path or the server differently still
# exclude each other (a key hashed from the data path did not: a mount seen under two names made two locks).
ADVISORY_LOCK_KEY = int.from_bytes(hashlib.sha256(b"wirehouse:writer").digest()[:8], "big", signed=True)


class WarehouseBusy(RuntimeError):
    """Another writer holds the warehouse."""


class LakeMissing(RuntimeError):
    """The catalog is gone but the lake's files are not: starting over would orphan them."""


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

    def __init__(
        self,
        warehouse: Warehouse,
        connection: duckdb.DuckDBPyConnection,
        sql_dir: Path,
        *,
        retry_wait: float = RETRY_WAIT_SECONDS,
    ) -> None:
        self.warehouse = warehouse
        self.connection = connection
        self.sql_dir = sql_dir
        self.retry_wait = retry_wait  # how long a commit keeps retrying transient errors (a busy catalog, a blip)

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
        """Land every non-empty table in one transaction named ``batch_id``; return the snapshot it became.

        Idempotent by construction: a batch the lake already holds (a snapshot whose commit message is
        ``batch_id``) is not inserted again, and its snapshot is returned. So a retry after an error at any point,
        even after ``COMMIT`` went through, lands the batch exactly once; transient errors are retried here.
        A crash before ``COMMIT`` leaves data files no snapshot references: the next session deletes them.
        """

        def once() -> int:
            landed = self.snapshot_of(batch_id)
            if landed is not None:
                return landed
            with self.transaction(message=batch_id) as cursor:
                for name, table in tables.items():
                    if not table.num_rows:
                        continue
                    insert_rows(cursor, name, table.cast(SCHEMAS[name]))
                    crash_point("parquet_write")
            crash_point("commit_snapshot")
            return self.snapshot()  # the single writer: nobody committed since

        return retry_transient(once, wait=self.retry_wait)

    def snapshot_of(self, batch_id: str) -> int | None:
        """The snapshot that landed ``batch_id``, if one did (snapshots carry the batch id as commit message)."""
        found = self._scalar(
            f"SELECT min(snapshot_id) FROM ducklake_snapshots({sql_literal(LAKE)}) WHERE commit_message = ?",
            [batch_id],
        )
        return None if found is None else int(found)

    @contextmanager
    def transaction(self, *, message: str | None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor inside one transaction, committed on exit, rolled back on any error.

        ``message`` names the snapshot of a commit of rows (whose fault points, ``commit_begin`` and
        ``before_commit``, it passes), which ends by bringing ``articles`` up to date with what it wrote
        (:func:`tasks.store.articles.refresh`); None: a change of the tables and views themselves (``initialise``).
        """
        cursor = self.cursor()
        try:
            cursor.execute("BEGIN")
            try:
                if message is not None:
                    crash_point("commit_begin")
                    cursor.execute(
                        f"CALL ducklake_set_commit_message({sql_literal(LAKE)}, 'wirehouse', {sql_literal(message)})"
                    )
                    sources = articles.source_rows(cursor)
                yield cursor
                if message is not None:
                    articles.refresh(cursor, self.sql_dir, sources)
                    crash_point("before_commit")
                try:
                    cursor.execute("COMMIT")
                except duckdb.Error as error:
                    full = _full_disk(self.warehouse)
                    if full is None:
                        raise
                    raise full from error
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

    def initialise(self) -> None:
        """Create missing tables, add columns the schemas gained, (re)create the views when views.sql changed.

        One transaction, and none at all when nothing changed (no empty snapshot per run). A column added to
        ``SCHEMAS`` is added with ``ALTER TABLE … ADD COLUMN``: older rows read it as NULL. A lake whose
        ``articles`` is still the view of earlier versions gets the table, filled from its sources.
        """
        cursor = self.cursor()
        try:
            columns: dict[str, set[str]] = {}
            for table, column in cursor.execute(
                "SELECT table_name, column_name FROM information_schema.columns JOIN information_schema.tables "
                "USING (table_catalog, table_schema, table_name) WHERE table_catalog = ? AND table_type = 'BASE TABLE'",
                [LAKE],
            ).fetchall():
                columns.setdefault(table, set()).add(column)
            statements = []
            if cursor.execute(
                "SELECT 1 FROM duckdb_views() WHERE database_name = ? AND view_name = ?", [LAKE, articles.ARTICLES]
            ).fetchall():
                statements.append(f"DROP VIEW {articles.ARTICLES}")
            created = articles.ARTICLES not in columns
            for table, schema in table_schemas().items():
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
            views = (self.sql_dir / "views.sql").read_text(encoding="utf-8")
            stamp = hashlib.sha256(views.encode()).hexdigest()
            stored = cursor.execute(
                "SELECT comment FROM duckdb_views() WHERE database_name = ? AND view_name = ?", [LAKE, VIEW_STAMP]
            ).fetchall()
            if not statements and stored and stored[0][0] == stamp:
                return
        finally:
            cursor.close()
        with self.transaction(message=None) as cursor:
            for statement in statements:
                cursor.execute(statement)
            cursor.execute(views)
            cursor.execute(f"COMMENT ON VIEW {VIEW_STAMP} IS {sql_literal(stamp)}")
            if created:
                articles.rebuild(cursor, self.sql_dir)
            crash_point("view_refresh")

    def recover(self) -> list[str]:
        """Delete what a killed writer left, judged by the catalog's own records, never by absence alone.

        A data file is a killed writer's leftover only if no snapshot references it *and* DuckLake's own name for
        it (``ducklake-<UUIDv7>.parquet``, whose first 48 bits are the time it was created) says it was written
        after the lake's last commit: a single writer commits in order, so only the transaction or compaction
        that died can have written it. Anything older, or named otherwise (the files of a lake started over
        beside them, a copy, a user's file), is kept. Runs first in the session, before any commit of its own.
        Also: half-kept quarantined originals and the scratch a killed ``reenrich`` left.
        """
        lake = sql_literal(LAKE)
        last = self._scalar(f"SELECT max(snapshot_time) FROM ducklake_snapshots({lake})")
        orphans = [
            str(row[0])
            for row in self.connection.execute(
                f"CALL ducklake_delete_orphaned_files({lake}, dry_run => true, cleanup_all => true)"
            ).fetchall()
        ]
        leftovers = [path for path in orphans if last is not None and _written_after(path, last)]
        removed: list[str] = []
        if leftovers and self.warehouse.local_data is not None:
            for path in leftovers:
                Path(path).unlink(missing_ok=True)
                removed.append(path)
        elif leftovers and len(leftovers) == len(orphans):  # an object store: DuckLake deletes, all or nothing
            self.connection.execute(f"CALL ducklake_delete_orphaned_files({lake}, cleanup_all => true)").fetchall()
            removed += leftovers
        return removed + self.warehouse.remove_partial_originals() + self.warehouse.remove_scratch()

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


def insert_rows(cursor: duckdb.DuckDBPyConnection, name: str, rows: pa.Table | pa.RecordBatchReader) -> None:
    """Stream ``rows`` into the lake table ``name``, column by name (inside the cursor's transaction)."""
    cursor.register("incoming", rows)
    try:
        cursor.execute(f"INSERT INTO {name} BY NAME SELECT * FROM incoming")
    finally:
        cursor.unregister("incoming")


def replace_rows(cursor: duckdb.DuckDBPyConnection, name: str, rows: pa.Table | pa.RecordBatchReader) -> None:
    """Every row of the lake table ``name`` replaced by ``rows`` (inside the cursor's transaction)."""
    cursor.execute(f"DELETE FROM {name}")
    insert_rows(cursor, name, rows)


def run_statement(
    cursor: duckdb.DuckDBPyConnection, statement: str, parameters: Mapping[str, Any] | None = None, **tables: pa.Table
) -> list[tuple[Any, ...]]:
    """Run one statement with ``tables`` registered under their names for it; its rows, read to the end."""
    for table_name, table in tables.items():
        cursor.register(table_name, table)
    try:
        return cursor.execute(statement, dict(parameters or {})).fetchall()
    finally:
        for table_name in tables:
            cursor.unregister(table_name)


FULL_DISK_BYTES = 1 << 20  # less free than this under the catalog or the data: a failed commit ran out of room


def _full_disk(warehouse: Warehouse) -> OSError | None:
    """The cause of a failed ``COMMIT`` when the local catalog's or data's disk is full. DuckLake then reports only
    its own failed rollback (SQLite already rolled back on SQLITE_FULL), which names nothing a user can act on."""
    for folder in (warehouse.catalog_path and warehouse.catalog_path.parent, warehouse.local_data):
        if folder is not None and folder.exists() and shutil.disk_usage(folder).free < FULL_DISK_BYTES:
            free = shutil.disk_usage(folder).free
            return OSError(
                errno.ENOSPC, f"No space left on device: the commit failed with {free:,} bytes free", str(folder)
            )
    return None


def _rollback(cursor: duckdb.DuckDBPyConnection) -> None:
    """Roll back, unless the failure already ended the transaction (a failed COMMIT or a full disk does): the
    first error is the one raised, never "cannot rollback" after it."""
    with suppress(duckdb.Error):
        cursor.execute("ROLLBACK")


_UUID7 = re.compile(r"ducklake-([0-9a-f]{8})-([0-9a-f]{4})-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}\.parquet$")


def _written_after(path: str, moment: datetime) -> bool:
    """Whether DuckLake's name for the data file says it was created after ``moment`` (UUIDv7 milliseconds)."""
    match = _UUID7.search(path)
    if match is None:
        return False
    created = datetime.fromtimestamp(int(match[1] + match[2], 16) / 1000, UTC)
    return created > moment


TRANSIENT_MESSAGES = ("database is locked", "database is busy", "connection reset", "timed out", "temporarily")


def is_transient(error: BaseException) -> bool:
    """An error a retry can get past: injected, a dropped connection, a catalog busy for a moment.

    Never a full disk or a permission problem: retrying those only hides the cause.
    """
    if isinstance(error, ConnectionError | TimeoutError):
        return True
    return isinstance(error, duckdb.Error) and any(m in str(error).lower() for m in TRANSIENT_MESSAGES)


def retry_transient(step: Callable[[], T], *, wait: float = RETRY_WAIT_SECONDS) -> T:
    """Run ``step`` again after a transient error, waiting longer each time, for up to ``wait`` seconds in all.

    Only for steps that are safe to repeat: a commit by batch id, a read.
    """
    deadline = time.monotonic() + wait
    pause = 0.1
    while True:
        try:
            return step()
        except Exception as error:
            if not is_transient(error) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 5.0)


def _duckdb_types(cursor: duckdb.DuckDBPyConnection, schema: pa.Schema) -> dict[str, str]:
    """Each column's DuckDB type, as DuckDB maps the Arrow type (the schemas stay the single definition)."""
    cursor.register("wirehouse_schema", schema.empty_table())
    try:
        return {str(row[0]): str(row[1]) for row in cursor.execute("DESCRIBE wirehouse_schema").fetchall()}
    finally:
        cursor.unregister("wirehouse_schema")


def refuse_to_start_over(warehouse: Warehouse) -> None:
    """Raise :class:`LakeMissing` when there is no usable catalog but a lake's files are there."""
    problem = warehouse.catalog_problem()
    found = warehouse.leftovers() if problem else []
    if found:
        raise LakeMissing(
            f"the lake's catalog {warehouse.display()} is {problem}, but the warehouse holds "
            f"{' and '.join(found)}: refusing to start a new lake over them (restore the catalog, or "
            "run with --new-lake to start an empty one beside them; nothing is deleted either way)"
        )


@contextmanager
def writer(
    warehouse: Warehouse,
    sql_dir: Path,
    *,
    timeout: float,
    new_lake: bool = False,
    retry_wait: float = RETRY_WAIT_SECONDS,
) -> Iterator[Writer]:
    """The single writer session: lock, attach, recover, initialise.

    Raises:
        WarehouseBusy: another writer held the lock for ``timeout`` seconds.
        LakeMissing: no catalog (or an empty or unreadable one) but data files or originals are there, and
            ``new_lake`` was not given: a new lake is never started over an old one's files on its own.
    """
    warehouse.root.mkdir(parents=True, exist_ok=True)
    with _writer_lock(warehouse, timeout):
        crash_point("after_lock")
        if not new_lake:
            refuse_to_start_over(warehouse)
        warehouse.prepare_catalog()
        connection = warehouse.connect(read_only=False, inlining=INLINING_ROW_LIMIT)
        try:
            session = Writer(warehouse, connection, sql_dir, retry_wait=retry_wait)
            session.recover()  # before any commit of this session: leftovers are told by the last commit's time
            crash_point("after_recover")
            session.initialise()
            warehouse.write_attach_script()
            yield session
        finally:
            connection.close()


@contextmanager
def _writer_lock(warehouse: Warehouse, timeout: float) -> Iterator[None]:
    if warehouse.postgres_dsn is not None:
        with _advisory_lock(warehouse.postgres_dsn, warehouse.catalog_password, ADVISORY_LOCK_KEY, timeout):
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
def _advisory_lock(dsn: str, password: str | None, key: int, timeout: float) -> Iterator[None]:
    """``pg_try_advisory_lock`` polled until ``timeout``; held by a connection that lives as long as the session."""
    import psycopg

    with psycopg.connect(with_password(dsn, password), autocommit=True) as connection:
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
