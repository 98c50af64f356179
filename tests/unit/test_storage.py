"""The on-disk warehouse: commits are atomic renames, generations swap atomically, views see both."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from tasks.settings import Settings
from tasks.store import storage
from tasks.store.schema import SCHEMAS, table_from_rows
from tasks.store.storage import SCHEMA_BATCH, Warehouse, query, refresh_views, sql_literal


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


# A lost `current` pointer (issue case 12): recovery deletes only what provably never committed.


def _commit(warehouse: Warehouse, *paths: str) -> Path:
    rows = [_files_row(path) for path in paths]
    return warehouse.commit({"files": table_from_rows("files", rows)}, batch_id=f"b-{'-'.join(paths)}")


def _relink(generation: Path) -> None:
    """Hard-link every batch into the new generation (what compaction does with large ones)."""
    old = generation.parent / "current"
    for batch in old.glob("batch=*"):
        if batch.name != f"batch={SCHEMA_BATCH}":
            (generation / batch.name).mkdir()
            for path in batch.iterdir():
                os.link(path, generation / batch.name / path.name)


def _landed(warehouse: Warehouse) -> list[str]:
    """Every ledger row readable through data/current, read straight from the Parquet files."""
    glob = sql_literal((warehouse.current / "batch=*" / "files.parquet").as_posix())
    with duckdb.connect() as connection:
        rows = connection.execute(f"SELECT source_path FROM read_parquet({glob}, union_by_name = true)").fetchall()
    return sorted(path for (path,) in rows)


@pytest.fixture
def swapped(tmp_path: Path) -> Warehouse:
    """a and b committed, then swapped into gen-000002, then c committed there; the retired gen-000001 kept."""
    warehouse = Warehouse(tmp_path / "warehouse")
    warehouse.initialise()
    _commit(warehouse, "a.txt")
    _commit(warehouse, "b.txt")
    warehouse.swap_generation(_relink)
    _commit(warehouse, "c.txt")
    return warehouse


def _still_whole(warehouse: Warehouse, live: str, *, first: str = "initialise") -> None:
    """After the next writer's steps, nothing committed is lost and a new commit lands in ``live``."""
    steps = [warehouse.initialise, warehouse.recover]
    for step in steps if first == "initialise" else steps[::-1]:
        step()
    assert warehouse.current.is_symlink() and warehouse.current.resolve().name == live
    assert _landed(warehouse) == ["a.txt", "b.txt", "c.txt"]
    assert _commit(warehouse, "d.txt").parent == warehouse.data / live
    assert _landed(warehouse) == ["a.txt", "b.txt", "c.txt", "d.txt"]
    assert [p.name for p in warehouse.data.glob("gen-*")] == [live]


@pytest.mark.parametrize("first", ["initialise", "recover"])  # the flow initialises first; compact/reenrich not
@pytest.mark.parametrize("retired_kept", [True, False])  # the last writer was the swap, or a later run recovered
@pytest.mark.parametrize("pointer", ["deleted", "dangling"])
def test_a_lost_pointer_is_repaired_to_the_newest_complete_generation(
    swapped: Warehouse, pointer: str, retired_kept: bool, first: str, caplog: pytest.LogCaptureFixture
) -> None:
    if not retired_kept:
        swapped.recover()
    swapped.current.unlink()
    if pointer == "dangling":
        swapped.current.symlink_to("gen-000009")
    _still_whole(swapped, "gen-000002", first=first)
    assert "newest complete generation" in caplog.text


@pytest.mark.parametrize("step", ["copied", "marked", "renamed"])  # a crash may stop adoption after each step
def test_a_current_copied_as_a_directory_is_adopted(swapped: Warehouse, step: str) -> None:
    swapped.recover()
    live = swapped.data / "gen-000002"
    swapped.current.unlink()
    shutil.copytree(live, swapped.current)  # `cp -r`: the link became a directory holding a copy
    if step in {"marked", "renamed"}:
        (swapped.current / Warehouse.COMPLETE).write_text("")
    if step == "renamed":
        swapped.current.rename(swapped.data / "gen-000003")
    _still_whole(swapped, "gen-000003")
    swapped.swap_generation(_relink)  # the next compaction still works
    swapped.recover()
    assert swapped.current.resolve().name == "gen-000004"
    assert _landed(swapped) == ["a.txt", "b.txt", "c.txt", "d.txt"]


class _Killed(Exception):
    pass


def _kill_at(point: str) -> Callable[[str], None]:
    def crash_point(name: str) -> None:
        if name == point:
            raise _Killed(name)

    return crash_point


@pytest.mark.parametrize("pointer", ["kept", "lost"])
def test_a_swap_killed_before_the_link_moved(swapped: Warehouse, pointer: str, monkeypatch: pytest.MonkeyPatch) -> None:
    swapped.recover()
    monkeypatch.setattr(storage, "crash_point", _kill_at("generation_swap"))
    with pytest.raises(_Killed):
        swapped.swap_generation(_relink)
    monkeypatch.undo()
    assert (swapped.data / "gen-000003" / Warehouse.COMPLETE).exists()
    if pointer == "lost":  # the complete build holds what the live generation held: either one is whole
        swapped.current.unlink()
    _still_whole(swapped, "gen-000002" if pointer == "kept" else "gen-000003")


def test_a_build_killed_halfway_is_never_linked(swapped: Warehouse) -> None:
    swapped.recover()

    def half(generation: Path) -> None:
        (generation / "batch=half").mkdir()
        raise _Killed("build")

    with pytest.raises(_Killed):
        swapped.swap_generation(half)
    assert not (swapped.data / "gen-000003" / Warehouse.COMPLETE).exists()
    swapped.current.unlink()
    _still_whole(swapped, "gen-000002")


def test_a_warehouse_from_before_the_markers_loses_nothing(swapped: Warehouse) -> None:
    for marker in swapped.data.glob(f"gen-*/{Warehouse.COMPLETE}"):
        marker.unlink()
    swapped.current.unlink()  # which generation was live cannot be proved: the newest is linked, none deleted
    swapped.initialise()
    swapped.recover()
    assert swapped.current.resolve().name == "gen-000002"
    assert _landed(swapped) == ["a.txt", "b.txt", "c.txt"]
    [aside] = swapped.unverified.iterdir()
    assert aside.name.startswith("gen-000001-") and (aside / "batch=b-a.txt" / "files.parquet").exists()


def test_initialise_marks_its_first_generation_and_survives_a_crash_before_the_link(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path)
    (warehouse.data / "gen-000001").mkdir(parents=True)  # killed after the mkdir
    warehouse.initialise()
    warehouse.recover()
    assert [p.name for p in warehouse.data.glob("gen-*")] == ["gen-000001"]
    assert (warehouse.data / "gen-000001" / Warehouse.COMPLETE).exists()
    assert os.readlink(warehouse.current) == "gen-000001"
