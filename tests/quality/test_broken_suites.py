"""A suite that cannot judge a batch row by row fails: it never passes with 0 failed rows.

Suites are the repo's own expectations/*.json copied into tmp_path, then broken one way at a time, and run
with the real Great Expectations on small pyarrow tables.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tasks.quality.suites import SuiteError, SuiteTotals, Validator
from tasks.settings import Settings
from tasks.store.schema import table_from_rows
from tests.quality.test_suites import GOOD, good_article

EXPECTATIONS = Settings().expectations


@pytest.fixture
def suites(tmp_path: Path) -> Path:
    folder = tmp_path / "expectations"
    folder.mkdir()
    for path in EXPECTATIONS.glob("*.json"):
        shutil.copy(path, folder / path.name)
    return folder


def edit(folder: Path, table: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = folder / f"{table}.json"
    spec = json.loads(path.read_text(encoding="utf-8"))
    change(spec)
    path.write_text(json.dumps(spec), encoding="utf-8")


def add(folder: Path, expectation: dict[str, Any], table: str = "articles") -> None:
    edit(folder, table, lambda spec: spec["expectations"].append(expectation))


def articles(n: int = 4, **bad_row: Any) -> pa.Table:
    rows = [good_article(i) for i in range(n)]
    rows[2] = {**rows[2], **bad_row}
    return pa.Table.from_pylist(rows)


# (expectation added to articles.json, its label, errors or table_failures, text the reason must contain)
RUNTIME_BREAKS = [
    (
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "titel"}},
        "expect_column_values_to_not_be_null(titel)",
        "errors",
        'The column "titel" in BatchData does not exist',
    ),
    (
        {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "title", "regex": "["}},
        "expect_column_values_to_match_regex(title)",
        "errors",
        "Invalid regular expression",
    ),
    (
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 100}},
        "expect_table_row_count_to_be_between",
        "table_failures",
        "observed 4",
    ),
    (
        {"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": ["article_id", "byline"]}},
        "expect_table_columns_to_match_set",
        "table_failures",
        "observed",
    ),
    (
        {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "word_count", "min_value": 1000}},
        "expect_column_mean_to_be_between(word_count)",
        "table_failures",
        "observed 6",
    ),
]


@pytest.mark.parametrize(
    ("expectation", "label", "kind", "reason"), RUNTIME_BREAKS, ids=[label for _, label, _, _ in RUNTIME_BREAKS]
)
def test_an_expectation_that_cannot_blame_rows_breaks_the_suite(
    suites: Path, expectation: dict[str, Any], label: str, kind: str, reason: str
) -> None:
    add(suites, expectation)
    validator = Validator(suites)
    result = validator.validate("articles", articles())
    assert result.broken and not result.success
    assert not result.failed_rows and not result.row_failures  # nothing to quarantine: the suite itself is wrong
    assert result.failed_expectations == (label,)
    [entry] = getattr(result, kind)
    assert entry.startswith(f"{label}: ") and reason in entry
    other = "table_failures" if kind == "errors" else "errors"
    assert getattr(result, other) == ()
    if kind == "errors":  # "label: ExceptionType: message"
        assert entry.split(": ")[1].endswith("Error")
    # what the validations table stores (tasks/store/landing.py dumps details as JSON)
    [stored] = json.loads(json.dumps(result.details, ensure_ascii=False, default=str))
    assert stored["kind"] == ("error" if kind == "errors" else "table")
    assert reason in stored["error" if kind == "errors" else "observed"]

    totals = validator.totals["articles"]
    assert totals.is_broken and reason in totals.broken[label]
    assert (totals.batches, totals.broken_batches, totals.failed_rows) == (1, 1, 0)
    assert reason in totals.expectations[label]["error"]  # the artifact's failing-expectation table shows it
    why = totals.failure(fail_share=0.5)
    assert why is not None and label in why and reason in why


def test_rows_still_split_off_next_to_a_broken_expectation(suites: Path) -> None:
    add(suites, {"type": "expect_table_row_count_to_be_between", "kwargs": {"max_value": 2}})
    validator = Validator(suites)
    result = validator.validate("articles", articles(language="xx"))
    assert result.failed_rows == {2}
    assert result.row_failures == {2: ["expect_column_values_to_be_in_set(language)"]}
    assert result.table_failures == ("expect_table_row_count_to_be_between: observed 4 (max_value=2)",)
    assert result.broken and not result.success
    kinds = {d["expectation"]: d["kind"] for d in result.details}
    assert kinds == {
        "expect_column_values_to_be_in_set(language)": "rows",
        "expect_table_row_count_to_be_between": "table",
    }
    totals = validator.totals["articles"]
    assert set(totals.broken) == {"expect_table_row_count_to_be_between"}
    assert totals.failed_rows == 1


def test_row_failures_alone_are_not_broken_and_fail_only_past_the_fail_share() -> None:
    validator = Validator(EXPECTATIONS)
    result = validator.validate("articles", articles(language="xx"))
    assert not result.success and not result.broken
    assert result.errors == () and result.table_failures == ()
    assert [d["kind"] for d in result.details] == ["rows"]
    totals = validator.totals["articles"]
    assert not totals.is_broken and totals.broken == {}
    assert totals.failure(fail_share=0.5) is None
    assert totals.failure(fail_share=0.2) == "1/4 rows failed (25% > fail_share 20%)"


def test_totals_keep_the_first_reason_and_count_broken_batches(suites: Path) -> None:
    add(suites, {"type": "expect_table_row_count_to_be_between", "kwargs": {"max_value": 4}})
    validator = Validator(suites)
    assert not validator.validate("articles", articles(4)).broken
    assert validator.validate("articles", articles(5)).broken
    assert validator.validate("articles", articles(6)).broken
    totals = validator.totals["articles"]
    assert (totals.batches, totals.broken_batches, totals.failed_batches) == (3, 2, 2)
    assert totals.broken == {"expect_table_row_count_to_be_between": "observed 5 (max_value=4)"}
    assert (
        totals.failure(0.9) == "broken in 2/3 batches: expect_table_row_count_to_be_between: observed 5 (max_value=4)"
    )


def test_the_shipped_suites_are_not_broken_on_tables_with_the_warehouse_schema() -> None:
    validator = Validator(EXPECTATIONS)
    for table, good in GOOD.items():
        rows = table_from_rows("article_versions" if table == "articles" else table, [good(n) for n in range(3)])
        result = validator.validate(table, rows)
        assert result.success and not result.broken, (table, result.errors, result.table_failures)
    assert not any(t.is_broken for t in validator.totals.values())


def _unknown_type(spec: dict[str, Any]) -> None:
    spec["expectations"].append({"type": "expect_column_values_to_be_purple", "kwargs": {"column": "text"}})


def _bad_kwarg_value(spec: dict[str, Any]) -> None:
    [between] = [
        e
        for e in spec["expectations"]
        if e["type"] == "expect_column_values_to_be_between" and e["kwargs"].get("column") == "word_count"
    ]
    between["kwargs"]["min_value"] = "zero"  # word_count between "zero" and …


def _misspelt_kwarg(spec: dict[str, Any]) -> None:
    spec["expectations"][0]["kwargs"] = {"colum": "article_id"}


def _no_kwargs(spec: dict[str, Any]) -> None:
    del spec["expectations"][0]["kwargs"]


def _no_type(spec: dict[str, Any]) -> None:
    del spec["expectations"][0]["type"]


def _no_expectations(spec: dict[str, Any]) -> None:
    del spec["expectations"]


def _no_name(spec: dict[str, Any]) -> None:
    del spec["name"]


LOAD_BREAKS = [
    (_unknown_type, "expect_column_values_to_be_purple"),
    (_bad_kwarg_value, "expect_column_values_to_be_between(word_count)"),
    (_misspelt_kwarg, "colum"),
    (_no_kwargs, '"kwargs"'),
    (_no_type, '"type"'),
    (_no_expectations, '"expectations"'),
    (_no_name, '"name"'),
]


@pytest.mark.parametrize(("change", "named"), LOAD_BREAKS, ids=[change.__name__ for change, _ in LOAD_BREAKS])
def test_a_suite_that_does_not_load_raises_a_clear_error(
    suites: Path, change: Callable[[dict[str, Any]], None], named: str
) -> None:
    edit(suites, "articles", change)
    with pytest.raises(SuiteError) as raised:
        Validator(suites)
    message = str(raised.value)
    assert str(suites / "articles.json") in message and named in message
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('{"name": "files", "expectations": [', "not valid JSON"),
        ("[]", "must be a JSON object"),
        ("", "not valid JSON"),
    ],
)
def test_a_suite_file_that_is_not_a_suite_raises(suites: Path, text: str, named: str) -> None:
    (suites / "files.json").write_text(text, encoding="utf-8")
    with pytest.raises(SuiteError, match=named) as raised:
        Validator(suites)
    assert str(suites / "files.json") in str(raised.value)


def test_no_suites_at_all_raises(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="no suites"):
        Validator(tmp_path)
    with pytest.raises(SuiteError, match="no such expectations folder"):
        Validator(tmp_path / "missing")


def test_suite_totals_default_is_healthy() -> None:
    totals = SuiteTotals("articles")
    assert not totals.is_broken and totals.failure(0.0) is None and totals.success_share == 1.0
