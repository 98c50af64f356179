"""Per-file isolation: whatever one file does to its enricher or its worker, the rest of the run lands.

Faults are injected by ``WIREHOUSE_FAULT_POISON`` (tasks/faults.py: an enricher raises, exits, segfaults or hangs
on an article carrying a marker), inherited by the spawned workers. Each run has several files per chunk and
two workers, so a dying worker takes healthy files down with it and their retry is what is tested.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tasks.faults import POISON_ENV
from tests.reliability.invariants import article_text, assert_complete

Sql = Callable[..., list[tuple[Any, ...]]]


def _healthy(source: Path, count: int, rng: random.Random) -> set[str]:
    names = set()
    for n in range(count):
        (source / f"ok-{n:02d}.txt").write_text(article_text(rng, f"ok{n}"), encoding="utf-8")
        names.add(f"ok-{n:02d}.txt")
    return names


# The per-file budget: long enough that a healthy file never hits it on a loaded 2-core machine (4 s did, with
# every file quarantined as a timeout), short enough that the hanging one costs a few seconds.
BUDGET = 10


@pytest.mark.slow
@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("raise", "enrich_error"),
        pytest.param("exit", "worker_crashed", marks=pytest.mark.deep),  # the crash segfault proves in make test
        ("segfault", "worker_crashed"),
        ("hang", "timeout"),
    ],
)
def test_one_misbehaving_file_is_quarantined_and_the_rest_lands(
    how: str, reason: str, source: Path, ingest: Callable[..., Any], sql: Sql, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(how)
    healthy = _healthy(source, 9, rng)
    (source / "poison.txt").write_text(article_text(rng, "poison") + "\n\nPOISON-MARK", encoding="utf-8")
    monkeypatch.setenv(POISON_ENV, f"POISON-MARK={how}")
    summary = ingest(workers=2, file_timeout_seconds=BUDGET, batch_size=50)
    assert summary.status == "completed"
    assert {p for (p,) in sql("SELECT source_path FROM articles")} == healthy
    [(code, detail, status)] = sql(
        "SELECT q.reason_code, q.reason_detail, f.status FROM quarantine q JOIN file_status f USING (source_path) "
        "WHERE q.source_path = 'poison.txt'"
    )
    assert (code, status) == (reason, "quarantined")
    assert detail  # says what happened: the exception, the exit, the budget
    if how == "raise":
        assert "RuntimeError" in detail and "poisoned by POISON-MARK" in detail and "enricher" in detail
    # nothing stays pending: the next run has nothing to do, and does not fail on the same file
    again = ingest(workers=2, file_timeout_seconds=BUDGET)
    assert (again.status, again.counts.new_files) == ("completed", 0)
    assert_complete(source, source.parent / "warehouse")


@pytest.mark.slow
def test_a_poisoned_jsonl_line_costs_only_that_line(
    source: Path, ingest: Callable[..., Any], sql: Sql, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(3)
    lines = [{"headline": f"Story {n}", "body": article_text(rng, f"line{n}")} for n in range(3)]
    lines[1]["body"] += " POISON-LINE"
    (source / "bundle.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    monkeypatch.setenv(POISON_ENV, "POISON-LINE=raise")
    summary = ingest(workers=2)
    assert summary.status == "completed"
    assert sql("SELECT record_index FROM articles ORDER BY 1") == [(1,), (3,)]
    assert sql("SELECT record_index, reason_code, stage FROM quarantine") == [(2, "enrich_error", "enrich")]
    assert sql("SELECT status, articles FROM file_status") == [("landed", 2)]


@pytest.mark.slow
def test_json_numbers_and_nesting_past_pythons_limits_are_quarantined_not_fatal(
    source: Path, ingest: Callable[..., Any], sql: Sql
) -> None:
    """fbac47d: a 5,000-digit number (ValueError) or 100,000-deep nesting (RecursionError) failed every run."""
    rng = random.Random(5)
    healthy = _healthy(source, 3, rng)
    (source / "digits.json").write_text('{"headline": "x", "body": "y", "n": ' + "7" * 5000 + "}")
    (source / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (source / "deep.jsonl").write_text(json.dumps({"body": article_text(rng, "j")}) + "\n" + "{" * 100_000 + "\n")
    summary = ingest(workers=2)
    assert summary.status == "completed"
    assert {p for (p,) in sql("SELECT source_path FROM articles")} == healthy | {"deep.jsonl"}
    reasons = dict(sql("SELECT source_path, reason_code FROM quarantine"))
    assert set(reasons) == {"digits.json", "deep.json", "deep.jsonl"}
    assert ingest(workers=2).counts.new_files == 0
