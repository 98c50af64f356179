"""What a person sees in the Prefect UI and the reports: run name, tags, artifacts, events, Data Docs, fail-share."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from flows.summary import RunFailed
from tasks.enrich.steps import ENRICHER_VERSION
from tasks.ops.report import build_docs, write_report
from tasks.settings import Settings
from tasks.store.lake import Warehouse
from tasks.store.writer import writer
from tests.conftest import SEEDS

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def _seed(source: Path, count: int = 6) -> None:
    for path in sorted(SEEDS.rglob("*.txt"))[:count]:
        shutil.copy(path, source / path.name)


def _artifacts(flow_run_id: str) -> dict[str, Any]:
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(flow_run_id)]))
        )
    return {a.key: a for a in found}


def test_run_is_named_tagged_and_leaves_artifacts_events_and_data_docs(source: Path, ingest, warehouse_dir) -> None:
    _seed(source, 4)
    (source / "picture.txt").write_bytes(PNG)
    summary = ingest()
    assert summary.name == "ingest 5 new · 1 quarantined"
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(UUID(summary.flow_run_id))
    assert run.name == summary.name
    assert {"source:source", f"enricher:{ENRICHER_VERSION}"} <= set(run.tags)

    artifacts = _artifacts(summary.flow_run_id)
    assert {"ingest-summary", "quarantined-files", "data-docs"} <= set(artifacts)
    markdown = artifacts["ingest-summary"].data
    assert "## Languages" in markdown and "| en |" in markdown
    assert "## Quarantine reasons" in markdown and "| binary | 1 |" in markdown
    assert "## Great Expectations" in markdown and "| articles | ✅ passed |" in markdown
    table = json.loads(artifacts["quarantined-files"].data)
    assert [(r["source_path"], r["reason_code"]) for r in table] == [("picture.txt", "binary")]
    link = artifacts["data-docs"].data
    assert f"({(warehouse_dir / 'docs' / 'index.html').resolve().as_uri()})" in link
    assert not (warehouse_dir / "docs").exists()  # rendering is `wirehouse docs`'s work, not the run's
    index = build_docs(Warehouse(warehouse_dir), Settings().sql, Settings().expectations, validate=False)
    assert summary.name in index.read_text(encoding="utf-8")
    pages = list((warehouse_dir / "docs" / "validations" / "articles" / summary.name).rglob("*.html"))
    assert len(pages) == 1  # the run's one batch, as the run validated it
    assert summary.events == ["wirehouse.batch.landed"]  # 1 bad file of 5 is not a spike


def test_a_burst_of_bad_files_emits_a_quarantine_spike(source: Path, ingest) -> None:
    _seed(source, 1)
    for n in range(3):
        (source / f"broken-{n}.txt").write_bytes(PNG + bytes([n]))
    summary = ingest()
    assert summary.counts.quarantined == 3
    assert summary.events == ["wirehouse.batch.landed", "wirehouse.quarantine.spike"]


@pytest.fixture
def strict_expectations(tmp_path: Path) -> Path:
    """The real suites plus one expectation every seed article breaks (no article has under 5 words)."""
    folder = tmp_path / "expectations"
    shutil.copytree(Settings().expectations, folder)
    suite = json.loads((folder / "articles.json").read_text())
    suite["expectations"].append(
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "word_count", "max_value": 5}}
    )
    (folder / "articles.json").write_text(json.dumps(suite))
    return folder


def test_a_suite_failing_on_more_than_fail_share_fails_the_run(source: Path, ingest, sql, strict_expectations) -> None:
    _seed(source, 3)
    with pytest.raises(RunFailed, match=r"articles: 3/3 rows failed \(100% > fail_share 20%\)"):
        ingest(expectations=strict_expectations)
    [(status, message)] = sql("SELECT status, message FROM runs")
    assert status == "failed" and "articles: 3/3 rows failed" in message
    assert sql("SELECT count(*) FROM quarantine WHERE reason_code = 'expectation_failed'") == [(3,)]
    assert sql("SELECT count(*) FROM articles") == [(0,)]


def test_failing_rows_under_fail_share_are_quarantined_and_the_run_completes(
    source: Path, ingest, sql, strict_expectations
) -> None:
    _seed(source, 3)
    summary = ingest(expectations=strict_expectations, fail_share=1.0)
    assert summary.status == "completed" and not summary.failing_suites
    [totals] = [t for t in summary.validator.totals.values() if t.suite == "articles"]
    assert (totals.evaluated_rows, totals.failed_rows) == (3, 3)
    markdown = _artifacts(summary.flow_run_id)["ingest-summary"].data
    assert "⚠️ rows quarantined" in markdown
    assert "`expect_column_values_to_be_between(word_count)` | 3 |" in markdown
    assert sql("SELECT status FROM runs") == [("completed",)]


def test_report_draws_every_chart_offline_and_optional_ones_when_their_data_exists(
    source: Path, ingest, warehouse_dir: Path, tmp_path: Path
) -> None:
    _seed(source, 4)
    (source / "picture.txt").write_bytes(PNG)
    ingest()
    (source / "another.txt").write_bytes(PNG + b"!")
    ingest()
    home = Warehouse(warehouse_dir)
    page = write_report(home, Settings().sql).read_text(encoding="utf-8")
    for heading in ("Articles per run", "Languages", "Quarantine reasons over time", "Validation success rate"):
        assert f"<h2>{heading}</h2>" in page
    assert page.count("<svg") >= 4 and "binary" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page

    sql_dir = tmp_path / "sql"  # the enrichment's entities view and countries column, as they may land
    shutil.copytree(Settings().sql, sql_dir)
    with (sql_dir / "views.sql").open("a") as views:
        views.write(
            "\nCREATE OR REPLACE VIEW entities AS SELECT * FROM (VALUES ('Berlin', 'place', NULL),"
            " ('Berlin', 'place', NULL), ('Rama', 'person', 'Edi Rama')) AS t(name, kind, normalised);\n"
        )
    with (
        writer(home, sql_dir, timeout=10) as session,  # the changed views.sql goes into the lake's catalog
        session.transaction(message=None) as cursor,
    ):
        cursor.execute("UPDATE articles SET countries = ['AL', 'DE']")
    page = write_report(home, sql_dir, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Top entities" in page and "Berlin (place): 2" in page and "Edi Rama (person): 1" in page
    assert "Countries" in page and "AL: 4" in page


def test_docs_validate_the_warehouse_with_checkpoints(source: Path, ingest, warehouse_dir: Path) -> None:
    _seed(source, 2)
    ingest()
    index = build_docs(Warehouse(warehouse_dir), Settings().sql, Settings().expectations)
    html = index.read_text(encoding="utf-8")
    assert "wirehouse docs" in html and "ingest 2 new" in html
    pages = list((warehouse_dir / "docs" / "validations" / "articles" / "wirehouse docs").rglob("*.html"))
    assert len(pages) == 1


@contextmanager
def _watching(settings: Settings, **options: Any) -> Iterator[threading.Thread]:
    """``watch_and_ingest`` in a thread until its first landed run (``max_runs=1``), stopped on the way out."""
    from flows.watch import watch_and_ingest

    stop = threading.Event()
    watcher = threading.Thread(
        target=watch_and_ingest,
        args=(settings,),
        kwargs={"debounce_ms": 300, "stop_event": stop, "max_runs": 1, **options},
    )
    watcher.start()
    try:
        yield watcher
    finally:
        stop.set()
        watcher.join(timeout=10)


def test_watch_starts_a_run_when_files_appear(source: Path, warehouse_dir: Path, sql) -> None:
    from flows.watch import relevant

    assert relevant([(1, "/s/a.txt"), (1, "/s/.hidden"), (1, "/s/b.part"), (2, "/s/c.json")]) == [
        "/s/a.txt",
        "/s/c.json",
    ]
    settings = Settings(source=str(source), warehouse=warehouse_dir, min_age_seconds=0, workers=1)
    summaries: list[Any] = []
    with _watching(settings, on_run=summaries.append) as watcher:
        time.sleep(1.0)  # let the watcher start before the file appears
        _seed(source, 1)
        watcher.join(timeout=120)
    assert [s.counts.landed for s in summaries] == [1]
    assert sql("SELECT count(*) FROM articles") == [(1,)]


def test_watch_waits_for_a_missing_folder_and_outlives_a_failed_run(source: Path, warehouse_dir: Path, sql) -> None:
    """An unmounted source is a skipped poll, not the end of the watch; so is a run that fails."""
    source.rmdir()
    settings = Settings(source=str(source), warehouse=warehouse_dir, min_age_seconds=0, workers=1, fail_share=0)
    summaries: list[Any] = []
    failures: list[BaseException] = []
    with _watching(settings, on_run=summaries.append, on_failure=failures.append, poll_seconds=0.2) as watcher:
        time.sleep(1.0)
        assert watcher.is_alive()  # still waiting for the folder
        source.mkdir()
        time.sleep(1.0)
        (source / "long-title.md").write_text("# " + "Headline " * 50 + "\n\n" + "Words of an article. " * 20)
        deadline = time.monotonic() + 120
        while not failures and time.monotonic() < deadline:  # a title over the suite's limit: fail_share=0 fails
            time.sleep(0.2)
        assert failures and watcher.is_alive()
        _seed(source, 1)
        watcher.join(timeout=120)
    assert [s.counts.landed for s in summaries] == [1]
