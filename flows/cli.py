"""The ``wirehouse`` command: parses options, builds Settings once, calls a flow, prints with rich."""

from __future__ import annotations

import json
import os
import sys
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
    Path | None, typer.Option("--source", help="folder to ingest [env WIREHOUSE_SOURCE; default seeds/]")
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
) -> None:
    """Run one ingestion over the source folder and print a summary."""
    settings = build_settings(
        source=source,
        warehouse=warehouse,
        batch_size=batch_size,
        workers=workers,
        min_age_seconds=min_age,
        lock=lock,
        progress=sys.stderr.isatty(),
    )
    if not settings.source.is_dir():
        raise UsageProblem(f"source folder not found: {settings.source}")
    from flows.ingest_articles import RunFailed, ingest_articles

    try:
        summary = ingest_articles(settings)
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
        "quarantined": summary.quarantined,
        "deferred": summary.deferred,
        "deleted": summary.deleted,
        "articles": summary.articles,
    }
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
    assert counts is not None
    console.print(
        f"articles {counts[0]} (versions {counts[1]}) · source files {counts[2]} · quarantine rows {counts[3]}"
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
