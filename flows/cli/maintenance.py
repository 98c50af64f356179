"""Commands that change a warehouse in place: ``requeue``, ``compact``, ``reenrich``, each in the one writer session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from flows.cli.errors import CommandFailed, UsageProblem, one_line
from flows.cli.options import WarehouseOption, WorkersOption, build_settings, console, require_warehouse
from tasks.settings import Settings

if TYPE_CHECKING:
    from tasks.store.writer import Writer


@contextmanager
def writer_session(settings: Settings) -> Iterator[Writer]:
    """The warehouse's one writer session (tasks.store.writer.writer); another writer past the wait: exit 1, one line."""
    from tasks.store.lake import Warehouse
    from tasks.store.writer import LakeMissing, WarehouseBusy, writer

    wait = 0 if settings.lock == "skip" else settings.lock_timeout_seconds
    try:
        with writer(Warehouse.of(settings), settings.sql, timeout=wait) as session:
            yield session
    except WarehouseBusy as busy:
        raise CommandFailed(f"{busy} (waited {wait:g}s): try again later") from None
    except LakeMissing as missing:
        raise CommandFailed(one_line(missing)) from None


def requeue(
    reason: Annotated[str, typer.Option("--reason", help="reason_code whose files to read again, e.g. unreadable")],
    path: Annotated[str | None, typer.Option("--path", help="only source paths matching this glob")] = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Re-process quarantined files on the next run (after fixing them, or the pipeline)."""
    from tasks.models import Reason

    if reason not in {r.value for r in Reason}:
        raise UsageProblem(f"unknown reason code {reason!r}: one of {', '.join(r.value for r in Reason)}")
    settings = build_settings(warehouse=warehouse)
    require_warehouse(settings)
    from tasks.store.landing import requeue_files

    with writer_session(settings) as session:
        paths = requeue_files(session, settings.sql, Reason(reason), path)
    for source_path in paths[:20]:
        console.print(f"  {source_path}", markup=False, highlight=False)
    more = " (first 20 listed)" if len(paths) > 20 else ""
    console.print(f"requeued {len(paths)} file(s) quarantined as {reason}{more}: the next run reads them again")


def compact(warehouse: WarehouseOption = None) -> None:
    """DuckLake maintenance: flush inlined rows, merge small files, expire old snapshots; results stay the same."""
    settings = build_settings(warehouse=warehouse)
    require_warehouse(settings)
    with writer_session(settings) as session:
        result = session.compact(keep_snapshots=timedelta(days=settings.snapshot_retention_days))
    console.print(
        f"compacted {result.files_before} data files into {result.files_after}; "
        f"{result.snapshots_expired} snapshots older than {settings.snapshot_retention_days:g} days expired "
        f"in {result.seconds:.1f}s"
    )


def reenrich(
    warehouse: WarehouseOption = None,
    only: Annotated[
        list[str] | None,
        typer.Option(
            help="component to recompute (repeatable): language|metadata|entities|quotes|keywords|fingerprint"
        ),
    ] = None,
    workers: WorkersOption = None,
) -> None:
    """Recompute enrichment from the stored text (no source file is read), atomically; default: stale components."""
    from tasks.enrich.versions import COMPONENTS

    bad = sorted(set(only or ()) - set(COMPONENTS))
    if bad:
        raise UsageProblem(f"unknown component {', '.join(bad)}: choose from {', '.join(COMPONENTS)}")
    settings = build_settings(warehouse=warehouse, workers=workers)
    require_warehouse(settings)
    from tasks.enrich.steps import enrichment_pool
    from tasks.store.reenrich import ReenrichRefused
    from tasks.store.reenrich import reenrich as reenrich_warehouse

    with writer_session(settings) as session, enrichment_pool(settings.workers, settings.file_timeout_seconds) as pool:
        try:
            result = reenrich_warehouse(
                session,
                now=datetime.now(UTC),
                expectations=settings.expectations,
                sql_dir=settings.sql,
                pool=pool,
                only=tuple(only) if only else None,
                fail_share=settings.fail_share,
            )
        except ReenrichRefused as error:  # a suite cannot judge the rows, or too many would be quarantined
            raise CommandFailed(f"reenrich refused (the warehouse is unchanged): {one_line(error)}") from None
    if not result.components:
        console.print("nothing to re-enrich: every stored article has the current component versions")
        return
    console.print(
        f"re-enriched {', '.join(result.components)} for {result.articles} articles "
        f"({result.rewritten_batches} batches rewritten"
        + (f", {result.quarantined} rows quarantined" if result.quarantined else "")
        + (f", {result.settled_files} ledger rows settled" if result.settled_files else "")
        + f") in {result.seconds:.1f}s as snapshot {result.snapshot}"
    )
