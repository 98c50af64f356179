"""The only tasks/ module that imports Prefect: thin @task wrappers over the pure steps.

Tasks are coarse (one per batch and stage): Prefect's per-task overhead is ~20 ms, an article ~5 ms.
Inputs are large and not worth hashing, so no task caches (``cache_policy=NONE``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pyarrow as pa
from prefect import get_run_logger, task
from prefect.cache_policies import NONE

from tasks.enrich.steps import EnrichJob, EnrichOutput
from tasks.quality.suites import Validator
from tasks.sources.locations import Source
from tasks.store.batches import PreparedBatch, RunInfo, StartedBatch, collect_batch, read_batch
from tasks.store.landing import BatchOutcome, ValidatedBatch, land_batch, validate_batch
from tasks.store.ledger import Changes, Ledger
from tasks.store.writer import Writer


@task(name="discover", cache_policy=NONE, retries=2, retry_delay_seconds=2)
def discover_changes(source: Source, ledger: Ledger, min_age_seconds: float) -> Changes:
    started = time.perf_counter()
    now_ns = time.time_ns()
    changes = ledger.changes(source.scan(), now_ns=now_ns, min_age_ns=int(min_age_seconds * 1e9))
    logger = get_run_logger()
    logger.info(
        "discover: %d files seen, %d new or changed, %d deferred (modified < %.0fs ago), %d deleted in %.2fs",
        changes.files_seen,
        changes.pending.num_rows,
        changes.deferred,
        min_age_seconds,
        changes.deleted.num_rows,
        time.perf_counter() - started,
    )
    if changes.unlisted:
        shown = ", ".join(folder or "(the source root)" for folder in changes.unlisted[:5])
        logger.warning(
            "%d folder(s) could not be listed (%s): nothing under them is marked deleted, changes there wait",
            len(changes.unlisted),
            shown,
        )
    if changes.deletions_suppressed:
        logger.warning("the source folder looks empty but the ledger has live files: not marking them deleted")
    return changes


@task(name="read-batch", cache_policy=NONE)
def read(rows: pa.Table, info: RunInfo, ledger: Ledger, in_flight: frozenset[str]) -> StartedBatch:
    """Read, hash and de-duplicate a batch (the flow then hands it to the workers without waiting)."""
    return read_batch(rows, info, ledger, in_flight)


@task(name="enrich-chunk", cache_policy=NONE)
def enrich_chunk(fn: Callable[[list[EnrichJob]], list[EnrichOutput]], jobs: list[EnrichJob]) -> list[EnrichOutput]:
    """A slice of a batch's enrichment on a Dask worker (pure: bytes in, rows out; nothing is written)."""
    return fn(jobs)


@task(name="collect-batch", cache_policy=NONE)
def collect(started: StartedBatch, info: RunInfo, ledger: Ledger) -> PreparedBatch:
    """Wait for the batch's enrichment and settle its duplicates, late twins and rejections."""
    batch = collect_batch(started, info, ledger)
    get_run_logger().info(
        "enrich: %d files → %d articles, %d rejections in %.2fs",
        len(batch.files),
        len(batch.articles),
        len(batch.quarantine),
        time.perf_counter() - batch.started,
    )
    return batch


@task(name="validate-batch", cache_policy=NONE)
def validate(batch: PreparedBatch, validator: Validator, flow_run_id: str) -> ValidatedBatch:
    started = time.perf_counter()
    validated = validate_batch(batch, validator, flow_run_id)
    failed = {r.suite: len(r.failed_rows) for r in validated.results if not r.success}
    get_run_logger().info(
        "validate: %d suites, %s in %.2fs",
        len(validated.results),
        f"failures {failed}" if failed else "all passed",
        time.perf_counter() - started,
    )
    return validated


@task(name="land-batch", cache_policy=NONE, retries=2, retry_delay_seconds=1)
def land(validated: ValidatedBatch, session: Writer) -> BatchOutcome:
    outcome = land_batch(validated, session)
    counts = outcome.counts
    get_run_logger().info(
        "land: batch %s committed: %d landed, %d duplicates, %d quarantined files, %d articles (%.2fs total)",
        outcome.batch_id,
        counts.landed,
        counts.duplicates,
        counts.quarantined,
        counts.articles,
        outcome.seconds,
    )
    return outcome
