"""Enrichment on a Dask cluster (``index --cluster ADDRESS|local:N``), beside the local pool.

:class:`ClusterBatches` is the backend of :class:`~search.ingest.workers.OrderedBatches`
that sends each batch of uncached articles to a ``distributed`` scheduler as one task,
:func:`~search.ingest.dask_worker.enrich_batch`. Everything else stays in the process that runs ``newsfacet index``:
reading, cleanup, the enrichment cache and the one Whoosh writer. Results are taken in
submission order whatever order the tasks finish in, so the index is the same as a run
without a cluster.

What runs in the workers is in :mod:`search.ingest.dask_worker`: each worker process
keeps one :class:`~search.ingest.enrich.pipeline.Enricher`, so the model loads once. A
worker that dies mid-batch costs nothing but time: the scheduler runs its task again on
another worker (its ``distributed.scheduler.allowed-failures``) and the indexer waits for
it. A batch that fails with an error of its own (a bad article) is sent again one article
per task, as the local pool does it (:func:`~search.ingest.workers.one_by_one`), so only the
bad article is skipped.

``distributed`` is imported only when a cluster is asked for (0.3 s otherwise spent).
"""

from __future__ import annotations

import collections
import logging
import time
from dataclasses import dataclass

from search.errors import ClusterError
from search.errors import ConfigError
from search.ingest.workers import INFLIGHT_PER_WORKER
from search.ingest.workers import WAIT_POLL_SECONDS
from search.ingest.workers import Batch
from search.ingest.workers import OrderedBatches
from search.ingest.workers import one_by_one
from search.models import Article

LOCAL_PREFIX = "local:"
# The port `dask scheduler` listens on by default, added to an address given without one.
DEFAULT_PORT = 8786
CLIENT_LOG = logging.getLogger("distributed.client")

# No dashboard; the scheduler's small HTTP server (health, metrics) still starts, so give
# it a free port on loopback, never 8787 (taken by any other cluster on the machine).
LOCAL_SCHEDULER = {"dashboard_address": "127.0.0.1:0"}
# The workers of local:N run without Dask's statistical profiler: it samples the task
# thread's stack every 10 ms, and on NER, which holds the GIL, that cost 10-20% of a
# worker's rate (the pool's 30 articles/s against 22-26 with it, 27-29 without; longer
# fakenewsnet articles, /tmp figures in the commit that made this change). Workers on
# other machines take the same setting from their environment (README):
# DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False.
#
# The other timers of a worker's event loop wake it often enough to take the GIL from the
# task thread: the tick that measures how long the loop was blocked (every 20 ms), the
# memory monitor (100 ms) and the system monitor (500 ms). NER neither spills nor needs
# them at that pace. And the nanny sets MALLOC_TRIM_THRESHOLD_, which turns off glibc's
# dynamic mmap threshold: spaCy's large arrays are then mapped and unmapped each time
# (2.7x the page faults of a pool worker on the same batches). The scheduler of local:N
# runs in the indexer's process, and its tick is slowed with the workers'.
#
# Even so, NER beside the worker's event loop and threads cost 15-20% more CPU than in
# the pool's single-threaded processes, so NER runs in a single-threaded child process of
# each worker (search.ingest.dask_worker), which a worker may start only when it is not a
# daemon.
WORKER_CONFIG = {
    "distributed.worker.daemon": False,
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
}


