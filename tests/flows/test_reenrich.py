"""`wirehouse reenrich`: recomputes components from stored text, as one DuckLake snapshot, without reading sources,
and gives what a fresh ingest of the same files gives (the two warehouses are compared row by row)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from flows.cli import app
from tasks.enrich.entities import VERSION as ENTITIES_VERSION
from tasks.enrich.pool import IsolatingPool
from tasks.enrich.steps import COMPONENT_VERSIONS, ENRICHER_VERSION, STEPS, enrich_document
from tasks.enrich.versions import (
    COMPONENTS,
    STEP_COMPONENTS,
    parse_versions,
    recompute_closure,
    reenrich_rows,
    stale_components,
)
from tasks.faults import crash_point
from tasks.models import Document, FileRef, Reason, Rejection
from tasks.settings import Settings
from tasks.store import reenrich as reenrich_module
from tasks.store.lake import Warehouse, query
from tasks.store.reenrich import ReenrichRefused, ReenrichResult
from tasks.store.writer import Writer, writer

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "seeds" / "000_30a036b7f4c49258.txt"
TEXTS = ROOT / "seeds" / "text"
BATCH_SIZE = 5  # two batches: a_…e_ and f_…g_ (the kosovo pair straddles them)

# Run-level columns: which run, batch and moment wrote a row, not what the row says.
RUN_COLUMNS = {
    "article_versions": ("ingested_at", "flow_run_id", "batch_id"),
    "articles": ("ingested_at", "flow_run_id", "batch_id"),
    "files": ("flow_run_id", "batch_id", "recorded_at"),
    "file_status": ("flow_run_id", "batch_id", "recorded_at"),
    "quarantine": ("flow_run_id", "batch_id", "quarantined_at"),
    "content_articles": ("batch_id",),
    "near_duplicates": (),
}
KEYS = {
    "article_versions": "article_id",
    "articles": "article_id",
    "files": "source_path, file_version, status",
    "file_status": "source_path",
    "quarantine": "source_path, record_index, reason_code",
    "content_articles": "content_sha256, article_id",
    "near_duplicates": "article_id",
}
ALL_VIEWS = tuple(RUN_COLUMNS)
DEFAULTS = Settings(**{})  # where the SQL and the suites live


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


def _write_folder(folder: Path) -> None:
    """Every format ingest reads, HTML fields the metadata step uses, and two near-duplicate pairs: one within
    a JSONL file (one batch), one across the two batches."""
    folder.mkdir()
    shutil.copy(TEXTS / "ntrex_001.md", folder / "a_brief.md")
    german = (TEXTS / "goose3_wiwo.txt").read_text(encoding="utf-8")
    wire = {"headline": "Linde muss US-Geschäft verkaufen", "body": german, "author": "Von Anna Muster"}
    wire |= {"date": "2018-08-20", "url": "https://example.de/linde", "source": "Wirtschaftswoche"}
    (folder / "b_wire.json").write_text(json.dumps(wire, ensure_ascii=False), encoding="utf-8")
    italian = (TEXTS / "ntrex_015.txt").read_text(encoding="utf-8")
    french = json.loads((TEXTS / "ntrex_008.json").read_text(encoding="utf-8"))
    records = [
        {"headline": "Analista ricostruisce la notte", "body": italian},
        {
            "headline": "Analista ricostruisce la notte",
            "body": italian.replace("Sabato", "Domenica", 1) + "\nAggiornato.",
        },
        french,
    ]
    (folder / "c_feed.jsonl").write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8"
    )
    paragraphs = "".join(
        f"<p>{p}</p>" for p in (TEXTS / "ntrex_016.txt").read_text(encoding="utf-8").split("\n\n")[1:] if p.strip()
    )
    (folder / "d_page.html").write_text(
        "<html><head><title>Bernard Vann: homenagem a clérigo condecorado | Jornal Exemplo</title>"
        '<meta name="author" content="Por Maria Silva"><meta name="date" content="2018-09-24">'
        '<meta property="og:site_name" content="Jornal Exemplo">'
        '<meta name="description" content="Homenagem ao único clérigo com a Victoria Cross.">'
        '<link rel="canonical" href="https://exemplo.pt/vann"></head><body><header>Jornal Exemplo</header>'
        f"<article><h1>Bernard Vann: homenagem a clérigo condecorado</h1>{paragraphs}</article></body></html>",
        encoding="utf-8",
    )
    shutil.copy(SEED, folder / "e_kosovo.txt")
    kosovo = SEED.read_text(encoding="utf-8")
    (folder / "f_kosovo_copy.txt").write_text(
        kosovo.replace("Saturday", "Sunday", 1) + "\nUpdated.\n", encoding="utf-8"
    )
    english = (TEXTS / "ntrex_019.txt").read_text(encoding="utf-8")
    (folder / "g_long_title.md").write_text("# " + "Budget " * 300 + "\n\n" + english, encoding="utf-8")


def _ingest(folder: Path, warehouse: Path, pool: IsolatingPool, **options: Any) -> None:
    from flows.ingest_articles import ingest_articles
    from flows.runners import kept_warm

    settings: dict[str, Any] = {"source": folder, "warehouse": warehouse, "min_age_seconds": 0, "workers": 2}
    with kept_warm(pool):
        ingest_articles(Settings(**settings | {"batch_size": BATCH_SIZE} | options))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("reenrich") / "source"
    _write_folder(path)
    return path


@pytest.fixture(scope="module")
def fresh(prefect_server: None, folder: Path, warm_pool: IsolatingPool) -> Path:
    """Warehouse B: a fresh ingest of the folder with today's code, the reference every re-enrichment must match."""
    warehouse = folder.parent / "fresh"
    _ingest(folder, warehouse, warm_pool)
    return warehouse


