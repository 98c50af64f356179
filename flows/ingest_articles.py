"""The ``ingest-articles`` flow: discover → enrich → validate → land, one batch at a time."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from flows.publish import emit_landed, publish
from flows.runners import dask_task_runner, enrichment_map, opaque
from flows.summary import RunFailed, RunSummary
from tasks.faults import crash_point
from tasks.models import RunStatus
from tasks.prefect_tasks import collect, discover_changes, land, read, validate
from tasks.quality.suites import Validator
from tasks.redaction import redact
from tasks.settings import Settings
from tasks.sources.locations import display_location, is_remote, local_path, open_source
from tasks.sources.object_store import url_credentials
from tasks.store.batches import RunInfo, StartedBatch, batches
from tasks.store.lake import Warehouse
from tasks.store.landing import deletion_rows, run_row
from tasks.store.ledger import Ledger
from tasks.store.schema import table_from_rows
from tasks.store.writer import WarehouseBusy, Writer, new_batch_id, retry_transient, utc_now, writer


def run_ingest(settings: Settings) -> RunSummary:
    """Run the flow with the task runner ``settings.runner`` asks for (enrichment only: landing stays here)."""
    if settings.runner == "dask":
        return ingest_articles.with_options(task_runner=dask_task_runner(settings))(settings)
    return ingest_articles(settings)


def run_name() -> str:
    """The run's name until it is renamed after what it did: the source without credentials."""
    settings = flow_run.parameters.get("settings")
    source = settings.source if isinstance(settings, Settings) else dict(settings or {}).get("source", "")
    return f"ingest {display_location(str(source))}"


@flow(name="ingest-articles", flow_run_name=run_name, log_prints=False)
def ingest_articles(settings: Settings) -> RunSummary:
    """Land every new or changed article file under ``settings.source`` into ``settings.warehouse``."""
    logger = get_run_logger()
    started = time.perf_counter()
    started_at = utc_now()
    run_id = str(flow_run.id or f"local-{new_batch_id(started_at)}")
    warehouse = Warehouse.of(settings)
    summary = RunSummary(run_id, warehouse=warehouse.display())
    try:
        with writer(
            warehouse,
            settings.sql,
            timeout=_lock_wait(settings),
            new_lake=settings.new_lake,
            retry_wait=settings.commit_retry_seconds,
        ) as session:
            _run(settings, session, summary, run_id, started, started_at)
    except WarehouseBusy as busy:
        summary.status = RunStatus.SKIPPED
        waited = "" if settings.lock == "skip" else f" for {settings.lock_timeout_seconds:.0f}s"
        summary.message = f"{busy}{waited}; skipped (lock={settings.lock})"
        logger.warning(summary.message)
        return summary
    publish(summary, settings)
    if summary.failing_suites:
        raise RunFailed(summary.message)  # "<suite>: <n>/<m> rows failed …" for each failing suite
    return summary


def _lock_wait(settings: Settings) -> float:
    return 0 if settings.lock == "skip" else settings.lock_timeout_seconds


def _run(
    settings: Settings, session: Writer, summary: RunSummary, run_id: str, started: float, started_at: datetime
) -> None:
    """Inside the writer session: record the run, ingest, record how it ended, compact when files pile up."""
    logger = get_run_logger()
    ledger = Ledger(session.connection, settings.sql)
    _mark_crashed_runs(ledger, session, run_id)
    common = {
        "source": display_location(settings.source),
        "started_at": started_at,
        "snapshot_before": session.snapshot(),  # `ATTACH … (SNAPSHOT_VERSION n)`: the lake as it was before this run
    }
    # Batch ids named after the run: a retried commit of a run record is recognised and lands once.
    session.commit({"runs": run_row(run_id, status=RunStatus.RUNNING, **common)}, batch_id=f"{run_id}:started")
    try:
        _ingest(settings, session, ledger, summary, run_id)
    except BaseException as error:
        summary.status = RunStatus.FAILED
        summary.message = redact(f"{type(error).__name__}: {error}")
        try:
            _record_end(session, summary, run_id, started, common)
        except Exception as second:  # the disk that failed the batch may fail this too: the first error is raised
            logger.error("the run's final record could not be written: %s", redact(str(second)))
        raise
    _record_end(session, summary, run_id, started, common)
    if settings.compact_threshold and session.compaction_debt() >= settings.compact_threshold:
        compacted = session.compact(keep_snapshots=timedelta(days=settings.snapshot_retention_days))
        logger.info(
            "compacted %d data files into %d in %.1fs", compacted.files_before, compacted.files_after, compacted.seconds
        )


def _record_end(session: Writer, summary: RunSummary, run_id: str, started: float, common: dict[str, Any]) -> None:
    """The run's final record: what it did and how it ended (retried after a transient error, landed once)."""

    def write() -> int:
        crash_point("run_record")
        summary.seconds = time.perf_counter() - started
        return session.commit(
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
            batch_id=f"{run_id}:ended",
        )

    retry_transient(write, wait=session.retry_wait)


