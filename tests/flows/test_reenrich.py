"""`wirehouse reenrich`: recomputes components from stored text, atomically, without reading sources."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from flows.cli import app
from tasks import reenrich as reenrich_module
from tasks.enrich import ENRICHER_VERSION
from tasks.entities import VERSION as ENTITIES_VERSION
from tasks.reenrich import parse_versions, stale_components
from tasks.storage import Warehouse

SEED = Path(__file__).resolve().parents[2] / "seeds" / "000_30a036b7f4c49258.txt"


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "source"
    folder.mkdir()
    shutil.copy(SEED, folder / "kosovo.txt")
    text = SEED.read_text(encoding="utf-8")
    (folder / "kosovo_copy.txt").write_text(text.replace("Saturday", "Sunday", 1) + "\nUpdated.\n", encoding="utf-8")
    return folder


@pytest.fixture
def warehouse_dir(tmp_path: Path) -> Path:
    return tmp_path / "warehouse"


def _age_versions(warehouse_dir: Path) -> None:
    """Pretend the stored articles came from an older enricher: entities=0, and no entities at all."""
    for path in Warehouse(warehouse_dir).current.resolve().glob("batch=*/articles.parquet"):
        table = pq.read_table(path)
        if not table.num_rows:
            continue
        rows = table.to_pylist()
        for row in rows:
            row["enricher_version"] = row["enricher_version"].replace(f"entities={ENTITIES_VERSION}", "entities=0")
            row["entities"] = []
        pq.write_table(table.from_pylist(rows, schema=table.schema), path)


def test_near_duplicates_and_views(ingest: Callable[..., Any], sql: Callable[..., list[tuple[Any, ...]]]) -> None:
    ingest()
    rows = sql("SELECT source_path, original_path, distance FROM near_duplicates")
    assert len(rows) == 1 and rows[0][2] <= 10
    assert {rows[0][0], rows[0][1]} == {"kosovo.txt", "kosovo_copy.txt"}
    persons = {r[0] for r in sql("SELECT DISTINCT normalised FROM entities WHERE kind = 'person'")}
    assert {"Edi Rama", "Josep Borrell"} <= persons
    speakers = {r[0] for r in sql("SELECT speaker FROM quotes WHERE speaker IS NOT NULL")}
    assert "Josep Borrell" in speakers
    assert sql("SELECT count(*) FROM articles WHERE list_contains(countries, 'XK')")[0][0] == 2


def test_reenrich_recomputes_only_the_stale_component(
    ingest: Callable[..., Any], sql: Callable[..., list[tuple[Any, ...]]], warehouse_dir: Path, source: Path
) -> None:
    ingest()
    _age_versions(warehouse_dir)
    assert sql("SELECT count(*) FROM entities")[0][0] == 0
    status = CliRunner().invoke(app, ["status", "--warehouse", str(warehouse_dir)])
    assert "2 articles carry older enrichment (entities): `wirehouse reenrich`" in status.output
    before = sql("SELECT article_id, language, keywords FROM articles ORDER BY 1")
    shutil.rmtree(source)  # no source file may be read
    result = CliRunner().invoke(app, ["reenrich", "--warehouse", str(warehouse_dir)])
    assert result.exit_code == 0, result.output
    assert "re-enriched entities for 2 articles" in result.output
    assert sql("SELECT count(*) FROM entities")[0][0] > 20
    assert sql("SELECT DISTINCT enricher_version FROM articles") == [(ENRICHER_VERSION,)]
    assert sql("SELECT article_id, language, keywords FROM articles ORDER BY 1") == before
    assert sql("SELECT count(*) FROM files")[0][0] >= 2  # the ledger came along (hard-linked)
    again = CliRunner().invoke(app, ["reenrich", "--warehouse", str(warehouse_dir)])
    assert "nothing to re-enrich" in again.output
    assert "older" not in CliRunner().invoke(app, ["status", "--warehouse", str(warehouse_dir)]).output


def test_reenrich_only_rejects_unknown_components(ingest: Callable[..., Any], warehouse_dir: Path) -> None:
    ingest()
    result = CliRunner().invoke(app, ["reenrich", "--warehouse", str(warehouse_dir), "--only", "bogus"])
    assert result.exit_code == 2


def test_version_helpers() -> None:
    assert parse_versions("language=2;entities=1") == {"language": "2", "entities": "1"}
    assert stale_components([ENRICHER_VERSION]) == ()
    assert "language" in stale_components(["language=1"])


@pytest.mark.parametrize("workers", ["1", "2"])
def test_reenrich_in_chunks_on_any_number_of_workers(
    ingest: Callable[..., Any],
    sql: Callable[..., list[tuple[Any, ...]]],
    warehouse_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    workers: str,
) -> None:
    ingest()
    query = "SELECT article_id, entities, quotes, keywords, enricher_version FROM articles ORDER BY 1"
    before = sql(query)
    monkeypatch.setattr(reenrich_module, "CHUNK_ROWS", 1)  # every article a chunk of its own
    command = ["reenrich", "--warehouse", str(warehouse_dir), "--only", "entities", "--only", "quotes"]
    result = CliRunner().invoke(app, [*command, "--workers", workers])
    assert result.exit_code == 0, result.output
    assert "re-enriched entities, quotes for 2 articles" in result.output
    assert sql(query) == before  # same code, same text: the same answers, in the same rows
