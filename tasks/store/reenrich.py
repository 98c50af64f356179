"""Re-enrichment: recompute enrichment columns from the stored text, atomically, as ingest would.

No source file is read. Every change is one DuckLake transaction of the writer session (one snapshot): readers
see the lake before it or after it, never a mix, and an error or a kill leaves the lake as it was. The
recomputed rows wait in a scratch DuckDB (under ``warehouse/.scratch``, which the next writer session clears
if this one is killed) until all are known.

What is recomputed: the components named (``--only``), else every component whose stored version differs from
the code's (``tasks.enrich.steps.COMPONENT_VERSIONS``), plus everything computed from them (``recompute_closure``:
entities, quotes and keywords read the language; entities and quotes are one step). Each row goes through the
very step functions ingest runs (``tasks.enrich.steps.STEPS``) on the Document ingest enriched (``document_of``: text,
title and source fields as stored), so the two cannot drift apart. Only the recomputed components' versions
change in ``enricher_version``.

What a fresh ingest of the same files would then record, the transaction records:

* a row whose enrichment now raises (or that now has no letters) is quarantined as ingest quarantines it
  (``enrich_error``, ``timeout``, ``worker_crashed``, ``no_text``) and its ``content_articles`` row goes;
* every rewritten row is validated with the articles suite; a failing row moves to its batch's quarantine as
  ``expectation_failed`` (its ``content_articles`` row stays, as ingest keeps it);
* the ledger row of a file that lost articles gets its ``articles`` count, ``article_id``, status and
  ``reason_code`` as ``tasks.store.landing._settle_file_status`` settles them;
* ``near_duplicate_of`` is relinked for every article whenever fingerprints were recomputed or the set of landed
  articles changed: batch by batch in landing order (``batch_id``), each batch with
  ``warehouse/sql/near_duplicates.sql`` against the articles landed before it (and its own earlier ones, in the
  order ingest enriched them), as ``Ledger.link_near_duplicates`` links them.

A suite that cannot judge the rows, or a share of quarantined rows over ``fail_share``, refuses the whole
re-enrichment (``ReenrichRefused``) before anything is written.

Rows that a fresh ingest would land but an earlier one quarantined are not revisited (``wirehouse requeue``
reads their files again).
"""

from __future__ import annotations

import tempfile
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from tasks.enrich.fingerprint import MAX_DISTANCE
from tasks.enrich.pool import IsolatingPool
from tasks.enrich.steps import (
    COMPONENT_COLUMNS,
    COMPONENT_VERSIONS,
    STEPS,
    document_of,
    enrich_failure,
    no_letters_rejection,
    warm_worker,
)
from tasks.models import Document, FileRef, FileStatus, Reason, Rejection
from tasks.quality.suites import Validator
from tasks.store.schema import SCHEMAS, TABLES, table_from_rows
from tasks.store.writer import Writer

COMPONENTS = tuple(COMPONENT_COLUMNS)  # what --only accepts (parse needs the source bytes: not re-runnable)
# What is computed from what (tasks.enrich.steps's steps): entities, quotes and keywords read the language; entities
# and quotes are one step. Fingerprints feed near_duplicate_of, relinked whenever they change.
DEPENDENTS: dict[str, tuple[str, ...]] = {
    "language": ("entities", "quotes", "keywords"),
    "entities": ("quotes",),
    "quotes": ("entities",),
}
# The components each step of tasks.enrich.steps.STEPS writes.
STEP_COMPONENTS: dict[str, tuple[str, ...]] = {
    "language": ("language",),
    "metadata": ("metadata",),
    "entities": ("entities", "quotes"),
    "keywords": ("keywords",),
    "fingerprint": ("fingerprint",),
}
CHUNK_ROWS = 256  # stored articles per chunk a worker recomputes
VALIDATE_ROWS = 1024  # recomputed rows per articles-suite validation (GE costs ~0.1 s a call whatever the size)
RUN_ID = "reenrich"  # flow_run_id of the quarantine rows re-enrichment writes
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Output = dict[str, Any] | Rejection  # a recomputed row, or why a fresh ingest would not land it


