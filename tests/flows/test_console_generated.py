"""``wirehouse sql`` against every function DuckDB offers: each one off the allowlist is refused before it runs.

The cases are generated from ``duckdb_functions()`` on a connection with the console's extensions loaded
(ducklake, sqlite, postgres, httpfs), so a function an extension adds is tried the day it appears. Each hostile
call points at files in a watched folder (a SQLite database like Prefect's, with a secret in it; a Parquet file;
a folder ``IMPORT DATABASE`` would read) and the lake's own files; afterwards the lake, its catalog and the watched
folder are byte-identical and nothing was created in either.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

from flows.cli import invoke
from tasks.ops.sql_console import (
    PRAGMAS,
    TABLE_FUNCTIONS,
    VOLATILE_VALUES,
    BadQuery,
    ConsoleFailed,
    NotReadOnly,
    console,
    run,
)
from tasks.settings import Settings
from tasks.store.lake import EXTENSIONS, Warehouse
from tests.conftest import ROOT, SEEDS
from tests.flows.test_sql_readonly import snapshot
from tests.store import conftest as servers
from tests.store.conftest import S3, Wirehouse

# The servers' fixtures (PostgreSQL, moto's S3, the console script against them), shared with tests/store; the
# Prefect API children report to is tests/conftest.py's.
bucket, catalog, postgres, s3, wirehouse = (
    servers.bucket,
    servers.catalog,
    servers.postgres,
    servers.s3,
    servers.wirehouse,
)

WIREHOUSE = ROOT / ".venv" / "bin" / "wirehouse"
SEED_FILES = (SEEDS / "000_30a036b7f4c49258.txt", sorted((SEEDS / "text").glob("*.txt"))[0])
SEED_NAMES = tuple(sorted(path.name for path in SEED_FILES))


def catalogued(function_type: str) -> list[str]:
    """Functions of this type on a DuckDB with every extension the console may load."""
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"wirehouse-functions-{os.getpid()}"
    try:
        extensions = Warehouse(folder).link_extensions().parents[1]
        with duckdb.connect() as connection:
            connection.execute("SET autoinstall_known_extensions = false")
            connection.execute(f"SET extension_directory = '{extensions.as_posix()}'")
            for name in EXTENSIONS:
                connection.execute(f"LOAD {name}")
            rows = connection.execute(
                "SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type = ? ORDER BY 1",
                [function_type],
            ).fetchall()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return [name for (name,) in rows]


TABLE = catalogued("table") + catalogued("table_macro")
PRAGMA = catalogued("pragma")
with duckdb.connect() as _bare:
    _PURE = {
        name
        for (name,) in _bare.execute(
            "SELECT DISTINCT function_name FROM duckdb_functions() "
            "WHERE function_type IN ('scalar', 'aggregate') AND NOT has_side_effects"
        ).fetchall()
    }
# Scalar functions an extension adds, or DuckDB's own with side effects (macros: DuckDB does not say; left out).
SCALAR = sorted(set(catalogued("scalar") + catalogued("aggregate")) - _PURE - VOLATILE_VALUES)


def lake_state(root: Path) -> dict[str, object]:
    """:func:`snapshot`, less an empty ``-wal`` a reader creates when it opens the catalog (no data)."""
    return snapshot(root, empty_wal_counts=False)


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Files a hostile query would like: a SQLite database with a secret, a Parquet file, an export folder."""
    folder = tmp_path_factory.mktemp("watched")
    with sqlite3.connect(folder / "prefect.db") as db:
        db.execute("CREATE TABLE block_document (name TEXT, data TEXT)")
        db.execute("INSERT INTO block_document VALUES ('aws', 'secret-key')")
    db.close()
    duckdb.sql(f"COPY (SELECT 'secret' AS s) TO '{folder / 'outside.parquet'}'")
    (folder / "export").mkdir()
    (folder / "export" / "schema.sql").write_text("CREATE TABLE imported (x INTEGER);\n")
    (folder / "export" / "load.sql").write_text(f"COPY imported TO '{folder}/exfiltrated.csv';\n")
    return folder


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, prefect_server: None, watched: Path) -> Warehouse:
    """Two articles landed by the real flow and compacted into Parquet files; a link in the data folder points
    out, a sibling folder's name starts like it."""
    from flows.ingest_articles import ingest_articles

    source = tmp_path_factory.mktemp("source")
    for path in SEED_FILES:
        (source / path.name).write_bytes(path.read_bytes())
    root = tmp_path_factory.mktemp("generated") / "warehouse"
    summary = ingest_articles(Settings(source=str(source), warehouse=root, min_age_seconds=0, workers=1))
    assert summary.counts.landed == 2
    assert invoke(["compact", "--warehouse", str(root)]) == 0
    lake = Warehouse(root)
    assert lake.local_data is not None and any(lake.local_data.rglob("*.parquet"))
    (lake.local_data / "escape").symlink_to(watched)
    (root / "data-other").mkdir()
    shutil.copy(watched / "outside.parquet", root / "data-other" / "x.parquet")
    return lake


