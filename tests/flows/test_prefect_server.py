"""Without PREFECT_API_URL a command reports to a local Prefect server that outlives it: the first one starts it,
the rest (started together or later) reuse it, ``wirehouse server --stop`` stops it, and a server that cannot
start fails the command in one line and is never left behind."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from flows.prefect_server import answers, api_url, stop_background_server
from tasks.offline import OFFLINE_ENV
from tests.conftest import ROOT, SEED_ARTICLE
from tests.flows.test_exit_codes import WIREHOUSE, assert_fails, wirehouse_here


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def home(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A PREFECT_HOME and a port of this test's own; whatever server the test left is stopped afterwards."""
    prefect_home, port = tmp_path / "prefect-home", _free_port()
    yield prefect_home, port
    stop_background_server(port, prefect_home)


def _env(prefect_home: Path, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WIREHOUSE_", "PREFECT_"))}
    env.update(OFFLINE_ENV, PREFECT_HOME=str(prefect_home), WIREHOUSE_PREFECT_PORT=str(port))
    env.update(WIREHOUSE_MIN_AGE_SECONDS="0", WIREHOUSE_WORKERS="1", **extra)
    return env


def _start(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(WIREHOUSE), *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _finish(child: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    out, err = child.communicate(timeout=300)
    return subprocess.CompletedProcess(child.args, child.returncode, out, err)


def _flow_run_names(port: int) -> list[str]:
    response = httpx.post(f"{api_url(port)}/flow_runs/filter", json={"limit": 50}, timeout=10)
    response.raise_for_status()
    return sorted(run["name"] for run in response.json())


def test_runs_share_one_background_server_that_outlives_them_until_stopped(
    home: tuple[Path, int], tmp_path: Path
) -> None:
    prefect_home, port = home
    source = tmp_path / "source"
    source.mkdir()
    shutil.copy(SEED_ARTICLE, source / "kosovo.txt")
    env = _env(prefect_home, port)
    together = [_start(env, "run", "--source", str(source), "--warehouse", str(tmp_path / f"w{n}")) for n in (1, 2)]
    for ran in map(_finish, together):
        assert ran.returncode == 0, ran.stderr[-3000:]
    assert answers(api_url(port))  # the server outlived the runs that started it
    pid = (prefect_home / "wirehouse-server.pid").read_text()
    again = _finish(_start(env, "run", "--source", str(source), "--warehouse", str(tmp_path / "w1")))
    assert again.returncode == 0 and "0 new" in again.stdout, again.stderr[-3000:]
    assert (prefect_home / "wirehouse-server.pid").read_text() == pid  # reused, not started again
    assert _flow_run_names(port) == ["ingest 0 new · 0 quarantined", *["ingest 1 new · 0 quarantined"] * 2]

    stopped = _finish(_start(env, "server", "--stop"))
    assert stopped.returncode == 0 and "stopped the background Prefect server" in stopped.stdout, stopped.stderr
    assert not answers(api_url(port), timeout=1)
    assert not (prefect_home / "wirehouse-server.pid").exists()
    with pytest.raises(ProcessLookupError):
        os.killpg(int(pid), 0)
    nothing = _finish(_start(env, "server", "--stop"))
    assert nothing.returncode == 0 and "no background Prefect server is running" in nothing.stdout


def test_a_server_that_cannot_start_fails_the_run_in_one_line_and_is_not_left_behind(
    home: tuple[Path, int], tmp_path: Path
) -> None:
    prefect_home, port = home
    (tmp_path / "source").mkdir()
    with socket.socket() as squatter:  # the port is taken by something that is not a Prefect API
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        ran = _finish(_start(_env(prefect_home, port), "run", "--source", str(tmp_path / "source")))
    assert_fails(ran, 1, f"the background Prefect server on port {port}: exited with code")
    assert not (prefect_home / "wirehouse-server.pid").exists()


def test_stop_never_signals_a_process_that_is_not_the_server(home: tuple[Path, int], tmp_path: Path) -> None:
    """A server that died leaves its pid file; the number may belong to another process by the time of --stop."""
    prefect_home, port = home
    prefect_home.mkdir()
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        (prefect_home / "wirehouse-server.pid").write_text(str(stranger.pid))
        stopped = _finish(_start(_env(prefect_home, port), "server", "--stop"))
        assert stopped.returncode == 0 and "no background Prefect server is running" in stopped.stdout
        assert stranger.poll() is None
    finally:
        os.killpg(stranger.pid, signal.SIGKILL)
        stranger.wait()


@pytest.mark.deep  # Prefect's temporary server: one more server start
def test_the_temporary_server_leaves_no_background_process(home: tuple[Path, int], tmp_path: Path) -> None:
    prefect_home, port = home
    (tmp_path / "source").mkdir()
    env = _env(prefect_home, port, WIREHOUSE_PREFECT_SERVER="temporary")
    ran = _finish(_start(env, "run", "--source", str(tmp_path / "source"), "--warehouse", str(tmp_path / "w")))
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert not (prefect_home / "wirehouse-server.pid").exists() and not answers(api_url(port), timeout=1)


def test_a_command_in_a_process_that_already_reports_to_prefect_starts_no_server(
    home: tuple[Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """This test process reports to the session's API (its settings, not PREFECT_API_URL): so does the command."""
    prefect_home, port = home
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(prefect_home))
    (tmp_path / "source").mkdir()
    args = ["run", "--source", str(tmp_path / "source"), "--warehouse", str(tmp_path / "w")]
    ran = wirehouse_here(args, monkeypatch, capsys, env={"WIREHOUSE_PREFECT_PORT": str(port)})
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert not (prefect_home / "wirehouse-server.pid").exists() and not answers(api_url(port), timeout=1)
