"""``wirehouse sql`` is read-only: by an allowlist over the parse tree, and by DuckDB's own settings without it.

The readers (sql, status, report, docs) never write in the warehouse outside their own output.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from flows.cli import invoke
from tasks.ops.sql_console import BadQuery, NotReadOnly, WarehouseFiles, check_read_only, console
from tasks.settings import Settings
from tasks.store.lake import Warehouse
from tests.conftest import SEED_ARTICLE

VIEWS = (
    "articles",
    "article_versions",
    "files",
    "file_status",
    "quarantine",
    "validations",
    "runs",
    "entities",
    "quotes",
    "near_duplicates",
)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, prefect_server: None) -> Warehouse:
    """A warehouse made by the real flow: one landed article, one quarantined file."""
    from flows.ingest_articles import ingest_articles

    source = tmp_path_factory.mktemp("source")
    (source / SEED_ARTICLE.name).write_bytes(SEED_ARTICLE.read_bytes())
    (source / "empty.txt").write_bytes(b"")
    root = tmp_path_factory.mktemp("readonly") / "warehouse"
    summary = ingest_articles(Settings(source=source, warehouse=root, min_age_seconds=0, workers=1))
    assert (summary.counts.landed, summary.counts.quarantined) == (1, 1)
    return Warehouse(root)


@pytest.fixture
def connection(home: Warehouse) -> Iterator[duckdb.DuckDBPyConnection]:
    opened = console(home)
    try:
        yield opened
    finally:
        opened.close()


def snapshot(root: Path, *, empty_wal_counts: bool = True) -> dict[str, object]:
    """Every path under root with its bytes' hash and mtime (links: their target).

    Not SQLite's ``-shm`` file: in WAL mode every reader marks its place there (an index in shared memory, no
    data); the catalog and its ``-wal`` are compared byte for byte. A reader that opens the catalog when no
    ``-wal`` is there creates an empty one: ``empty_wal_counts=False`` leaves such a file out (it holds nothing).
    """
    state: dict[str, object] = {}
    for path in sorted(root.rglob("*")):
        if path.name.endswith("-shm") or (
            not empty_wal_counts and path.name.endswith("-wal") and path.stat().st_size == 0
        ):
            continue
        key = str(path.relative_to(root))
        if path.is_symlink():
            state[key] = os.readlink(path)
        elif path.is_file():
            state[key] = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
        else:
            state[key] = "dir"
    return state


def changed(before: dict[str, object], after: dict[str, object]) -> set[str]:
    return {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}


# -- the statement check -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "SELECT language, count(*) FROM articles GROUP BY 1",
        "WITH a AS (SELECT 1 AS x) SELECT * FROM a",
        "FROM runs",
        "DESCRIBE articles",
        "SHOW TABLES",
        "SUMMARIZE files",
        "PRAGMA show_tables",
        "PRAGMA table_info('quarantine')",
        "EXPLAIN SELECT * FROM files",
        "EXPLAIN ANALYZE SELECT count(*) FROM articles",
        "/* a note */ SELECT 1; SELECT 2",
    ],
)
def test_read_only_statements_are_accepted_and_run(connection: duckdb.DuckDBPyConnection, query: str) -> None:
    assert connection.execute(check_read_only(connection, query)).fetchall() is not None


@pytest.mark.parametrize(
    ("query", "refused"),
    [
        ("COPY files TO '/tmp/files.parquet'", "COPY"),
        ("COPY (SELECT 1) TO 'x.csv'", "COPY"),
        ("ATTACH '/tmp/new.duckdb' (READ_WRITE)", "ATTACH"),
        ("DETACH memory", "DETACH"),
        ("SET threads = 1", "SET"),
        ("RESET enable_external_access", "RESET"),
        ("SET VARIABLE v = 1", "SET"),
        ("INSTALL httpfs", "INSTALL"),
        ("LOAD httpfs", "LOAD"),
        ("CREATE TABLE t AS SELECT 1", "CREATE"),
        ("CREATE OR REPLACE VIEW articles AS SELECT 1", "CREATE"),
        ("INSERT INTO files SELECT * FROM files", "INSERT"),
        ("DROP VIEW articles", "DROP"),
        ("EXPORT DATABASE '/tmp/export'", "EXPORT"),
        ("CHECKPOINT", "CHECKPOINT"),
        ("CALL pragma_version()", "CALL"),
        ("PRAGMA enable_profiling", "PRAGMA enable_profiling"),
        ("PRAGMA threads = 2", "PRAGMA threads"),
        ("PRAGMA import_database('/tmp')", "PRAGMA import_database"),
        ("PRAGMA table_info", "PRAGMA table_info with these arguments"),
        ("IMPORT DATABASE '/tmp'", "IMPORT"),
        ("BEGIN", "BEGIN"),
        ("EXPLAIN ANALYZE COPY (SELECT 1) TO '/tmp/y.csv'", "EXPLAIN COPY"),
        ("-- sneaky\nEXPLAIN (ANALYZE, FORMAT json) COPY (SELECT 1) TO '/tmp/y.csv'", "EXPLAIN with options"),
        ("SELECT 1; COPY (SELECT 1) TO '/tmp/z.csv'", "COPY"),
        ("UPDATE EXTENSIONS", "UPDATE"),
    ],
)
def test_statements_that_could_change_something_are_refused(
    connection: duckdb.DuckDBPyConnection, query: str, refused: str
) -> None:
    with pytest.raises(NotReadOnly, match=r"only read-only queries \(SELECT") as raised:
        check_read_only(connection, query)
    assert str(raised.value).endswith(f": {refused} is refused")


def test_an_empty_query_is_refused_and_a_typo_is_a_parser_error(connection: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(NotReadOnly, match="no SQL statement"):
        check_read_only(connection, "  ;  ")
    with pytest.raises(BadQuery, match="Parser Error"):
        check_read_only(connection, "SELEC 1")


# -- the connection: what the settings alone allow -------------------------------------------------------------------


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_is_queryable(connection: duckdb.DuckDBPyConnection, view: str) -> None:
    [(rows,)] = connection.execute(f"SELECT count(*) FROM {view}").fetchall()
    assert rows >= 0
    assert connection.execute(f"SELECT * FROM {view} LIMIT 1").description


def test_the_views_see_the_data(connection: duckdb.DuckDBPyConnection) -> None:
    assert connection.execute("SELECT count(*) FROM articles").fetchall() == [(1,)]
    assert connection.execute("SELECT reason_code FROM quarantine").fetchall() == [("empty",)]


def test_settings_alone_refuse_every_write_into_the_warehouse(home: Warehouse) -> None:
    """No statement check here: what a COPY, EXPORT, ATTACH or DuckLake call that slipped through could do.

    (``ATTACH … (TYPE sqlite)`` is the one the settings cannot stop: the statement check refuses it.)"""
    data = home.data_url.rstrip("/")
    catalog = home.catalog_path.as_posix() if home.catalog_path else ""
    kept = next(home.kept.rglob("*"))
    writes = [
        f"COPY (SELECT 1 AS a) TO '{catalog}'",
        f"COPY (SELECT 1 AS a) TO '{data}/main/files/x.parquet'",
        f"COPY (SELECT 1 AS a) TO '{kept.as_posix()}' (FORMAT csv)",
        f"EXPORT DATABASE '{data}/export'",
        f"ATTACH 'ducklake:sqlite:{catalog}' AS rw (DATA_PATH '{data}/')",
        f"ATTACH '{data}/new.duckdb' (READ_WRITE)",
        "INSERT INTO files (source_path) VALUES ('x')",
        "DELETE FROM files",
        "UPDATE article_versions SET title = 'x'",
        "DROP VIEW articles",
        "CREATE TABLE lake.evil AS SELECT 1",
        "ALTER TABLE files ADD COLUMN evil INTEGER",
        "CALL ducklake_expire_snapshots('lake', older_than => now())",
        "SELECT * FROM ducklake_delete_orphaned_files('lake', cleanup_all => true)",
        "SELECT * FROM ducklake_flush_inlined_data('lake')",
        "COPY (SELECT 1 AS a) TO '/tmp/wirehouse-escape.csv'",
    ]
    maintenance = [  # on a read-only lake these find nothing to do: the files below prove it
        "SELECT * FROM ducklake_cleanup_old_files('lake', cleanup_all => true)",
        "SELECT * FROM ducklake_merge_adjacent_files('lake')",
    ]
    before = snapshot(home.root)
    connection = console(home)
    try:
        for statement in writes:
            with pytest.raises(duckdb.Error):
                connection.execute(statement).fetchall()
        for statement in maintenance:
            with contextlib.suppress(duckdb.Error):
                connection.execute(statement).fetchall()
        assert connection.execute("SELECT count(*) FROM articles").fetchall() == [(1,)]  # still usable
    finally:
        connection.close()
    assert changed(before, snapshot(home.root)) == set()
    assert not Path("/tmp/wirehouse-escape.csv").exists()


def test_settings_alone_refuse_reads_outside_the_warehouse_data(home: Warehouse, tmp_path: Path) -> None:
    outside = tmp_path / "x.parquet"
    duckdb.sql(f"COPY (SELECT 42 AS answer) TO '{outside}'")
    data = home.data_url.rstrip("/")
    reads = [
        "SELECT * FROM read_text('/etc/hostname')",
        "SELECT * FROM read_csv('/etc/passwd')",
        f"SELECT * FROM read_parquet('{outside}')",
        f"SELECT * FROM read_text('{data}/../../../../../../etc/hostname')",
        f"SELECT * FROM read_blob('{home.kept.as_posix()}/**')",  # originals stay private
        f"SELECT * FROM read_blob('{home.catalog_path}')",
        "SELECT * FROM glob('/etc/*')",
    ]
    connection = console(home)
    try:
        for statement in reads:
            with pytest.raises(duckdb.PermissionException):
                connection.execute(statement).fetchall()
    finally:
        connection.close()


def test_the_configuration_is_locked(connection: duckdb.DuckDBPyConnection) -> None:
    for statement in [
        "SET enable_external_access = true",
        "RESET enable_external_access",
        "SET disabled_filesystems = ''",
        "SET allowed_directories = ['/']",
        "SET lock_configuration = false",
        "SET temp_directory = '/tmp/spill'",
    ]:
        with pytest.raises(duckdb.InvalidInputException, match="configuration has been locked"):
            connection.execute(statement)
    for statement in ["LOAD httpfs", "INSTALL httpfs"]:
        with pytest.raises(duckdb.PermissionException):
            connection.execute(statement)


def test_the_file_system_opens_files_for_reading_inside_its_folder_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "kept.parquet").write_bytes(b"PAR1")
    (tmp_path / "secret").write_text("outside")
    (data / "link").symlink_to(tmp_path / "secret")  # a link inside pointing out
    files = WarehouseFiles(data)
    with files.open(f"wirehouse://{data}/kept.parquet", "rb") as handle:
        assert handle.read() == b"PAR1"
    (tmp_path / "data-other").mkdir()
    (tmp_path / "data-other" / "x.parquet").write_bytes(b"PAR1")
    outside = [f"{data}/link", f"{data}/../secret", str(tmp_path / "secret"), f"{data}-other/x.parquet"]
    outside += [f"{data}/%2e%2e/secret", f"{data}/%2E%2E/data-other/x.parquet", f"{data}/..%2fsecret"]
    for path in outside:
        with pytest.raises(PermissionError):
            files.open(f"wirehouse://{path}", "rb")
    with pytest.raises(PermissionError):
        files.open(f"wirehouse://{data}/kept.parquet", "wb")
    for change in (files.mkdir, files.rm, files.touch):
        with pytest.raises(PermissionError):
            change(f"wirehouse://{data}/new")
    with pytest.raises(PermissionError):
        files.mv(f"wirehouse://{data}/kept.parquet", f"wirehouse://{data}/moved.parquet")
    assert sorted(p.name for p in data.iterdir()) == ["kept.parquet", "link"]


# -- the commands: nothing written in the warehouse --------------------------------------------------------------------


def test_sql_and_status_write_nothing_in_the_warehouse(home: Warehouse, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(home.root)
    where = ["--warehouse", str(home.root)]
    assert invoke(["sql", "SELECT count(*) AS n FROM articles", *where, "--format", "csv"]) == 0
    assert capsys.readouterr().out.split() == ["n", "1"]
    assert invoke(["sql", f"COPY files TO '{home.data_url}x.parquet'", *where]) == 2
    assert invoke(["sql", "SELECT * FROM read_text('/etc/hostname')", *where]) == 2
    assert invoke(["sql", "SELECT * FROM no_such_view", *where]) == 2
    assert invoke(["status", *where]) == 0
    out = capsys.readouterr()
    assert "articles 1" in out.out
    assert [line.split(":")[0] for line in out.err.splitlines()] == ["wirehouse"] * 3
    assert changed(before, snapshot(home.root)) == set()  # the catalog included


def test_report_and_docs_write_only_their_output(home: Warehouse, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(home.root)
    where = ["--warehouse", str(home.root)]
    assert invoke(["report", *where]) == 0
    assert invoke(["docs", "--no-open", *where]) == 0, capsys.readouterr().err
    outputs = ("report.html", "docs", "gx")  # gx/: the GE project the docs are built from
    assert {key for key in changed(before, snapshot(home.root)) if not key.startswith(outputs)} == set()
