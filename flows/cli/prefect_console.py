"""Prefect's terminal output for a CLI command: its log lines, without the tracebacks of a failing run."""

from __future__ import annotations

import logging
import os

from flows.cli.errors import WithoutTraceback


def plain_prefect_console() -> None:
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
            if isinstance(handler, PrefectConsoleHandler) and not isinstance(handler.formatter, WithoutTraceback):
                handler.setFormatter(WithoutTraceback(handler.formatter))
