"""The warehouse on disk: Arrow schemas, atomic batch commits, the ledger, DuckDB views.

Layout (everything under ``warehouse/``)::

    data/current -> gen-000001      relative symlink: the live generation (compaction swaps it)
    data/gen-000001/.complete       the generation is built and durable: only such a one is ever made live
    data/gen-000001/batch=<id>/     one directory per committed batch: articles, files (the ledger),
                                    quarantine, validations, runs Parquet files, any subset
    data/_staging/<id>/             a batch being written; renamed into place as the commit point
    quarantine/<sha256[:2]>/<sha>   original bytes of quarantined files
    wirehouse.duckdb                views only (no copies of data)

A batch becomes visible in one ``rename(2)`` of its directory, so readers never see half a batch,
and the ledger rows (``files.parquet``) commit together with the rows they describe.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from tasks.faults import crash_point
from tasks.store.schema import SCHEMAS

DB_FILE = "wirehouse.duckdb"
DUCKDB_STORAGE_VERSION = "v1.5.0"  # readable by the duckdb-cli 1.5 executable as well as newer clients
TABLE_FILES = ("articles", "files", "content_articles", "quarantine", "validations", "runs")
SCHEMA_BATCH = "00000000T000000000000Z-schema"  # empty files of every table: views never match nothing


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_batch_id(now: datetime) -> str:
    """Sortable by time, unique across processes."""
    return f"{now:%Y%m%dT%H%M%S%fZ}-{uuid4().hex[:8]}"


def sql_literal(value: str) -> str:
    """The one place a string becomes SQL text: single-quoted, quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


_log = logging.getLogger(__name__)


