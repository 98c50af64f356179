"""One writer: two runs at once never interleave; with lock=skip the second one leaves cleanly."""

from __future__ import annotations

import json
import random
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

from tasks.storage import Warehouse
from tests.conftest import ROOT
from tests.reliability.conftest import Child, child_env, flow_command, query
from tests.reliability.invariants import assert_complete, write_good


@pytest.mark.slow
def test_two_runs_started_together_with_lock_wait_land_everything_once(tmp_path: Path, prefect_api: str) -> None:
    source = tmp_path / "source"
    source.mkdir()
    rng = random.Random(7)
    for n in range(12):
        write_good(source, rng, str(n))
    warehouse = tmp_path / "warehouse"
    children = [
        subprocess.Popen(
            flow_command(source, warehouse, lock="wait", batch_size=4),
            cwd=ROOT,
            env=child_env(prefect_api),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    summaries = []
    for child in children:
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err[-3000:]
        summaries.append(json.loads(out.splitlines()[-1]))
    assert [s["status"] for s in summaries] == ["completed", "completed"]
    assert sorted(s["new_files"] for s in summaries) == [0, 12]  # the second saw the first's commits
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
