"""The ledger: what the lake already holds, asked in DuckDB through the writer session (what is new, changed,
deleted, a duplicate, a near-duplicate; which runs were killed)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from tasks.faults import crash_point
from tasks.sources.discover import Found
from tasks.store.lake import LAKE

_SCAN_SCHEMA = pa.schema(
    [
        ("source_path", pa.string()),
        ("size", pa.int64()),
        ("mtime_ns", pa.int64()),
        ("reason_code", pa.string()),
        ("reason_detail", pa.string()),
        ("etag", pa.string()),
    ]
)
_SCAN_CHUNK = 50_000
# How far a file's mtime may lie ahead of this machine's clock and still count as "just written": clocks that
# disagree by a few minutes (a network share, a VM), the tolerance Kerberos allows by default.
CLOCK_SKEW_NS = 300 * 1_000_000_000

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Changes:
    files_seen: int
    pending: pa.Table  # changed files old enough to read (SCAN schema + file_version)
    deferred: int  # changed, but modified less than min_age ago (and at most CLOCK_SKEW_NS in the future)
    deleted: pa.Table  # source_path, file_version, article_id
    deletions_suppressed: bool = False  # the source looked empty while the ledger has live files
    unlisted: list[str] = field(default_factory=list)  # folders that failed to list: nothing under them is deleted
    future: int = 0  # pending files whose mtime lies more than CLOCK_SKEW_NS ahead of the clock (read anyway)
    excluded: list[str] = field(default_factory=list)  # the warehouse inside the source: not listed, not deleted


class Ledger:
    """The warehouse's committed state, as the writer session sees it (its own commits included).

    Each query runs on a cursor of its own, so the ledger is safe to use from the flow's task threads.
    """

    def __init__(self, connection: duckdb.DuckDBPyConnection, sql_dir: Path) -> None:
        self.sql_dir = sql_dir
        self.connection = connection

    def cursor(self) -> duckdb.DuckDBPyConnection:
        cursor = self.connection.cursor()
        cursor.execute(f"USE {LAKE}")
        return cursor

    def _query(self, name: str, **tables: pa.Table) -> pa.Table:
        """Run warehouse/sql/<name>.sql with ``tables`` registered, on a cursor of its own (thread-safe)."""
        cursor = self.cursor()
        try:
            for table_name, table in tables.items():
                cursor.register(table_name, table)
            return cursor.sql((self.sql_dir / f"{name}.sql").read_text(encoding="utf-8")).to_arrow_table()
        finally:
            cursor.close()

    def changes(self, found: Iterable[Found], *, now_ns: int, min_age_ns: int) -> Changes:
        """What discovery found that the ledger does not hold yet, and what it holds that is gone.

        A changed file is deferred while it may still be being written: modified less than ``min_age_ns`` before
        ``now_ns``, or up to ``CLOCK_SKEW_NS`` after it (a writer whose clock runs a little ahead). An mtime further
        in the future (an archive unpacked with future dates, a badly wrong clock) says nothing about the file
        being written, and waiting for that date could mean never: such a file is read now, with a warning.
        """
        unlisted: list[str] = []
        excluded: list[str] = []
        scan = scan_table(found, unlisted, excluded)
        crash_point("discover")
        changed = self._query("changed_files", scan=scan)
        # A path is deleted only when the folder holding it was listed without it (and is not the warehouse).
        folders = unlisted + excluded
        prefixes = pa.table({"prefix": pa.array([f"{folder}/" if folder else "" for folder in folders], pa.string())})
        deleted = self._query("deleted_files", scan=scan, unlisted=prefixes)
        live = self._query("live_files").column(0)[0].as_py() or 0
        suppressed = scan.num_rows == 0 and live > 0 and not unlisted
        if suppressed:
            deleted = deleted.slice(0, 0)
        ahead = pc.greater(changed["mtime_ns"], now_ns + CLOCK_SKEW_NS)
        fresh = pc.and_(pc.greater(changed["mtime_ns"], now_ns - min_age_ns), pc.invert(ahead))
        future = int(pc.sum(ahead).as_py() or 0)
        if future:
            log.warning("%d file(s) modified more than %ds in the future: read now", future, CLOCK_SKEW_NS // 10**9)
        return Changes(
            files_seen=scan.num_rows,
            pending=changed.filter(pc.invert(fresh)),
            deferred=int(pc.sum(fresh).as_py() or 0),
            deleted=deleted,
            deletions_suppressed=suppressed,
            unlisted=unlisted,
            future=future,
            excluded=excluded,
        )

    def known_content(self, candidates: list[tuple[str, str]]) -> dict[str, str | None]:
        """source_path → article_id for candidates whose bytes already landed from another path."""
        if not candidates:
            return {}
        table = pa.table({"source_path": [c[0] for c in candidates], "content_sha256": [c[1] for c in candidates]})
        rows = self._query("known_content", candidates=table).to_pylist()
        return {row["source_path"]: row["article_id"] for row in rows}

    def same_content(self, candidates: list[tuple[str, str]]) -> dict[str, dict[str, Any]]:
        """source_path → its current ledger row, for candidates whose bytes did not change (only touched)."""
        if not candidates:
            return {}
        table = pa.table({"source_path": [c[0] for c in candidates], "content_sha256": [c[1] for c in candidates]})
        return {row["source_path"]: row for row in self._query("same_content", candidates=table).to_pylist()}

    def known_articles(self, articles: list[tuple[str, str]]) -> set[str]:
        """article_ids (of (source_path, article_id) pairs) already landed from another path."""
        if not articles:
            return set()
        table = pa.table({"source_path": [a[0] for a in articles], "article_id": [a[1] for a in articles]})
        return set(self._query("known_articles", new_articles=table).column("article_id").to_pylist())

    def link_near_duplicates(self, articles: list[dict[str, Any]]) -> None:
        """Set ``near_duplicate_of`` on new articles whose SimHash is close to a landed or earlier one."""
        cursor = self.cursor()
        try:
            links = near_duplicate_links(cursor, articles, self.sql_dir)
        finally:
            cursor.close()
        for article in articles:
            article["near_duplicate_of"] = links.get(article["article_id"])

    def stale_runs(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self._query("stale_runs").to_pylist()
        return rows


_FINGERPRINTS = pa.schema([("article_id", pa.string()), ("fingerprint", pa.int64()), ("position", pa.int64())])


def near_duplicate_links(
    cursor: duckdb.DuckDBPyConnection, articles: Sequence[Mapping[str, Any]], sql_dir: Path
) -> dict[str, str]:
    """article_id → the article each of ``articles`` (a batch, in the order it was enriched) nearly duplicates:
    one of the table ``articles`` on ``cursor`` (those landed before) or an earlier one of the batch
    (``near_duplicates.sql``, SimHash within ``MAX_DISTANCE`` bits)."""
    from tasks.enrich.fingerprint import MAX_DISTANCE

    rows = [(a["article_id"], a.get("fingerprint"), i) for i, a in enumerate(articles)]
    rows = [r for r in rows if r[1] is not None]
    if not rows:
        return {}
    columns = ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
    cursor.register("new_fingerprints", pa.table(dict(zip(_FINGERPRINTS.names, columns, strict=True)), _FINGERPRINTS))
    try:
        sql = (sql_dir / "near_duplicates.sql").read_text(encoding="utf-8")
        return dict(cursor.execute(sql, {"max_distance": MAX_DISTANCE}).fetchall())
    finally:
        cursor.unregister("new_fingerprints")


def scan_table(
    found: Iterable[Found], unlisted: list[str] | None = None, excluded: list[str] | None = None
) -> pa.Table:
    """Discovery results as Arrow, built in chunks so a million paths stay compact; folders that could not be
    listed go to ``unlisted`` instead, and skipped ones (the warehouse) to ``excluded`` (they are not files)."""
    batches: list[pa.RecordBatch] = []
    columns: tuple[list[Any], ...] = ([], [], [], [], [], [])
    seen: set[str] = set()

    def flush() -> None:
        if columns[0]:
            batches.append(
                pa.RecordBatch.from_arrays(
                    [pa.array(c, t.type) for c, t in zip(columns, _SCAN_SCHEMA, strict=True)], schema=_SCAN_SCHEMA
                )
            )
            for column in columns:
                column.clear()

    for entry in found:
        if entry.unlisted or entry.excluded:
            folders = unlisted if entry.unlisted else excluded
            if folders is not None:
                folders.append(entry.ref.source_path)
            continue
        if entry.ref.source_path in seen:  # a symlinked path can only be reported once
            continue
        columns[0].append(entry.ref.source_path)
        columns[1].append(entry.ref.size)
        columns[2].append(entry.ref.mtime_ns)
        columns[3].append(entry.rejection.reason_code.value if entry.rejection else None)
        columns[4].append(entry.rejection.detail if entry.rejection else None)
        columns[5].append(entry.ref.etag)
        if len(columns[0]) >= _SCAN_CHUNK:
            flush()
            seen.clear()
    flush()
    return pa.Table.from_batches(batches, schema=_SCAN_SCHEMA)
