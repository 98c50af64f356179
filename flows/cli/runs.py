"""Commands that run the flow: ``run`` once, ``serve`` on a schedule, ``watch`` on changes, and ``server``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from flows.cli.errors import CommandFailed, UsageProblem, one_line, run_failed, run_failures
from flows.cli.options import SourceOption, WarehouseOption, WorkersOption, build_settings, console
from flows.cli.prefect_console import plain_prefect_console
from tasks.models import RunStatus

if TYPE_CHECKING:
    from flows.summary import RunSummary
    from tasks.settings import Settings


def run(
    source: SourceOption = None,
    warehouse: WarehouseOption = None,
    batch_size: Annotated[int | None, typer.Option(help="articles per committed batch")] = None,
    workers: WorkersOption = None,
    min_age: Annotated[float | None, typer.Option("--min-age", help="defer files modified fewer seconds ago")] = None,
    lock: Annotated[str | None, typer.Option(help="if another run holds the warehouse: wait | skip")] = None,
    runner: Annotated[str | None, typer.Option(help="enrichment runner: local (process pool) | dask")] = None,
    dask_address: Annotated[
        str | None,
        typer.Option("--dask-address", help="Dask scheduler, e.g. tcp://host:8786 (default: a local cluster)"),
    ] = None,
    credentials_block: Annotated[
        str | None, typer.Option("--credentials-block", help="Prefect Secret block with fsspec storage options (JSON)")
    ] = None,
    new_lake: Annotated[
        bool,
        typer.Option(
            "--new-lake",
            help="the catalog is gone: start an empty lake beside the old lake's files (kept, never deleted)",
        ),
    ] = False,
) -> None:
    """Run one ingestion over the source folder and print a summary."""
    settings = build_settings(
        source=source,
        warehouse=warehouse,
        batch_size=batch_size,
        workers=workers,
        min_age_seconds=min_age,
        lock=lock,
        runner=runner,
        dask_address=dask_address,
        credentials_block=credentials_block,
        new_lake=new_lake or None,
        progress=sys.stderr.isatty(),
    )
    from tasks.sources.locations import is_remote, local_path

    if not is_remote(settings.source) and not local_path(settings.source).is_dir():
        raise UsageProblem(f"source folder not found: {settings.source}")
    report_to_prefect(settings)
    from flows.ingest_articles import run_ingest

    plain_prefect_console()
    with run_failures():
        summary = run_ingest(settings)
    print_summary(summary)


def report_to_prefect(settings: Settings) -> None:
    """Before Prefect is imported: the API this command's runs report to (``flows.prefect_server``)."""
    from flows.prefect_server import ServerDidNotStart, use_prefect_api

    try:
        use_prefect_api(settings.prefect_server, settings.prefect_port)
    except ServerDidNotStart as error:
        raise CommandFailed(one_line(error)) from None


def print_summary(summary: RunSummary) -> None:
    """A run's few lines on stdout: its name, counts, languages, quarantine reasons, and a query to try."""
    if summary.status == RunStatus.SKIPPED:
        console.print(f"[yellow]skipped:[/yellow] {summary.message}")
        return
    console.print(f"[bold]{summary.name}[/bold]")
    console.print(summary.counts.line(), soft_wrap=True, markup=False)
    if summary.languages:
        console.print(
            "languages: " + ", ".join(f"{code} {n}" for code, n in summary.languages.most_common()), soft_wrap=True
        )
    if summary.reasons:
        console.print(
            "quarantine: " + ", ".join(f"{code} {n}" for code, n in summary.reasons.most_common()), soft_wrap=True
        )
    console.print(f"warehouse: {summary.warehouse}  ({summary.seconds:.1f}s)", soft_wrap=True)
    print(
        'query: .venv/bin/wirehouse sql "SELECT language, count(*) AS articles FROM articles GROUP BY 1 ORDER BY 2 DESC"'
    )


def serve(
    source: SourceOption = None,
    warehouse: WarehouseOption = None,
    cron: Annotated[str | None, typer.Option(help='schedule, e.g. "*/15 * * * *" [env WIREHOUSE_CRON]')] = None,
) -> None:
    """Register the ingest-articles deployment on a schedule and run it (Ctrl-C pauses it)."""
    settings = build_settings(source=source, warehouse=warehouse, cron=cron)
    report_to_prefect(settings)
    import httpx
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.settings import PREFECT_API_URL

    try:
        CronSchedule(cron=settings.cron)
    except ValueError:
        raise UsageProblem(f'invalid cron: {settings.cron!r} is not a cron schedule (e.g. "*/15 * * * *")') from None
    from flows.serve import serve_ingestion

    plain_prefect_console()
    try:
        serve_ingestion(settings)
    except httpx.HTTPError as error:  # unreachable, or not a Prefect API
        where = PREFECT_API_URL.value() or "the temporary server"
        raise CommandFailed(f"Prefect API at {where}: {type(error).__name__}: {one_line(error)}") from None


def server(
    host: Annotated[
        str, typer.Option(help="address to bind (loopback: not reachable from other machines)")
    ] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="port of the UI and API [env WIREHOUSE_PREFECT_PORT]")] = None,
    background: Annotated[
        bool, typer.Option("--background", help="start it detached (as `wirehouse run` does) and return")
    ] = False,
    stop: Annotated[bool, typer.Option("--stop", help="stop the background server")] = False,
) -> None:
    """Start a local Prefect server and UI, its database in PREFECT_HOME (default: .prefect/ here)."""
    port = port or build_settings().prefect_port
    if stop or background:
        from flows.prefect_server import ServerDidNotStart, ensure_background_server, stop_background_server

        if stop:
            console.print(stop_background_server(port))
            return
        try:
            url = ensure_background_server(port)
        except ServerDidNotStart as error:
            raise CommandFailed(one_line(error)) from None
        console.print(f"Prefect UI: [bold]{url.removesuffix('/api')}[/bold] (in the background; --stop stops it)")
        return
    env = {
        **os.environ,
        "PREFECT_HOME": os.environ.get("PREFECT_HOME", str(Path.cwd() / ".prefect")),
        "PREFECT_UI_API_URL": f"http://{host}:{port}/api",  # the UI's default assumes port 4200
    }
    console.print(f"Prefect UI: [bold]http://{host}:{port}[/bold]  (PREFECT_HOME={env['PREFECT_HOME']})")
    console.print(f"in another shell: export PREFECT_API_URL=http://{host}:{port}/api; wirehouse serve")
    prefect = str(Path(sys.executable).with_name("prefect"))
    sys.stdout.flush()
    os.execve(prefect, [prefect, "server", "start", "--host", host, "--port", str(port)], env)  # Ctrl-C reaches it


def watch(
    source: SourceOption = None,
    warehouse: WarehouseOption = None,
    debounce: Annotated[float, typer.Option(min=0, help="seconds of quiet after a change before a run starts")] = 5.0,
) -> None:
    """Start a run whenever files appear or change in the source folder (Ctrl-C stops)."""
    settings = build_settings(source=source, warehouse=warehouse)
    from tasks.sources.locations import is_remote

    if is_remote(settings.source):
        raise UsageProblem(f"watch needs a local source folder: {settings.source}")
    report_to_prefect(settings)
    from flows.watch import watch_and_ingest

    plain_prefect_console()
    console.print(f"watching {settings.source} (debounce {debounce:g}s); Ctrl-C stops", soft_wrap=True)
    # a failed run is reported and the watch goes on, as a schedule would
    watch_and_ingest(settings, debounce_ms=int(debounce * 1000), on_run=print_summary, on_failure=run_failed)
