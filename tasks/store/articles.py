"""``articles``, the articles present files hold now, kept as a table by the very commits that change it.

Every commit of rows ends with :func:`refresh`, inside its transaction: the articles it touched are recomputed
from the tables they derive from (``warehouse/sql/held_articles.sql``) and replaced, so readers get the table's
speed and never a table behind its sources. What a transaction touched is read from the lake, not told by its
caller: rows it inserted carry no snapshot yet (``snapshot_id IS NULL``), and a transaction that removed any row
of a source (its row count fell short of what it had plus what it inserted) recomputes every article. No code
path that writes the sources can leave ``articles`` stale; history stays in ``article_versions``, and time
travel reads ``articles`` as any table.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

ARTICLES = "articles"
SOURCES = ("files", "article_versions", "content_articles")  # the tables `articles` is derived from


def source_rows(cursor: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows in each source table as ``cursor``'s transaction sees them (taken when it begins)."""
    return {table: _count(cursor, f"SELECT count(*) FROM {table}") for table in SOURCES}


def refresh(cursor: duckdb.DuckDBPyConnection, sql_dir: Path, rows_before: dict[str, int]) -> int:
    """Bring ``articles`` up to date with what ``cursor``'s open transaction wrote; the articles recomputed."""
    written, removed = 0, False
    for table in SOURCES:
        row = cursor.execute(f"SELECT count(*), count(*) FILTER (snapshot_id IS NULL) FROM {table}").fetchone()
        rows, new = (int(row[0]), int(row[1])) if row else (0, 0)
        written += new
        removed |= rows < rows_before[table] + new
    if removed:
        return rebuild(cursor, sql_dir)
    if not written:
        return 0
    scope = cursor.execute(_sql(sql_dir, "touched_articles")).to_arrow_table()
    return _replace(cursor, sql_dir, scope)


def rebuild(cursor: duckdb.DuckDBPyConnection, sql_dir: Path) -> int:
    """Recompute every article (a new table, a transaction that removed source rows)."""
    scope = cursor.execute(
        "SELECT article_id FROM article_versions UNION SELECT article_id FROM content_articles"
    ).to_arrow_table()
    cursor.execute(f"DELETE FROM {ARTICLES}")
    return _replace(cursor, sql_dir, scope, cleared=True)


def _replace(cursor: duckdb.DuckDBPyConnection, sql_dir: Path, scope: pa.Table, *, cleared: bool = False) -> int:
    if not scope.num_rows:
        return 0
    cursor.register("scope", scope)
    try:
        held = cursor.execute(_sql(sql_dir, "held_articles")).to_arrow_table()
        if not cleared:
            cursor.execute(f"DELETE FROM {ARTICLES} WHERE article_id IN (SELECT article_id FROM scope)")
    finally:
        cursor.unregister("scope")
    rows = _sql(sql_dir, "held_article_rows")
    # Rows this transaction wrote are read from its own data; older ones (an article another file holds now, a
    # rebuild) need the whole table, read only when there are any.
    for written_now in (True, False):
        part = held.filter(pc.equal(held["written_now"], written_now))
        if not part.num_rows:
            continue
        cursor.register("held", part)
        try:
            cursor.execute(f"INSERT INTO {ARTICLES} BY NAME {rows}", {"written_now": written_now})
        finally:
            cursor.unregister("held")
    return int(scope.num_rows)


def _count(cursor: duckdb.DuckDBPyConnection, statement: str) -> int:
    row = cursor.execute(statement).fetchone()
    return int(row[0]) if row else 0


def _sql(sql_dir: Path, name: str) -> str:
    return (sql_dir / f"{name}.sql").read_text(encoding="utf-8").strip().rstrip(";")
