"""The DuckLake warehouse: one transaction per commit, readers beside the writer, time travel, maintenance."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from tasks.settings import Settings
from tasks.store.lake import LAKE, Warehouse, query, sql_literal
from tasks.store.schema import SCHEMAS, table_from_rows
from tasks.store.writer import WarehouseBusy, Writer, new_batch_id, utc_now, writer

SQL = Settings().sql
VIEWS = ("articles", "article_versions", "files", "file_status", "content_articles", "quarantine")
VIEWS += ("validations", "runs", "entities", "quotes", "near_duplicates")


def ledger_rows(n: int, batch_id: str, *, prefix: str = "f") -> pa.Table:
    now = utc_now()
    rows = [
        {"source_path": f"{prefix}{i}.txt", "file_version": 1, "size": i, "status": "quarantined",
         "reason_code": "no_text", "batch_id": batch_id, "recorded_at": now}
        for i in range(n)
    ]  # fmt: skip
    return table_from_rows("files", rows)


def count(warehouse: Warehouse, statement: str) -> int:
    with query(warehouse) as connection:
        return int(connection.execute(statement).fetchall()[0][0])


def test_a_new_lake_has_every_table_and_view_and_no_rows(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    with writer(warehouse, SQL, timeout=5):
        pass
    with query(warehouse) as connection:
        for view in VIEWS:
            assert connection.execute(f"SELECT count(*) FROM {view}").fetchall() == [(0,)], view
        tables = {row[0] for row in connection.execute("SHOW TABLES").fetchall()}
    assert set(SCHEMAS) <= tables
    assert (tmp_path / "wh" / "catalog.sqlite").is_file()


def test_a_commit_is_one_snapshot_holding_every_table(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    with writer(warehouse, SQL, timeout=5) as session:
        before = session.snapshot()
        batch = new_batch_id(utc_now())
        quarantine = table_from_rows(
            "quarantine",
            [{"source_path": "f0.txt", "file_version": 1, "reason_code": "no_text", "batch_id": batch}],
        )
        after = session.commit({"files": ledger_rows(500, batch), "quarantine": quarantine}, batch_id=batch)
    assert after == before + 1
    with query(warehouse) as connection:
        [(message, changes)] = connection.execute(
            "SELECT commit_message, changes FROM ducklake_snapshots('lake') WHERE snapshot_id = ?", [after]
        ).fetchall()
    assert message == batch
    assert len(changes) >= 1
    assert count(warehouse, "SELECT count(*) FROM files") == 500
    with query(warehouse, snapshot=before) as past:
        assert past.execute("SELECT count(*) FROM files").fetchall() == [(0,)]


def test_a_failed_commit_leaves_nothing_and_its_files_are_removed(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    with writer(warehouse, SQL, timeout=5) as session:
        batch = new_batch_id(utc_now())
        bad = pa.table({"source_path": ["x"]})  # cast to the files schema fails after the first table went in
        with pytest.raises((pa.ArrowInvalid, ValueError, KeyError)):
            session.commit({"files": ledger_rows(1000, batch), "quarantine": bad}, batch_id=batch)
        assert count(warehouse, "SELECT count(*) FROM files") == 0
    assert [p for p in (tmp_path / "wh" / "data").rglob("*.parquet")] == []


KILLED_COMMIT = """
import sys
from pathlib import Path
from tasks.settings import Settings
from tasks.store.lake import Warehouse
from tasks.store.writer import writer, new_batch_id, utc_now
from tests.store.test_lake import ledger_rows
with writer(Warehouse(Path(sys.argv[1])), Settings().sql, timeout=5) as session:
    batch = new_batch_id(utc_now())
    session.commit({"files": ledger_rows(1000, batch), "content_articles": ledger_rows(0, batch)}, batch_id=batch)