@pytest.fixture
def untouched(home: Warehouse, watched: Path) -> Iterator[None]:
    """The lake (catalog included) and the watched folder are the same after the test."""
    before = lake_state(home.root), lake_state(watched)
    yield
    assert (lake_state(home.root), lake_state(watched)) == before


@pytest.fixture
def connection(home: Warehouse) -> Iterator[duckdb.DuckDBPyConnection]:
    opened = console(home)
    try:
        yield opened
    finally:
        opened.close()


def refusals(connection: duckdb.DuckDBPyConnection, queries: dict[str, str]) -> dict[str, str]:
    """query → what happened, for each query (→ the name its refusal must say) that ``run`` did not refuse."""
    wrong = {}
    for query, name in queries.items():
        try:
            run(connection, query, timeout=30)
        except NotReadOnly as refused:
            if name not in str(refused) or "\n" in str(refused):
                wrong[query] = f"refused, but the message does not name {name}: {refused}"
        except BadQuery as error:
            if not str(error).startswith("Parser Error"):  # not SQL: nothing ran
                wrong[query] = f"ran (and failed): {error}"
        except ConsoleFailed as error:
            wrong[query] = f"ran (and failed): {error}"
        else:
            wrong[query] = "ran"
    return wrong


def hostile_calls(function: str, watched: Path, home: Warehouse) -> list[str]:
    """The function called on the watched SQLite file, the lake's catalog, in every place a SELECT may hold it."""
    call = f"{function}('{watched}/prefect.db', 'block_document')"
    lake = f"{function}('{home.catalog_path}', 'ducklake_snapshot')"
    return [
        f"SELECT * FROM {call}",
        f"WITH t AS (SELECT * FROM {lake}) SELECT * FROM t",
        f"SELECT count(*) FROM files WHERE EXISTS (SELECT 1 FROM {call})",
        f"SELECT * FROM files, LATERAL {function}(files.source_path)",
        f"DESCRIBE SELECT * FROM {call}",
        f"EXPLAIN ANALYZE SELECT * FROM {call}",
        f"SELECT 1 UNION ALL SELECT count(*) FROM lake.main.{call}",
    ]


# -- generated from duckdb_functions() ------------------------------------------------------------------------------


def test_every_table_function_off_the_allowlist_is_refused_without_running(
    connection: duckdb.DuckDBPyConnection, home: Warehouse, watched: Path, untouched: None
) -> None:
    off = [name for name in TABLE if name not in TABLE_FUNCTIONS]
    assert len(TABLE) > 100 and len(off) > 80, TABLE  # the extensions were loaded: not a vacuous pass
    assert {"sqlite_scan", "sqlite_attach", "postgres_execute", "ducklake_merge_adjacent_files"} <= set(off)
    queries = {query: name for name in off for query in hostile_calls(name, watched, home)}
    wrong = refusals(connection, queries)
    assert wrong == {}, f"{len(wrong)} of {len(queries)} calls not refused"
    assert not (watched / "exfiltrated.csv").exists()


def test_the_allowlist_names_real_table_functions_that_run(connection: duckdb.DuckDBPyConnection) -> None:
    assert set(TABLE) >= TABLE_FUNCTIONS
    for query in [
        "SELECT count(*) FROM range(3)",
        "SELECT * FROM generate_series(1, 2)",
        "SELECT count(*) FROM ducklake_snapshots('lake')",
        "SELECT count(*) FROM ducklake_table_info('lake')",
        "SELECT count(*) FROM ducklake_list_files('lake', 'files')",
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'lake'",
        "SELECT * FROM pragma_table_info('files') LIMIT 1",
    ]:
        columns, rows = run(connection, query, timeout=30)
        assert columns and rows, query


