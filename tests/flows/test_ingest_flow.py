"""The ingest-articles flow end to end, asserted through DuckDB the way a user queries."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import duckdb

from tests.conftest import SEED_ARTICLE, SEEDS


def test_seed_article_lands_in_english(source: Path, ingest, sql) -> None:
    shutil.copy(SEED_ARTICLE, source / SEED_ARTICLE.name)
    summary = ingest()
    assert (summary.counts.landed, summary.counts.quarantined) == (1, 0)
    [(language, confidence, words, title, lede)] = sql(
        "SELECT language, language_confidence, word_count, title, lede FROM articles WHERE source_path = ?",
        SEED_ARTICLE.name,
    )
    assert language == "en" and confidence > 0.9
    assert 400 < words < 550
    assert title is None  # the first line is a sentence, not a headline
    assert lede.startswith("Albanian Prime Minister Edi Rama")
    [(dates,)] = sql("SELECT list_transform(dates_mentioned, lambda d: d.text) FROM articles")
    assert "Monday (27 September)" in dates


def test_all_seeds_land_and_a_second_run_adds_nothing(source: Path, ingest, sql) -> None:
    shutil.copytree(SEEDS, source, dirs_exist_ok=True)
    first = ingest()
    assert first.counts.new_files == len([p for p in SEEDS.rglob("*") if p.is_file() and p.name != "README.md"])
    assert first.counts.quarantined == 0
    assert len(first.languages) >= 10
    articles = sql("SELECT count(*) FROM articles")[0][0]
    second = ingest()
    assert (second.counts.new_files, second.counts.landed, second.counts.articles) == (0, 0, 0)
    assert sql("SELECT count(*) FROM articles")[0][0] == articles
    assert sql("SELECT count(*), count(DISTINCT source_path) FROM files") == [
        (first.counts.new_files, first.counts.new_files)
    ]
    assert sql("SELECT count(*) FROM runs WHERE status = 'completed'")[0][0] == 2


def test_changed_file_lands_as_a_new_version(source: Path, ingest, sql) -> None:
    path = source / "story.txt"
    path.write_text("A short story about the harbour.\n\nThe boats came back before the storm broke over the town.")
    ingest()
    path.write_text("A short story about the harbour.\n\nThe boats never came back, and the town waited all night.")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns - 1_000_000_000))  # same size: mtime tells
    summary = ingest()
    assert summary.counts.landed == 1
    assert sql("SELECT file_version, status FROM files ORDER BY file_version") == [(1, "landed"), (2, "landed")]
    assert sql("SELECT count(*) FROM article_versions")[0][0] == 2
    [(version, text)] = sql("SELECT file_version, text FROM articles")
    assert version == 2 and "never came back" in text


def test_copy_of_a_landed_file_is_a_duplicate(source: Path, ingest, sql) -> None:
    shutil.copy(SEED_ARTICLE, source / "a.txt")
    ingest()
    shutil.copy(SEED_ARTICLE, source / "b.txt")
    summary = ingest()
    assert (summary.counts.landed, summary.counts.duplicates) == (0, 1)
    [(status, article_id)] = sql("SELECT status, article_id FROM files WHERE source_path = 'b.txt'")
    assert status == "duplicate"
    assert article_id == sql("SELECT article_id FROM articles WHERE source_path = 'a.txt'")[0][0]


def test_bad_files_each_end_up_in_exactly_one_table(source: Path, ingest, sql) -> None:
    (source / "empty.txt").write_bytes(b"")
    (source / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    cyrillic = "Москва. Правительство объявило о новых мерах поддержки экономики и малого бизнеса в регионах страны."
    (source / "cp1251.txt").write_bytes(cyrillic.encode("cp1251"))
    (source / "notes.pdf").write_bytes(b"%PDF-1.4 not for us")
    (source / "broken.json").write_text('{"headline": "x", "body": ')
    lines = [
        json.dumps({"headline": "Good one", "body": "The council approved the budget for the new school on Tuesday."}),
        "{not json",
        json.dumps(["wrong", "shape"]),
    ]
    (source / "feed.jsonl").write_text("\n".join(lines) + "\n")
    (source / "bomb.txt.gz").write_bytes(gzip.compress(b"a" * 2_000_000))
    summary = ingest(max_decompressed_bytes=1_000_000)

    landed = {row[0] for row in sql("SELECT DISTINCT source_path FROM articles")}
    quarantined = {
        row[0]: row[1]
        for row in sql(
            "SELECT source_path, string_agg(reason_code, ',' ORDER BY reason_code) FROM quarantine GROUP BY 1"
        )
    }
    assert landed == {"cp1251.txt", "feed.jsonl"}
    assert quarantined == {
        "empty.txt": "empty",
        "image.txt": "binary",
        "notes.pdf": "unsupported_format",
        "broken.json": "parse_error",
        "feed.jsonl": "parse_error,wrong_shape",
        "bomb.txt.gz": "decompression_bomb",
    }
    assert sql("SELECT language, encoding FROM articles WHERE source_path = 'cp1251.txt'") == [("ru", "cp1251")]
    assert sql("SELECT record_index FROM quarantine WHERE source_path = 'feed.jsonl' ORDER BY 1") == [(2,), (3,)]
    assert summary.status == "completed"
    kept = sql("SELECT kept_as FROM quarantine WHERE source_path = 'image.txt'")[0][0]
    assert kept and (source.parent / "warehouse" / kept).read_bytes().startswith(b"\x89PNG")


def test_views_open_in_a_plain_duckdb_client(source: Path, warehouse_dir: Path, ingest) -> None:
    """A DuckDB client that knows nothing of wirehouse: the attach script the run leaves is all it needs."""
    shutil.copy(SEED_ARTICLE, source / SEED_ARTICLE.name)
    ingest()
    with duckdb.connect() as connection:
        connection.execute((warehouse_dir / "attach.sql").read_text(encoding="utf-8"))
        assert connection.execute("SELECT count(*) FROM articles WHERE language = 'en'").fetchone() == (1,)
        views = {
            row[0]
            for row in connection.execute(
                "SELECT view_name FROM duckdb_views() WHERE database_name = 'lake'"
            ).fetchall()
        }
        tables = {
            row[0]
            for row in connection.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'lake'"
            ).fetchall()
        }
    assert {"file_status", "runs", "entities", "quotes", "near_duplicates"} <= views
    assert {"articles", "article_versions", "files", "content_articles", "quarantine", "validations"} <= tables


def test_touched_file_with_the_same_bytes_is_not_processed_again(source: Path, ingest, sql) -> None:
    path = source / "story.txt"
    shutil.copy(SEED_ARTICLE, path)
    ingest()
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns - 5_000_000_000))  # touched, same bytes
    touched = ingest()
    counts = touched.counts
    assert (counts.new_files, counts.unchanged, counts.landed, counts.articles) == (1, 1, 0, 0)
    assert sql("SELECT file_version, status FROM files ORDER BY recorded_at") == [(1, "landed"), (1, "unchanged")]
    assert sql("SELECT count(*) FROM article_versions") == [(1,)]
    assert ingest().counts.new_files == 0  # the ledger now holds the new mtime: no read at all


def test_process_pool_enrichment_lands_every_file(source: Path, ingest, sql) -> None:
    """Enough files to start the spawned worker pool (workers > 1), not the in-process path."""
    sentences = SEED_ARTICLE.read_text(encoding="utf-8").split(". ")
    for i in range(60):
        (source / f"story-{i:02d}.txt").write_text(
            f"Story {i}.\n\n" + ". ".join(sentences[i % 10 : i % 10 + 6]) + f". Item {i}."
        )
    summary = ingest(workers=2)
    assert (summary.counts.landed, summary.counts.quarantined) == (60, 0)
    assert sql("SELECT language, count(*) FROM articles GROUP BY 1") == [("en", 60)]
