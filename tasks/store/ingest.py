"""The ingestion steps between discovery and commit, free of Prefect so they test on their own.

``Ledger`` answers "what is new?" with DuckDB over the committed Parquet; ``prepare_batch`` reads,
de-duplicates and enriches; ``validate_batch`` applies the expectation suites; ``land_batch`` commits.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from tasks.enrich.steps import EnrichJob, EnrichOutput, enrich_jobs
from tasks.faults import crash_point
from tasks.models import FileRef, FileStatus, Reason, Rejection
from tasks.quality.suites import SuiteResult, Validator
from tasks.sources.discover import Found
from tasks.sources.locations import LocalSource, Source
from tasks.store.lake import LAKE
from tasks.store.schema import SCHEMAS, table_from_rows
from tasks.store.writer import Writer, new_batch_id, utc_now

_SCAN_SCHEMA = pa.schema(
    [
        ("source_path", pa.string()),
        ("size", pa.int64()),
        ("mtime_ns", pa.int64()),
        ("reason_code", pa.string()),
        ("reason_detail", pa.string()),
        ("etag", pa.string()),
    ]
)
_SCAN_CHUNK = 50_000

# Runs a chunk function over a list of jobs (in chunks, wherever the work goes) and yields one output per job, in order.
MapFn = Callable[[Callable[[list[EnrichJob]], list[EnrichOutput]], list[EnrichJob]], Iterable[EnrichOutput]]


@dataclass(slots=True)
class Changes:
    files_seen: int
    pending: pa.Table  # changed files old enough to read (SCAN schema + file_version)
    deferred: int  # changed, but modified less than min_age ago
    deleted: pa.Table  # source_path, file_version, article_id
    deletions_suppressed: bool = False  # the source looked empty while the ledger has live files
    unlisted: list[str] = field(default_factory=list)  # folders that failed to list: nothing under them is deleted


class Ledger:
    """The warehouse's committed state, as the writer session sees it (its own commits included).

    Each query runs on a cursor of its own, so the ledger is safe to use from the flow's task threads.
    """

    def __init__(self, connection: duckdb.DuckDBPyConnection, sql_dir: Path) -> None:
        self.sql_dir = sql_dir
        self.connection = connection

    def cursor(self) -> duckdb.DuckDBPyConnection:
        cursor = self.connection.cursor()
        cursor.execute(f"USE {LAKE}")
        return cursor

    def _query(self, name: str, **tables: pa.Table) -> pa.Table:
        """Run warehouse/sql/<name>.sql with ``tables`` registered, on a cursor of its own (thread-safe)."""
        cursor = self.cursor()
        try:
            for table_name, table in tables.items():
                cursor.register(table_name, table)
            return cursor.sql((self.sql_dir / f"{name}.sql").read_text(encoding="utf-8")).to_arrow_table()
        finally:
            cursor.close()

    def close(self) -> None:
        """Nothing to release: the connection belongs to the writer session."""

    def changes(self, found: Iterable[Found], *, now_ns: int, min_age_ns: int) -> Changes:
        unlisted: list[str] = []
        scan = scan_table(found, unlisted)
        crash_point("discover")
        changed = self._query("changed_files", scan=scan)
        # A path is deleted only when the folder holding it was listed without it.
        prefixes = pa.table({"prefix": pa.array([f"{folder}/" if folder else "" for folder in unlisted], pa.string())})
        deleted = self._query("deleted_files", scan=scan, unlisted=prefixes)
        live = self._query("live_files").column(0)[0].as_py() or 0
        suppressed = scan.num_rows == 0 and live > 0 and not unlisted
        if suppressed:
            deleted = deleted.slice(0, 0)
        fresh = pc.greater(changed["mtime_ns"], now_ns - min_age_ns)
        return Changes(
            files_seen=scan.num_rows,
            pending=changed.filter(pc.invert(fresh)),
            deferred=int(pc.sum(fresh).as_py() or 0),
            deleted=deleted,
            deletions_suppressed=suppressed,
            unlisted=unlisted,
        )

    def known_content(self, candidates: list[tuple[str, str]]) -> dict[str, str | None]:
        """source_path → article_id for candidates whose bytes already landed from another path."""
        if not candidates:
            return {}
        table = pa.table({"source_path": [c[0] for c in candidates], "content_sha256": [c[1] for c in candidates]})
        rows = self._query("known_content", candidates=table).to_pylist()
        return {row["source_path"]: row["article_id"] for row in rows}

    def same_content(self, candidates: list[tuple[str, str]]) -> dict[str, dict[str, Any]]:
        """source_path → its current ledger row, for candidates whose bytes did not change (only touched)."""
        if not candidates:
            return {}
        table = pa.table({"source_path": [c[0] for c in candidates], "content_sha256": [c[1] for c in candidates]})
        return {row["source_path"]: row for row in self._query("same_content", candidates=table).to_pylist()}

    def known_articles(self, articles: list[tuple[str, str]]) -> set[str]:
        """article_ids (of (source_path, article_id) pairs) already landed from another path."""
        if not articles:
            return set()
        table = pa.table({"source_path": [a[0] for a in articles], "article_id": [a[1] for a in articles]})
        return set(self._query("known_articles", new_articles=table).column("article_id").to_pylist())

    def link_near_duplicates(self, articles: list[dict[str, Any]]) -> None:
        """Set ``near_duplicate_of`` on new articles whose SimHash is close to a landed or earlier one."""
        from tasks.enrich.fingerprint import MAX_DISTANCE

        rows = [(a["article_id"], a.get("fingerprint"), i) for i, a in enumerate(articles)]
        rows = [r for r in rows if r[1] is not None]
        if not rows:
            return
        table = pa.table(
            {"article_id": [r[0] for r in rows], "fingerprint": [r[1] for r in rows], "position": [r[2] for r in rows]},
            schema=pa.schema([("article_id", pa.string()), ("fingerprint", pa.int64()), ("position", pa.int64())]),
        )
        cursor = self.cursor()
        try:
            cursor.register("new_fingerprints", table)
            sql = (self.sql_dir / "near_duplicates.sql").read_text(encoding="utf-8")
            links = dict(cursor.execute(sql, {"max_distance": MAX_DISTANCE}).fetchall())
        finally:
            cursor.close()
        for article in articles:
            article["near_duplicate_of"] = links.get(article["article_id"])

    def stale_runs(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self._query("stale_runs").to_pylist()
        return rows


def scan_table(found: Iterable[Found], unlisted: list[str] | None = None) -> pa.Table:
    """Discovery results as Arrow, built in chunks so a million paths stay compact; folders that could not be
    listed go to ``unlisted`` instead (they are not files)."""
    batches: list[pa.RecordBatch] = []
    columns: tuple[list[Any], ...] = ([], [], [], [], [], [])
    seen: set[str] = set()

    def flush() -> None:
        if columns[0]:
            batches.append(
                pa.RecordBatch.from_arrays(
                    [pa.array(c, t.type) for c, t in zip(columns, _SCAN_SCHEMA, strict=True)], schema=_SCAN_SCHEMA
                )
            )
            for column in columns:
                column.clear()

    for entry in found:
        if entry.unlisted:
            if unlisted is not None:
                unlisted.append(entry.ref.source_path)
            continue
        if entry.ref.source_path in seen:  # a symlinked path can only be reported once
            continue
        columns[0].append(entry.ref.source_path)
        columns[1].append(entry.ref.size)
        columns[2].append(entry.ref.mtime_ns)
        columns[3].append(entry.rejection.reason_code.value if entry.rejection else None)
        columns[4].append(entry.rejection.detail if entry.rejection else None)
        columns[5].append(entry.ref.etag)
        if len(columns[0]) >= _SCAN_CHUNK:
            flush()
            seen.clear()
    flush()
    return pa.Table.from_batches(batches, schema=_SCAN_SCHEMA)


def batches(pending: pa.Table, size: int) -> Iterator[pa.Table]:
    for start in range(0, pending.num_rows, size):
        yield pending.slice(start, size)


@dataclass(slots=True)
class RunInfo:
    flow_run_id: str
    source: Source
    max_file_bytes: int
    max_decompressed_bytes: int


@dataclass(slots=True)
class PreparedBatch:
    batch_id: str
    started: float
    files: list[dict[str, Any]] = field(default_factory=list)
    articles: list[dict[str, Any]] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    originals: dict[str, bytes] = field(default_factory=dict)  # source_path → bytes to keep
    contents: list[dict[str, Any]] = field(default_factory=list)  # content_articles: articles held, landed elsewhere
    duplicate_articles: int = 0


def _file_row(
    ref: FileRef,
    version: int,
    sha: str | None,
    status: FileStatus,
    info: RunInfo,
    batch_id: str,
    now: datetime,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "source_path": ref.source_path,
        "file_version": version,
        "size": ref.size,
        "mtime": datetime.fromtimestamp(ref.mtime_ns / 1e9, tz=UTC),
        "mtime_ns": ref.mtime_ns,
        "source_etag": ref.etag,
        "content_sha256": sha,
        "status": status.value,
        "flow_run_id": info.flow_run_id,
        "batch_id": batch_id,
        "recorded_at": now,
        **extra,
    }


def _quarantine_row(
    ref: FileRef, version: int, rejection: Rejection, sha: str | None, info: RunInfo, batch_id: str, now: datetime
) -> dict[str, Any]:
    return {
        "source_path": ref.source_path,
        "file_version": version,
        "record_index": rejection.record_index,
        "reason_code": rejection.reason_code.value,
        "reason_detail": rejection.detail,
        "stage": rejection.stage,
        "content_sha256": sha,
        "flow_run_id": info.flow_run_id,
        "batch_id": batch_id,
        "quarantined_at": now,
    }


Job = tuple[FileRef, int, bytes, str]  # ref, file_version, bytes, sha256


@dataclass(slots=True)
class StartedBatch:
    """A batch whose enrichment is under way in the workers (``outputs`` yields as they finish)."""

    batch: PreparedBatch
    now: datetime
    jobs: list[Job]
    twins: list[tuple[FileRef, int, str]]  # same bytes as a job of this batch
    late: list[Job]  # same bytes as a job of the batch still in flight: resolved once that one landed
    max_decompressed_bytes: int
    outputs: Iterable[EnrichOutput] = ()
    map_fn: MapFn | None = None

    @property
    def shas(self) -> frozenset[str]:
        return frozenset(sha for _, _, _, sha in self.jobs)

    def hand_off(self, map_fn: MapFn) -> StartedBatch:
        """Start enriching the jobs through ``map_fn``; ``finish_batch`` collects the outputs.

        Called by the flow itself, not inside a task: a Dask submission from a task would ship that
        task's context (and its parameters, the ledger's DuckDB connection among them) to the cluster.
        """
        self.outputs = map_fn(enrich_jobs, [(ref, data, self.max_decompressed_bytes) for ref, _, data, _ in self.jobs])
        self.map_fn = map_fn
        return self


def _record_unread(
    batch: PreparedBatch, ref: FileRef, version: int, rejection: Rejection, info: RunInfo, now: datetime
) -> None:
    """A file rejected before its bytes were read: a quarantined ledger row and its reason."""
    batch.files.append(
        _file_row(
            ref,
            version,
            None,
            FileStatus.QUARANTINED,
            info,
            batch.batch_id,
            now,
            reason_code=rejection.reason_code.value,
            articles=0,
        )
    )
    batch.quarantine.append(_quarantine_row(ref, version, rejection, None, info, batch.batch_id, now))


def _record_duplicate(
    batch: PreparedBatch, ref: FileRef, version: int, sha: str, article_id: str | None, info: RunInfo, now: datetime
) -> None:
    """A file whose bytes already landed from another path: a ledger row pointing at that article."""
    batch.files.append(
        _file_row(ref, version, sha, FileStatus.DUPLICATE, info, batch.batch_id, now, article_id=article_id, articles=0)
    )


def prepare_batch(rows: pa.Table, info: RunInfo, ledger: Ledger, map_fn: MapFn) -> PreparedBatch:
    """Read, hash, de-duplicate and enrich one batch of pending files (enrichment through ``map_fn``)."""
    return finish_batch(start_batch(rows, info, ledger).hand_off(map_fn), info, ledger)


def start_batch(rows: pa.Table, info: RunInfo, ledger: Ledger, in_flight: frozenset[str] = frozenset()) -> StartedBatch:
    """Read, hash and de-duplicate one batch; ``StartedBatch.hand_off`` then starts its enrichment.

    ``in_flight`` holds the hashes of the previous batch, enriched but not landed yet: files with those
    bytes are settled in ``finish_batch``, once the ledger knows where they landed.
    """
    now = utc_now()
    batch = PreparedBatch(new_batch_id(now), time.perf_counter())
    to_read: list[tuple[FileRef, int, bytes, str]] = []
    for row in rows.to_pylist():
        ref = FileRef(row["source_path"], row["size"], row["mtime_ns"], row["etag"])
        version = row["file_version"]
        if row["reason_code"]:
            rejection = Rejection(Reason(row["reason_code"]), row["reason_detail"], "discover")
            _record_unread(batch, ref, version, rejection, info, now)
            continue
        data = info.source.read(ref, max_bytes=info.max_file_bytes)
        if isinstance(data, Rejection):
            _record_unread(batch, ref, version, data, info, now)
            continue
        to_read.append((ref, version, data, hashlib.sha256(data).hexdigest()))

    touched = ledger.same_content([(ref.source_path, sha) for ref, _, _, sha in to_read])
    for ref, _, _, sha in to_read:
        if (current := touched.get(ref.source_path)) is not None:
            batch.files.append(
                _file_row(
                    ref,
                    current["file_version"],
                    sha,
                    FileStatus.UNCHANGED,
                    info,
                    batch.batch_id,
                    now,
                    article_id=current["article_id"],
                    reason_code=current["reason_code"],
                    articles=0,
                )
            )
    to_read = [item for item in to_read if item[0].source_path not in touched]
    known = ledger.known_content([(ref.source_path, sha) for ref, _, _, sha in to_read])
    first_with_sha: dict[str, str] = {}
    jobs: list[tuple[FileRef, int, bytes, str]] = []
    twins: list[tuple[FileRef, int, str]] = []
    late: list[Job] = []
    for ref, version, data, sha in to_read:
        if ref.source_path in known:
            _record_duplicate(batch, ref, version, sha, known[ref.source_path], info, now)
        elif sha in first_with_sha:
            twins.append((ref, version, sha))
        elif sha in in_flight:
            late.append((ref, version, data, sha))
        else:
            first_with_sha[sha] = ref.source_path
            jobs.append((ref, version, data, sha))

    crash_point("enrich")
    return StartedBatch(batch, now, jobs, twins, late, info.max_decompressed_bytes)


def finish_batch(started: StartedBatch, info: RunInfo, ledger: Ledger) -> PreparedBatch:
    """Collect the enrichment of a started batch and drop articles that already landed elsewhere."""
    batch, now, jobs, twins, outputs = started.batch, started.now, started.jobs, started.twins, started.outputs
    if started.late:
        known = ledger.known_content([(ref.source_path, sha) for ref, _, _, sha in started.late])
        unresolved: dict[str, Job] = {}
        for ref, version, data, sha in started.late:
            if ref.source_path in known:
                _record_duplicate(batch, ref, version, sha, known[ref.source_path], info, now)
            elif sha in unresolved:
                twins.append((ref, version, sha))
            else:  # its twin did not land (quarantined): enrich it here, rare
                unresolved[sha] = (ref, version, data, sha)
        if unresolved:
            extra = list(unresolved.values())
            jobs = jobs + extra
            extra_jobs = [(ref, data, info.max_decompressed_bytes) for ref, _, data, _ in extra]
            more = started.map_fn(enrich_jobs, extra_jobs) if started.map_fn else enrich_jobs(extra_jobs)
            outputs = itertools.chain(outputs, more)
    first_article: dict[str, str | None] = {}
    verdicts: dict[str, tuple[str, list[Rejection]]] = {}  # sha → (first path, its rejections)
    candidates: list[tuple[dict[str, Any], dict[str, Any]]] = []  # (file row, article row)
    for (ref, version, data, sha), (fmt, encoding, articles, rejections) in zip(jobs, outputs, strict=True):
        file_row = _file_row(
            ref, version, sha, FileStatus.LANDED, info, batch.batch_id, now, format=fmt, encoding=encoding, articles=0
        )
        batch.files.append(file_row)
        for rejection in rejections:
            batch.quarantine.append(_quarantine_row(ref, version, rejection, sha, info, batch.batch_id, now))
        if rejections:
            batch.originals[ref.source_path] = data
            file_row["reason_code"] = rejections[0].reason_code.value
        for article in articles:
            article.update(
                {
                    "source_path": ref.source_path,
                    "file_version": version,
                    "content_sha256": sha,
                    "size": ref.size,
                    "mtime": file_row["mtime"],
                    "format": fmt,
                    "encoding": encoding,
                    "ingested_at": now,
                    "flow_run_id": info.flow_run_id,
                    "batch_id": batch.batch_id,
                }
            )
            candidates.append((file_row, article))
        first_article[sha] = articles[0]["article_id"] if articles else None
        verdicts.setdefault(sha, (ref.source_path, rejections))

    elsewhere = ledger.known_articles([(a["source_path"], a["article_id"]) for _, a in candidates])
    seen: set[str] = set()
    for file_row, article in candidates:
        if article["article_id"] in elsewhere or article["article_id"] in seen:
            batch.duplicate_articles += 1
            file_row.setdefault("article_id", article["article_id"])
            batch.contents.append(  # these bytes hold it too: `articles` keeps it while they are present
                {
                    "content_sha256": article["content_sha256"],
                    "article_id": article["article_id"],
                    "record_index": article["record_index"],
                    "batch_id": batch.batch_id,
                }
            )
            continue
        seen.add(article["article_id"])
        batch.articles.append(article)
    ledger.link_near_duplicates(batch.articles)
    for ref, version, sha in twins:
        first_path, rejections = verdicts.get(sha, ("", []))
        if first_article.get(sha) is None and rejections:  # a twin of a quarantined file gets the same verdict
            _quarantine_twin(batch, ref, version, sha, rejections, batch.originals.get(first_path), info, now)
            continue
        batch.files.append(
            _file_row(
                ref,
                version,
                sha,
                FileStatus.DUPLICATE,
                info,
                batch.batch_id,
                now,
                article_id=first_article.get(sha),
                articles=0,
            )
        )
    return batch


def _quarantine_twin(
    batch: PreparedBatch,
    ref: FileRef,
    version: int,
    sha: str,
    rejections: list[Rejection],
    data: bytes | None,
    info: RunInfo,
    now: datetime,
) -> None:
    """Same bytes as a file this batch quarantined: quarantined too (never a silent 'duplicate' of nothing)."""
    reason = rejections[0].reason_code.value
    batch.files.append(
        _file_row(ref, version, sha, FileStatus.QUARANTINED, info, batch.batch_id, now, reason_code=reason, articles=0)
    )
    for rejection in rejections:
        batch.quarantine.append(_quarantine_row(ref, version, rejection, sha, info, batch.batch_id, now))
    if data is not None:
        batch.originals[ref.source_path] = data


@dataclass(slots=True)
class ValidatedBatch:
    prepared: PreparedBatch
    results: list[SuiteResult]
    validations: list[dict[str, Any]]


def validate_batch(batch: PreparedBatch, validator: Validator, flow_run_id: str) -> ValidatedBatch:
    """Run every suite; rows failing the articles suite move to quarantine, naming the expectations."""
    crash_point("validate")
    now = utc_now()
    results: list[SuiteResult] = []
    articles = table_from_rows("articles", batch.articles)
    if articles.num_rows:
        result = validator.validate("articles", articles)
        results.append(result)
        if result.failed_rows:
            keep: list[dict[str, Any]] = []
            for position, article in enumerate(batch.articles):
                broken = result.row_failures.get(position)
                if broken is None:
                    keep.append(article)
                    continue
                rejection = Rejection(
                    Reason.EXPECTATION_FAILED, "; ".join(broken), "validate", article["record_index"] or None
                )
                ref = FileRef(article["source_path"], article["size"], int(article["mtime"].timestamp() * 1e9))
                batch.quarantine.append(
                    _quarantine_row(
                        ref,
                        article["file_version"],
                        rejection,
                        article["content_sha256"],
                        RunInfo(flow_run_id, LocalSource(Path()), 0, 0),
                        batch.batch_id,
                        now,
                    )
                )
            batch.articles = keep
    _settle_file_status(batch)
    for table, rows in (("files", batch.files), ("quarantine", batch.quarantine)):
        if rows and table in validator.suites:
            results.append(validator.validate(table, table_from_rows(table, rows)))
    validations = [
        {
            "validation_id": f"{batch.batch_id}:{r.suite}",
            "suite": r.suite,
            "success": r.success,
            "evaluated_rows": r.evaluated_rows,
            "failed_rows": len(r.failed_rows),
            "evaluated_expectations": r.evaluated_expectations,
            "failed_expectations": list(r.failed_expectations),
            "details": json.dumps(r.details, ensure_ascii=False, default=str),
            "flow_run_id": flow_run_id,
            "batch_id": batch.batch_id,
            "validated_at": now,
        }
        for r in results
    ]
    return ValidatedBatch(batch, results, validations)


def _settle_file_status(batch: PreparedBatch) -> None:
    """A landed-status file with no surviving article is a duplicate (all known) or quarantined (all rejected)."""
    landed_per_file = Counter(a["source_path"] for a in batch.articles)
    first_article: dict[str, str] = {}
    for article in batch.articles:
        first_article.setdefault(article["source_path"], article["article_id"])
    for row in batch.files:
        if row["status"] != FileStatus.LANDED.value:
            continue
        count = landed_per_file.get(row["source_path"], 0)
        row["articles"] = count
        if count:
            row["article_id"] = first_article[row["source_path"]]
        elif row.get("article_id"):
            row["status"] = FileStatus.DUPLICATE.value
        else:
            row["status"] = FileStatus.QUARANTINED.value
            reasons = [q["reason_code"] for q in batch.quarantine if q["source_path"] == row["source_path"]]
            row["reason_code"] = reasons[0] if reasons else Reason.NO_BODY.value


@dataclass(slots=True)
class BatchOutcome:
    batch_id: str
    files: int
    landed: int
    duplicates: int
    quarantined: int
    articles: int
    rows_quarantined: int
    languages: Counter[str]
    reasons: Counter[str]
    results: list[SuiteResult]
    seconds: float
    quarantined_files: list[dict[str, str]]
    unchanged: int = 0  # touched files whose bytes had not changed


def land_batch(validated: ValidatedBatch, session: Writer) -> BatchOutcome:
    """Keep quarantined originals, then commit every table of the batch in one DuckLake transaction."""
    batch = validated.prepared
    kept: dict[str, str] = {path: session.warehouse.keep_original(data) for path, data in batch.originals.items()}
    for row in batch.quarantine:
        row["kept_as"] = kept.get(row["source_path"])
    articles = table_from_rows("articles", batch.articles)
    if articles.num_rows:
        articles = articles.sort_by([("language", "ascending"), ("source_path", "ascending")])
    tables = {
        "files": table_from_rows("files", batch.files),
        "articles": articles,
        "content_articles": table_from_rows("content_articles", batch.contents),
        "quarantine": table_from_rows("quarantine", batch.quarantine),
        "validations": table_from_rows("validations", validated.validations),
    }
    session.commit(tables, batch_id=batch.batch_id)
    crash_point("after_commit")
    status = Counter(row["status"] for row in batch.files)
    return BatchOutcome(
        batch_id=batch.batch_id,
        files=len(batch.files),
        landed=status[FileStatus.LANDED.value],
        duplicates=status[FileStatus.DUPLICATE.value],
        quarantined=status[FileStatus.QUARANTINED.value],
        unchanged=status[FileStatus.UNCHANGED.value],
        articles=articles.num_rows,
        rows_quarantined=len(batch.quarantine),
        languages=Counter(a["language"] for a in batch.articles),
        reasons=Counter(q["reason_code"] for q in batch.quarantine),
        results=validated.results,
        seconds=time.perf_counter() - batch.started,
        quarantined_files=[
            {"source_path": q["source_path"], "reason_code": q["reason_code"], "reason_detail": q["reason_detail"]}
            for q in batch.quarantine
        ],
    )


def deletion_rows(deleted: pa.Table, flow_run_id: str, batch_id: str) -> list[dict[str, Any]]:
    crash_point("deletions")
    now = utc_now()
    return [
        {
            "source_path": row["source_path"],
            "file_version": row["file_version"],
            "size": 0,
            "status": FileStatus.DELETED.value,
            "article_id": row["article_id"],
            "articles": 0,
            "flow_run_id": flow_run_id,
            "batch_id": batch_id,
            "recorded_at": now,
        }
        for row in deleted.to_pylist()
    ]


def run_row(flow_run_id: str, **values: Any) -> pa.Table:
    row = dict.fromkeys(SCHEMAS["runs"].names)
    row.update(flow_run_id=flow_run_id, recorded_at=utc_now(), **values)
    return table_from_rows("runs", [row])


def requeue_files(session: Writer, sql_dir: Path, reason: Reason, path_glob: str | None) -> list[str]:
    """Mark the files quarantined with ``reason`` so the next run reads them again; returns their paths.

    Exactly once stays intact: each gets one ``requeued`` ledger row at the next file_version (like a
    deletion row), which discovery treats as changed; the re-read lands as the version after that.
    Runs in a writer session, so it never interleaves with a run's commits.
    """
    cursor = session.cursor()
    try:
        statement = (sql_dir / "requeue_candidates.sql").read_text(encoding="utf-8")
        cursor.execute(statement, {"reason": reason.value, "path": path_glob})
        columns = [d[0] for d in cursor.description or []]
        rows = [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]
    finally:
        cursor.close()
    if not rows:
        return []
    now = utc_now()
    batch_id = new_batch_id(now)
    records = [
        {
            **row,
            "status": FileStatus.REQUEUED.value,
            "reason_code": reason.value,
            "articles": 0,
            "flow_run_id": "requeue",
            "batch_id": batch_id,
            "recorded_at": now,
        }
        for row in rows
    ]
    session.commit({"files": table_from_rows("files", records)}, batch_id=batch_id)
    return [row["source_path"] for row in rows]
