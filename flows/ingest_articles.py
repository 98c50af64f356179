"""The ``ingest-articles`` flow: discover → enrich → validate → land, one batch at a time."""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from filelock import FileLock, Timeout
from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run

from tasks.enrich import ENRICHER_VERSION
from tasks.ingest import Ledger, MapFn, RunInfo, batches, deletion_rows, run_row, warm_worker
from tasks.prefect_tasks import discover_changes, enrich_batch, land, validate
from tasks.quality import Validator
from tasks.settings import Settings
from tasks.storage import Warehouse, new_batch_id, refresh_views, table_from_rows, utc_now


class RunFailed(RuntimeError):
    """The pipeline itself failed (not bad input): the flow run ends Failed."""


@dataclass(slots=True)
class RunSummary:
    flow_run_id: str
    status: str = "completed"  # completed | skipped | failed
    files_seen: int = 0
    new_files: int = 0
    landed: int = 0
    duplicates: int = 0
    quarantined: int = 0
    deferred: int = 0
    deleted: int = 0
    articles: int = 0
    rows_quarantined: int = 0
    seconds: float = 0.0
    languages: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    failing_suites: dict[str, str] = field(default_factory=dict)
    quarantined_files: list[dict[str, str]] = field(default_factory=list)
    warehouse: str = ""
    message: str = ""

    @property
    def name(self) -> str:
        return f"ingest {self.new_files} new · {self.quarantined} quarantined"


