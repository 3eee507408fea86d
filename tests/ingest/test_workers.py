"""The local enrichment pool: a worker that dies mid-batch costs no article and no hang;
its workers run OpenBLAS with one thread."""

from __future__ import annotations

import os
import signal
import threading

from search.ingest.readers import read_file
from search.ingest.workers import Batches
from search.ingest.workers import make_enricher
from tests.conftest import CORPORA


def _bbc_articles(n: int) -> list:
    arts = []
    for art in read_file(CORPORA / "bbc-news" / "bbc-fulltext.tar.gz", lambda e: None):
        arts.append(art)
        if len(arts) == n:
            return arts
    return arts


def test_a_pool_worker_killed_mid_batch_loses_no_article_and_does_not_hang():
    articles = _bbc_articles(160)
    local = make_enricher(None)
    expected = local.enrich(articles)  # in this process: what the pool must give
    batches = Batches(2, None, local)
    try:
        for i in range(0, len(articles), 16):
            batches.submit(i, articles[i:i + 16])
        assert batches.pool is not None
        got = {}
        # The first batch back means both workers have taken their next batches (each
        # takes one as soon as it is free, and eight more wait): kill both mid-batch.
        for payload, results in batches.ready():
            got[payload] = results
            break
        while not got:
            payload, results = next(iter(batches.drain()))
            got[payload] = results
        victims = [p.pid for p in batches.pool._pool]
        for pid in victims:
            # Each worker's OpenBLAS loaded with one thread (set before the fork server
            # started; 20% faster NER than a thread per core in each worker).
            with open(f"/proc/{pid}/environ", "rb") as f:
                assert b"OPENBLAS_NUM_THREADS=1" in f.read().split(b"\0")
        for pid in victims:
            os.kill(pid, signal.SIGKILL)

        def rest():
            for payload, results in batches.drain():
                got[payload] = results

        worker = threading.Thread(target=rest, daemon=True)
        worker.start()
        worker.join(timeout=120)
        assert not worker.is_alive(), "the drain hung on a batch whose worker died"
        assert batches.restarts >= 1
        flat = [r for i in sorted(got) for r in got[i]]
        assert flat == expected
    finally:
        batches.close()