class ReenrichRefused(RuntimeError):
    """Re-enrichment stopped before its transaction: the lake is unchanged."""


@dataclass(frozen=True, slots=True)
class ReenrichResult:
    components: tuple[str, ...]  # what was recomputed: the requested or stale components and their dependents
    articles: int  # stored rows recomputed
    rewritten_batches: int  # batches whose articles were rewritten
    settled_files: int  # ledger rows of files that lost articles, settled as ingest settles them
    seconds: float
    quarantined: int = 0  # rows a fresh ingest would not land: moved to quarantine
    relinked: bool = False  # near_duplicate_of recomputed for every article
    snapshot: int | None = None  # the snapshot re-enrichment became; the one before is ``snapshot - 1``


def parse_versions(value: str | None) -> dict[str, str]:
    """``"language=2;metadata=1"`` → ``{"language": "2", "metadata": "1"}``."""
    pairs = (part.split("=", 1) for part in (value or "").split(";") if "=" in part)
    return {name: version for name, version in pairs}


def format_versions(versions: dict[str, str]) -> str:
    order = list(COMPONENT_VERSIONS) + [name for name in versions if name not in COMPONENT_VERSIONS]
    return ";".join(f"{name}={versions[name]}" for name in order if name in versions)


def stale_components(stored_versions: Iterable[str | None]) -> tuple[str, ...]:
    """Components whose version in any stored row differs from the code's."""
    stale: set[str] = set()
    for value in set(stored_versions):
        versions = parse_versions(value)
        stale |= {name for name in COMPONENTS if versions.get(name) != COMPONENT_VERSIONS[name]}
    return tuple(name for name in COMPONENTS if name in stale)


def recompute_closure(components: Iterable[str]) -> tuple[str, ...]:
    """``components`` and everything computed from them, in ``COMPONENTS`` order."""
    wanted = set(components)
    frontier = list(wanted)
    while frontier:
        for dependent in DEPENDENTS.get(frontier.pop(), ()):
            if dependent not in wanted:
                wanted.add(dependent)
                frontier.append(dependent)
    return tuple(name for name in COMPONENTS if name in wanted)


