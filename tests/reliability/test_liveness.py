"""What `articles` holds is what the present files hold: copies keep content alive, deletions remove it,
and a folder that fails to list deletes nothing."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tasks.faults import UNREADABLE_ENV
from tests.reliability.invariants import article_text, assert_complete

SQL = Callable[..., list[tuple[Any, ...]]]


def _texts(sql: SQL) -> set[str]:
    return {text for (text,) in sql("SELECT text FROM articles")}


def test_a_copy_keeps_the_content_when_the_original_is_edited_then_deleted(
    source: Path, ingest: Callable[..., Any], sql: SQL
) -> None:
    """fbac47d: after a.txt was edited, the content its copy b.txt holds was in no `articles` row."""
    rng = random.Random(4)
    other = article_text(rng, "other")  # a source that lists empty deletes nothing (an unmounted disk): keep one
    (source / "other.txt").write_text(other)
    original = article_text(rng, "a")
    (source / "a.txt").write_text(original)
    shutil.copy(source / "a.txt", source / "b.txt")
    ingest()
    assert dict(sql("SELECT source_path, status FROM file_status WHERE source_path <> 'other.txt'")) == {
        "a.txt": "landed",
        "b.txt": "duplicate",
    }
    (source / "a.txt").write_text(original + "\n\nCorrection: it was Wednesday.")
    ingest()
    assert _texts(sql) == {other, original, original + "\n\nCorrection: it was Wednesday."}
    assert sql("SELECT source_path FROM articles WHERE text = ?", original) == [("b.txt",)]  # its holder
    (source / "a.txt").unlink()
    ingest()
    assert _texts(sql) == {other, original}
    (source / "b.txt").unlink()
    ingest()
    assert _texts(sql) == {other}
    assert sql("SELECT count(*) FROM article_versions") == [(3,)]  # history is kept
    assert_complete(source, source.parent / "warehouse")


def test_articles_of_a_bundle_stay_when_their_own_files_go(source: Path, ingest: Callable[..., Any], sql: SQL) -> None:
    rng = random.Random(5)
    one, two = article_text(rng, "one"), article_text(rng, "two")
    (source / "one.txt").write_text(one)
    ingest()
    (source / "bundle.jsonl").write_text(f'{{"body": {one!r}}}\n{{"body": {two!r}}}\n'.replace("'", '"'))
    ingest()
    assert sql("SELECT count(*) FROM articles") == [(2,)]
    (source / "one.txt").unlink()
    ingest()
    assert sql("SELECT source_path, record_index FROM articles ORDER BY record_index") == [
        ("bundle.jsonl", 1),
        ("bundle.jsonl", 2),
    ]


def test_a_renamed_file_keeps_its_content(source: Path, ingest: Callable[..., Any], sql: SQL) -> None:
    text = article_text(random.Random(6), "moved")
    (source / "old.txt").write_text(text)
    ingest()
    (source / "old.txt").rename(source / "new.txt")
    summary = ingest()
    assert (summary.counts.duplicates, summary.counts.deleted) == (1, 1)
    assert sql("SELECT source_path, text FROM articles") == [("new.txt", text)]


@pytest.mark.parametrize("folder", ["sub", "."])
def test_a_folder_that_fails_to_list_deletes_nothing_and_returns_unchanged(
    folder: str, source: Path, ingest: Callable[..., Any], sql: SQL, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fbac47d: an unreadable sub-folder marked every file under it deleted, and re-ingested them all later."""
    rng = random.Random(7)
    (source / "sub" / "deeper").mkdir(parents=True)
    for path in ("top.txt", "sub/a.txt", "sub/b.txt", "sub/deeper/c.txt"):
        (source / path).write_text(article_text(rng, path))
    ingest()
    before = sql("SELECT source_path, file_version, status FROM file_status ORDER BY 1")
    monkeypatch.setenv(UNREADABLE_ENV, folder)
    (source / "sub" / "new.txt").write_text(article_text(rng, "new"))  # not seen while the folder is unreadable
    blind = ingest()
    assert (blind.status, blind.counts.deleted, blind.counts.unlisted) == ("completed", 0, 1)
    assert sql("SELECT source_path, file_version, status FROM file_status ORDER BY 1") == before
    assert sql("SELECT count(*) FROM articles") == [(4,)]
    monkeypatch.delenv(UNREADABLE_ENV)
    back = ingest()
    counts = back.counts
    assert (counts.new_files, counts.landed, counts.deleted) == (1, 1, 0)  # only the new file; nothing re-ingested
    assert_complete(source, source.parent / "warehouse")


def test_a_missing_source_folder_skips_the_run_and_deletes_nothing(
    source: Path, ingest: Callable[..., Any], sql: SQL
) -> None:
    (source / "a.txt").write_text(article_text(random.Random(8), "a"))
    ingest()
    moved = source.with_name("elsewhere")
    source.rename(moved)
    summary = ingest()
    assert summary.status == "skipped" and "source folder not found" in summary.message
    assert sql("SELECT status FROM file_status") == [("landed",)]
    assert sql("SELECT count(*) FROM articles") == [(1,)]
