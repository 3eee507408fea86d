"""Load test: the web app under waitress, 50 concurrent clients, on a >= 20,000-article index.

The index is built once (cached under /tmp) without NER from :mod:`bench.corpus`: real
texts from bbc-news, fakenewsnet-content and saudinewsnet-ar, replicated with new ids
until there are ``--articles`` of them, with fixed-seed entities and BBC dates.

The server runs as a subprocess on 127.0.0.1 and a free port: ``python -m search
serve``. Each client is a thread with its own
keep-alive ``http.client`` connection. The mix: new queries (JSON and HTML pages),
facet clicks that follow a ``toggle_url`` of the last JSON answer, and page 2.
Baseline in the same run: the same clients fetching ``/static/style.css`` (the
server's own overhead, no search).

Run from the repository root::

    .venv/bin/python -m bench.load                       # 50 clients, 60 s
    .venv/bin/python -m bench.load --clients 10 --seconds 10 --articles 20000
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT.parent / "shared" / "corpora"
sys.path.insert(0, str(ROOT))

from bench import corpus  # noqa: E402
from bench._server import free_port  # noqa: E402
from bench._server import start_server  # noqa: E402
from bench._server import stop_server  # noqa: E402
from search.models import Article  # noqa: E402
from search.models import Entities  # noqa: E402
from search.schema import FACETS
from search.schema import SCHEMA_VERSION  # noqa: E402

QUERIES = ["election", "football", "blair", "mobile phone", '"prime minister"', "government",
           "film OR music", "oil prices", "economy growth", "world cup", "iraq", "chelsea",
           "microsoft", "trump", "hollywood", "budget tax", "internet", "champions league",
           "الرياض", "السعودية", "court ruling", "bank interest rates", "elect*", "music award",
           "-football sport", "obama", "police", "technology", "china trade", "actor"]
SERVER_LOG = Path("/tmp/newsfacet-load-server.log")


# --- the index ------------------------------------------------------------------------

def build_index(index_dir: Path, n: int) -> float:
    """Write ``n`` articles of :mod:`bench.corpus` into a new generation of ``index_dir``;
    return seconds taken."""
    from search.ingest.writing import write_generation

    t0 = time.perf_counter()
    write_generation((Article(id=r["id"], source=f"load/{r['id']}", record=None,
                              title=r["title"], body=r["body"], outlet=r["outlet"],
                              lang=r["lang"], url=r["url"], published=r["published"],
                              entities=Entities(person=r["person"], org=r["org"],
                                                place=r["place"]))
                      for r in corpus.records(n)), index_dir, procs=2)
    return time.perf_counter() - t0


# --- the clients -----------------------------------------------------------------------

class Client(threading.Thread):
    def __init__(self, port: int, seed: int, deadline: float, static_only: bool):
        super().__init__(daemon=True)
        self.port, self.rng, self.deadline = port, random.Random(seed), deadline
        self.static_only = static_only
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.kinds: dict[str, int] = {}
        self.last: dict | None = None

    def _get(self, conn, path: str) -> tuple[int, bytes]:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()

    def _next_path(self) -> tuple[str, str]:
        if self.static_only:
            return "static", "/static/style.css"
        roll = self.rng.random()
        if self.last and roll < 0.45:
            facets = [(n, v) for n, vs in self.last["facets"].items() for v in vs
                      if n in FACETS]
            if facets:
                _, v = self.rng.choice(facets)
                return "facet click", v["toggle_url"]
        if self.last and roll < 0.55 and self.last["total"] > self.last["page_size"]:
            return "page 2", f"/api/search?q={quote(self.last['query'])}&page=2"
        q = quote(self.rng.choice(QUERIES))
        if roll < 0.75:
            return "query (HTML)", f"/?q={q}"
        return "query (JSON)", f"/api/search?q={q}"

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while time.monotonic() < self.deadline:
            kind, path = self._next_path()
            t0 = time.perf_counter()
            try:
                status, body = self._get(conn, path)
            except (OSError, http.client.HTTPException) as e:
                self.errors.append(f"{path}: {e!r}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                continue
            self.latencies.append((time.perf_counter() - t0) * 1000)
            self.kinds[kind] = self.kinds.get(kind, 0) + 1
            if status != 200:
                self.errors.append(f"{path}: HTTP {status}")
            elif path.startswith("/api/search"):
                self.last = json.loads(body)
                # A facet click followed forever narrows to nothing: start over now and then.
                if self.last["total"] == 0 or self.rng.random() < 0.2:
                    self.last = None
        conn.close()


def timed_get(port: int, path: str, timeout: float) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    t0 = time.perf_counter()
    conn.request("GET", path)
    resp = conn.getresponse()
    resp.read()
    conn.close()
    if resp.status != 200:
        raise SystemExit(f"{path}: HTTP {resp.status}")
    return (time.perf_counter() - t0) * 1000


def run_phase(port: int, clients: int, seconds: float, static_only: bool, seed: int) -> dict:
    deadline = time.monotonic() + seconds
    threads = [Client(port, seed + i, deadline, static_only) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 60)
    wall = time.perf_counter() - t0
    lat = sorted(x for t in threads for x in t.latencies)
    kinds: dict[str, int] = {}
    for t in threads:
        for k, v in t.kinds.items():
            kinds[k] = kinds.get(k, 0) + v
    errors = [e for t in threads for e in t.errors]

    def pct(p):
        return lat[min(len(lat) - 1, int(p / 100 * len(lat)))] if lat else float("nan")

    return {"requests": len(lat), "rps": len(lat) / wall, "p50": statistics.median(lat) if lat
            else float("nan"), "p95": pct(95), "p99": pct(99), "errors": errors, "kinds": kinds}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--baseline-seconds", type=float, default=15.0)
    ap.add_argument("--articles", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=1, help="server processes (serve --workers)")
    ap.add_argument("--index", type=Path, default=None,
                    help="index directory (default: cached under /tmp by article count and schema)")
    opts = ap.parse_args(argv)
    index_dir = opts.index or Path(f"/tmp/newsfacet-load-index-{opts.articles}"
                                   f"-v{SCHEMA_VERSION}")
    if (index_dir / "current").exists():
        print(f"index: reusing {index_dir}")
    else:
        secs = build_index(index_dir, opts.articles)
        print(f"index: built {opts.articles:,} articles in {secs:.0f} s at {index_dir}")
    port = free_port()
    SERVER_LOG.write_bytes(b"")
    proc, how = start_server(index_dir, port, SERVER_LOG, opts.workers)
    try:
        print(f"server: {how}, 127.0.0.1:{port}, pid {proc.pid}")
        # Open the searcher and build the facet arrays before anything is measured.
        first = timed_get(port, "/api/search?q=election", timeout=300)
        print(f"first search (opens the index generation): {first:.0f} ms")
        run_phase(port, 4, 3, False, seed=1)
        # The zero-hit path (spelling suggestion) is timed alone, not mixed in.
        misspelt = timed_get(port, "/api/search?q=goverment", timeout=300)
        base = run_phase(port, opts.clients, opts.baseline_seconds, True, seed=100)
        load = run_phase(port, opts.clients, opts.seconds, False, seed=1000)
    finally:
        stop_server(proc)
    print(f"\n{opts.clients} clients; baseline {opts.baseline_seconds:.0f} s, "
          f"mix {opts.seconds:.0f} s; latency in ms")
    print(f"{'phase':<26}{'requests':>9}{'req/s':>9}{'p50':>9}{'p95':>9}{'p99':>9}{'errors':>8}")
    for name, r in (("baseline /static/style.css", base), ("search mix", load)):
        print(f"{name:<26}{r['requests']:>9}{r['rps']:>9.1f}{r['p50']:>9.1f}{r['p95']:>9.1f}"
              f"{r['p99']:>9.1f}{len(r['errors']):>8}")
    print(f"ratio mix/baseline: p50 x{load['p50'] / base['p50']:.1f}, "
          f"throughput x{load['rps'] / base['rps']:.2f}")
    print(f"a misspelt query alone (zero hits, suggestion path): {misspelt:.0f} ms")
    print("mix: " + ", ".join(f"{k} {v}" for k, v in sorted(load["kinds"].items())))
    for e in (base["errors"] + load["errors"])[:10]:
        print("error:", e)
    if base["errors"] or load["errors"]:
        print(f"server log: {SERVER_LOG}")
    return 1 if base["errors"] or load["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
