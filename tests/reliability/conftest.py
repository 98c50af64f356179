"""Reliability tests: the real flow, in this process or in child processes that get killed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tasks.offline import OFFLINE_ENV
from tests.conftest import ROOT, query

__all__ = ["Child", "child_env", "flow_command", "query"]


@pytest.fixture(scope="session", autouse=True)
def prefect_server(prefect_api: str) -> str:
    """Every reliability test reports to the session's one API (tests/conftest.py), children included."""
    return prefect_api


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
    env.update(OFFLINE_ENV, PREFECT_API_URL=api_url, PREFECT_LOGGING_LEVEL="WARNING")
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
