"""Shared test set-up: offline and quiet, the paths to the seeds and the shared corpus, one Prefect API and one
warm enrichment pool per test process (``make test`` runs several), how a test drives the product in this process
(``ingest``) and reads it (``sql``, ``query``), and ``wait_for`` for child processes."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tasks.offline import OFFLINE_ENV

for _name, _value in OFFLINE_ENV.items():  # as the console script does: tests run offline and quiet too
    os.environ.setdefault(_name, _value)

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
SEED_ARTICLE = SEEDS / "000_30a036b7f4c49258.txt"
CORPUS = ROOT.parent / "shared" / "corpora"


SLOW_FIRST = ("reliability", "flows", "store", "sources")  # the folders whose files take longest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow folders first (the order within each kept): spread over processes, the long files start at once
    and the short ones fill in at the end, instead of one long file starting last and running alone."""
    rank = {folder: n for n, folder in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.parent.name, len(rank)))


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[str]:
    """The session's one Prefect API (a running one if PREFECT_API_URL is set, else the test harness): flows in
    this process and every child process report to it. Requested by flow tests only; pure tests never start it."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    url = PREFECT_API_URL.value()
    if url:
        yield str(url)
        return
    with prefect_test_harness(server_startup_timeout=90):
        yield str(PREFECT_API_URL.value())


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "source"
    folder.mkdir()
    return folder


@pytest.fixture
def warehouse_dir(tmp_path: Path) -> Path:
    return tmp_path / "warehouse"


@pytest.fixture(scope="session")
def warm_pool() -> Iterator[Any]:
    """Two enrichment workers started once for the session, as ``wirehouse watch`` keeps them across its runs.
    A run uses them only where they serve it (the same per-file budget, the environment they were spawned
    from): a test that sets a poison or another budget gets a pool of its own, so failure handling is real."""
    from tasks.enrich.steps import enrichment_pool
    from tasks.settings import Settings

    with enrichment_pool(2, Settings().file_timeout_seconds) as pool:
        yield pool


@pytest.fixture
def ingest(source: Path, warehouse_dir: Path, prefect_api: str, warm_pool: Any) -> Callable[..., Any]:
    """Run the real ingest-articles flow over ``source`` into ``warehouse_dir``, in this process."""
    from flows.ingest_articles import ingest_articles
    from flows.runners import kept_warm
    from tasks.settings import Settings

    def run(**overrides: Any) -> Any:
        options: dict[str, Any] = {
            "source": str(source),
            "warehouse": warehouse_dir,
            "min_age_seconds": 0,
            "workers": 2,  # ≥ 2: the pool's failure handling is what runs
        }
        options.update(overrides)
        with kept_warm(warm_pool):
            return ingest_articles(Settings(**options))

    return run


def query(warehouse: Path, statement: str, *params: Any) -> list[tuple[Any, ...]]:
    """Query the warehouse's views the way a user does: a fresh read-only connection per query."""
    from tasks.store.lake import Warehouse

    connection: duckdb.DuckDBPyConnection = Warehouse(warehouse).connect()
    try:
        return connection.execute(statement, list(params)).fetchall()
    finally:
        connection.close()


@pytest.fixture
def sql(warehouse_dir: Path) -> Callable[..., list[tuple[Any, ...]]]:
    def run(statement: str, *params: Any) -> list[tuple[Any, ...]]:
        return query(warehouse_dir, statement, *params)

    return run


def wait_for(condition: Callable[[], bool], what: str, children: list[subprocess.Popen[str]], timeout: float) -> None:
    """Poll ``condition`` until it holds; fail at once, with its stderr, if a child process exits first."""
    deadline = time.monotonic() + timeout
    while not condition():
        for child in children:
            if child.poll() is not None:
                _, err = child.communicate()
                raise AssertionError(f"{what}: a run exited early (rc={child.returncode}): {err[-3000:]}")
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f}s"
        time.sleep(0.1)
