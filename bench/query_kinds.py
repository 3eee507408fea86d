"""In-process search time by query kind on the query benchmark's cached index: the same
queries as ``bench.query_speed``, warmed the same way, each kind run ``--passes`` times
through :func:`search.query.service.search` (page of 10, facets on).

Made to compare two versions of the engine on a busy machine, where whole benchmark runs
drift by ±50%: run it from each version's tree, alternating which goes first, and
compare the kinds against a kind neither version changed (``title``)::

    .venv/bin/python bench/query_kinds.py         # this tree, its schema's cached index
    cd ../old-tree && /path/to/.venv/bin/python /path/to/bench/query_kinds.py \
        --index /tmp/newsfacet-bench-query-v4/n50000/whoosh    # the engine of that tree

It reads ``bench.query_speed``'s helpers only by names that older trees have too.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, os.getcwd())  # the tree it is run from: the version being measured

from bench import query_speed as qs  # noqa: E402
from search.models import SearchRequest  # noqa: E402
from search.query import service  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, help="a Whoosh index folder (default: this tree's "
                                               "bench.query_speed cache at 50,000 articles)")
    ap.add_argument("--passes", type=int, default=5)
    ap.add_argument("--kinds", default="word,and,or,phrase,title")
    args = ap.parse_args(argv)
    index = args.index or qs.CACHE / "n50000" / "whoosh"
    if not index.is_dir():
        sys.exit(f"No index at {index}: run `python -m bench.query_speed` once to build it.")
    kinds = args.kinds.split(",")
    measured = [q for q in qs.make_queries(random.Random(7), 240, qs.WORDS) if q[0] in kinds]
    warm = qs.make_queries(random.Random(99), 45, qs.WARM_WORDS, qs.WARM_PHRASES,
                           qs.WARM_PREFIXES)
    for q in warm:
        qs.run_newsfacet(index, q, {})
    gen = qs.newsfacet_generation(index)
    gen.prewarmed.wait()  # the frequent words decoded, as in a server that has been up
    wall: dict[str, list[float]] = {k: [] for k in kinds}
    cpu: dict[str, list[float]] = {k: [] for k in kinds}
    for n in range(args.passes + 1):
        for q in measured:
            t, c = time.perf_counter(), time.thread_time()
            service.search(index, SearchRequest(q=qs.as_newsfacet(q), page_size=10))
            if n:  # the first pass warms these queries' own words
                wall[q[0]].append((time.perf_counter() - t) * 1000)
                cpu[q[0]].append((time.thread_time() - c) * 1000)
    print(f"{index}: {len(measured)} queries x {args.passes} passes; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'kind':<8}{'queries':>8}{'p50 ms':>9}{'p95 ms':>9}{'CPU p50':>9}{'/ title':>9}")
    base = statistics.median(wall["title"]) if wall.get("title") else None
    for k in kinds:
        if not wall[k]:
            continue
        p50 = statistics.median(wall[k])
        print(f"{k:<8}{len(wall[k]) // args.passes:>8}{p50:>9.2f}{qs.pct(wall[k], 95):>9.2f}"
              f"{statistics.median(cpu[k]):>9.2f}{(p50 / base if base else float('nan')):>9.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
