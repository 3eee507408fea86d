"""Another client's latency while one client sends expensive searches (issue 9, point 2).

A real ``newsfacet serve`` (waitress, 8 threads, one process) on 127.0.0.1. One client
sends a cheap search again and again; first alone, then while a second client sends an
expensive one in a loop. Before the fix every request took the generation's one lock
for its whole duration, so the cheap search waited for the expensive one.

Run from the repository root::

    .venv/bin/python -m bench.slow_neighbour --index /tmp/newsfacet-bench-query-v3/n50000/whoosh
    # the code of another checkout (e.g. the commit before the fix), same index:
    .venv/bin/python -m bench.slow_neighbour --index ... --root /tmp/web-base
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import load  # noqa: E402

FAST = "/api/search?q=" + quote("election")
SLOW = {
    "huge phrase slop": '"said market"~1000000',
    "26 prefixes": " OR ".join(f"{c}*" for c in "abcdefghijklmnopqrstuvwxyz"),
    "30 fuzzy words": " OR ".join(f"{w}~9" for w in (
        "market government minister election football company police court england china "
        "economy music film internet tax trump labour iraq chelsea growth sales award virus "
        "security president budget club player shares profit").split()),
}


def get(conn, path: str) -> tuple[int, float]:
    t0 = time.perf_counter()
    conn.request("GET", path)
    r = conn.getresponse()
    r.read()
    return r.status, (time.perf_counter() - t0) * 1000


def fast_client(port: int, until: threading.Event, out: list) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    while not until.is_set():
        status, ms = get(conn, FAST)
        out.append(ms if status == 200 else float("inf"))
    conn.close()


def slow_client(port: int, path: str, until: threading.Event, out: list) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    while not until.is_set():
        out.append(get(conn, path))
    conn.close()


def rss_mb(pid: int, key: str = "VmRSS") -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] if xs else float("nan")


def phase(port: int, seconds: float, slow_path: str | None) -> tuple[list, list]:
    until = threading.Event()
    fast, slow = [], []
    threads = [threading.Thread(target=fast_client, args=(port, until, fast))]
    if slow_path:
        threads.append(threading.Thread(target=slow_client, args=(port, slow_path, until, slow)))
    for t in threads:
        t.start()
    time.sleep(seconds)
    until.set()
    for t in threads:
        t.join(600)
    return fast, slow


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--root", type=Path, default=ROOT, help="the source tree the server runs")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    opts = ap.parse_args(argv)
    load.ROOT = opts.root  # start_server runs `python -m search serve` in load.ROOT
    port = load.free_port()
    proc, how = load.start_server(opts.index, port)
    try:
        load.timed_get(port, FAST, timeout=300)  # open the generation
        time.sleep(5)  # let it decode its frequent words, as a server that has been up
        for path in ("/api/search?q=" + quote(q) for q in SLOW.values()):  # one each, warm
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            get(conn, path)
            conn.close()
        print(f"server: {how} from {opts.root}, pid {proc.pid}; fast query {FAST}")
        print(f"{'phase':<28}{'fast n':>7}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"
              f"{'slow n':>7}{'slow p50 ms':>12}{'slow max ms':>12}  slow statuses  RSS MB")
        for name, q in [("alone", None)] + list(SLOW.items()):
            path = "/api/search?q=" + quote(q) if q else None
            rss0 = rss_mb(proc.pid)
            fast, slow = phase(port, opts.seconds, path)
            rss1 = rss_mb(proc.pid)
            statuses = sorted({s for s, _ in slow})
            slow_ms = [ms for _, ms in slow]
            print(f"{name:<28}{len(fast):>7}{statistics.median(fast):>9.0f}{pct(fast, 95):>9.0f}"
                  f"{max(fast):>9.0f}{len(slow):>7}"
                  f"{statistics.median(slow_ms) if slow_ms else float('nan'):>12.0f}"
                  f"{max(slow_ms) if slow_ms else float('nan'):>12.0f}  {statuses!s:<14}"
                  f"{rss0:.0f} -> {rss1:.0f}")
    finally:
        proc.terminate()
        proc.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
