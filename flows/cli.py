"""The ``wirehouse`` command: parses options, builds Settings once, calls a flow, prints with rich."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from tasks.settings import Settings

try:  # typer ≥ 0.2x vendors its own click: its exceptions are the ones raised
    from typer._click import exceptions as cli_errors
except ImportError:  # pragma: no cover - older typer on plain click
    from click import exceptions as cli_errors  # type: ignore[no-redef]

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Ingest, enrich, validate and query news articles.")
console = Console()
errors = Console(stderr=True, soft_wrap=True)

QUIET_OFFLINE = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "PREFECT_UI_ENABLED": os.environ.get("PREFECT_UI_ENABLED", "true"),
    "GX_ANALYTICS_ENABLED": "false",
}


class UsageProblem(cli_errors.UsageError):
    """A bad command line or configuration: one line on stderr, exit code 2."""


def build_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise UsageProblem(f"invalid {where}: {first['msg']}") from None


def _require_warehouse(settings: Settings) -> None:
    if not (settings.warehouse / "data" / "current").exists():
        raise UsageProblem(f"no warehouse at {settings.warehouse}: run `wirehouse run` first")


SourceOption = Annotated[
    str | None,
    typer.Option(
        "--source", help="folder or URL (s3://bucket/prefix/, gs://, az://) [env WIREHOUSE_SOURCE; default seeds/]"
    ),
]
WarehouseOption = Annotated[
    Path | None, typer.Option("--warehouse", help="warehouse folder [env WIREHOUSE_WAREHOUSE; default warehouse/]")
]


@app.command()
def run(
    source: SourceOption = None,
    warehouse: WarehouseOption = None,
    batch_size: Annotated[int | None, typer.Option(help="articles per committed batch")] = None,
    workers: Annotated[int | None, typer.Option(help="enrichment processes (default: all cores)")] = None,
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
        progress=sys.stderr.isatty(),
    )
    from tasks.sources import is_remote, local_path

    if not is_remote(settings.source) and not local_path(settings.source).is_dir():
        raise UsageProblem(f"source folder not found: {settings.source}")
    from flows.ingest_articles import RunFailed, run_ingest

    try:
        summary = run_ingest(settings)
    except RunFailed as error:
        errors.print(f"[red]run failed:[/red] {error}")
        raise typer.Exit(1) from None
    except Exception as error:  # a pipeline error: the flow run is already marked Failed in Prefect
        errors.print(f"[red]run failed:[/red] {type(error).__name__}: {error}")
        raise typer.Exit(1) from None
    print_summary(summary)


def print_summary(summary: Any) -> None:
    if summary.status == "skipped":
        console.print(f"[yellow]skipped:[/yellow] {summary.message}")
        return
    counts = {
        "files seen": summary.files_seen,
        "new": summary.new_files,
        "landed": summary.landed,
        "duplicates": summary.duplicates,
        "unchanged": summary.unchanged,
        "quarantined": summary.quarantined,
        "deferred": summary.deferred,
        "deleted": summary.deleted,
        "articles": summary.articles,
    }
    if not summary.unchanged:
        del counts["unchanged"]
    console.print(f"[bold]{summary.name}[/bold]")
    console.print(" · ".join(f"{name} [bold]{n}[/bold]" for name, n in counts.items()), soft_wrap=True)
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


@app.command()
def sql(
    query: Annotated[
        str,
        typer.Argument(
            help="SQL over the views: articles, article_versions, files, file_status, quarantine, validations, runs"
        ),
    ],
    warehouse: WarehouseOption = None,
    format: Annotated[str, typer.Option("--format", help="table | csv | json")] = "table",
) -> None:
    """Run a read-only query against the warehouse."""
    if format not in {"table", "csv", "json"}:
        raise UsageProblem(f"--format must be table, csv or json, not {format!r}")
    settings = build_settings(warehouse=warehouse)
    _require_warehouse(settings)
    import duckdb

    from tasks.storage import Warehouse, refresh_views

    home = Warehouse(settings.warehouse)
    refresh_views(home, settings.sql)
    with duckdb.connect(str(home.db_path), read_only=True) as connection:
        try:
            result = connection.execute(query)
        except duckdb.Error as error:
            raise UsageProblem(str(error).splitlines()[0]) from None
        columns = [d[0] for d in result.description or []]
        rows = result.fetchall()
    _print_rows(columns, rows, format)


def _print_rows(columns: list[str], rows: list[tuple[Any, ...]], format: str) -> None:
    if format == "json":
        print(
            json.dumps(
                [dict(zip(columns, row, strict=True)) for row in rows], ensure_ascii=False, default=str, indent=2
            )
        )
    elif format == "csv":
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    else:
        table = Table(*columns)
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        console.print(table)


@app.command()
def status(warehouse: WarehouseOption = None, last: Annotated[int, typer.Option(help="runs to show")] = 10) -> None:
    """Recent runs and what the warehouse holds."""
    settings = build_settings(warehouse=warehouse)
    _require_warehouse(settings)
    from tasks.storage import Warehouse, query

    with query(Warehouse(settings.warehouse), settings.sql) as connection:
        runs = connection.execute(
            "SELECT strftime(started_at, '%Y-%m-%d %H:%M:%S') AS started, status, new_files AS new, landed, "
            "duplicates, quarantined, deleted, round(duration_s, 1) AS seconds "
            "FROM runs ORDER BY started_at DESC LIMIT ?",
            [last],
        )
        _print_rows([d[0] for d in runs.description or []], runs.fetchall(), "table")
        counts = connection.execute(
            "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM article_versions), "
            "(SELECT count(*) FROM file_status WHERE status <> 'deleted'), (SELECT count(*) FROM quarantine)"
        ).fetchone()
        versions = connection.execute("SELECT enricher_version, count(*) FROM articles GROUP BY 1").fetchall()
    assert counts is not None
    console.print(
        f"articles {counts[0]} (versions {counts[1]}) · source files {counts[2]} · quarantine rows {counts[3]}"
    )
    from tasks.enrich import ENRICHER_VERSION
    from tasks.reenrich import stale_components

    stale = stale_components(version for version, _ in versions)
    if stale:
        older = sum(n for version, n in versions if version != ENRICHER_VERSION)
        console.print(
            f"{older} articles carry older enrichment ({', '.join(stale)}): "
            "`wirehouse reenrich` recomputes it from the stored text",
            markup=False,
            highlight=False,
        )


@app.command()
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
    _require_warehouse(settings)
    from tasks.ingest import requeue_files
    from tasks.storage import Warehouse

    paths = requeue_files(
        Warehouse(settings.warehouse), settings.sql, Reason(reason), path, lock_timeout=settings.lock_timeout_seconds
    )
    for source_path in paths[:20]:
        console.print(f"  {source_path}", markup=False, highlight=False)
    more = " (first 20 listed)" if len(paths) > 20 else ""
    console.print(f"requeued {len(paths)} file(s) quarantined as {reason}{more}: the next run reads them again")


@app.command()
def compact(warehouse: WarehouseOption = None) -> None:
    """Merge small Parquet batch files into large ones, atomically; query results stay the same."""
    settings = build_settings(warehouse=warehouse)
    _require_warehouse(settings)
    from filelock import FileLock

    from tasks.compact import compact as compact_warehouse
    from tasks.storage import Warehouse, refresh_views

    home = Warehouse(settings.warehouse)
    with FileLock(home.lock_path, timeout=settings.lock_timeout_seconds):  # the single writer
        home.recover()
        result = compact_warehouse(home)
        refresh_views(home, settings.sql)
    console.print(
        f"compacted {result.batches_before} batches into {result.batches_after} "
        f"({result.files_merged} files merged, {result.files_linked} kept) in {result.seconds:.1f}s"
    )


@app.command()
def reenrich(
    warehouse: WarehouseOption = None,
    only: Annotated[
        list[str] | None,
        typer.Option(
            help="component to recompute (repeatable): language|metadata|entities|quotes|keywords|fingerprint"
        ),
    ] = None,
    workers: Annotated[int | None, typer.Option(help="enrichment processes (default: all cores)")] = None,
) -> None:
    """Recompute enrichment from the stored text (no source file is read), atomically; default: stale components."""
    settings = build_settings(warehouse=warehouse, workers=workers)
    _require_warehouse(settings)
    from flows.ingest_articles import warehouse_lock
    from tasks.reenrich import COMPONENTS
    from tasks.reenrich import reenrich as reenrich_warehouse
    from tasks.storage import Warehouse, refresh_views

    bad = sorted(set(only or ()) - set(COMPONENTS))
    if bad:
        raise UsageProblem(f"unknown component {', '.join(bad)}: choose from {', '.join(COMPONENTS)}")
    home = Warehouse(settings.warehouse)
    with warehouse_lock(home, settings) as acquired:  # the flow's single-writer lock
        if not acquired:
            raise UsageProblem("another writer holds the warehouse lock (--lock skip): try again later")
        home.recover()
        home.initialise()
        result = reenrich_warehouse(
            home, now=datetime.now(UTC), only=tuple(only) if only else None, workers=settings.workers
        )
        refresh_views(home, settings.sql)
    if not result.components:
        console.print("nothing to re-enrich: every stored article has the current component versions")
        return
    console.print(
        f"re-enriched {', '.join(result.components)} for {result.articles} articles "
        f"({result.rewritten_files} files rewritten, {result.linked_files} linked) in {result.seconds:.1f}s"
    )


@app.command()
def serve(
    source: SourceOption = None,
    warehouse: WarehouseOption = None,
    cron: Annotated[str | None, typer.Option(help='schedule, e.g. "*/15 * * * *" [env WIREHOUSE_CRON]')] = None,
) -> None:
    """Register the ingest-articles deployment on a schedule and run it (Ctrl-C pauses it)."""
    settings = build_settings(source=source, warehouse=warehouse, cron=cron)
    from flows.serve import serve_ingestion

    serve_ingestion(settings)


@app.command()
def server(
    host: Annotated[
        str, typer.Option(help="address to bind (loopback: not reachable from other machines)")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port of the UI and API")] = 4200,
) -> None:
    """Start a local Prefect server and UI, with its database under the project (.prefect/)."""
    from tasks.settings import PROJECT_ROOT

    env = {
        **os.environ,
        "PREFECT_HOME": os.environ.get("PREFECT_HOME", str(PROJECT_ROOT / ".prefect")),
        "PREFECT_UI_API_URL": f"http://{host}:{port}/api",  # the UI's default assumes port 4200
    }
    console.print(f"Prefect UI: [bold]http://{host}:{port}[/bold]  (PREFECT_HOME={env['PREFECT_HOME']})")
    console.print(f"in another shell: export PREFECT_API_URL=http://{host}:{port}/api; wirehouse serve")
    prefect = str(Path(sys.executable).with_name("prefect"))
    sys.stdout.flush()
    os.execve(prefect, [prefect, "server", "start", "--host", host, "--port", str(port)], env)  # Ctrl-C reaches it


def _open(path: Path, open_it: bool) -> None:
    console.print(str(path), soft_wrap=True)
    if open_it:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())


@app.command()
def docs(
    warehouse: WarehouseOption = None,
    validate: Annotated[
        bool, typer.Option(help="run each table's GE Checkpoint over what the warehouse holds now")
    ] = True,
    open_it: Annotated[bool, typer.Option("--open/--no-open", help="open the index in a browser")] = True,
) -> None:
    """Build Great Expectations Data Docs offline into <warehouse>/docs/ and open the index."""
    settings = build_settings(warehouse=warehouse)
    _require_warehouse(settings)
    from tasks.report import build_docs
    from tasks.storage import Warehouse

    _open(build_docs(Warehouse(settings.warehouse), settings.sql, settings.expectations, validate=validate), open_it)


@app.command()
def report(
    warehouse: WarehouseOption = None,
    output: Annotated[Path | None, typer.Option(help="where to write (default <warehouse>/report.html)")] = None,
    open_it: Annotated[bool, typer.Option("--open/--no-open", help="open it in a browser")] = False,
) -> None:
    """Write a self-contained HTML report with charts (no network needed to view it)."""
    settings = build_settings(warehouse=warehouse)
    _require_warehouse(settings)
    from tasks.report import write_report
    from tasks.storage import Warehouse

    _open(write_report(Warehouse(settings.warehouse), settings.sql, output), open_it)


@app.command()
def watch(
    source: SourceOption = None,
    warehouse: WarehouseOption = None,
    debounce: Annotated[float, typer.Option(help="seconds of quiet after a change before a run starts")] = 5.0,
) -> None:
    """Start a run whenever files appear or change in the source folder (Ctrl-C stops)."""
    settings = build_settings(source=source, warehouse=warehouse)
    from flows.watch import watch_and_ingest

    console.print(f"watching {settings.source} (debounce {debounce:g}s); Ctrl-C stops", soft_wrap=True)
    try:
        watch_and_ingest(settings, debounce_ms=int(debounce * 1000), on_run=print_summary)
    except FileNotFoundError as error:
        raise UsageProblem(str(error)) from None


def main() -> None:
    """Console entry point: usage problems are one line and exit code 2, never a traceback."""
    for key, value in QUIET_OFFLINE.items():
        os.environ.setdefault(key, value)
    try:
        app(standalone_mode=False)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        errors.print("aborted")
        sys.exit(130)
    except cli_errors.NoArgsIsHelpError:
        sys.exit(2)  # the help text is already printed
    except cli_errors.UsageError as error:
        errors.print(f"wirehouse: error: {error.format_message()}", markup=False, highlight=False)
        sys.exit(2)
    except cli_errors.ClickException as error:
        errors.print(f"wirehouse: error: {error.format_message()}", markup=False, highlight=False)
        sys.exit(error.exit_code)


if __name__ == "__main__":
    main()
