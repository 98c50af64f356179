"""The run's row in ``runs``: recorded ``running`` when it starts, rewritten once with what it did when it ends."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

import pyarrow as pa
from prefect import get_run_logger
from prefect.runtime import flow_run

from flows.summary import RunSummary
from tasks.faults import crash_point
from tasks.models import RunStatus
from tasks.redaction import redact
from tasks.settings import Settings
from tasks.sources.locations import display_location
from tasks.store.landing import run_row
from tasks.store.ledger import Ledger
from tasks.store.schema import table_from_rows
from tasks.store.writer import Writer, new_batch_id, retry_transient, utc_now


@dataclass(frozen=True, slots=True)
class RunRecord:
    """What the start and the end records of one run share."""

    run_id: str
    source: str
    started_at: datetime
    started: float  # time.perf_counter() at the start, for the run's duration
    snapshot_before: int | None = None  # `ATTACH … (SNAPSHOT_VERSION n)`: the lake as it was before this run


def begin_run(settings: Settings) -> RunRecord:
    """The run as it begins, before it waits for the writer lock (its duration includes the wait)."""
    started_at = utc_now()
    run_id = str(flow_run.id or f"local-{new_batch_id(started_at)}")
    return RunRecord(run_id, display_location(settings.source), started_at, time.perf_counter())


def record_run_start(session: Writer, settings: Settings, run: RunRecord) -> RunRecord:
    """Mark runs that ended without their final record, then record this one as ``running``."""
    _mark_interrupted_runs(Ledger(session.connection, settings.sql), session, run.run_id)
    run = replace(run, snapshot_before=session.snapshot())
    # Batch ids named after the run: a retried commit of a run record is recognised and lands once.
    session.commit({"run_records": _row(run, status=RunStatus.RUNNING)}, batch_id=f"{run.run_id}:started")
    return run


def record_run_end(session: Writer, run: RunRecord, summary: RunSummary) -> None:
    """The run's final record: what it did and how it ended (retried after a transient error, landed once)."""

    def write() -> int:
        crash_point("run_record")
        summary.seconds = time.perf_counter() - run.started
        row = _row(
            run,
            status=summary.status,
            finished_at=utc_now(),
            duration_s=summary.seconds,
            flow_run_name=summary.name,
            message=summary.message or None,
            **summary.counts.run_columns(),
        )
        return session.commit({"run_records": row}, batch_id=f"{run.run_id}:ended")

    retry_transient(write, wait=session.retry_wait)


def record_run_failed(session: Writer, run: RunRecord, summary: RunSummary, error: BaseException) -> None:
    """Record the run as failed with its error; a failure to write that is logged (the caller raises ``error``)."""
    summary.status = RunStatus.FAILED
    summary.message = redact(f"{type(error).__name__}: {error}")
    try:
        record_run_end(session, run, summary)
    except Exception as second:  # the disk that failed the batch may fail this too: the first error is raised
        said = " ".join(str(second).split())  # one line: a terminal reader tells log records apart by their lines
        get_run_logger().error("the run's final record could not be written: %s", redact(said))


def _row(run: RunRecord, **values: Any) -> pa.Table:
    return run_row(
        run.run_id, source=run.source, started_at=run.started_at, snapshot_before=run.snapshot_before, **values
    )


def _mark_interrupted_runs(ledger: Ledger, session: Writer, run_id: str) -> None:
    """Runs still ``running`` ended without their final record: Prefect's own state says whether they failed (a
    full disk can fail a run's last write too) or were killed."""
    stale = ledger.stale_runs()
    if stale:
        rows = [{**row, **_how_it_ended(str(row["flow_run_id"])), "recorded_at": utc_now()} for row in stale]
        session.commit({"run_records": table_from_rows("run_records", rows)}, batch_id=f"{run_id}:ended-before")
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
