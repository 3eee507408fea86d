"""Enrichment on a Dask ``LocalCluster`` against the local pool, same articles, same run.

Input: ``--articles`` English articles, read by the real readers and cleaned: bbc-news
(spread over the five categories; the default) or, with ``--corpus fakenewsnet``, the
first English ones of fakenewsnet-content (longer, messier pages). Three measures, each
backend alternately, ``--repeat`` times (best kept):

- NER + language alone through each backend's queue (start-up of the pool, or of the
  cluster and its workers, included; the model loaded once per worker either way);
- ``index_paths`` end to end into a fresh index (cold enrichment cache), so reading,
  the cache and the one writer stay in this process in both cases;
- the steady state: after four warm-up batches, the rest in batches of 16 through the
  same queue, and the CPU seconds every process below this one spent on them (pool
  workers; Dask workers, their NER children, the scheduler's process), per article.
  This is the figure that showed Dask's worker threads making NER ~20% dearer
  (fakenewsnet, 936 articles: 59-60 against 48-49 ms; bbc hardly showed it).

    .venv/bin/python -m bench.cluster                   # 300 articles, 2 workers
    .venv/bin/python -m bench.cluster --articles 600 --workers 2 --repeat 2
    .venv/bin/python -m bench.cluster --corpus fakenewsnet --articles 1000 --no-end-to-end
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.indexing import FNN  # noqa: E402
from search.ingest.cluster import ClusterBatches  # noqa: E402
from search.ingest.enrich.cleanup import clean  # noqa: E402
from search.ingest.enrich.language import detect_language  # noqa: E402
from search.ingest.enrich.pipeline import joined_text  # noqa: E402
from search.ingest.indexer import index_paths  # noqa: E402
from search.ingest.readers import read_file  # noqa: E402
from search.ingest.workers import Batches  # noqa: E402
from search.ingest.workers import make_enricher  # noqa: E402

BBC = ROOT.parent / "shared" / "corpora" / "bbc-news" / "bbc-fulltext.tar.gz"
BATCH = 16
WARM_BATCHES = 4


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


def fakenewsnet_english(n: int) -> list:
    """The first ``n`` fakenewsnet-content articles langdetect calls English, cleaned."""
    out = []
    for a in read_file(FNN, lambda e: None):
        a = clean(a)
        if detect_language(joined_text(a)) == "en":
            out.append(a.replace(lang="en"))
            if len(out) == n:
                break
    return out


def descendants_cpu() -> dict[int, float]:
    """CPU seconds so far of every process below this one, by pid."""
    found = {}
    for process in psutil.Process().children(recursive=True):
        try:
            times = process.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        found[process.pid] = times.user + times.system
    return found


def steady(batches, articles: list) -> tuple[float, float]:
    """``(seconds, CPU seconds below this process)`` for the articles after the first
    :data:`WARM_BATCHES` batches, once those are done (models loaded, children started)."""
    warm = WARM_BATCHES * BATCH
    try:
        for k in range(0, warm, BATCH):
            batches.submit(k, articles[k:k + BATCH])
        for _ in batches.drain():
            pass
        before, started = descendants_cpu(), time.perf_counter()
        for k in range(warm, len(articles), BATCH):
            batches.submit(k, articles[k:k + BATCH])
            for _ in batches.ready():
                pass
        for _ in batches.drain():
            pass
        after, secs = descendants_cpu(), time.perf_counter() - started
    finally:
        batches.close()
    return secs, sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


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
    ap.add_argument("--articles", type=int, default=300, help="English articles")
    ap.add_argument("--corpus", choices=("bbc", "fakenewsnet"), default="bbc")
    ap.add_argument("--workers", type=int, default=2, help="pool processes = cluster workers")
    ap.add_argument("--repeat", type=int, default=2, help="alternate runs of each (best kept)")
    ap.add_argument("--no-end-to-end", action="store_true", help="skip index_paths")
    args = ap.parse_args(argv)
    if args.articles <= WARM_BATCHES * BATCH:
        ap.error(f"--articles must be more than the {WARM_BATCHES * BATCH} warm-up articles")
    tmp = Path(tempfile.mkdtemp(prefix="newsfacet-bench-cluster-"))
    model = None
    try:
        if args.corpus == "bbc":
            folder = bbc_slice(args.articles, tmp / "data")
            articles = [clean(a) for f in sorted(folder.rglob("*.txt"))
                        for a in read_file(f, lambda e: None)]
        else:
            folder = None  # index_paths reads files: the slice is not one
            articles = fakenewsnet_english(args.articles)
        n = len(articles)
        spec = f"local:{args.workers}"
        backends = {"pool": lambda: Batches(args.workers, model, make_enricher(model)),
                    "cluster": lambda: ClusterBatches(spec, model)}
        stage = {"pool": [], "cluster": []}
        end = {"pool": [], "cluster": []}
        warm = {"pool": [], "cluster": []}  # (seconds, CPU seconds)
        for r in range(args.repeat):
            for name, make in backends.items():
                stage[name].append(through(make(), articles))
            for name, make in backends.items():
                warm[name].append(steady(make(), articles))
            if folder is not None and not args.no_end_to_end:
                for name, kw in (("pool", {"processes": args.workers}),
                                 ("cluster", {"cluster": spec})):
                    report = index_paths([folder], tmp / f"ix-{name}-{r}", rebuild=True, **kw)
                    # Articles with the same text share one enrichment (the cache's key),
                    # so `enriched` may be a few short of n; every entity must be in.
                    assert report.indexed == n and report.entities_pending == 0, (name, report)
                    end[name].append(report.entities_seconds or report.seconds)
            print(f"  … run {r + 1}: " + "; ".join(
                f"{name}: stage {stage[name][-1]:.1f} s, steady {warm[name][-1][0]:.1f} s "
                f"{warm[name][-1][1]:.1f} CPU s" + (f", end to end {end[name][-1]:.1f} s"
                                                    if end[name] else "")
                for name in backends), file=sys.stderr, flush=True)
        steady_n = n - WARM_BATCHES * BATCH
        print(f"\nEnrichment, {n} uncached English {args.corpus} articles, {args.workers} "
              f"local processes vs Dask {spec} (best of {args.repeat}, start-up included "
              f"but in the steady state)\n")
        print(f"{'measure':44} {'pool':>11} {'cluster':>14} {'cluster/pool':>13}")
        rows = [("NER + language through the queue, art/s", stage)]
        if any(end.values()):
            rows.append(("index_paths end to end (cold cache), art/s", end))
        for label, runs in rows:
            pool, cluster = n / min(runs["pool"]), n / min(runs["cluster"])
            print(f"{label:44} {pool:11.1f} {cluster:14.1f} {cluster / pool:13.2f}")
        pool, cluster = (min(w[1] for w in warm[k]) * 1000 / steady_n for k in backends)
        print(f"{f'steady state, CPU ms per article ({steady_n})':44} {pool:11.1f} "
              f"{cluster:14.1f} {cluster / pool:13.2f}")
        print("  (each run's CPU s, pool / cluster: " + ", ".join(
            f"{p[1]:.1f} / {c[1]:.1f}" for p, c in zip(warm["pool"], warm["cluster"])) + ")")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
