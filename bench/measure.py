"""What the benchmark measures: the langdetect ceiling, a timed ``wirehouse run`` with its process tree's RSS,
discovery at scale, and DuckDB queries on the lake."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from tasks.store.lake import Warehouse

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")
WIREHOUSE = Path(sys.executable).with_name("wirehouse")


def _warm() -> None:
    from langdetect import DetectorFactory
    from langdetect.detector_factory import init_factory

    DetectorFactory.seed = 0
    init_factory()


def _detect(text: str) -> str:
    from langdetect import detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    try:
        return str(detect_langs(text)[0].lang)
    except LangDetectException:
        return "und"


def ceiling(texts: Iterable[str], workers: int) -> tuple[int, float]:
    """(texts, seconds) of plain langdetect over ``texts`` on ``workers`` processes, pool start included."""
    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=_warm) as pool:
        count = sum(1 for _ in pool.imap_unordered(_detect, texts, chunksize=32))
    return count, time.perf_counter() - started


def _enrich(chunk: list[tuple[str, bytes]]) -> int:
    from tasks.enrich.steps import enrich_jobs
    from tasks.models import FileRef

    jobs = [(FileRef(path, len(data), 1_600_000_000 * 10**9), data, 50_000_000) for path, data in chunk]
    return sum(len(rows) for _, _, rows, _ in enrich_jobs(jobs))


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    rest = iter(items)
    while chunk := list(itertools.islice(rest, size)):
        yield chunk


def enrich_ceiling(jobs: Iterable[tuple[str, bytes]], workers: int, chunk: int = 64) -> tuple[int, float]:
    """(articles, seconds) of wirehouse's own enrichment (parse, langdetect, metadata, …) on ``workers``
    processes with no orchestration, in chunks of files as the pipeline's workers get them: what the
    pipeline could reach with zero overhead."""
    from tasks.enrich.steps import warm_worker

    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=warm_worker) as pool:
        count = sum(pool.imap_unordered(_enrich, _chunks(jobs, chunk)))
    return count, time.perf_counter() - started


def _tree_rss(root_pid: int) -> tuple[int, int, int]:
    """(sum of RSS over root_pid and its descendants, RSS of root_pid, sum of PSS over the tree) in bytes, from
    /proc. RSS counts a page shared by several processes (copy-on-write after fork, mapped files) in each of them;
    PSS divides it among them: what the tree costs the machine."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)  # fields[1] = ppid
        rss[pid] = int(fields[21]) * page  # fields[21] = rss in pages
    total, proportional, stack = 0, 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        proportional += _pss(pid)
        stack.extend(children.get(pid, []))
    return total, rss.get(root_pid, 0), proportional


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@dataclass
class RunResult:
    seconds: float
    returncode: int
    peak_rss_tree_mb: float  # the CLI, its enrichment workers and Prefect's ephemeral server, summed
    peak_rss_main_mb: float
    peak_pss_tree_mb: float  # the same tree, shared pages divided among the processes sharing them
    max_rss_single_child_mb: float  # getrusage(RUSAGE_CHILDREN): the largest single process
    stdout_tail: str = ""
    stderr_tail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def wirehouse(*args: str, env: dict[str, str] | None = None, poll_s: float = 0.1) -> RunResult:
    """Run the ``wirehouse`` command end to end in a subprocess, polling its process tree's RSS."""
    return command([str(WIREHOUSE), *args], env=env, poll_s=poll_s)


def command(argv: list[str], *, env: dict[str, str] | None = None, poll_s: float = 0.1) -> RunResult:
    """Run ``argv`` to its end in a subprocess, polling its process tree's RSS."""
    environment = {**os.environ, **(env or {})}
    started = time.perf_counter()
    process = subprocess.Popen(argv, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peaks = [0, 0, 0]
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            tree, main, proportional = _tree_rss(process.pid)
            peaks[0], peaks[1], peaks[2] = max(peaks[0], tree), max(peaks[1], main), max(peaks[2], proportional)
            done.wait(poll_s)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    out, err = process.communicate()
    seconds = time.perf_counter() - started
    done.set()
    poller.join()
    child_max = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return RunResult(
        seconds=round(seconds, 3),
        returncode=process.returncode,
        peak_rss_tree_mb=round(peaks[0] / 2**20, 1),
        peak_rss_main_mb=round(peaks[1] / 2**20, 1),
        peak_pss_tree_mb=round(peaks[2] / 2**20, 1),
        max_rss_single_child_mb=round(child_max / 2**20, 1),
        stdout_tail=out.decode(errors="replace")[-1500:],
        stderr_tail=err.decode(errors="replace")[-3000:],
    )


QUERIES = {
    "articles per language": "SELECT language, count(*) FROM articles GROUP BY 1",
    "newest 20 English headlines": (
        "SELECT ingested_at, coalesce(title, left(lede, 80)) FROM articles WHERE language = 'en' "
        "ORDER BY ingested_at DESC LIMIT 20"
    ),
    "quarantine reasons": "SELECT reason_code, count(*) FROM quarantine GROUP BY 1 ORDER BY 2 DESC",
}


def queries(warehouse: Warehouse, statements: dict[str, str] = QUERIES, repeat: int = 5) -> dict[str, dict[str, float]]:
    """Cold (first) and best-of-``repeat`` milliseconds per query, on the lake attached read-only as a reader
    attaches it (``Warehouse.connect``: the views from the catalog, the reader's memory limit)."""
    from tasks.store.lake import query

    results = {}
    with query(warehouse) as connection:
        for name, statement in statements.items():
            timings = []
            for _ in range(repeat):
                started = time.perf_counter()
                connection.execute(statement).fetchall()
                timings.append((time.perf_counter() - started) * 1000)
            results[name] = {"first_ms": round(timings[0], 1), "best_ms": round(min(timings), 1)}
    return results


def as_dict(result: RunResult) -> dict[str, Any]:
    return asdict(result)
