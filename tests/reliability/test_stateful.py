"""Model-based: random sequences of folder changes, runs and SIGKILLed runs, checked against a model of what is live.

The machine changes a source folder with sub-folders (add a good file, edit, copy, rename, delete, re-create a
deleted path, touch, corrupt, write the same article text in another format, make a sub-folder unlistable for the
next run), runs the real flow (in this process) or a child process SIGKILLed at a fault point (``tasks/faults.py``),
and after every completed run compares the warehouse with the model: the folder as the runs could list it. What a
file's bytes hold is asked of the real parser (``tasks.parse.documents.parse_file``), so the oracle is "these texts, each
once", not a copy of the pipeline's logic. After a killed run only consistency is checked; the next completed run
must reach the model.

Replay: the search is derandomized (same sequences every time); ``WIREHOUSE_STATEFUL_SEED=<n>`` explores other
ones. Deepen: ``WIREHOUSE_STATEFUL_EXAMPLES`` (default 1; the deep case runs 6 times as many), ``WIREHOUSE_STATEFUL_STEPS`` (default 10) and
``WIREHOUSE_STATEFUL_KILLS`` (killed runs per sequence, default 1). ``WIREHOUSE_STATEFUL_SKIP=unreadable,kill``
switches rules off (add, same_text, edit, copy, rename, delete, recreate, touch, corrupt, unreadable, run, kill) to
isolate a failure; ``WIREHOUSE_STATEFUL_SHRINK=0`` reports the first failing sequence without shrinking it;
``WIREHOUSE_STATEFUL_TRACE=1`` prints the steps as they run.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import random
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, event, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule, run_state_machine_as_test

from tasks.faults import POINTS, UNREADABLE_ENV
from tasks.ops.sql_console import console
from tasks.parse.documents import parse_file
from tasks.store.lake import Warehouse
from tests.reliability.conftest import Child, query
from tests.reliability.invariants import (
    GOOD_KINDS,
    assert_consistent,
    bad_bytes,
    data_files_in_catalog,
    data_files_on_disk,
    good_bytes,
    kind_of,
    stale_views,
)

EXAMPLES = int(os.environ.get("WIREHOUSE_STATEFUL_EXAMPLES", "1"))
STEPS = int(os.environ.get("WIREHOUSE_STATEFUL_STEPS", "10"))
SEED = os.environ.get("WIREHOUSE_STATEFUL_SEED")
SKIP = {name.strip() for name in os.environ.get("WIREHOUSE_STATEFUL_SKIP", "").split(",") if name.strip()}
SHRINK = os.environ.get("WIREHOUSE_STATEFUL_SHRINK", "1") != "0"
KILLS = int(os.environ.get("WIREHOUSE_STATEFUL_KILLS", "1"))  # killed runs per sequence (a child process: ~10 s)
TRACE = os.environ.get("WIREHOUSE_STATEFUL_TRACE", "0") != "0"  # print each step to stderr as it happens

FOLDERS = ("", "sub", "sub/deeper")  # "" is the source root, never made unreadable
UNLISTABLE = ("sub", "sub/deeper")
MAX_FILES = 10
WORKERS = 2
REPEATABLE = {"parquet_write": 3, "before_commit": 2, "enrich": 2, "validate": 2, "after_commit": 2}
HOLDS_ARTICLES = {"landed", "duplicate", "unchanged"}  # statuses of a file whose bytes yield articles
MAX_DECOMPRESSED = 50_000_000


@cache
def texts_of(name: str, data: bytes) -> frozenset[str]:
    """The oracle: the article texts the real parser reads from these bytes under this name (none: a bad file)."""
    parsed = parse_file(name, data, max_decompressed_bytes=MAX_DECOMPRESSED)
    return frozenset(doc.text for doc in parsed.documents) if not parsed.rejections else frozenset()


@dataclass(frozen=True)
class Seen:
    """A file as a completed run listed it."""

    size: int
    mtime_ns: int
    texts: frozenset[str]  # empty: a bad file (quarantined)


def short(text: str) -> str:
    return text.split("\n", 1)[0][:48]


def under(path: str, folders: frozenset[str]) -> bool:
    return any(path.startswith(f"{folder}/") for folder in folders)


def topmost(folders: frozenset[str]) -> set[str]:
    """The folders a scan fails on: an unlistable folder inside another one is never reached."""
    return {f for f in folders if not under(f, folders - {f})}


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def warnings_logged() -> Iterator[list[str]]:
    """WARNING and above from Prefect's run loggers and the standard loggers, while the block runs."""
    handler = Records()
    loggers = [logging.getLogger(), logging.getLogger("prefect")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def text_only(kind: str, text: str) -> bytes:
    """A file of ``kind`` whose one article is exactly ``text`` (no headline: JSON would put it in the text)."""
    if kind in {"json", "jsonl"}:
        return (json.dumps({"body": text}) + ("\n" if kind == "jsonl" else "")).encode()
    return gzip.compress(text.encode(), mtime=0) if kind == "txt.gz" else text.encode()


def pick(items: list[Any], index: int) -> Any:
    return items[index % len(items)]


class FolderMachine(RuleBasedStateMachine):
    """One source folder and one warehouse per example; ``seen`` is what the warehouse must show."""

    ingest: Callable[..., Any]  # the fixtures, set on the per-test subclass
    run_child: Callable[..., Child]
    workspace: Path
    examples = 0

    def __init__(self) -> None:
        super().__init__()
        cls = type(self)
        cls.examples += 1
        shutil.rmtree(self.workspace / f"example-{cls.examples - 1}", ignore_errors=True)  # keep the latest only
        self.home = self.workspace / f"example-{cls.examples}"
        self.source = self.home / "source"
        self.warehouse = self.home / "warehouse"
        for folder in FOLDERS:
            (self.source / folder).mkdir(parents=True, exist_ok=True)
        self.clock = (int(time.time()) - 86_400) * 1_000_000_000  # every write gets a later mtime, 1 s apart
        self.count = 0
        self.seen: dict[str, Seen] = {}  # the model: each path as the last completed run that could list it saw it
        self.versions: dict[str, int] = {}  # file_version per path at the last check
        self.stable: set[str] = set()  # unchanged since the last check: their file_version must not move
        self.mutated: set[str] = set()  # changed since a completed run last listed them
        self.unreadable: frozenset[str] = frozenset()  # folders the coming runs cannot list
        self.hidden_last: frozenset[str] = frozenset()  # folders the last completed run could not list
        self.killed = False  # a run was killed since the last completed one
        self.kills = 0
        self.runs = 0  # completed runs
        self.steps: list[str] = []  # what happened, in words, for the failure message
        self.gone: dict[str, bytes] = {}  # deleted or renamed-away paths, with the bytes they last had
        # Never changed: the folder is never empty, so the "source looks empty: delete nothing" guard stays out.
        self.write("anchor.txt", good_bytes("txt", random.Random(0), "anchor"))

    # --- the folder -------------------------------------------------------------------------------------------

    def tick(self) -> int:
        self.clock += 1_000_000_000
        return self.clock

    def write(self, rel: str, data: bytes) -> None:
        path = self.source / rel
        path.write_bytes(data)
        os.utime(path, ns=(self.clock, self.tick()))
        self.mutated.add(rel)

    def files(self) -> list[str]:
        """The files rules may change (everything but the anchor), sorted."""
        found = (p.relative_to(self.source).as_posix() for p in self.source.rglob("*") if p.is_file())
        return sorted(rel for rel in found if rel != "anchor.txt")

    def good_files(self) -> list[str]:
        return [rel for rel in self.files() if texts_of(rel, (self.source / rel).read_bytes())]

    def new_name(self, folder: str, label: str, kind: str) -> str:
        self.count += 1
        name = f"{self.count:02d}-{label}.{kind}"
        return f"{folder}/{name}" if folder else name

    def note(self, step: str) -> None:
        self.steps.append(step)
        if TRACE:
            print(f"[{time.strftime('%H:%M:%S')}] sequence {type(self).examples}: {step}", file=sys.stderr, flush=True)

    def room(self) -> bool:
        return len(self.files()) < MAX_FILES

    def has_files(self) -> bool:
        return bool(self.files())

    @initialize(
        files=st.lists(
            st.tuples(st.sampled_from(FOLDERS), st.sampled_from(GOOD_KINDS), st.integers(0, 2**16)),
            min_size=1,
            max_size=3,
        )
    )
    def populate(self, files: list[tuple[str, str, int]]) -> None:
        """A few good files and a first completed run, so that every later change changes something landed."""
        for folder, kind, n in files:
            self.add_good(folder, kind, n)
        self.run_in_process(batch_size=1000, compact_threshold=0)

    @precondition(lambda self: "add" not in SKIP and self.room())
    @rule(folder=st.sampled_from(FOLDERS), kind=st.sampled_from(GOOD_KINDS), n=st.integers(0, 2**16))
    def add_good(self, folder: str, kind: str, n: int) -> None:
        rel = self.new_name(folder, "new", kind)
        data = good_bytes(kind, random.Random(n), rel)
        assert texts_of(rel, data), f"test bug: generated good bytes for {rel} yield no article"
        self.write(rel, data)
        self.note(f"add {rel}")

    @precondition(lambda self: "same_text" not in SKIP and self.room() and self.good_files())
    @rule(index=st.integers(0, MAX_FILES), folder=st.sampled_from(FOLDERS), kind=st.sampled_from(GOOD_KINDS))
    def add_same_text(self, index: int, folder: str, kind: str) -> None:
        """Another file (other name and format, other bytes) holding an article text some file holds."""
        original = pick(self.good_files(), index)
        text = min(texts_of(original, (self.source / original).read_bytes()))
        rel = self.new_name(folder, "same", kind)
        data = text_only(kind, text)
        assert text in texts_of(rel, data), f"test bug: {rel} does not hold the text of {original}"
        self.write(rel, data)
        self.note(f"add {rel} holding an article of {original}")

    @precondition(lambda self: "edit" not in SKIP and self.has_files())
    @rule(index=st.integers(0, MAX_FILES), n=st.integers(0, 2**16))
    def edit(self, index: int, n: int) -> None:
        """New good bytes (a new article), same name: also how a corrupted file gets fixed."""
        rel = pick(self.files(), index)
        self.count += 1
        data = good_bytes(kind_of(rel), random.Random(n), f"{rel}-edit{self.count}")
        self.write(rel, data)
        self.note(f"edit {rel}")

    @precondition(lambda self: "copy" not in SKIP and self.room() and self.has_files())
    @rule(index=st.integers(0, MAX_FILES), folder=st.sampled_from(FOLDERS))
    def copy(self, index: int, folder: str) -> None:
        rel = pick(self.files(), index)
        target = self.new_name(folder, "copy", kind_of(rel))
        self.write(target, (self.source / rel).read_bytes())
        self.note(f"copy {rel} → {target}")

    @precondition(lambda self: "rename" not in SKIP and self.has_files())
    @rule(index=st.integers(0, MAX_FILES), folder=st.sampled_from(FOLDERS))
    def rename(self, index: int, folder: str) -> None:
        rel = pick(self.files(), index)
        target = self.new_name(folder, "moved", kind_of(rel))
        self.gone[rel] = (self.source / rel).read_bytes()
        (self.source / rel).rename(self.source / target)  # keeps its mtime
        self.mutated |= {rel, target}
        self.note(f"rename {rel} → {target}")

    @precondition(lambda self: "delete" not in SKIP and self.has_files())
    @rule(index=st.integers(0, MAX_FILES))
    def delete(self, index: int) -> None:
        rel = pick(self.files(), index)
        self.gone[rel] = (self.source / rel).read_bytes()
        (self.source / rel).unlink()
        self.mutated.add(rel)
        self.note(f"delete {rel}")

    @precondition(lambda self: "recreate" not in SKIP and self.room() and self.gone)
    @rule(index=st.integers(0, MAX_FILES), same=st.booleans())
    def recreate(self, index: int, same: bool) -> None:
        """A path that was deleted (or renamed away) comes back, with the bytes it had or new ones."""
        rel = pick(sorted(self.gone), index)
        had = self.gone.pop(rel)
        self.count += 1
        data = had if same else good_bytes(kind_of(rel), random.Random(index), f"{rel}-back{self.count}")
        self.write(rel, data)
        self.note(f"recreate {rel} with {'the bytes it had' if same else 'new bytes'}")

    @precondition(lambda self: "touch" not in SKIP and self.has_files())
    @rule(index=st.integers(0, MAX_FILES))
    def touch(self, index: int) -> None:
        """Same bytes, mtime 1 s (or more) later: runs compare size and mtime_ns."""
        rel = pick(self.files(), index)
        os.utime(self.source / rel, ns=(self.clock, self.tick()))
        self.mutated.add(rel)
        self.note(f"touch {rel}")

    @precondition(lambda self: "corrupt" not in SKIP and self.has_files())
    @rule(index=st.integers(0, MAX_FILES), n=st.integers(0, 2**16))
    def corrupt(self, index: int, n: int) -> None:
        rel = pick(self.files(), index)
        data = bad_bytes(kind_of(rel), random.Random(n), f"{rel}-bad{n}")
        assert not texts_of(rel, data), f"test bug: corrupt bytes for {rel} still yield an article"
        self.write(rel, data)
        self.note(f"corrupt {rel}")

    @precondition(lambda self: "unreadable" not in SKIP and not self.killed and len(self.unreadable) < len(UNLISTABLE))
    @rule(index=st.integers(0, len(UNLISTABLE) - 1))
    def make_unreadable(self, index: int) -> None:
        """The coming runs fail to list a sub-folder (PermissionError) until one of them completes.

        Not after a killed run: what that run committed from the folder is unknown to the model.
        """
        folder = pick([f for f in UNLISTABLE if f not in self.unreadable], index)
        self.unreadable |= {folder}
        self.note(f"make {folder}/ unreadable for the next run")

    # --- runs -------------------------------------------------------------------------------------------------

    def fault_env(self) -> dict[str, str]:
        return {UNREADABLE_ENV: ",".join(sorted(self.unreadable))} if self.unreadable else {}

    @precondition(lambda self: "run" not in SKIP)
    @rule(batch_size=st.sampled_from((1000, 1, 3)), compact=st.booleans())
    def run(self, batch_size: int, compact: bool) -> None:
        self.run_in_process(batch_size=batch_size, compact_threshold=2 if compact else 0)

    def run_in_process(self, **options: Any) -> None:
        self.note(f"run {options}" + (f" with {sorted(self.unreadable)} unreadable" if self.unreadable else ""))
        quiet = not self.mutated and not self.killed  # nothing changed since the last completed run
        expected_deleted = None if self.killed else len(self.deletions())
        failing = topmost(self.unreadable)
        with environment(self.fault_env()), warnings_logged() as warnings:
            summary = self.ingest(source=str(self.source), warehouse=self.warehouse, workers=WORKERS, **options)
        context = self.context()
        assert summary.status == "completed", f"{summary.status}: {summary.message}\n{context}"
        self.completed()
        self.check()  # the warehouse first: what a user sees matters more than how the run reports it
        if quiet:
            got = (summary.counts.new_files, summary.counts.deleted)
            assert got == (0, 0), f"a no-op run saw (new, deleted) = {got}\n{context}"
        if expected_deleted is not None:
            assert summary.counts.deleted == expected_deleted, (
                f"deleted={summary.counts.deleted}, not {expected_deleted}\n{context}"
            )
        unlisted = summary.counts.unlisted  # folders it could not list
        if failing:
            assert unlisted == len(failing), f"summary.counts.unlisted={unlisted}, not {len(failing)}\n{context}"
        else:
            assert not unlisted, f"summary.counts.unlisted={unlisted} with every folder readable\n{context}"
        for folder in failing:
            assert any(folder in message for message in warnings), f"no warning names {folder}: {warnings}\n{context}"

    def reachable(self) -> list[tuple[str, int]]:
        """The fault points (with their most hits) the coming run should reach, from what the model has pending.

        After a killed run some of that may have landed already; a point not reached just completes the run.
        """
        listed = self.listed()
        changed = [rel for rel, now in listed.items() if (now.size, now.mtime_ns) != self.seen_state(rel)]
        batches = -(-len(changed) // 2)  # the child runs with batch_size=2
        deleted = bool(self.deletions())
        points: list[tuple[str, int]] = []
        for point in POINTS:
            if point in {"enrich", "validate", "after_commit"}:
                limit = min(batches, REPEATABLE[point])
            elif point == "deletions":
                limit = int(deleted)
            elif point == "keep_original":
                limit = int(any(not listed[rel].texts for rel in changed))
            elif point == "parquet_write":  # one table per run record, more for deletions and batches
                limit = 3 if batches or deleted else 2
            elif point == "compaction":  # compaction needs data files, which a first run may not leave
                limit = int(self.runs > 0)
            else:
                limit = REPEATABLE.get(point, 1)
            if limit:
                points.append((point, limit))
        return points

    def seen_state(self, rel: str) -> tuple[int, int] | None:
        seen = self.seen.get(rel)
        return (seen.size, seen.mtime_ns) if seen else None

    @precondition(lambda self: "kill" not in SKIP and self.kills < KILLS)
    @rule(index=st.integers(0, len(POINTS) - 1), nth=st.integers(1, 3))
    def run_killed(self, index: int, nth: int) -> None:
        """The real flow in a child process, SIGKILLed at a fault point it should reach (its ``nth`` hit)."""
        self.kills += 1
        point, limit = pick(self.reachable(), index)
        fault = f"{point}@{min(nth, limit)}"
        if point == "view_refresh":  # views are rewritten only when they changed
            stale_views(self.warehouse)
        compact = 2 if point == "compaction" else 0
        self.note(f"run killed at {fault}" + (f" with {sorted(self.unreadable)} unreadable" if self.unreadable else ""))
        child = self.run_child(
            self.source, self.warehouse, fault=fault, env=self.fault_env(), batch_size=2, compact_threshold=compact
        )
        if child.killed:
            event(f"killed at {point}")
            self.killed = True
            assert_consistent(self.warehouse)
            return
        event(f"not reached: {point}")
        assert child.returncode == 0, f"rc={child.returncode}: {child.stderr[-3000:]}\n{self.context()}"
        assert child.summary()["status"] == "completed", f"{child.summary()}\n{self.context()}"
        self.note("  (the fault point was not reached: the run completed)")
        self.completed()
        self.check()

    def teardown(self) -> None:
        """Finish every sequence with completed runs: what was left pending must land, and after an unlistable
        folder one run that lists everything. (Not when a step failed: that failure is the one to report.)"""
        if sys.exc_info()[1] is not None:
            return
        try:
            if self.mutated or self.killed or self.unreadable:
                self.run_in_process(batch_size=1000, compact_threshold=0)
            if self.hidden_last:
                self.run_in_process(batch_size=1000, compact_threshold=0)
        finally:
            self.steps.clear()

    # --- the model --------------------------------------------------------------------------------------------

    def listed(self) -> dict[str, Seen]:
        """What a run that cannot list ``self.unreadable`` finds: every file outside those folders, as it is now."""
        found: dict[str, Seen] = {}
        for path in self.source.rglob("*"):
            rel = path.relative_to(self.source).as_posix()
            if path.is_file() and not under(rel, self.unreadable):
                info = path.stat()
                found[rel] = Seen(info.st_size, info.st_mtime_ns, texts_of(rel, path.read_bytes()))
        return found

    def deletions(self) -> set[str]:
        """Paths the model has live that the coming run lists the folder of and does not find."""
        return {rel for rel in self.seen if not under(rel, self.unreadable)} - set(self.listed())

    def completed(self) -> None:
        """A run completed: the folders it could list are now what the model holds for them."""
        hidden = self.unreadable
        self.seen = {rel: seen for rel, seen in self.seen.items() if under(rel, hidden)} | self.listed()
        self.stable = {rel for rel in self.versions if rel not in self.mutated}
        self.mutated = {rel for rel in self.mutated if under(rel, hidden)}
        self.hidden_last = hidden
        self.unreadable = frozenset()
        self.killed = False
        self.runs += 1

    def context(self) -> str:
        return "steps:\n  " + "\n  ".join(self.steps)

    def check(self) -> None:
        """The warehouse after a completed run, against the model."""
        context = self.context()
        assert_consistent(self.warehouse)
        rows = query(self.warehouse, "SELECT source_path, file_version, size, mtime_ns, status FROM file_status")
        ledger = {path: (version, size, mtime_ns, status) for path, version, size, mtime_ns, status in rows}
        problems: list[str] = []
        for rel, seen in sorted(self.seen.items()):
            if rel not in ledger:
                problems.append(f"{rel}: not in file_status")
                continue
            version, size, mtime_ns, status = ledger[rel]
            if (size, mtime_ns) != (seen.size, seen.mtime_ns):
                problems.append(f"{rel}: file_status has size/mtime {(size, mtime_ns)}, expected {seen}")
            allowed = HOLDS_ARTICLES if seen.texts else {"quarantined", "unchanged"}
            if status not in allowed:
                problems.append(f"{rel}: status {status}, expected one of {sorted(allowed)}")
            if rel in self.stable and version != self.versions[rel]:
                problems.append(f"{rel}: file_version {self.versions[rel]} → {version} though it did not change")
        for rel, (_, _, _, status) in sorted(ledger.items()):
            if rel not in self.seen and status != "deleted":
                problems.append(f"{rel}: status {status}, expected deleted")
        self.versions = {rel: ledger[rel][0] for rel in self.seen if rel in ledger}

        rows = query(self.warehouse, "SELECT source_path, text FROM articles")
        texts = Counter(text for _, text in rows)
        problems += [  # the row names a file holding it now (views.sql: its lander, else the first present holder)
            f"article {short(text)!r} names {path}, which does not hold it"
            for path, text in rows
            if path not in self.seen or text not in self.seen[path].texts
        ]
        live = {text: rel for rel, seen in sorted(self.seen.items()) for text in seen.texts}
        problems += [f"article twice in articles: {short(t)!r} ×{n}" for t, n in texts.items() if n > 1]
        problems += [f"article missing from articles: {short(t)!r} (held by {live[t]})" for t in live if t not in texts]
        problems += [f"article in articles that no present file holds: {short(t)!r}" for t in texts if t not in live]
        twice = query(self.warehouse, "SELECT article_id, count(*) FROM articles GROUP BY 1 HAVING count(*) > 1")
        problems += [f"article_id {article_id[:12]} ×{n} in articles" for article_id, n in twice]
        assert not problems, "\n".join(["the warehouse differs from the model:", *problems, context])

        with console(Warehouse(self.warehouse)) as connection:  # what `wirehouse sql` shows a user
            user = Counter(text for (text,) in connection.execute("SELECT text FROM articles").fetchall())
        assert user == texts, f"the console's articles differ from the lake's\n{context}"
        assert query(self.warehouse, "SELECT count(*) FROM runs WHERE status = 'running'") == [(0,)], context
        assert data_files_on_disk(self.warehouse) == data_files_in_catalog(self.warehouse), context
        assert list(Warehouse(self.warehouse).kept.glob("**/.tmp-*")) == [], context


def bind(
    machine: type[FolderMachine], workspace: Path, ingest: Callable[..., Any], run_child: Callable[..., Child]
) -> type[FolderMachine]:
    """The machine with this test's fixtures (hypothesis builds a fresh one per sequence)."""
    attributes = {"ingest": staticmethod(ingest), "run_child": staticmethod(run_child), "workspace": workspace}
    return type(machine.__name__, (machine,), {**attributes, "examples": 0})


@pytest.mark.parametrize(
    "examples", [pytest.param(EXAMPLES, id="quick"), pytest.param(6 * EXAMPLES, id="deep", marks=pytest.mark.deep)]
)
def test_random_folder_changes_runs_and_kills_keep_the_warehouse_equal_to_the_model(
    examples: int, tmp_path: Path, ingest: Callable[..., Any], run_child: Callable[..., Child]
) -> None:
    """See the module docstring; a failure prints the shortest sequence found, and the steps in words."""
    machine = bind(FolderMachine, tmp_path, ingest, run_child)
    if SEED is not None:
        machine = seed(int(SEED))(machine)
    phases = tuple(p for p in Phase if p is not Phase.explain and (SHRINK or p is not Phase.shrink))
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=SEED is None,
            database=None,
            phases=phases,
            print_blob=True,
            suppress_health_check=list(HealthCheck),
        ),
    )


