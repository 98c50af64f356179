"""Compaction merges small batch files atomically and leaves every view's result unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tasks.settings import Settings
from tasks.store.compact import batch_count, compact, compact_if_needed
from tasks.store.schema import table_from_rows
from tasks.store.storage import Warehouse, query

VIEWS = ("articles", "article_versions", "files", "file_status", "quarantine", "validations", "runs")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _run(warehouse: Warehouse, index: int, version: int = 1) -> None:
    """One small commit, like a run landing one file (and recording itself)."""
    path = f"f{index % 7}.txt"
    at = T0 + timedelta(minutes=index)
    warehouse.commit(
        {
            "files": table_from_rows(
                "files",
                [
                    {
                        "source_path": path,
                        "file_version": version,
                        "size": index,
                        "content_sha256": f"sha{index}",
                        "status": "landed",
                        "batch_id": f"b{index}",
                        "recorded_at": at,
                    }
                ],
            ),
            "articles": table_from_rows(
                "articles",
                [
                    {
                        "article_id": f"{index:064x}",
                        "source_path": path,
                        "file_version": version,
                        "language": "en" if index % 2 else "de",
                        "text": f"text {index}",
                        "content_sha256": f"sha{index}",
                        "batch_id": f"b{index}",
                        "ingested_at": at,
                    }
                ],
            ),
            "content_articles": table_from_rows(
                "content_articles",
                [{"content_sha256": f"sha{index}", "article_id": f"{index:064x}", "batch_id": f"b{index}"}],
            ),
            "runs": table_from_rows(
                "runs", [{"flow_run_id": f"r{index}", "status": "completed", "started_at": at, "recorded_at": at}]
            ),
        },
        batch_id=f"2026{index:08d}",
    )


def _snapshot(warehouse: Warehouse) -> dict[str, list[tuple[object, ...]]]:
    with query(warehouse, Settings().sql) as connection:
        return {view: sorted(connection.execute(f"SELECT * FROM {view}").fetchall(), key=repr) for view in VIEWS}


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    home = Warehouse(tmp_path / "warehouse")
    home.initialise()
    for index in range(30):
        _run(home, index, version=1 + index // 7)  # paths land again: articles keeps only the newest
    return home


def test_compaction_keeps_every_view_and_merges_the_files(warehouse: Warehouse) -> None:
    before = _snapshot(warehouse)
    old = warehouse.current.resolve()
    result = compact(warehouse)
    assert warehouse.current.resolve() != old
    assert result.batches_before == 31 and result.batches_after == 5  # schema batch + one per table written
    assert batch_count(warehouse) == 5
    assert _snapshot(warehouse) == before
    assert len(before["articles"]) == 7 and len(before["article_versions"]) == 30


def test_compacting_twice_links_large_batches_and_changes_nothing(warehouse: Warehouse) -> None:
    before = _snapshot(warehouse)
    compact(warehouse, target_rows=40)  # 30 rows per table ≥ 40 // 2: "large" next time
    again = compact(warehouse, target_rows=40)
    assert again.files_merged == 0 and again.files_linked == 4
    assert _snapshot(warehouse) == before


def test_files_of_an_older_schema_are_conformed(warehouse: Warehouse) -> None:
    old_batch = warehouse.current.resolve() / "batch=19990101"
    old_batch.mkdir()
    pq.write_table(
        pa.table({"source_path": ["old.txt"], "file_version": pa.array([1], pa.int32())}), old_batch / "files.parquet"
    )
    before = _snapshot(warehouse)
    compact(warehouse)
    assert _snapshot(warehouse) == before


def test_compact_if_needed_respects_the_threshold(warehouse: Warehouse) -> None:
    assert compact_if_needed(warehouse, threshold=0) is None  # 0: never
    assert compact_if_needed(warehouse, threshold=100) is None
    assert compact_if_needed(warehouse, threshold=10) is not None
    assert batch_count(warehouse) == 5
    assert warehouse.recover()  # the retired generation is removed by the next writer
