"""How the CLI fails: one line on stderr and an exit code (1 failed, 2 usage), never a traceback."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.text import Text

try:  # typer ≥ 0.2x vendors its own click: its exceptions are the ones raised
    from typer._click import exceptions as cli_errors
except ImportError:  # pragma: no cover - older typer on plain click
    from click import exceptions as cli_errors  # type: ignore[no-redef]

ClickException = cli_errors.ClickException  # UsageProblem, CommandFailed, click's own usage errors
NoArgsIsHelpError = cli_errors.NoArgsIsHelpError  # no command given: the help text is printed already

errors = Console(stderr=True, soft_wrap=True)

_QUERY_POINTER = re.compile(r"LINE \d+:|\^+$")


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


def say_error(prefix: str, message: object) -> None:
    """The one line a failure prints on stderr (red prefix in a terminal, never markup from the message)."""
    errors.print(Text(prefix, style="red") + Text(f" {one_line(message)}"), highlight=False)


def run_failed(error: BaseException) -> None:
    """``run failed: …``: a suite's verdict as it is, anything else with its type (what broke)."""
    from flows.summary import RunFailed

    say_error("run failed:", error if isinstance(error, RunFailed) else f"{type(error).__name__}: {error}")


@contextmanager
def run_failures() -> Iterator[None]:
    """A failed run (the flow run is already marked Failed in Prefect): ``run failed: …`` and exit code 1."""
    try:
        yield
    except (typer.Exit, ClickException):
        raise
    except Exception as error:  # a suite failed on more than fail_share of its rows, or the pipeline broke
        run_failed(error)
        raise typer.Exit(1) from None


class WithoutTraceback(logging.Formatter):
    """Formats a record with another formatter, leaving out its traceback and stack."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        plain = logging.makeLogRecord(record.__dict__)  # the API handler still gets the record as it was
        plain.exc_info, plain.exc_text, plain.stack_info = None, None, None
        return self.inner.format(plain)
