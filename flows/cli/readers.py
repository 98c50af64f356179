"""Commands that read a warehouse: ``sql``, ``duckdb``, ``status``, ``docs``, ``report``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from flows.cli.errors import CommandFailed, UsageProblem, one_line, say_error
from flows.cli.options import WarehouseOption, build_settings, console, require_warehouse

FORMATS = ("table", "csv", "json")


def sql(
    query: Annotated[
        str,
        typer.Argument(
            help="read-only SQL over the views: articles, article_versions, files, file_status, quarantine, "
            "validations, runs, entities, quotes, near_duplicates"
        ),
    ],
    warehouse: WarehouseOption = None,
    format: Annotated[str, typer.Option("--format", help="table | csv | json")] = "table",
) -> None:
    """Run a read-only query against the warehouse (SELECT, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN)."""
    if format not in FORMATS:
        raise UsageProblem(f"--format must be table, csv or json, not {format!r}")
    settings = build_settings(warehouse=warehouse)
    require_warehouse(settings)
    import duckdb

    from tasks.ops.sql_console import BadQuery, ConsoleFailed, NotReadOnly, run
    from tasks.ops.sql_console import console as open_console
    from tasks.store.lake import Warehouse

    try:
        connection = open_console(Warehouse.of(settings))
    except (duckdb.Error, OSError, ConsoleFailed) as error:
        raise CommandFailed(f"cannot open the warehouse views: {one_line(error)}") from None

    def stuck(message: str) -> None:  # DuckDB still planning past the time limit: it ignores interrupt()
        say_error("wirehouse: error:", message)
        sys.stderr.flush()
        os._exit(1)

    with connection:  # the check runs on the locked-down connection: nothing parses the query before
        try:
            columns, rows = run(connection, query, timeout=settings.console_timeout_seconds, stuck=stuck)
        except (NotReadOnly, BadQuery) as error:  # refused, a typo, an unknown column, a bad cast
            raise UsageProblem(one_line(error)) from None
        except ConsoleFailed as error:  # the warehouse's files, memory, the time limit, or DuckDB itself
            raise CommandFailed(one_line(error)) from None
    print_rows(columns, rows, format)


def print_rows(columns: list[str], rows: list[tuple[Any, ...]], format: str) -> None:
    """Rows on stdout as a table, CSV or JSON (a list of objects)."""
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


def duckdb_cli(ctx: typer.Context, warehouse: WarehouseOption = None) -> None:
    """The DuckDB CLI with the lake attached read-only (further arguments go to duckdb, e.g. -c "SELECT …")."""
    settings = build_settings(warehouse=warehouse)
    require_warehouse(settings)
    import shutil
    import subprocess
    import tempfile

    import duckdb

    from tasks.store.lake import Warehouse

    cli = Path(sys.executable).with_name("duckdb")
    executable = str(cli) if cli.exists() else shutil.which("duckdb")
    if executable is None:
        raise CommandFailed("the duckdb executable is missing: pip install duckdb-cli")
    home = Warehouse.of(settings)
    try:  # attach once here: a lake that cannot be read is one line and exit 1, not the CLI's own errors
        home.connect().close()
    except (duckdb.Error, OSError) as error:
        raise CommandFailed(f"cannot attach the lake: {one_line(error)}") from None
    script = "".join(f"{statement};\n" for statement in home.setup_sql())  # with the S3 secret: never on disk for long
    script += f"{home.attach_sql(read_only=True)};\nUSE lake;\n"
    with tempfile.NamedTemporaryFile("w", suffix=".sql", encoding="utf-8") as init:
        init.write(script)
        init.flush()
        code = subprocess.call([executable, "-init", init.name, *ctx.args])
    if code:
        raise typer.Exit(1)


def status(
    warehouse: WarehouseOption = None, last: Annotated[int, typer.Option(min=0, help="runs to show")] = 10
) -> None:
    """Recent runs and what the warehouse holds."""
    settings = build_settings(warehouse=warehouse)
    require_warehouse(settings)
    from tasks.ops.status import warehouse_status
    from tasks.store.lake import Warehouse

    now = warehouse_status(Warehouse.of(settings), settings.sql, last=last)
    print_rows(now.run_columns, now.runs, "table")
    console.print(
        f"articles {now.articles} (versions {now.versions}) · source files {now.source_files} "
        f"· quarantine rows {now.quarantine_rows}"
    )
    if now.stale:
        console.print(
            f"{now.older_articles} articles carry older enrichment ({', '.join(now.stale)}): "
            "`wirehouse reenrich` recomputes it from the stored text",
            markup=False,
            highlight=False,
        )


def _open(path: Path, open_it: bool) -> None:
    console.print(str(path), soft_wrap=True)
    if open_it:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())


def docs(
    warehouse: WarehouseOption = None,
    validate: Annotated[
        bool, typer.Option(help="run each table's GE Checkpoint over what the warehouse holds now")
    ] = True,
    open_it: Annotated[bool, typer.Option("--open/--no-open", help="open the index in a browser")] = True,
) -> None:
    """Build Great Expectations Data Docs offline into <warehouse>/docs/ and open the index."""
    settings = build_settings(warehouse=warehouse)
    require_warehouse(settings)
    from tasks.ops.report import build_docs
    from tasks.store.lake import Warehouse

    _open(build_docs(Warehouse.of(settings), settings.sql, settings.expectations, validate=validate), open_it)


def report(
    warehouse: WarehouseOption = None,
    output: Annotated[Path | None, typer.Option(help="where to write (default <warehouse>/report.html)")] = None,
    open_it: Annotated[bool, typer.Option("--open/--no-open", help="open it in a browser")] = False,
) -> None:
    """Write a self-contained HTML report with charts (no network needed to view it)."""
    settings = build_settings(warehouse=warehouse)
    require_warehouse(settings)
    if output is not None and not output.parent.is_dir():
        raise UsageProblem(f"--output: no folder {output.parent}")
    from tasks.ops.report import write_report
    from tasks.store.lake import Warehouse

    _open(write_report(Warehouse.of(settings), settings.sql, output), open_it)
