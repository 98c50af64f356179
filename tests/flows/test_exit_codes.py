"""Exit codes of the ``wirehouse`` command: 0 done (quarantined files included), 1 failed, 2 usage, 130
interrupted; a failure is one line on stderr, never a traceback.

Runs, readers and failures run the installed console script as a user runs it, in a child process; usage errors
(which fail before any flow starts) run in this process through :func:`flows.cli.invoke`, the function the console
script calls, and one of them through the console script too. Runs use the session's Prefect test server
(``PREFECT_API_URL``), so no child starts a temporary one.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from filelock import FileLock
from prefect.settings import PREFECT_API_URL

from flows.cli import invoke
from tasks.offline import OFFLINE_ENV
from tasks.settings import Settings
from tests.conftest import ROOT, SEED_ARTICLE

WIREHOUSE = Path(sys.executable).with_name("wirehouse")
PREFECT_LOG_RECORD = re.compile(r"\d\d:\d\d:\d\d\.\d{3} \| ")  # a run's progress lines from Prefect's console
ERROR_PREFIXES = ("wirehouse: error:", "run failed:")


def child_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment with only the WIREHOUSE_ variables given here, against the test API server."""
    child = {k: v for k, v in os.environ.items() if not k.startswith("WIREHOUSE_")}
    child.update(OFFLINE_ENV)
    child.update(
        PREFECT_API_URL=str(PREFECT_API_URL.value()),
        WIREHOUSE_MIN_AGE_SECONDS="0",
        WIREHOUSE_WORKERS="2",
    )
    child.update(env or {})
    return child


