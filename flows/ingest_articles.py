"""The ``ingest-articles`` flow: discover → enrich → validate → land, one batch at a time."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote

from tasks.enrich.pool import IsolatingPool
from tasks.enrich.steps import ENRICHER_VERSION, EnrichJob, EnrichOutput, failed_output, warm_worker
from tasks.faults import crash_point
from tasks.models import Reason
from tasks.prefect_tasks import discover_changes, enrich_batch, enrich_chunk, land, read_batch, validate
from tasks.quality.suites import Validator
from tasks.settings import Settings
from tasks.sources.locations import (
    display_location,
    is_remote,
    local_path,
    open_source,
    redact,
    source_tag,
    url_credentials,
)
from tasks.store.ingest import Ledger, MapFn, RunInfo, StartedBatch, batches, deletion_rows, run_row
from tasks.store.lake import Warehouse
from tasks.store.schema import table_from_rows
from tasks.store.writer import WarehouseBusy, Writer, new_batch_id, utc_now, writer

T = TypeVar("T")
# Files per enrichment chunk, the unit a worker enriches component by component (tasks.enrich.steps.enrich_jobs):
# large enough to keep each component's tables in cache across articles, small enough to balance the workers.
CHUNK_FILES = 64


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
    unchanged: int = 0  # touched (new mtime), same bytes: nothing to do
    quarantined: int = 0
    deferred: int = 0
    deleted: int = 0
    unlisted: int = 0  # folders that could not be listed (nothing under them was marked deleted)
    articles: int = 0
    rows_quarantined: int = 0
    seconds: float = 0.0
    languages: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    failing_suites: dict[str, str] = field(default_factory=dict)
    quarantined_files: list[dict[str, str]] = field(default_factory=list)
    warehouse: str = ""
    message: str = ""
    validator: Validator | None = None  # the run's GE results and per-suite totals (None if nothing was new)
    docs_page: str = ""  # the run's Data Docs page
    events: list[str] = field(default_factory=list)  # custom Prefect events this run emitted

    @property
    def name(self) -> str:
        return f"ingest {self.new_files} new · {self.quarantined} quarantined"


@contextmanager
def enrichment_map(workers: int, runner: str = "local", *, file_timeout: float = 30.0) -> Iterator[MapFn]:
    """Where enrichment runs: worker processes started once per run (langdetect loads once per worker), each
    file under a time budget and isolated from the others (``tasks.enrich.pool``), or the flow's Dask task runner.

    Either way the work starts when ``map_fn`` is called and its results are consumed later, so the
    flow can hand batch n+1 to the workers before it validates and lands batch n.
    """
    if runner == "dask":

        def submitted(fn: Callable[[Any], Any], items: list[Any]) -> Iterable[Any]:
            size = max(10, -(-len(items) // (workers * 4)))  # a few chunks per worker: balance vs per-task cost
            chunks = chunked(items, size)
            return _dask_outputs(fn, chunks, [enrich_chunk.submit(fn, chunk) for chunk in chunks])

        yield submitted
        return
    with IsolatingPool[EnrichJob, EnrichOutput](workers, file_timeout, initializer=warm_worker) as pool:

        def pooled(fn: Callable[[Any], Any], items: list[Any]) -> Iterable[Any]:
            size = max(1, min(CHUNK_FILES, len(items) // (workers * 8)))
            return pool.map_chunks(fn, chunked(items, size), failed_output)

        yield pooled


def _dask_outputs(fn: Callable[[Any], Any], chunks: list[list[Any]], futures: list[Any]) -> Iterator[Any]:
    """A Dask chunk that fails (its worker died: KilledWorker, or the task raised) is retried file by file;
    a file that fails alone is quarantined. (The per-file time budget is the local pool's.)"""
    for chunk, future in zip(chunks, futures, strict=True):
        try:
            yield from future.result()
            continue
        except Exception:
            pass
        for job, single in [(job, enrich_chunk.submit(fn, [job])) for job in chunk]:
            try:
                yield from single.result()
            except Exception as error:
                crashed = type(error).__name__ == "KilledWorker"
                reason = Reason.WORKER_CRASHED if crashed else Reason.ENRICH_ERROR
                yield failed_output(job, reason, f"Dask task failed: {type(error).__name__}: {error}"[:2000])


def chunked(items: list[T], size: int) -> list[list[T]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def opaque(value: T) -> T:
    """A task argument Prefect passes through without walking it: it would visit every row of a batch
    looking for futures (measured: a third of the main process's time at 1,000-file batches)."""
    return cast(T, quote(value))


def dask_task_runner(settings: Settings) -> Any:
    """prefect-dask's runner: the cluster at ``dask_address``, or a LocalCluster of ``workers`` processes."""
    from prefect_dask.task_runners import DaskTaskRunner

    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={
            "n_workers": settings.workers,
            "threads_per_worker": 1,  # langdetect is pure Python: processes, not threads
            "processes": True,
            "dashboard_address": None,
        },
    )


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
    summary = RunSummary(run_id, warehouse=warehouse.location())
    try:
        with writer(warehouse, settings.sql, timeout=_lock_wait(settings)) as session:
            _run(settings, session, summary, run_id, started, started_at)
    except WarehouseBusy as busy:
        summary.status = "skipped"
        waited = "" if settings.lock == "skip" else f" for {settings.lock_timeout_seconds:.0f}s"
        summary.message = f"{busy}{waited}; skipped (lock={settings.lock})"
        logger.warning(summary.message)
        return summary
    _publish(summary, settings)
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
    _mark_crashed_runs(ledger, session)
    common = {
        "source": display_location(settings.source),
        "started_at": started_at,
        "snapshot_before": session.snapshot(),  # `ATTACH … (SNAPSHOT_VERSION n)`: the lake as it was before this run
    }
    session.commit({"runs": run_row(run_id, status="running", **common)}, batch_id=new_batch_id(utc_now()))
    try:
        _ingest(settings, session, ledger, summary, run_id)
    except BaseException as error:
        summary.status = "failed"
        summary.message = redact(f"{type(error).__name__}: {error}")
        raise
    finally:
        crash_point("run_record")
        summary.seconds = time.perf_counter() - started
        session.commit(
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
    if settings.compact_threshold and session.compaction_debt() >= settings.compact_threshold:
        compacted = session.compact(keep_snapshots=timedelta(days=settings.snapshot_retention_days))
        logger.info(
            "compacted %d data files into %d in %.1fs", compacted.files_before, compacted.files_after, compacted.seconds
        )


def _mark_crashed_runs(ledger: Ledger, session: Writer) -> None:
    stale = ledger.stale_runs()
    if stale:
        rows = [
            {**row, "status": "crashed", "recorded_at": utc_now(), "message": "the run was killed before it finished"}
            for row in stale
        ]
        session.commit({"runs": table_from_rows("runs", rows)}, batch_id=new_batch_id(utc_now()))
        get_run_logger().warning("marked %d interrupted run(s) as crashed", len(stale))


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
        summary.status = "skipped"
        summary.message = f"source folder not found: {redact(settings.source)}; skipped, nothing marked deleted"
        logger.warning(summary.message)
        return
    source = open_source(settings.source, storage_options=_storage_options(settings))
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
            started = None if rows is None else read_batch(rows, info, ledger, opaque(shas)).hand_off(map_fn)
            if in_flight is None:
                in_flight = started
                continue
            prepared = enrich_batch(opaque(in_flight), info, ledger)
            in_flight = started
            validated = validate(opaque(prepared), validator, run_id)
            outcome = land(opaque(validated), opaque(session))
            _emit_landed(outcome, settings, run_id, summary)
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
        summary.status = "failed"
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


SPIKE_SHARE = 0.2  # a run quarantining more than this share of its new files emits wirehouse.quarantine.spike
SPIKE_MIN_FILES = 3  # … and at least this many (one bad file in a run of two is not a spike)


def _resource(settings: Settings) -> dict[str, str]:
    """The Prefect event resource for this warehouse: automations match on ``prefect.resource.id``."""
    root = str(settings.warehouse.resolve())
    return {"prefect.resource.id": f"wirehouse.warehouse.{root}", "prefect.resource.name": root}


def _emit(summary: RunSummary, event: str, settings: Settings, payload: dict[str, Any]) -> None:
    from prefect.events import emit_event

    emitted = emit_event(event=event, resource=_resource(settings), payload=payload)
    if emitted is not None:
        summary.events.append(event)


def _emit_landed(outcome: Any, settings: Settings, run_id: str, summary: RunSummary) -> None:
    """``wirehouse.batch.landed``: one event per committed batch, with its counts."""
    _emit(
        summary,
        "wirehouse.batch.landed",
        settings,
        {
            "flow_run_id": run_id,
            "batch_id": outcome.batch_id,
            "source": display_location(settings.source),
            "files": outcome.files,
            "landed": outcome.landed,
            "duplicates": outcome.duplicates,
            "quarantined": outcome.quarantined,
            "articles": outcome.articles,
            "rows_quarantined": outcome.rows_quarantined,
        },
    )


def _suite_lines(summary: RunSummary) -> list[str]:
    totals = summary.validator.totals if summary.validator else {}
    if not totals:
        return []
    lines = [
        "",
        "## Great Expectations",
        "",
        "| suite | result | batches | rows | failed rows | success |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for suite, t in sorted(totals.items()):
        if t.is_broken:
            verdict = "❌ broken: fails the run"
        elif suite in summary.failing_suites:
            verdict = "❌ fails the run"
        else:
            verdict = "⚠️ rows quarantined" if t.failed_rows else "✅ passed"
        lines.append(
            f"| {suite} | {verdict} | {t.batches} | {t.evaluated_rows} | {t.failed_rows} | {t.success_share:.1%} |"
        )
    failing = [(suite, name, e) for suite, t in sorted(totals.items()) for name, e in t.expectations.items()]
    if failing:
        lines += ["", "| suite | failing expectation | unexpected | examples |", "|---|---|---:|---|"]
        for suite, name, e in failing:
            examples = ", ".join(f"`{_cell(x)}`" for x in e["examples"]) or _cell(e.get("error", ""))
            lines.append(f"| {suite} | `{name}` | {e['unexpected_count']} | {examples} |")
    return lines


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("`", "'").replace("\n", " ")


def summary_markdown(summary: RunSummary, settings: Settings) -> str:
    rate = summary.new_files / summary.seconds if summary.seconds else 0.0
    lines = [
        f"# {summary.name}",
        "",
        f"Source `{display_location(settings.source)}` → warehouse `{summary.warehouse}` · enricher `{ENRICHER_VERSION}`",
        "",
        "| files seen | new/changed | landed | duplicates | quarantined | deferred | deleted | articles | seconds | files/s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {summary.files_seen} | {summary.new_files} | {summary.landed} | {summary.duplicates} | {summary.quarantined} "
        f"| {summary.deferred} | {summary.deleted} | {summary.articles} | {summary.seconds:.1f} | {rate:.1f} |",
    ]
    if summary.languages:
        lines += ["", "## Languages", "", "| language | articles |", "|---|---:|"]
        lines += [f"| {code} | {count} |" for code, count in summary.languages.most_common()]
    if summary.reasons:
        lines += ["", "## Quarantine reasons", "", "| reason_code | rows |", "|---|---:|"]
        lines += [f"| {code} | {count} |" for code, count in summary.reasons.most_common()]
    lines += _suite_lines(summary)
    if summary.failing_suites:
        lines += ["", "## Failing suites", ""] + [f"- **{s}**: {m}" for s, m in summary.failing_suites.items()]
    if summary.docs_page:
        lines += ["", f"Data Docs for this run: `{summary.docs_page}` (or `wirehouse docs`)"]
    return "\n".join(lines)


def _data_docs(summary: RunSummary, settings: Settings) -> None:
    """Store this run's GE results in the warehouse's GE project and rebuild Data Docs once (not per batch)."""
    if summary.validator is None or not summary.validator.history:
        return
    from tasks.quality.suites import DataDocs

    root = settings.warehouse
    try:
        page = DataDocs(settings.expectations, root, root / "docs").record(summary.name, summary.validator.history)
    except Exception as error:  # the data has landed; a docs problem must not fail the run
        get_run_logger().warning("data docs: not updated (%s: %s)", type(error).__name__, error)
        return
    if page is not None:
        summary.docs_page = str(page)


def _publish(summary: RunSummary, settings: Settings) -> None:
    """Name and tag the run after what it did; leave a summary, the quarantine list and Data Docs in the UI."""
    logger = get_run_logger()
    started = time.perf_counter()
    _data_docs(summary, settings)
    if summary.quarantined >= SPIKE_MIN_FILES and summary.quarantined > SPIKE_SHARE * summary.new_files:
        _emit(
            summary,
            "wirehouse.quarantine.spike",
            settings,
            {
                "flow_run_id": summary.flow_run_id,
                "source": display_location(settings.source),
                "new_files": summary.new_files,
                "quarantined": summary.quarantined,
                "reasons": dict(summary.reasons.most_common()),
            },
        )
        logger.warning("quarantine spike: %d of %d new files quarantined", summary.quarantined, summary.new_files)
    create_markdown_artifact(
        key="ingest-summary", markdown=summary_markdown(summary, settings), description=summary.name
    )
    if summary.quarantined_files:
        create_table_artifact(
            key="quarantined-files", table=summary.quarantined_files[:1000], description="quarantined files and rows"
        )
    if summary.docs_page:
        from prefect.artifacts import create_link_artifact

        create_link_artifact(
            key="data-docs",
            link=Path(summary.docs_page).as_uri(),
            link_text="Great Expectations Data Docs for this run",
            description="open it from this machine (file:// link); `wirehouse docs` opens the index",
        )
    if flow_run.id:
        from prefect.client.orchestration import get_client

        tags = {f"source:{source_tag(settings.source)}", f"enricher:{ENRICHER_VERSION}"}
        with get_client(sync_client=True) as client:
            tags.update(client.read_flow_run(flow_run.id).tags or [])
            client.update_flow_run(flow_run.id, name=summary.name, tags=sorted(tags))
    logger.info(
        "publish: %s · artifacts, %d event(s), data docs %s in %.2fs",
        summary.name,
        len(summary.events),
        "updated" if summary.docs_page else "unchanged",
        time.perf_counter() - started,
    )
