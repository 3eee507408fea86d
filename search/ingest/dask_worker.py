"""What runs inside the Dask workers of ``index --cluster`` (see :mod:`search.ingest.cluster`).

A worker machine needs this package installed (the same version): the tasks name
:func:`enrich_batch` by its module, and it loads the spaCy model there. This module
imports ``distributed``; the indexer imports it only when a cluster is asked for.

NER runs in a single-threaded child process of the worker, not in the thread Dask runs
the task in, beside the worker's event loop and its other threads: two workers on two
cores spent 15-20% more CPU per article there than the local pool's plain processes on
the same batches (fakenewsnet: 59-60 ms against 48-49), and the same workers with NER in
a child 49-51 ms (``/tmp`` harness in the commits that made this change). The task
thread only waits on the child, without the GIL. A worker process started as a daemon (a
nanny's default, unless ``distributed.worker.daemon`` is false: ``WORKER_CONFIG``) may
not have children, and then NER runs in the task thread as before.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import signal
import threading

from distributed import WorkerPlugin
from distributed import get_worker

from search import config
from search.ingest.workers import WAIT_POLL_SECONDS
from search.ingest.workers import WorkerDied
from search.ingest.workers import lower_priority
from search.ingest.workers import make_enricher
from search.models import Article

# One batch at a time in a worker process, however many threads its worker has
# (`dask worker` gives one per core unless told `--nthreads 1`): spaCy's pipeline is not
# safe to share between threads (two at once: "[E018] Can't retrieve string for hash" on
# 9 batches of 12), and NER holds the GIL, so a second thread would gain nothing.
_one_at_a_time = threading.Lock()
# The worker's child process that runs NER, and this end of the pipe to it.
_child = None
_pipe = None
_said_daemon = False
# How often the child looks whether its worker is still there.
PARENT_POLL_SECONDS = 0.5
# Where the worker says it runs NER in its task thread: the worker's own log, which Dask
# keeps for the dashboard and Client.get_worker_logs.
log = logging.getLogger("distributed.worker")


def enrich_batch(articles: list[Article], model: str | None,
                 ner: bool = True) -> tuple[list, str]:
    """One batch's ``(lang, entities)`` on a Dask worker, and that worker's address.

    Runs in the worker process, which hands the batch to its child process (started at
    the first batch, kept for every later one; it loads each language's model on the
    first batch holding an article in that language). The address goes back with the
    results, so the run can say where its enrichment ran (and a test can see it ran on
    a worker).

    :raises WorkerDied: when the child died with the batch (the indexer then sends the
        batch again article by article, each to a new child, and skips only an article
        that kills it again)
    """
    with _one_at_a_time:
        if multiprocessing.current_process().daemon:
            _say_daemon()
            results = make_enricher(model, ner).enrich(articles)
        else:
            results = _in_child(articles, model, ner)
        return results, get_worker().address


def _say_daemon() -> None:
    global _said_daemon
    if not _said_daemon:
        _said_daemon = True
        log.warning("This Dask worker runs as a daemon process, which may not start a "
                    "child: NER runs in the task's thread, 15-20%% slower. Start workers "
                    "with distributed.worker.daemon: false (README).")


def _child_main(conn) -> None:
    """The child's loop: a batch in, its results (or its error) out, until the worker
    closes the pipe or dies (then ``recv`` ends with EOF, and so does the child)."""
    lower_priority()
    _end_with(os.getppid())
    while True:
        try:
            articles, model, ner = conn.recv()
        except (EOFError, OSError):
            return
        try:
            out = (True, make_enricher(model, ner).enrich(articles))
        except Exception as e:  # noqa: BLE001 - the task raises it in the worker
            out = (False, e)
        try:
            try:
                conn.send(out)
            except (pickle.PicklingError, TypeError, AttributeError):  # an odd exception
                conn.send((False, RuntimeError(f"{type(out[1]).__name__}: {out[1]}")))
        except OSError:  # the worker is gone
            return


def _end_with(parent: int) -> None:
    """Ends the child as soon as its worker has gone (the child is then another
    process's), even mid-batch: a nanny kills a worker that does not close within a few
    seconds, and the child holds the terminal's output open until it ends.

    A timer signal, not a watching thread: the child must stay single-threaded. With
    both cores busy with NER, a second thread in each NER process, even one that only
    woke twice a second, made NER cost ~20% more CPU (fakenewsnet articles: 27 against
    23 s for 936, alternated), as the Dask worker's own threads did. Not glibc's malloc
    turning to locks (a thread started and ended costs nothing), and not seen with one
    NER process and a core free: measured, the mechanism not pinned down."""

    def check(signum, frame) -> None:
        if os.getppid() != parent:
            os._exit(0)

    signal.signal(signal.SIGALRM, check)
    signal.setitimer(signal.ITIMER_REAL, PARENT_POLL_SECONDS, PARENT_POLL_SECONDS)


def _in_child(articles: list[Article], model: str | None, ner: bool) -> list:
    """The batch enriched in the worker's child process, started on first use.

    A process and a pipe, not a ``multiprocessing.Pool``: a pool replaces a child that
    dies and never answers the task it held, and a child killed while it waits for work
    keeps the pool's queue locked, so the one after it waits forever (an orphan, once
    its worker has gone)."""
    global _child, _pipe
    if _child is None or not _child.is_alive():
        # spawn: a fork of this process would copy the event loop's threads and locks.
        # One OpenBLAS thread, as the local pool's workers have.
        config.single_threaded_blas_for_children()
        ctx = multiprocessing.get_context("spawn")
        _pipe, theirs = ctx.Pipe()
        _child = ctx.Process(target=_child_main, args=(theirs,), daemon=True,
                             name="newsfacet-ner")
        _child.start()
        theirs.close()  # so the child's death reads as EOF here
    try:
        _pipe.send((articles, model, ner))
        while not _pipe.poll(WAIT_POLL_SECONDS):
            if not _child.is_alive():
                raise EOFError
        ok, out = _pipe.recv()
    except (EOFError, OSError):
        child, _child = _child, None
        child.kill()
        child.join()
        raise WorkerDied("the process running NER on this batch died "
                         "(out of memory?)") from None
    if not ok:
        raise out
    return out


class IgnoreCtrlC(WorkerPlugin):
    """Makes the workers of a ``local:N`` cluster ignore Ctrl-C, run at the local pool's
    low CPU priority (:data:`~search.ingest.workers.WORKER_NICE`), and close quietly.

    Ctrl-C reaches every process of the terminal's group, so each worker would die with
    a traceback on stderr (and its nanny start another) while the indexer, which gets
    the same Ctrl-C, closes the cluster anyway. Set in the worker's main thread as the
    plugin is registered, and on every worker that joins later.
    """

    name = "newsfacet-ignore-ctrl-c"
    idempotent = True

    def setup(self, worker) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        # Behind the text stage on this machine, as the local pool's workers are.
        lower_priority()

    def teardown(self, worker) -> None:
        # The worker is closing with its run (ended, failed or interrupted): a heartbeat
        # that finds the scheduler gone by then is no news, but Dask logs it with a
        # traceback on the terminal of whoever pressed Ctrl-C (seen on a loaded machine).
        logging.getLogger("distributed.worker").setLevel(logging.CRITICAL)
