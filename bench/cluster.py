"""Enrichment on a Dask ``LocalCluster`` against the local pool, same articles, same run.

Input: ``--articles`` English bbc-news articles (spread over the five categories), read
by the real readers and cleaned. Two measures, each backend alternately, ``--repeat``
times (best kept):

- NER + language alone through each backend's queue (start-up of the pool, or of the
  cluster and its workers, included; the model loaded once per worker either way);
- ``index_paths`` end to end into a fresh index (cold enrichment cache), so reading,
  the cache and the one writer stay in this process in both cases.

    .venv/bin/python -m bench.cluster                   # 300 articles, 2 workers
    .venv/bin/python -m bench.cluster --articles 600 --workers 2 --repeat 2
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search.ingest.cluster import ClusterBatches  # noqa: E402
from search.ingest.enrich.cleanup import clean  # noqa: E402
from search.ingest.indexer import index_paths  # noqa: E402
from search.ingest.readers import read_file  # noqa: E402
from search.ingest.workers import Batches  # noqa: E402
from search.ingest.workers import make_enricher  # noqa: E402

BBC = ROOT.parent / "shared" / "corpora" / "bbc-news" / "bbc-fulltext.tar.gz"
BATCH = 16


def bbc_slice(n: int, dest: Path) -> Path:
    """``n`` bbc-news articles, an equal share of each category, extracted under ``dest``."""
    with tarfile.open(BBC) as tar:
        members = sorted((m for m in tar.getmembers() if m.isfile() and m.name.endswith(".txt")
                          and m.name.count("/") == 2), key=lambda m: m.name)
        cats = sorted({m.name.split("/")[1] for m in members})
        per = -(-n // len(cats))
        chosen = [m for c in cats for m in [x for x in members if x.name.split("/")[1] == c][:per]]
        for m in chosen[:n]:
            (dest / m.name).parent.mkdir(parents=True, exist_ok=True)
            (dest / m.name).write_bytes(tar.extractfile(m).read())
    return dest / "bbc"


def through(batches, articles: list) -> float:
    """Seconds to enrich ``articles`` through ``batches`` (its start included), closed after."""
    started = time.perf_counter()
    try:
        for i in range(0, len(articles), BATCH):
            batches.submit(i, articles[i:i + BATCH])
            for _ in batches.ready():
                pass
        for _ in batches.drain():
            pass
        return time.perf_counter() - started
    finally:
        batches.close()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=300, help="English articles (bbc-news)")
    ap.add_argument("--workers", type=int, default=2, help="pool processes = cluster workers")
    ap.add_argument("--repeat", type=int, default=2, help="alternate runs of each (best kept)")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="newsfacet-bench-cluster-"))
    model = None
    try:
        folder = bbc_slice(args.articles, tmp / "data")
        articles = [clean(a) for f in sorted(folder.rglob("*.txt"))
                    for a in read_file(f, lambda e: None)]
        n = len(articles)
        spec = f"local:{args.workers}"
        stage = {"pool": [], "cluster": []}
        end = {"pool": [], "cluster": []}
        for r in range(args.repeat):
            stage["pool"].append(through(Batches(args.workers, model, make_enricher(model)),
                                         articles))
            stage["cluster"].append(through(ClusterBatches(spec, model), articles))
            for name, kw in (("pool", {"processes": args.workers}), ("cluster", {"cluster": spec})):
                report = index_paths([folder], tmp / f"ix-{name}-{r}", rebuild=True, **kw)
                # Articles with the same text share one enrichment (the cache's key), so
                # `enriched` may be a few short of n; every entity must be in.
                assert report.indexed == n and report.entities_pending == 0, (name, report)
                end[name].append(report.entities_seconds or report.seconds)
            print(f"  … run {r + 1}: stage pool {stage['pool'][-1]:.1f} s, cluster "
                  f"{stage['cluster'][-1]:.1f} s; end to end pool {end['pool'][-1]:.1f} s, "
                  f"cluster {end['cluster'][-1]:.1f} s", file=sys.stderr, flush=True)
        print(f"\nEnrichment, {n} uncached English bbc-news articles, {args.workers} local "
              f"processes vs Dask {spec} (best of {args.repeat}, start-up included)\n")
        print(f"{'measure':44} {'pool art/s':>11} {'cluster art/s':>14} {'cluster/pool':>13}")
        for label, runs in (("NER + language through the queue", stage),
                            ("index_paths end to end (cold cache)", end)):
            pool, cluster = n / min(runs["pool"]), n / min(runs["cluster"])
            print(f"{label:44} {pool:11.1f} {cluster:14.1f} {cluster / pool:13.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
