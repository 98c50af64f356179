"""A later enricher that adds a column: the next writer session adds it to the lake with ``ALTER TABLE … ADD
COLUMN``, the rows stored before read NULL, and ``reenrich`` fills it in one snapshot (the one before keeps NULL)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tasks.enrich import steps as steps_module
from tasks.enrich.pool import IsolatingPool
from tasks.enrich.versions import format_versions
from tasks.models import Document, FileRef
from tasks.settings import Settings
from tasks.store import reenrich as reenrich_module
from tasks.store import schema as schema_module
from tasks.store.lake import Warehouse, query
from tasks.store.writer import writer
from tests.conftest import SEED_ARTICLE

COLUMN = "keyword_count"  # what the later enricher adds: computed by the keywords step
LATER = str(int(steps_module.COMPONENT_VERSIONS["keywords"]) + 1)  # its keywords version
DEFAULTS = Settings(**{})  # where the SQL and the suites live


def _keywords_with_count(row: dict[str, Any], doc: Document, ref: FileRef) -> dict[str, Any]:
    """The later keywords step: what it computed before, and how many keywords it found."""
    found = steps_module.keyword_columns(doc.text, row["language"])
    return found | {COLUMN: len(found["keywords"])}


def _later_enricher() -> list[tuple[Any, str, Any]]:
    """(object, name, value) for every change the later enricher makes to the code."""
    schema: pa.Schema = schema_module.SCHEMAS["article_versions"]
    steps = tuple((name, _keywords_with_count if name == "keywords" else s) for name, s in steps_module.STEPS)
    return [
        (schema_module.SCHEMAS, "article_versions", schema.append(pa.field(COLUMN, pa.int32()))),
        (steps_module.COMPONENT_VERSIONS, "keywords", LATER),
        (steps_module.COMPONENT_COLUMNS, "keywords", (*steps_module.COMPONENT_COLUMNS["keywords"], COLUMN)),
        (reenrich_module, "STEPS", steps),
    ]


def _later_worker() -> None:
    """The pool's initializer: each spawned worker runs the later enricher too (it dies with the pool)."""
    steps_module.warm_worker()
    for target, name, value in _later_enricher():
        if isinstance(target, dict):
            target[name] = value
        else:
            setattr(target, name, value)


def _query(warehouse: Path, statement: str, snapshot: int | None = None) -> list[tuple[Any, ...]]:
    with query(Warehouse(warehouse), snapshot=snapshot) as connection:
        return connection.execute(statement).fetchall()


def _columns(warehouse: Path) -> set[str]:
    statement = "SELECT column_name FROM information_schema.columns WHERE table_name = 'article_versions'"
    return {str(row[0]) for row in _query(warehouse, statement)}


def test_a_column_a_later_enricher_adds_is_null_until_reenrich_fills_it(
    prefect_api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.ingest_articles import ingest_articles

    source, warehouse = tmp_path / "source", tmp_path / "warehouse"
    source.mkdir()
    shutil.copy(SEED_ARTICLE, source / "kosovo.txt")
    (source / "brief.txt").write_text(SEED_ARTICLE.read_text(encoding="utf-8")[:1500], encoding="utf-8")
    options: dict[str, Any] = {"source": source, "warehouse": warehouse, "min_age_seconds": 0, "workers": 1}
    ingest_articles(Settings(**options))
    assert COLUMN not in _columns(warehouse)
    stored = _query(warehouse, "SELECT article_id, keywords FROM article_versions ORDER BY 1")
    assert len(stored) == 2

    for target, name, value in _later_enricher():
        if isinstance(target, dict):
            monkeypatch.setitem(target, name, value)
        else:
            monkeypatch.setattr(target, name, value)
    lake = Warehouse(warehouse)
    later_pool = IsolatingPool(1, DEFAULTS.file_timeout_seconds, initializer=_later_worker)
    with writer(lake, DEFAULTS.sql, timeout=10) as session, later_pool:
        evolved = session.snapshot()  # the session's initialise added the column: one snapshot
        assert COLUMN in _columns(warehouse)
        assert _query(warehouse, f"SELECT {COLUMN} FROM article_versions") == [(None,), (None,)]
        assert _query(warehouse, f"SELECT count({COLUMN}), count(*) FROM articles") == [(0, 2)]  # the view has it
        result = reenrich_module.reenrich(
            session, now=datetime.now(UTC), expectations=DEFAULTS.expectations, sql_dir=DEFAULTS.sql, pool=later_pool
        )
    assert result.components == ("keywords",) and result.articles == 2 and result.quarantined == 0
    assert result.snapshot == evolved + 1
    filled = _query(warehouse, f"SELECT article_id, keywords, {COLUMN} FROM article_versions ORDER BY 1")
    assert [(article_id, keywords, len(keywords)) for article_id, keywords in stored] == filled
    versions = _query(warehouse, "SELECT DISTINCT enricher_version FROM articles")
    assert versions == [(format_versions(dict(steps_module.COMPONENT_VERSIONS)),)]
    assert f"keywords={LATER}" in versions[0][0]
    assert _query(warehouse, f"SELECT {COLUMN} FROM article_versions", snapshot=evolved) == [(None,), (None,)]
    # the next session finds nothing to evolve: no empty snapshot
    with writer(lake, DEFAULTS.sql, timeout=10) as session:
        assert session.snapshot() == result.snapshot