@pytest.fixture
def copy_of_fresh(fresh: Path, tmp_path: Path) -> Path:
    """Warehouse A: the fresh ingest's files, to be aged into what an older enricher stored."""
    target = tmp_path / "aged"
    shutil.copytree(fresh, target, symlinks=True)
    return target


def _query(warehouse: Path, statement: str, *, snapshot: int | None = None) -> list[tuple[Any, ...]]:
    with query(Warehouse(warehouse), snapshot=snapshot) as connection:
        return connection.execute(statement).fetchall()


def _rows(warehouse: Path, view: str) -> list[dict[str, Any]]:
    excluded = RUN_COLUMNS[view]
    columns = f"* EXCLUDE ({', '.join(excluded)})" if excluded else "*"
    with query(Warehouse(warehouse)) as connection:
        cursor = connection.execute(f"SELECT {columns} FROM {view}")
        names = [d[0] for d in cursor.description or []]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    keys = KEYS[view].split(", ")
    return sorted(rows, key=lambda row: (repr([row[k] for k in keys]), repr(row)))


def _differences(aged: Path, fresh: Path, views: tuple[str, ...] = ALL_VIEWS) -> list[str]:
    """Every column of every row on which the two warehouses differ (run-level columns aside)."""
    found: list[str] = []
    for view in views:
        left, right = _rows(aged, view), _rows(fresh, view)
        keys = KEYS[view].split(", ")
        left_keys = [tuple(r[k] for k in keys) for r in left]
        right_keys = [tuple(r[k] for k in keys) for r in right]
        if left_keys != right_keys:
            found.append(f"{view}: rows {sorted(set(left_keys) ^ set(right_keys))} in only one warehouse")
            continue
        for key, a, b in zip(left_keys, left, right, strict=True):
            found += [f"{view} {key}: {c}: {a[c]!r} != {b[c]!r}"[:300] for c in a if a[c] != b[c]]
    return found


@contextmanager
def _session(warehouse: Path) -> Iterator[Writer]:
    with writer(Warehouse(warehouse), DEFAULTS.sql, timeout=10) as session:
        yield session