def file_ref_of(row: dict[str, Any], now: datetime) -> FileRef:
    """The file version a stored row came from, as ingest handed it to the steps (``now`` when it has no mtime)."""
    moment: datetime = row.get("mtime") or now
    delta = moment - _EPOCH
    mtime_ns = (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
    return FileRef(row.get("source_path") or "", int(row.get("size") or 0), mtime_ns)


def source_document(row: dict[str, Any]) -> Document:
    """The Document ingest enriched; a row without ``source_fields`` (written by hand) is rebuilt from its columns."""
    if row.get("source_fields") is not None:
        return document_of(row)
    fields = {name: row[name] for name in ("site", "url", "description", "author") if row.get(name)}
    return Document(row.get("text") or "", row.get("record_index") or 0, title=row.get("title"), fields=fields)


def reenrich_rows(rows: list[dict[str, Any]], components: tuple[str, ...], now: datetime) -> list[Output]:
    """Each stored row with ``components``' steps rerun on the Document ingest enriched, or the Rejection a fresh
    ingest would give it. One step over every row before the next, as ``tasks.enrich.steps.enrich_documents`` runs;
    ``components`` must be closed under ``recompute_closure``."""
    wanted = set(components)
    steps = [(name, step) for name, step in STEPS if wanted & set(STEP_COMPONENTS[name])]
    updated = [dict(row) for row in rows]
    inputs: list[tuple[Document, FileRef] | None] = []
    failed: dict[int, Rejection] = {}
    for position, row in enumerate(updated):
        try:
            inputs.append((source_document(row), file_ref_of(row, now)))
        except Exception as error:  # a stored row that no longer rebuilds (source_fields unreadable)
            failed[position] = enrich_failure("source_fields", error, record_index=row.get("record_index") or 0)
            inputs.append(None)
    for name, step in steps:
        for position, (row, pair) in enumerate(zip(updated, inputs, strict=True)):
            if position in failed or pair is None:
                continue
            try:
                row |= step(row, *pair)
            except Exception as error:  # as in enrich_documents: that article is quarantined, not the run
                failed[position] = enrich_failure(name, error, record_index=pair[0].record_index)
    outputs: list[Output] = []
    for position, row in enumerate(updated):
        rejection = failed.get(position) or no_letters_rejection(row)
        if rejection is not None:
            outputs.append(rejection)
            continue
        versions = parse_versions(row.get("enricher_version"))
        versions |= {name: COMPONENT_VERSIONS[name] for name in components}
        row["enricher_version"] = format_versions(versions)
        outputs.append(row)
    return outputs


def _reenrich_chunk(rows: list[dict[str, Any]], *, components: tuple[str, ...], now: datetime) -> list[Output]:
    """Top-level (picklable) entry point for worker processes."""
    return reenrich_rows(rows, components, now)


def _pool_failure(row: dict[str, Any], reason: Reason, detail: str) -> Output:
    """A row whose recomputation never returned (its worker died, or it outlived a file's time budget)."""
    return Rejection(reason, detail, "enrich", row.get("record_index") or None)


FileKey = tuple[str, int, str | None]  # (source_path, file_version, batch_id): one ledger row of a landed file


def _file_key(row: dict[str, Any]) -> FileKey:
    return str(row.get("source_path")), int(row.get("file_version") or 0), row.get("batch_id")


@dataclass(frozen=True, slots=True)
class _Dropped:
    """A stored article a fresh ingest would not land, and the quarantine row it becomes (in the article's batch)."""

    key: FileKey
    article_id: str
    content_sha256: str | None
    record_index: int
    stage: str
    quarantine: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Settled:
    """A file that lost articles: its ledger row as ``tasks.store.landing._settle_file_status`` would settle it."""

    articles: int
    article_id: str | None
    status: FileStatus
    reason_code: str | None  # for a file with no reason yet (the first of its new rejections, ingest's order)


_POSITION = [("file_index", pa.int64()), ("file_row", pa.int64())]  # a recomputed row: its batch, its row there
_FINGERPRINTS = pa.schema(
    [
        ("batch_id", pa.string()),
        ("source_path", pa.string()),
        ("record_index", pa.int64()),
        ("article_id", pa.string()),
        ("fingerprint", pa.int64()),
        *_POSITION,
        ("landed", pa.bool_()),
    ]
)
_LINKS = pa.schema([*_POSITION, ("near_duplicate_of", pa.string())])
_LANDED = pa.schema([("article_id", pa.string()), ("fingerprint", pa.int64())])
_GONE = pa.schema(
    [
        ("content_sha256", pa.string()),
        ("article_id", pa.string()),
        ("record_index", pa.int32()),
        ("batch_id", pa.string()),
    ]
)
_SETTLED = pa.schema(
    [
        ("source_path", pa.string()),
        ("file_version", pa.int32()),
        ("batch_id", pa.string()),
        ("articles", pa.int32()),
        ("article_id", pa.string()),
        ("status", pa.string()),
        ("reason_code", pa.string()),
    ]
)


def _recomputed_schema() -> pa.Schema:
    """The articles schema as it is now (a column added to ``SCHEMAS`` included) and each row's position."""
    schema: pa.Schema = SCHEMAS["articles"]
    for name, kind in _POSITION:
        schema = schema.append(pa.field(name, kind))
    return schema


class _Scratch:
    """The recomputed rows and every fingerprint in a scratch DuckDB file (it spills to disk), relinked batch by
    batch, until the lake's transaction takes them."""

    def __init__(self, sql_dir: Path, folder: Path) -> None:
        self.statement = (sql_dir / "near_duplicates.sql").read_text(encoding="utf-8")
        self.connection = duckdb.connect(
            str(folder / "reenrich.duckdb"), config={"temp_directory": str(folder), "memory_limit": "512MB"}
        )
        self.schema = _recomputed_schema()
        tables = (("recomputed", self.schema), ("fingerprints", _FINGERPRINTS), ("articles", _LANDED))
        for name, schema in (*tables, ("links", _LINKS)):
            self._insert(name, schema.empty_table(), create=True)

    def close(self) -> None:
        self.connection.close()

    def _insert(self, name: str, data: pa.Table, *, create: bool = False) -> None:
        cursor = self.connection.cursor()
        try:
            cursor.register("incoming", data)
            cursor.execute(f"CREATE TABLE {name} AS FROM incoming" if create else f"INSERT INTO {name} FROM incoming")
        finally:
            cursor.close()

    def add(self, recomputed: list[dict[str, Any]], fingerprints: list[dict[str, Any]]) -> None:
        if recomputed:
            self._insert("recomputed", pa.Table.from_pylist(recomputed, schema=self.schema))
        if fingerprints:
            self._insert("fingerprints", pa.Table.from_pylist(fingerprints, schema=_FINGERPRINTS))

    def relink(self) -> None:
        """Link each batch, oldest first, as ``Ledger.link_near_duplicates`` linked it when it landed: against the
        articles landed before it and its own earlier ones, in the order ingest enriched them (by path, then
        record). A row failing validation is linked against within its batch (ingest links, then validates) but
        is not there for the batches after."""
        batches = self.connection.execute(
            "SELECT DISTINCT batch_id FROM fingerprints ORDER BY batch_id NULLS FIRST"
        ).fetchall()
        for (batch_id,) in batches:
            batch = self.connection.sql(
                "SELECT article_id, fingerprint, file_index, file_row, landed,"
                " row_number() OVER (ORDER BY source_path, record_index) - 1 AS position"
                " FROM fingerprints WHERE batch_id IS NOT DISTINCT FROM ? AND fingerprint IS NOT NULL"
                " ORDER BY position",
                params=[batch_id],
            ).to_arrow_table()
            cursor = self.connection.cursor()
            try:
                cursor.register("new_fingerprints", batch.select(["article_id", "fingerprint", "position"]))
                found = dict(cursor.execute(self.statement, {"max_distance": MAX_DISTANCE}).fetchall())
            finally:
                cursor.close()
            landed = [row for row in batch.to_pylist() if row["landed"]]
            links = [
                {"file_index": r["file_index"], "file_row": r["file_row"], "near_duplicate_of": found[r["article_id"]]}
                for r in landed
                if r["article_id"] in found
            ]
            if links:
                self._insert("links", pa.Table.from_pylist(links, schema=_LINKS))
            if landed:
                self._insert("articles", pa.Table.from_pylist(landed, schema=_LANDED))

    def rows(self, *, relinked: bool) -> pa.RecordBatchReader:
        """The recomputed rows in landing order, streamed: ``near_duplicate_of`` as relinked when ``relinked``."""
        if relinked:
            statement = (
                "SELECT r.* EXCLUDE (file_index, file_row, near_duplicate_of), l.near_duplicate_of"
                " FROM recomputed AS r LEFT JOIN links AS l USING (file_index, file_row)"
                " ORDER BY r.file_index, r.file_row"
            )
        else:
            statement = "SELECT * EXCLUDE (file_index, file_row) FROM recomputed ORDER BY file_index, file_row"
        return self.connection.execute(statement).to_arrow_reader(CHUNK_ROWS * 16)

    def row_keys(self) -> Iterator[dict[str, Any]]:
        """Which file and article each recomputed row is."""
        cursor = self.connection.cursor()
        try:
            cursor.execute("SELECT source_path, file_version, batch_id, article_id, record_index FROM recomputed")
            for batch in cursor.to_arrow_reader(65_536):
                yield from batch.to_pylist()
        finally:
            cursor.close()


def _stream(session: Writer, statement: str, parameters: list[Any], size: int) -> Iterator[list[dict[str, Any]]]:
    """The rows of ``statement`` in lists of ``size``, streamed from the lake on a cursor closed at the end (an
    open result would hold the catalog's read transaction and block the commit)."""
    cursor = session.cursor()
    try:
        buffer: list[dict[str, Any]] = []
        for batch in cursor.execute(statement, parameters).to_arrow_reader(size):
            buffer.extend(batch.to_pylist())
            while len(buffer) >= size:
                yield buffer[:size]
                buffer = buffer[size:]
        if buffer:
            yield buffer
    finally:
        cursor.close()


@dataclass
class _Rebuild:
    """One re-enrichment while it recomputes the stored rows, then while it writes them."""

    session: Writer
    components: tuple[str, ...]
    now: datetime
    validator: Validator
    pool: IsolatingPool[dict[str, Any], Output]
    ahead: int  # chunks in flight
    scratch: _Scratch
    articles: int = 0
    dropped: list[_Dropped] = field(default_factory=list)

    # Pass one: recompute, validate, stage ---------------------------------------------------------------------

    def chunks(self, batch_id: str | None) -> Iterator[tuple[list[dict[str, Any]], list[Output]]]:
        """(stored rows, their outputs) per chunk of the batch's articles, in order, a few chunks in flight: memory
        stays bounded whatever the size of the batch."""
        fn = partial(_reenrich_chunk, components=self.components, now=self.now)
        pending: deque[tuple[list[dict[str, Any]], Iterator[Output]]] = deque()
        where, parameters = ("batch_id IS NULL", []) if batch_id is None else ("batch_id = ?", [batch_id])
        statement = f"SELECT * FROM {TABLES['articles']} WHERE {where}"  # `=`: the data files' statistics prune
        for rows in _stream(self.session, statement, parameters, CHUNK_ROWS):
            pending.append((rows, self.pool.map_chunks(fn, [rows], _pool_failure)))  # starts the chunk now
            if len(pending) >= self.ahead:
                done, outputs = pending.popleft()
                yield done, list(outputs)
        while pending:
            done, outputs = pending.popleft()
            yield done, list(outputs)

    def recompute_batch(self, batch_id: str | None, file_index: int) -> None:
        written = 0
        buffer: list[tuple[dict[str, Any], Output]] = []
        for rows, outputs in self.chunks(batch_id):
            buffer.extend(zip(rows, outputs, strict=True))
            self.articles += len(rows)
            if len(buffer) >= VALIDATE_ROWS:
                written += self.land(buffer, file_index, written)
                buffer = []
        self.land(buffer, file_index, written)

    def land(self, pairs: list[tuple[dict[str, Any], Output]], file_index: int, offset: int) -> int:
        """Validate recomputed rows as ``tasks.store.landing.validate_batch`` does; stage those that pass and record
        the others as ingest would. Returns how many rows were staged."""
        rows: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for stored, output in pairs:
            if isinstance(output, Rejection):
                self.drop(stored, output)
            else:
                rows.append((stored, output))
        if not rows:
            return 0
        result = self.validator.validate("articles", table_from_rows("articles", [row for _, row in rows]))
        if result.broken:
            problems = "; ".join(result.errors + result.table_failures)
            raise ReenrichRefused(f"the articles suite cannot judge the re-enriched rows ({problems}): nothing changed")
        keep: list[dict[str, Any]] = []
        fingerprints: list[dict[str, Any]] = []
        for position, (stored, row) in enumerate(rows):
            broken = result.row_failures.get(position)
            if broken is None:
                file_row = offset + len(keep)
                fingerprints.append(_fingerprint_row(row, file_index, file_row))
                keep.append(row | {"file_index": file_index, "file_row": file_row})
                continue
            record = row.get("record_index") or None
            self.drop(stored, Rejection(Reason.EXPECTATION_FAILED, "; ".join(broken), "validate", record))
            fingerprints.append(_fingerprint_row(row, -1, -1))
        self.scratch.add(keep, fingerprints)
        return len(keep)

    def drop(self, stored: dict[str, Any], rejection: Rejection) -> None:
        sha = stored.get("content_sha256")
        warehouse = self.session.warehouse
        kept = warehouse.kept / sha[:2] / sha if sha else None
        key = _file_key(stored)
        quarantine = {
            "source_path": key[0],
            "file_version": key[1],
            "record_index": rejection.record_index,
            "reason_code": rejection.reason_code.value,
            "reason_detail": rejection.detail,
            "stage": rejection.stage,
            "content_sha256": sha,
            # ingest keeps the bytes of a file it quarantines; re-enrichment reads none, so only names kept ones
            "kept_as": kept.relative_to(warehouse.root).as_posix() if kept and kept.exists() else None,
            "flow_run_id": RUN_ID,
            "batch_id": key[2],
            "quarantined_at": self.now,
        }
        article_id, record_index = str(stored.get("article_id")), int(stored.get("record_index") or 0)
        self.dropped.append(_Dropped(key, article_id, sha, record_index, rejection.stage, quarantine))

    # Pass two: what the dropped rows change in the other tables, then one transaction ------------------------

    def write(self, cursor: duckdb.DuckDBPyConnection, *, relinked: bool, settled: dict[FileKey, _Settled]) -> int:
        """Replace every stored article by its recomputed row and record what the dropped ones change, on
        ``cursor`` (inside the session's transaction). Returns how many ledger rows were settled."""
        cursor.execute(f"DELETE FROM {TABLES['articles']}")  # every row was read: each is replaced or dropped
        _insert(cursor, "articles", self.scratch.rows(relinked=relinked))
        gone = [
            {"content_sha256": d.content_sha256, "article_id": d.article_id, "record_index": d.record_index}
            | {"batch_id": d.key[2]}
            for d in self.dropped
            if d.stage != "validate"
        ]
        if gone:  # ingest never records the content_articles of an article whose enrichment fails
            cursor.register("gone", pa.Table.from_pylist(gone, schema=_GONE))
            cursor.execute(
                f"DELETE FROM {TABLES['content_articles']} AS c USING gone AS g"
                " WHERE c.content_sha256 IS NOT DISTINCT FROM g.content_sha256 AND c.article_id = g.article_id"
                " AND coalesce(c.record_index, 0) = g.record_index AND c.batch_id IS NOT DISTINCT FROM g.batch_id"
            )
            cursor.unregister("gone")
        if self.dropped:
            quarantine = table_from_rows("quarantine", [d.quarantine for d in self.dropped])
            _insert(cursor, "quarantine", quarantine.to_reader())
        if not settled:
            return 0
        rows = [
            {"source_path": key[0], "file_version": key[1], "batch_id": key[2], "articles": new.articles}
            | {"article_id": new.article_id, "status": new.status.value, "reason_code": new.reason_code}
            for key, new in settled.items()
        ]
        cursor.register("settled", pa.Table.from_pylist(rows, schema=_SETTLED))
        files = TABLES["files"]
        changed = cursor.execute(
            f"UPDATE {files} SET articles = s.articles, article_id = s.article_id, status = s.status,"
            f" reason_code = coalesce({files}.reason_code, s.reason_code) FROM settled AS s"
            f" WHERE {files}.source_path = s.source_path AND coalesce({files}.file_version, 0) = s.file_version"
            f" AND {files}.batch_id IS NOT DISTINCT FROM s.batch_id AND {files}.status = ?",
            [FileStatus.LANDED.value],
        ).fetchall()
        cursor.unregister("settled")
        return int(changed[0][0]) if changed else 0

    def settle_files(self) -> dict[FileKey, _Settled]:
        """The ledger rows of files that lost articles, settled as a fresh ingest settles them."""
        drops: dict[FileKey, list[_Dropped]] = {}
        for dropped in self.dropped:
            drops.setdefault(dropped.key, []).append(dropped)
        # What each such file's bytes yield (content_articles): its own articles and those landed from elsewhere.
        contents = {(d.content_sha256, d.key[2]) for d in self.dropped}
        yields: dict[tuple[str | None, str | None], list[tuple[int, str]]] = {}
        statement = f"SELECT content_sha256, article_id, record_index, batch_id FROM {TABLES['content_articles']}"
        for rows in _stream(self.session, statement, [], 65_536):
            for row in rows:
                content = (row.get("content_sha256"), row.get("batch_id"))
                if content in contents:
                    yields.setdefault(content, []).append((row.get("record_index") or 0, str(row["article_id"])))
        lost_ids = {key: {d.article_id for d in lost} for key, lost in drops.items()}
        maybe_elsewhere = {
            article_id
            for key, lost in drops.items()
            for _, article_id in yields.get((lost[0].content_sha256, key[2]), [])
            if article_id not in lost_ids[key]
        }
        alive: dict[FileKey, list[tuple[int, str]]] = {key: [] for key in drops}
        landed_from: dict[str, set[FileKey]] = {}
        for row in self.scratch.row_keys():
            key, article_id = _file_key(row), str(row.get("article_id"))
            if key in alive:
                alive[key].append((row.get("record_index") or 0, article_id))
            if article_id in maybe_elsewhere:
                landed_from.setdefault(article_id, set()).add(key)
        settled: dict[FileKey, _Settled] = {}
        for key, lost in drops.items():
            survivors = sorted(alive[key])
            elsewhere = sorted(
                (record_index, article_id)
                for record_index, article_id in yields.get((lost[0].content_sha256, key[2]), [])
                if article_id not in lost_ids[key] and landed_from.get(article_id, set()) - {key}
            )
            status, first = FileStatus.QUARANTINED, None
            if survivors:
                status, first = FileStatus.LANDED, survivors[0][1]
            elif elsewhere:
                status, first = FileStatus.DUPLICATE, elsewhere[0][1]
            # ingest records a file's first enrichment rejection, and for a file left with nothing its first
            # quarantine row (enrichment rejections come before validation failures)
            enriching = sorted((d for d in lost if d.stage != "validate"), key=lambda d: d.record_index)
            reason = enriching[0].quarantine["reason_code"] if enriching else None
            if reason is None and status is FileStatus.QUARANTINED:
                reason = Reason.EXPECTATION_FAILED.value
            settled[key] = _Settled(len(survivors), first, status, reason)
        return settled


def _insert(cursor: duckdb.DuckDBPyConnection, name: str, rows: pa.RecordBatchReader) -> None:
    """Stream ``rows`` into the lake table of schema ``name``."""
    cursor.register("incoming", rows)
    try:
        cursor.execute(f"INSERT INTO {TABLES[name]} BY NAME SELECT * FROM incoming")
    finally:
        cursor.unregister("incoming")


def _refusal(dropped: list[_Dropped], articles: int, fail_share: float) -> str:
    reasons = sorted({f"{d.quarantine['reason_code']}: {d.quarantine['reason_detail']}" for d in dropped})
    return (
        f"{len(dropped)} of {articles} re-enriched articles would be quarantined (more than fail_share "
        f"{fail_share:.0%}): nothing changed; {'; '.join(reasons[:3])}"
    )


def _fingerprint_row(row: dict[str, Any], file_index: int, file_row: int) -> dict[str, Any]:
    """What relinking needs of a recomputed row (``file_index`` -1: it failed validation and does not land)."""
    return {
        "batch_id": row.get("batch_id"),
        "source_path": row.get("source_path"),
        "record_index": row.get("record_index") or 0,
        "article_id": row.get("article_id"),
        "fingerprint": row.get("fingerprint"),
        "file_index": file_index,
        "file_row": file_row,
        "landed": file_index >= 0,
    }


def _stored(session: Writer) -> tuple[list[str | None], set[str | None]]:
    """The batches holding articles, in landing order, and the enricher versions stored."""
    cursor = session.cursor()
    try:
        table = TABLES["articles"]
        batches = cursor.execute(f"SELECT DISTINCT batch_id FROM {table} ORDER BY batch_id NULLS FIRST").fetchall()
        versions = cursor.execute(f"SELECT DISTINCT enricher_version FROM {table}").fetchall()
    finally:
        cursor.close()
    return [row[0] for row in batches], {row[0] for row in versions}


def reenrich(
    session: Writer,
    *,
    now: datetime,
    expectations: Path,
    sql_dir: Path,
    only: tuple[str, ...] | None = None,
    workers: int = 1,
    file_timeout: float = 30.0,
    fail_share: float = 0.2,
) -> ReenrichResult:
    """Recompute ``only`` (default: the stale components) and their dependents for every stored article, and
    record what a fresh ingest of the same files would record (see the module docstring), as one transaction of
    the writer ``session``.

    Articles are read batch by batch in chunks of ``CHUNK_ROWS`` and recomputed on ``workers`` processes (as ingest
    enriches: langdetect loaded once per worker, a chunk that raises, dies or outlives ``file_timeout`` retried row
    by row), a few chunks in flight: memory stays flat however large a batch is. ``expectations`` holds the suites
    the rows are validated with, ``sql_dir`` near_duplicates.sql. ``now`` stamps the quarantine rows written, and
    stands in for a row's file time when it has none.

    Raises:
        ValueError: ``only`` names an unknown component.
        ReenrichRefused: the articles suite cannot judge the rows, or more than ``fail_share`` of them would be
            quarantined; the lake is unchanged.
    """
    started = time.perf_counter()
    unknown = set(only or ()) - set(COMPONENTS)
    if unknown:
        raise ValueError(f"unknown component(s) {sorted(unknown)}; choose from {', '.join(COMPONENTS)}")
    batches, versions = _stored(session)
    requested = tuple(name for name in COMPONENTS if name in only) if only else stale_components(versions)
    components = recompute_closure(requested)
    if not components or not batches:
        return ReenrichResult(components, 0, 0, 0, time.perf_counter() - started)
    validator = Validator(expectations)
    session.warehouse.scratch.mkdir(exist_ok=True)  # the writer's own: a killed run's is cleared by the next session
    with tempfile.TemporaryDirectory(prefix="reenrich-", dir=session.warehouse.scratch) as folder:
        scratch = _Scratch(sql_dir, Path(folder))
        try:
            with IsolatingPool[dict[str, Any], Output](max(1, workers), file_timeout, initializer=warm_worker) as pool:
                rebuild = _Rebuild(session, components, now, validator, pool, 2 * max(1, workers), scratch)
                for file_index, batch_id in enumerate(batches):
                    rebuild.recompute_batch(batch_id, file_index)
            if rebuild.dropped and len(rebuild.dropped) > fail_share * rebuild.articles:
                raise ReenrichRefused(_refusal(rebuild.dropped, rebuild.articles, fail_share))
            relinked = "fingerprint" in components or bool(rebuild.dropped)
            if relinked:
                scratch.relink()
            settled = rebuild.settle_files() if rebuild.dropped else {}
            with session.transaction(message=f"reenrich {','.join(components)}") as cursor:
                settled_files = rebuild.write(cursor, relinked=relinked, settled=settled)
        finally:
            scratch.close()
    return ReenrichResult(
        components,
        rebuild.articles,
        len(batches),
        settled_files,
        time.perf_counter() - started,
        quarantined=len(rebuild.dropped),
        relinked=relinked,
        snapshot=session.snapshot(),
    )
