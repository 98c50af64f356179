"""The ``wirehouse`` command: parses options, builds Settings once, calls a flow or a task, prints with rich.

Exit codes, for every command: 0 done (a run that quarantined files included), 1 failed (the pipeline, a suite,
storage, the Prefect API), 2 usage (an option, a setting, a missing folder or warehouse), 130 interrupted. A
failure is one line on stderr (``wirehouse: error: …`` or ``run failed: …``), never a traceback.

The commands live by family: :mod:`flows.cli.runs` (run, serve, watch, server), :mod:`flows.cli.readers` (sql,
duckdb, status, docs, report), :mod:`flows.cli.maintenance` (requeue, compact, reenrich).
"""

from __future__ import annotations

import logging
import os
import sys

import typer

from flows.cli import maintenance, readers, runs
from flows.cli.errors import ClickException, NoArgsIsHelpError, errors, say_error
from tasks.offline import OFFLINE_ENV

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Ingest, enrich, validate and query news articles.")
app.command()(runs.run)
app.command()(readers.sql)
app.command(name="duckdb", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(
    readers.duckdb_cli
)
app.command()(readers.status)
app.command()(maintenance.requeue)
app.command()(maintenance.compact)
app.command()(maintenance.reenrich)
app.command()(runs.serve)
app.command()(runs.server)
app.command()(readers.docs)
app.command()(readers.report)
app.command()(runs.watch)


def main() -> None:
    """Console entry point: every command's exit code reaches the shell; a failure is one line, never a traceback."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("PREFECT_UI_ENABLED", "true")
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
    except NoArgsIsHelpError:
        return 2  # the help text is already printed
    except ClickException as error:  # UsageProblem (2), CommandFailed (1), click's own usage errors (2)
        say_error("wirehouse: error:", error.format_message())
        return error.exit_code
    except Exception as error:  # the last resort: a bug or broken infrastructure nothing above expected
        say_error("wirehouse: error:", f"{type(error).__name__}: {error}")
        return 1
    return code if isinstance(code, int) else 0
