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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
)
from tasks.entities import Entity, extract_entities
from tasks.fingerprint import simhash
from tasks.storage import SCHEMA_BATCH, SCHEMAS, Warehouse

COMPONENTS = tuple(COMPONENT_COLUMNS)  # what --only accepts (parse needs the source bytes: not re-runnable)


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


def reenrich_row(row: dict[str, Any], components: tuple[str, ...]) -> dict[str, Any]:
    """The row with ``components``' columns recomputed from ``row["text"]`` (in dependency order)."""
    text = row.get("text") or ""
    updated = dict(row)
    if "language" in components:
        updated |= language_columns(text)
    if "metadata" in components:
        mtime = row.get("mtime") or datetime.now(UTC)
        fields = {
            "site": row.get("site"),
            "author": row.get("author"),
            "published": row.get("published") if row.get("published_source") == "metadata" else None,
        }
        updated |= metadata_columns(text, title=row.get("title"), fields=fields, reference=mtime.date())
    found: list[Entity] | None = None
    if "entities" in components:
        found = extract_entities(text, updated.get("language"))
        updated |= entity_columns(found)
    if "quotes" in components:
        if found is None:
            stored = updated.get("entities")
            found = stored_entities(stored) if stored is not None else extract_entities(text, updated.get("language"))
        updated |= quote_columns(text, found)
    if "keywords" in components:
        updated |= keyword_columns(text, updated.get("language") or "und")
    if "fingerprint" in components:
        updated["fingerprint"] = simhash(text)
    versions = parse_versions(row.get("enricher_version"))
    versions |= {name: COMPONENT_VERSIONS[name] for name in components}
    updated["enricher_version"] = format_versions(versions)
    return updated


def reenrich(warehouse: Warehouse, *, only: tuple[str, ...] | None = None) -> ReenrichResult:
    """Recompute ``only`` (default: the stale components) for every stored article, in a new generation."""
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

    def build(generation: Path) -> None:
        for batch in batches:
            target = generation / batch.name
            target.mkdir()
            for path in sorted(batch.iterdir()):
                if path.name == "articles.parquet":
                    table = pq.read_table(path)
                    rows = [reenrich_row(row, components) for row in table.to_pylist()]
                    schema = SCHEMAS["articles"]
                    pq.write_table(pa.Table.from_pylist(rows, schema=schema), target / path.name, compression="zstd")
                    counts["articles"] += len(rows)
                    counts["rewritten"] += 1
                elif path.is_file():
                    os.link(path, target / path.name)  # unchanged: shared with the old generation, no copy
                    counts["linked"] += 1

    warehouse.swap_generation(build)
    return ReenrichResult(
        components, counts["articles"], counts["rewritten"], counts["linked"], time.perf_counter() - started
    )
