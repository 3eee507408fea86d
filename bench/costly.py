"""The most expensive single searches a client can send, after the caps and the time budget.

Each query runs in a fresh process on an opened generation (facet arrays built, the
frequent words decoded in the background, as in a server that has been up a moment),
the rest of its posting cache cold; the table gives its wall time
and its growth of peak RSS (``VmHWM`` reset just before it), the HTTP status the web API would give
(200, or 503 when the time budget stopped it) and the notice.

Run from the repository root, on the 50,000-article index of ``bench/query_speed.py``::

    .venv/bin/python -m bench.costly --index /tmp/newsfacet-bench-query-v3/n50000/whoosh
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LETTERS = "abcdefghijklmnopqrstuvwxyz"
QUERIES = {
    "huge phrase slop": '"said market"~1000000',
    "3-word phrase, slop (Whoosh)": '"said market share"~20',
    "26 prefixes": " OR ".join(f"{c}*" for c in LETTERS),
    "40 two-letter prefixes": " OR ".join(f"{a}{b}*" for a in "aeiost" for b in "aeinrt")[:999],
    "wildcards inside words": " OR ".join(f"{c}*e*" for c in LETTERS),
    "30 fuzzy words, distance 9": " OR ".join(f"{w}~9" for w in (
        "market government minister election football company police court england china "
        "economy music film internet tax trump labour iraq chelsea growth sales award virus "
        "security president budget club player shares profit").split()),
    "100 common words OR": " OR ".join(["said", "year", "people", "new", "time", "world",
                                        "government", "last", "first", "two"] * 10),
    "100 common words AND": " ".join(["said", "year", "people", "new", "time", "world",
                                      "government", "last", "first", "two"] * 10),
    "50 phrases with slop": " OR ".join(f'"said {w}"~20' for w in (
        "market government minister election football company police court england china "
        "economy music film internet tax trump labour iraq chelsea growth sales award virus "
        "security president budget club player shares profit year people new time world "
        "last first two three four five six seven eight nine ten").split()),
    "NOT of a slop phrase": 'NOT "said year"~20',
    "browse, every article": "",
}

CHILD = r"""
import json, sys, time
from search.query import service
from search.errors import NewsfacetError
from search.models import SearchRequest
index, q = sys.argv[1], sys.argv[2]
from search.query import generation
service.search(index, SearchRequest(q="zzzqqq"))  # open the generation
with generation.use(index) as gen:  # and let it decode its frequent words, as a server has
    gen.prewarmed.wait(600)
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
rss0 = status("VmRSS")
with open("/proc/self/clear_refs", "w") as f:  # "5": reset the peak (VmHWM) to now
    f.write("5")
t0 = time.perf_counter()
try:
    r = service.search(index, SearchRequest(q=q))
    out = {"status": 200, "total": r.total, "notice": r.notice,
           "timings": {k: round(v) for k, v in r.timings.items()}}
except NewsfacetError as e:
    out = {"status": e.status, "total": None, "notice": str(e)}
out["seconds"] = time.perf_counter() - t0
out["rss_mb"] = status("VmHWM") - rss0
print(json.dumps(out))
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--root", type=Path, default=ROOT,
                    help="the source tree to run (another checkout measures other code)")
    ap.add_argument("--timings", action="store_true", help="print each step's milliseconds")
    opts = ap.parse_args(argv)
    print(f"{'query':<32}{'status':>7}{'seconds':>9}{'RSS MB':>8}{'total':>8}  notice")
    worst = 0.0
    for name, q in QUERIES.items():
        done = subprocess.run([sys.executable, "-c", CHILD, str(opts.index), q], cwd=opts.root,
                              capture_output=True, text=True, timeout=600)
        if done.returncode:
            print(f"{name:<32} failed: {done.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        worst = max(worst, r["seconds"])
        print(f"{name:<32}{r['status']:>7}{r['seconds']:>9.2f}{r['rss_mb']:>8.0f}"
              f"{r['total'] if r['total'] is not None else '-':>8}  {(r['notice'] or '')[:70]}")
        if opts.timings and r.get("timings"):
            print(f"{'':<32}ms: {r['timings']}")
    print(f"slowest: {worst:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
