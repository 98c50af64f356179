"""The lake keeps its promises when the world is unkind: retried commits land once, a lost catalog is never
replaced on its own, readers never fail the writer, a full disk names itself, a killed reenrich leaves nothing.

Every run here is the real flow in a child process (or the console script), as a user runs it.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks.store.lake import Warehouse
from tasks.store.schema import table_from_rows
from tasks.store.writer import writer
from tests.conftest import ROOT
from tests.reliability.conftest import Child, child_env, query
from tests.reliability.invariants import (
    assert_complete,
    assert_consistent,
    data_files_in_catalog,
    data_files_on_disk,
    stale_views,
    write_bad,
    write_good,
)

WIREHOUSE = ROOT / ".venv" / "bin" / "wirehouse"
SQL = ROOT / "tasks" / "store" / "sql"


def _console(api: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(WIREHOUSE), *args],
        cwd=ROOT,
        env=child_env(api, extra=env),
        capture_output=True,
        text=True,
        timeout=300,
    )


PREFECT_LOG_RECORD = re.compile(r"\d\d:\d\d:\d\d\.\d{3} \| ")  # a run's progress lines from Prefect's console


def _error_line(done: subprocess.CompletedProcess[str]) -> str:
    """The one line the CLI printed about the failure (Prefect's own log records aside); no traceback."""
    assert "Traceback" not in done.stderr + done.stdout, done.stderr[-3000:]
    lines = [line for line in done.stderr.strip().splitlines() if not PREFECT_LOG_RECORD.match(line)]
    assert len(lines) == 1, done.stderr[-3000:]
    return lines[0]


def _folder(path: Path, n: int, seed: int = 7) -> Path:
    rng = random.Random(seed)
    path.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        write_good(path, rng, f"{seed}-{i}")
    write_bad(path, rng, f"{seed}")
    return path


def _fingerprint(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` and its content hash: what must survive untouched."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


REPEATED = {"enrich", "validate", "parquet_write", "commit_begin", "before_commit", "commit_snapshot", "after_commit"}


def _transient(log: Path) -> dict[str, str]:
    return {"WIREHOUSE_FAULT_MODE": "transient", "WIREHOUSE_FAULT_LOG": str(log)}


# --- idempotent commits ------------------------------------------------------------------------------------------


def _uuid7_name(moment_ms: int) -> str:
    """A data file name as DuckLake makes them (UUIDv7: the first 48 bits are the creation time in ms)."""
    rand = uuid.uuid4().hex
    text = f"{moment_ms:012x}7{rand[:3]}{rand[4:20]}"
    return f"ducklake-{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:32]}.parquet"


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(repeats=st.lists(st.integers(0, 3), min_size=1, max_size=4))
def test_a_commit_of_a_batch_the_lake_holds_is_a_no_op_returning_its_snapshot(
    tmp_path_factory: pytest.TempPathFactory, repeats: list[int]
) -> None:
    """Any sequence of commits, each repeated any number of times (a retried task, a rerun): each batch once."""
    home = Warehouse(tmp_path_factory.mktemp("lake"))
    with writer(home, SQL, timeout=5) as session:
        first: dict[str, int] = {}
        for n, times in enumerate(repeats):
            rows = table_from_rows("run_records", [{"flow_run_id": f"run-{n}", "status": "running"}])
            for _ in range(times + 1):
                snapshot = session.commit({"run_records": rows}, batch_id=f"batch-{n}")
                assert first.setdefault(f"batch-{n}", snapshot) == snapshot
        counts = session.connection.execute(
            "SELECT flow_run_id, count(*) FROM run_records GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert counts == [(f"run-{n}", 1) for n in range(len(repeats))]


@pytest.mark.deep  # the transient matrix (deep) injects this fault at after_commit and at every other point
def test_a_transient_error_after_commit_retries_the_land_task_and_lands_the_batch_once(
    tmp_path: Path, run_child: Callable[..., Child]
) -> None:
    """The case that landed 58 rows for 29 articles: Prefect retries ``land-batch`` after its COMMIT went through."""
    source = _folder(tmp_path / "source", 9)
    warehouse = tmp_path / "warehouse"
    log = tmp_path / "faults.log"
    for point in ("after_commit@2", "commit_snapshot@3"):  # in the land task; inside the commit, after COMMIT
        child = run_child(source, warehouse, fault=point, env=_transient(log), batch_size=3)
        assert child.returncode == 0, child.stderr[-3000:]
        assert log.read_text().split()[-1] == point.split("@")[0]  # it was raised, and retried
        assert_consistent(warehouse)
        assert_complete(source, warehouse)
        _folder(source, 4, seed=8 + len(point))


# --- the transient-fault matrix -----------------------------------------------------------------------------------


@pytest.mark.deep
def test_a_transient_error_at_every_point_keeps_every_file_accounted_once(
    tmp_path: Path, run_child: Callable[..., Child]
) -> None:
    """At every fault point a transient error is raised once, at a random hit; the run's own retries play out.

    Either the run completes with everything landed once, or it fails with the error named and the lake as it
    was: the next run then lands everything, once.
    """
    from tasks.faults import POINTS

    rng = random.Random(int(os.environ.get("WIREHOUSE_CRASH_SEED", "20261203")))
    source = _folder(tmp_path / "source", 8)
    warehouse = tmp_path / "warehouse"
    assert run_child(source, warehouse, batch_size=3).returncode == 0
    log = tmp_path / "faults.log"
    completed = 0
    for round_, point in enumerate(POINTS, start=1):
        _folder(source, 3, seed=100 + round_)
        if point == "deletions" or round_ % 3 == 0:
            next(p for p in sorted(source.glob("good-*")) if p.is_file()).unlink()
        if point == "view_refresh":  # views are rewritten only when they changed
            stale_views(warehouse)
        fault = f"{point}@{rng.randint(1, 2) if point in REPEATED else 1}"
        compact = 2 if point == "compaction" else 0
        child = run_child(
            source,
            warehouse,
            fault=fault,
            env=_transient(log),
            batch_size=3,
            compact_threshold=compact,
        )
        assert not child.killed, fault
        assert log.read_text().split()[-1] == point, f"{fault} was never reached: {child.stderr[-2000:]}"
        assert_consistent(warehouse)
        if child.returncode == 0:
            completed += 1
            assert_complete(source, warehouse)
    assert completed >= len(POINTS) // 2  # the commit path's points are retried to completion
    final = run_child(source, warehouse, batch_size=3)
    assert final.returncode == 0, final.stderr[-3000:]
    assert_complete(source, warehouse)


# --- a lost catalog is never replaced on its own ------------------------------------------------------------------


@pytest.fixture(scope="module")
def landed_lake(tmp_path_factory: pytest.TempPathFactory, prefect_api: str) -> Iterator[tuple[Path, Path]]:
    """A source and a lake that holds it, Parquet data files included (compacted), built once and copied."""
    root = tmp_path_factory.mktemp("landed")
    source = _folder(root / "source", 6)
    warehouse = root / "warehouse"
    done = _console(prefect_api, "run", "--source", str(source), "--warehouse", str(warehouse))
    assert done.returncode == 0, done.stderr[-3000:]
    done = _console(prefect_api, "compact", "--warehouse", str(warehouse))
    assert done.returncode == 0, done.stderr[-3000:]
    assert list((warehouse / "data").rglob("*.parquet"))
    yield source, warehouse


def _copy(landed: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    source, warehouse = landed
    shutil.copytree(source, tmp_path / "source")
    shutil.copytree(warehouse, tmp_path / "warehouse", symlinks=True)
    return tmp_path / "source", tmp_path / "warehouse"


@pytest.mark.parametrize(
    "damage",  # "missing" (every writer command refuses) runs in make test; the other damages in the deep step
    ["missing", *(pytest.param(d, marks=pytest.mark.deep) for d in ("empty", "garbage", "moved-aside"))],
)
def test_a_lost_catalog_refuses_to_start_over_and_deletes_nothing(
    landed_lake: tuple[Path, Path], tmp_path: Path, prefect_api: str, damage: str
) -> None:
    source, warehouse = _copy(landed_lake, tmp_path)
    catalog = warehouse / "catalog.sqlite"
    backup = tmp_path / "catalog.backup"
    shutil.copy(catalog, backup)
    for sidecar in warehouse.glob("catalog.sqlite-*"):
        sidecar.unlink()
    if damage == "missing":
        catalog.unlink()
    elif damage == "empty":
        catalog.write_bytes(b"")
    elif damage == "garbage":
        catalog.write_bytes(os.urandom(4096))
    else:
        catalog.rename(warehouse / "catalog.sqlite.old")
    _folder(source, 2, seed=99)
    data_before = _fingerprint(warehouse / "data")
    kept_before = _fingerprint(warehouse / "quarantine")

    commands = [["run", "--source", str(source)]]
    if damage == "missing":  # every writer refuses alike: the other commands once
        commands += [["compact"], ["reenrich"], ["requeue", "--reason", "no_body"]]
    for command in commands:
        done = _console(prefect_api, *command, "--warehouse", str(warehouse))
        assert done.returncode == 1, (command, done.stdout, done.stderr[-2000:])
        assert "refusing to start a new lake" in _error_line(done), command
    assert _fingerprint(warehouse / "data") == data_before
    assert _fingerprint(warehouse / "quarantine") == kept_before

    shutil.copy(backup, catalog)  # the catalog is back: the lake goes on where it was
    done = _console(prefect_api, "run", "--source", str(source), "--warehouse", str(warehouse))
    assert done.returncode == 0, done.stderr[-3000:]
    assert_complete(source, warehouse)


def test_new_lake_starts_empty_beside_the_old_files_and_never_deletes_them(
    landed_lake: tuple[Path, Path], tmp_path: Path, prefect_api: str
) -> None:
    source, warehouse = _copy(landed_lake, tmp_path)
    (warehouse / "catalog.sqlite").unlink()
    for sidecar in warehouse.glob("catalog.sqlite-*"):
        sidecar.unlink()
    old = _fingerprint(warehouse / "data")
    done = _console(prefect_api, "run", "--source", str(source), "--warehouse", str(warehouse), "--new-lake")
    assert done.returncode == 0, done.stderr[-3000:]
    assert_consistent(warehouse)
    [(landed,)] = query(warehouse, "SELECT count(*) FROM file_status WHERE status <> 'deleted'")
    assert landed == len([p for p in source.rglob("*") if p.is_file()])  # every file again, in the new lake
    done = _console(prefect_api, "compact", "--warehouse", str(warehouse))  # maintenance deletes by its records
    assert done.returncode == 0, done.stderr[-3000:]
    now = _fingerprint(warehouse / "data")
    assert old.items() <= now.items()


@pytest.mark.deep  # a kill fault run: the deep step (make deep, .ci/run's second step)
def test_orphan_cleanup_deletes_only_what_the_catalog_knows_it_left(
    landed_lake: tuple[Path, Path], tmp_path: Path, run_child: Callable[..., Child]
) -> None:
    """Unreferenced files: a killed transaction's (newer than the last commit) go; anything else stays."""
    source, warehouse = _copy(landed_lake, tmp_path)
    table_dir = next((warehouse / "data").rglob("*.parquet")).parent
    [(last,)] = query(warehouse, "SELECT max(snapshot_time) FROM ducklake_snapshots('lake')")
    last_ms = int(last.timestamp() * 1000)
    foreign = {
        table_dir / _uuid7_name(last_ms - 60_000): b"an older lake's file",
        table_dir / "ducklake-not-a-uuid.parquet": b"a user's file",
        table_dir / "notes.parquet": b"another",
    }
    for path, data in foreign.items():
        path.write_bytes(data)
    _folder(source, 120, seed=41)  # one batch of more rows than are inlined: its data files are written
    killed = run_child(source, warehouse, fault="before_commit@2", batch_size=500)
    assert killed.killed
    left_by_kill = data_files_on_disk(warehouse) - data_files_in_catalog(warehouse) - {p.name for p in foreign}
    assert left_by_kill  # the killed transaction did leave Parquet files no snapshot references
    after = run_child(source, warehouse, batch_size=500)
    assert after.returncode == 0, after.stderr[-3000:]
    for path, data in foreign.items():
        assert path.read_bytes() == data  # not the lake's own leftovers: kept
    assert not left_by_kill & data_files_on_disk(warehouse)  # the killed writer's: gone
    assert data_files_on_disk(warehouse) - data_files_in_catalog(warehouse) == {p.name for p in foreign}
    assert_consistent(warehouse)


# --- readers never fail the writer --------------------------------------------------------------------------------

READER = """
import sys, time
from tasks.store.lake import Warehouse
connection = Warehouse(sys.argv[1]).connect()
connection.execute("BEGIN")
print(connection.execute("SELECT count(*) FROM articles").fetchone()[0], flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("COMMIT")
"""


def test_a_reader_holding_a_transaction_never_fails_a_run_reenrich_or_compact(
    landed_lake: tuple[Path, Path], tmp_path: Path, prefect_api: str
) -> None:
    source, warehouse = _copy(landed_lake, tmp_path)
    _folder(source, 3, seed=77)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(warehouse), "600"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert reader.stdout is not None and int(reader.stdout.readline()) > 0  # the read transaction is open
        for command in (
            ["run", "--source", str(source)],
            ["reenrich", "--only", "language"],
            ["compact"],
        ):
            done = _console(prefect_api, *command, "--warehouse", str(warehouse))
            assert done.returncode == 0, (command, done.stderr[-3000:])
        assert reader.poll() is None  # still holding its transaction through all three
    finally:
        reader.kill()
        reader.wait()
    assert_complete(source, warehouse)


# --- a full disk names itself -------------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 48 MB file system of its own (tmpfs), so the lake can run out of space for real (room for one run of its
    big files: their text lands twice, in article_versions and in articles)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.deep  # a fault run: the deep step (make deep, .ci/run's second step)
def test_a_full_disk_fails_the_run_with_its_cause_and_the_next_run_says_it_failed(
    tmp_path: Path, small_disk: Path, prefect_api: str
) -> None:
    source = _folder(tmp_path / "source", 4)
    warehouse = small_disk / "warehouse"
    done = _console(prefect_api, "run", "--source", str(source), "--warehouse", str(warehouse))
    assert done.returncode == 0, done.stderr[-3000:]
    rng = random.Random(5)
    for n in range(40):  # about 4 MB of text that compresses badly: its Parquet files cannot fit
        words = ("".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 9))) for _ in range(16_000))
        (source / f"big-{n}.txt").write_text("The story. " + " ".join(words))
    filler = small_disk / "filler"
    free = shutil.disk_usage(small_disk).free
    filler.write_bytes(b"\0" * (free - 1_500_000))  # room to start the run, not to land it
    done = _console(prefect_api, "run", "--source", str(source), "--warehouse", str(warehouse), "--batch-size", "10")
    assert done.returncode == 1, done.stderr[-3000:]
    line = _error_line(done)
    assert any(cause in line for cause in ("No space left on device", "disk is full")), line  # the first error
    assert "rollback" not in line, line
    filler.unlink()
    done = _console(prefect_api, "run", "--source", str(source), "--warehouse", str(warehouse))
    assert done.returncode == 0, done.stderr[-3000:]
    statuses = [status for (status,) in query(warehouse, "SELECT status FROM runs ORDER BY started_at")]
    assert statuses == ["completed", "failed", "completed"], statuses
    assert_complete(source, warehouse)


# --- a killed reenrich leaves nothing behind ----------------------------------------------------------------------


@pytest.mark.deep  # a kill fault run (make test's stateful model kills runs too)
def test_a_killed_reenrich_leaves_no_scratch_the_next_writer_does_not_remove(
    landed_lake: tuple[Path, Path], tmp_path: Path, prefect_api: str
) -> None:
    source, warehouse = _copy(landed_lake, tmp_path)
    scratch_root = tmp_path / "tmp"
    scratch_root.mkdir()
    env = {"WIREHOUSE_FAULT_AT": "before_commit", "TMPDIR": str(scratch_root)}
    done = _console(prefect_api, "reenrich", "--warehouse", str(warehouse), "--only", "language", env=env)
    assert done.returncode == -9, done.stderr[-2000:]
    left = [p for p in [*scratch_root.rglob("*"), *(warehouse / ".scratch").rglob("*")] if p.is_file()]
    assert left  # the killed reenrich did leave its recomputed rows somewhere …
    assert not [p for p in scratch_root.rglob("*") if p.is_file()]  # … never in the machine's temp folder
    done = _console(prefect_api, "compact", "--warehouse", str(warehouse))
    assert done.returncode == 0, done.stderr[-2000:]
    assert not (warehouse / ".scratch").exists() or not list((warehouse / ".scratch").iterdir())
    assert_complete(source, warehouse)
