"""``--runner dask``: enrichment batches on a 2-worker Dask LocalCluster; the flow process stays the only writer."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasks.settings import Settings
from tasks.store.lake import Warehouse, query
from tests.conftest import SEEDS

pytestmark = pytest.mark.deep  # a Dask cluster: the deep step

distributed = pytest.importorskip("distributed")
pytest.importorskip("prefect_dask")

QUERY = "SELECT source_path, language, article_id, word_count FROM articles ORDER BY source_path, article_id"


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local:
        yield local.scheduler_address


def _rows(warehouse: Path) -> list[tuple[object, ...]]:
    with query(Warehouse(warehouse)) as connection:
        return connection.execute(QUERY).fetchall()


@pytest.mark.slow
def test_dask_runner_lands_what_the_local_runner_lands(cluster: str, source: Path, tmp_path: Path) -> None:
    from flows.ingest_articles import run_ingest

    shutil.copytree(SEEDS, source, dirs_exist_ok=True)
    common = {"source": source, "min_age_seconds": 0, "batch_size": 7}  # several batches in flight
    on_dask = run_ingest(
        Settings(**common, warehouse=tmp_path / "dask", runner="dask", dask_address=cluster, workers=2)
    )
    local = run_ingest(Settings(**common, warehouse=tmp_path / "local", workers=1))
    for field in ("new_files", "landed", "duplicates", "quarantined", "articles"):
        assert getattr(on_dask.counts, field) == getattr(local.counts, field), field
    assert on_dask.counts.landed > 20 and on_dask.counts.duplicates >= 1
    assert _rows(tmp_path / "dask") == _rows(tmp_path / "local")
    again = run_ingest(Settings(**common, warehouse=tmp_path / "dask", runner="dask", dask_address=cluster, workers=2))
    assert (again.counts.new_files, again.counts.landed) == (0, 0)