class Warehouse:
    """Paths of one warehouse folder; creating one touches nothing on disk.

    Recovery deletes only what provably never committed. A generation carries ``.complete`` once it is built
    and durable (``initialise`` writes it into the first one, ``swap_generation`` before the swap); only a
    complete generation is ever made live, and the pointer only moves forward. So a lost ``current`` points
    again at the newest complete generation, and nothing is deleted unless a valid pointer names the live one.
    """

    COMPLETE = ".complete"  # in a generation folder: built and fsynced, fit to be (or to have been) live

    def __init__(self, root: Path) -> None:
        self.root = root.absolute()
        self.data = self.root / "data"
        self.current = self.data / "current"
        self.staging = self.data / "_staging"
        self.unverified = self.data / "_unverified"  # generations set aside by a repair that had to guess
        self.kept = self.root / "quarantine"
        self.db_path = self.root / DB_FILE
        self.lock_path = self.root / ".wirehouse.lock"

    def initialise(self) -> None:
        """Create the folders, the first generation and an empty batch holding every table's schema.

        A lost ``current`` pointer is repaired first (``_live``); a new, empty generation is created only
        when there is no generation at all. The empty batch means every view's glob matches from day one
        (DuckDB refuses a view over no files).
        """
        self.staging.mkdir(parents=True, exist_ok=True)
        self.kept.mkdir(parents=True, exist_ok=True)
        live = self._live()
        if live is None:
            live = self.data / "gen-000001"
            live.mkdir(exist_ok=True)
            self._mark_complete(live)  # empty, so complete; a crash before this is repaired the same way
            self._link(live)
        if not any(live.glob("batch=*")):
            empty = {name: schema.empty_table() for name, schema in SCHEMAS.items()}
            self.commit(empty, batch_id=SCHEMA_BATCH)
        self._upgrade_schema_batch()

    def _upgrade_schema_batch(self) -> None:
        """Give the empty schema batch any columns added since it was written (a new view may need them;
        union_by_name then reads them as NULL from older files). Each file is swapped in by one rename."""
        live = self._live()
        folder = live / f"batch={SCHEMA_BATCH}" if live is not None else None
        if folder is None or not folder.is_dir():
            return
        for name, schema in SCHEMAS.items():
            path = folder / f"{name}.parquet"
            if path.exists() and pq.read_schema(path).names == schema.names:
                continue
            tmp = folder / f".{name}-{uuid4().hex[:8]}.tmp"
            pq.write_table(schema.empty_table(), tmp, compression="zstd")
            _fsync(tmp)
            os.replace(tmp, path)

    def batch_dirs(self) -> list[Path]:
        """Committed batch directories of the live generation, oldest first."""
        live = self._live()
        return sorted(live.glob("batch=*")) if live is not None else []

    def swap_generation(self, build: Callable[[Path], None]) -> Path:
        """Replace the whole live generation atomically (for compaction and re-enrichment).

        ``build`` fills a fresh generation folder (hard-link the batch files it keeps, write the ones it
        changes); once it is fsynced it is marked complete, then the ``current`` symlink is replaced in one
        rename. Readers see the old generation or the new one, never a mix. The old generation is deleted
        by the next ``recover()``, once in-flight queries are long done.
        """
        if self._live() is None:
            raise RuntimeError(f"{self.data} holds no generation: initialise the warehouse first")
        number = self._generations()[-1][0] + 1  # past any build left by a crash: that one is never reused
        generation = self.data / f"gen-{number:06d}"
        generation.mkdir()
        schema_batch = generation / f"batch={SCHEMA_BATCH}"
        schema_batch.mkdir()
        for name, schema in SCHEMAS.items():  # every view's glob must keep matching
            pq.write_table(schema.empty_table(), schema_batch / f"{name}.parquet", compression="zstd")
        build(generation)
        for path in generation.rglob("*"):
            if path.is_file():
                _fsync(path)
        for batch in generation.glob("batch=*"):
            _fsync(batch)
        self._mark_complete(generation)
        tmp_link = self.data / f".current-{uuid4().hex[:8]}"
        tmp_link.symlink_to(generation.name)
        crash_point("generation_swap")
        os.replace(tmp_link, self.current)
        _fsync(self.data)
        return generation

    def recover(self) -> list[str]:
        """Remove what never reached a commit point (a crashed or killed writer) and retired generations.

        The pointer is repaired first (``_live``); with no generation at all there is nothing to retire. The
        live generation is then named by a valid pointer, so every other one is either newer (a build the swap
        never reached: never live) or older (retired by a swap).
        """
        removed = []
        if self.staging.exists():
            for orphan in self.staging.iterdir():
                shutil.rmtree(orphan, ignore_errors=True)
                removed.append(orphan.name)
        live = self._live()
        if live is not None:
            for _, generation in self._generations():
                if generation != live:
                    shutil.rmtree(generation, ignore_errors=True)
                    removed.append(generation.name)
        for link in self.data.glob(".current-*"):
            link.unlink(missing_ok=True)
        for tmp in self.kept.glob("**/.tmp-*"):
            tmp.unlink(missing_ok=True)
            removed.append(tmp.name)
        return removed

    def commit(self, tables: Mapping[str, pa.Table], *, batch_id: str) -> Path:
        """Write tables under staging, fsync, then publish them with one directory rename."""
        live = self._live()
        if live is None:
            raise RuntimeError(f"{self.data} holds no generation: initialise the warehouse first")
        stage = self.staging / batch_id
        if stage.exists():  # a retried task: start the batch over
            shutil.rmtree(stage)
        stage.mkdir(parents=True)
        for name, table in tables.items():
            path = stage / f"{name}.parquet"
            pq.write_table(table.cast(SCHEMAS[name]), path, compression="zstd", row_group_size=64_000)
            _fsync(path)
            crash_point("parquet_write")
        _fsync(stage)
        target = live / f"batch={batch_id}"
        crash_point("before_rename")
        os.rename(stage, target)
        _fsync(target.parent)
        return target

    def _generations(self) -> list[tuple[int, Path]]:
        """Every ``gen-<number>`` folder under data, by number."""
        found = [(_generation_number(path), path) for path in self.data.glob("gen-*") if path.is_dir()]
        return sorted((number, path) for number, path in found if number >= 0)

    def _is_complete(self, generation: Path) -> bool:
        return (generation / self.COMPLETE).is_file()

    def _mark_complete(self, generation: Path) -> None:
        """Write the marker after everything in ``generation`` is durable, and make the marker durable."""
        marker = generation / self.COMPLETE
        if marker.is_file():
            return
        marker.write_text(f"{utc_now().isoformat()}\n", encoding="utf-8")
        _fsync(marker)
        _fsync(generation)

    def _link(self, generation: Path) -> None:
        """Point ``current`` at ``generation`` in one rename (relative: the folder can move)."""
        tmp_link = self.data / f".current-{uuid4().hex[:8]}"
        tmp_link.symlink_to(generation.name)
        os.replace(tmp_link, self.current)
        _fsync(self.data)

    def _pointed(self) -> Path | None:
        """The generation a valid ``current`` symlink names; None when it is missing, dangling or no symlink."""
        if not self.current.is_symlink():
            return None
        target = self.current.resolve()
        for _, generation in self._generations():
            if generation.resolve() == target:
                return generation
        return None

    def _live(self) -> Path | None:
        """The live generation, the ``current`` pointer repaired first if it was lost; None when there is none.

        Every step is one rename or one new file, so a crash between two leaves a state this repairs again:

        * a valid symlink is trusted: this code links only complete generations, older code only fully built
          ones, so a live generation without a marker (written before markers) gets one;
        * a real directory (a restore that followed the link) is marked complete, renamed to the next
          generation number and linked;
        * a missing or dangling link is pointed at the newest complete generation: a newer one was never
          complete, so never live, and any later commit went into the live one, which is still the newest
          complete one. Without any marker (written before markers), the newest generation is linked and
          the others are moved to ``data/_unverified/``, never deleted.
        """
        generations = self._generations()
        pointed = self._pointed()
        if pointed is not None:
            self._mark_complete(pointed)
            return pointed
        if self.current.is_dir() and not self.current.is_symlink():
            number = (generations[-1][0] if generations else 0) + 1
            adopted = self.data / f"gen-{number:06d}"
            self._mark_complete(self.current)
            os.rename(self.current, adopted)
            _fsync(self.data)
            self._link(adopted)
            _log.warning("%s was a directory, not a link (restored by a copy): kept as %s", self.current, adopted.name)
            return adopted
        if not generations:
            return None
        complete = [path for _, path in generations if self._is_complete(path)]
        if complete:
            chosen = complete[-1]
            _log.warning(
                "%s was missing or dangling: pointed it at %s, the newest complete generation",
                self.current,
                chosen.name,
            )
        else:
            chosen = generations[-1][1]
            others = [path for _, path in generations[:-1]]
            if others:
                self.unverified.mkdir(exist_ok=True)
                for path in others:  # before the link: next to a valid pointer they would be retired
                    os.rename(path, self.unverified / f"{path.name}-{uuid4().hex[:8]}")
                _fsync(self.data)
            _log.warning(
                "%s was missing or dangling and no generation carries a completion marker: pointed it at %s, "
                "the newest; moved %s to %s (delete them once the warehouse reads right)",
                self.current,
                chosen.name,
                ", ".join(path.name for path in others) or "nothing",
                self.unverified,
            )
        self._link(chosen)
        self._mark_complete(chosen)
        return chosen

    def keep_original(self, data: bytes) -> str:
        """Store a quarantined file's bytes by content hash (idempotent); return the path relative to root."""
        digest = hashlib.sha256(data).hexdigest()
        path = self.kept / digest[:2] / digest
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.parent / f".tmp-{uuid4().hex}"
            tmp.write_bytes(data)
            _fsync(tmp)
            crash_point("keep_original")
            os.replace(tmp, path)
        return path.relative_to(self.root).as_posix()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _generation_number(path: Path) -> int:
    """The number in ``gen-000042``; -1 for any other name."""
    digits = path.name.removeprefix("gen-")
    return int(digits) if path.name.startswith("gen-") and digits.isdigit() else -1


