"""The ``wirehouse`` command: parses options, builds Settings once, calls a flow, prints with rich.

Exit codes, for every command: 0 done (a run that quarantined files included), 1 failed (the pipeline, a suite,
storage, the Prefect API), 2 usage (an option, a setting, a missing folder or warehouse), 130 interrupted. A
failure is one line on stderr (``wirehouse: error: …`` or ``run failed: …``), never a traceback.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tasks.models import RunStatus
from tasks.settings import Settings

if TYPE_CHECKING:
    from flows.summary import RunSummary

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


class CommandFailed(cli_errors.ClickException):
    """The command could not do its work (storage, a lock, the Prefect API): one line on stderr, exit code 1."""

    exit_code = 1


def one_line(message: object) -> str:
    """A message as a single line: lines joined, an embedded traceback cut to its last line, DuckDB's pointer at
    the query text (``LINE 1: …`` and a line of carets) left out, and credentials in any URL it quotes (a catalog
    URL in a connection error) redacted."""
    from tasks.redaction import redact

    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    if any(line.startswith("Traceback (most recent call last)") for line in lines):
        lines = lines[-1:]
    return redact(" ".join(line for line in lines if not _QUERY_POINTER.match(line)))


_QUERY_POINTER = re.compile(r"LINE \d+:|\^+$")


def say_error(prefix: str, message: object) -> None:
    """The one line a failure prints on stderr (red prefix in a terminal, never markup from the message)."""
    errors.print(Text(prefix, style="red") + Text(f" {one_line(message)}"), highlight=False)


def _plain_prefect_console() -> None:
    """Prefect logs a failing flow's or task's traceback on the terminal: keep its log lines there, drop the
    traceback (the run's logs in the Prefect UI keep it, and ``run failed: …`` says what broke).
    ``PREFECT_LOGGING_LEVEL=DEBUG`` keeps the tracebacks."""
    from prefect.logging.handlers import PrefectConsoleHandler

    if os.environ.get("PREFECT_LOGGING_LEVEL", "").upper() == "DEBUG":
        return
    loggers = [logging.getLogger()] + [
        logger for logger in logging.Logger.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, PrefectConsoleHandler) and not isinstance(handler.formatter, _WithoutTraceback):
                handler.setFormatter(_WithoutTraceback(handler.formatter))


class _WithoutTraceback(logging.Formatter):
    """Formats a record with another formatter, leaving out its traceback and stack."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        plain = logging.makeLogRecord(record.__dict__)  # the API handler still gets the record as it was
        plain.exc_info, plain.exc_text, plain.stack_info = None, None, None
        return self.inner.format(plain)


def build_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise UsageProblem(f"invalid {where}: {first['msg']}") from None
    except SettingsError as error:  # a WIREHOUSE_* variable that is not what its field takes (bad JSON, …)
        raise UsageProblem(f"{one_line(error)} (dict and list settings take JSON)") from None


def _require_warehouse(settings: Settings) -> None:
    from tasks.store.lake import Warehouse
    from tasks.store.writer import LakeMissing, refuse_to_start_over

    home = Warehouse.of(settings)
    try:
        refuse_to_start_over(home)
    except LakeMissing as missing:
        raise CommandFailed(one_line(missing)) from None
    if not home.exists():
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
    from flows.ingest_articles import run_ingest

    _plain_prefect_console()
    with _run_failures():
        summary = run_ingest(settings)
    print_summary(summary)


@contextmanager
def _run_failures() -> Iterator[None]:
    """A failed run (the flow run is already marked Failed in Prefect): ``run failed: …`` and exit code 1."""
    from flows.summary import RunFailed

    try:
        yield
    except (typer.Exit, cli_errors.ClickException):
        raise
    except RunFailed as error:  # a suite failed on more than fail_share of its rows: the message says which
        say_error("run failed:", error)
        raise typer.Exit(1) from None
    except Exception as error:  # the pipeline broke (storage, configuration, a suite that cannot be evaluated)
        say_error("run failed:", f"{type(error).__name__}: {error}")
        raise typer.Exit(1) from None


def print_summary(summary: RunSummary) -> None:
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


@app.command()
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
    if format not in {"table", "csv", "json"}:
        raise UsageProblem(f"--format must be table, csv or json, not {format!r}")
    settings = build_settings(warehouse=warehouse)
    _require_warehouse(settings)
    import duckdb

    from tasks.ops.sql_console import BadQuery, ConsoleFailed, NotReadOnly, console, run
    from tasks.store.lake import Warehouse

    try:
        connection = console(Warehouse.of(settings))
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


@app.command(name="duckdb", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def duckdb_cli(ctx: typer.Context, warehouse: WarehouseOption = None) -> None:
    """The DuckDB CLI with the lake attached read-only (further arguments go to duckdb, e.g. -c "SELECT …")."""
    settings = build_settings(warehouse=warehouse)
    _require_warehouse(settings)
    import shutil
    import subprocess
    import tempfile

    from tasks.store.lake import Warehouse

    cli = Path(sys.executable).with_name("duckdb")
    executable = str(cli) if cli.exists() else shutil.which("duckdb")
    if executable is None:
        raise CommandFailed("the duckdb executable is missing: pip install duckdb-cli")
    home = Warehouse.of(settings)
    import duckdb as duckdb_client

    try:  # attach once here: a lake that cannot be read is one line and exit 1, not the CLI's own errors
        home.connect().close()
    except (duckdb_client.Error, OSError) as error:
        raise CommandFailed(f"cannot attach the lake: {one_line(error)}") from None
    script = "".join(f"{statement};\n" for statement in home.setup_sql())  # with the S3 secret: never on disk for long
    script += f"{home.attach_sql(read_only=True)};\nUSE lake;\n"
    with tempfile.NamedTemporaryFile("w", suffix=".sql", encoding="utf-8") as init:
        init.write(script)
        init.flush()
        code = subprocess.call([executable, "-init", init.name, *ctx.args])
    if code:
        raise typer.Exit(1)


@app.command()
def status(
    warehouse: WarehouseOption = None, last: Annotated[int, typer.Option(min=0, help="runs to show")] = 10
) -> None:
    """Recent runs and what the warehouse holds."""
    settings = build_settings(warehouse=warehouse)
    _require_warehouse(settings)
    from tasks.store.lake import Warehouse, query

    with query(Warehouse.of(settings)) as connection:
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
    from tasks.enrich.steps import ENRICHER_VERSION
    from tasks.enrich.versions import stale_components

    stale = stale_components(version for version, _ in versions)
    if stale:
        older = sum(n for version, n in versions if version != ENRICHER_VERSION)
        console.print(
            f"{older} articles carry older enrichment ({', '.join(stale)}): "
            "`wirehouse reenrich` recomputes it from the stored text",
            markup=False,
            highlight=False,
        )


@contextmanager
def _writer_session(settings: Settings) -> Iterator[Any]:
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
    from tasks.store.landing import requeue_files

    with _writer_session(settings) as session:
        paths = requeue_files(session, settings.sql, Reason(reason), path)
    for source_path in paths[:20]:
        console.print(f"  {source_path}", markup=False, highlight=False)
    more = " (first 20 listed)" if len(paths) > 20 else ""
    console.print(f"requeued {len(paths)} file(s) quarantined as {reason}{more}: the next run reads them again")


@app.command()
def compact(warehouse: WarehouseOption = None) -> None:
    """DuckLake maintenance: flush inlined rows, merge small files, expire old snapshots; results stay the same."""
    settings = build_settings(warehouse=warehouse)
    _require_warehouse(settings)
    with _writer_session(settings) as session:
        result = session.compact(keep_snapshots=timedelta(days=settings.snapshot_retention_days))
    console.print(
        f"compacted {result.files_before} data files into {result.files_after}; "
        f"{result.snapshots_expired} snapshots older than {settings.snapshot_retention_days:g} days expired "
        f"in {result.seconds:.1f}s"
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
    from tasks.enrich.versions import COMPONENTS

    bad = sorted(set(only or ()) - set(COMPONENTS))
    if bad:
        raise UsageProblem(f"unknown component {', '.join(bad)}: choose from {', '.join(COMPONENTS)}")
    settings = build_settings(warehouse=warehouse, workers=workers)
    _require_warehouse(settings)
    from tasks.store.reenrich import ReenrichRefused
    from tasks.store.reenrich import reenrich as reenrich_warehouse

    with _writer_session(settings) as session:
        try:
            result = reenrich_warehouse(
                session,
                now=datetime.now(UTC),
                expectations=settings.expectations,
                sql_dir=settings.sql,
                only=tuple(only) if only else None,
                workers=settings.workers,
                file_timeout=settings.file_timeout_seconds,
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


@app.command()
def serve(
    source: SourceOption = None,
    warehouse: WarehouseOption = None,
    cron: Annotated[str | None, typer.Option(help='schedule, e.g. "*/15 * * * *" [env WIREHOUSE_CRON]')] = None,
) -> None:
    """Register the ingest-articles deployment on a schedule and run it (Ctrl-C pauses it)."""
    settings = build_settings(source=source, warehouse=warehouse, cron=cron)
    import httpx
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.settings import PREFECT_API_URL

    try:
        CronSchedule(cron=settings.cron)
    except ValueError:
        raise UsageProblem(f'invalid cron: {settings.cron!r} is not a cron schedule (e.g. "*/15 * * * *")') from None
    from flows.serve import serve_ingestion

    _plain_prefect_console()
    try:
        serve_ingestion(settings)
    except httpx.HTTPError as error:  # unreachable, or not a Prefect API
        where = PREFECT_API_URL.value() or "the temporary server"
        raise CommandFailed(f"Prefect API at {where}: {type(error).__name__}: {one_line(error)}") from None


@app.command()
def server(
    host: Annotated[
        str, typer.Option(help="address to bind (loopback: not reachable from other machines)")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port of the UI and API")] = 4200,
) -> None:
    """Start a local Prefect server and UI, its database in PREFECT_HOME (default: .prefect/ here)."""
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
    from tasks.ops.report import build_docs
    from tasks.store.lake import Warehouse

    _open(build_docs(Warehouse.of(settings), settings.sql, settings.expectations, validate=validate), open_it)


@app.command()
def report(
    warehouse: WarehouseOption = None,
    output: Annotated[Path | None, typer.Option(help="where to write (default <warehouse>/report.html)")] = None,
    open_it: Annotated[bool, typer.Option("--open/--no-open", help="open it in a browser")] = False,
) -> None:
    """Write a self-contained HTML report with charts (no network needed to view it)."""
    settings = build_settings(warehouse=warehouse)
    _require_warehouse(settings)
    if output is not None and not output.parent.is_dir():
        raise UsageProblem(f"--output: no folder {output.parent}")
    from tasks.ops.report import write_report
    from tasks.store.lake import Warehouse

    _open(write_report(Warehouse.of(settings), settings.sql, output), open_it)


@app.command()
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
    from flows.watch import watch_and_ingest

    _plain_prefect_console()
    console.print(f"watching {settings.source} (debounce {debounce:g}s); Ctrl-C stops", soft_wrap=True)

    def failed(error: BaseException) -> None:  # reported, and the watch goes on (as a schedule would)
        say_error("run failed:", error if isinstance(error, RunFailed) else f"{type(error).__name__}: {error}")

    from flows.summary import RunFailed

    watch_and_ingest(settings, debounce_ms=int(debounce * 1000), on_run=print_summary, on_failure=failed)


def main() -> None:
    """Console entry point: every command's exit code reaches the shell; a failure is one line, never a traceback."""
    for key, value in QUIET_OFFLINE.items():
        os.environ.setdefault(key, value)
    logging.getLogger("great_expectations").setLevel(logging.WARNING)  # no per-batch INFO chatter
    sys.exit(invoke())


def invoke(args: list[str] | None = None) -> int:
    """Run the command line and return its exit code (0 done, 1 failed, 2 usage, 130 interrupted)."""
    try:
        # standalone_mode=False: click returns the code of a typer.Exit raised in a command instead of exiting
        # (it turns Ctrl-C into 130 the same way) and raises usage errors instead of printing them.
        code = app(args=args, standalone_mode=False)
    except typer.Exit as done:
        return done.exit_code
    except (typer.Abort, KeyboardInterrupt):
        errors.print("aborted", highlight=False)
        return 130
    except cli_errors.NoArgsIsHelpError:
        return 2  # the help text is already printed
    except cli_errors.ClickException as error:  # UsageProblem (2), CommandFailed (1), click's own usage errors (2)
        say_error("wirehouse: error:", error.format_message())
        return error.exit_code
    except Exception as error:  # the last resort: a bug or broken infrastructure nothing above expected
        say_error("wirehouse: error:", f"{type(error).__name__}: {error}")
        return 1
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    main()
