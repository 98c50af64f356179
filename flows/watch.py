"""``wirehouse watch``: start a run when files appear in the source folder (debounced), besides the schedule."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from tasks.settings import Settings
from tasks.sources.locations import local_path

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
    on_failure: Callable[[BaseException], None] | None = None,
    stop_event: Any = None,
    max_runs: int | None = None,
    poll_seconds: float = 5.0,
) -> int:
    """Run ``ingest-articles`` after each burst of changes settles for ``debounce_ms``; returns the runs made.

    A run that finds files still being written defers them (``min_age_seconds``): the next burst, or the
    schedule, picks them up. The warehouse lock serialises watch runs with scheduled ones. Like a schedule, the
    watch outlives what goes wrong: a missing source folder (an unmounted disk) is logged and waited for, and a
    failed run is reported (``on_failure``) and the watch goes on.
    """
    from watchfiles import watch

    from flows.ingest_articles import run_ingest
    from flows.runners import WarmPoolOnDemand

    source = local_path(settings.source)
    stop = stop_event or threading.Event()
    runs = 0
    # One pool for every run the watch makes, started at the first run: the workers start once, not per burst.
    with WarmPoolOnDemand(settings.workers, settings.file_timeout_seconds) as pool:
        while not stop.is_set():
            if not source.is_dir():
                log.warning("watch: source folder not found: %s; skipped, waiting for it to appear", source)
                stop.wait(poll_seconds)
                continue
            try:
                for changes in watch(source, debounce=debounce_ms, step=200, stop_event=stop, recursive=True):
                    paths = relevant(changes)
                    if not paths:
                        continue
                    log.info("watch: %d changed path(s), starting a run", len(paths))
                    try:
                        with pool.kept_warm():
                            summary = run_ingest(settings)
                    except Exception as error:  # the flow run is marked Failed in Prefect; the next burst tries again
                        if on_failure is not None:
                            on_failure(error)
                        continue
                    runs += 1
                    if on_run is not None:
                        on_run(summary)
                    if max_runs is not None and runs >= max_runs:
                        return runs
            except FileNotFoundError:  # the folder went away while watched: wait for it again
                continue
            if not source.is_dir():
                continue
            break
        return runs
