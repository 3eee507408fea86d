"""Enrichment off the main process: a pool of workers, each with one :class:`Enricher`.

First indexing of English text is bound by NER (MEASURED.md), so the main process
reads, cleans, checks the cache and writes Whoosh while the workers run the model.
Batches go out with ``apply_async`` and come back in order through a bounded queue
(:class:`Batches`): memory stays bounded however large the input, and reading and
writing overlap NER. A run with few uncached articles never starts the pool: spawning
workers and loading the model in each costs seconds, enriching 40 articles in-process
costs about two. The same queue, :class:`OrderedBatches`, also fronts the Dask
backend (:mod:`search.ingest.cluster`, ``index --cluster``).
"""

from __future__ import annotations

import collections
import multiprocessing
import os
import sys
import threading
from dataclasses import dataclass

from search import config
from search.models import Article
from search.models import Entities

# Below this many uncached articles in a run, enrichment stays in-process.
POOL_THRESHOLD = 40
# In-flight batches per worker: enough to keep every worker busy while the main
# process writes, few enough that memory stays small.
INFLIGHT_PER_WORKER = 4
# How often a wait for a batch looks whether a worker died (a multiprocessing pool
# replaces a dead worker, but the batch it held never comes back).
WAIT_POLL_SECONDS = 1.0
# Pool restarts one batch may cause before its articles are enriched one per task,
# so that an article that kills its worker is found and skipped, not retried forever.
MAX_RESTARTS = 2
# Longest a pool is waited for when it is stopped (see _stop_pool).
CLOSE_SECONDS = 10.0

# Workers run at this CPU niceness: NER is the stage behind, so the text stage (the
# main process and its Whoosh writers) and a server on the same machine come first,
# and the workers take every cycle they leave (Linux: 10 gets ~10 % of a core that a
# normal process wants, all of an idle one).
WORKER_NICE = 10

_worker_enricher = None
_worker_error: BaseException | None = None


def lower_priority() -> None:
    """Run this process at :data:`WORKER_NICE` (not lower, whatever its parent's was:
    a Dask worker's child starts at its worker's)."""
    try:
        os.nice(max(0, WORKER_NICE - os.nice(0)))
    except OSError:  # not allowed here: run at normal priority
        pass


def _init_worker(model: str | None, ner: bool) -> None:
    global _worker_enricher, _worker_error
    lower_priority()
    # An initializer that raises makes the pool respawn workers forever: keep the
    # error and raise it from the first task instead, where the parent sees it.
    try:
        _worker_enricher = make_enricher(model, ner)
    except Exception as e:  # noqa: BLE001
        _worker_error = e


def _enrich_in_worker(articles: list[Article]) -> list[tuple[str, Entities]]:
    if _worker_error is not None:
        raise _worker_error
    return _worker_enricher.enrich(articles)


def _stop_pool(pool) -> None:
    """Terminate a pool and wait for it, at most CLOSE_SECONDS: after a worker was killed,
    ``Pool.terminate``/``join`` can wait forever on the pool's own handler threads (seen
    in the suite, once in a few runs), so its worker processes are then killed outright
    and the threads left behind (they are daemons)."""
    procs = list(pool._pool)

    def stop():
        pool.terminate()
        pool.join()

    waiter = threading.Thread(target=stop, name="newsfacet-pool-stop", daemon=True)
    waiter.start()
    waiter.join(CLOSE_SECONDS)
    if waiter.is_alive():
        for p in procs + list(pool._pool):
            if p.exitcode is None:
                p.kill()


def can_spawn() -> bool:
    """Whether worker processes can start here.

    A spawned worker imports the parent's ``__main__`` from its file; when that file
    does not exist (a script piped to ``python -``) every worker dies at start and a
    ``multiprocessing.Pool`` replaces it forever, so the run would hang.
    """
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    return main_file is None or os.path.exists(main_file)


_enrichers: dict = {}


def make_enricher(model: str | None, ner: bool = True):
    """The process's :class:`~search.ingest.enrich.pipeline.Enricher` for ``model`` (its default
    when ``None``); one per process, so each language's model is loaded once however many
    runs, and only once an article in that language comes (a worker that sees only English
    never loads French)."""
    from search.ingest.enrich.pipeline import Enricher

    if (model, ner) not in _enrichers:
        _enrichers[(model, ner)] = Enricher(**({"model": model} if model else {}), ner=ner)
    return _enrichers[(model, ner)]


