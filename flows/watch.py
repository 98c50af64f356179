"""``wirehouse watch``: start a run when files appear in the source folder (debounced), besides the schedule."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from tasks.settings import Settings

log = logging.getLogger("wirehouse.watch")

_IGNORED_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", "~")


def relevant(changes: Iterable[tuple[Any, str]]) -> list[str]:
    """Paths worth a run: not hidden, not a partial download (the flow would defer or ignore them anyway)."""
    return sorted(
        {path for _, path in changes if not Path(path).name.startswith(".") and not path.endswith(_IGNORED_SUFFIXES)}
    )


def watch_and_ingest(
    settings: Settings,
    *,
    debounce_ms: int = 5000,
    on_run: Callable[[Any], None] | None = None,
    stop_event: Any = None,
    max_runs: int | None = None,
) -> int:
    """Run ``ingest-articles`` after each burst of changes settles for ``debounce_ms``; returns the runs made.

    A run that finds files still being written defers them (``min_age_seconds``): the next burst, or the
    schedule, picks them up. The warehouse lock serialises watch runs with scheduled ones.
    """
    from watchfiles import watch

    from flows.ingest_articles import run_ingest

    source = Path(settings.source)
    if not source.is_dir():
        raise FileNotFoundError(f"watch needs a local source folder: {settings.source}")
    runs = 0
    for changes in watch(source, debounce=debounce_ms, step=200, stop_event=stop_event, recursive=True):
        paths = relevant(changes)
        if not paths:
            continue
        log.info("watch: %d changed path(s), starting a run", len(paths))
        summary = run_ingest(settings)
        runs += 1
        if on_run is not None:
            on_run(summary)
        if max_runs is not None and runs >= max_runs:
            break
    return runs
