"""The on-disk warehouse: commits are atomic renames, generations swap atomically, views see both."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa

from tasks.settings import Settings
from tasks.storage import SCHEMAS, Warehouse, query, refresh_views, sql_literal, table_from_rows


def _files_row(path: str, version: int = 1) -> dict[str, object]:
    return {"source_path": path, "file_version": version, "size": 1, "status": "landed", "batch_id": "b"}


def test_initialise_makes_every_view_queryable_when_empty(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path)
    warehouse.initialise()
    with query(warehouse, Settings().sql) as connection:
        for view in ("articles", "article_versions", "files", "file_status", "quarantine", "validations", "runs"):
            assert connection.execute(f"SELECT count(*) FROM {view}").fetchone() == (0,)


def test_commit_is_invisible_until_renamed_and_staging_is_recovered(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path)
    warehouse.initialise()
    (warehouse.staging / "half-written").mkdir()
    (warehouse.staging / "half-written" / "files.parquet").write_bytes(b"PAR1 garbage")
    with query(warehouse, Settings().sql) as connection:
        assert connection.execute("SELECT count(*) FROM files").fetchone() == (0,)
    assert warehouse.recover() == ["half-written"]
    warehouse.commit({"files": table_from_rows("files", [_files_row("a.txt")])}, batch_id="b1")
    with query(warehouse, Settings().sql) as connection:
        assert connection.execute("SELECT source_path FROM files").fetchall() == [("a.txt",)]


def test_swap_generation_replaces_everything_at_once(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path)
    warehouse.initialise()
    warehouse.commit({"files": table_from_rows("files", [_files_row("a.txt")])}, batch_id="b1")
    warehouse.commit({"files": table_from_rows("files", [_files_row("b.txt")])}, batch_id="b2")
    old = warehouse.current.resolve()

    def merge(generation: Path) -> None:
        merged = generation / "batch=merged"
        merged.mkdir()
        rows = [_files_row("a.txt"), _files_row("b.txt")]
        import pyarrow.parquet as pq

        pq.write_table(table_from_rows("files", rows), merged / "files.parquet")

    new = warehouse.swap_generation(merge)
    assert warehouse.current.resolve() == new != old
    assert os.readlink(warehouse.current) == new.name  # relative: the folder can move
    with query(warehouse, Settings().sql) as connection:
        assert connection.execute("SELECT count(*) FROM files").fetchone() == (2,)
    assert old.name in warehouse.recover()
    assert not old.exists()


def test_views_survive_moving_the_warehouse(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "one")
    warehouse.initialise()
    warehouse.commit({"files": table_from_rows("files", [_files_row("a.txt")])}, batch_id="b1")
    assert refresh_views(warehouse, Settings().sql) is True
    assert refresh_views(warehouse, Settings().sql) is False  # unchanged: no write
    moved = Warehouse(Path((tmp_path / "one").rename(tmp_path / "two")))
    assert refresh_views(moved, Settings().sql) is True
    import duckdb

    with duckdb.connect(str(moved.db_path), read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM files").fetchone() == (1,)


def test_sql_literal_quotes_hostile_names() -> None:
    assert sql_literal("x'); DROP VIEW articles; --") == "'x''); DROP VIEW articles; --'"


def test_schemas_round_trip_empty_tables() -> None:
    for name, schema in SCHEMAS.items():
        assert table_from_rows(name, []).schema == schema
        assert isinstance(schema, pa.Schema)
