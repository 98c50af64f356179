"""``articles`` is a table each commit keeps: after any sequence of commits it equals what its sources derive.

The commits are generated, not chosen: ledger rows of any status at new file versions, article rows landed from
them, bundle rows (content_articles), in any mix and order, and now and then a transaction that updates or deletes
source rows. After each, the table must equal every article recomputed from scratch.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks.settings import Settings
from tasks.store.lake import Warehouse
from tasks.store.schema import table_from_rows
from tasks.store.writer import new_batch_id, run_statement, utc_now, writer
from tests.reliability.invariants import assert_articles_current

SQL = Settings().sql
PATHS = [f"p{i}.txt" for i in range(5)]
CONTENTS = [f"c{i}" for i in range(4)]
ARTICLES = [f"a{i}" for i in range(6)]
STATUSES = ["landed", "duplicate", "unchanged", "requeued", "deleted", "quarantined"]

file_row = st.tuples(st.just("file"), st.sampled_from(PATHS), st.sampled_from(STATUSES), st.sampled_from(CONTENTS))
article_row = st.tuples(
    st.just("article"), st.sampled_from(ARTICLES), st.sampled_from(PATHS), st.sampled_from(CONTENTS), st.integers(0, 1)
)
bundle_row = st.tuples(st.just("bundle"), st.sampled_from(CONTENTS), st.sampled_from(ARTICLES), st.integers(0, 1))
commit = st.lists(st.one_of(file_row, article_row, bundle_row), min_size=1, max_size=6)
removal = st.tuples(st.sampled_from(["forget_bundle", "settle_file"]), st.sampled_from(CONTENTS + PATHS))
steps = st.lists(st.one_of(commit, removal), min_size=1, max_size=8)


class Sources:
    """The rows committed so far, enough to give each new row a consistent key."""

    def __init__(self) -> None:
        self.versions: dict[str, int] = {}
        self.landed: set[tuple[str, str, int]] = set()

    def rows(self, ops: list[tuple[Any, ...]], tick: int) -> dict[str, list[dict[str, Any]]]:
        now = utc_now() + timedelta(seconds=tick)
        files: list[dict[str, Any]] = []
        versions: list[dict[str, Any]] = []
        bundles: list[dict[str, Any]] = []
        for op in ops:
            if op[0] == "file":
                _, path, status, content = op
                self.versions[path] = self.versions.get(path, 0) + 1
                sha = None if status == "deleted" else content
                files.append({"source_path": path, "file_version": self.versions[path], "status": status,
                              "content_sha256": sha, "recorded_at": now})  # fmt: skip
            elif op[0] == "article":
                _, article, path, content, record = op
                version = self.versions.get(path, 1)
                if (article, path, version) in self.landed:
                    continue
                self.landed.add((article, path, version))
                versions.append({"article_id": article, "source_path": path, "file_version": version,
                                 "content_sha256": content, "record_index": record, "language": "en",
                                 "text": f"{article} from {path}", "ingested_at": now})  # fmt: skip
            else:
                _, content, article, record = op
                bundles.append({"content_sha256": content, "article_id": article, "record_index": record})
        return {"files": files, "article_versions": versions, "content_articles": bundles}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_articles_equals_its_sources_after_any_sequence_of_commits(sequence: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        warehouse = Warehouse(Path(folder) / "wh")
        sources = Sources()
        with writer(warehouse, SQL, timeout=5) as session:
            for tick, step in enumerate(sequence):
                if isinstance(step, tuple):  # a transaction that changes rows in place
                    kind, key = step
                    with session.transaction(message=f"{kind} {key}") as cursor:
                        if kind == "forget_bundle":
                            run_statement(
                                cursor, "DELETE FROM content_articles WHERE content_sha256 = $key", {"key": key}
                            )
                        else:
                            run_statement(
                                cursor, "UPDATE files SET status = 'quarantined' WHERE source_path = $key", {"key": key}
                            )
                else:
                    rows = sources.rows(step, tick)
                    tables = {name: table_from_rows(name, found) for name, found in rows.items()}
                    session.commit(tables, batch_id=new_batch_id(utc_now()))
                assert_articles_current(warehouse.root)


def test_a_lake_whose_articles_was_a_view_gets_the_table_filled_from_its_sources(tmp_path: Path) -> None:
    """An older lake kept ``articles`` as a view: the next writer session replaces it with the table, filled."""
    warehouse = Warehouse(tmp_path / "wh")
    sources = Sources()
    ops = [("file", "p0.txt", "landed", "c0"), ("article", "a0", "p0.txt", "c0", 0),
           ("file", "p1.txt", "duplicate", "c0"), ("file", "p2.txt", "landed", "c1"),
           ("article", "a1", "p2.txt", "c1", 0)]  # fmt: skip
    with writer(warehouse, SQL, timeout=5) as session:
        rows = sources.rows(ops, 0)
        session.commit({name: table_from_rows(name, found) for name, found in rows.items()}, batch_id="b1")
        with session.transaction(message=None) as cursor:  # what an older version left: a view, no table
            cursor.execute("DROP TABLE articles")
            cursor.execute("CREATE VIEW articles AS SELECT * FROM article_versions WHERE false")
            cursor.execute("COMMENT ON VIEW runs IS 'an older views.sql'")
    with writer(warehouse, SQL, timeout=5):
        pass
    connection = warehouse.connect()
    try:
        kinds = connection.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'lake' AND table_name = 'articles'"
        ).fetchall()
        held = connection.execute("SELECT article_id, source_path FROM articles ORDER BY 1").fetchall()
    finally:
        connection.close()
    assert kinds == [("articles",)]
    assert held == [("a0", "p0.txt"), ("a1", "p2.txt")]
    assert_articles_current(warehouse.root)
