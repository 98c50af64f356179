"""The ``ingest-articles`` flow: discover → read → enrich → validate → land, one batch at a time (README's diagram)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pyarrow as pa
from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from flows.publish import emit_landed, publish
from flows.run_record import begin_run, record_run_end, record_run_failed, record_run_start
from flows.runners import dask_task_runner, enrichment_map, opaque, pipelined
from flows.summary import RunFailed, RunSummary
from tasks.models import Counts, RunStatus
from tasks.prefect_tasks import collect, discover_changes, land, read, validate
from tasks.quality.suites import Validator
from tasks.redaction import redact
from tasks.settings import Settings
from tasks.sources.locations import Source, display_location, is_remote, local_path, open_source
from tasks.sources.object_store import url_credentials
from tasks.store.batches import RunInfo, StartedBatch, batches
from tasks.store.lake import Warehouse
from tasks.store.landing import BatchOutcome, deletion_rows
from tasks.store.ledger import Changes, Ledger
from tasks.store.schema import table_from_rows
from tasks.store.writer import WarehouseBusy, Writer, new_batch_id, utc_now, writer


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
    run = begin_run(settings)
    summary = RunSummary(run.run_id, warehouse=Warehouse.of(settings).display())
    wait = 0 if settings.lock == "skip" else settings.lock_timeout_seconds
    try:
        with writer(
            Warehouse.of(settings),
            settings.sql,
            timeout=wait,
            new_lake=settings.new_lake,
            retry_wait=settings.commit_retry_seconds,
        ) as session:
            run = record_run_start(session, settings, run)
            try:
                _ingest(settings, session, run.run_id, summary)
            except BaseException as error:
                record_run_failed(session, run, summary, error)
                raise
            record_run_end(session, run, summary)
            _compact_when_due(session, settings)
    except WarehouseBusy as busy:
        waited = "" if settings.lock == "skip" else f" for {settings.lock_timeout_seconds:.0f}s"
        _skip(summary, f"{busy}{waited}; skipped (lock={settings.lock})")
        return summary
    publish(summary, settings)
    if summary.failing_suites:
        raise RunFailed(summary.message)  # "<suite>: <n>/<m> rows failed …" for each failing suite
    return summary


def _ingest(settings: Settings, session: Writer, run_id: str, summary: RunSummary) -> None:
    """Discover, mark deletions, then per batch read → enrich → collect → validate → land; the suites' verdict.

    Batch n+1 is read and handed to the workers before batch n is collected, validated and landed by this, the
    single writer: the workers never wait for Great Expectations, Parquet or Prefect.
    """
    source = _source(settings)
    if source is None:
        _skip(summary, f"source folder not found: {redact(settings.source)}; skipped, nothing marked deleted")
        return
    ledger = Ledger(session.connection, settings.sql)
    changes = discover_changes(source, ledger, settings.min_age_seconds)
    summary.counts = _discovered(changes) + _mark_deleted(session, changes.deleted, run_id)
    if not changes.pending.num_rows:
        get_run_logger().info("nothing new under %s", display_location(settings.source))
        return
    info = RunInfo(run_id, source, settings.max_file_bytes, settings.max_decompressed_bytes)
    workers = settings.workers if settings.runner == "dask" else min(settings.workers, changes.pending.num_rows)
    with (
        ThreadPoolExecutor(1, thread_name_prefix="gx-context") as starting,
        enrichment_map(workers, settings.runner, file_timeout=settings.file_timeout_seconds) as map_fn,
        _progress(settings, changes.pending.num_rows) as advance,
    ):
        # Great Expectations' import and context (~3 s) are made while the first batch is read and enriched, not
        # before: a small run waits for the longer of the two instead of both.
        validator_ready = starting.submit(Validator, settings.expectations)

        def read_and_hand_off(rows: pa.Table, in_flight: StartedBatch | None) -> StartedBatch:
            shas = in_flight.shas if in_flight else frozenset()
            return read(rows, info, ledger, opaque(shas)).hand_off(map_fn)

        def collect_validate_land(started: StartedBatch) -> BatchOutcome:
            prepared = collect(opaque(started), info, ledger)
            validated = validate(opaque(prepared), validator_ready.result(), run_id)
            return land(opaque(validated), opaque(session))

        for outcome in pipelined(
            batches(changes.pending, settings.batch_size), read_and_hand_off, collect_validate_land
        ):
            emit_landed(outcome, settings, run_id, summary)
            summary.add(outcome)
            advance(outcome.files)
        validator = validator_ready.result()
    _verdict(summary, validator, settings.fail_share)
    get_run_logger().info("done: %s", summary.counts.line())


def _source(settings: Settings) -> Source | None:
    """The source to list, or None when a local source folder is not there (unmounted: nothing is marked deleted)."""
    if not is_remote(settings.source) and not local_path(settings.source).is_dir():
        return None
    lake_folders = [settings.warehouse, settings.data_path]  # a lake inside its own source never ingests itself
    return open_source(settings.source, storage_options=_storage_options(settings), exclude=lake_folders)


def _discovered(changes: Changes) -> Counts:
    return Counts(
        files_seen=changes.files_seen,
        new_files=changes.pending.num_rows,
        deferred=changes.deferred,
        unlisted=len(changes.unlisted),
    )


def _mark_deleted(session: Writer, deleted: pa.Table, run_id: str) -> Counts:
    """Files no longer in the source get a ``deleted`` ledger row (their data is kept)."""
    if not deleted.num_rows:
        return Counts()
    rows = deletion_rows(deleted, run_id, new_batch_id(utc_now()))
    session.commit({"files": table_from_rows("files", rows)}, batch_id=rows[0]["batch_id"])
    get_run_logger().info("deleted: %d files no longer in the source, marked deleted (their data is kept)", len(rows))
    return Counts(deleted=len(rows))


def _verdict(summary: RunSummary, validator: Validator, fail_share: float) -> None:
    """A suite that broke, or failed on more than ``fail_share`` of its rows over the run, fails the run (the runs
    row says failed too, not only Prefect)."""
    summary.validator = validator
    for suite, totals in validator.totals.items():  # the Validator sums every suite over the run's batches
        why = totals.failure(fail_share)
        if why:
            summary.failing_suites[suite] = why
    if summary.failing_suites:
        summary.status = RunStatus.FAILED
        summary.message = "; ".join(f"{s}: {m}" for s, m in summary.failing_suites.items())


def _skip(summary: RunSummary, message: str) -> None:
    summary.status = RunStatus.SKIPPED
    summary.message = message
    get_run_logger().warning(message)


def _compact_when_due(session: Writer, settings: Settings) -> None:
    if settings.compact_threshold and session.compaction_debt() >= settings.compact_threshold:
        compacted = session.compact(keep_snapshots=timedelta(days=settings.snapshot_retention_days))
        get_run_logger().info(
            "compacted %d data files into %d in %.1fs", compacted.files_before, compacted.files_after, compacted.seconds
        )


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
