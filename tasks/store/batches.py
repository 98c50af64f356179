"""One batch of pending files: read and hashed (``read_batch``), handed to the enrichment workers, then settled
(``collect_batch``): duplicates, late twins and rejections become ledger and quarantine rows."""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from tasks.enrich.steps import EnrichJob, EnrichOutput, enrich_jobs
from tasks.faults import crash_point
from tasks.models import FileRef, FileStatus, Reason, Rejection
from tasks.sources.locations import Source
from tasks.store.ledger import Ledger
from tasks.store.records import quarantine_row
from tasks.store.writer import new_batch_id, utc_now

# Runs a chunk function over a list of jobs (in chunks, wherever the work goes) and yields one output per job, in order.
MapFn = Callable[[Callable[[list[EnrichJob]], list[EnrichOutput]], list[EnrichJob]], Iterable[EnrichOutput]]


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


def ledger_row(
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
        """Start enriching the jobs through ``map_fn``; ``collect_batch`` collects the outputs.

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
        ledger_row(
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
    batch.quarantine.append(
        quarantine_row(ref.source_path, version, rejection, None, info.flow_run_id, batch.batch_id, now)
    )


def _record_duplicate(
    batch: PreparedBatch, ref: FileRef, version: int, sha: str, article_id: str | None, info: RunInfo, now: datetime
) -> None:
    """A file whose bytes already landed from another path: a ledger row pointing at that article."""
    batch.files.append(
        ledger_row(
            ref, version, sha, FileStatus.DUPLICATE, info, batch.batch_id, now, article_id=article_id, articles=0
        )
    )


def read_batch(rows: pa.Table, info: RunInfo, ledger: Ledger, in_flight: frozenset[str] = frozenset()) -> StartedBatch:
    """Read, hash and de-duplicate one batch; ``StartedBatch.hand_off`` then starts its enrichment.

    ``in_flight`` holds the hashes of the previous batch, enriched but not landed yet: files with those
    bytes are settled in ``collect_batch``, once the ledger knows where they landed.
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
                ledger_row(
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


def collect_batch(started: StartedBatch, info: RunInfo, ledger: Ledger) -> PreparedBatch:
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
        file_row = ledger_row(
            ref, version, sha, FileStatus.LANDED, info, batch.batch_id, now, format=fmt, encoding=encoding, articles=0
        )
        batch.files.append(file_row)
        for rejection in rejections:
            batch.quarantine.append(
                quarantine_row(ref.source_path, version, rejection, sha, info.flow_run_id, batch.batch_id, now)
            )
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
            ledger_row(
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
        ledger_row(ref, version, sha, FileStatus.QUARANTINED, info, batch.batch_id, now, reason_code=reason, articles=0)
    )
    for rejection in rejections:
        batch.quarantine.append(
            quarantine_row(ref.source_path, version, rejection, sha, info.flow_run_id, batch.batch_id, now)
        )
    if data is not None:
        batch.originals[ref.source_path] = data
