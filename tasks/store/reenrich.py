"""Re-enrichment: recompute enrichment columns from the stored text, and record what a fresh ingest of the same
files would record, as one DuckLake transaction of the writer session (readers see the lake before or after it;
an error or a kill leaves it as it was). No source file is read.

What is recomputed: the components named (``--only``), else the stale ones (``tasks.enrich.versions``), and
everything computed from them, by ingest's own steps (``reenrich_rows``). Then ingest's rules: a row whose
enrichment now fails is quarantined and its ``content_articles`` row goes; a row failing the articles suite
is quarantined as ``expectation_failed`` (``expectation_rejections``); a file that lost articles is settled
(``settle_file``); near-duplicates are relinked batch by batch in landing order (``near_duplicate_links``)
whenever fingerprints or the landed set changed. The recomputed rows wait in a scratch DuckDB under
``warehouse/.scratch`` (memory stays flat) until the transaction takes them.

A suite that cannot judge the rows, or a share of quarantined rows over ``fail_share``, refuses the whole
re-enrichment (``ReenrichRefused``) before anything is written. Rows an earlier ingest quarantined are not
revisited (``wirehouse requeue`` reads their files again).
"""

from __future__ import annotations

import tempfile
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from tasks.enrich.pool import IsolatingPool
from tasks.enrich.steps import STEPS
from tasks.enrich.versions import COMPONENTS, Output, failed_row, recompute_closure, reenrich_rows, stale_components
from tasks.models import Rejection
from tasks.quality.suites import Validator, expectation_rejections
from tasks.store.ledger import near_duplicate_links
from tasks.store.records import Settlement, quarantine_row, settle_file
from tasks.store.schema import SCHEMAS, table_from_rows
from tasks.store.writer import Writer, insert_rows, replace_rows, run_statement

CHUNK_ROWS = 256  # stored articles per chunk a worker recomputes
VALIDATE_ROWS = 1024  # recomputed rows per articles-suite validation (GE costs ~0.1 s a call whatever the size)
RUN_ID = "reenrich"  # flow_run_id of the quarantine rows re-enrichment writes
FileKey = tuple[str, int, str | None]  # (source_path, file_version, batch_id): one ledger row of a landed file
_POSITION = [("file_index", pa.int64()), ("file_row", pa.int64())]  # its batch, its row there (-1: does not land)
_LINKS = pa.schema([*_POSITION, ("near_duplicate_of", pa.string())])
_LANDED = pa.schema([("article_id", pa.string()), ("fingerprint", pa.int64())])


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


@dataclass(frozen=True, slots=True)
class _Dropped:
    """A stored article a fresh ingest would not land, and the quarantine row it becomes (in the article's batch)."""

    key: FileKey
    article_id: str
    record_index: int
    quarantine: dict[str, Any]


def _file_key(row: dict[str, Any]) -> FileKey:
    return str(row.get("source_path")), int(row.get("file_version") or 0), row.get("batch_id")


