"""Where enrichment runs: a pool of isolated worker processes, or a Dask cluster through prefect-dask."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar, cast

from prefect.utilities.annotations import quote

from tasks.enrich.pool import IsolatingPool
from tasks.enrich.steps import enrichment_pool, failed_output
from tasks.models import Reason
from tasks.prefect_tasks import enrich_chunk
from tasks.settings import Settings
from tasks.store.batches import MapFn

T = TypeVar("T")
Started = TypeVar("Started")
Finished = TypeVar("Finished")
# Files per enrichment chunk, the unit a worker enriches component by component (tasks.enrich.steps.enrich_jobs):
# large enough to keep each component's tables in cache across articles, small enough to balance the workers.
CHUNK_FILES = 64


# The pool a caller keeps warm across the runs it makes in this process (``kept_warm``); None: each run starts its own.
_WARM_POOL: ContextVar[IsolatingPool | None] = ContextVar("wirehouse_warm_pool", default=None)


@contextmanager
def kept_warm(pool: IsolatingPool) -> Iterator[IsolatingPool]:
    """Runs started inside this block enrich on ``pool`` where it serves them (``IsolatingPool.serves``), so a
    process that runs the flow again and again (``wirehouse watch``, a test session) starts its workers once."""
    token = _WARM_POOL.set(pool)
    try:
        yield pool
    finally:
        _WARM_POOL.reset(token)


class WarmPoolOnDemand:
    """One pool for the runs a long-lived process makes (``wirehouse watch``): started by the first run, replaced
    when it no longer serves one (``IsolatingPool.serves``), stopped when the block ends however it ends. A
    process that is stopped before its first run (Ctrl-C while idle) has no workers to wait for."""

    def __init__(self, workers: int, file_timeout: float) -> None:
        self.workers = workers
        self.file_timeout = file_timeout
        self._pool: IsolatingPool | None = None

    def __enter__(self) -> WarmPoolOnDemand:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    @contextmanager
    def kept_warm(self) -> Iterator[IsolatingPool]:
        """The runs started inside this block enrich on the pool (see ``kept_warm``)."""
        if self._pool is not None and not self._pool.serves(self.workers, self.file_timeout):
            self._pool.close()
            self._pool = None
        if self._pool is None:
            self._pool = enrichment_pool(self.workers, self.file_timeout)
        with kept_warm(self._pool) as pool:
            yield pool


@contextmanager
def enrichment_map(workers: int, runner: str = "local", *, file_timeout: float = 30.0) -> Iterator[MapFn]:
    """Where enrichment runs: worker processes (langdetect loads once per worker), each file under a time budget
    and isolated from the others (``tasks.enrich.pool``), or the flow's Dask task runner. The workers are the
    caller's warm pool when it serves this run (``kept_warm``), else started for the run and stopped after it.

    Either way the work starts when ``map_fn`` is called and its results are consumed later, so the
    flow can hand batch n+1 to the workers before it validates and lands batch n.
    """
    if runner == "dask":

        def submitted(fn: Callable[[Any], Any], items: list[Any]) -> Iterable[Any]:
            size = max(10, -(-len(items) // (workers * 4)))  # a few chunks per worker: balance vs per-task cost
            chunks = chunked(items, size)
            return _dask_outputs(fn, chunks, [enrich_chunk.submit(fn, chunk) for chunk in chunks])

        yield submitted
        return
    warm = _WARM_POOL.get()
    if warm is not None and warm.serves(workers, file_timeout):
        try:
            yield _pooled(warm, workers)
        finally:
            warm.cancel_unfinished()
        return
    with enrichment_pool(workers, file_timeout) as pool:
        yield _pooled(pool, workers)


def _pooled(pool: IsolatingPool, workers: int) -> MapFn:
    def pooled(fn: Callable[[Any], Any], items: list[Any]) -> Iterable[Any]:
        size = max(1, min(CHUNK_FILES, len(items) // (workers * 8)))
        return pool.map_chunks(fn, chunked(items, size), failed_output)

    return pooled


def _dask_outputs(fn: Callable[[Any], Any], chunks: list[list[Any]], futures: list[Any]) -> Iterator[Any]:
    """A Dask chunk that fails (its worker died: KilledWorker, or the task raised) is retried file by file;
    a file that fails alone is quarantined. (The per-file time budget is the local pool's.)"""
    for chunk, future in zip(chunks, futures, strict=True):
        try:
            yield from future.result()
            continue
        except Exception:
            pass
        for job, single in [(job, enrich_chunk.submit(fn, [job])) for job in chunk]:
            try:
                yield from single.result()
            except Exception as error:
                crashed = type(error).__name__ == "KilledWorker"
                reason = Reason.WORKER_CRASHED if crashed else Reason.ENRICH_ERROR
                yield failed_output(job, reason, f"Dask task failed: {type(error).__name__}: {error}"[:2000])


def pipelined(
    items: Iterable[T],
    start: Callable[[T, Started | None], Started],
    finish: Callable[[Started], Finished],
) -> Iterator[Finished]:
    """``finish(start(item))`` for each item in order, with item n+1 started before item n is finished.

    ``start`` is told which item is still in flight (None for the first): the workers enrich batch n+1 while
    the single writer validates and lands batch n, so they never wait for Great Expectations or Parquet.
    """
    in_flight: Started | None = None
    for item in items:
        started = start(item, in_flight)
        if in_flight is not None:
            yield finish(in_flight)
        in_flight = started
    if in_flight is not None:
        yield finish(in_flight)


def chunked(items: list[T], size: int) -> list[list[T]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def opaque(value: T) -> T:
    """A task argument Prefect passes through without walking it: it would visit every row of a batch
    looking for futures (measured: a third of the main process's time at 1,000-file batches)."""
    return cast(T, quote(value))


def dask_task_runner(settings: Settings) -> Any:
    """prefect-dask's runner: the cluster at ``dask_address``, or a LocalCluster of ``workers`` processes."""
    from prefect_dask.task_runners import DaskTaskRunner

    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={
            "n_workers": settings.workers,
            "threads_per_worker": 1,  # langdetect is pure Python: processes, not threads
            "processes": True,
            "dashboard_address": None,
        },
    )
