"""The warehouse is a DuckLake: Parquet data files, a catalog in a SQL database, one snapshot per commit.

Layout of the embedded default (everything under ``warehouse/``)::

    catalog.sqlite                  the DuckLake catalog: tables, views, snapshots, which data files hold what
    data/main/<table>/*.parquet     data files (DuckLake's own naming); small commits stay inlined in the catalog
    quarantine/<sha256[:2]>/<sha>   original bytes of quarantined files
    attach.sql                      ``duckdb -init warehouse/attach.sql``: the CLI with the lake attached read-only
    .extensions/                    the DuckDB extensions, linked from their installed Python packages

The catalog may instead live in PostgreSQL (``WIREHOUSE_CATALOG=postgresql://…``) and the data on any
DuckDB file system (``WIREHOUSE_DATA_PATH=s3://bucket/prefix/``). A SQLite catalog rather than a DuckDB file:
a DuckDB-file catalog is locked by its writer, so no reader could attach while a run writes (measured).
"""

from __future__ import annotations

import errno
import functools
import hashlib
import importlib.util
import os
import re
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import uuid4

import duckdb

from tasks.faults import crash_point
from tasks.sources.locations import is_remote

if TYPE_CHECKING:
    from tasks.settings import Settings

LAKE = "lake"  # the alias the lake is attached under, in every connection wirehouse opens
# DuckDB extension → the name LOAD expects its file under (the entry point it exports).
EXTENSIONS = {"ducklake": "ducklake", "sqlite": "sqlite_scanner", "postgres": "postgres_scanner", "httpfs": "httpfs"}
READER_MEMORY = "512MB"  # ledger and console queries stream Parquet and build small hash tables


@functools.cache
def _signatures_checked(extension_dir: Path, names: tuple[str, ...]) -> None:
    """Load ``names`` from ``extension_dir`` once with DuckDB's signature check (it raises on a file DuckDB did
    not sign). The check costs 0.1 s per extension and per connection, and a run or a test opens many
    connections, each loading the same linked files: later connections of this process skip it."""
    with duckdb.connect(config={"autoinstall_known_extensions": "false"}) as checking:
        checking.execute(f"SET extension_directory = {sql_literal(extension_dir.as_posix())}")
        for name in names:
            checking.execute(f"LOAD {name}")


