"""Real servers on loopback for the lake beyond one machine: PostgreSQL (a shared catalog), moto (S3 data), and
the Prefect API every ``wirehouse`` child process reports to. One of each per session, started here, stopped here."""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tasks.offline import OFFLINE_ENV
from tests.conftest import ROOT

WIREHOUSE = ROOT / ".venv" / "bin" / "wirehouse"
PG_USER = "wirehouse"  # the superuser initdb creates; trust auth on loopback only


@dataclass(frozen=True)
class Wirehouse:
    """The ``wirehouse`` console script in child processes, with a fixed environment (no WIREHOUSE_* of ours)."""

    env: dict[str, str]

    def __call__(self, *args: str, extra: dict[str, str] | None = None, timeout: float = 180) -> str:
        done = subprocess.run(
            [str(WIREHOUSE), *args],
            cwd=ROOT,
            env=self.env | (extra or {}),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, f"wirehouse {' '.join(args)} exited {done.returncode}: {done.stderr[-3000:]}"
        return done.stdout

    def popen(self, *args: str, extra: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(WIREHOUSE), *args],
            cwd=ROOT,
            env=self.env | (extra or {}),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def rows(self, query: str, *, extra: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """``wirehouse sql --format json``: what a user reads."""
        out = self("sql", query, "--format", "json", extra=extra)
        rows: list[dict[str, Any]] = json.loads(out)
        return rows


@pytest.fixture
def wirehouse(prefect_api: str) -> Callable[[dict[str, str]], Wirehouse]:
    """``wirehouse(env)``: the CLI with these WIREHOUSE_* settings, quiet, offline, on the session's Prefect API."""
    if not WIREHOUSE.exists():
        pytest.fail(f"{WIREHOUSE} is missing: pip install -e '.[dev]' into .venv")

    def make(settings: dict[str, str]) -> Wirehouse:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WIREHOUSE_", "AWS_"))}
        env.update(
            OFFLINE_ENV,
            PREFECT_API_URL=prefect_api,
            PREFECT_LOGGING_LEVEL="WARNING",
            WIREHOUSE_MIN_AGE_SECONDS="0",
            WIREHOUSE_WORKERS="2",
        )
        return Wirehouse(env | settings)

    return make


# PostgreSQL


def _postgres_bin() -> Path | None:
    """The folder holding initdb and pg_ctl: on PATH, else Debian's /usr/lib/postgresql/<version>/bin."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return Path(os.path.realpath(initdb)).parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(folder, "initdb").exists() and Path(folder, "pg_ctl").exists():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int

    def url(self, database: str) -> str:
        return f"postgresql://{PG_USER}@{self.host}:{self.port}/{database}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL server of its own on 127.0.0.1 and a free port, in a temporary folder.

    initdb refuses to run as root: as root, the server runs as the ``postgres`` user (else ``nobody``).
    """
    folder = _postgres_bin()
    if folder is None:
        reason = "no PostgreSQL binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin"
        if os.environ.get("WIREHOUSE_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"WIREHOUSE_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(f"{reason}: apt-get install postgresql")
    run_as: dict[str, Any] = {}
    home = Path(tempfile.mkdtemp(prefix="wirehouse-pg-"))
    if os.geteuid() == 0:
        name = next((n for n in ("postgres", "nobody") if _user_exists(n)), None)
        if name is None:
            pytest.fail("running as root and neither a 'postgres' nor a 'nobody' user exists to run PostgreSQL")
        entry = pwd.getpwnam(name)
        os.chown(home, entry.pw_uid, entry.pw_gid)
        run_as = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def pg(*args: str) -> None:
        done = subprocess.run([*args], cwd=home, capture_output=True, text=True, timeout=120, **run_as)
        if done.returncode:
            log = home / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]} {tail}")

    data = home / "data"
    pg(str(folder / "initdb"), "-D", str(data), "-U", PG_USER, "--auth=trust", "-E", "UTF8", "--no-sync")
    server = None
    for _ in range(5):  # the free port may be taken between probing and binding it
        port = _free_port()
        options = f"-h 127.0.0.1 -p {port} -k {home} -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        try:
            pg(str(folder / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(home / "server.log"), "-w", "start")
        except RuntimeError:
            continue
        server = Postgres("127.0.0.1", port)
        break
    if server is None:
        shutil.rmtree(home, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {(home / 'server.log').read_text(errors='replace')[-2000:]}")
    try:
        yield server
    finally:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            pg(str(folder / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(home, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture
def catalog(postgres: Postgres, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database on the session's server for this test: the lake's catalog URL."""
    import psycopg

    name = "lake_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:50]
    with psycopg.connect(postgres.url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    yield postgres.url(name)
    with psycopg.connect(postgres.url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# S3 (moto)


@dataclass(frozen=True)
class S3:
    endpoint: str  # host:port, as DuckDB's S3 secret takes it
    key_id: str = "testing"
    secret: str = "testing"
    region: str = "us-east-1"

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}"

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=self.key_id,
            aws_secret_access_key=self.secret,
            region_name=self.region,
        )

    def duckdb_secret(self) -> dict[str, str]:
        """WIREHOUSE_DATA_S3: DuckDB's S3 secret options for this endpoint."""
        return {
            "key_id": self.key_id,
            "secret": self.secret,
            "region": self.region,
            "endpoint": self.endpoint,
            "url_style": "path",
            "use_ssl": "false",
        }


@pytest.fixture(scope="session")
def s3() -> Iterator[S3]:
    """moto's S3 server on 127.0.0.1 and a free port (as tests/sources does), in a thread of this process."""
    pytest.importorskip("moto.server")
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log per request
    server = make_server("127.0.0.1", 0, DomainDispatcherApplication(create_backend_app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield S3(f"127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def bucket(s3: S3, request: pytest.FixtureRequest) -> str:
    """An empty bucket of this test's own."""
    name = "lake-" + "".join(c if c.isalnum() else "-" for c in request.node.name.lower())[:40].strip("-")
    s3.client().create_bucket(Bucket=name)
    return name
