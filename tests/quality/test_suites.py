"""The real suites from expectations/: good rows pass, each kind of bad row fails on the right expectation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tasks.quality.suites import DataDocs, Validator, keep_run_results
from tasks.settings import Settings

EXPECTATIONS = Settings().expectations


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator(EXPECTATIONS)


def good_article(n: int) -> dict[str, Any]:
    return {
        "article_id": f"{n:064x}",
        "source_path": f"news/{n}.txt",
        "text": "Der Bundestag hat am Donnerstag beschlossen.",
        "language": "de",
        "language_confidence": 0.99,
        "language_detector": "langdetect",
        "word_count": 6,
        "char_count": 44,
        "sentence_count": 1,
        "paragraph_count": 1,
        "quote_count": 0,
        "title": "Bundestag",
        "file_version": 1,
        "title_source": "h1",
        "author_source": "byline",
        "published_source": "json-ld",
        "site_source": "meta",
        "description_source": None,
        "url_source": "link",
    }


def good_file(n: int) -> dict[str, Any]:
    return {
        "source_path": f"news/{n}.txt",
        "status": "landed",
        "size": 120,
        "file_version": 1,
        "content_sha256": f"{n:064x}",
        "reason_code": None,
    }


def good_quarantine(n: int) -> dict[str, Any]:
    return {"source_path": f"bad/{n}.bin", "reason_code": "binary", "reason_detail": "PNG magic", "stage": "decode"}


GOOD = {"articles": good_article, "files": good_file, "quarantine": good_quarantine}


@pytest.mark.parametrize("table", sorted(GOOD))
def test_good_rows_pass(validator: Validator, table: str) -> None:
    result = validator.validate(table, pa.Table.from_pylist([GOOD[table](n) for n in range(5)]))
    assert result.success, result.details
    assert result.evaluated_rows == 5
    assert not result.failed_rows
    assert not result.failed_expectations


BAD = [
    ("articles", {"article_id": None}, "expect_column_values_to_not_be_null(article_id)"),
    ("articles", {"article_id": "NOT-A-SHA"}, "expect_column_values_to_match_regex(article_id)"),
    ("articles", {"article_id": f"{0:064x}"}, "expect_column_values_to_be_unique(article_id)"),
    ("articles", {"source_path": None}, "expect_column_values_to_not_be_null(source_path)"),
    ("articles", {"text": None}, "expect_column_values_to_not_be_null(text)"),
    ("articles", {"text": ""}, "expect_column_value_lengths_to_be_between(text)"),
    ("articles", {"language": "xx"}, "expect_column_values_to_be_in_set(language)"),
    ("articles", {"language_confidence": 1.5}, "expect_column_values_to_be_between(language_confidence)"),
    ("articles", {"word_count": -1}, "expect_column_values_to_be_between(word_count)"),
    ("articles", {"char_count": 0}, "expect_column_values_to_be_between(char_count)"),
    ("articles", {"sentence_count": -1}, "expect_column_values_to_be_between(sentence_count)"),
    ("articles", {"paragraph_count": -1}, "expect_column_values_to_be_between(paragraph_count)"),
    ("articles", {"quote_count": -1}, "expect_column_values_to_be_between(quote_count)"),
    ("articles", {"title": ""}, "expect_column_value_lengths_to_be_between(title)"),
    ("articles", {"title": "t" * 301}, "expect_column_value_lengths_to_be_between(title)"),
    ("articles", {"file_version": 0}, "expect_column_values_to_be_between(file_version)"),
    ("articles", {"title_source": "guess"}, "expect_column_values_to_be_in_set(title_source)"),
    ("articles", {"author_source": "h1"}, "expect_column_values_to_be_in_set(author_source)"),
    ("articles", {"published_source": "metadata"}, "expect_column_values_to_be_in_set(published_source)"),
    ("articles", {"site_source": "byline"}, "expect_column_values_to_be_in_set(site_source)"),
    ("articles", {"description_source": "text"}, "expect_column_values_to_be_in_set(description_source)"),
    ("articles", {"url_source": "title-tag"}, "expect_column_values_to_be_in_set(url_source)"),
    ("files", {"source_path": None}, "expect_column_values_to_not_be_null(source_path)"),
    ("files", {"status": "misplaced"}, "expect_column_values_to_be_in_set(status)"),
    ("files", {"size": -1}, "expect_column_values_to_be_between(size)"),
    ("files", {"file_version": 0}, "expect_column_values_to_be_between(file_version)"),
    ("files", {"content_sha256": "zz"}, "expect_column_values_to_match_regex(content_sha256)"),
    ("files", {"reason_code": "gremlins"}, "expect_column_values_to_be_in_set(reason_code)"),
    ("quarantine", {"source_path": None}, "expect_column_values_to_not_be_null(source_path)"),
    ("quarantine", {"reason_code": "gremlins"}, "expect_column_values_to_be_in_set(reason_code)"),
    ("quarantine", {"reason_detail": None}, "expect_column_values_to_not_be_null(reason_detail)"),
    ("quarantine", {"stage": "teleport"}, "expect_column_values_to_be_in_set(stage)"),
]


@pytest.mark.parametrize(("table", "change", "expectation"), BAD, ids=[f"{t}-{e}" for t, _, e in BAD])
def test_each_kind_of_bad_row_fails(validator: Validator, table: str, change: dict[str, Any], expectation: str) -> None:
    rows = [GOOD[table](n) for n in range(4)]
    rows[2] = {**rows[2], **change}
    result = validator.validate(table, pa.Table.from_pylist(rows))
    assert not result.success
    assert result.failed_expectations == (expectation,)
    duplicates = {0, 2} if "unique" in expectation else {2}
    assert result.failed_rows == duplicates
    assert result.row_failures[2] == [expectation]
    assert result.details[0]["unexpected_count"] == len(duplicates)


def test_run_totals_add_up_over_batches(tmp_path: Path) -> None:
    validator = Validator(EXPECTATIONS)
    validator.validate("articles", pa.Table.from_pylist([good_article(n) for n in range(3)]))
    bad = [good_article(n) for n in range(3, 6)]
    bad[0]["language"] = "xx"
    validator.validate("articles", pa.Table.from_pylist(bad))
    totals = validator.totals["articles"]
    assert (totals.batches, totals.failed_batches, totals.evaluated_rows, totals.failed_rows) == (2, 1, 6, 1)
    assert totals.success_share == pytest.approx(5 / 6)
    assert totals.expectations["expect_column_values_to_be_in_set(language)"] == {
        "unexpected_count": 1,
        "examples": ["xx"],
    }
    assert len(validator.history) == 2


def test_data_docs_are_built_offline_with_a_checkpoint_per_table(tmp_path: Path) -> None:
    validator = Validator(EXPECTATIONS)
    rows = [good_article(n) for n in range(3)]
    rows[1]["word_count"] = -5
    validator.validate("articles", pa.Table.from_pylist(rows))
    kept = keep_run_results(tmp_path, "ingest 3 new · 0 quarantined", validator.history)
    assert kept is not None and not (tmp_path / "docs").exists()  # a run only writes its results down
    validator.validate("articles", pa.Table.from_pylist([good_article(9)]))
    keep_run_results(tmp_path, "ingest 1 new · 0 quarantined", validator.history[-1:])
    kept.with_name("killed-while-writing.partial").write_text("{", encoding="utf-8")  # never read
    docs = DataDocs(EXPECTATIONS, tmp_path, tmp_path / "docs")
    assert set(docs.checkpoints) == {"articles", "files", "quarantine"}
    docs.build()
    assert [p.name for p in kept.parent.iterdir()] == ["killed-while-writing.partial"]  # the rest filed, once
    runs = tmp_path / "docs" / "validations" / "articles"
    [page] = (runs / "ingest 3 new · 0 quarantined").rglob("*.html")
    assert "word_count" in page.read_text(encoding="utf-8")
    assert len(list((runs / "ingest 1 new · 0 quarantined").rglob("*.html"))) == 1
    assert docs.run_checkpoint("files", pa.Table.from_pylist([good_file(1)]), run_name="wirehouse docs")
    index = docs.build()
    html = index.read_text(encoding="utf-8")
    assert "wirehouse docs" in html and "ingest 3 new" in html
    for built in (tmp_path / "docs").rglob("*.html"):
        text = built.read_text(encoding="utf-8")
        assert 'src="http' not in text and 'stylesheet" href="http' not in text, built
        assert "static/wirehouse-offline.js" in text
    # the GE project is generated from expectations/: reopening it is idempotent
    again = DataDocs(EXPECTATIONS, tmp_path, tmp_path / "docs")
    assert again.build() == index