"""


@pytest.mark.parametrize("point", ["parquet_write", "before_commit"])
def test_a_writer_killed_inside_the_commit_leaves_no_rows_and_the_next_session_removes_its_files(
    tmp_path: Path, point: str
) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    with writer(warehouse, SQL, timeout=5):
        pass
    env = os.environ | {"WIREHOUSE_FAULT_AT": point}
    child = subprocess.run([sys.executable, "-c", KILLED_COMMIT, str(warehouse.root)], env=env, capture_output=True)
    assert child.returncode == -9, child.stderr.decode()[-2000:]
    assert list((tmp_path / "wh" / "data").rglob("*.parquet")), "the killed commit had written its data file"
    assert count(warehouse, "SELECT count(*) FROM files") == 0
    with writer(warehouse, SQL, timeout=5):
        pass
    assert list((tmp_path / "wh" / "data").rglob("*.parquet")) == []


def test_a_reader_sees_the_last_commit_while_a_writer_transaction_is_open(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    with writer(warehouse, SQL, timeout=5) as session:
        batch = new_batch_id(utc_now())
        session.commit({"files": ledger_rows(10, batch)}, batch_id=batch)
        with session.transaction(message="open") as cursor:
            cursor.register("incoming", ledger_rows(1000, batch, prefix="g"))
            cursor.execute("INSERT INTO files BY NAME SELECT * FROM incoming")
            assert count(warehouse, "SELECT count(*) FROM files") == 10  # another process would see the same
        assert count(warehouse, "SELECT count(*) FROM files") == 1010


def test_one_writer_at_a_time(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    with writer(warehouse, SQL, timeout=5), pytest.raises(WarehouseBusy), writer(warehouse, SQL, timeout=0.2):
        pass
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with writer(warehouse, SQL, timeout=5):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(10)
    threading.Timer(0.5, release.set).start()
    with writer(warehouse, SQL, timeout=10) as session:  # waits for the first to finish
        assert release.is_set()
        assert isinstance(session, Writer)
    thread.join()


def test_a_column_added_to_a_schema_is_added_to_its_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    with writer(warehouse, SQL, timeout=5) as session:
        session.commit({"files": ledger_rows(3, "b1")}, batch_id="b1")
    grown = dict(SCHEMAS) | {"files": SCHEMAS["files"].append(pa.field("checksum_kind", pa.string()))}
    monkeypatch.setattr("tasks.store.schema.SCHEMAS", grown)
    with writer(warehouse, SQL, timeout=5):
        pass
    with query(warehouse) as connection:
        assert connection.execute("SELECT count(*), count(checksum_kind) FROM files").fetchall() == [(3, 0)]
        assert "checksum_kind" in {row[0] for row in connection.execute("DESCRIBE file_status").fetchall()}


def test_an_unchanged_session_commits_nothing(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    with writer(warehouse, SQL, timeout=5) as session:
        first = session.snapshot()
    with writer(warehouse, SQL, timeout=5) as session:
        assert session.snapshot() == first


def test_the_lake_moves_with_its_folder(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    with writer(warehouse, SQL, timeout=5) as session:
        session.commit({"files": ledger_rows(500, "b1")}, batch_id="b1")
    (tmp_path / "wh").rename(tmp_path / "moved")
    moved = Warehouse(tmp_path / "moved")
    assert count(moved, "SELECT count(*) FROM files") == 500
    with writer(moved, SQL, timeout=5) as session:
        session.commit({"files": ledger_rows(2, "b2", prefix="g")}, batch_id="b2")
    assert count(moved, "SELECT count(*) FROM file_status") == 502


def test_compaction_folds_small_commits_and_keeps_results(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    with writer(warehouse, SQL, timeout=5) as session:
        for n in range(6):
            session.commit({"files": ledger_rows(150, f"b{n}", prefix=f"{n}-")}, batch_id=f"b{n}")
        for n in range(6, 12):  # inlined: small commits stay in the catalog
            session.commit({"files": ledger_rows(3, f"b{n}", prefix=f"{n}-")}, batch_id=f"b{n}")
        assert session.compaction_debt() >= 12
        result = session.compact(keep_snapshots=timedelta(0))
        assert result.files_after < result.files_before
        assert session.compaction_debt() == result.files_after <= 1
    assert count(warehouse, "SELECT count(*) FROM file_status") == 6 * 150 + 6 * 3
    files = list((tmp_path / "wh" / "data").rglob("*.parquet"))
    assert len(files) == result.files_after  # merged-away files are deleted


def test_the_cli_reads_the_lake_with_the_attach_script(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    with writer(warehouse, SQL, timeout=5) as session:
        session.commit({"files": ledger_rows(7, "b1")}, batch_id="b1")
    cli = Path(sys.executable).with_name("duckdb")
    shown = subprocess.run(
        [
            str(cli),
            "-init",
            str(warehouse.attach_script),
            "-csv",
            "-noheader",
            "-c",
            "SELECT count(*) FROM file_status",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip().splitlines()[-1] == "7"
    refused = subprocess.run(
        [str(cli), "-init", str(warehouse.attach_script), "-c", "DELETE FROM files"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0 and "read-only" in (refused.stderr + refused.stdout).lower()
    assert count(warehouse, "SELECT count(*) FROM files") == 7


@pytest.mark.parametrize("name", ["it's", "a'; DROP TABLE files; --", "naïve ünïcode", "back\\slash"])
def test_sql_literal_quotes_hostile_names(tmp_path: Path, name: str) -> None:
    with duckdb.connect() as connection:
        assert connection.execute(f"SELECT {sql_literal(name)}").fetchall() == [(name,)]


def test_a_warehouse_in_a_folder_with_a_quote_in_its_name(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "it's a lake")
    with writer(warehouse, SQL, timeout=5) as session:
        session.commit({"files": ledger_rows(2, "b1")}, batch_id="b1")
    assert count(warehouse, f"SELECT count(*) FROM {LAKE}.files") == 2


def test_an_extension_file_duckdb_did_not_sign_is_never_loaded(tmp_path: Path) -> None:
    """Connections skip the signature check only for files this process has checked (``_signatures_checked``):
    a damaged copy where the linked file should be fails the first connection and every later one."""
    home = Warehouse(tmp_path / "warehouse")
    linked = home.link_extensions() / "ducklake.duckdb_extension"
    data = bytearray(linked.read_bytes())
    data[len(data) // 2] ^= 0xFF  # still a loadable library, no longer the one DuckDB signed
    linked.unlink()
    linked.write_bytes(bytes(data))
    for _ in range(2):
        with pytest.raises(duckdb.Error, match="signature"):
            home.connect(read_only=False).close()