def _stream(
    cursor: duckdb.DuckDBPyConnection, statement: str, parameters: dict[str, Any], size: int
) -> Iterator[list[dict[str, Any]]]:
    """The rows of ``statement`` in lists of ``size``, read to the end on ``cursor``, closed then (an open result
    holds the catalog's read transaction and blocks the commit)."""
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
    """One re-enrichment: the stored rows recomputed into a scratch DuckDB, then written in one transaction."""

    session: Writer
    sql_dir: Path
    components: tuple[str, ...]
    now: datetime
    validator: Validator
    scratch: duckdb.DuckDBPyConnection
    articles: int = 0
    dropped: list[_Dropped] = field(default_factory=list)

    def sql(self, name: str) -> str:
        return (self.sql_dir / f"{name}.sql").read_text(encoding="utf-8")

    def chunks(self, pool: IsolatingPool, batch_id: str | None) -> Iterator[list[tuple[dict[str, Any], Output]]]:
        """(stored row, its output) per chunk of the batch's articles, in order, a few chunks in flight: memory
        stays bounded whatever the size of the batch."""
        fn = partial(reenrich_rows, components=self.components, now=self.now, steps=STEPS)
        pending: deque[tuple[list[dict[str, Any]], Iterator[Output]]] = deque()
        cursor = self.session.cursor()
        for rows in _stream(cursor, self.sql("reenrich_batch_articles"), {"batch_id": batch_id}, CHUNK_ROWS):
            pending.append((rows, pool.map_chunks(fn, [rows], failed_row)))  # starts the chunk now
            if len(pending) >= 2 * pool.workers:
                done, outputs = pending.popleft()
                yield list(zip(done, outputs, strict=True))
        while pending:
            done, outputs = pending.popleft()
            yield list(zip(done, outputs, strict=True))

    def recompute(self, pool: IsolatingPool, batch_id: str | None, index: int) -> None:
        """The batch's stored rows recomputed, then validated and staged in blocks of ``VALIDATE_ROWS``."""
        staged, block = 0, []
        for pairs in self.chunks(pool, batch_id):
            block.extend(pairs)
            self.articles += len(pairs)
            if len(block) >= VALIDATE_ROWS:
                staged += self.stage(block, index, staged)
                block = []
        self.stage(block, index, staged)

    def stage(self, pairs: list[tuple[dict[str, Any], Output]], index: int, staged: int) -> int:
        """Validate recomputed rows as ingest validates a batch; stage them in the scratch (a failing one at
        file_row -1) and record the rejected ones as ingest would. Returns how many rows land."""
        rows = [(stored, output) for stored, output in pairs if not isinstance(output, Rejection)]
        for stored, output in pairs:
            if isinstance(output, Rejection):
                self.drop(stored, output)
        if not rows:
            return 0
        result = self.validator.validate("articles", table_from_rows("article_versions", [row for _, row in rows]))
        if result.broken:
            problems = "; ".join(result.errors + result.table_failures)
            raise ReenrichRefused(f"the articles suite cannot judge the re-enriched rows ({problems}): nothing changed")
        rejected = expectation_rejections(result, [row for _, row in rows])
        landing = [row for position, (_, row) in enumerate(rows) if position not in rejected]
        positioned = [row | {"file_index": index, "file_row": staged + n} for n, row in enumerate(landing)]
        for position, rejection in rejected.items():
            self.drop(rows[position][0], rejection)
            positioned.append(rows[position][1] | {"file_index": index, "file_row": -1})
        schema = SCHEMAS["article_versions"].append(pa.field(*_POSITION[0])).append(pa.field(*_POSITION[1]))
        self.scratch.from_arrow(pa.Table.from_pylist(positioned, schema=schema)).insert_into("recomputed")
        return len(landing)

    def drop(self, stored: dict[str, Any], rejection: Rejection) -> None:
        key, sha, root = _file_key(stored), stored.get("content_sha256"), self.session.warehouse.root
        kept = self.session.warehouse.kept / sha[:2] / sha if sha else None  # ingest kept it; re-enrichment reads none
        row = quarantine_row(key[0], key[1], rejection, sha, RUN_ID, key[2], self.now)
        row["kept_as"] = kept.relative_to(root).as_posix() if kept and kept.exists() else None
        self.dropped.append(_Dropped(key, str(stored.get("article_id")), int(stored.get("record_index") or 0), row))

    def relink(self, batches: list[str | None]) -> None:
        """Each batch, oldest first, linked as ingest linked it: against the articles landed before it."""
        for index in range(len(batches)):
            batch = self.scratch.execute(self.sql("reenrich_scratch_fingerprints"), {"file_index": index})
            rows = batch.to_arrow_table().to_pylist()
            cursor = self.scratch.cursor()
            try:
                found = near_duplicate_links(cursor, rows, self.sql_dir)
            finally:
                cursor.close()
            landed = [row for row in rows if row["landed"]]
            links = [
                row | {"near_duplicate_of": found[row["article_id"]]} for row in landed if row["article_id"] in found
            ]
            self.scratch.from_arrow(pa.Table.from_pylist(links, schema=_LINKS)).insert_into("links")
            self.scratch.from_arrow(pa.Table.from_pylist(landed, schema=_LANDED)).insert_into("articles")

    def settle_files(self) -> dict[FileKey, Settlement]:
        """The ledger rows of files that lost articles, settled from what survives of them (``settle_file``)."""
        drops: dict[FileKey, list[_Dropped]] = {}
        for dropped in self.dropped:
            drops.setdefault(dropped.key, []).append(dropped)
        shas = {key: lost[0].quarantine["content_sha256"] for key, lost in drops.items()}
        cursor = self.session.cursor()
        cursor.register("dropped", pa.Table.from_pylist([{"content_sha256": shas[k], "batch_id": k[2]} for k in drops]))
        held: dict[tuple[str | None, str | None], list[tuple[int, str]]] = {}
        for rows in _stream(cursor, self.sql("reenrich_held_contents"), {}, 65_536):
            for row in rows:
                content = (row["content_sha256"], row["batch_id"])
                held.setdefault(content, []).append((row["record_index"], row["article_id"]))
        lost_ids = {key: {d.article_id for d in lost} for key, lost in drops.items()}
        alive: dict[FileKey, list[tuple[int, str]]] = {key: [] for key in drops}
        landed_from: dict[str, set[FileKey]] = {}
        for rows in _stream(self.scratch.cursor(), self.sql("reenrich_scratch_survivors"), {}, 65_536):
            for row in rows:
                key, article_id = _file_key(row), str(row["article_id"])
                alive.get(key, []).append((row["record_index"] or 0, article_id))
                landed_from.setdefault(article_id, set()).add(key)
        settled: dict[FileKey, Settlement] = {}
        for key, lost in drops.items():
            elsewhere = [
                article_id
                for _, article_id in sorted(held.get((shas[key], key[2]), []))
                if article_id not in lost_ids[key] and landed_from.get(article_id, set()) - {key}
            ]
            enriching = sorted((d for d in lost if d.quarantine["stage"] != "validate"), key=lambda d: d.record_index)
            validating = [d for d in lost if d.quarantine["stage"] == "validate"]
            settled[key] = settle_file(
                [article_id for _, article_id in sorted(alive[key])],
                held_elsewhere=elsewhere[0] if elsewhere else None,
                reasons=[d.quarantine["reason_code"] for d in enriching + validating],
                reason_code=enriching[0].quarantine["reason_code"] if enriching else None,
            )
        return settled

    def write(self, cursor: duckdb.DuckDBPyConnection, *, relinked: bool, settled: dict[FileKey, Settlement]) -> int:
        """Every stored article replaced by its recomputed row, and what the dropped ones change, on ``cursor``
        (inside the session's transaction). Returns how many ledger rows were settled."""
        rows = self.scratch.execute(self.sql("reenrich_scratch_rows"), {"relinked": relinked})
        replace_rows(cursor, "article_versions", rows.to_arrow_reader(CHUNK_ROWS * 16))  # every row read: each replaced
        gone = [
            {"content_sha256": d.quarantine["content_sha256"], "article_id": d.article_id}
            | {"record_index": d.record_index, "batch_id": d.key[2]}
            for d in self.dropped
            if d.quarantine["stage"] != "validate"  # ingest never records the contents of an article it rejects
        ]
        if gone:
            run_statement(cursor, self.sql("reenrich_forget_contents"), gone=table_from_rows("content_articles", gone))
        if self.dropped:
            insert_rows(cursor, "quarantine", table_from_rows("quarantine", [d.quarantine for d in self.dropped]))
        if not settled:
            return 0
        ledger = [
            {"source_path": key[0], "file_version": key[1], "batch_id": key[2], "articles": new.articles}
            | {"article_id": new.article_id, "status": new.status.value, "reason_code": new.reason_code}
            for key, new in settled.items()
        ]
        changed = run_statement(cursor, self.sql("reenrich_settle_files"), settled=table_from_rows("files", ledger))
        return int(changed[0][0]) if changed else 0


