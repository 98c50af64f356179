"""Enrichment processes that no single file can break: a per-file time budget, and workers that die are replaced.

Work goes to the workers in chunks of files (``tasks.enrich.steps.enrich_jobs``: one component over a whole chunk is
what keeps enrichment fast). A chunk that raises, outlives the budget of one file, or takes its worker down
(killed, segfault, out of memory) is retried file by file in fresh workers, each file with the same budget; the
file that still fails gets a failure output (``timeout``, ``worker_crashed``, ``enrich_error``) and the rest
land. pebble does the process management: a timed-out task's worker is terminated and replaced.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from pebble import ProcessExpired, ProcessFuture, ProcessPool

from tasks.models import Reason

J = TypeVar("J")
R = TypeVar("R")
ChunkFn = Callable[[list[J]], list[R]]
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


@dataclass
class IsolatingPool(Generic[J, R]):
    """``workers`` spawned processes (fork is unsafe under Prefect's threads), each warmed by ``initializer``."""

    workers: int
    file_timeout: float
    initializer: Callable[[], None] | None = None
    _pool: ProcessPool = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._pool = ProcessPool(
            max_workers=self.workers, initializer=self.initializer, context=multiprocessing.get_context("spawn")
        )

    def __enter__(self) -> IsolatingPool[J, R]:
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
        futures = [self._pool.schedule(fn, args=(chunk,), timeout=self.file_timeout) for chunk in chunks]
        return self._collect(fn, chunks, futures, on_failure)

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
                alone = [self._pool.schedule(fn, args=([job],), timeout=self.file_timeout) for job in chunk]
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
