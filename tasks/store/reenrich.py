"""Re-enrichment: recompute enrichment columns from the stored article text, atomically, as ingest would.

No source file is read. A new generation is built with ``Warehouse.swap_generation``; then ``current`` flips in
one rename, so readers see the old warehouse or the new one, never a mix. The caller holds the writer lock.

What is recomputed: the components named (``--only``), else every component whose stored version differs from
the code's (``tasks.enrich.steps.COMPONENT_VERSIONS``), plus everything computed from them (``recompute_closure``:
entities, quotes and keywords read the language; entities and quotes are one step). Each row goes through the
very step functions ingest runs (``tasks.enrich.steps.STEPS``) on the Document ingest enriched (``document_of``: text,
title and source fields as stored), so the two cannot drift apart. Only the recomputed components' versions
change in ``enricher_version``.

What a fresh ingest of the same files would then record, the new generation records:

* a row whose enrichment now raises (or that now has no letters) is quarantined as ingest quarantines it
  (``enrich_error``, ``timeout``, ``worker_crashed``, ``no_text``) and its ``content_articles`` row goes;
* every rewritten row is validated with the articles suite; a failing row moves to its batch's quarantine as
  ``expectation_failed`` (its ``content_articles`` row stays, as ingest keeps it);
* the ledger row of a file that lost articles gets its ``articles`` count, ``article_id``, status and
  ``reason_code`` as ``tasks.store.ingest._settle_file_status`` settles them;
* ``near_duplicate_of`` is relinked for every article whenever fingerprints were recomputed or the set of landed
  articles changed: batch by batch in landing order, each batch with ``warehouse/sql/near_duplicates.sql``
  against the articles landed before it (and its own earlier ones, in the order ingest enriched them), as
  ``Ledger.link_near_duplicates`` links them.

A suite that cannot judge the rows, or a share of quarantined rows over ``fail_share``, refuses the whole
re-enrichment (``ReenrichRefused``): nothing is swapped.

Rows that a fresh ingest would land but an earlier one quarantined are not revisited (``wirehouse requeue``
reads their files again).
"""

from __future__ import annotations

import os
import shutil
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from uuid import uuid4

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

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
from tasks.store.schema import SCHEMAS, table_from_rows
from tasks.store.storage import SCHEMA_BATCH, Warehouse

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
    """Re-enrichment stopped before the swap: the warehouse is unchanged."""


@dataclass(frozen=True, slots=True)
class ReenrichResult:
    components: tuple[str, ...]  # what was recomputed: the requested or stale components and their dependents
    articles: int  # stored rows recomputed
    rewritten_files: int
    linked_files: int
    seconds: float
    quarantined: int = 0  # rows a fresh ingest would not land: moved to quarantine
    relinked: bool = False  # near_duplicate_of recomputed for every article


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
    """The Document ingest enriched; for rows stored before ``source_fields`` existed, rebuilt from the columns."""
    if row.get("source_fields") is not None:
        return document_of(row)
    fields = {name: row[name] for name in ("site", "url", "description", "author") if row.get(name)}
    if row.get("published") and row.get("published_source") == "metadata":
        fields["published"] = row["published"]
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


def _batch_id_of(row: dict[str, Any], folder: Path) -> str:
    return str(row.get("batch_id") or folder.name.removeprefix("batch="))


FileKey = tuple[str, int, str]  # (source_path, file_version, batch_id): one ledger row of a landed file


def _file_key(row: dict[str, Any], folder: Path) -> FileKey:
    return str(row.get("source_path")), int(row.get("file_version") or 0), _batch_id_of(row, folder)


@dataclass(frozen=True, slots=True)
class _Dropped:
    """A stored article a fresh ingest would not land, and the quarantine row it becomes."""

    folder: str  # the batch folder whose articles.parquet held it (its quarantine row goes there)
    key: FileKey
    article_id: str
    content_sha256: str | None
    record_index: int
    stage: str
    quarantine: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Settled:
    """A file that lost articles: its ledger row as ``tasks.store.ingest._settle_file_status`` would settle it."""

    articles: int
    article_id: str | None
    status: FileStatus
    reason_code: str | None  # for a file with no reason yet (the first of its new rejections, ingest's order)


