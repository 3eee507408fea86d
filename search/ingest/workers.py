"""Enrichment off the main process: a pool of workers, each with one :class:`Enricher`.

First indexing of English text is bound by NER (MEASURED.md), so the main process
reads, cleans, checks the cache and writes Whoosh while the workers run the model.
Batches go out with ``apply_async`` and come back in order through a bounded queue
(:class:`Batches`): memory stays bounded however large the input, and reading and
writing overlap NER. A run with few uncached articles never starts the pool: spawning
workers and loading the model in each costs seconds, enriching 40 articles in-process
costs about two.
"""

from __future__ import annotations

import collections
import multiprocessing
import os
import sys
from dataclasses import dataclass

from search.models import Article
from search.models import Entities

# Below this many uncached articles in a run, enrichment stays in-process.
POOL_THRESHOLD = 40
# In-flight batches per worker: enough to keep every worker busy while the main
# process writes, few enough that memory stays small.
INFLIGHT_PER_WORKER = 4

_worker_enricher = None
_worker_error: BaseException | None = None


def _init_worker(model: str | None, ner: bool) -> None:
    global _worker_enricher, _worker_error
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
    when ``None``); one per process, so the model is loaded once however many runs."""
    from search.ingest.enrich.pipeline import Enricher

    if (model, ner) not in _enrichers:
        _enrichers[(model, ner)] = Enricher(**({"model": model} if model else {}), ner=ner)
    return _enrichers[(model, ner)]


@dataclass
class _Batch:
    """One queued batch: what the caller gave, the articles to enrich, and their results."""

    payload: object
    articles: list[Article]
    pending: object = None          # the pool's AsyncResult while a worker enriches it
    results: list | None = None     # one (lang, entities) or exception per article, in order

    def started(self) -> bool:
        return self.results is not None or self.pending is not None


class Batches:
    """Ordered enrichment of batches, in a pool when there is enough work for one.

    ``submit(payload, articles)`` queues a batch (``articles`` may be empty when every
    article of it was cached); ``ready()`` yields ``(payload, results)`` of finished
    batches in submission order, waiting only while too many are in flight;
    ``drain()`` yields the rest.

    :param processes: worker processes once the pool starts (``<= 1``: never a pool)
    :param model: spaCy model name, or ``None`` for the enricher's default
    :param local: the in-process enricher (also used for small runs)
    """

    def __init__(self, processes: int, model: str | None, local, ner: bool = True):
        self.processes = processes
        self.model = model
        self.ner = ner
        self.local = local
        self.pool = None
        self.uncached = 0
        self.queue: collections.deque[_Batch] = collections.deque()

    @property
    def limit(self) -> int:
        return max(2, self.processes * INFLIGHT_PER_WORKER)

    def _start_pool(self) -> None:
        if not can_spawn():
            self.processes = 1
            return
        # forkserver: workers never inherit the parent's open Whoosh writer or SQLite
        # handles, and start faster than with spawn.
        ctx = multiprocessing.get_context("forkserver")
        self.pool = ctx.Pool(self.processes, initializer=_init_worker,
                             initargs=(self.model, self.ner))
        for batch in self.queue:
            if not batch.started() and batch.articles:
                batch.pending = self.pool.apply_async(_enrich_in_worker, (batch.articles,))

    def submit(self, payload, articles: list[Article]) -> None:
        batch = _Batch(payload, articles, results=None if articles else [])
        self.uncached += len(articles)
        self.queue.append(batch)
        if self.pool is None and self.processes > 1 and self.uncached >= POOL_THRESHOLD:
            self._start_pool()
        elif self.pool is not None and articles:
            batch.pending = self.pool.apply_async(_enrich_in_worker, (articles,))

    def _finish(self, batch: _Batch) -> None:
        if batch.results is not None:
            return
        try:
            if batch.pending is not None:
                batch.results = batch.pending.get()
            else:
                batch.results = self.local.enrich(batch.articles)
        except Exception:  # noqa: BLE001 - one bad article must not cost its batch
            batch.results = self._one_by_one(batch.articles)

    def _one_by_one(self, articles: list[Article]) -> list:
        """Results of a batch that failed, article by article in this process: the
        exception of each article that fails again takes its place (the indexer skips
        and reports it). A model that cannot load fails every article, and is raised."""
        from search.errors import ConfigError

        out: list = []
        for article in articles:
            try:
                out.extend(self.local.enrich([article]))
            except ConfigError:
                raise
            except Exception as e:  # noqa: BLE001
                out.append(e)
        return out

    def ready(self):
        """Finished batches at the head of the queue, in order (blocks only when full)."""
        while self.queue:
            head = self.queue[0]
            done = head.results is not None or (head.pending is not None
                                                and head.pending.ready())
            # A deferred batch (no pool yet) waits for more work unless the queue is full.
            if not done and len(self.queue) <= self.limit and (head.pending is not None
                                                              or self.pool is None):
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
        """Stop the workers (also after an error: no stray processes are left)."""
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None
