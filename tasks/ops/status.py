"""``wirehouse status``: recent runs, what the warehouse holds, and whether stored enrichment is stale."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasks.enrich.steps import ENRICHER_VERSION
from tasks.enrich.versions import stale_components
from tasks.store.lake import Warehouse, query


@dataclass(frozen=True, slots=True)
class WarehouseStatus:
    run_columns: list[str]
    runs: list[tuple[Any, ...]]  # newest first
    articles: int
    versions: int
    source_files: int  # not deleted
    quarantine_rows: int
    stale: tuple[str, ...]  # components some stored article computed with an older version
    older_articles: int  # articles not on the current ENRICHER_VERSION


def warehouse_status(warehouse: Warehouse, sql_dir: Path, *, last: int) -> WarehouseStatus:
    """Read the status off one read-only snapshot, so the runs and the totals agree."""
    with query(warehouse) as connection:
        runs = connection.execute(_sql(sql_dir, "runs"), [last])
        run_columns = [d[0] for d in runs.description or []]
        run_rows = runs.fetchall()
        totals = connection.execute(_sql(sql_dir, "totals")).fetchone()
        versions = connection.execute(_sql(sql_dir, "enricher_versions")).fetchall()
    assert totals is not None  # a SELECT of scalar subqueries has exactly one row
    articles, article_versions, source_files, quarantine_rows = totals
    return WarehouseStatus(
        run_columns=run_columns,
        runs=run_rows,
        articles=articles,
        versions=article_versions,
        source_files=source_files,
        quarantine_rows=quarantine_rows,
        stale=stale_components(version for version, _ in versions),
        older_articles=sum(n for version, n in versions if version != ENRICHER_VERSION),
    )


def _sql(sql_dir: Path, name: str) -> str:
    return (sql_dir / f"status_{name}.sql").read_text(encoding="utf-8")
