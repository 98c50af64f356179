"""Enrichment processes that no single file can break: a per-file time budget, and workers that die are replaced.

Work goes to the workers in chunks of files (``tasks.enrich.steps.enrich_jobs``: one component over a whole chunk is
what keeps enrichment fast). A chunk that raises, outlives the budget of one file, or takes its worker down
(killed, segfault, out of memory) is retried file by file in fresh workers, each file with the same budget; the
file that still fails gets a failure output (``timeout``, ``worker_crashed``, ``enrich_error``) and the rest
land. pebble does the process management: a timed-out task's worker is terminated and replaced.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import TypeVar

from pebble import ProcessExpired, ProcessFuture, ProcessPool

from tasks.models import Reason

J = TypeVar("J")
R = TypeVar("R")
ChunkFn = Callable[[list[J]], list[R]]
# Chunks (of up to 64 files) a worker enriches before it is replaced by a fresh one: a pool kept warm by `serve` or
# `watch` never lets what a long-lived worker accumulates (caches, fragmentation) grow without bound.
RECYCLE_AFTER_CHUNKS = 200
FailFn = Callable[[J, Reason, str], R]


@dataclass(frozen=True, slots=True)
class Failure:
    reason: Reason
    detail: str


def _failure_of(error: BaseException, budget: float) -> Failure:
    if isinstance(error, FutureTimeout):
        return Failure(Reason.TIMEOUT, f"enrichment took longer than file_timeout_seconds={budget:g}; worker replaced")
    if isinstance(error, ProcessExpired):
        how = f"exit code {error.exitcode}" if error.exitcode is not None else "no exit code"
        return Failure(Reason.WORKER_CRASHED, f"the enrichment process died on this file ({how}); worker replaced")
    return Failure(Reason.ENRICH_ERROR, f"enrichment raised {type(error).__name__}: {error}"[:2000])


def _start_worker(environment: dict[str, str], initializer: Callable[[], None] | None) -> None:
    """Every worker, a replacement spawned later included, runs in the environment its pool was created in."""
    os.environ.clear()
    os.environ.update(environment)
    if initializer is not None:
        initializer()


def _ours(environment: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in environment.items() if name.startswith("WIREHOUSE_")}


@dataclass
class IsolatingPool:
    """``workers`` spawned processes (fork is unsafe under Prefect's threads), each warmed by ``initializer``."""

    workers: int
    file_timeout: float
    initializer: Callable[[], None] | None = None
    recycle_after: int = RECYCLE_AFTER_CHUNKS  # chunks per worker process
    _pool: ProcessPool = field(init=False, repr=False)
    _environment: dict[str, str] = field(init=False, repr=False)  # what every spawned worker inherits
    _scheduled: list[ProcessFuture[object]] = field(init=False, repr=False, default_factory=list)

    def __post_init__(self) -> None:
        self._environment = dict(os.environ)
        self._pool = ProcessPool(
            max_workers=self.workers,
            max_tasks=self.recycle_after,
            initializer=_start_worker,
            initargs=(self._environment, self.initializer),
            context=multiprocessing.get_context("spawn"),
        )

    def serves(self, workers: int, file_timeout: float) -> bool:
        """Whether a run asking for ``workers`` and ``file_timeout`` gets what a pool of its own would give: as
        many workers, the same per-file budget, and workers that see the ``WIREHOUSE_*`` variables it sees now
        (what the enrichment reads from the environment: the fault switches of the tests)."""
        return (
            self._pool.active
            and self.workers >= workers
            and self.file_timeout == file_timeout
            and _ours(self._environment) == _ours(os.environ)
        )

    def cancel_unfinished(self) -> None:
        """Cancel what was scheduled and is not done (a run that stopped early): its worker is replaced, so the
        next run finds every worker free."""
        for future in self._scheduled:
            future.cancel()  # type: ignore[no-untyped-call]
        self._scheduled.clear()

    def __enter__(self) -> IsolatingPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._pool.stop()  # type: ignore[no-untyped-call]
        self._pool.join()

    def map_chunks(self, fn: ChunkFn[J, R], chunks: list[list[J]], on_failure: FailFn[J, R]) -> Iterator[R]:
        """Start every chunk now; yield one output per job, in order, as the chunks finish.

        A chunk's time limit is one file's budget: chunks are small, so one that needs more holds a slow file,
        and retrying its files one by one finds it (a chunk of honest large files costs one retry, no loss).
        """
        futures = [self._schedule(fn, chunk) for chunk in chunks]
        return self._collect(fn, chunks, futures, on_failure)

    def _schedule(self, fn: ChunkFn[J, R], chunk: list[J]) -> ProcessFuture[list[R]]:
        future: ProcessFuture[list[R]] = self._pool.schedule(fn, args=(chunk,), timeout=self.file_timeout)
        self._scheduled[:] = [f for f in self._scheduled if not f.done()]
        self._scheduled.append(future)  # type: ignore[arg-type]
        return future

    def _collect(
        self, fn: ChunkFn[J, R], chunks: list[list[J]], futures: list[ProcessFuture[list[R]]], on_failure: FailFn[J, R]
    ) -> Iterator[R]:
        for chunk, future in zip(chunks, futures, strict=True):
            try:
                outputs = future.result()
            except Exception:  # raised, timed out or died: find the file that did it
                if len(chunk) == 1:
                    yield self._settle(fn, chunk[0], future, on_failure)
                    continue
                alone = [self._schedule(fn, [job]) for job in chunk]
                for job, single in zip(chunk, alone, strict=True):
                    yield self._settle(fn, job, single, on_failure)
                continue
            yield from outputs

    def _settle(self, fn: ChunkFn[J, R], job: J, future: ProcessFuture[list[R]], on_failure: FailFn[J, R]) -> R:
        try:
            [output] = future.result()
            return output
        except Exception as error:
            failure = _failure_of(error, self.file_timeout)
            return on_failure(job, failure.reason, failure.detail)
