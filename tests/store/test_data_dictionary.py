"""warehouse/README.md documents every column of every table and view in the lake (checked against DESCRIBE)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tasks.settings import Settings
from tasks.store.lake import Warehouse, query
from tasks.store.writer import writer

DICTIONARY = Path(__file__).resolve().parents[2] / "warehouse" / "README.md"
VIEWS = ("articles", "article_versions", "entities", "quotes", "near_duplicates", "files", "file_status")
VIEWS += ("content_articles", "quarantine", "validations", "runs", "run_records")


def documented() -> dict[str, set[str]]:
    """view name → columns listed in the table under its heading (``## a / b`` covers both)."""
    sections: dict[str, set[str]] = {}
    current: list[str] = []
    for line in DICTIONARY.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            current = [re.sub(r"\(.*\)", "", name).strip() for name in line[3:].split("/")]
            for name in current:
                sections.setdefault(name, set())
        elif line.startswith("| `") and current:
            column = line.split("`")[1]
            for name in current:
                sections[name].add(column)
    return sections


@pytest.mark.parametrize("view", VIEWS)
def test_every_column_is_documented(tmp_path: Path, view: str) -> None:
    warehouse = Warehouse(tmp_path / "warehouse")
    with writer(warehouse, Settings().sql, timeout=10):
        pass  # a new lake: every table and view, no rows
    with query(warehouse) as connection:
        columns = {row[0] for row in connection.execute(f"DESCRIBE {view}").fetchall()}
    missing = columns - documented().get(view, set())
    assert not missing, f"{view}: undocumented columns {sorted(missing)}"