def sql_literal(value: str) -> str:
    """The one place a string becomes SQL text: single-quoted, quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


_PASSWORD_PAIR = re.compile(r"password\s*=\s*(?:'[^']*'|\S+)", re.I)


def _is_postgres(catalog: str) -> bool:
    return catalog.startswith(("postgres:", "postgresql:", "postgres://", "postgresql://"))


@dataclass(frozen=True, slots=True)
class Warehouse:
    """Where one lake lives; creating one touches nothing.

    ``root`` is always a local folder (the lock, quarantined originals, the extension links, ``attach.sql``);
    ``catalog`` and ``data_path`` default to inside it.
    """

    root: Path
    catalog: str | None = None  # None: root/catalog.sqlite; else "postgresql://…", "postgres:dbname=…", a .sqlite path
    data_path: str | None = None  # None: root/data/; else a folder or s3:// (gs://, az://) URL
    s3: dict[str, str] = field(default_factory=dict)  # DuckDB S3 secret options (endpoint, url_style, use_ssl, …)
    # The PostgreSQL catalog's password: handed to DuckDB as an in-memory secret, never written anywhere.
    catalog_password: str | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root).absolute())

    @classmethod
    def of(cls, settings: Settings) -> Warehouse:
        password = settings.catalog_password.get_secret_value() if settings.catalog_password else None
        return cls(settings.warehouse, settings.catalog, settings.data_path, dict(settings.data_s3), password)

    @property
    def kept(self) -> Path:
        return self.root / "quarantine"

    @property
    def lock_path(self) -> Path:
        return self.root / ".wirehouse.lock"

    @property
    def attach_script(self) -> Path:
        return self.root / "attach.sql"

    @property
    def extension_dir(self) -> Path:
        return self.root / ".extensions"

    @property
    def catalog_path(self) -> Path | None:
        """The SQLite catalog file, when the catalog is one."""
        if self.catalog is None:
            return self.root / "catalog.sqlite"
        return None if _is_postgres(self.catalog) else Path(self.catalog.removeprefix("sqlite:")).absolute()

    @property
    def is_shared(self) -> bool:
        """The catalog is a server several machines write to: the writer lock must live there too."""
        return self.catalog is not None and _is_postgres(self.catalog)

    @property
    def data_url(self) -> str:
        if self.data_path is None:
            return (self.root / "data").as_posix() + "/"
        if is_remote(self.data_path):
            return self.data_path.rstrip("/") + "/"
        return Path(self.data_path.removeprefix("file://")).absolute().as_posix() + "/"

    @property
    def local_data(self) -> Path | None:
        return None if is_remote(self.data_url) else Path(self.data_url)

    @property
    def postgres_dsn(self) -> str | None:
        """The catalog's libpq connection string (a URL or ``key=value`` pairs)."""
        if self.catalog is None or not _is_postgres(self.catalog):
            return None
        return self.catalog if "://" in self.catalog else self.catalog.removeprefix("postgres:")

    def location(self) -> str:
        """The ``ducklake:`` URI ATTACH takes."""
        if self.postgres_dsn is not None:
            return f"ducklake:postgres:{self.postgres_dsn}"
        assert self.catalog_path is not None
        return f"ducklake:sqlite:{self.catalog_path.as_posix()}"

    def display(self) -> str:
        """The location for logs and summaries: no password, whether in a URL or a ``password=`` pair."""
        from tasks.redaction import redact

        return _PASSWORD_PAIR.sub("password=***", redact(self.location()))

    @property
    def scratch(self) -> Path:
        """Where a writer session keeps work in progress (reenrich's recomputed rows): the next session clears it."""
        return self.root / ".scratch"

    def catalog_problem(self) -> str | None:
        """Why there is no usable catalog ("missing", "empty (0 bytes)", "unreadable: …"), or None when one is there.

        A server catalog is checked for DuckLake's tables; a server that cannot be reached is left to ATTACH,
        which fails with its own error and creates nothing.
        """
        if self.postgres_dsn is not None:
            return _postgres_catalog_problem(self.postgres_dsn, self.catalog_password)
        path = self.catalog_path
        assert path is not None
        if not path.exists():
            return "missing"
        if path.stat().st_size == 0:
            return "empty (0 bytes)"
        with path.open("rb") as catalog_file:
            if catalog_file.read(16) != b"SQLite format 3\x00":
                return "unreadable (not a SQLite database)"
        try:
            with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as catalog:
                tables = {row[0] for row in catalog.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.Error:
            return None  # there, but not readable now (a full disk, a permission): ATTACH fails with the cause
        return None if "ducklake_snapshot" in tables else "not a DuckLake catalog"

    def leftovers(self) -> list[str]:
        """What a lake left under the warehouse: its data files and its quarantined originals, counted."""
        found = []
        data = self._count_data_files()
        if data:
            from tasks.redaction import redact

            found.append(f"{data} data file(s) under {redact(self.data_url)}")
        originals = sum(1 for path in self.kept.glob("*/*") if path.is_file() and not path.name.startswith("."))
        if originals:
            found.append(f"{originals} quarantined original(s) under {self.kept}")
        return found

    def _count_data_files(self) -> int:
        if self.local_data is not None:
            return sum(1 for _ in self.local_data.glob("**/*.parquet")) if self.local_data.is_dir() else 0
        self.link_extensions()
        with duckdb.connect() as connection:
            for statement in self.setup_sql():
                connection.execute(statement)
            row = connection.execute("SELECT count(*) FROM glob(?)", [self.data_url + "**/*.parquet"]).fetchone()
        return int(row[0]) if row else 0

    def prepare_catalog(self) -> None:
        """Put a SQLite catalog in WAL mode (creating the file if new): readers then never block the writer's
        COMMIT, which in SQLite's default journal mode fails with "database is locked" while any reader holds a
        read transaction (measured: a reader's open transaction failed every commit after a 5 s wait). The mode
        is stored in the file, so every later connection, the DuckDB CLI's too, uses it."""
        path = self.catalog_path
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with closing(sqlite3.connect(path, timeout=30)) as catalog:
                if catalog.execute("PRAGMA journal_mode").fetchone() != ("wal",):
                    catalog.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as error:  # SQLite says "disk I/O error" where the disk is full
            free = shutil.disk_usage(path.parent).free
            if free < 1 << 20:
                raise OSError(errno.ENOSPC, f"No space left on device: {free} bytes free for the catalog") from error
            raise
        except sqlite3.DatabaseError:
            return  # not a SQLite file: ATTACH says so in its own words, and nothing is created

    def remove_scratch(self) -> list[str]:
        """What a killed writer session left in its scratch folder (the next session holds the lock: none is live)."""
        if not self.scratch.is_dir():
            return []
        removed = [path.name for path in self.scratch.iterdir()]
        shutil.rmtree(self.scratch, ignore_errors=True)
        return removed

    def exists(self) -> bool:
        """A lake was created here (for a server catalog: assume so; attaching tells)."""
        path = self.catalog_path
        return path is None or path.exists()

    def attach_sql(
        self,
        *,
        read_only: bool,
        snapshot: int | None = None,
        inlining: int | None = None,
        alias: str = LAKE,
        data_url: str | None = None,
    ) -> str:
        """``data_url`` reads the same data files under another name (the console's read-only file system)."""
        options = [f"DATA_PATH {sql_literal(data_url or self.data_url)}"]
        # The default data folder moves with the warehouse (relative paths); never for a shared catalog, where it
        # would send each machine's writes to a folder of its own that no other machine reads.
        if (self.data_path is None and not self.is_shared) or data_url:
            options.append("OVERRIDE_DATA_PATH true")
        if inlining is not None:
            options.append(f"DATA_INLINING_ROW_LIMIT {int(inlining)}")
        if read_only:
            options.append("READ_ONLY")
        if snapshot is not None:
            options.append(f"SNAPSHOT_VERSION {int(snapshot)}")
        return f"ATTACH {sql_literal(self.location())} AS {alias} ({', '.join(options)})"

    def extensions(self) -> tuple[str, ...]:
        """The DuckDB extensions a connection to this lake loads."""
        return (
            "ducklake",
            "postgres" if self.is_shared else "sqlite",
            *(("httpfs",) if is_remote(self.data_url) else ()),
        )

    def setup_sql(self) -> list[str]:
        """Statements that make a fresh DuckDB able to attach this lake offline."""
        statements = [
            "SET autoinstall_known_extensions = false",
            "SET autoload_known_extensions = false",
            f"SET extension_directory = {sql_literal(self.extension_dir.as_posix())}",
            *(f"LOAD {name}" for name in self.extensions()),
        ]
        if self.is_shared and self.catalog_password is not None:  # libpq takes it from the unnamed secret
            password = sql_literal(self.catalog_password)
            statements.append(f"CREATE OR REPLACE SECRET __default_postgres (TYPE postgres, PASSWORD {password})")
        if is_remote(self.data_url):
            if self.s3:
                options = ", ".join(f"{key.upper()} {sql_literal(value)}" for key, value in sorted(self.s3.items()))
                statements.append(f"CREATE OR REPLACE SECRET wirehouse_s3 (TYPE s3, {options})")
            else:
                statements.append("CREATE OR REPLACE SECRET wirehouse_s3 (TYPE s3, PROVIDER credential_chain)")
        return statements

    def link_extensions(self) -> Path:
        """Lay the extension files of the installed ``duckdb-extension-*`` packages out as DuckDB looks for them.

        ``<dir>/v<version>/<platform>/<entry point>.duckdb_extension``: the Python client and the CLI then
        ``LOAD`` them by name, with no download. Links, so the folder costs nothing; rebuilt when missing.
        """
        version = f"v{duckdb.__version__}"
        with duckdb.connect() as probe:
            row = probe.execute("PRAGMA platform").fetchone()
        assert row is not None
        folder = self.extension_dir / version / str(row[0])
        for package, entry_point in EXTENSIONS.items():
            target = folder / f"{entry_point}.duckdb_extension"
            if target.exists():
                continue
            spec = importlib.util.find_spec(f"duckdb_extension_{package}")
            if spec is None or spec.origin is None:
                raise RuntimeError(f"the duckdb-extension-{package}=={duckdb.__version__} package is not installed")
            built = Path(spec.origin).parent / "extensions" / version / f"{package}.duckdb_extension"
            if not built.is_file():
                raise RuntimeError(f"{built} is missing: duckdb-extension-{package} must match duckdb {version}")
            folder.mkdir(parents=True, exist_ok=True)
            link = folder / f".{entry_point}-{uuid4().hex[:8]}"
            link.symlink_to(built)
            os.replace(link, target)
        return folder

    def connect(
        self,
        *,
        read_only: bool = True,
        snapshot: int | None = None,
        memory_limit: str | None = READER_MEMORY,
        inlining: int | None = None,
        data_url: str | None = None,
        filesystem: Any = None,
    ) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB with the lake attached as ``lake`` and selected (``USE lake``).

        Read-only connections see the last committed snapshot (or ``snapshot``) and never block a writer.
        """
        if read_only and not self.exists():
            raise FileNotFoundError(f"no warehouse at {self.root} (run `wirehouse run` first)")
        self.link_extensions()
        _signatures_checked(self.extension_dir, self.extensions())
        connection = duckdb.connect(config={"allow_unsigned_extensions": "true"})  # checked: _signatures_checked
        try:
            if filesystem is not None:  # an fsspec file system DuckDB reads the data through (``data_url``)
                connection.register_filesystem(filesystem)
            if memory_limit:
                connection.execute(f"SET memory_limit = {sql_literal(memory_limit)}")
            connection.execute("SET enable_external_file_cache = false")
            for statement in self.setup_sql():
                connection.execute(statement)
            if not read_only and self.catalog_path is not None:
                self.catalog_path.parent.mkdir(parents=True, exist_ok=True)
            if not read_only and self.local_data is not None:
                self.local_data.mkdir(parents=True, exist_ok=True)
            connection.execute(
                self.attach_sql(read_only=read_only, snapshot=snapshot, inlining=inlining, data_url=data_url)
            )
            connection.execute(f"USE {LAKE}")
        except BaseException:
            connection.close()
            raise
        return connection

    def write_attach_script(self) -> Path:
        """``attach.sql`` for the DuckDB CLI: ``.venv/bin/duckdb -init warehouse/attach.sql`` (read-only)."""
        lines = [
            "-- The wirehouse lake, read-only, for the DuckDB CLI: duckdb -init warehouse/attach.sql",
            *(
                ["-- The catalog's password is not stored: set PGPASSWORD (or use ~/.pgpass) first."]
                if self.is_shared
                else []
            ),
            *[f"{statement};" for statement in self.setup_sql() if "SECRET" not in statement],
            f"{self.attach_sql(read_only=True)};",
            f"USE {LAKE};",
        ]
        text = "\n".join(lines) + "\n"
        if not self.attach_script.exists() or self.attach_script.read_text(encoding="utf-8") != text:
            tmp = self.root / f".attach-{uuid4().hex[:8]}.tmp"
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, self.attach_script)
        return self.attach_script

    def keep_original(self, data: bytes) -> str:
        """Store a quarantined file's bytes by content hash (idempotent); return the path relative to root."""
        digest = hashlib.sha256(data).hexdigest()
        path = self.kept / digest[:2] / digest
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.parent / f".tmp-{uuid4().hex}"
            try:
                tmp.write_bytes(data)
                _fsync(tmp)
                crash_point("keep_original")
                os.replace(tmp, path)
            except BaseException:  # a kill leaves it to the next session; an error removes it at once
                tmp.unlink(missing_ok=True)
                raise
        return path.relative_to(self.root).as_posix()

    def remove_partial_originals(self) -> list[str]:
        """Temp files a killed writer left while keeping an original (never referenced by any row)."""
        removed = []
        for tmp in self.kept.glob("**/.tmp-*"):
            tmp.unlink(missing_ok=True)
            removed.append(tmp.name)
        return removed


def with_password(dsn: str, password: str | None) -> str:
    """The libpq connection string for psycopg, password included (in memory only)."""
    if password is None:
        return dsn
    from psycopg.conninfo import make_conninfo

    return make_conninfo(dsn, password=password)


def _postgres_catalog_problem(dsn: str, password: str | None) -> str | None:
    import psycopg

    try:
        with psycopg.connect(with_password(dsn, password), connect_timeout=10) as connection:
            row = connection.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'ducklake_snapshot'"
            ).fetchone()
    except psycopg.Error:
        return None  # unreachable or refused: ATTACH reports it, and nothing is created
    return None if row and row[0] else "missing (the database holds no DuckLake tables)"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def query(warehouse: Warehouse, *, snapshot: int | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The lake read-only (at ``snapshot``, else the latest): never blocks a writer, sees only committed data."""
    connection = warehouse.connect(read_only=True, snapshot=snapshot)
    try:
        yield connection
    finally:
        connection.close()