def test_every_pragma_off_the_allowlist_is_refused(
    connection: duckdb.DuckDBPyConnection, watched: Path, untouched: None
) -> None:
    assert len(PRAGMA) > 30, PRAGMA
    off = [name for name in PRAGMA if name not in PRAGMAS]
    assert {"import_database", "copy_database", "enable_profiling", "force_checkpoint"} <= set(off)
    queries = {}
    for name in off:
        queries[f"PRAGMA {name}"] = name
        queries[f"PRAGMA {name}('{watched}/export')"] = name
        queries[f"PRAGMA {name} = '{watched}/profile.json'"] = name
        queries[f"CALL {name}('{watched}/export')"] = "CALL"
    wrong = refusals(connection, queries)
    assert wrong == {}, f"{len(wrong)} of {len(queries)} pragmas not refused"
    for name in PRAGMAS:  # the allowed ones run as the SELECT they stand for
        query = f"PRAGMA {name}('files')" if "{args}" in PRAGMAS[name] else f"PRAGMA {name}"
        assert run(connection, query, timeout=30)[1], query


def test_every_scalar_function_an_extension_adds_or_with_side_effects_is_refused(
    connection: duckdb.DuckDBPyConnection, untouched: None
) -> None:
    assert {"nextval", "write_log", "setseed", "sleep_ms"} <= set(SCALAR), SCALAR
    queries = {}
    for name in SCALAR:
        queries[f"SELECT {name}('x')"] = name
        queries[f"SELECT count(*) FROM files WHERE {name}(source_path) IS NULL"] = name
    wrong = refusals(connection, queries)
    assert wrong == {}, f"{len(wrong)} of {len(queries)} calls not refused"
    assert len(SCALAR) > 10, SCALAR
    for query in [  # DuckDB's own pure functions and macros run
        "SELECT lower('A'), random() < 2, count(*) FILTER (WHERE true), nullif(1, 2), list_sum([1, 2]) FROM files",
        "SELECT json_group_object(source_path, size), split_part('a-b', '-', 1) FROM files",
    ]:
        assert run(connection, query, timeout=30)[1], query
    for query in ["SELECT pg_sleep(1)", "SELECT current_query()"]:  # macros over refused functions
        with pytest.raises(NotReadOnly, match=r"pg_sleep|current_query"):
            run(connection, query, timeout=30)


# -- names and paths ------------------------------------------------------------------------------------------------


def test_only_the_lakes_own_relations_and_ctes_in_scope(
    connection: duckdb.DuckDBPyConnection, home: Warehouse, watched: Path, untouched: None
) -> None:
    accepted = [
        "SELECT count(*) FROM articles",
        "SELECT count(*) FROM lake.files",
        "SELECT count(*) FROM lake.main.files AS f JOIN lake.main.articles USING (article_id)",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT count(*) FROM r",
        "SELECT count(*) FROM information_schema.tables",
        "FROM files PIVOT (count(*) FOR status IN ('landed'))",
    ]
    for query in accepted:
        assert run(connection, query, timeout=30)[1], query
    refused = [
        f"SELECT * FROM '{watched}/outside.parquet'",
        f"SELECT * FROM '{home.data_url}main/files/x.parquet'",
        f"DESCRIBE '{watched}/prefect.db'",
        "SELECT * FROM memory.main.files",
        "SELECT * FROM system.main.duckdb_secrets",
        "SELECT * FROM sqlite_master",
        # a CTE's name is its own only inside its query: outside, it would be a file name
        f'SELECT * FROM (WITH "{watched}/outside.parquet" AS (SELECT 1) SELECT 1), "{watched}/outside.parquet"',
        f'SHOW TABLES FROM "{watched}/prefect.db"',
    ]
    for query in refused:
        with pytest.raises(NotReadOnly):
            run(connection, query, timeout=30)


def test_the_file_system_keeps_every_path_trick_out(
    connection: duckdb.DuckDBPyConnection, home: Warehouse, watched: Path, untouched: None
) -> None:
    """Without the statement check (raw ``execute``): what layer 2 alone holds."""
    data = f"wirehouse://{home.local_data}"
    for path in [
        f"{data}/../../{watched.name}/outside.parquet",
        f"{data}/main/../../data-other/x.parquet",
        f"{data}/%2e%2e/data-other/x.parquet",
        f"{data}/%2E%2E%2Fdata-other/x.parquet",
        f"{data}/escape/outside.parquet",  # a link inside pointing out
        f"{data}-other/x.parquet",
        f"{watched}/outside.parquet",
    ]:
        with pytest.raises(duckdb.Error, match=r"outside the warehouse data folder|disabled by configuration"):
            connection.execute(f"SELECT * FROM read_parquet('{path}')").fetchall()


def test_maintenance_called_in_a_select_writes_nothing_even_unchecked(
    connection: duckdb.DuckDBPyConnection, home: Warehouse, untouched: None
) -> None:
    for query in MAINTENANCE:
        with pytest.raises(NotReadOnly, match="ducklake_"):
            run(connection, query, timeout=30)
        with contextlib.suppress(duckdb.Error):  # layer 2 alone: the read-only attach and file system
            connection.execute(query).fetchall()