_FINGERPRINTS = pa.schema(
    [
        ("batch_id", pa.string()),
        ("source_path", pa.string()),
        ("record_index", pa.int64()),
        ("article_id", pa.string()),
        ("fingerprint", pa.int64()),
        ("file_index", pa.int64()),
        ("file_row", pa.int64()),
        ("landed", pa.bool_()),
    ]
)
_LINKS = pa.schema([("file_index", pa.int64()), ("file_row", pa.int64()), ("near_duplicate_of", pa.string())])
_LANDED = pa.schema([("article_id", pa.string()), ("fingerprint", pa.int64())])


class _Links:
    """Every recomputed row's fingerprint in a scratch DuckDB (it spills to disk), relinked batch by batch."""

    def __init__(self, sql_dir: Path, scratch: Path) -> None:
        self.statement = (sql_dir / "near_duplicates.sql").read_text(encoding="utf-8")
        self.connection = duckdb.connect(config={"temp_directory": str(scratch), "memory_limit": "512MB"})
        for name, schema in (("fingerprints", _FINGERPRINTS), ("articles", _LANDED), ("links", _LINKS)):
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

    def add(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self._insert("fingerprints", pa.Table.from_pylist(rows, schema=_FINGERPRINTS))

    def relink(self) -> None:
        """Link each batch, oldest first, as ``Ledger.link_near_duplicates`` linked it when it landed: against the
        articles landed before it and its own earlier ones, in the order ingest enriched them (by path, then
        record). A row failing validation is linked against within its batch (ingest links, then validates) but
        is not there for the batches after."""
        batches = self.connection.execute("SELECT DISTINCT batch_id FROM fingerprints ORDER BY 1").fetchall()
        for (batch_id,) in batches:
            batch = self.connection.sql(
                "SELECT article_id, fingerprint, file_index, file_row, landed,"
                " row_number() OVER (ORDER BY source_path, record_index) - 1 AS position"
                " FROM fingerprints WHERE batch_id = ? AND fingerprint IS NOT NULL ORDER BY position",
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
                {
                    "file_index": r["file_index"],
                    "file_row": r["file_row"],
                    "near_duplicate_of": found[r["article_id"]],
                }
                for r in landed
                if r["article_id"] in found
            ]
            if links:
                self._insert("links", pa.Table.from_pylist(links, schema=_LINKS))
            if landed:
                self._insert("articles", pa.Table.from_pylist(landed, schema=_LANDED))

    def of_file(self, file_index: int) -> dict[int, str]:
        found = self.connection.execute(
            "SELECT file_row, near_duplicate_of FROM links WHERE file_index = ?", [file_index]
        ).fetchall()
        return {int(number): str(target) for number, target in found}


@dataclass
class _Rebuild:
    """One re-enrichment while it fills the new generation."""

    warehouse: Warehouse
    components: tuple[str, ...]
    now: datetime
    validator: Validator
    pool: IsolatingPool[dict[str, Any], Output]
    ahead: int  # chunks in flight
    links: _Links
    articles: int = 0
    rewritten: int = 0
    linked: int = 0
    dropped: list[_Dropped] = field(default_factory=list)
    recomputed_files: list[tuple[Path, Path]] = field(default_factory=list)  # (pass-one file, articles.parquet)

    def build(self, batches: list[Path], generation: Path, fail_share: float) -> bool:
        """Fill ``generation``; returns whether near_duplicate_of was relinked."""
        for batch in batches:
            (generation / batch.name).mkdir()
            source = batch / "articles.parquet"
            if source.exists():
                recomputed = generation / batch.name / ".articles.recomputed.parquet"
                self.rewrite_articles(source, recomputed, len(self.recomputed_files))
                self.recomputed_files.append((recomputed, recomputed.with_name("articles.parquet")))
        if self.dropped and len(self.dropped) > fail_share * self.articles:
            raise ReenrichRefused(_refusal(self.dropped, self.articles, fail_share))
        relinked = "fingerprint" in self.components or bool(self.dropped)
        if relinked:
            self.links.relink()
        for file_index, (recomputed, final) in enumerate(self.recomputed_files):
            if relinked:
                _set_links(recomputed, final, self.links.of_file(file_index))
                recomputed.unlink()
            else:
                os.replace(recomputed, final)
        self.finish_tables(batches, generation)
        return relinked

    # Pass one: recompute, validate, write ------------------------------------------------------------------

    def chunks(self, source: Path) -> Iterator[tuple[list[dict[str, Any]], list[Output]]]:
        """(stored rows, their outputs) per chunk of ``source``, in order, a few chunks in flight: memory stays
        bounded whatever the size of the file."""
        fn = partial(_reenrich_chunk, components=self.components, now=self.now)
        pending: deque[tuple[list[dict[str, Any]], Iterator[Output]]] = deque()
        for batch in pq.ParquetFile(source).iter_batches(CHUNK_ROWS):
            rows = batch.to_pylist()
            pending.append((rows, self.pool.map_chunks(fn, [rows], _pool_failure)))  # starts the chunk now
            if len(pending) >= self.ahead:
                done, outputs = pending.popleft()
                yield done, list(outputs)
        while pending:
            done, outputs = pending.popleft()
            yield done, list(outputs)

    def rewrite_articles(self, source: Path, target: Path, file_index: int) -> None:
        written = 0
        buffer: list[tuple[dict[str, Any], Output]] = []
        with pq.ParquetWriter(target, SCHEMAS["articles"], compression="zstd") as writer:
            for rows, outputs in self.chunks(source):
                buffer.extend(zip(rows, outputs, strict=True))
                self.articles += len(rows)
                if len(buffer) >= VALIDATE_ROWS:
                    written += self.land(buffer, writer, source.parent, file_index, written)
                    buffer = []
            written += self.land(buffer, writer, source.parent, file_index, written)
        self.rewritten += 1

    def land(
        self,
        pairs: list[tuple[dict[str, Any], Output]],
        writer: pq.ParquetWriter,
        folder: Path,
        file_index: int,
        offset: int,
    ) -> int:
        """Validate recomputed rows as ``tasks.store.ingest.validate_batch`` does; write those that pass and record the
        others as ingest would. Returns how many rows were written."""
        rows: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for stored, output in pairs:
            if isinstance(output, Rejection):
                self.drop(stored, output, folder)
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
                fingerprints.append(_fingerprint_row(row, folder, file_index, offset + len(keep)))
                keep.append(row)
                continue
            record = row.get("record_index") or None
            self.drop(stored, Rejection(Reason.EXPECTATION_FAILED, "; ".join(broken), "validate", record), folder)
            fingerprints.append(_fingerprint_row(row, folder, -1, -1))
        if keep:
            writer.write_table(table_from_rows("articles", keep))
        self.links.add(fingerprints)
        return len(keep)

    def drop(self, stored: dict[str, Any], rejection: Rejection, folder: Path) -> None:
        sha = stored.get("content_sha256")
        kept = self.warehouse.kept / sha[:2] / sha if sha else None
        key = _file_key(stored, folder)
        quarantine = {
            "source_path": key[0],
            "file_version": key[1],
            "record_index": rejection.record_index,
            "reason_code": rejection.reason_code.value,
            "reason_detail": rejection.detail,
            "stage": rejection.stage,
            "content_sha256": sha,
            # ingest keeps the bytes of a file it quarantines; re-enrichment reads none, so only names kept ones
            "kept_as": kept.relative_to(self.warehouse.root).as_posix() if kept and kept.exists() else None,
            "flow_run_id": RUN_ID,
            "batch_id": key[2],
            "quarantined_at": self.now,
        }
        self.dropped.append(
            _Dropped(
                folder.name,
                key,
                str(stored.get("article_id")),
                sha,
                int(stored.get("record_index") or 0),
                rejection.stage,
                quarantine,
            )
        )

    # The other tables: what the dropped rows change ------------------------------------------------------------

    def finish_tables(self, batches: list[Path], generation: Path) -> None:
        settled = self.settle_files(batches) if self.dropped else {}
        gone = {
            (d.content_sha256, d.article_id, d.record_index, d.key[2]) for d in self.dropped if d.stage != "validate"
        }
        quarantined: dict[str, list[dict[str, Any]]] = {}
        for dropped in self.dropped:
            quarantined.setdefault(dropped.folder, []).append(dropped.quarantine)
        for batch in batches:
            target = generation / batch.name
            for path in sorted(batch.iterdir()):
                if not path.is_file() or path.name == "articles.parquet":
                    continue
                if path.name == "files.parquet" and settled:
                    changed = _rewrite(path, target / path.name, "files", partial(_settle_rows, settled, batch))
                elif path.name == "content_articles.parquet" and gone:
                    changed = _rewrite(path, target / path.name, "content_articles", partial(_without, gone, batch))
                elif path.name == "quarantine.parquet" and batch.name in quarantined:
                    changed = _rewrite(path, target / path.name, "quarantine", None, quarantined.pop(batch.name))
                else:
                    os.link(path, target / path.name)  # unchanged: shared with the old generation, no copy
                    changed = False
                self.rewritten += changed
                self.linked += not changed
            if batch.name in quarantined:  # a batch that quarantined nothing before
                path = target / "quarantine.parquet"
                pq.write_table(table_from_rows("quarantine", quarantined.pop(batch.name)), path, compression="zstd")
                self.rewritten += 1

    def settle_files(self, batches: list[Path]) -> dict[FileKey, _Settled]:
        """The ledger rows of files that lost articles, settled as a fresh ingest settles them."""
        drops: dict[FileKey, list[_Dropped]] = {}
        for dropped in self.dropped:
            drops.setdefault(dropped.key, []).append(dropped)
        # What each such file's bytes yield (content_articles): its own articles and those landed from elsewhere.
        contents = {(d.content_sha256, d.key[2]) for d in self.dropped}
        yields: dict[tuple[str | None, str], list[tuple[int, str]]] = {}
        for batch in batches:
            path = batch / "content_articles.parquet"
            if path.exists():
                for row in _scan(path, ["content_sha256", "article_id", "record_index", "batch_id"]):
                    content = (row.get("content_sha256"), _batch_id_of(row, batch))
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
        for _, final in self.recomputed_files:
            for row in _scan(final, ["source_path", "file_version", "batch_id", "article_id", "record_index"]):
                key, article_id = _file_key(row, final.parent), str(row.get("article_id"))
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


def _refusal(dropped: list[_Dropped], articles: int, fail_share: float) -> str:
    reasons = sorted({f"{d.quarantine['reason_code']}: {d.quarantine['reason_detail']}" for d in dropped})
    return (
        f"{len(dropped)} of {articles} re-enriched articles would be quarantined (more than fail_share "
        f"{fail_share:.0%}): nothing changed; {'; '.join(reasons[:3])}"
    )


def _fingerprint_row(row: dict[str, Any], folder: Path, file_index: int, file_row: int) -> dict[str, Any]:
    """What relinking needs of a recomputed row (``file_index`` -1: it failed validation and does not land)."""
    return {
        "batch_id": _batch_id_of(row, folder),
        "source_path": row.get("source_path"),
        "record_index": row.get("record_index") or 0,
        "article_id": row.get("article_id"),
        "fingerprint": row.get("fingerprint"),
        "file_index": file_index,
        "file_row": file_row,
        "landed": file_index >= 0,
    }


def _scan(path: Path, columns: list[str]) -> Iterator[dict[str, Any]]:
    present = [c for c in columns if c in pq.read_schema(path).names]
    for batch in pq.ParquetFile(path).iter_batches(65_536, columns=present):
        yield from batch.to_pylist()


def _set_links(source: Path, target: Path, links: dict[int, str]) -> None:
    """``source`` with near_duplicate_of as relinked, written to ``target``."""
    position = SCHEMAS["articles"].get_field_index("near_duplicate_of")
    offset = 0
    with pq.ParquetWriter(target, SCHEMAS["articles"], compression="zstd") as writer:
        for batch in pq.ParquetFile(source).iter_batches(CHUNK_ROWS * 16):
            table = pa.Table.from_batches([batch])
            column = pa.array([links.get(offset + i) for i in range(table.num_rows)], pa.string())
            writer.write_table(table.set_column(position, "near_duplicate_of", column))
            offset += table.num_rows


def _settle_rows(settled: dict[FileKey, _Settled], folder: Path, rows: list[dict[str, Any]]) -> bool:
    """Apply ``settled`` to the landed ledger rows it names; True when any changed."""
    changed = False
    for row in rows:
        key = _file_key(row, folder)
        if row.get("status") != FileStatus.LANDED.value or key not in settled:
            continue
        new = settled[key]
        row["articles"] = new.articles
        row["article_id"] = new.article_id
        row["status"] = new.status.value
        row["reason_code"] = row.get("reason_code") or new.reason_code
        changed = True
    return changed


def _without(gone: set[tuple[str | None, str, int, str]], folder: Path, rows: list[dict[str, Any]]) -> bool:
    """Drop the content_articles rows of articles whose enrichment now fails (ingest never records those)."""
    before = len(rows)
    rows[:] = [
        r
        for r in rows
        if (r["content_sha256"], r["article_id"], r.get("record_index") or 0, _batch_id_of(r, folder)) not in gone
    ]
    return len(rows) != before


def _rewrite(
    source: Path,
    target: Path,
    table: str,
    edit: Callable[[list[dict[str, Any]]], bool] | None,
    extra: list[dict[str, Any]] | None = None,
) -> bool:
    """``source`` streamed into ``target`` with ``edit`` applied to each chunk of rows (in place) and ``extra``
    appended; hard-linked instead when nothing changed. True when rewritten."""
    changed = bool(extra)
    scratch = target.with_name(f".{target.name}.tmp")
    with pq.ParquetWriter(scratch, SCHEMAS[table], compression="zstd") as writer:
        for batch in pq.ParquetFile(source).iter_batches(65_536):
            rows = batch.to_pylist()
            if edit is not None:
                changed = edit(rows) or changed
            writer.write_table(table_from_rows(table, rows))
        if extra:
            writer.write_table(table_from_rows(table, extra))
    if changed:
        os.replace(scratch, target)
    else:
        scratch.unlink()
        os.link(source, target)
    return changed


def _stored_versions(article_files: list[Path]) -> set[str | None]:
    versions: set[str | None] = set()
    for path in article_files:
        if "enricher_version" in pq.read_schema(path).names:
            versions |= set(pq.read_table(path, columns=["enricher_version"]).column(0).to_pylist())
        else:
            versions.add(None)
    return versions


def reenrich(
    warehouse: Warehouse,
    *,
    now: datetime,
    expectations: Path,
    sql_dir: Path,
    only: tuple[str, ...] | None = None,
    workers: int = 1,
    file_timeout: float = 30.0,
    fail_share: float = 0.2,
) -> ReenrichResult:
    """Recompute ``only`` (default: the stale components) and their dependents for every stored article, in a
    new generation, and record what a fresh ingest of the same files would record (see the module docstring).

    Articles are read in chunks of ``CHUNK_ROWS`` and recomputed on ``workers`` processes (as ingest enriches:
    langdetect loaded once per worker, a chunk that raises, dies or outlives ``file_timeout`` retried row by row),
    a few chunks in flight: memory stays flat however large a file is. ``expectations`` holds the suites the rows
    are validated with, ``sql_dir`` near_duplicates.sql. ``now`` stamps the quarantine rows written, and stands
    in for a row's file time when it has none.

    Raises:
        ValueError: ``only`` names an unknown component.
        ReenrichRefused: the articles suite cannot judge the rows, or more than ``fail_share`` of them would be
            quarantined; the warehouse is unchanged.
    """
    started = time.perf_counter()
    unknown = set(only or ()) - set(COMPONENTS)
    if unknown:
        raise ValueError(f"unknown component(s) {sorted(unknown)}; choose from {', '.join(COMPONENTS)}")
    batches = [b for b in warehouse.batch_dirs() if b.name != f"batch={SCHEMA_BATCH}"]
    article_files = [b / "articles.parquet" for b in batches if (b / "articles.parquet").exists()]
    requested = (
        tuple(name for name in COMPONENTS if name in only)
        if only
        else stale_components(_stored_versions(article_files))
    )
    components = recompute_closure(requested)
    if not components or not article_files:
        return ReenrichResult(components, 0, 0, 0, time.perf_counter() - started)
    validator = Validator(expectations)
    scratch = warehouse.staging / f"reenrich-{uuid4().hex[:8]}"  # removed by recover() should this crash
    scratch.mkdir(parents=True)
    links = _Links(sql_dir, scratch)
    relinked = False
    try:
        with IsolatingPool[dict[str, Any], Output](max(1, workers), file_timeout, initializer=warm_worker) as pool:
            rebuild = _Rebuild(warehouse, components, now, validator, pool, 2 * max(1, workers), links)

            def build(generation: Path) -> None:
                nonlocal relinked
                try:
                    relinked = rebuild.build(batches, generation, fail_share)
                except BaseException:
                    shutil.rmtree(generation, ignore_errors=True)  # never complete, so never live: tidy now
                    raise

            warehouse.swap_generation(build)
    finally:
        links.close()
        shutil.rmtree(scratch, ignore_errors=True)
    return ReenrichResult(
        components,
        rebuild.articles,
        rebuild.rewritten,
        rebuild.linked,
        time.perf_counter() - started,
        quarantined=len(rebuild.dropped),
        relinked=relinked,
    )