def _age(warehouse: Path, *changes: Callable[[dict[str, Any]], None]) -> None:
    """Rewrite the stored articles (in the batches they landed in) as an older enricher would have left them."""
    with _session(warehouse) as session, session.transaction(message="age") as cursor:
        table = cursor.execute("SELECT * FROM article_versions").to_arrow_table()
        rows = table.to_pylist()
        for row in rows:
            for change in changes:
                change(row)
        cursor.execute("DELETE FROM article_versions")
        cursor.register("aged", pa.Table.from_pylist(rows, schema=table.schema))
        cursor.execute("INSERT INTO article_versions BY NAME SELECT * FROM aged")


def _snapshots(warehouse: Path) -> list[tuple[int, str | None]]:
    return [
        (int(number), message)
        for number, message in _query(warehouse, "SELECT snapshot_id, commit_message FROM ducklake_snapshots('lake')")
    ]


def _older(row: dict[str, Any], component: str) -> None:
    version = f"{component}={COMPONENT_VERSIONS[component]}"
    row["enricher_version"] = row["enricher_version"].replace(version, f"{component}=0")


def _older_language(row: dict[str, Any]) -> None:
    """A language detector that got it wrong, and the entities, quotes and keywords computed from its answer."""
    _older(row, "language")
    row |= {"language": "fr" if row["language"] != "fr" else "de", "language_confidence": 0.51}
    row |= {"language_alternatives": [], "languages": [], "language_variant": None, "is_multilingual": True}
    row |= {"entities": [], "countries": [], "quotes": [], "keywords": ["old"], "amounts": []}


def _older_fingerprint(row: dict[str, Any]) -> None:
    _older(row, "fingerprint")
    row["fingerprint"] = (row["fingerprint"] or 0) ^ 0x0F0F0F0F
    row["near_duplicate_of"] = None


def _older_metadata(row: dict[str, Any]) -> None:
    _older(row, "metadata")
    row |= {"title": "Old title", "lede": None, "author": None, "published_date": None, "published_at": None}
    row |= {"published_source": None}
    row |= {"dateline": None, "word_count": 1, "dates_mentioned": [], "reading_time_minutes": 0.0}


@pytest.fixture
def reenrich(warm_pool: IsolatingPool) -> Callable[..., ReenrichResult]:
    """Re-enrich a warehouse on the session's warm workers (a run with its own pool: the CLI tests below)."""

    def run(warehouse: Path, **options: Any) -> ReenrichResult:
        arguments: dict[str, Any] = {
            "now": datetime.now(UTC),
            "expectations": DEFAULTS.expectations,
            "sql_dir": DEFAULTS.sql,
            "pool": warm_pool,
            "fail_share": 1.0,
        }
        with _session(warehouse) as session:
            return reenrich_module.reenrich(session, **arguments | options)

    return run


def test_the_reference_has_what_the_comparisons_need(fresh: Path) -> None:
    pairs = _query(fresh, "SELECT source_path, original_path FROM near_duplicates ORDER BY 1")
    assert pairs == [("c_feed.jsonl", "c_feed.jsonl"), ("f_kosovo_copy.txt", "e_kosovo.txt")]
    languages = dict(_query(fresh, "SELECT source_path || ':' || record_index, language FROM articles"))
    assert {languages["b_wire.json:0"], languages["c_feed.jsonl:1"], languages["c_feed.jsonl:3"]} == {"de", "it", "fr"}
    html = _query(fresh, "SELECT title, author, published_date, site, url FROM articles WHERE format = 'html'")
    assert html == [
        (
            "Bernard Vann: homenagem a clérigo condecorado",
            "Maria Silva",
            date(2018, 9, 24),
            "Jornal Exemplo",
            "https://exemplo.pt/vann",
        )
    ]
    assert _query(fresh, "SELECT source_path, reason_code FROM quarantine") == [
        ("g_long_title.md", "expectation_failed")
    ]