def render_views(sql_dir: Path, warehouse: Warehouse, *, scheme: str = "") -> str:
    """views.sql with the live data folder substituted (quoted by sql_literal); ``scheme`` (``"x://"``) prefixes it
    for readers that go through a file system of their own."""
    template = (sql_dir / "views.sql").read_text(encoding="utf-8")
    data = sql_literal(scheme + warehouse.current.as_posix())[1:-1]  # inside an existing quoted string
    return template.replace("{data}", data)


def reader(warehouse: Warehouse, sql_dir: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the warehouse views: never locks wirehouse.duckdb."""
    connection = duckdb.connect()
    connection.execute(render_views(sql_dir, warehouse)).fetchall()
    return connection


def refresh_views(warehouse: Warehouse, sql_dir: Path) -> bool:
    """(Re)create the views in wirehouse.duckdb when they are missing, stale or the folder moved.

    Returns True when the file was written. Views are globs, so new batches need no refresh.
    """
    rendered = render_views(sql_dir, warehouse)
    fingerprint = hashlib.sha256(rendered.encode()).hexdigest()
    if warehouse.db_path.exists():
        try:
            with duckdb.connect(str(warehouse.db_path), read_only=True) as connection:
                stored = connection.execute("SELECT fingerprint FROM _wirehouse").fetchone()
            if stored is not None and stored[0] == fingerprint:
                return False
        except duckdb.Error:
            pass
    with duckdb.connect(
        str(warehouse.db_path), config={"storage_compatibility_version": DUCKDB_STORAGE_VERSION}
    ) as connection:
        connection.execute("BEGIN")
        connection.execute(rendered).fetchall()
        crash_point("view_refresh")
        connection.execute(
            f"CREATE OR REPLACE VIEW _wirehouse AS SELECT {sql_literal(fingerprint)} AS fingerprint, "
            f"{sql_literal(warehouse.root.as_posix())} AS root"
        )
        connection.execute("COMMIT")
    return True


@contextmanager
def query(warehouse: Warehouse, sql_dir: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only view of the warehouse for users: in memory, so it never blocks a writer."""
    connection = reader(warehouse, sql_dir)
    try:
        yield connection
    finally:
        connection.close()
