"""A PostgreSQL catalog's password works and is never at rest: not in ``attach.sql``, not in any file under the
warehouse, not in Prefect's stored parameters, runs or logs; a catalog URL wirehouse cannot open is a usage
error that does not echo it."""

from __future__ import annotations

import secrets
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import psycopg
import pytest
from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL

from tests.conftest import ROOT
from tests.store.conftest import PG_USER, WIREHOUSE, Postgres, Wirehouse

SEEDS = ROOT / "seeds"


@pytest.fixture
def password_catalog(postgres: Postgres) -> Iterator[tuple[str, str]]:
    """A role that must give its password (scram) on loopback, and a database it owns: (URL, password)."""
    password = "pw-" + secrets.token_hex(12)
    role = "keeper_" + secrets.token_hex(4)
    admin_url = postgres.url("postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        admin.execute(f"CREATE DATABASE {role} OWNER {role}")
        [(hba,)] = admin.execute("SHOW hba_file").fetchall()
        rules = Path(hba).read_text()
        Path(hba).write_text(f"host all {role} 127.0.0.1/32 scram-sha-256\n{rules}")
        admin.execute("SELECT pg_reload_conf()")
    with pytest.raises(psycopg.OperationalError):  # the password is really asked for
        psycopg.connect(f"postgresql://{role}@{postgres.host}:{postgres.port}/{role}", connect_timeout=5).close()
    try:
        yield f"postgresql://{role}:{password}@{postgres.host}:{postgres.port}/{role}", password
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            Path(hba).write_text(rules)
            admin.execute("SELECT pg_reload_conf()")
            admin.execute(f"DROP DATABASE IF EXISTS {role} WITH (FORCE)")
            admin.execute(f"DROP ROLE IF EXISTS {role}")


def _prefect_rows() -> list[str]:
    db = Path(PREFECT_SERVER_DATABASE_CONNECTION_URL.value().split(":///", 1)[1])
    with closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)) as connection:  # never creates a file
        tables = [name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return [repr(row) for table in tables for row in connection.execute(f'SELECT * FROM "{table}"')]


@pytest.mark.deep  # a real PostgreSQL server: the deep step
def test_a_catalog_password_works_and_is_stored_nowhere(
    tmp_path: Path, password_catalog: tuple[str, str], wirehouse: Callable[[dict[str, str]], Wirehouse]
) -> None:
    url, password = password_catalog
    root = tmp_path / "warehouse"
    cli = wirehouse({"WIREHOUSE_CATALOG": url, "WIREHOUSE_WAREHOUSE": str(root), "WIREHOUSE_SOURCE": str(SEEDS)})
    out = cli("run")
    assert "landed" in out
    assert cli.rows("SELECT count(*) AS n FROM articles")[0]["n"] > 0  # `sql` reaches the catalog too
    script = (root / "attach.sql").read_text()
    assert "dbname=" in script and "PGPASSWORD" in script
    on_disk = [p for p in root.rglob("*") if p.is_file() and password.encode() in p.read_bytes()]
    assert on_disk == []
    deadline = time.monotonic() + 20
    stored = _prefect_rows()
    while time.monotonic() < deadline and not any("ingest-summary" in row for row in stored):
        time.sleep(0.5)
        stored = _prefect_rows()
    assert any("keeper_" in row for row in stored)  # the catalog's parameters are there: the search means something
    assert [row[:200] for row in stored if password in row] == []
    assert password not in out


@pytest.mark.parametrize(
    "catalog",
    [
        f"postgresql+psycopg://{PG_USER}:hunter2-secret@127.0.0.1/db",
        "mysql://root:hunter2-secret@127.0.0.1/lake",
        "sqlserver:host=x;password=hunter2-secret",
        "postgres:host=x password=hunter2-secret 'unterminated",
    ],
)
def test_an_unknown_catalog_scheme_is_a_usage_error_that_does_not_echo_the_password(
    tmp_path: Path, catalog: str
) -> None:
    done = subprocess.run(
        [str(WIREHOUSE), "run", "--source", str(SEEDS), "--warehouse", str(tmp_path / "w")],
        env={"PATH": "/usr/bin:/bin", "WIREHOUSE_CATALOG": catalog, "DO_NOT_TRACK": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wirehouse: error:"), done.stderr[-2000:]
    assert "hunter2" not in done.stderr + done.stdout
    assert not list(tmp_path.rglob("*"))  # no lake created anywhere
