"""README's promises, checked: its `wirehouse sql` commands and every query in warehouse/sql/examples.sql run."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

from typer.testing import CliRunner

from flows.cli import app
from tests.conftest import ROOT, SEEDS


def _statements(sql: str) -> list[str]:
    body = "\n".join(line for line in sql.splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]


def test_readme_queries_and_examples_run_on_the_seeds(source: Path, warehouse_dir: Path) -> None:
    shutil.copytree(SEEDS, source, dirs_exist_ok=True)
    runner = CliRunner()
    ran = runner.invoke(
        app, ["run", "--source", str(source), "--warehouse", str(warehouse_dir), "--min-age", "0", "--workers", "1"]
    )
    assert ran.exit_code == 0, ran.output

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = [shlex.split(line)[1:] for line in re.findall(r"^\.venv/bin/wirehouse sql .*$", readme, flags=re.M)]
    assert len(commands) >= 2
    for command in commands:
        result = runner.invoke(app, [*command, "--warehouse", str(warehouse_dir)])
        assert result.exit_code == 0, (command, result.output)

    examples = _statements((ROOT / "warehouse" / "sql" / "examples.sql").read_text(encoding="utf-8"))
    assert len(examples) >= 5
    for statement in examples:
        result = runner.invoke(app, ["sql", statement, "--warehouse", str(warehouse_dir), "--format", "json"])
        assert result.exit_code == 0, (statement, result.output)
    # The `make run` output README shows: its per-language counts are what the seeds give.
    shown = re.search(r"^languages: (.+)$", readme, flags=re.M)
    assert shown is not None
    claimed = dict(item.rsplit(" ", 1) for item in shown.group(1).split(", "))
    counted = runner.invoke(
        app,
        [
            "sql",
            "SELECT language, count(*) FROM articles GROUP BY 1",
            "--warehouse",
            str(warehouse_dir),
            "--format",
            "csv",
        ],
    )
    assert counted.exit_code == 0, counted.output
    assert dict(line.split(",") for line in counted.output.split()[1:]) == claimed


def test_readme_time_travel_shows_what_articles_held_before_a_run(source: Path, warehouse_dir: Path) -> None:
    """README's time-travel block, statement by statement, on a lake that two runs filled."""
    from tasks.store.lake import Warehouse

    runner = CliRunner()
    where = ["--source", str(source), "--warehouse", str(warehouse_dir), "--min-age", "0", "--workers", "1"]
    shutil.copytree(SEEDS / "text", source, dirs_exist_ok=True)
    assert runner.invoke(app, ["run", *where]).exit_code == 0
    with Warehouse(warehouse_dir).connect() as connection:
        [(held_before,)] = connection.execute("SELECT count(*) FROM articles").fetchall()
    shutil.copytree(SEEDS, source, dirs_exist_ok=True)
    assert runner.invoke(app, ["run", *where]).exit_code == 0

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"### Time travel.*?```sql\n(.*?)```", readme, flags=re.S)
    assert block is not None
    statements = _statements(block.group(1))
    with Warehouse(warehouse_dir).connect() as connection:
        [(snapshot,)] = connection.execute(statements[0]).fetchall()  # the last run's snapshot_before
        [(now,)] = connection.execute("SELECT count(*) FROM articles").fetchall()
        catalog = str(warehouse_dir / "catalog.sqlite")
        results = [
            connection.execute(s.replace("warehouse/catalog.sqlite", catalog).replace("41", str(snapshot))).fetchall()
            for s in statements[1:]
        ]
    assert now > held_before > 0
    assert sum(n for _, n in results[1]) == held_before  # before.articles, by language
    assert results[2][0][0] >= held_before  # article_versions at that snapshot
    assert any(row[0] == snapshot for row in results[3])  # ducklake_snapshots lists it
