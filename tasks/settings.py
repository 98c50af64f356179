"""Every knob of the pipeline, read once at the entry point and passed down."""

from __future__ import annotations

import os
import re
from importlib.resources import files
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _packaged(package: str, folder: str) -> Path:
    """A data folder shipped inside the package (works from a checkout and from an installed wheel)."""
    return Path(str(files(package) / folder))


def _default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


POSTGRES_SCHEMES = ("postgres", "postgresql")
# Object stores fsspec addresses as bucket/key: the bucket is in the URL's host, and the source reads it so.
SOURCE_SCHEMES = frozenset({"file", "s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "memory"})
_SCHEME = re.compile(r"[A-Za-z][\w+.-]+:")  # "mysql:…" (a one-letter "C:" is a drive)


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


class Settings(BaseSettings):
    """Pipeline configuration; environment variables use the ``WIREHOUSE_`` prefix."""

    model_config = SettingsConfigDict(env_prefix="WIREHOUSE_", extra="ignore")

    source: str = Field("seeds", description="folder, file:// or fsspec URL (s3://bucket/prefix/) scanned recursively")
    source_credentials: SecretStr | None = Field(
        None,
        exclude=True,
        description="user:secret given inside the source URL, moved out of it: never stored, logged or sent to Prefect",
    )
    credentials_block: str | None = Field(
        None, description="name of a Prefect Secret block holding fsspec storage options (JSON); never logged"
    )
    warehouse: Path = Field(
        Path("warehouse"),
        description="the lake's home: its catalog and data by default, the lock, quarantined originals",
    )
    catalog: str | None = Field(
        None,
        description="DuckLake catalog: none for warehouse/catalog.sqlite, a .sqlite path, or PostgreSQL "
        "(postgresql://user@host/db or postgres:dbname=… host=…) shared by several machines",
    )
    catalog_password: SecretStr | None = Field(
        None,
        exclude=True,
        description="the PostgreSQL catalog's password (taken out of the catalog URL when given there; PGPASSWORD "
        "and ~/.pgpass work too): never stored, logged or sent to Prefect",
    )
    data_path: str | None = Field(
        None, description="where the lake's Parquet files go: none for warehouse/data/, or a folder or s3:// URL"
    )
    data_s3: dict[str, str] = Field(
        default_factory=dict,
        exclude=True,
        description="DuckDB S3 secret options for an s3:// data path (key_id, secret, region, endpoint, url_style, use_ssl); "
        "none: the AWS credential chain. Never stored or sent to Prefect",
    )
    snapshot_retention_days: float = Field(
        30, ge=0, description="compaction expires snapshots older than this: how far back time travel reaches"
    )
    expectations: Path = Field(
        default_factory=lambda: _packaged("tasks.quality", "expectations"),
        description="hand-written Great Expectations suites, one per table",
    )
    sql: Path = Field(
        default_factory=lambda: _packaged("tasks.store", "sql"), description="view DDL, ledger and report queries"
    )

    batch_size: int = Field(
        1000, ge=1, description="articles per committed batch: amortises task overhead, keeps memory flat"
    )
    workers: int = Field(
        default_factory=_default_workers, ge=1, description="enrichment processes (langdetect is CPU bound)"
    )
    max_file_bytes: int = Field(
        20_000_000, ge=1, description="larger files are quarantined as too_large without reading them"
    )
    max_decompressed_bytes: int = Field(50_000_000, ge=1, description="cap on gunzipped size (stops gzip bombs)")
    file_timeout_seconds: float = Field(
        30.0, gt=0, description="time budget to parse and enrich one file; a file over it is quarantined as timeout"
    )
    min_age_seconds: float = Field(
        2.0, ge=0, description="files modified more recently are still being written: defer them"
    )
    lock: Literal["wait", "skip"] = Field(
        "wait", description="what a second concurrent run does: wait for the lock or skip"
    )
    lock_timeout_seconds: float = Field(3600, ge=0, description="how long 'wait' waits before giving up")
    # `wirehouse sql` interrupts a statement running longer than this
    console_timeout_seconds: float = Field(3600.0, gt=0, description="time limit of one `wirehouse sql` query")
    fail_share: float = Field(
        0.2, ge=0, le=1, description="a suite failing on more than this share of rows fails the run"
    )
    cron: str = Field("*/15 * * * *", description="schedule of the served deployment")
    prefect_server: Literal["background", "temporary"] = Field(
        "background",
        description="without PREFECT_API_URL: start (or reuse) a local Prefect server that outlives the command, "
        "or use Prefect's temporary one for this command only",
    )
    prefect_port: int = Field(4200, ge=1, le=65535, description="loopback port of the background Prefect server")
    progress: bool = Field(False, description="show a progress bar while enriching (the CLI turns it on in a terminal)")
    runner: Literal["local", "dask"] = Field(
        "local", description="where enrichment batches run: a local process pool, or Dask workers (scale-out)"
    )
    dask_address: str | None = Field(
        None, description="scheduler of an existing Dask cluster (tcp://host:8786); none starts a LocalCluster"
    )
    compact_threshold: int = Field(
        200,
        ge=0,
        description="compact after a run once the lake holds this many data files and inlined commits (0: never)",
    )
    new_lake: bool = Field(
        False,
        description="start an empty lake although the catalog is missing and an old lake's files are there "
        "(they are kept, never deleted); without it such a run refuses to start",
    )
    commit_retry_seconds: float = Field(
        30.0, ge=0, description="how long a commit retries a transient error (a busy catalog, a dropped connection)"
    )

    @model_validator(mode="after")
    def _credentials_out_of_the_url(self) -> Settings:
        """``s3://key:secret@bucket/…`` works, but the secret travels apart from the location from here on."""
        parts = urlsplit(self.source)
        if len(parts.scheme) > 1 and parts.scheme.lower() not in SOURCE_SCHEMES:
            raise ValueError(
                f"unsupported source scheme {parts.scheme!r}: use a folder, file://, s3://, gs:// or az:// "
                "(a server reached by host name, such as ftp://, can be mounted as a folder)"
            )
        if len(parts.scheme) > 1 and "@" in parts.netloc:
            userinfo, _, host = parts.netloc.rpartition("@")
            self.source = urlunsplit(parts._replace(netloc=host))
            self.source_credentials = SecretStr(unquote(userinfo))
        return self

    @model_validator(mode="after")
    def _catalog_known_and_without_password(self) -> Settings:
        """A catalog wirehouse can open, or a usage error (never a lake created under a mistyped URL's name);
        a password given in it travels apart from it from here on."""
        if self.catalog is None:
            return self
        catalog = self.catalog.strip()
        scheme = catalog.split("://", 1)[0].lower() if "://" in catalog else ""
        if scheme in POSTGRES_SCHEMES or catalog.startswith("postgres:"):
            from psycopg import ProgrammingError, conninfo

            dsn = catalog if scheme else catalog.removeprefix("postgres:")
            try:
                params = conninfo.conninfo_to_dict(dsn)
            except ProgrammingError as error:
                raise ValueError(f"not a PostgreSQL connection string: {_first_line(error)}") from None
            password = params.pop("password", None)
            if password is not None:
                self.catalog_password = SecretStr(str(password))
            self.catalog = "postgres:" + conninfo.make_conninfo("", **params)
        elif scheme or (_SCHEME.match(catalog) and not catalog.startswith("sqlite:")):
            known = "a .sqlite path, sqlite:<path>, postgresql://… or postgres:<key=value …>"
            raise ValueError(f"unknown catalog scheme {catalog.split(':', 1)[0]!r}: use {known}")
        elif not catalog.removeprefix("sqlite:").strip():
            raise ValueError("the catalog needs a path: sqlite:<path> or a .sqlite file")
        return self

    @field_validator("source", mode="before")
    @classmethod
    def _source_as_text(cls, value: object) -> object:
        """Paths are welcome; the field is text so that URLs (s3://…) keep their double slash."""
        return str(value) if isinstance(value, Path) else value
