"""The hand-written suites must agree with the code's own vocabularies (reason codes, statuses, languages)."""

from __future__ import annotations

import json
from pathlib import Path

from tasks.enrich.language import DETECTORS, answerable_codes
from tasks.models import FileStatus, Reason
from tasks.settings import Settings


def _value_set(table: str, column: str) -> set[str]:
    spec = json.loads((Settings().expectations / f"{table}.json").read_text(encoding="utf-8"))
    [values] = [
        e["kwargs"]["value_set"]
        for e in spec["expectations"]
        if e["kwargs"].get("column") == column and "value_set" in e["kwargs"]
    ]
    return set(values)


def test_every_reason_code_is_allowed_by_the_suites() -> None:
    codes = {r.value for r in Reason}
    assert _value_set("quarantine", "reason_code") == codes
    assert _value_set("files", "reason_code") == codes


def test_file_statuses_and_languages_match() -> None:
    assert _value_set("files", "status") == {s.value for s in FileStatus}
    assert _value_set("articles", "language") == answerable_codes() | {"und"}
    assert _value_set("articles", "language_detector") == set(DETECTORS)


def test_readme_documents_every_reason_code() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert [r.value for r in Reason if f"| `{r.value}` |" not in readme] == []
