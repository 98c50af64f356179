"""End to end, as a person would: a real Prefect server, a real run, then headless Chromium over the UI and reports.

Skipped where Chromium or chromedriver is missing; CI installs them (``.ci/run``).
Screenshots land in ``screenshots/`` (git-ignored).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tasks.offline import OFFLINE_ENV
from tests.conftest import ROOT, SEEDS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SCREENSHOTS = ROOT / "screenshots"
BIN = Path(sys.executable).parent

HAVE_BROWSER = Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()
if not HAVE_BROWSER and os.environ.get("WIREHOUSE_REQUIRE_BROWSER"):  # CI installed it: missing is a failure
    raise RuntimeError(f"WIREHOUSE_REQUIRE_BROWSER is set but {CHROMIUM} or {CHROMEDRIVER} is missing")
pytestmark = [
    pytest.mark.deep,  # a real browser: the deep step
    pytest.mark.skipif(
        not HAVE_BROWSER, reason="needs chromium and chromedriver (apt-get install -y chromium chromium-driver)"
    ),
]
webdriver = pytest.importorskip("selenium.webdriver")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(OFFLINE_ENV, PREFECT_HOME=str(home), **extra)
    return env


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """``prefect server start`` on a free loopback port with a throwaway PREFECT_HOME; stopped at the end."""
    home = tmp_path_factory.mktemp("prefect-home")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (home / "server.log").open("wb")
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=_env(home, PREFECT_UI_API_URL=f"{url}/api"),  # the UI's default is port 4200
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"prefect server did not start: {(home / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield url, home
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def ran(prefect_server: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One ``wirehouse run`` against the server (seeds + one binary file), then ``report`` and ``docs``."""
    url, home = prefect_server
    base = tmp_path_factory.mktemp("ui")
    source, warehouse = base / "source", base / "warehouse"
    shutil.copytree(SEEDS, source)
    (source / "picture.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    env = _env(home, PREFECT_API_URL=f"{url}/api", WIREHOUSE_MIN_AGE_SECONDS="0", WIREHOUSE_WORKERS="1")
    wirehouse = str(BIN / "wirehouse")
    common = {"env": env, "capture_output": True, "text": True, "timeout": 300, "cwd": ROOT}
    run = subprocess.run([wirehouse, "run", "--source", str(source), "--warehouse", str(warehouse)], **common)
    assert run.returncode == 0, run.stdout + run.stderr
    name = run.stdout.splitlines()[0].strip()
    report = subprocess.run([wirehouse, "report", "--warehouse", str(warehouse)], **common)
    assert report.returncode == 0, report.stderr
    docs = subprocess.run([wirehouse, "docs", "--warehouse", str(warehouse), "--no-open"], **common)
    assert docs.returncode == 0, docs.stderr
    query = subprocess.run(
        [wirehouse, "sql", "SELECT flow_run_id FROM runs", "--warehouse", str(warehouse), "--format", "json"], **common
    )
    [row] = json.loads(query.stdout)
    return {
        "url": url,
        "name": name,
        "flow_run_id": row["flow_run_id"],
        "report": Path(report.stdout.strip().splitlines()[-1]),
        "docs": Path(docs.stdout.strip().splitlines()[-1]),
    }


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--window-size=1600,1100",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    SCREENSHOTS.mkdir(exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def _wait_for_text(driver: Any, *texts: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    body = ""
    while time.monotonic() < deadline:
        body = driver.find_element("tag name", "body").text
        if all(text in body for text in texts):
            return str(body)
        time.sleep(0.5)
    missing = [t for t in texts if t not in body]
    pytest.fail(f"page {driver.current_url} never showed {missing}; it shows: {body[:1500]}")


def _artifact_id(url: str, flow_run_id: str, key: str) -> str:
    body = json.dumps({"artifacts": {"flow_run_id": {"any_": [flow_run_id]}, "key": {"any_": [key]}}}).encode()
    request = urllib.request.Request(
        f"{url}/api/artifacts/filter", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        [artifact] = json.load(response)
    return str(artifact["id"])


def _console_errors(driver: Any) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def test_flow_run_page_shows_the_run_its_name_and_artifacts(ran: dict[str, Any], browser: Any) -> None:
    assert ran["name"].startswith("ingest ") and "1 quarantined" in ran["name"]
    browser.get(f"{ran['url']}/runs/flow-run/{ran['flow_run_id']}")
    _wait_for_text(browser, ran["name"], "Completed", "source:source", "discover:", "publish:")
    browser.save_screenshot(str(SCREENSHOTS / "flow-run.png"))
    browser.find_element("css selector", "li.p-tab#artifacts").click()  # the run page's Artifacts tab
    _wait_for_text(browser, "ingest-summary", "quarantined-files", "data-docs")
    browser.save_screenshot(str(SCREENSHOTS / "flow-run-artifacts.png"))
    browser.get(f"{ran['url']}/artifacts/artifact/{_artifact_id(ran['url'], ran['flow_run_id'], 'ingest-summary')}")
    _wait_for_text(browser, "Languages", "Quarantine reasons", "Great Expectations")
    browser.save_screenshot(str(SCREENSHOTS / "artifact-summary.png"))


def test_report_renders_offline_without_console_errors(ran: dict[str, Any], browser: Any) -> None:
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(ran["report"].as_uri())
    body = _wait_for_text(browser, "Articles per run", "Languages", "Quarantine reasons over time", "Validation")
    assert "binary" in body
    assert len(browser.find_elements("css selector", "svg")) >= 4
    browser.save_screenshot(str(SCREENSHOTS / "report.png"))
    assert _console_errors(browser) == []


def test_data_docs_index_renders_offline_without_console_errors(ran: dict[str, Any], browser: Any) -> None:
    browser.get_log("browser")
    browser.get(ran["docs"].as_uri())
    _wait_for_text(browser, "wirehouse docs", ran["name"], "articles", "quarantine")
    links = browser.find_elements("css selector", "a[href*='validations/']")
    assert links, "the index lists validation results"
    browser.save_screenshot(str(SCREENSHOTS / "data-docs-index.png"))
    assert _console_errors(browser) == []
    links[0].click()
    _wait_for_text(browser, "Overview")
    browser.save_screenshot(str(SCREENSHOTS / "data-docs-validation.png"))
    assert _console_errors(browser) == []


def _api(url: str, path: str, body: dict[str, Any]) -> Any:
    """POST to the Prefect API; a 503 (the server's database busy for a moment, as Prefect's own client knows) is
    retried, as that client retries it."""
    request = urllib.request.Request(
        f"{url}/api/{path}", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    for attempt in range(6):
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            if error.code != 503 or attempt == 5:
                raise
        time.sleep(0.5 * 2**attempt)


def test_served_deployment_shows_its_schedule_and_runs(
    prefect_server: tuple[str, Path], ran: dict[str, Any], browser: Any, tmp_path: Path
) -> None:
    """`wirehouse serve` registers a scheduled deployment; a run of it completes; stopping serve pauses it."""
    url, home = prefect_server
    source = tmp_path / "source"
    source.mkdir()
    shutil.copy(sorted(SEEDS.rglob("*.txt"))[0], source / "one.txt")
    env = _env(home, PREFECT_API_URL=f"{url}/api", WIREHOUSE_MIN_AGE_SECONDS="0", WIREHOUSE_WORKERS="1")
    log = (tmp_path / "serve.log").open("wb")
    served = subprocess.Popen(
        [str(BIN / "wirehouse"), "serve", "--source", str(source), "--warehouse", str(tmp_path / "warehouse")],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 90
        while not (deployments := _api(url, "deployments/filter", {"deployments": {"name": {"any_": ["scheduled"]}}})):
            assert served.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(1)
        [deployment] = deployments
        assert [s["schedule"]["cron"] for s in deployment["schedules"]] == ["*/15 * * * *"]
        assert not deployment["paused"] and "source:source" in deployment["tags"]
        run = _api(url, f"deployments/{deployment['id']}/create_flow_run", {})
        while (state := _api(url, "flow_runs/filter", {"flow_runs": {"id": {"any_": [run["id"]]}}})[0])[
            "state_type"
        ] not in ("COMPLETED", "FAILED", "CRASHED"):
            assert served.poll() is None and time.monotonic() < deadline + 120, (tmp_path / "serve.log").read_text()
            time.sleep(1)
        assert state["state_type"] == "COMPLETED", (tmp_path / "serve.log").read_text()[-3000:]
        # The */15 schedule may fall due while the test runs: whichever run reads the file first reports it,
        # any other one finds nothing new (the writer lock makes them take turns).
        of_deployment = {"flow_runs": {"deployment_id": {"any_": [deployment["id"]]}}}
        while any(r["state_type"] in ("PENDING", "RUNNING") for r in _api(url, "flow_runs/filter", of_deployment)):
            assert time.monotonic() < deadline + 240, (tmp_path / "serve.log").read_text()
            time.sleep(1)
        names = sorted(
            r["name"] for r in _api(url, "flow_runs/filter", of_deployment) if r["state_type"] == "COMPLETED"
        )
        assert names == ["ingest 0 new · 0 quarantined"] * (len(names) - 1) + ["ingest 1 new · 0 quarantined"]
        browser.get(f"{url}/deployments/deployment/{deployment['id']}")
        _wait_for_text(browser, "scheduled", "Every 15 minutes", "ingest 1 new · 0 quarantined")
        browser.save_screenshot(str(SCREENSHOTS / "deployment.png"))
    finally:
        served.terminate()  # SIGTERM: serve pauses its deployment on the way out
        served.wait(timeout=60)
        log.close()
    [after] = _api(url, "deployments/filter", {"deployments": {"name": {"any_": ["scheduled"]}}})
    assert after["paused"]
