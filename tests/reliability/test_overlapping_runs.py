"""One writer: two runs at once never interleave; with lock=skip the second one leaves cleanly."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import duckdb
import pytest
from filelock import FileLock
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterName,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType

from tasks.store.lake import Warehouse
from tests.conftest import ROOT, wait_for
from tests.reliability.conftest import Child, child_env, flow_command, query
from tests.reliability.invariants import assert_complete, write_good


def run_records(warehouse: Path) -> list[dict[str, Any]]:
    """Every run record (the ``run_records`` table, not only the latest per run): each one is written under the lock."""
    home = Warehouse(warehouse)
    if not home.exists():
        return []
    try:
        connection = home.connect()
    except duckdb.InvalidInputException as error:  # the catalog file is there, the first writer's lake not yet
        if "does not exist" in str(error):
            return []
        raise
    with connection:
        tables = connection.execute("SELECT table_name FROM information_schema.tables WHERE table_catalog = 'lake'")
        if ("run_records",) not in tables.fetchall():  # the first writer has not committed its tables yet
            return []
        cursor = connection.execute(
            "SELECT flow_run_id, status, started_at, finished_at, recorded_at, new_files "
            "FROM run_records ORDER BY recorded_at"
        )
        names = [d[0] for d in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def running_flow_runs(name: str) -> int:
    """How many flow runs called ``name`` the Prefect API has in state Running (the flow body has begun)."""
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                name=FlowRunFilterName(any_=[name]),
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING])),
            )
        )
    return len(runs)


def freeze_outside_a_catalog_lock(child: subprocess.Popen[str], catalog: Path, attempts: int = 100) -> None:
    """SIGSTOP ``child`` at a moment it holds no SQLite lock on the catalog. A child frozen inside SQLite's
    exclusive moments (closing the last connection checkpoints the WAL) would hold every reader off for as long
    as it stays frozen, past their busy timeout: no real run stays there, so the test must not freeze it there."""
    for _ in range(attempts):
        os.kill(child.pid, signal.SIGSTOP)
        try:
            with closing(sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=0.5)) as reader:
                reader.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return
        except sqlite3.OperationalError:  # "database is locked": let it finish that moment and try again
            os.kill(child.pid, signal.SIGCONT)
            time.sleep(0.05)
    raise AssertionError(f"the first run held the catalog locked at each of {attempts} tries")


@pytest.mark.slow
def test_a_second_run_waits_on_the_lock_while_the_first_holds_it_and_lands_nothing_twice(
    tmp_path: Path, prefect_api: str
) -> None:
    """The overlap is made, not hoped for: the first run is frozen (SIGSTOP) right after its first write under
    the lock, the second starts, and stays in its flow without writing until the first is let go."""
    source = tmp_path / "source"
    source.mkdir()
    rng = random.Random(7)
    for n in range(12):
        write_good(source, rng, str(n))
    warehouse = tmp_path / "warehouse"
    catalog = Warehouse(warehouse).catalog_path
    assert catalog is not None

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen(
            flow_command(source, warehouse, lock="wait", batch_size=4),
            cwd=ROOT,
            env=child_env(prefect_api),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    first = start()
    children = [first]
    stopped = False
    try:
        # Its "running" record is its first commit under the lock: from then on it holds the lock.
        wait_for(lambda: len(run_records(warehouse)) == 1, "first run's running record", children, 240)
        stopped = True
        freeze_outside_a_catalog_lock(first, catalog)
        [holding] = run_records(warehouse)
        second = start()
        children.append(second)
        # Running in the API: its flow body has begun, and the body asks for the lock before it writes anything.
        wait_for(lambda: running_flow_runs(f"ingest {source}") == 2, "second run started", [second], 240)
        waited_from = time.monotonic()
        while time.monotonic() - waited_from < 3:  # it stays blocked: alive and writing nothing
            assert second.poll() is None, f"the second run exited while the first held the lock: {second.communicate()}"
            assert run_records(warehouse) == [holding], "the second run wrote while the first held the lock"
            time.sleep(0.2)
        os.kill(first.pid, signal.SIGCONT)
        stopped = False
        summaries = []
        for child in children:
            out, err = child.communicate(timeout=300)
            assert child.returncode == 0, err[-3000:]
            summaries.append(json.loads(out.splitlines()[-1]))
    finally:
        if stopped:
            os.kill(first.pid, signal.SIGCONT)
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    assert [s["status"] for s in summaries] == ["completed", "completed"]
    assert [s["new_files"] for s in summaries] == [12, 0]  # the second saw the first's commits
    records = run_records(warehouse)
    a = [r for r in records if r["flow_run_id"] == holding["flow_run_id"]]
    b = [r for r in records if r["flow_run_id"] != holding["flow_run_id"]]
    assert [r["status"] for r in a] == [r["status"] for r in b] == ["running", "completed"]
    # The second run's flow began (started_at is taken before the lock) while the first still held the lock
    # (its last record is written under it), and the second's first write came after the first's last one.
    assert b[0]["started_at"] < a[-1]["recorded_at"] < b[0]["recorded_at"]
    assert a[-1]["recorded_at"] < b[-1]["recorded_at"]
    assert query(warehouse, "SELECT count(*) FROM runs WHERE status = 'completed'") == [(2,)]
    assert_complete(source, warehouse)


@pytest.mark.slow
def test_a_run_finding_the_lock_held_with_lock_skip_exits_cleanly(
    tmp_path: Path, run_child: Callable[..., Child]
) -> None:
    source = tmp_path / "source"
    source.mkdir()
    write_good(source, random.Random(8), "x")
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    with FileLock(Warehouse(warehouse).lock_path):  # as a running writer holds it
        child = run_child(source, warehouse, lock="skip")
    assert child.returncode == 0, child.stderr[-3000:]
    assert child.summary()["status"] == "skipped"
    assert "skipped" in child.summary()["message"] and "holds the lock" in child.stderr
    assert not (warehouse / "data").exists()  # it wrote nothing
    after = run_child(source, warehouse, lock="skip")
    assert after.summary() == {"status": "completed", "message": "", "new_files": 1}
