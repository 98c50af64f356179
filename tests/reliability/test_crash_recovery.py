"""Exactly once under SIGKILL: the real flow in a child process, killed at every fault point in turn.

Seeded: set WIREHOUSE_CRASH_SEED to replay a failing order. Between kills the folder keeps changing
(new, modified, deleted and bad files), so every run has work left at the point where it dies.
"""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tasks.faults import POINTS
from tests.reliability.conftest import Child, query
from tests.reliability.invariants import (
    article_text,
    assert_complete,
    assert_consistent,
    stale_views,
    write_bad,
    write_good,
)

SEED = int(os.environ.get("WIREHOUSE_CRASH_SEED", "20261125"))
REPEATABLE = {"parquet_write": 3, "before_commit": 2, "enrich": 2, "validate": 2, "after_commit": 2}


def _change_folder(folder: Path, warehouse: Path, rng: random.Random, round_: int, *, delete: bool) -> None:
    """Three new good files, one bad one; one recorded file modified and (if ``delete``) another deleted."""
    for n in range(3):
        write_good(folder, rng, f"{round_}-{n}")
    write_bad(folder, rng, f"{round_}")
    recorded = sorted(
        path
        for (path,) in query(warehouse, "SELECT source_path FROM file_status WHERE status <> 'deleted'")
        if path.startswith("good-") and (folder / path).exists()
    )
    texts = [path for path in recorded if path.endswith((".txt", ".md"))]
    modified = folder / rng.choice(texts)
    modified.write_text(modified.read_text() + f"\n\nUpdate {round_}: the story was corrected.")
    os.utime(modified, ns=(modified.stat().st_atime_ns, modified.stat().st_mtime_ns + 1_000_000_000))
    if delete:
        (folder / rng.choice([path for path in recorded if folder / path != modified])).unlink()


@pytest.mark.deep  # .ci/run's second step (`make deep`); its transient twin is in test_lake_promises
def test_sigkill_at_every_point_then_rerun_lands_everything_exactly_once(
    tmp_path: Path, run_child: Callable[..., Child]
) -> None:
    rng = random.Random(SEED)
    source = tmp_path / "source"
    source.mkdir()
    warehouse = tmp_path / "warehouse"
    for n in range(12):
        write_good(source, rng, f"0-{n}")
    (source / "good-0-x.txt").write_text(article_text(rng, "0-x"))
    shutil.copy(source / "good-0-x.txt", source / "copy of 0-x.txt")
    assert run_child(source, warehouse, batch_size=3).returncode == 0
    order = list(POINTS)
    rng.shuffle(order)
    killed: list[str] = []
    for round_, point in enumerate(order, start=1):
        _change_folder(source, warehouse, rng, round_, delete=point == "deletions" or rng.random() < 0.3)
        if point == "view_refresh":  # views are rewritten only when they changed
            stale_views(warehouse)
        fault = f"{point}@{rng.randint(1, REPEATABLE.get(point, 1))}"
        compact = 2 if point == "compaction" else 0  # compaction runs once 2 data files exist
        child = run_child(source, warehouse, fault=fault, batch_size=3, compact_threshold=compact)
        assert child.killed, f"seed {SEED}: {fault} was never reached (rc={child.returncode}): {child.stderr[-2000:]}"
        killed.append(fault)
        assert_consistent(warehouse)
    assert len({k.split("@")[0] for k in killed}) >= 10

    final = run_child(source, warehouse, batch_size=3, compact_threshold=2)  # compacts: history must survive
    assert final.returncode == 0, final.stderr[-3000:]
    assert final.summary()["status"] == "completed"
    assert_complete(source, warehouse)
    [(crashed,)] = query(warehouse, "SELECT count(*) FROM runs WHERE status = 'crashed'")
    assert 1 <= crashed <= len(killed)  # a run killed before its first record leaves nothing to mark

    again = run_child(source, warehouse, batch_size=3, compact_threshold=0)
    assert again.summary()["new_files"] == 0
    assert_complete(source, warehouse)