def test_only_language_recomputes_what_reads_the_language(
    copy_of_fresh: Path, fresh: Path, reenrich: Callable[..., ReenrichResult]
) -> None:
    _age(copy_of_fresh, _older_language)
    assert _differences(copy_of_fresh, fresh, ("article_versions",))
    result = reenrich(copy_of_fresh, only=("language",))
    assert result.components == ("language", "entities", "quotes", "keywords")
    assert not result.relinked and result.quarantined == 0
    assert _differences(copy_of_fresh, fresh) == []


def test_stale_components_and_near_duplicates_as_a_fresh_ingest(
    copy_of_fresh: Path, fresh: Path, reenrich: Callable[..., ReenrichResult], warm_pool: IsolatingPool
) -> None:
    _age(copy_of_fresh, _older_language, _older_fingerprint)
    assert _query(copy_of_fresh, "SELECT count(*) FROM near_duplicates") == [(0,)]
    result = reenrich(copy_of_fresh)
    assert result.components == ("language", "entities", "quotes", "keywords", "fingerprint")
    assert result.relinked
    assert _differences(copy_of_fresh, fresh) == []
    assert _query(copy_of_fresh, "SELECT DISTINCT enricher_version FROM article_versions") == [(ENRICHER_VERSION,)]


def test_only_metadata_rebuilds_the_source_fields_and_validates_like_ingest(
    folder: Path, fresh: Path, tmp_path: Path, reenrich: Callable[..., ReenrichResult], warm_pool: IsolatingPool
) -> None:
    """Warehouse A is ingested under a suite that let an over-long title land (as older code would have) and with
    older metadata; re-enriching the metadata quarantines that article, as the fresh ingest did."""
    relaxed = tmp_path / "expectations"
    shutil.copytree(DEFAULTS.expectations, relaxed)
    suite = json.loads((relaxed / "articles.json").read_text(encoding="utf-8"))
    for expectation in suite["expectations"]:
        if expectation["kwargs"].get("column") == "title" and "max_value" in expectation["kwargs"]:
            expectation["kwargs"]["max_value"] = 100_000
    (relaxed / "articles.json").write_text(json.dumps(suite), encoding="utf-8")
    aged = tmp_path / "aged"
    _ingest(folder, aged, warm_pool, expectations=relaxed)
    assert _query(aged, "SELECT count(*) FROM quarantine") == [(0,)]
    _age(aged, _older_metadata)
    assert _differences(aged, fresh)
    result = reenrich(aged, only=("metadata",))
    assert result.components == ("metadata",)
    assert result.quarantined == 1 and result.relinked  # the set of landed articles changed
    assert _differences(aged, fresh) == []
    assert _query(
        aged, "SELECT status, articles, reason_code FROM file_status WHERE source_path = 'g_long_title.md'"
    ) == [("quarantined", 0, "expectation_failed")]


