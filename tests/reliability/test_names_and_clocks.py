"""Discovery never fails or stalls a run because of a file's name, its clock, or where the warehouse lives.

One source folder holds every case, with the warehouse inside it (reached through a symlinked and a ``./``
spelling), and the real ``wirehouse run`` goes over it twice:

* names Hypothesis generates as bytes: invalid UTF-8, the UTF-8 bytes of lone surrogates, newlines and other
  control characters, names of 255 bytes (the ext4 limit), a folder whose own name is not UTF-8. Every file lands
  under its key (``tasks.sources.discover.source_key``: invalid bytes and ``%`` percent-escaped), once;
* modification times in the future (a day, ten years, generated ones up to the year 2446) and before 1970: all
  land in the first run; one a few minutes ahead (within the clock skew allowed) is deferred;
* the warehouse's own files (catalog, Parquet, Data Docs, attach.sql) are never listed.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tasks.sources.discover import disk_path
from tests.conftest import ROOT
from tests.reliability.conftest import child_env, query
from tests.reliability.invariants import article_text, assert_consistent

WIREHOUSE = Path(sys.executable).with_name("wirehouse")
DAY = 86_400
FAR = 13_569_465_600  # 2400-01-01: past what a signed 64-bit count of nanoseconds holds (2262)
INT64_MAX = (1 << 63) - 1
NEAR_FUTURE = 240  # ahead of the clock, within the allowed skew (300 s): still deferred
GENERATED_NAMES = 40
GENERATED_MTIMES = 6
NAME_MAX = 255
SUFFIX = b".txt"
UNSAFE = frozenset(b"/\x00%")  # '/' and NUL cannot be in a name; '%' is covered by the cases below

# One name part each: bytes that are not UTF-8, a lone surrogate's bytes, control characters, any text.
_invalid = st.binary(min_size=1, max_size=12).filter(lambda b: not _is_utf8(b))
_surrogate = st.integers(0xD800, 0xDFFF).map(lambda c: chr(c).encode("utf-8", "surrogatepass"))
_controls = st.text(st.sampled_from("\n\r\t\x0b\x0c\x1b\x7f\x85\u2028"), min_size=1, max_size=3).map(str.encode)
_text = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12).map(str.encode)
_part = st.one_of(_invalid, _surrogate, _controls, _text).map(lambda b: bytes(c for c in b if c not in UNSAFE))


@st.composite
def odd_names(draw: st.DrawFn) -> bytes:
    """A file name (bytes) from 1 to 4 parts; sometimes padded to exactly 255 bytes."""
    name = b"odd-" + b"".join(draw(st.lists(_part, min_size=1, max_size=4)))
    if draw(st.booleans()) and len(name) < NAME_MAX - len(SUFFIX):
        name += draw(st.sampled_from([b"\xff", b"a", "é".encode()])) * (NAME_MAX - len(SUFFIX) - len(name))
    return name[: NAME_MAX - len(SUFFIX)] + SUFFIX


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _generate(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """``count`` examples drawn by Hypothesis (its generate phase only: each is a case in the one folder)."""
    drawn: list[Any] = []

    @settings(
        max_examples=count,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    @given(strategy)
    def collect(example: Any) -> None:
        drawn.append(example)

    collect()
    return drawn


def expected_key(relative: bytes) -> str:
    """The documented key of a path with no '%': each component as text, its invalid bytes as %XX."""
    parts = []
    for part in relative.split(b"/"):
        text = part.decode("utf-8", "surrogateescape")
        parts.append("".join(f"%{ord(c) - 0xDC00:02X}" if 0xDC80 <= ord(c) <= 0xDCFF else c for c in text))
    return "/".join(parts)


@dataclass
class Ran:
    source: Path
    warehouse: Path
    keys: dict[str, bytes]  # key → the file's path (bytes) under the source: every file that must land
    mtimes: dict[str, int]  # key → the mtime_ns the ledger must hold
    deferred: str  # the key of the file modified within the skew ahead of the clock
    runs: list[subprocess.CompletedProcess[str]]
    files_after_first: int
    articles_after_first: set[str]


def _write(source: Path, relative: bytes, rng: random.Random, tag: str) -> None:
    path = os.path.join(os.fsencode(source), relative)
    with open(path, "wb") as handle:
        handle.write(article_text(rng, tag).encode())


def _run(source: str, warehouse: str, prefect_api: str) -> subprocess.CompletedProcess[str]:
    env = child_env(prefect_api, extra={"WIREHOUSE_MIN_AGE_SECONDS": "0", "WIREHOUSE_WORKERS": "2"})
    return subprocess.run(
        [str(WIREHOUSE), "run", "--source", source, "--warehouse", warehouse],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory, prefect_api: str) -> Ran:
    base = tmp_path_factory.mktemp("names-clocks")
    source = base / "source"
    source.mkdir()
    rng = random.Random(7)
    keys: dict[str, bytes] = {}
    for i in range(4):  # plain names beside the odd ones
        keys[f"plain-{i}.txt"] = f"plain-{i}.txt".encode()
    names = {name for name in _generate(odd_names(), GENERATED_NAMES)}
    for name in sorted(names):
        keys[expected_key(name)] = name
    folder = b"dir-\xff\xfe\ncaf\xe9"  # a folder whose name is not UTF-8 either
    os.mkdir(os.path.join(os.fsencode(source), folder))
    for name in (b"inside.txt", b"caf\xe9-inside.txt"):
        keys[expected_key(folder + b"/" + name)] = folder + b"/" + name
    # '%' in names: a literal name that reads like an escape does not collide with the name it escapes.
    keys["caf%E9.txt"] = b"caf\xe9.txt"
    keys["caf%25E9.txt"] = b"caf%E9.txt"
    keys["100%.txt"] = b"100%.txt"
    keys["caf%C3%A9.txt"] = b"caf%C3%A9.txt"
    for n, relative in enumerate(keys.values()):
        _write(source, relative, rng, f"n{n}")

    now = time.time_ns()
    offsets = [DAY, 10 * 365 * DAY, -10 * 365 * DAY]  # seconds from now
    offsets += _generate(st.integers(400, 13_000_000_000), GENERATED_MTIMES)  # from minutes to 400 years ahead
    mtimes: dict[str, int] = {}
    for i, offset in enumerate(offsets):
        mtimes[f"clock-{i}.txt"] = now + offset * 10**9
    mtimes["clock-far.txt"] = FAR * 10**9
    mtimes["clock-near.txt"] = now + NEAR_FUTURE * 10**9
    for n, (key, mtime_ns) in enumerate(mtimes.items()):
        _write(source, key.encode(), rng, f"c{n}")
        os.utime(source / key, ns=(mtime_ns, mtime_ns))
        keys[key] = key.encode()
        mtimes[key] = min(os.stat(source / key).st_mtime_ns, INT64_MAX)  # past 2262: the ledger holds the largest

    # The warehouse inside its source, spelled through a symlink to the source and a "./"; a link into it too.
    (base / "link").symlink_to(source)
    (source / "lake-link").symlink_to("warehouse")
    runs = [_run(str(source), f"{base}/link/./warehouse", prefect_api)]
    files_after_first = query(source / "warehouse", "SELECT count(*) FROM files")[0][0]
    articles = {path for (path,) in query(source / "warehouse", "SELECT source_path FROM articles")}
    runs.append(_run(f"{base}/link", str(source / "warehouse"), prefect_api))
    deferred = "clock-near.txt"
    del keys[deferred]
    return Ran(source, source / "warehouse", keys, mtimes, deferred, runs, files_after_first, articles)


def _failure(ran: Ran) -> str:
    return "\n".join(f"rc={r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}" for r in ran.runs)


def test_odd_byte_names_land_once_under_their_escaped_keys(ran: Ran) -> None:
    assert [r.returncode for r in ran.runs] == [0, 0], _failure(ran)
    assert len(ran.keys) >= GENERATED_NAMES // 2 + 10
    landed = {key for key in ran.articles_after_first if not key.startswith("clock-")}
    expected = {key for key in ran.keys if not key.startswith("clock-")}
    assert landed == expected, f"missing {expected - landed!r}, unexpected {landed - expected!r}"
    ledger = query(ran.warehouse, "SELECT source_path, count(*), min(status) FROM files GROUP BY 1")
    counts = {path: (count, status) for path, count, status in ledger}
    assert {key: counts.get(key) for key in expected} == dict.fromkeys(expected, (1, "landed"))
    assert query(ran.warehouse, "SELECT source_path, reason_code FROM quarantine") == []
    for key, relative in ran.keys.items():  # every key reads back to the bytes of its name
        assert os.fsencode(disk_path(ran.source, key)) == os.path.join(os.fsencode(ran.source), relative)
    assert_consistent(ran.warehouse)


def test_future_and_far_mtimes_land_in_the_first_run(ran: Ran) -> None:
    assert [r.returncode for r in ran.runs] == [0, 0], _failure(ran)
    clocks = {key for key in ran.mtimes if key != ran.deferred}
    assert clocks <= ran.articles_after_first, f"not landed: {clocks - ran.articles_after_first}"
    ledger = dict(
        query(ran.warehouse, "SELECT source_path, mtime_ns FROM file_status WHERE source_path LIKE 'clock-%'")
    )
    assert ledger == {key: ran.mtimes[key] for key in clocks}  # the near-future file waits (not in the ledger)
    first, second = query(ran.warehouse, "SELECT deferred FROM runs WHERE finished_at IS NOT NULL ORDER BY started_at")
    assert first == second == (1,)


def test_warehouse_inside_its_source_is_never_listed(ran: Ran) -> None:
    assert [r.returncode for r in ran.runs] == [0, 0], _failure(ran)
    paths = {path for (path,) in query(ran.warehouse, "SELECT DISTINCT source_path FROM files")}
    assert {p for p in paths if p.startswith(("warehouse", "lake-link"))} == set()
    assert query(ran.warehouse, "SELECT count(*) FROM files")[0][0] == ran.files_after_first  # second run: nothing
    last = query(ran.warehouse, "SELECT new_files, landed, deleted FROM runs ORDER BY started_at DESC LIMIT 1")
    assert last == [(0, 0, 0)]