MAINTENANCE = [
    "SELECT * FROM ducklake_merge_adjacent_files('lake')",
    "SELECT * FROM ducklake_flush_inlined_data('lake')",
    "SELECT * FROM ducklake_rewrite_data_files('lake')",
    "SELECT * FROM ducklake_expire_snapshots('lake', older_than => now())",
    "SELECT * FROM ducklake_cleanup_old_files('lake', cleanup_all => true)",
    "SELECT * FROM ducklake_delete_orphaned_files('lake', cleanup_all => true)",
    "SELECT * FROM ducklake_set_option('lake', 'parquet_compression', 'zstd')",
]


# -- the command, in a child process --------------------------------------------------------------------------------


def wirehouse_sql(home: Path, query: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("WIREHOUSE_", "AWS_"))}
    return subprocess.run(
        [str(WIREHOUSE), "sql", query, "--warehouse", str(home), "--format", "csv"],
        cwd=ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wirehouse: error: "), done.stderr
    assert ".py(" not in lines[0] and "Traceback" not in lines[0] and " At: " not in lines[0], lines[0]
    return lines[0]


def test_the_command_exits_2_for_a_refused_or_bad_query(home: Warehouse, watched: Path, untouched: None) -> None:
    cases = {
        f"SELECT * FROM sqlite_scan('{watched}/prefect.db', 'block_document')": "sqlite_scan",
        f"IMPORT DATABASE '{watched}/export'": "IMPORT is refused",
        "SELECT * FROM ducklake_merge_adjacent_files('lake')": "ducklake_merge_adjacent_files",
        "SELEC 1": "Parser Error",
    }
    for query, said in cases.items():
        done = wirehouse_sql(home.root, query)
        assert done.returncode == 2, (query, done.stderr)
        assert said in one_line_error(done)
        assert "secret-key" not in done.stdout
    assert not (watched / "exfiltrated.csv").exists()


def test_the_command_exits_1_for_storage_memory_and_time(home: Warehouse, tmp_path: Path) -> None:
    copy = tmp_path / "warehouse"
    shutil.copytree(home.root, copy, symlinks=True)
    for parquet in (copy / "data" / "main" / "files").glob("*.parquet"):
        parquet.unlink()
    done = wirehouse_sql(copy, "SELECT max(source_path) FROM files")
    assert done.returncode == 1, done.stderr
    assert "No such file" in one_line_error(done)

    done = wirehouse_sql(
        home.root,
        "SELECT sum(a.range * b.range) FROM range(200000) a, range(200000) b",
        WIREHOUSE_CONSOLE_TIMEOUT_SECONDS="0.5",
    )
    assert done.returncode == 1, done.stderr
    assert one_line_error(done).endswith(
        "query exceeded the console's time limit of 0.5 s (WIREHOUSE_CONSOLE_TIMEOUT_SECONDS)"
    )

    nested = "SELECT " + "(SELECT " * 40 + "1" + ")" * 40  # DuckDB plans it for hours, deaf to interrupt()
    done = wirehouse_sql(home.root, nested, WIREHOUSE_CONSOLE_TIMEOUT_SECONDS="0.5")
    assert done.returncode == 1, done.stderr
    assert one_line_error(done).endswith("time limit of 0.5 s (WIREHOUSE_CONSOLE_TIMEOUT_SECONDS)")

    done = wirehouse_sql(
        home.root,
        "SELECT count(*) FROM (SELECT range::VARCHAR || repeat('x', 40) AS s FROM range(40000000) ORDER BY s)",
    )
    assert done.returncode == 1, done.stderr
    assert "console's memory limit is" in one_line_error(done)


# -- other lakes: data on S3, catalog on PostgreSQL ------------------------------------------------------------------


def objects(s3: S3) -> dict[str, str]:
    """Every object in every bucket of the server: key → ETag."""
    client = s3.client()
    found = {}
    for listed in client.list_buckets()["Buckets"]:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=listed["Name"]):
            for item in page.get("Contents", []):
                found[f"{listed['Name']}/{item['Key']}"] = item["ETag"]
    return found


