"""The isolating pool kept warm across runs: it serves a run only where a pool of the run's own would behave the
same, and every worker it spawns (replacements too) runs in the environment the pool was created in."""

from __future__ import annotations

import os
import signal

import pytest

from tasks.enrich.pool import IsolatingPool
from tasks.models import Reason

MARK = "WIREHOUSE_TEST_POOL_MARK"  # the pool compares the WIREHOUSE_* variables


def environment_of_worker(chunk: list[str]) -> list[str]:
    return [os.environ.get(MARK, "unset") for _ in chunk]


def die_on(chunk: list[str]) -> list[str]:
    if "die" in chunk:
        os.kill(os.getpid(), signal.SIGKILL)
    return [os.environ.get(MARK, "unset") for _ in chunk]


def pid_of_worker(chunk: list[str]) -> list[int]:
    return [os.getpid() for _ in chunk]


def failed(job: str, reason: Reason, detail: str) -> str:
    return f"{job}: {reason.value}"


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> IsolatingPool[str, str]:
    monkeypatch.setenv(MARK, "at start")
    return IsolatingPool(workers=2, file_timeout=20)


def test_a_pool_serves_runs_like_its_own_and_no_other(
    pool: IsolatingPool[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pool:
        assert pool.serves(2, 20) and pool.serves(1, 20)
        assert not pool.serves(3, 20)  # fewer workers than asked
        assert not pool.serves(2, 4)  # another per-file budget: a timeout test gets a pool of its own
        monkeypatch.setenv(MARK, "changed")
        assert not pool.serves(2, 20)  # its workers were spawned from another environment
        monkeypatch.setenv(MARK, "at start")
        assert pool.serves(2, 20)
    assert not pool.serves(2, 20)  # closed


def test_a_replacement_worker_runs_in_the_pools_environment_not_the_callers(
    pool: IsolatingPool[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pool:
        assert list(pool.map_chunks(environment_of_worker, [["a"], ["b"]], failed)) == ["at start", "at start"]
        monkeypatch.setenv(MARK, "a poisoned caller")
        # a worker dies and pebble replaces it while the caller's environment differs
        assert list(pool.map_chunks(die_on, [["die"], ["c"]], failed)) == ["die: worker_crashed", "at start"]
        outputs = list(pool.map_chunks(environment_of_worker, [[str(n)] for n in range(8)], failed))
        assert outputs == ["at start"] * 8


def test_cancel_unfinished_frees_the_workers_for_the_next_run(pool: IsolatingPool[str, str]) -> None:
    with pool:
        pool.map_chunks(die_on, [["slow"]] * 6, failed)  # scheduled, never collected: a run that stopped early
        pool.cancel_unfinished()
        assert list(pool.map_chunks(environment_of_worker, [["x"], ["y"]], failed)) == ["at start", "at start"]


def test_a_worker_is_replaced_after_its_share_of_chunks_and_every_chunk_still_lands() -> None:
    with IsolatingPool(workers=1, file_timeout=20, recycle_after=2) as pool:
        pids = list(pool.map_chunks(pid_of_worker, [["a"], ["b"], ["c"], ["d"], ["e"]], failed))
    assert len(pids) == 5
    assert pids[0] == pids[1] and pids[2] == pids[3] and len({pids[0], pids[2], pids[4]}) == 3
