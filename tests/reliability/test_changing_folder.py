"""Files that change under the pipeline: still being written, modified, deleted, renamed, fixed and requeued."""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
from typer.testing import CliRunner

from flows.cli import app
from tests.reliability.invariants import article_text, assert_complete

SQL = Callable[..., list[tuple[Any, ...]]]


def test_a_file_still_being_written_is_deferred_then_lands(source: Path, ingest: Callable[..., Any], sql: SQL) -> None:
    (source / "fresh.txt").write_text(article_text(random.Random(1), "fresh"))
    first = ingest(min_age_seconds=3600)
    assert (first.counts.deferred, first.counts.new_files) == (1, 0)
    assert sql("SELECT count(*) FROM files") == [(0,)]
    second = ingest(min_age_seconds=0)
    assert (second.counts.deferred, second.counts.landed) == (0, 1)


def test_modified_deleted_and_renamed_files(source: Path, ingest: Callable[..., Any], sql: SQL) -> None:
    rng = random.Random(2)
    (source / "story.txt").write_text(article_text(rng, "story"))
    (source / "gone.txt").write_text(article_text(rng, "gone"))
    (source / "old-name.txt").write_text(article_text(rng, "renamed"))
    ingest()
    story = source / "story.txt"
    story.write_text(story.read_text() + "\n\nCorrection: the vote was on Wednesday.")
    (source / "gone.txt").unlink()
    (source / "old-name.txt").rename(source / "new-name.txt")
    summary = ingest()
    assert (summary.counts.landed, summary.counts.duplicates, summary.counts.deleted) == (1, 1, 2)
    status = dict(sql("SELECT source_path, status FROM file_status"))
    assert status == {
        "story.txt": "landed",
        "gone.txt": "deleted",
        "old-name.txt": "deleted",
        "new-name.txt": "duplicate",
    }
    [(version, text)] = sql("SELECT file_version, text FROM articles WHERE source_path = 'story.txt'")
    assert version == 2 and "Correction" in text
    assert sql("SELECT count(*) FROM article_versions WHERE source_path = 'story.txt'") == [(2,)]
    assert sql("SELECT count(*) FROM article_versions WHERE source_path = 'gone.txt'") == [(1,)]  # data is kept
    assert sql("SELECT count(*) FROM article_versions WHERE source_path = 'new-name.txt'") == [(0,)]  # not re-enriched
    assert_complete(source, source.parent / "warehouse")


def test_requeue_reads_a_fixed_file_again_exactly_once(
    source: Path, warehouse_dir: Path, ingest: Callable[..., Any], sql: SQL
) -> None:
    text = article_text(random.Random(3), "fixed").encode()
    broken = source / "fixed-later.txt"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(len(text) - 8))
    mtime = broken.stat().st_mtime_ns
    ingest()
    assert sql("SELECT status, reason_code FROM file_status") == [("quarantined", "binary")]
    broken.write_bytes(text)  # repaired in place, same size and mtime: discovery alone would never notice
    os.utime(broken, ns=(mtime, mtime))
    assert ingest().counts.new_files == 0

    runner = CliRunner()
    result = runner.invoke(app, ["requeue", "--reason", "binary", "--warehouse", str(warehouse_dir)])
    assert result.exit_code == 0, result.output
    assert "requeued 1 file" in result.output
    again = runner.invoke(app, ["requeue", "--reason", "binary", "--warehouse", str(warehouse_dir)])
    assert "requeued 0 file" in again.output  # idempotent until the next run
    assert runner.invoke(app, ["requeue", "--reason", "nonsense", "--warehouse", str(warehouse_dir)]).exit_code != 0

    summary = ingest()
    assert (summary.counts.new_files, summary.counts.landed) == (1, 1)
    assert sql("SELECT file_version, status FROM files ORDER BY 1") == [
        (1, "quarantined"),
        (2, "requeued"),
        (3, "landed"),
    ]
    assert sql("SELECT file_version FROM articles") == [(3,)]
    assert ingest().counts.new_files == 0
    assert_complete(source, warehouse_dir)


def test_requeue_by_path_glob_only_touches_matching_files(
    source: Path, warehouse_dir: Path, ingest: Callable[..., Any], sql: SQL
) -> None:
    (source / "a").mkdir()
    (source / "a" / "one.txt").write_bytes(b"")
    (source / "two.txt").write_bytes(b"")
    ingest()
    result = CliRunner().invoke(
        app, ["requeue", "--reason", "empty", "--path", "a/*", "--warehouse", str(warehouse_dir)]
    )
    assert result.exit_code == 0, result.output
    assert dict(sql("SELECT source_path, status FROM file_status")) == {
        "a/one.txt": "requeued",
        "two.txt": "quarantined",
    }
    assert ingest().counts.new_files == 1
    assert_complete(source, warehouse_dir)


def test_hostile_file_name_reaches_no_sql_and_views_survive(
    source: Path, warehouse_dir: Path, ingest: Callable[..., Any], sql: SQL
) -> None:
    name = "x'); DROP VIEW articles; --.txt"
    (source / name).write_text(article_text(random.Random(4), "sql"))
    (source / 'o\'brien "quoted" ; --.txt').write_text(article_text(random.Random(5), "quotes"))
    ingest()
    with duckdb.connect() as connection:  # the CLI's way in: the attach script
        connection.execute((warehouse_dir / "attach.sql").read_text(encoding="utf-8"))
        assert connection.execute("SELECT count(*) FROM articles").fetchone() == (2,)
    assert sql("SELECT count(*) FROM articles WHERE source_path = ?", name) == [(1,)]
    result = CliRunner().invoke(
        app, ["requeue", "--reason", "empty", "--path", name, "--warehouse", str(warehouse_dir)]
    )
    assert result.exit_code == 0 and sql("SELECT count(*) FROM article_versions") == [(2,)]