def _mark_crashed_runs(ledger: Ledger, session: Writer, run_id: str) -> None:
    """Runs still ``running`` ended without their final record: Prefect's own state says whether they failed (a
    full disk can fail a run's last write too) or were killed."""
    stale = ledger.stale_runs()
    if stale:
        rows = [{**row, **_how_it_ended(str(row["flow_run_id"])), "recorded_at": utc_now()} for row in stale]
        session.commit({"runs": table_from_rows("runs", rows)}, batch_id=f"{run_id}:ended-before")
        get_run_logger().warning("recorded how %d interrupted run(s) ended", len(stale))


def _how_it_ended(flow_run_id: str) -> dict[str, str]:
    """``failed`` with Prefect's message when Prefect saw the run fail, else ``crashed``."""
    from prefect.client.orchestration import get_client

    killed = {"status": RunStatus.CRASHED.value, "message": "the run was killed before it finished"}
    try:
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(UUID(flow_run_id)).state
    except Exception:  # a local-… id, a run this server never saw, a server that is not there
        return killed
    if state is None or not state.is_failed():
        return killed
    return {"status": RunStatus.FAILED.value, "message": redact(state.message or "the run failed")}


def _storage_options(settings: Settings) -> dict[str, Any]:
    """fsspec storage options: credentials moved out of the source URL, then a Prefect Secret block's (JSON)."""
    options: dict[str, Any] = {}
    if settings.source_credentials is not None:
        protocol = settings.source.split("://", 1)[0]
        options |= url_credentials(protocol, settings.source_credentials.get_secret_value())
    if not settings.credentials_block:
        return options
    from prefect.blocks.system import Secret

    value = Secret.load(settings.credentials_block).get()  # type: ignore[union-attr]  # sync call: async_dispatch
    block = json.loads(value) if isinstance(value, str) else value
    if not isinstance(block, dict):
        raise ValueError(
            f"Secret block {settings.credentials_block!r} must hold a JSON object of fsspec storage options"
        )
    return options | block


def _ingest(settings: Settings, session: Writer, ledger: Ledger, summary: RunSummary, run_id: str) -> None:
    logger = get_run_logger()
    if not is_remote(settings.source) and not local_path(settings.source).is_dir():  # an unmounted source
        summary.status = RunStatus.SKIPPED
        summary.message = f"source folder not found: {redact(settings.source)}; skipped, nothing marked deleted"
        logger.warning(summary.message)
        return
    lake_folders = [settings.warehouse, settings.data_path]  # a lake inside its own source never ingests itself
    source = open_source(settings.source, storage_options=_storage_options(settings), exclude=lake_folders)
    changes = discover_changes(source, ledger, settings.min_age_seconds)
    summary.files_seen = changes.files_seen
    summary.unlisted = len(changes.unlisted)
    summary.new_files = changes.pending.num_rows
    summary.deferred = changes.deferred
    if changes.deleted.num_rows:
        rows = deletion_rows(changes.deleted, run_id, new_batch_id(utc_now()))
        session.commit({"files": table_from_rows("files", rows)}, batch_id=rows[0]["batch_id"])
        summary.deleted = len(rows)
        logger.info("deleted: %d files no longer in the source, marked deleted (their data is kept)", len(rows))
    if not changes.pending.num_rows:
        logger.info("nothing new under %s", display_location(settings.source))
        return
    info = RunInfo(run_id, source, settings.max_file_bytes, settings.max_decompressed_bytes)
    validator = Validator(settings.expectations)
    workers = settings.workers if settings.runner == "dask" else min(settings.workers, summary.new_files)
    with (
        enrichment_map(workers, settings.runner, file_timeout=settings.file_timeout_seconds) as map_fn,
        _progress(settings, summary.new_files) as advance,
    ):
        # Batch n+1 is read and handed to the workers before batch n is validated and landed by this,
        # the single writer: the workers never wait for Great Expectations, Parquet or Prefect.
        in_flight: StartedBatch | None = None
        for rows in [*batches(changes.pending, settings.batch_size), None]:
            shas = in_flight.shas if in_flight else frozenset()
            started = None if rows is None else read(rows, info, ledger, opaque(shas)).hand_off(map_fn)
            if in_flight is None:
                in_flight = started
                continue
            prepared = collect(opaque(in_flight), info, ledger)
            in_flight = started
            validated = validate(opaque(prepared), validator, run_id)
            outcome = land(opaque(validated), opaque(session))
            emit_landed(outcome, settings, run_id, summary)
            summary.landed += outcome.landed
            summary.duplicates += outcome.duplicates
            summary.unchanged += outcome.unchanged
            summary.quarantined += outcome.quarantined
            summary.articles += outcome.articles
            summary.rows_quarantined += outcome.rows_quarantined
            summary.languages.update(outcome.languages)
            summary.reasons.update(outcome.reasons)
            summary.quarantined_files.extend(outcome.quarantined_files)
            advance(len(prepared.files))
    summary.validator = validator
    for suite, totals in validator.totals.items():  # the Validator sums every suite over the run's batches
        why = totals.failure(
            settings.fail_share
        )  # broken (an expectation errored or failed as a whole), or too many rows
        if why:
            summary.failing_suites[suite] = why
    if summary.failing_suites:  # the runs row says failed too, not only Prefect
        summary.status = RunStatus.FAILED
        summary.message = "; ".join(f"{s}: {m}" for s, m in summary.failing_suites.items())
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
