"""The analyses of issue 14 against a real ``newsfacet serve`` at 50,000 articles, each
beside the plain search in the same run.

The index is the query benchmark's (``bench.query_speed``: real texts of bbc-news,
fakenewsnet-content and saudinewsnet-ar replicated to 50,000 articles, cached under
``/tmp``; built on first use). One server process (``--workers 1``), over HTTP on
127.0.0.1:

- **timeline**: ``/api/timeline?q=…&interval=month`` beside ``/api/search?q=…`` for the
  same queries, alternating which goes first; goal p50 ≤ 1.5× the search's;
- **top words**: ``/api/terms?q=…`` for queries matching ≥ 10,000 articles, each once
  after a warm-up on other queries; goal p50 ≤ 300 ms;
- **export**: ``/export.csv`` of every article (``q`` empty: all 50,000 rows), streamed
  and counted; goal ≥ 5,000 rows/s, with the server's resident memory (sampled every
  0.05 s) growing ≤ 50 MB; meanwhile another client sends plain searches one after
  another, whose p95 is compared with the same searches before the export.

Run from the repository root::

    .venv/bin/python -m bench.analysis                 # 50,000 articles
    .venv/bin/python -m bench.analysis --articles 5000 # a quick look
"""

from __future__ import annotations

import argparse
import csv
import http.client
import io
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._server import HOST  # noqa: E402
from bench._server import free_port  # noqa: E402
from bench._server import start_server  # noqa: E402
from bench._server import stop_server  # noqa: E402
from bench.query_speed import ensure  # noqa: E402
from bench.query_speed import memory_mb  # noqa: E402

QUERIES = ["election", "football", "mobile phone", "oil prices", "government", "music",
           "film award", "economy growth", "internet", "police", "Blair", "China",
           "world cup", "court ruling", "health", "bank", "prices OR rates", "minister",
           "company shares", "technology"]
WARM = ["budget", "tennis", "election campaign", "software", "actor"]
BROAD = ["said", "year", "people", "new", "government OR company", "also", "time",
         "world", "two", "first"]


def get(port: int, path: str, timeout: float = 120.0) -> tuple[int, bytes, float]:
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, body, (time.perf_counter() - t0) * 1000


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(p * (len(s) - 1))))] if s else float("nan")


def row(name: str, value: str, goal: str = "", result: str = "", note: str = "") -> None:
    print(f"{name:58} {value:>14} {goal:>10} {result:>6}  {note}")


def timeline_vs_search(port: int, rounds: int) -> tuple[list[float], list[float]]:
    search, timeline = [], []
    for r in range(rounds):
        for i, q in enumerate(QUERIES):
            pair = [("search", f"/api/search?{urlencode({'q': q})}"),
                    ("timeline", f"/api/timeline?{urlencode({'q': q, 'interval': 'month'})}")]
            for kind, path in (pair if (i + r) % 2 == 0 else pair[::-1]):
                status, _, ms = get(port, path)
                assert status == 200, (path, status)
                (search if kind == "search" else timeline).append(ms)
    return search, timeline


def top_words(port: int) -> list[tuple[str, int, float, list[str]]]:
    for q in WARM:
        get(port, f"/api/terms?{urlencode({'q': q})}")
    out = []
    for q in BROAD:
        _, body, _ = get(port, f"/api/search?{urlencode({'q': q, 'page_size': 0})}")
        total = json.loads(body)["total"]
        if total < 10_000:
            continue
        status, body, ms = get(port, f"/api/terms?{urlencode({'q': q})}")
        assert status == 200, (q, status)
        words = [t["term"] for t in json.loads(body)["terms"][:8]]
        out.append((q, total, ms, words))
    return out


