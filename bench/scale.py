"""Scale checks that need no langdetect: a 100k-file no-op poll and a 1M-row articles table.

Both build their lake directly through a writer session (``session.commit`` per batch of 10,000 rows, one
snapshot and one data file per table each), the way landed data looks after many runs, so they take seconds
instead of hours of language detection.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from bench import measure
from tasks.settings import Settings
from tasks.sources.discover import scan
from tasks.store.lake import Warehouse
from tasks.store.ledger import Ledger
from tasks.store.schema import SCHEMAS
from tasks.store.writer import new_batch_id, utc_now, writer

LANGUAGES = ("en", "de", "fr", "es", "ru", "zh", "ja", "ar", "pt", "it", "nl", "pl", "ko", "tr", "sv", "uk")
LOCK_TIMEOUT_S = 60.0  # the bench's own lakes: nobody else writes them
GROUP_BY = {"articles per language": measure.QUERIES["articles per language"]}


def _full(name: str, columns: dict[str, pa.Array], rows: int) -> pa.Table:
    schema = SCHEMAS[name]
    return pa.table([columns[f.name] if f.name in columns else pa.nulls(rows, f.type) for f in schema], schema=schema)


def landed_source(source: Path, warehouse: Warehouse, files: int, *, per_batch: int = 10_000) -> None:
    """``files`` tiny source files and a lake whose ledger already holds every one of them (landed)."""
    now = utc_now()
    with writer(warehouse, Settings().sql, timeout=LOCK_TIMEOUT_S) as session:
        for start in range(0, files, per_batch):
            paths, sizes, mtimes = [], [], []
            for index in range(start, min(files, start + per_batch)):
                relative = f"d{index // 1000:04d}/f{index:07d}.txt"
                path = source / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(b"x")
                info = path.stat()
                paths.append(relative)
                sizes.append(info.st_size)
                mtimes.append(info.st_mtime_ns)
            rows = len(paths)
            ledger = {
                "source_path": pa.array(paths),
                "file_version": pa.array([1] * rows, pa.int32()),
                "size": pa.array(sizes, pa.int64()),
                "mtime_ns": pa.array(mtimes, pa.int64()),
                "status": pa.array(["landed"] * rows),
                "articles": pa.array([1] * rows, pa.int32()),
                "recorded_at": pa.array([now] * rows, SCHEMAS["files"].field("recorded_at").type),
            }
            session.commit({"files": _full("files", ledger, rows)}, batch_id=new_batch_id(utc_now()))


def noop_discovery(source: Path, warehouse: Warehouse, settings: Settings) -> dict[str, float]:
    """Seconds of what a no-op run does besides Prefect: open the writer session, scan, diff (in DuckDB)."""
    started = time.perf_counter()
    with writer(warehouse, settings.sql, timeout=LOCK_TIMEOUT_S) as session:
        ledger = Ledger(session.connection, settings.sql)
        opened = time.perf_counter()
        found = list(scan(source))
        scanned = time.perf_counter()
        changes = ledger.changes(iter(found), now_ns=time.time_ns(), min_age_ns=0)
        diffed = time.perf_counter()
    assert changes.pending.num_rows == 0, changes.pending.num_rows
    return {
        "files": changes.files_seen,
        "session_open_s": round(opened - started, 3),
        "scan_s": round(scanned - opened, 3),
        "diff_s": round(diffed - scanned, 3),
        "total_s": round(diffed - started, 3),
    }


def million_articles(warehouse: Warehouse, rows: int, *, per_batch: int = 10_000) -> dict[str, Any]:
    """Commit ``rows`` synthetic articles (and their ledger rows) in batches of ``per_batch``, time
    ``GROUP BY language`` on the ``articles`` table, compact as ``wirehouse compact`` does (keeping no old
    snapshots), and time it again: batches, data files and the query before and after."""
    now = utc_now()
    ts = SCHEMAS["article_versions"].field("ingested_at").type
    batches = 0
    with writer(warehouse, Settings().sql, timeout=LOCK_TIMEOUT_S) as session:
        for start in range(0, rows, per_batch):
            count = min(per_batch, rows - start)
            paths = pa.array([f"d{i // 1000:04d}/a{i:07d}.txt" for i in range(start, start + count)])
            ids = pa.array([f"{i:064x}" for i in range(start, start + count)])  # one content and article per file
            ones = pa.array([1] * count, pa.int32())
            articles = {
                "article_id": ids,
                "content_sha256": ids,
                "source_path": paths,
                "file_version": ones,
                "language": pa.array([LANGUAGES[i % len(LANGUAGES)] for i in range(start, start + count)]),
                "language_confidence": pa.array([0.99] * count, pa.float64()),
                "title": pa.array([f"Article {i}" for i in range(start, start + count)]),
                "text": pa.array([f"Synthetic article number {i}." for i in range(start, start + count)]),
                "char_count": pa.array([30] * count, SCHEMAS["article_versions"].field("char_count").type),
                "ingested_at": pa.array([now] * count, ts),
            }
            files = {
                "source_path": paths,
                "file_version": ones,
                "size": pa.array([30] * count, pa.int64()),
                "mtime_ns": pa.array([0] * count, pa.int64()),
                "status": pa.array(["landed"] * count),
                "content_sha256": ids,
                "articles": ones,
                "recorded_at": pa.array([now] * count, SCHEMAS["files"].field("recorded_at").type),
            }
            session.commit(
                {"article_versions": _full("article_versions", articles, count), "files": _full("files", files, count)},
                batch_id=new_batch_id(utc_now()),
            )
            batches += 1
        files_before = session.data_files()
    before = measure.queries(warehouse, GROUP_BY)
    with writer(warehouse, Settings().sql, timeout=LOCK_TIMEOUT_S) as session:
        compacted = session.compact(keep_snapshots=timedelta(0))
    after = measure.queries(warehouse, GROUP_BY)
    return {
        "rows": rows,
        "batches": batches,
        "data_files_before": files_before,
        "data_files_after": compacted.files_after,
        "compact_s": round(compacted.seconds, 2),
        "snapshots_expired": compacted.snapshots_expired,
        "before": before,
        "after": after,
    }


def tidy(path: Path) -> None:
    if path.exists():
        for root, dirs, files in os.walk(path, topdown=False):
            for name in files:
                os.unlink(os.path.join(root, name))
            for name in dirs:
                full = os.path.join(root, name)
                if os.path.islink(full):
                    os.unlink(full)
                else:
                    os.rmdir(full)