@dataclass(frozen=True)
class ClusterSpec:
    """A parsed ``--cluster`` value: a scheduler ``address``, or ``local`` worker processes.

    >>> ClusterSpec.parse("local:2")
    ClusterSpec(address=None, local=2)
    >>> ClusterSpec.parse("10.0.0.5").address
    'tcp://10.0.0.5:8786'
    """

    address: str | None = None
    local: int = 0

    @classmethod
    def parse(cls, value: str) -> ClusterSpec:
        """The spec of ``value``: ``local:N`` (N >= 1) or ``[tcp://]HOST[:PORT]``.

        :raises ConfigError: when ``value`` is neither (a usage error, exit 2)
        """
        value = value.strip()
        if value.startswith(LOCAL_PREFIX):
            n = value[len(LOCAL_PREFIX):]
            if not n.isdigit() or int(n) < 1:
                raise ConfigError(f"cluster {value!r}: local:N takes a whole number of "
                                  f"worker processes, 1 or more (local:2).")
            return cls(local=int(n))
        scheme, sep, rest = value.rpartition("://")
        if not rest or any(c.isspace() for c in value) or (sep and scheme not in ("tcp", "tls")):
            raise ConfigError(f"cluster {value!r} is not a Dask scheduler address: give "
                              f"tcp://HOST:{DEFAULT_PORT} or local:N.")
        host, colon, port = rest.rpartition(":")
        if not colon or "]" in port:  # no port (an IPv6 literal's colons are inside [])
            host, port = rest, str(DEFAULT_PORT)
        if not host or not port.isdigit():
            raise ConfigError(f"cluster {value!r} is not a Dask scheduler address: give "
                              f"tcp://HOST:{DEFAULT_PORT} or local:N.")
        return cls(address=f"{scheme or 'tcp'}://{host}:{port}")

    def __str__(self) -> str:
        return f"{LOCAL_PREFIX}{self.local}" if self.local else str(self.address)


def _oneline(error: BaseException) -> str:
    return " ".join(str(error).split())