@contextmanager
def enrichment_map(workers: int) -> Iterator[MapFn]:
    """A process pool sized to the cores, started once per run (langdetect loads once per worker)."""
    if workers <= 1:
        yield lambda fn, items: map(fn, items)
        return
    context = multiprocessing.get_context("spawn")  # fork is unsafe under Prefect's threads
    with ProcessPoolExecutor(workers, mp_context=context, initializer=warm_worker) as pool:

        def pooled(fn: Callable[[Any], Any], items: list[Any]) -> Iterable[Any]:
            return list(pool.map(fn, items, chunksize=max(1, len(items) // (workers * 8))))

        yield pooled


@contextmanager
def warehouse_lock(warehouse: Warehouse, settings: Settings) -> Iterator[bool]:
    """One writer per warehouse: an OS lock (released by the kernel if the holder is killed)."""
    lock = FileLock(warehouse.lock_path, timeout=0 if settings.lock == "skip" else settings.lock_timeout_seconds)
    try:
        lock.acquire()
    except Timeout:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


@flow(name="ingest-articles", flow_run_name="ingest {settings.source}", log_prints=False)
def ingest_articles(settings: Settings) -> RunSummary:
    """Land every new or changed article file under ``settings.source`` into ``settings.warehouse``."""
    logger = get_run_logger()
    started = time.perf_counter()
    started_at = utc_now()
    run_id = str(flow_run.id or f"local-{new_batch_id(started_at)}")
    warehouse = Warehouse(settings.warehouse)
    warehouse.root.mkdir(parents=True, exist_ok=True)
    summary = RunSummary(run_id, warehouse=str(warehouse.db_path))
    with warehouse_lock(warehouse, settings) as acquired:
        if not acquired:
            summary.status = "skipped"
            summary.message = f"another run holds the lock on {warehouse.root}; skipped (lock=skip)"
            logger.warning(summary.message)
            return summary
        warehouse.initialise()
        removed = warehouse.recover()
        if removed:
            logger.warning("recovered from an interrupted run: removed %d uncommitted batch(es)", len(removed))
        ledger = Ledger(warehouse, settings.sql)
        try:
            _mark_crashed_runs(ledger, warehouse)
            common = {"source": str(settings.source), "started_at": started_at}
            warehouse.commit({"runs": run_row(run_id, status="running", **common)}, batch_id=new_batch_id(utc_now()))
            try:
                _ingest(settings, warehouse, ledger, summary, run_id)
            except BaseException as error:
                summary.status = "failed"
                summary.message = f"{type(error).__name__}: {error}"
                raise
            finally:
                summary.seconds = time.perf_counter() - started
                warehouse.commit(
                    {
                        "runs": run_row(
                            run_id,
                            status=summary.status,
                            finished_at=utc_now(),
                            duration_s=summary.seconds,
                            flow_run_name=summary.name,
                            files_seen=summary.files_seen,
                            new_files=summary.new_files,
                            landed=summary.landed,
                            duplicates=summary.duplicates,
                            quarantined=summary.quarantined,
                            deferred=summary.deferred,
                            deleted=summary.deleted,
                            articles_landed=summary.articles,
                            rows_quarantined=summary.rows_quarantined,
                            message=summary.message or None,
                            **common,
                        )
                    },
                    batch_id=new_batch_id(utc_now()),
                )
        finally:
            ledger.close()
        refresh_views(warehouse, settings.sql)
    _publish(summary, settings)
    if summary.failing_suites:
        raise RunFailed("; ".join(f"{s}: {m}" for s, m in summary.failing_suites.items()))
    return summary


def _mark_crashed_runs(ledger: Ledger, warehouse: Warehouse) -> None:
    stale = ledger.stale_runs()
    if stale:
        rows = [
            {**row, "status": "crashed", "recorded_at": utc_now(), "message": "the run was killed before it finished"}
            for row in stale
        ]
        warehouse.commit({"runs": table_from_rows("runs", rows)}, batch_id=new_batch_id(utc_now()))
        get_run_logger().warning("marked %d interrupted run(s) as crashed", len(stale))


def _ingest(settings: Settings, warehouse: Warehouse, ledger: Ledger, summary: RunSummary, run_id: str) -> None:
    logger = get_run_logger()
    changes = discover_changes(settings.source, ledger, settings.min_age_seconds)
    summary.files_seen = changes.files_seen
    summary.new_files = changes.pending.num_rows
    summary.deferred = changes.deferred
    if changes.deleted.num_rows:
        rows = deletion_rows(changes.deleted, run_id, new_batch_id(utc_now()))
        warehouse.commit({"files": table_from_rows("files", rows)}, batch_id=rows[0]["batch_id"])
        summary.deleted = len(rows)
        logger.info("deleted: %d files no longer in the source, marked deleted (their data is kept)", len(rows))
    if not changes.pending.num_rows:
        logger.info("nothing new under %s", settings.source)
        return
    info = RunInfo(run_id, settings.source, settings.max_file_bytes, settings.max_decompressed_bytes)
    validator = Validator(settings.expectations)
    evaluated: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    with (
        enrichment_map(min(settings.workers, max(1, summary.new_files // 20))) as map_fn,
        _progress(settings, summary.new_files) as advance,
    ):
        for rows in batches(changes.pending, settings.batch_size):
            prepared = enrich_batch(rows, info, ledger, map_fn)
            validated = validate(prepared, validator, run_id)
            outcome = land(validated, warehouse)
            summary.landed += outcome.landed
            summary.duplicates += outcome.duplicates
            summary.quarantined += outcome.quarantined
            summary.articles += outcome.articles
            summary.rows_quarantined += outcome.rows_quarantined
            summary.languages.update(outcome.languages)
            summary.reasons.update(outcome.reasons)
            summary.quarantined_files.extend(outcome.quarantined_files)
            for result in outcome.results:
                evaluated[result.suite] += result.evaluated_rows
                failed[result.suite] += len(result.failed_rows)
            advance(rows.num_rows)
    for suite, count in failed.items():
        share = count / max(1, evaluated[suite])
        if share > settings.fail_share:
            summary.failing_suites[suite] = (
                f"{count}/{evaluated[suite]} rows failed ({share:.0%} > fail_share {settings.fail_share:.0%})"
            )
    logger.info(
        "done: %d new files → %d landed, %d duplicates, %d quarantined; %d articles; %d deferred",
        summary.new_files,
        summary.landed,
        summary.duplicates,
        summary.quarantined,
        summary.articles,
        summary.deferred,
    )


@contextmanager
def _progress(settings: Settings, total: int) -> Iterator[Callable[[int], None]]:
    if not settings.progress:
        yield lambda n: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("enriching"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True
    ) as bar:
        job = bar.add_task("enrich", total=total)
        yield lambda n: bar.advance(job, n)


def summary_markdown(summary: RunSummary, settings: Settings) -> str:
    rate = summary.new_files / summary.seconds if summary.seconds else 0.0
    lines = [
        f"# {summary.name}",
        "",
        f"Source `{settings.source}` → warehouse `{summary.warehouse}` · enricher `{ENRICHER_VERSION}`",
        "",
        "| files seen | new/changed | landed | duplicates | quarantined | deferred | deleted | articles | seconds | files/s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {summary.files_seen} | {summary.new_files} | {summary.landed} | {summary.duplicates} | {summary.quarantined} "
        f"| {summary.deferred} | {summary.deleted} | {summary.articles} | {summary.seconds:.1f} | {rate:.1f} |",
        "",
        "## Languages",
        "",
        "| language | articles |",
        "|---|---:|",
        *(f"| {code} | {count} |" for code, count in summary.languages.most_common()),
    ]
    if summary.reasons:
        lines += ["", "## Quarantine reasons", "", "| reason_code | rows |", "|---|---:|"]
        lines += [f"| {code} | {count} |" for code, count in summary.reasons.most_common()]
    if summary.failing_suites:
        lines += ["", "## Failing suites", ""] + [f"- **{s}**: {m}" for s, m in summary.failing_suites.items()]
    return "\n".join(lines)


def _publish(summary: RunSummary, settings: Settings) -> None:
    """Name the run after what it did, and leave a summary and the quarantine list in the UI."""
    create_markdown_artifact(
        key="ingest-summary", markdown=summary_markdown(summary, settings), description=summary.name
    )
    if summary.quarantined_files:
        create_table_artifact(
            key="quarantined-files", table=summary.quarantined_files[:1000], description="quarantined files and rows"
        )
    if flow_run.id:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            client.update_flow_run(flow_run.id, name=summary.name)