def _refusal(dropped: list[_Dropped], articles: int, fail_share: float) -> str:
    reasons = sorted({f"{d.quarantine['reason_code']}: {d.quarantine['reason_detail']}" for d in dropped})
    return (
        f"{len(dropped)} of {articles} re-enriched articles would be quarantined (more than fail_share "
        f"{fail_share:.0%}): nothing changed; {'; '.join(reasons[:3])}"
    )


def reenrich(
    session: Writer,
    *,
    now: datetime,
    expectations: Path,
    sql_dir: Path,
    pool: IsolatingPool,
    only: tuple[str, ...] | None = None,
    fail_share: float = 0.2,
) -> ReenrichResult:
    """Recompute ``only`` (default: the stale components) and their dependents for every stored article, and
    record what a fresh ingest of the same files would record (see the module docstring), as one transaction of
    the writer ``session``.

    Articles are read batch by batch in chunks of ``CHUNK_ROWS`` and recomputed on ``pool`` (``enrichment_pool``:
    as ingest enriches, a chunk that raises, dies or outlives the per-file budget is retried row by row). ``expectations`` holds
    the suites, ``sql_dir`` the statements; ``now`` stamps the quarantine rows, and stands in for a row's file
    time when it has none.

    Raises:
        ValueError: ``only`` names an unknown component.
        ReenrichRefused: the articles suite cannot judge the rows, or more than ``fail_share`` of them would be
            quarantined; the lake is unchanged.
    """
    started = time.perf_counter()
    unknown = set(only or ()) - set(COMPONENTS)
    if unknown:
        raise ValueError(f"unknown component(s) {sorted(unknown)}; choose from {', '.join(COMPONENTS)}")
    cursor = session.cursor()
    try:
        stored = run_statement(cursor, (sql_dir / "reenrich_stored.sql").read_text(encoding="utf-8"))
    finally:
        cursor.close()
    batches = [batch_id for batch_id, _ in stored]
    versions = [version for _, batch_versions in stored for version in batch_versions]
    requested = tuple(name for name in COMPONENTS if name in only) if only else stale_components(versions)
    components = recompute_closure(requested)
    if not components or not batches:
        return ReenrichResult(components, 0, 0, 0, time.perf_counter() - started)
    validator = Validator(expectations)
    session.warehouse.scratch.mkdir(exist_ok=True)  # the writer's own: a killed run's is cleared by the next session
    with tempfile.TemporaryDirectory(prefix="reenrich-", dir=session.warehouse.scratch) as folder:
        config: dict[str, Any] = {"temp_directory": folder, "memory_limit": "512MB"}  # it spills to disk
        scratch = duckdb.connect(str(Path(folder) / "reenrich.duckdb"), config=config)
        try:
            schema = SCHEMAS["article_versions"].append(pa.field(*_POSITION[0])).append(pa.field(*_POSITION[1]))
            for name, empty in (("recomputed", schema), ("links", _LINKS), ("articles", _LANDED)):
                scratch.from_arrow(empty.empty_table()).create(name)
            rebuild = _Rebuild(session, sql_dir, components, now, validator, scratch)
            for index, batch_id in enumerate(batches):
                rebuild.recompute(pool, batch_id, index)
            if rebuild.dropped and len(rebuild.dropped) > fail_share * rebuild.articles:
                raise ReenrichRefused(_refusal(rebuild.dropped, rebuild.articles, fail_share))
            relinked = "fingerprint" in components or bool(rebuild.dropped)
            if relinked:
                rebuild.relink(batches)
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