@dataclass
class Batch:
    """One queued batch: what the caller gave, the articles to enrich, and their results."""

    payload: object
    articles: list[Article]
    pending: object = None          # the pool's AsyncResult while a worker enriches it
    results: list | None = None     # one (lang, entities) or exception per article, in order
    restarts: int = 0               # pools that died while this batch was in them

    def started(self) -> bool:
        return self.results is not None or self.pending is not None


class WorkerDied(Exception):
    """The worker process enriching an article died (the indexer skips and reports it)."""


def one_by_one(enrich, articles: list[Article]) -> list:
    """Results of a batch that failed, article by article: the exception of each article
    that fails again takes its place (the indexer skips and reports it).

    Both backends use it: the local pool with the in-process enricher, the Dask cluster
    with one task per article. A model that cannot load fails every article, and a lost
    cluster every batch: those are raised.

    :param enrich: ``list[Article] -> list[(lang, entities)]``, called with one article
    """
    from search.errors import ClusterError
    from search.errors import ConfigError

    out: list = []
    for article in articles:
        try:
            out.extend(enrich([article]))
        except (ConfigError, ClusterError):
            raise
        except Exception as e:  # noqa: BLE001
            out.append(e)
    return out


class OrderedBatches:
    """The queue every enrichment backend shares: batches come back in submission order.

    ``submit(payload, articles)`` queues a batch (``articles`` may be empty when every
    article of it was cached); ``ready()`` yields ``(payload, results)`` of finished
    batches in submission order, waiting only while too many are in flight;
    ``drain()`` yields the rest; ``close()`` stops whatever was started. Whatever order
    the batches finish in, the caller sees them in the order it gave them, so what it
    writes does not depend on which worker was quicker.

    A backend says when a batch is done (:meth:`_done`), whether an unfinished head may
    wait (:meth:`_may_wait`) and how to get a batch's results (:meth:`_finish`).
    """

    def __init__(self):
        self.uncached = 0
        self.queue: collections.deque[Batch] = collections.deque()

    @property
    def limit(self) -> int:
        """Batches queued before :meth:`ready` waits for the oldest."""
        raise NotImplementedError

    def where(self) -> str:
        """Where the run's enrichment ran, in words for the run's summary."""
        raise NotImplementedError

    def _done(self, batch: Batch) -> bool:
        raise NotImplementedError

    def _may_wait(self, batch: Batch) -> bool:
        """Whether the unfinished head may stay queued while the queue is not full."""
        return True

    def _finish(self, batch: Batch) -> None:
        raise NotImplementedError

    def submit(self, payload, articles: list[Article]) -> None:
        raise NotImplementedError

    def ready(self):
        """Finished batches at the head of the queue, in order (blocks only when full)."""
        while self.queue:
            head = self.queue[0]
            if (not self._done(head) and len(self.queue) <= self.limit
                    and self._may_wait(head)):
                return
            self._finish(head)
            self.queue.popleft()
            yield head.payload, head.results

    def drain(self):
        """Every remaining batch, in order."""
        while self.queue:
            head = self.queue.popleft()
            self._finish(head)
            yield head.payload, head.results

    def close(self) -> None:
        """Stop what the backend started (also after an error: no stray processes)."""


