"""What runs inside the Dask workers of ``index --cluster`` (see :mod:`search.ingest.cluster`).

A worker machine needs this package installed (the same version): the tasks name
:func:`enrich_batch` by its module, and it loads the spaCy model there. This module
imports ``distributed``; the indexer imports it only when a cluster is asked for.
"""

from __future__ import annotations

import os
import signal
import threading

from distributed import WorkerPlugin
from distributed import get_worker

from search.ingest.workers import WORKER_NICE
from search.ingest.workers import make_enricher
from search.models import Article

# One batch at a time in a worker process, however many threads its worker has
# (`dask worker` gives one per core unless told `--nthreads 1`): spaCy's pipeline is not
# safe to share between threads (two at once: "[E018] Can't retrieve string for hash" on
# 9 batches of 12), and NER holds the GIL, so a second thread would gain nothing.
_one_at_a_time = threading.Lock()


def enrich_batch(articles: list[Article], model: str | None,
                 ner: bool = True) -> tuple[list, str]:
    """One batch's ``(lang, entities)`` on a Dask worker, and that worker's address.

    Runs in the worker process: its enricher is made on the first batch and kept for
    every later one, and loads each language's model on the first batch holding an
    article in that language. The address goes back with the results, so the run
    can say where its enrichment ran (and a test can see it ran on a worker).
    """
    with _one_at_a_time:  # and the model is loaded once
        enricher = make_enricher(model, ner)
        return enricher.enrich(articles), get_worker().address


class IgnoreCtrlC(WorkerPlugin):
    """Makes the workers of a ``local:N`` cluster ignore Ctrl-C, and run at the local
    pool's low CPU priority (:data:`~search.ingest.workers.WORKER_NICE`).

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
        try:
            os.nice(WORKER_NICE)
        except OSError:
            pass
