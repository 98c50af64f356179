"""Compaction: merge many small batch files into a few large ones, atomically, without changing results.

Every run commits at least one small batch (its ``runs`` rows), and a 15-minute schedule makes ~100 a day:
globbing and opening thousands of tiny Parquet files is what slows DuckDB down, not the rows. Compaction
streams each table's small files, in commit order, into files of up to ``target_rows`` rows inside a new
generation (``Warehouse.swap_generation``), hard-links batches that are already large, and swaps the
``current`` link in one rename. Rows are copied unchanged (``batch_id`` and every other column kept), so
every view returns the same result before and after.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tasks.store.schema import SCHEMAS
from tasks.store.storage import SCHEMA_BATCH, TABLE_FILES, Warehouse, new_batch_id, utc_now

TARGET_ROWS = 500_000  # rows per compacted file: large enough for DuckDB, small enough to rewrite quickly
ROW_GROUP = 64_000


@dataclass(frozen=True, slots=True)
class CompactResult:
    batches_before: int
    batches_after: int
    files_merged: int
    files_linked: int
    seconds: float


def batch_count(warehouse: Warehouse) -> int:
    """Committed batch directories in the live generation (the schema batch included)."""
    if not warehouse.current.exists():
        return 0
    with os.scandir(warehouse.current) as entries:
        return sum(1 for e in entries if e.name.startswith("batch="))


def _rows(path: Path) -> int:
    return int(pq.ParquetFile(path).metadata.num_rows)


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """A file written by an older schema version: add missing columns as nulls, cast to today's types."""
    columns = [
        table.column(f.name) if f.name in table.column_names else pa.nulls(table.num_rows, f.type) for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema) if table.schema != schema else table


def compact(warehouse: Warehouse, *, target_rows: int = TARGET_ROWS) -> CompactResult:
    """Rewrite the live generation with small batch files merged (call with the warehouse lock held)."""
    started = time.perf_counter()
    batches = [b for b in warehouse.batch_dirs() if b.name != f"batch={SCHEMA_BATCH}"]
    large = {b for b in batches if any(_rows(f) >= target_rows // 2 for f in b.glob("*.parquet"))}
    small = [b for b in batches if b not in large]
    merged = linked = 0
    made = 0

    def build(generation: Path) -> None:
        nonlocal merged, linked, made
        for batch in sorted(large):
            (generation / batch.name).mkdir()
            for path in batch.glob("*.parquet"):
                os.link(path, generation / batch.name / path.name)
                linked += 1
        for name in TABLE_FILES:
            schema = SCHEMAS[name]
            writer: pq.ParquetWriter | None = None
            rows = 0
            for batch in small:
                path = batch / f"{name}.parquet"
                if not path.exists():
                    continue
                table = _conform(pq.read_table(path), schema)
                merged += 1
                if table.num_rows == 0:
                    continue
                if writer is None or rows + table.num_rows > target_rows:
                    if writer is not None:
                        writer.close()
                    out = generation / f"batch={new_batch_id(utc_now())}-compacted"
                    out.mkdir()
                    made += 1
                    writer = pq.ParquetWriter(out / f"{name}.parquet", schema, compression="zstd")
                    rows = 0
                writer.write_table(table, row_group_size=ROW_GROUP)
                rows += table.num_rows
            if writer is not None:
                writer.close()

    warehouse.swap_generation(build)
    return CompactResult(
        batches_before=len(batches) + 1,
        batches_after=len(large) + made + 1,
        files_merged=merged,
        files_linked=linked,
        seconds=time.perf_counter() - started,
    )


def compact_if_needed(warehouse: Warehouse, threshold: int) -> CompactResult | None:
    """Compact once the live generation holds more than ``threshold`` batches (0 turns it off)."""
    if threshold and batch_count(warehouse) > threshold:
        return compact(warehouse)
    return None
