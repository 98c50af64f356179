"""Fault injection for the crash tests: ``crash_point(name)`` SIGKILLs the process at a named point.

Off unless ``WIREHOUSE_FAULT_AT`` names the point (read at the call, never at import). ``name`` kills at
the first hit; ``name@3`` at the third hit in this process. Production runs never set it; the call costs one
dictionary lookup. The points, in pipeline order, are listed in ``POINTS`` (tests kill at every one).
"""

from __future__ import annotations

import errno
import os
import signal
from collections import Counter

ENV = "WIREHOUSE_FAULT_AT"
UNREADABLE_ENV = "WIREHOUSE_FAULT_UNREADABLE"  # comma-separated folders (relative to the source) that fail to list

POINTS = (
    "after_lock",  # lock held, nothing recovered yet
    "after_recover",  # orphans removed, before the "running" run record
    "discover",  # source scanned, before the ledger diff
    "deletions",  # before the deletion rows commit
    "enrich",  # a file read and hashed, before enrichment
    "validate",  # before the batch's Great Expectations suites run
    "keep_original",  # a quarantined original half-copied (temp file written, not renamed)
    "parquet_write",  # one table of a batch written to staging, the next not yet
    "before_rename",  # staging complete and fsynced, before the commit rename
    "after_rename",  # batch committed, before the flow records it
    "run_record",  # all batches committed, before the run's final record
    "view_refresh",  # inside the wirehouse.duckdb transaction that rewrites the views
    "generation_swap",  # compaction: the new generation built, the ``current`` symlink not yet swapped
)

_hits: Counter[str] = Counter()


def crash_point(name: str) -> None:
    """SIGKILL this process here when ``WIREHOUSE_FAULT_AT`` asks for it (tests only)."""
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    point, _, nth = wanted.partition("@")
    if point != name:
        return
    _hits[name] += 1
    if _hits[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


def listing_fault(relative_dir: str) -> None:
    """Raise PermissionError as listing ``relative_dir`` would when it is unreadable (tests run as root, where
    chmod does not stop a listing); off unless ``WIREHOUSE_FAULT_UNREADABLE`` names the folder."""
    wanted = os.environ.get(UNREADABLE_ENV)
    if wanted and relative_dir.strip("/") in {part.strip().strip("/") for part in wanted.split(",")}:
        raise PermissionError(errno.EACCES, "Permission denied", relative_dir or ".")