class ClusterBatches(OrderedBatches):
    """Ordered enrichment of batches on a Dask cluster (see the module's docstring).

    The cluster is reached (or, for ``local:N``, started) at the first batch that has
    articles to enrich, so a run whose articles are all cached starts nothing. At most
    :data:`~search.ingest.workers.INFLIGHT_PER_WORKER` batches per worker thread are in
    flight: memory stays bounded however large the input.

    :param spec: the ``--cluster`` value (see :class:`ClusterSpec`)
    :param model: spaCy model name, or ``None`` for the enricher's default
    :param ner: ``False`` skips NER
    :param timeout: seconds to wait for the scheduler before :class:`ClusterError`
    :raises ConfigError: when ``spec`` is neither an address nor ``local:N``
    """

    def __init__(self, spec: str, model: str | None, ner: bool = True,
                 timeout: float = 10.0):
        super().__init__()
        self.spec = ClusterSpec.parse(spec)
        self.model = model
        self.ner = ner
        self.timeout = timeout
        self.cluster = None
        self.client = None
        self.threads = 0     # worker threads once connected (0: not connected)
        self.n_workers = 0
        self._client_log_level: int | None = None
        # Articles each worker enriched (by address): where the run's enrichment ran.
        self.workers: collections.Counter[str] = collections.Counter()

    @property
    def limit(self) -> int:
        return max(2, self.threads * INFLIGHT_PER_WORKER)

    def where(self) -> str:
        if not self.threads:
            return "nowhere: every article was cached, so the cluster was not started"
        return (f"on the Dask cluster {self.spec} ({len(self.workers)} of its "
                f"{self.n_workers} workers)")

    def _connect(self) -> None:
        from distributed import Client
        from distributed import LocalCluster

        from search.ingest.dask_worker import IgnoreCtrlC

        # The client logs each failed reconnection with a traceback; the run says it once,
        # in one line (ClusterError), and the level is put back in close().
        self._client_log_level = CLIENT_LOG.level
        CLIENT_LOG.setLevel(logging.CRITICAL)
        try:
            if self.spec.local:
                import dask

                # One thread per worker: NER holds the GIL, so threads would only contend.
                # The workers' nannies hand them this config (WORKER_CONFIG).
                with dask.config.set(WORKER_CONFIG):
                    self.cluster = LocalCluster(n_workers=self.spec.local,
                                                threads_per_worker=1, processes=True,
                                                dashboard_address=None,
                                                scheduler_kwargs=LOCAL_SCHEDULER)
                self.client = Client(self.cluster, timeout=self.timeout)
                self.client.register_plugin(IgnoreCtrlC())
            else:
                self.client = Client(self.spec.address, timeout=self.timeout)
        except (OSError, TimeoutError) as e:
            self.close()
            raise ClusterError(f"Cannot reach the Dask scheduler at {self.spec} within "
                               f"{self.timeout:g} s ({_oneline(e)}). Start it (`dask scheduler`, then "
                               f"`dask worker {self.spec}` on each machine), check the "
                               f"address, or index without --cluster.") from e
        except BaseException:
            self.close()
            raise
        try:
            # A scheduler without workers would leave every task waiting, silently.
            self.client.wait_for_workers(1, timeout=self.timeout)
        except (OSError, TimeoutError) as e:
            self.close()
            raise ClusterError(f"The Dask scheduler at {self.spec} has no worker after "
                               f"{self.timeout:g} s: start `dask worker {self.spec}` on "
                               f"each machine, or index without --cluster.") from e
        except BaseException:
            self.close()
            raise
        workers = self.client.scheduler_info()["workers"].values()
        self.n_workers = len(workers)
        self.threads = max(1, sum(w.get("nthreads", 1) for w in workers))

    def reach(self) -> None:
        """Connect now to a scheduler given by address (a wrong address fails the run
        before anything is written); a ``local:N`` cluster still starts at the first
        batch, so a run with nothing to enrich starts none."""
        if self.client is None and not self.spec.local:
            self._connect()

    def submit(self, payload, articles: list[Article]) -> None:
        batch = Batch(payload, articles, results=None if articles else [])
        if articles:
            if self.client is None:
                self._connect()
            self.uncached += len(articles)
            batch.pending = self._send(articles)
        self.queue.append(batch)

    def _send(self, articles: list[Article]):
        from search.ingest.dask_worker import enrich_batch

        # pure=False: two batches with the same articles are two tasks, never one result.
        # No retries= here: a batch that raises is sent again article by article
        # (_finish), which is the retry; a dead worker is the scheduler's to re-run.
        return self.client.submit(enrich_batch, articles, self.model, self.ner, pure=False)

    def _done(self, batch: Batch) -> bool:
        return batch.results is not None or batch.pending.done()

    def _result(self, future) -> list:
        from concurrent.futures import CancelledError

        try:
            results, worker = self._wait(future)
        except CancelledError as e:
            # The client lost the scheduler (or it cancelled the work): nothing to re-run on.
            raise ClusterError(f"Lost the Dask cluster {self.spec} mid-run ({_oneline(e)}); "
                               f"the text committed so far stays searchable. Check the "
                               f"scheduler and run the same command again: it goes on "
                               f"where this run stopped.") from e
        self.workers[worker] += len(results)
        return results

    def _wait(self, future):
        """The future's result, noticing a cluster left without workers: the scheduler
        keeps the task waiting for one forever, so after ``timeout`` seconds with none
        the run stops (the text committed stays; the next run goes on)."""
        alone_since = None
        while True:
            try:
                return future.result(timeout=WAIT_POLL_SECONDS)
            except TimeoutError:
                pass
            try:
                workers = self.client.nthreads()
            except (OSError, TimeoutError):  # the scheduler does not answer: none either
                workers = {}
            if workers:
                alone_since = None
                continue
            now = time.monotonic()
            alone_since = alone_since or now
            if now - alone_since >= self.timeout:
                raise ClusterError(
                    f"The Dask cluster {self.spec} has had no worker for {self.timeout:g} s "
                    f"mid-run; the text committed so far stays searchable. Start `dask "
                    f"worker {self.spec}` on each machine and run the same command again: "
                    f"it goes on where this run stopped.")

    def _enrich_one(self, articles: list[Article]) -> list:
        return self._result(self._send(articles))

    def _finish(self, batch: Batch) -> None:
        if batch.results is not None:
            return
        future, batch.pending = batch.pending, None  # released: the worker frees its result
        try:
            batch.results = self._result(future)
        except (ConfigError, ClusterError):
            raise
        except Exception:  # noqa: BLE001 - one bad article must not cost its batch
            batch.results = one_by_one(self._enrich_one, batch.articles)

    def close(self) -> None:
        """Close the client, and the cluster this run started (also after an error or
        Ctrl-C: its worker processes end with it)."""
        client, cluster, self.client, self.cluster = self.client, self.cluster, None, None
        self.queue.clear()
        try:
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()
        finally:
            if self._client_log_level is not None:
                CLIENT_LOG.setLevel(self._client_log_level)
                self._client_log_level = None