def test_an_article_whose_enrichment_now_fails_is_quarantined_as_ingest_would(
    copy_of_fresh: Path, reenrich: Callable[..., ReenrichResult]
) -> None:
    def unreadable(row: dict[str, Any]) -> None:
        if row["source_path"] == "b_wire.json":
            row["source_fields"] = "{not json"

    _age(copy_of_fresh, unreadable)
    snapshots = _snapshots(copy_of_fresh)
    before = {view: _rows(copy_of_fresh, view) for view in ALL_VIEWS}
    with pytest.raises(ReenrichRefused, match="1 of 8 re-enriched articles would be quarantined"):
        reenrich(copy_of_fresh, only=("metadata",), fail_share=0.1)
    assert _snapshots(copy_of_fresh) == snapshots  # nothing committed
    assert {view: _rows(copy_of_fresh, view) for view in ALL_VIEWS} == before
    assert not list(Path(copy_of_fresh).glob("**/*reenrich*"))  # no scratch left in the warehouse

    result = reenrich(copy_of_fresh, only=("metadata",))
    assert result.quarantined == 1
    assert _query(copy_of_fresh, "SELECT count(*) FROM article_versions WHERE source_path = 'b_wire.json'") == [(0,)]
    [(reason, stage, detail)] = _query(
        copy_of_fresh, "SELECT reason_code, stage, reason_detail FROM quarantine WHERE source_path = 'b_wire.json'"
    )
    assert (reason, stage) == ("enrich_error", "enrich") and detail.startswith("source_fields raised JSONDecodeError")
    assert _query(
        copy_of_fresh,
        "SELECT status, articles, article_id, reason_code FROM file_status WHERE source_path = 'b_wire.json'",
    ) == [("quarantined", 0, None, "enrich_error")]
    sha = "(SELECT content_sha256 FROM file_status WHERE source_path = 'b_wire.json')"
    assert _query(copy_of_fresh, f"SELECT count(*) FROM content_articles WHERE content_sha256 = {sha}") == [(0,)]
    assert _query(copy_of_fresh, "SELECT count(*) FROM articles") == [(7,)]


def _older_entities(row: dict[str, Any]) -> None:
    """An older enricher: entities=0, and no entities at all."""
    row["enricher_version"] = row["enricher_version"].replace(f"entities={ENTITIES_VERSION}", "entities=0")
    row["entities"] = []


def _age_versions(warehouse_dir: Path) -> None:
    _age(warehouse_dir, _older_entities)


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
    assert "re-enriched entities, quotes for 2 articles" in result.output  # quotes are computed with the entities
    assert sql("SELECT count(*) FROM entities")[0][0] > 20
    assert sql("SELECT DISTINCT enricher_version FROM articles") == [(ENRICHER_VERSION,)]
    assert sql("SELECT article_id, language, keywords FROM articles ORDER BY 1") == before
    assert sql("SELECT count(*) FROM files")[0][0] >= 2  # the ledger stays
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


@pytest.mark.parametrize(
    ("requested", "recomputed"),
    [
        (("language",), ("language", "entities", "quotes", "keywords")),
        (("quotes",), ("entities", "quotes")),
        (("entities",), ("entities", "quotes")),
        (("metadata",), ("metadata",)),
        (("keywords",), ("keywords",)),
        (("fingerprint",), ("fingerprint",)),
        (("fingerprint", "language"), ("language", "entities", "quotes", "keywords", "fingerprint")),
        ((), ()),
    ],
)
def test_what_is_recomputed_with_what(requested: tuple[str, ...], recomputed: tuple[str, ...]) -> None:
    assert recompute_closure(requested) == recomputed


def test_every_step_and_component_is_accounted_for() -> None:
    assert [name for name, _ in STEPS] == list(STEP_COMPONENTS)
    assert sorted(c for components in STEP_COMPONENTS.values() for c in components) == sorted(COMPONENTS)


def _stored(text: str, source_path: str) -> dict[str, Any]:
    ref = FileRef(source_path, len(text), 1_700_000_000 * 10**9)
    row = enrich_document(Document(text, 0), ref)
    return row | {"source_path": source_path, "size": ref.size, "mtime": datetime.fromtimestamp(1_700_000_000, UTC)}


def test_a_step_that_raises_or_a_text_without_letters_is_rejected_as_ingest_rejects_it() -> None:
    english = (TEXTS / "ntrex_019.txt").read_text(encoding="utf-8")
    rows = [_stored(english, "a.txt"), _stored("Poison " + english, "b.txt"), _stored(english + " Ok.", "c.txt")]
    rows[2] |= {"language_reason": None, "text": "1234 5678 90 !!! ### 42", "source_fields": None}

    def keywords(row: dict[str, Any], doc: Document, ref: FileRef) -> dict[str, Any]:
        if doc.text.startswith("Poison"):
            raise RuntimeError("boom")
        return {"keywords": ["new"]}

    steps = tuple((n, keywords if n == "keywords" else s) for n, s in STEPS)
    components = recompute_closure(["language"])
    first, poisoned, no_letters = reenrich_rows(rows, components, datetime.now(UTC), steps)
    assert isinstance(first, dict) and first["keywords"] == ["new"]
    assert first["enricher_version"] == ENRICHER_VERSION
    assert isinstance(poisoned, Rejection) and poisoned.reason_code is Reason.ENRICH_ERROR
    assert poisoned.detail.startswith("keywords raised RuntimeError: boom") and poisoned.stage == "enrich"
    assert isinstance(no_letters, Rejection) and no_letters.reason_code is Reason.NO_TEXT


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


