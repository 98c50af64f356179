"""Flow tests run the real flow against Prefect's test harness (a real, temporary API server)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from prefect.testing.utilities import prefect_test_harness

from tasks.settings import Settings
from tasks.store.lake import Warehouse


@pytest.fixture(scope="session", autouse=True)
def prefect_server() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture
def ingest(source: Path, warehouse_dir: Path) -> Callable[..., Any]:
    """Run the real ingest-articles flow over ``source`` into ``warehouse_dir``."""
    from flows.ingest_articles import ingest_articles

    def run(**overrides: Any) -> Any:
        options: dict[str, Any] = {"source": source, "warehouse": warehouse_dir, "min_age_seconds": 0, "workers": 2}
        options.update(overrides)
        return ingest_articles(Settings(**options))

    return run


@pytest.fixture
def sql(warehouse_dir: Path) -> Callable[..., list[tuple[Any, ...]]]:
    """Query the warehouse views the way a user does (fresh connection per query)."""

    def query(statement: str, *params: Any) -> list[tuple[Any, ...]]:
        connection: duckdb.DuckDBPyConnection = Warehouse(warehouse_dir).connect()
        try:
            return connection.execute(statement, list(params)).fetchall()
        finally:
            connection.close()

    return query
