"""The Prefect API a command reports to: the one PREFECT_API_URL names, else a local server kept running between
commands, so a one-shot ``wirehouse run`` does not start and stop a temporary server (about 6.5 s) every time.

The background server is ``prefect server start`` on ``127.0.0.1:<prefect_port>`` (the port ``wirehouse server``
and ``make ui`` use, so every command, the UI and the next run see the same runs), its database under
``PREFECT_HOME``, detached from the terminal (its own session: a Ctrl-C that stops a run does not stop it) and
logging to ``PREFECT_HOME/wirehouse-server.log``. One command starts it at a time (a file lock), and one that does
not answer in time is stopped again: never left half-started. ``wirehouse server --stop`` stops it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from filelock import FileLock

from tasks.offline import OFFLINE_ENV

START_TIMEOUT_SECONDS = 90.0
STOP_TIMEOUT_SECONDS = 15.0


class ServerDidNotStart(RuntimeError):
    """The background server did not answer in time; it was stopped again."""


def prefect_home() -> Path:
    """Where Prefect keeps its database (``PREFECT_HOME``; ``.prefect/`` here, as the Makefile sets it)."""
    return Path(os.environ.get("PREFECT_HOME") or Path.cwd() / ".prefect")


def api_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/api"


def answers(url: str, timeout: float = 2.0) -> bool:
    """Whether a Prefect API answers its health check at ``url``."""
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def use_prefect_api(mode: str, port: int) -> str | None:
    """Point this process at its Prefect API, before Prefect is imported. Returns the background server's URL;
    None where PREFECT_API_URL (or the settings of a Prefect already imported) names an API, or ``mode`` is
    ``temporary`` (Prefect's own server, for one command)."""
    if os.environ.get("PREFECT_API_URL") or mode == "temporary" or _api_of_this_process():
        return None
    url = ensure_background_server(port)
    os.environ["PREFECT_API_URL"] = url
    return url


def _api_of_this_process() -> str | None:
    """The API a process that already imported Prefect reports to (its settings: a test harness, a notebook)."""
    if "prefect.settings" not in sys.modules:
        return None
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


def ensure_background_server(port: int, timeout: float = START_TIMEOUT_SECONDS) -> str:
    """The URL of the server on ``port``; one is started first when none answers there."""
    url = api_url(port)
    if answers(url):
        return url
    home = prefect_home()
    home.mkdir(parents=True, exist_ok=True)
    with FileLock(home / "wirehouse-server.lock"):
        if answers(url):  # another command started it while this one waited for the lock
            return url
        _stop(home)  # one that died or never answered: its pid file must not name a stranger later
        with (home / "wirehouse-server.log").open("ab") as log:
            server = subprocess.Popen(
                [str(Path(sys.executable).with_name("prefect")), "server", "start", "--host", "127.0.0.1",
                 "--port", str(port)],
                env={**OFFLINE_ENV, **os.environ, "PREFECT_HOME": str(home), "PREFECT_UI_API_URL": url},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        (home / "wirehouse-server.pid").write_text(str(server.pid), encoding="ascii")
        deadline = time.monotonic() + timeout
        while not answers(url, timeout=1.0):
            if server.poll() is not None or time.monotonic() > deadline:
                _stop(home)
                why = f"exited with code {server.returncode}" if server.returncode is not None else "no answer"
                raise ServerDidNotStart(
                    f"the background Prefect server on port {port}: {why} within {timeout:.0f}s (see "
                    f"{home / 'wirehouse-server.log'}); WIREHOUSE_PREFECT_SERVER=temporary runs without one"
                )
            time.sleep(0.2)
    return url


def stop_background_server(port: int, home: Path | None = None) -> str:
    """Stop the server this module started (under ``home``, default ``prefect_home()``); says what it did."""
    home = home or prefect_home()
    if not home.is_dir():
        return "no background Prefect server is running"
    with FileLock(home / "wirehouse-server.lock"):
        if _stop(home):
            return f"stopped the background Prefect server on port {port}"
    if answers(api_url(port)):
        return f"the Prefect server on port {port} was not started in the background: stop it where it runs"
    return "no background Prefect server is running"


def _stop(home: Path) -> bool:
    """Stop the server (its whole session) the pid file names, if it runs; remove the pid file either way."""
    pid_file = home / "wirehouse-server.pid"
    try:
        pid = int(pid_file.read_text(encoding="ascii"))
    except (OSError, ValueError):
        return False
    pid_file.unlink(missing_ok=True)
    if not _is_prefect_server(pid):  # it died, and the number is someone else's now
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while _running(pid):
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
            break
        time.sleep(0.1)
    return True


def _is_prefect_server(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return False
    except OSError:  # no /proc here: trust the pid file
        return True
    return any(part.endswith(b"prefect") for part in command) and b"server" in command


def _running(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    try:  # our own child (the command that started it): reap it, or it stays a zombie that "runs"
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return True
