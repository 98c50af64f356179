"""Credentials given in a source URL work, and appear in no output: run names, tags, parameters, logs, events,
artifacts (everything the Prefect server stored), the warehouse's tables, or what the run printed."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL

from tasks.store.lake import Warehouse, query
from tests.sources.test_s3_source import STORY, put

SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"


def _server_rows(db: Path) -> list[str]:
    with closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)) as connection:  # never creates a file
        tables = [name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return [repr(row) for table in tables for row in connection.execute(f'SELECT * FROM "{table}"')]


def _warehouse_rows(warehouse: Path) -> list[str]:
    with query(Warehouse(warehouse)) as connection:
        views = ("files", "article_versions", "quarantine", "validations", "runs")
        return [repr(row) for view in views for row in connection.execute(f"SELECT * FROM {view}").fetchall()]


def test_a_secret_in_the_source_url_reaches_no_output(
    bucket: Any, ingest: Any, warehouse_dir: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    fs, prefix = bucket
    put(fs, f"{prefix}/story.txt", STORY.encode())
    put(fs, f"{prefix}/empty.txt", b"")  # a quarantined file: its reason reaches the artifacts too
    summary = ingest(source=f"s3://testing:{SECRET}@{prefix}/")
    counts = summary.counts
    assert (summary.status, counts.landed, counts.quarantined) == ("completed", 1, 1)  # the credentials worked
    db = Path(PREFECT_SERVER_DATABASE_CONNECTION_URL.value().split(":///", 1)[1])
    deadline = time.monotonic() + 30
    stored = _server_rows(db)
    while time.monotonic() < deadline:  # logs and events reach the server from background workers: wait a while
        if any("wirehouse.batch.landed" in row for row in stored) and any("discover:" in row for row in stored):
            break
        time.sleep(0.5)
        stored = _server_rows(db)
    assert any("ingest-summary" in row for row in stored)  # artifacts and the run's name are written at once
    assert any(prefix in row for row in stored)  # the location is there, so the search is meaningful
    assert any(summary.name in row for row in stored)
    everything = [*stored, *_warehouse_rows(warehouse_dir), capsys.readouterr().out, capsys.readouterr().err]
    everything += [record.getMessage() for record in caplog.records]
    assert [row for row in everything if SECRET in row] == []
