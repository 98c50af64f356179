"""Re-enrichment: recompute enrichment columns from the stored article text, atomically.

No source file is read. A new generation is built with ``Warehouse.swap_generation``: every batch file is
hard-linked unchanged except ``articles.parquet``, which is rewritten with the chosen components'
columns recomputed and their versions updated in ``enricher_version``; then ``current`` flips in one
rename. Readers see the old warehouse or the new one, never a mix. The caller holds the writer lock.

Which components: those named (``--only``), else every component whose stored version differs from the
code's (``tasks.enrich.COMPONENT_VERSIONS``).
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from tasks.enrich import (
    COMPONENT_COLUMNS,
    COMPONENT_VERSIONS,
    entity_columns,
    keyword_columns,
    language_columns,
    metadata_columns,
    quote_columns,
    stored_entities,
    worker_pool,
)
from tasks.entities import extract_entities
from tasks.fingerprint import simhash
from tasks.storage import SCHEMA_BATCH, SCHEMAS, Warehouse

COMPONENTS = tuple(COMPONENT_COLUMNS)  # what --only accepts (parse needs the source bytes: not re-runnable)
CHUNK_ROWS = 256  # stored articles per chunk a worker recomputes
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class ReenrichResult:
    components: tuple[str, ...]
    articles: int
    rewritten_files: int
    linked_files: int
    seconds: float


def parse_versions(value: str | None) -> dict[str, str]:
    """``"language=2;metadata=1"`` → ``{"language": "2", "metadata": "1"}``."""
    pairs = (part.split("=", 1) for part in (value or "").split(";") if "=" in part)
    return {name: version for name, version in pairs}


def format_versions(versions: dict[str, str]) -> str:
    order = list(COMPONENT_VERSIONS) + [name for name in versions if name not in COMPONENT_VERSIONS]
    return ";".join(f"{name}={versions[name]}" for name in order if name in versions)


def stale_components(stored_versions: Iterable[str | None]) -> tuple[str, ...]:
    """Components whose version in any stored row differs from the code's."""
    stale: set[str] = set()
    for value in set(stored_versions):
        versions = parse_versions(value)
        stale |= {name for name in COMPONENTS if versions.get(name) != COMPONENT_VERSIONS[name]}
    return tuple(name for name in COMPONENTS if name in stale)


def reenrich_rows(rows: list[dict[str, Any]], components: tuple[str, ...], now: datetime) -> list[dict[str, Any]]:
    """The rows with ``components``' columns recomputed from their stored ``text``, in dependency order, one
    component over every row before the next (as ``tasks.enrich.enrich_documents`` runs). ``now`` stands in
    for a row's file time when it has none (date mentions without a year resolve against it)."""
    updated = [dict(row) for row in rows]
    texts = [row.get("text") or "" for row in rows]
    pairs = list(zip(updated, texts, strict=True))
    if "language" in components:
        for row, text in pairs:
            row |= language_columns(text)
    if "metadata" in components:
        for row, text in pairs:
            fields = {
                "site": row.get("site"),
                "author": row.get("author"),
                "published": row.get("published") if row.get("published_source") == "metadata" else None,
            }
            reference = (row.get("mtime") or now).date()
            row |= metadata_columns(text, title=row.get("title"), fields=fields, reference=reference)
    if "entities" in components or "quotes" in components:
        for row, text in pairs:
            stored = row.get("entities")
            if "entities" in components or stored is None:
                found = extract_entities(text, row.get("language"))
            else:
                found = stored_entities(stored)
            if "entities" in components:
                row |= entity_columns(found)
            if "quotes" in components:
                row |= quote_columns(text, found)
    if "keywords" in components:
        for row, text in pairs:
            row |= keyword_columns(text, row.get("language") or "und")
    if "fingerprint" in components:
        for row, text in pairs:
            row["fingerprint"] = simhash(text)
    for row in updated:
        versions = parse_versions(row.get("enricher_version"))
        versions |= {name: COMPONENT_VERSIONS[name] for name in components}
        row["enricher_version"] = format_versions(versions)
    return updated


def _reenrich_chunk(job: tuple[list[dict[str, Any]], tuple[str, ...], datetime]) -> list[dict[str, Any]]:
    """Top-level (picklable) entry point for worker processes."""
    return reenrich_rows(*job)


def _in_order(pool: Executor | None, fn: Callable[[T], R], jobs: Iterable[T], ahead: int) -> Iterator[R]:
    """``map`` over a pool that keeps at most ``ahead`` jobs in flight: results in order, memory bounded
    (``Executor.map`` would read every job up front)."""
    if pool is None:
        yield from map(fn, jobs)
        return
    pending: deque[Future[R]] = deque()
    for job in jobs:
        pending.append(pool.submit(fn, job))
        if len(pending) >= ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def reenrich(
    warehouse: Warehouse, *, now: datetime, only: tuple[str, ...] | None = None, workers: int = 1
) -> ReenrichResult:
    """Recompute ``only`` (default: the stale components) for every stored article, in a new generation.

    Articles are read in chunks of ``CHUNK_ROWS`` and recomputed on ``workers`` processes (as enrichment runs,
    langdetect loaded once per worker), a few chunks in flight: memory stays flat however large a file is.
    """
    started = time.perf_counter()
    unknown = set(only or ()) - set(COMPONENTS)
    if unknown:
        raise ValueError(f"unknown component(s) {sorted(unknown)}; choose from {', '.join(COMPONENTS)}")
    batches = [b for b in warehouse.batch_dirs() if b.name != f"batch={SCHEMA_BATCH}"]
    article_files = [b / "articles.parquet" for b in batches if (b / "articles.parquet").exists()]
    if only:
        components = tuple(name for name in COMPONENTS if name in only)
    else:
        versions: set[str | None] = set()
        for path in article_files:
            if "enricher_version" in pq.read_schema(path).names:
                versions |= set(pq.read_table(path, columns=["enricher_version"]).column(0).to_pylist())
            else:
                versions.add(None)
        components = stale_components(versions)
    counts = {"articles": 0, "rewritten": 0, "linked": 0}
    if not components or not article_files:
        return ReenrichResult(components, 0, 0, 0, time.perf_counter() - started)

    def rewrite(source: Path, target: Path, pool: Executor | None) -> None:
        chunks = ((b.to_pylist(), components, now) for b in pq.ParquetFile(source).iter_batches(CHUNK_ROWS))
        with pq.ParquetWriter(target, SCHEMAS["articles"], compression="zstd") as writer:
            for rows in _in_order(pool, _reenrich_chunk, chunks, ahead=2 * workers):
                writer.write_table(pa.Table.from_pylist(rows, schema=SCHEMAS["articles"]))
                counts["articles"] += len(rows)
        counts["rewritten"] += 1

    def build(generation: Path, pool: Executor | None) -> None:
        for batch in batches:
            target = generation / batch.name
            target.mkdir()
            for path in sorted(batch.iterdir()):
                if path.name == "articles.parquet":
                    rewrite(path, target / path.name, pool)
                elif path.is_file():
                    os.link(path, target / path.name)  # unchanged: shared with the old generation, no copy
                    counts["linked"] += 1

    if workers <= 1:
        warehouse.swap_generation(lambda generation: build(generation, None))
    else:
        with worker_pool(workers) as pool:
            warehouse.swap_generation(lambda generation: build(generation, pool))
    return ReenrichResult(
        components, counts["articles"], counts["rewritten"], counts["linked"], time.perf_counter() - started
    )