@pytest.mark.slow
def test_an_article_stays_while_any_present_file_holds_it(
    tmp_path: Path, ingest: Callable[..., Any], run_child: Callable[..., Child]
) -> None:
    """The machine's model, driven by hand through the case that matters most: copy a → b, edit a, delete a,
    delete b; and an unlistable sub-folder whose files keep their state and are not read again after."""
    machine = bind(FolderMachine, tmp_path, ingest, run_child)()
    machine.add_good("", "txt", 1)  # 01-new.txt
    machine.add_good("sub", "json", 2)  # sub/02-new.json
    machine.run(batch_size=1000, compact=False)
    machine.copy(0, "sub")  # 01-new.txt → sub/03-copy.txt
    machine.run(batch_size=1000, compact=False)
    machine.edit(0, 3)  # 01-new.txt: a new article; its first one is still in sub/03-copy.txt
    machine.run(batch_size=1000, compact=False)
    assert machine.files() == ["01-new.txt", "sub/02-new.json", "sub/03-copy.txt"]
    machine.delete(0)  # 01-new.txt
    machine.make_unreadable(0)  # sub/
    machine.run(batch_size=1000, compact=False)  # nothing under sub/ is deleted or re-read
    machine.run(batch_size=1000, compact=False)  # sub/ readable again: nothing is new
    machine.delete(1)  # sub/03-copy.txt: now no present file holds the first article
    machine.run(batch_size=1000, compact=False)
    machine.teardown()