def seed_source(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    source.mkdir()
    for path in SEED_FILES:
        (source / path.name).write_bytes(path.read_bytes())
    return source


@pytest.mark.deep
def test_s3_data_paths_out_of_the_prefix_and_maintenance_reach_nothing(
    tmp_path: Path, s3: S3, bucket: str, wirehouse: Callable[[dict[str, str]], Wirehouse]
) -> None:
    import json

    root = tmp_path / "warehouse"
    secret = s3.duckdb_secret()
    cli = wirehouse(
        {
            "WIREHOUSE_WAREHOUSE": str(root),
            "WIREHOUSE_SOURCE": str(seed_source(tmp_path)),
            "WIREHOUSE_DATA_PATH": f"s3://{bucket}/lake/",
            "WIREHOUSE_DATA_S3": json.dumps(secret),
        }
    )
    cli("run")
    cli("compact")
    client = s3.client()
    other = f"{bucket}-other"[:63]
    client.create_bucket(Bucket=other)
    parquet = (tmp_path / "x.parquet").as_posix()
    duckdb.sql(f"COPY (SELECT 'secret' AS s) TO '{parquet}'")
    for target in [(bucket, "lake-other/x.parquet"), (bucket, "x.parquet"), (other, "lake/x.parquet")]:
        client.upload_file(parquet, *target)
    assert any(key.endswith(".parquet") for key in objects(s3) if key.startswith(f"{bucket}/lake/main/"))
    before, catalog_before = objects(s3), lake_state(root)

    lake = Warehouse(root, data_path=f"s3://{bucket}/lake/", s3=secret)
    connection = console(lake)
    try:
        assert run(connection, "SELECT count(*) FROM articles", timeout=60)[1] == [(2,)]  # read through s3fs
        assert run(connection, "SELECT max(source_path) FROM files", timeout=60)[1] == [(SEED_NAMES[1],)]
        for path in [
            f"s3://{bucket}/lake/../lake-other/x.parquet",
            f"s3://{bucket}/lake/%2e%2e/lake-other/x.parquet",
            f"s3://{bucket}/lake-other/x.parquet",
            f"s3://{bucket}/x.parquet",
            f"s3://{other}/lake/x.parquet",
        ]:
            with pytest.raises(NotReadOnly):
                run(connection, f"SELECT * FROM read_parquet('{path}')", timeout=60)
            with pytest.raises(duckdb.Error, match=r"outside the warehouse data folder|disabled by configuration"):
                connection.execute(f"SELECT * FROM read_parquet('{path}')").fetchall()
        add = f"SELECT * FROM ducklake_add_data_files('lake', 'files', 's3://{bucket}/lake-other/x.parquet')"
        for query in [*MAINTENANCE, add]:
            with pytest.raises(NotReadOnly, match="ducklake_"):
                run(connection, query, timeout=60)
            with contextlib.suppress(duckdb.Error):  # layer 2 alone: nothing is written into the bucket
                connection.execute(query).fetchall()
    finally:
        connection.close()
    assert objects(s3) == before
    assert lake_state(root) == catalog_before


@pytest.mark.deep
def test_a_postgres_catalog_is_out_of_reach_of_postgres_functions(
    tmp_path: Path, catalog: str, wirehouse: Callable[[dict[str, str]], Wirehouse]
) -> None:
    import psycopg

    root = tmp_path / "warehouse"
    cli = wirehouse(
        {"WIREHOUSE_WAREHOUSE": str(root), "WIREHOUSE_SOURCE": str(seed_source(tmp_path)), "WIREHOUSE_CATALOG": catalog}
    )
    cli("run")

    def snapshots() -> list[tuple[object, ...]]:
        with psycopg.connect(catalog, autocommit=True) as db:
            return db.execute("SELECT * FROM ducklake_snapshot ORDER BY snapshot_id").fetchall()

    before = snapshots()
    connection = console(Warehouse(root, catalog=catalog))
    try:
        assert run(connection, "SELECT count(*) FROM articles", timeout=60)[1] == [(2,)]
        for query in [
            f"SELECT * FROM postgres_execute('{catalog}', 'COMMIT; DELETE FROM ducklake_snapshot')",
            f"SELECT * FROM postgres_query('{catalog}', 'SELECT 1')",
            f"SELECT * FROM postgres_scan('{catalog}', 'public', 'ducklake_snapshot')",
            f"SELECT * FROM postgres_attach('{catalog}')",
            "SELECT * FROM postgres_execute('__ducklake_metadata_lake', 'COMMIT; DELETE FROM ducklake_snapshot')",
        ]:
            with pytest.raises(NotReadOnly, match="postgres_"):
                run(connection, query, timeout=60)
        done = cli.popen("sql", f"SELECT * FROM postgres_execute('{catalog}', 'COMMIT; DELETE FROM ducklake_snapshot')")
        _, err = done.communicate(timeout=120)
        assert done.returncode == 2 and "postgres_execute" in err and len(err.strip().splitlines()) == 1, err
    finally:
        connection.close()
    assert snapshots() == before
