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
        # Each entry: [payload, articles, async result or None, results or None]
        self.queue: collections.deque = collections.deque()

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
        for entry in self.queue:
            if entry[3] is None and entry[2] is None and entry[1]:
                entry[2] = self.pool.apply_async(_enrich_in_worker, (entry[1],))

    def submit(self, payload, articles: list[Article]) -> None:
        entry = [payload, articles, None, None if articles else []]
        self.uncached += len(articles)
        self.queue.append(entry)
        if self.pool is None and self.processes > 1 and self.uncached >= POOL_THRESHOLD:
            self._start_pool()
        elif self.pool is not None and articles:
            entry[2] = self.pool.apply_async(_enrich_in_worker, (articles,))

    def _finish(self, entry) -> None:
        if entry[3] is not None:
            return
        try:
            if entry[2] is not None:
                entry[3] = entry[2].get()
            else:
                entry[3] = self.local.enrich(entry[1])
        except Exception:  # noqa: BLE001 - one bad article must not cost its batch
            entry[3] = self._one_by_one(entry[1])

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
            done = head[3] is not None or (head[2] is not None and head[2].ready())
            # A deferred batch (no pool yet) waits for more work unless the queue is full.
            if not done and len(self.queue) <= self.limit and (head[2] is not None
                                                              or self.pool is None):
                return
            self._finish(head)
            self.queue.popleft()
            yield head[0], head[3]

    def drain(self):
        """Every remaining batch, in order."""
        while self.queue:
            head = self.queue.popleft()
            self._finish(head)
            yield head[0], head[3]

    def close(self) -> None:
        """Stop the workers (also after an error: no stray processes are left)."""
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None
