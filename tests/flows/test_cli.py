"""The command line: exit codes, one-line errors, and a real run through the CLI."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.conftest import SEED_ARTICLE
from tests.flows.test_exit_codes import wirehouse_here


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["run", "--source", "/definitely/not/here"], {}, "source folder not found"),
        (["run", "--bogus"], {}, "No such option"),
        (["run", "--workers", "many"], {}, "--workers"),
        (["run", "--lock", "sometimes"], {}, "invalid lock"),
        (["run"], {"WIREHOUSE_BATCH_SIZE": "0"}, "invalid batch_size"),
        (["nosuch"], {}, "No such command"),
        (["sql", "SELECT 1", "--warehouse", "/definitely/not/here"], {}, "no warehouse at"),
        (["sql", "SELECT 1", "--format", "xml"], {}, "--format must be"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    args: list[str],
    env: dict[str, str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = wirehouse_here(args, monkeypatch, capsys, env)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_run_then_sql_through_the_cli(
    source: Path, warehouse_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(SEED_ARTICLE, source / SEED_ARTICLE.name)
    runner = CliRunner()
    options = ["--source", str(source), "--warehouse", str(warehouse_dir), "--min-age", "0", "--workers", "1"]
    ran = runner.invoke(app, ["run", *options])
    assert ran.exit_code == 0, ran.output
    assert "ingest 1 new · 0 quarantined" in ran.output
    assert "wirehouse sql" in ran.output

    counted = runner.invoke(
        app,
        [
            "sql",
            "SELECT count(*) AS n FROM articles WHERE language = 'en'",
            "--warehouse",
            str(warehouse_dir),
            "--format",
            "csv",
        ],
    )
    assert counted.exit_code == 0, counted.output
    assert counted.output.split() == ["n", "1"]

    bad_sql = wirehouse_here(["sql", "SELEC 1", "--warehouse", str(warehouse_dir)], monkeypatch, capsys)
    assert bad_sql.returncode == 2 and "syntax error" in bad_sql.stderr

    status = runner.invoke(app, ["status", "--warehouse", str(warehouse_dir)])
    assert status.exit_code == 0 and "articles 1" in status.output


def test_duckdb_cli_reads_the_warehouse(source: Path, warehouse_dir: Path) -> None:
    duckdb_cli = Path(sys.executable).with_name("duckdb")
    if not duckdb_cli.exists():
        pytest.skip("duckdb-cli is not installed in this environment")
    shutil.copy(SEED_ARTICLE, source / SEED_ARTICLE.name)
    ran = CliRunner().invoke(
        app, ["run", "--source", str(source), "--warehouse", str(warehouse_dir), "--min-age", "0", "--workers", "1"]
    )
    assert ran.exit_code == 0, ran.output
    query = "SELECT count(*) FROM articles WHERE language = 'en'"
    out = subprocess.run(  # README's command: the CLI with the init script the writer leaves
        [str(duckdb_cli), "-init", str(warehouse_dir / "attach.sql"), "-csv", "-c", query],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == "1"
    wirehouse = Path(sys.executable).with_name("wirehouse")  # and `wirehouse duckdb`, as a user runs it
    out = subprocess.run(
        [str(wirehouse), "duckdb", "--warehouse", str(warehouse_dir), "-csv", "-c", query],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == "1"