def test_reenrich_is_one_snapshot_and_the_one_before_still_reads_the_old_values(
    ingest: Callable[..., Any], warehouse_dir: Path, reenrich: Callable[..., ReenrichResult]
) -> None:
    ingest()
    _age_versions(warehouse_dir)
    entities = "SELECT count(*) FROM entities"
    before = _snapshots(warehouse_dir)
    versions = _query(warehouse_dir, "SELECT article_id, enricher_version FROM article_versions ORDER BY 1")
    result = reenrich(warehouse_dir, only=("entities",))
    after = _snapshots(warehouse_dir)
    assert after[:-1] == before and after[-1] == (before[-1][0] + 1, "reenrich entities,quotes")
    assert result.snapshot == after[-1][0] and result.rewritten_batches == 1
    assert _query(warehouse_dir, entities)[0][0] > 20
    # time travel: the snapshot before re-enrichment still holds what was stored then
    old = before[-1][0]
    assert _query(warehouse_dir, entities, snapshot=old) == [(0,)]
    assert (
        _query(warehouse_dir, "SELECT article_id, enricher_version FROM article_versions ORDER BY 1", snapshot=old)
        == versions
    )


def test_readers_see_the_old_lake_until_the_commit(
    ingest: Callable[..., Any],
    warehouse_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    reenrich: Callable[..., ReenrichResult],
) -> None:
    ingest()
    _age_versions(warehouse_dir)
    seen: list[tuple[Any, ...]] = []

    def look(name: str) -> None:
        if name == "before_commit":  # every statement of the transaction has run, COMMIT not yet
            seen.extend(_query(warehouse_dir, "SELECT count(*) FROM entities"))
        crash_point(name)

    monkeypatch.setattr("tasks.store.writer.crash_point", look)
    reenrich(warehouse_dir, only=("entities",))
    assert seen == [(0,)]
    assert _query(warehouse_dir, "SELECT count(*) FROM entities")[0][0] > 20


@pytest.mark.deep  # a kill fault run: the crash matrix's kind (tests/reliability) runs in the deep step
def test_a_reenrich_killed_before_its_commit_leaves_the_lake_unchanged(
    ingest: Callable[..., Any], warehouse_dir: Path, reenrich: Callable[..., ReenrichResult]
) -> None:
    ingest()
    _age_versions(warehouse_dir)
    snapshots = _snapshots(warehouse_dir)
    before = {view: _rows(warehouse_dir, view) for view in ALL_VIEWS}
    command = [sys.executable, "-m", "flows.cli", "reenrich", "--warehouse", str(warehouse_dir), "--workers", "1"]
    killed = subprocess.run(
        command, cwd=ROOT, env=os.environ | {"WIREHOUSE_FAULT_AT": "before_commit"}, capture_output=True, timeout=300
    )
    assert killed.returncode == -9, killed.stderr.decode()[-2000:]
    assert _snapshots(warehouse_dir) == snapshots
    assert {view: _rows(warehouse_dir, view) for view in ALL_VIEWS} == before
    result = reenrich(warehouse_dir)  # the next session removes what the killed one wrote, and succeeds
    assert result.components == ("entities", "quotes") and result.articles == 2
    assert _query(warehouse_dir, "SELECT count(*) FROM entities")[0][0] > 20