def export_under_load(port: int, pid: int, searches: list[str]) -> dict:
    """Stream /export.csv of everything while another client searches; sample memory."""
    before = memory_mb(pid)
    peak = dict(before)
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            m = memory_mb(pid)
            for k, v in m.items():
                peak[k] = max(peak.get(k, 0.0), v)
            time.sleep(0.05)

    during: list[float] = []

    def search():
        i = 0
        while not stop.is_set():
            q = searches[i % len(searches)]
            status, _, ms = get(port, f"/api/search?{urlencode({'q': q})}")
            if status == 200:
                during.append(ms)
            i += 1

    threads = [threading.Thread(target=sample), threading.Thread(target=search)]
    for t in threads:
        t.start()
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=600)
    conn.request("GET", "/export.csv?q=")
    r = conn.getresponse()
    total = int(r.getheader("X-Total-Count") or 0)
    size = 0
    rows = 0
    reader_buf = io.TextIOWrapper(r, encoding="utf-8", newline="")
    for _ in csv.reader(reader_buf):
        rows += 1
    secs = time.perf_counter() - t0
    conn.close()
    stop.set()
    for t in threads:
        t.join()
    after = memory_mb(pid)
    return {"rows": rows - 1, "total": total, "secs": secs, "bytes": size, "before": before,
            "peak": peak, "after": after, "during": during}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=3, help="passes of the timeline query set")
    args = ap.parse_args(argv)
    index_dir = ensure(args.articles, ("whoosh",)) / "whoosh"
    log = Path(tempfile.mkdtemp(prefix="newsfacet-bench-analysis-")) / "serve.log"
    port = free_port()
    proc, how = start_server(index_dir, port, log)
    try:
        # open and warm: the first search opens the index; a few more warm its lists
        get(port, "/api/search?q=warm")
        for q in WARM:
            get(port, f"/api/search?{urlencode({'q': q})}")
            get(port, f"/api/timeline?{urlencode({'q': q})}")
        print(f"{args.articles:,} articles, {how}, load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores\n")
        search, timeline = timeline_vs_search(port, args.rounds)
        words = top_words(port)
        baseline = []
        for q in QUERIES:
            baseline.append(get(port, f"/api/search?{urlencode({'q': q})}")[2])
        ex = export_under_load(port, proc.pid, QUERIES)
    finally:
        stop_server(proc)

    print(f"{'figure':58} {'value':>14} {'goal':>10} {'result':>6}  note")
    s50, t50 = statistics.median(search), statistics.median(timeline)
    row("plain search /api/search p50 / p95 (ms)", f"{s50:.1f} / {pct(search, .95):.1f}",
        note=f"{len(search)} requests")
    row("timeline /api/timeline?interval=month p50 / p95 (ms)",
        f"{t50:.1f} / {pct(timeline, .95):.1f}", note=f"{len(timeline)} requests")
    ratio = t50 / s50
    row("timeline p50 / search p50", f"{ratio:.2f}", "≤ 1.5", "PASS" if ratio <= 1.5 else "FAIL")
    if words:
        w50 = statistics.median(ms for _, _, ms, _ in words)
        row("top words /api/terms p50, queries matching ≥ 10,000 (ms)", f"{w50:.0f}", "≤ 300",
            "PASS" if w50 <= 300 else "FAIL", f"{len(words)} queries")
        for q, total, ms, top in words:
            row(f"   {q!r}: {total:,} matches", f"{ms:.0f} ms", note=", ".join(top))
    rate = ex["rows"] / ex["secs"]
    row("export /export.csv, every article: rows / s", f"{rate:,.0f}", "≥ 5,000",
        "PASS" if rate >= 5000 else "FAIL",
        f"{ex['rows']:,} rows (X-Total-Count {ex['total']:,}) in {ex['secs']:.1f} s")
    grow = ex["peak"]["rss"] - ex["before"]["rss"]
    anon = ex["peak"].get("anon", 0) - ex["before"].get("anon", 0)
    row("   server resident memory growth during the export (MB)", f"{grow:.0f}", "≤ 50",
        "PASS" if grow <= 50 else "FAIL",
        f"RSS {ex['before']['rss']:.0f} -> peak {ex['peak']['rss']:.0f} MB; of which anon "
        f"+{anon:.0f} MB, file-backed (index pages mapped) "
        f"+{ex['peak'].get('file', 0) - ex['before'].get('file', 0):.0f} MB")
    b95, d95 = pct(baseline, .95), pct(ex["during"], .95)
    row("   plain search p95 before / during the export (ms)", f"{b95:.1f} / {d95:.1f}",
        note=f"p50 {statistics.median(baseline):.1f} / {statistics.median(ex['during']):.1f}; "
             f"{len(ex['during'])} searches during; ratio {d95 / b95:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
