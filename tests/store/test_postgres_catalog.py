"""The lake with its catalog on a real PostgreSQL server: what several machines share.

Each "machine" is a warehouse root of its own (lock file, quarantined originals, extension links) on this host;
they share the catalog database and one data path, as machines share a server and a bucket.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest

from tasks.settings import Settings
from tasks.store.lake import Warehouse
from tasks.store.writer import WarehouseBusy, writer
from tests.conftest import SEEDS, wait_for
from tests.store.conftest import Wirehouse

pytestmark = pytest.mark.deep  # a real PostgreSQL server: the deep step

SEED_FILES = sorted(p.relative_to(SEEDS).as_posix() for p in SEEDS.rglob("*") if p.is_file() and p.name != "README.md")


def catalog_rows(catalog: str, statement: str, *params: Any) -> list[tuple[Any, ...]]:
    """Ask the catalog's server directly (not through DuckDB): what it holds, who holds which lock."""
    with psycopg.connect(catalog, autocommit=True) as connection:
        return connection.execute(statement, params).fetchall()


def lock_holders(catalog: str) -> list[int]:
    """Backends holding an advisory lock in the catalog's database: the writer lock is one."""
    rows = catalog_rows(
        catalog,
        "SELECT l.pid FROM pg_locks AS l JOIN pg_database AS d ON d.oid = l.database "
        "WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()",
    )
    return [int(pid) for (pid,) in rows]


def lock_pollers(catalog: str, holder: int) -> list[tuple[int, Any]]:
    """Other backends whose latest statement asked for the advisory lock: writers waiting for it."""
    rows = catalog_rows(
        catalog,
        "SELECT pid, query_start FROM pg_stat_activity WHERE datname = current_database() "
        "AND query LIKE '%%pg_try_advisory_lock%%' AND pid <> %s AND pid <> pg_backend_pid()",
        holder,
    )
    return [(int(pid), started) for pid, started in rows]


def snapshots(catalog: str) -> int:
    """Commits in the catalog (0 before the first writer created its tables)."""
    [(exists,)] = catalog_rows(catalog, "SELECT to_regclass('ducklake_snapshot') IS NOT NULL")
    if not exists:
        return 0
    [(count,)] = catalog_rows(catalog, "SELECT count(*) FROM ducklake_snapshot")
    return int(count)


def assert_exactly_once(cli: Wirehouse, files: list[str]) -> None:
    """Every file has one row in ``files`` and every article one row in ``article_versions``."""
    seen = cli.rows("SELECT source_path, status, count(*) AS n FROM files GROUP BY ALL ORDER BY source_path")
    assert [row["n"] for row in seen] == [1] * len(files), [row for row in seen if row["n"] != 1]
    assert sorted(Path(row["source_path"]).name for row in seen) == sorted(Path(f).name for f in files)
    assert {row["status"] for row in seen} <= {"landed", "duplicate"}
    twice = cli.rows("SELECT article_id, count(*) AS n FROM article_versions GROUP BY 1 HAVING count(*) > 1")
    assert twice == []


def test_a_run_lands_the_seeds_in_a_postgres_catalog_and_sql_reads_them(
    tmp_path: Path, catalog: str, wirehouse: Callable[[dict[str, str]], Wirehouse]
) -> None:
    root = tmp_path / "warehouse"
    cli = wirehouse({"WIREHOUSE_CATALOG": catalog, "WIREHOUSE_WAREHOUSE": str(root), "WIREHOUSE_SOURCE": str(SEEDS)})
    out = cli("run")
    assert f"new {len(SEED_FILES)}" in out, out

    assert not (root / "catalog.sqlite").exists()  # the catalog is on the server
    [(tables,)] = catalog_rows(catalog, "SELECT count(*) FROM ducklake_table WHERE end_snapshot IS NULL")
    assert tables >= 6
    assert_exactly_once(cli, SEED_FILES)
    [counts] = cli.rows(
        "SELECT (SELECT count(*) FROM articles) AS articles, "
        "(SELECT sum(articles) FROM files WHERE status = 'landed') AS landed, "
        "(SELECT count(*) FROM quarantine) AS quarantined"
    )
    assert counts["articles"] == counts["landed"] > 0
    assert counts["quarantined"] == 0
    [run] = cli.rows("SELECT status, files_seen, new_files FROM runs")
    assert run == {"status": "completed", "files_seen": len(SEED_FILES), "new_files": len(SEED_FILES)}