def wirehouse(*args: str, env: dict[str, str] | None = None, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """``.venv/bin/wirehouse ARGS`` in a child process (:func:`child_env`)."""
    return subprocess.run(
        [str(WIREHOUSE), *args], capture_output=True, text=True, cwd=ROOT, env=child_env(env), timeout=timeout
    )


def wirehouse_here(
    args: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``wirehouse ARGS`` in this process, with the environment :func:`wirehouse` gives a child: for usage errors
    and the commands that run no flow (a flow run's console logging is the console script's, tested in a child;
    the console script itself runs once per exit code)."""
    for name in [k for k in os.environ if k.startswith("WIREHOUSE_")]:
        monkeypatch.delenv(name)
    for name, value in {"WIREHOUSE_MIN_AGE_SECONDS": "0", "WIREHOUSE_WORKERS": "2", **(env or {})}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(ROOT)
    capsys.readouterr()
    code = invoke(args)
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(["wirehouse", *args], code, out, err)


def assert_fails(ran: subprocess.CompletedProcess[str], code: int, *needles: str, logs: bool = False) -> str:
    """Exit ``code``, no traceback anywhere, and exactly one error line on stderr; returns it.

    With ``logs``, Prefect's log records (a run's progress) may come before it; nothing else may.
    """
    assert ran.returncode == code, (ran.returncode, ran.stderr[-3000:])
    assert "Traceback" not in ran.stderr + ran.stdout, ran.stderr[-3000:]
    lines = ran.stderr.strip().splitlines()
    if logs:
        lines = [line for line in lines if not PREFECT_LOG_RECORD.match(line)]
    assert len(lines) == 1, ran.stderr[-3000:]
    [line] = lines
    assert line.startswith(ERROR_PREFIXES), line
    for needle in needles:
        assert needle in line, line
    return line


@pytest.fixture(scope="module")
def good_and_bad(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One article that lands and one empty file that is quarantined."""
    folder = tmp_path_factory.mktemp("source")
    shutil.copy(SEED_ARTICLE, folder / SEED_ARTICLE.name)
    (folder / "empty.txt").write_bytes(b"")
    return folder


@pytest.fixture(scope="module")
def warehouse(good_and_bad: Path, tmp_path_factory: pytest.TempPathFactory, prefect_server: None) -> Path:
    """A warehouse made by a real ``wirehouse run`` that quarantined a file: the run completed, so exit 0."""
    home = tmp_path_factory.mktemp("shared") / "warehouse"
    ran = wirehouse("run", "--source", str(good_and_bad), "--warehouse", str(home))
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "ingest 2 new · 1 quarantined" in ran.stdout
    assert "Traceback" not in ran.stderr + ran.stdout
    return home


# -- exit code 2: usage --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["run", "--source", "/definitely/not/here"], {}, "source folder not found"),
        (["run", "--workers", "many"], {}, "--workers"),
        (["run"], {"WIREHOUSE_LOCK": "sometimes"}, "invalid lock"),
        (["sql", "SELECT 1", "--warehouse", "/definitely/not/here"], {}, "no warehouse at"),
        (["status", "--warehouse", "/definitely/not/here"], {}, "no warehouse at"),
        (["reenrich", "--only", "spelling"], {}, "unknown component spelling"),
        (["compact", "--warehouse", "/definitely/not/here"], {}, "no warehouse at"),
        (["requeue", "--reason", "gremlins"], {}, "unknown reason code 'gremlins'"),
        (["docs", "--no-open", "--warehouse", "/definitely/not/here"], {}, "no warehouse at"),
        (["report", "--warehouse", "/definitely/not/here"], {}, "no warehouse at"),
        (["serve", "--cron", "every tuesday"], {}, "invalid cron"),
        (["watch", "--source", "s3://bucket/news/"], {}, "watch needs a local source folder"),
        (["nosuch"], {}, "No such command"),
        (["run"], {"WIREHOUSE_DATA_S3": "{bad"}, "data_s3"),
        (["status"], {"WIREHOUSE_DATA_S3": "{bad"}, "data_s3"),
        (["watch", "--debounce", "-1"], {}, "--debounce"),
        (["run", "--source", "ftp://news.example.org/articles/"], {}, "unsupported source scheme 'ftp'"),
        (["run", "--source", "https://news.example.org/feed/"], {}, "unsupported source scheme 'https'"),
        (["run"], {"WIREHOUSE_CATALOG": "mysql://root:pw@db/lake"}, "unknown catalog scheme 'mysql'"),
        (["status"], {"WIREHOUSE_CATALOG": "sqlite:"}, "the catalog needs a path"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    args: list[str],
    env: dict[str, str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert_fails(wirehouse_here(args, monkeypatch, capsys, env), 2, message)


def test_the_console_script_exits_2_on_a_usage_error() -> None:
    assert_fails(wirehouse("run", "--source", "/definitely/not/here"), 2, "source folder not found")


# -- exit code 0: a run that quarantines files completed -------------------------------------------------------------


def test_a_run_that_quarantines_a_file_exits_0_and_the_readers_work(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The run was the console script's (the ``warehouse`` fixture); the readers run in this process."""
    sql = ["sql", "SELECT reason_code FROM quarantine", "--warehouse", str(warehouse), "--format", "csv"]
    counted = wirehouse_here(sql, monkeypatch, capsys)
    assert counted.returncode == 0, counted.stderr
    assert counted.stdout.split() == ["reason_code", "empty"]
    status = wirehouse_here(["status", "--warehouse", str(warehouse)], monkeypatch, capsys)
    assert status.returncode == 0 and "articles 1" in status.stdout, status.stderr
    output = str(warehouse.parent / "r.html")
    report = wirehouse_here(["report", "--warehouse", str(warehouse), "--output", output], monkeypatch, capsys)
    assert report.returncode == 0 and (warehouse.parent / "r.html").is_file(), report.stderr


def test_report_into_a_missing_folder_is_a_usage_error(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["report", "--warehouse", str(warehouse), "--output", str(warehouse / "nope" / "r.html")]
    assert_fails(wirehouse_here(args, monkeypatch, capsys), 2, "--output")


def test_sql_that_writes_or_reads_outside_is_a_usage_error(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = f"COPY files TO '{warehouse}/data/current/batch=x/files.parquet'"
    assert_fails(
        wirehouse_here(["sql", copy, "--warehouse", str(warehouse)], monkeypatch, capsys), 2, "COPY is refused"
    )
    outside = "SELECT * FROM read_text('/etc/hostname')"
    ran = wirehouse_here(["sql", outside, "--warehouse", str(warehouse)], monkeypatch, capsys)
    assert_fails(ran, 2, "read_text is not allowed")


# -- exit code 1: failed ---------------------------------------------------------------------------------------------


def test_a_storage_error_in_the_pipeline_fails_the_run(good_and_bad: Path, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    ran = wirehouse("run", "--source", str(good_and_bad), "--warehouse", str(tmp_path / "a-file" / "warehouse"))
    assert_fails(ran, 1, "run failed: NotADirectoryError", logs=True)


def test_a_suite_failing_on_more_than_fail_share_fails_the_run(tmp_path: Path) -> None:
    # expectations/articles.json: expect_column_value_lengths_to_be_between(title, 1, 300)
    suite = json.loads((Settings().expectations / "articles.json").read_text())
    [limit] = [
        e["kwargs"]["max_value"]
        for e in suite["expectations"]
        if e["type"] == "expect_column_value_lengths_to_be_between" and e["kwargs"]["column"] == "title"
    ]
    source = tmp_path / "source"
    source.mkdir()
    title = " ".join(["Headline"] * (limit // 8 + 10))  # longer than any title the suite accepts
    article = {"title": title, "body": SEED_ARTICLE.read_text(encoding="utf-8")}
    (source / "long-title.json").write_text(json.dumps(article), encoding="utf-8")
    args = ["run", "--source", str(source), "--warehouse", str(tmp_path / "warehouse")]
    ran = wirehouse(*args, env={"WIREHOUSE_FAIL_SHARE": "0"})
    assert_fails(ran, 1, "run failed:", "articles: 1/1 rows failed", logs=True)


def test_a_suite_that_cannot_be_evaluated_fails_the_run(good_and_bad: Path, tmp_path: Path) -> None:
    """A misspelt column in a row expectation is a broken pipeline, not bad input (needs tasks/quality/suites.py's
    handling of expectations that raise)."""
    suites = tmp_path / "expectations"
    shutil.copytree(Settings().expectations, suites)
    spec = json.loads((suites / "articles.json").read_text())
    [row_check] = [e for e in spec["expectations"] if e["kwargs"].get("column") == "word_count"]
    row_check["kwargs"]["column"] = "wrod_count"
    (suites / "articles.json").write_text(json.dumps(spec))
    args = ["run", "--source", str(good_and_bad), "--warehouse", str(tmp_path / "warehouse")]
    ran = wirehouse(*args, env={"WIREHOUSE_EXPECTATIONS": str(suites)})
    assert_fails(ran, 1, "run failed:", "wrod_count", logs=True)


@pytest.fixture
def broken_warehouse(tmp_path: Path) -> Path:
    """A warehouse whose catalog is not a database any more (overwritten, truncated by a bad copy)."""
    home = tmp_path / "warehouse"
    home.mkdir()
    (home / "catalog.sqlite").write_bytes(bytes(range(256)) * 16)
    return home


@pytest.mark.parametrize(
    "args",
    [
        ["sql", "SELECT count(*) FROM articles"],
        ["status"],
        ["report"],
        ["docs", "--no-open"],
        ["requeue", "--reason", "empty"],
        ["compact"],
        ["duckdb", "-c", "SELECT 1"],
    ],
)
def test_a_broken_warehouse_fails_readers_and_writers(
    broken_warehouse: Path, args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = wirehouse_here([*args, "--warehouse", str(broken_warehouse)], monkeypatch, capsys)
    assert_fails(ran, 1, "not a database")


@pytest.fixture
def held_lock(warehouse: Path) -> Iterator[None]:
    """Another writer holds the warehouse lock (an open file of its own: the command cannot take it)."""
    lock = FileLock(warehouse / ".wirehouse.lock")
    with lock:
        yield


@pytest.mark.parametrize("args", [["compact"], ["requeue", "--reason", "empty"], ["reenrich"]])
def test_writers_fail_when_another_writer_holds_the_lock(
    warehouse: Path,
    held_lock: None,
    args: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {"WIREHOUSE_LOCK_TIMEOUT_SECONDS": "0"}
    ran = wirehouse_here([*args, "--warehouse", str(warehouse)], monkeypatch, capsys, env=env)
    assert_fails(ran, 1, "another writer holds the lock")


def test_serve_fails_in_one_line_when_the_prefect_api_is_unreachable(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api"
    (tmp_path / "source").mkdir()
    ran = wirehouse(
        "serve",
        "--source",
        str(tmp_path / "source"),
        "--warehouse",
        str(tmp_path / "warehouse"),
        env={"PREFECT_API_URL": url},
        timeout=120,
    )
    assert_fails(ran, 1, f"Prefect API at {url}", "ConnectError")


# -- exit code 130: interrupted ----------------------------------------------------------------------------------------


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_exits_130_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "source").mkdir()
    args = ["watch", "--source", str(tmp_path / "source"), "--warehouse", str(tmp_path / "warehouse")]
    child = subprocess.Popen(
        [str(WIREHOUSE), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=child_env(),
        # As in a terminal: Ctrl-C's signal has its default action. A test process may run with SIGINT ignored
        # (pytest-xdist's workers do), and an ignored signal stays ignored in every child it starts.
        preexec_fn=_sigint_default,
    )
    try:
        assert child.stdout is not None
        assert select.select([child.stdout], [], [], 120)[0], "watch did not start"
        assert "watching" in child.stdout.readline()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 130, err[-3000:]
    assert "Traceback" not in out + err, err[-3000:]
    assert len(err.strip().splitlines()) <= 1, err[-3000:]  # nothing, or invoke's "aborted"