class Batches(OrderedBatches):
    """Ordered enrichment of batches, in a local pool when there is enough work for one.

    :param processes: worker processes once the pool starts (``<= 1``: never a pool)
    :param model: spaCy model name, or ``None`` for the enricher's default
    :param local: the in-process enricher (also used for small runs)
    """

    def __init__(self, processes: int, model: str | None, local, ner: bool = True):
        super().__init__()
        self.processes = processes
        self.model = model
        self.ner = ner
        self.local = local
        self.pool = None
        self.restarts = 0  # pools started again after a worker died

    @property
    def limit(self) -> int:
        return max(2, self.processes * INFLIGHT_PER_WORKER)

    def where(self) -> str:
        if self.pool is None:
            return "in this process"
        return f"in {self.processes} local worker processes"

    def _start_pool(self) -> None:
        if not can_spawn():
            self.processes = 1
            return
        # forkserver: workers never inherit the parent's open Whoosh writer or SQLite
        # handles, and start faster than with spawn.
        ctx = multiprocessing.get_context("forkserver")
        # One OpenBLAS thread per worker: spaCy's matrices are small and the workers
        # already take every core, so OpenBLAS's own threads (one per core in each
        # worker) only spin waiting on each other. The same batches took a pool of 2
        # 31-35 s instead of 38-42 (fakenewsnet, 768 articles). OpenBLAS reads it when
        # it loads, in the fork server (started with this environment, here, at the first
        # pool), so the workers it forks have it; setting it later at run time
        # (threadpoolctl) did not give the gain. Dask's nanny sets the same.
        config.single_threaded_blas_for_children()
        self.pool = ctx.Pool(self.processes, initializer=_init_worker,
                             initargs=(self.model, self.ner))
        self._workers = self._worker_pids()
        for batch in self.queue:
            if not batch.started() and batch.articles:
                batch.pending = self.pool.apply_async(_enrich_in_worker, (batch.articles,))

    def _worker_pids(self) -> set[int]:
        # The pool's processes (a private list: multiprocessing says nothing of a worker
        # that dies, it only starts another, and the task it held is never answered).
        return {p.pid for p in self.pool._pool}

    def _lost_worker(self) -> bool:
        return (any(p.exitcode is not None for p in self.pool._pool)
                or self._worker_pids() != self._workers)

    def _restart(self, waiting: Batch, again: bool = True) -> None:
        """A new pool, and every unfinished batch sent to it again (in queue order).

        :param waiting: the batch being waited for (no longer in the queue when drained)
        :param again: whether to send ``waiting`` again too
        """
        pool, self.pool = self.pool, None
        _stop_pool(pool)
        self.restarts += 1
        for batch in {id(b): b for b in [waiting, *self.queue]}.values():
            if batch.results is None and batch.pending is not None:
                batch.pending = None
                batch.restarts += 1
        self._start_pool()
        if again and self.pool is not None and waiting.pending is None and waiting.articles:
            waiting.pending = self.pool.apply_async(_enrich_in_worker, (waiting.articles,))

    def _wait(self, batch: Batch) -> list:
        """The batch's results, noticing a worker that died on the way."""
        while True:
            try:
                return batch.pending.get(timeout=WAIT_POLL_SECONDS)
            except multiprocessing.TimeoutError:
                if not self._lost_worker():
                    continue
                last = batch.restarts + 1 > MAX_RESTARTS
                self._restart(batch, again=not last)
                if last:
                    return one_by_one(self._enrich_alone, batch.articles)
                if batch.pending is None:  # no pool could start: in this process
                    return self.local.enrich(batch.articles)

    def _enrich_alone(self, articles: list[Article]) -> list:
        """One article in a worker of its own task; a worker that dies with it is that
        article's error (reported and skipped), and the pool starts again."""
        pending = self.pool.apply_async(_enrich_in_worker, (articles,))
        while True:
            try:
                return pending.get(timeout=WAIT_POLL_SECONDS)
            except multiprocessing.TimeoutError:
                if self._lost_worker():
                    self._restart(Batch(None, articles, pending=pending), again=False)
                    raise WorkerDied("the worker process enriching this article died "
                                     "(out of memory?)") from None

    def submit(self, payload, articles: list[Article]) -> None:
        batch = Batch(payload, articles, results=None if articles else [])
        self.uncached += len(articles)
        self.queue.append(batch)
        if self.pool is None and self.processes > 1 and self.uncached >= POOL_THRESHOLD:
            self._start_pool()
        elif self.pool is not None and articles:
            batch.pending = self.pool.apply_async(_enrich_in_worker, (articles,))

    def _done(self, batch: Batch) -> bool:
        return batch.results is not None or (batch.pending is not None
                                             and batch.pending.ready())

    def _may_wait(self, batch: Batch) -> bool:
        # A deferred batch (no pool yet) waits for more work unless the queue is full.
        return batch.pending is not None or self.pool is None

    def _finish(self, batch: Batch) -> None:
        if batch.results is not None:
            return
        try:
            if batch.pending is not None:
                batch.results = self._wait(batch)
            else:
                batch.results = self.local.enrich(batch.articles)
        except Exception:  # noqa: BLE001 - one bad article must not cost its batch
            batch.results = one_by_one(self.local.enrich, batch.articles)

    def close(self) -> None:
        """Stop the workers (also after an error: no stray processes are left)."""
        if self.pool is not None:
            pool, self.pool = self.pool, None
            _stop_pool(pool)
