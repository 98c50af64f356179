"""Fault injection for the crash tests: ``crash_point(name)`` fails the process at a named point.

Off unless ``WIREHOUSE_FAULT_AT`` names the point (read at the call, never at import). ``name`` fails at
the first hit; ``name@3`` at the third hit in this process. Two modes (``WIREHOUSE_FAULT_MODE``): ``kill``
(the default) SIGKILLs the process from that hit on; ``transient`` raises :class:`TransientFault` at that one
hit only, as a dropped connection or a brief I/O error would, and lets the run's own retries play out.
Production runs never set it; the call costs one dictionary lookup. The points, in pipeline order, are
listed in ``POINTS`` (tests fail at every one, in both modes).
"""

from __future__ import annotations

import errno
import os
import signal
import time
from collections import Counter

ENV = "WIREHOUSE_FAULT_AT"
MODE_ENV = "WIREHOUSE_FAULT_MODE"  # "kill" (default) or "transient"
LOG_ENV = "WIREHOUSE_FAULT_LOG"  # a file each injected transient fault appends its point to (tests see it fired)
POISON_ENV = "WIREHOUSE_FAULT_POISON"  # "<marker>=<raise|exit|segfault|hang>,…": an enricher misbehaves on a text
UNREADABLE_ENV = "WIREHOUSE_FAULT_UNREADABLE"  # comma-separated folders (relative to the source) that fail to list

POINTS = (
    "after_lock",  # writer lock held, the lake not attached yet
    "after_recover",  # what a killed writer left removed, tables and views not yet checked
    "discover",  # source scanned, before the ledger diff
    "deletions",  # before the deletion rows commit
    "enrich",  # a file read and hashed, before enrichment
    "validate",  # before the batch's Great Expectations suites run
    "keep_original",  # a quarantined original half-copied (temp file written, not renamed)
    "parquet_write",  # inside a DuckLake transaction: one table's data files written, the next table not yet
    "commit_begin",  # a commit's transaction begun, its message not yet set
    "before_commit",  # every table of the transaction written, COMMIT not yet sent to the catalog
    "commit_snapshot",  # COMMIT returned, the snapshot it became not yet read back
    "after_commit",  # batch committed, before the flow records it
    "run_record",  # all batches committed, before the run's final record
    "view_refresh",  # inside the transaction that creates or evolves the tables and views
    "compaction",  # files merged into new ones, old snapshots not yet expired nor their files deleted
)

_hits: Counter[str] = Counter()


class TransientFault(ConnectionError):
    """An injected error that a retry gets past: what a dropped connection or a brief I/O hiccup raises."""


def crash_point(name: str) -> None:
    """Fail here when ``WIREHOUSE_FAULT_AT`` asks for it (tests only): SIGKILL, or one transient error."""
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    point, _, nth = wanted.partition("@")
    if point != name:
        return
    _hits[name] += 1
    if os.environ.get(MODE_ENV) == "transient":
        if _hits[name] == int(nth or 1):
            if os.environ.get(LOG_ENV):
                with open(os.environ[LOG_ENV], "a", encoding="utf-8") as log:
                    log.write(f"{name}\n")
            raise TransientFault(f"injected transient fault at {name}")
    elif _hits[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


def listing_fault(relative_dir: str) -> None:
    """Raise PermissionError as listing ``relative_dir`` would when it is unreadable (tests run as root, where
    chmod does not stop a listing); off unless ``WIREHOUSE_FAULT_UNREADABLE`` names the folder."""
    wanted = os.environ.get(UNREADABLE_ENV)
    folders = {part.strip().strip("/").removeprefix(".") for part in (wanted or "").split(",")}  # "." is the root
    if wanted and relative_dir.strip("/") in folders:
        raise PermissionError(errno.EACCES, "Permission denied", relative_dir or ".")


def poison_point(text: str) -> None:
    """Misbehave as a buggy enricher would on an article containing a marker from ``WIREHOUSE_FAULT_POISON``:
    raise, exit the worker, crash it with SIGSEGV, or hang. Tests only; off unless set."""
    wanted = os.environ.get(POISON_ENV)
    if not wanted:
        return
    for item in wanted.split(","):
        marker, _, how = item.partition("=")
        if marker and marker in text:
            if how == "raise":
                raise RuntimeError(f"poisoned by {marker}")
            if how == "exit":
                os._exit(3)
            if how == "segfault":
                os.kill(os.getpid(), signal.SIGSEGV)
            if how == "hang":
                while True:
                    time.sleep(1)