def test_two_machines_at_once_take_turns_on_the_advisory_lock_and_land_each_file_once(
    tmp_path: Path, catalog: str, wirehouse: Callable[[dict[str, str]], Wirehouse]
) -> None:
    """The overlap is made, not hoped for: machine A is frozen (SIGSTOP) while the catalog's server shows it
    holding the lock; machine B starts and keeps asking for the lock, writing nothing, until A is let go."""
    source = tmp_path / "source"
    shutil.copytree(SEEDS, source)
    shared = {
        "WIREHOUSE_CATALOG": catalog,
        "WIREHOUSE_DATA_PATH": str(tmp_path / "lake-data"),
        "WIREHOUSE_SOURCE": str(source),
    }
    machine_a = wirehouse(shared | {"WIREHOUSE_WAREHOUSE": str(tmp_path / "machine-a")})
    machine_b = wirehouse(shared | {"WIREHOUSE_WAREHOUSE": str(tmp_path / "machine-b")})

    first = machine_a.popen("run")
    children = [first]
    stopped = False
    try:
        wait_for(lambda: bool(lock_holders(catalog)), "machine A holds the lock", children, 120)
        os.kill(first.pid, signal.SIGSTOP)
        stopped = True
        [holder] = lock_holders(catalog)
        before = snapshots(catalog)
        second = machine_b.popen("run")
        children.append(second)
        wait_for(lambda: bool(lock_pollers(catalog, holder)), "machine B asks for the lock", [second], 120)
        polls = set()
        waited_from = time.monotonic()
        while time.monotonic() - waited_from < 3:  # B stays blocked: alive, polling, writing nothing
            assert second.poll() is None, f"machine B exited while A held the lock: {second.communicate()}"
            assert lock_holders(catalog) == [holder]
            assert snapshots(catalog) == before, "machine B committed while A held the lock"
            polls.update(started for _, started in lock_pollers(catalog, holder))
            time.sleep(0.2)
        assert len(polls) > 3, "machine B is not polling for the lock"
        os.kill(first.pid, signal.SIGCONT)
        stopped = False
        for child in children:
            _, err = child.communicate(timeout=180)
            assert child.returncode == 0, err[-3000:]
    finally:
        if stopped:
            os.kill(first.pid, signal.SIGCONT)
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()

    runs = machine_a.rows("SELECT flow_run_id, status, new_files FROM runs ORDER BY started_at")
    assert [(r["status"], r["new_files"]) for r in runs] == [("completed", len(SEED_FILES)), ("completed", 0)]
    first_run, second_run = (f"'{run['flow_run_id']}'" for run in runs)
    [order] = machine_b.rows(
        f"SELECT (SELECT max(recorded_at) FROM run_records WHERE flow_run_id = {first_run}) "
        f"< (SELECT min(recorded_at) FROM run_records WHERE flow_run_id = {second_run}) AS serialised"
    )
    assert order["serialised"], "machine B wrote before machine A's last record"
    assert_exactly_once(machine_b, SEED_FILES)

    totals = "SELECT (SELECT count(*) FROM article_versions) AS articles, (SELECT count(*) FROM files) AS files"
    [landed] = machine_a.rows(totals)
    machine_a("run")  # a third run, from either machine: nothing new
    assert machine_b.rows(totals) == [landed]
    assert machine_b.rows("SELECT new_files FROM runs ORDER BY started_at DESC LIMIT 1") == [{"new_files": 0}]
    # Both machines wrote into the one shared data path, none into their own folder.
    assert not (tmp_path / "machine-a" / "data").exists() and not (tmp_path / "machine-b" / "data").exists()


def test_a_reader_sees_the_last_committed_snapshot_while_a_writer_transaction_is_open(
    tmp_path: Path, catalog: str, wirehouse: Callable[[dict[str, str]], Wirehouse]
) -> None:
    data = str(tmp_path / "lake-data")
    lake = Warehouse(tmp_path / "machine-a", catalog=catalog, data_path=data)
    reader = wirehouse(
        {"WIREHOUSE_CATALOG": catalog, "WIREHOUSE_DATA_PATH": data, "WIREHOUSE_WAREHOUSE": str(tmp_path / "machine-b")}
    )
    count = "SELECT count(*) AS n FROM quarantine"
    with writer(lake, Settings().sql, timeout=10) as session:
        session.connection.execute("INSERT INTO quarantine (source_path, reason_code) VALUES ('committed', 'probe')")
        committed = session.snapshot()
        with session.transaction(message="open") as cursor:
            # Past the inlining limit: Parquet files are written into the data path, not yet in any snapshot.
            cursor.execute(
                "INSERT INTO quarantine (source_path, reason_code) SELECT 'open-' || range, 'probe' FROM range(500)"
            )
            assert cursor.execute(count).fetchall() == [(501,)]
            assert list(Path(data).rglob("*.parquet")), "the open transaction wrote no data file"
            assert reader.rows(count) == [{"n": 1}]  # another process, attached read-only, does not wait
            with Warehouse(tmp_path / "machine-c", catalog=catalog, data_path=data).connect() as other:
                assert other.execute(count).fetchall() == [(1,)]
                assert other.execute("SELECT id FROM ducklake_current_snapshot('lake')").fetchall() == [(committed,)]
        assert reader.rows(count) == [{"n": 501}]


def test_the_lock_names_the_lake_not_a_path_and_a_machine_without_the_shared_data_path_is_refused(
    tmp_path: Path, catalog: str
) -> None:
    shared = tmp_path / "lake-data"
    shared.mkdir()
    mount = tmp_path / "mnt"
    mount.symlink_to(shared)  # the same storage, seen under another name on machine B
    machine_a = Warehouse(tmp_path / "machine-a", catalog=catalog, data_path=str(shared))
    machine_b = Warehouse(tmp_path / "machine-b", catalog=catalog, data_path=str(mount))
    with writer(machine_a, Settings().sql, timeout=10):
        with pytest.raises(WarehouseBusy), writer(machine_b, Settings().sql, timeout=0.5):
            pytest.fail("machine B got the lock while machine A held it")
        assert lock_holders(catalog)  # machine A's, on the server
    # A machine left on the default data path (its own warehouse/data/) would write where no other machine reads:
    # DuckLake refuses to attach it instead of redirecting the lake's data there.
    elsewhere = Warehouse(tmp_path / "machine-c", catalog=catalog)
    for read_only in (False, True):
        with pytest.raises(duckdb.Error, match="does not match existing data path"):
            elsewhere.connect(read_only=read_only).close()
