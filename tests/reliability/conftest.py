"""Reliability tests: the real flow, in this process or in child processes that get killed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from prefect.settings import PREFECT_API_URL
from prefect.testing.utilities import prefect_test_harness

from tasks.settings import Settings
from tasks.store.lake import Warehouse
from tests.conftest import ROOT


@pytest.fixture(scope="session", autouse=True)
def prefect_api() -> Iterator[str]:
    """One API server for the session: reuse a running harness, else start one; child processes share it."""
    url = PREFECT_API_URL.value()
    if url:
        yield url
        return
    with prefect_test_harness(server_startup_timeout=90):
        yield PREFECT_API_URL.value()


@dataclass
class Child:
    returncode: int
    stdout: str
    stderr: str

    @property
    def killed(self) -> bool:
        return self.returncode == -9

    def summary(self) -> dict[str, Any]:
        lines = [line for line in self.stdout.splitlines() if line.startswith("{")]
        assert lines, f"no summary (rc={self.returncode}): {self.stderr[-3000:]}"
        result: dict[str, Any] = json.loads(lines[-1])
        return result


def child_env(api_url: str, fault: str | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The child's environment: no WIREHOUSE_* of ours, the shared API, ``fault`` and any ``extra`` variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREHOUSE_")}
    env.update(PREFECT_API_URL=api_url, DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false")
    env.update(GX_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="WARNING")
    if fault:
        env["WIREHOUSE_FAULT_AT"] = fault
    env.update(extra or {})
    return env


def flow_command(source: Path, warehouse: Path, **settings: Any) -> list[str]:
    options = {"min_age_seconds": 0, "workers": 2, **settings}  # ≥ 2: the pool's failure handling is what runs
    return [
        sys.executable,
        "-m",
        "tests.reliability.flow_entry",
        str(source),
        str(warehouse),
        *(f"{k}={v}" for k, v in options.items()),
    ]


@pytest.fixture
def run_child(prefect_api: str) -> Callable[..., Child]:
    """Run the real flow in a child process, optionally killed at a fault point (tasks/faults.py)."""

    def run(
        source: Path, warehouse: Path, fault: str | None = None, env: dict[str, str] | None = None, **settings: Any
    ) -> Child:
        done = subprocess.run(
            flow_command(source, warehouse, **settings),
            cwd=ROOT,
            env=child_env(prefect_api, fault, env),
            capture_output=True,
            text=True,
            timeout=300,
        )
        return Child(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture
def ingest(source: Path, warehouse_dir: Path) -> Callable[..., Any]:
    """Run the real ingest-articles flow in this process."""
    from flows.ingest_articles import ingest_articles

    def run(**overrides: Any) -> Any:
        options: dict[str, Any] = {
            "source": str(source),
            "warehouse": warehouse_dir,
            "min_age_seconds": 0,
            "workers": 2,  # ≥ 2: the pool's failure handling is what runs
        }
        options.update(overrides)
        return ingest_articles(Settings(**options))

    return run


def query(warehouse: Path, statement: str, *params: Any) -> list[tuple[Any, ...]]:
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
