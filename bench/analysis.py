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
  and counted; goal ≥ 5,000 rows/s, with the server's resident memory growing ≤ 50 MB:
  the server's whole process tree (the server and the export process it starts beside
  it, :mod:`search.query.export_process`), RSS summed (every 0.05 s) and PSS summed where
  ``/proc/PID/smaps_rollup`` is readable (every 0.5 s), from before the export to its
  end. Meanwhile another client — a process of its own, as another reader's
  browser is — sends plain searches one after another, whose p95 is compared with the
  same client's searches alone just before (goal: within 1.2×, the noise of this shared
  machine). ``--exports`` runs (default 3), each with its own "alone", and their
  medians. The export process kept warm is part of the server's baseline, and shown
  apart: its idle memory, and what a cold one costs to start (start to index open).

Run from the repository root::

    .venv/bin/python -m bench.analysis                 # 50,000 articles
    .venv/bin/python -m bench.analysis --articles 5000 # a quick look
    .venv/bin/python -m bench.analysis --rounds 0      # the exports alone
"""

from __future__ import annotations

import argparse
import csv
import http.client
import io
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
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
from bench._server import settle  # noqa: E402
from bench._server import start_server  # noqa: E402
from bench._server import stop_server  # noqa: E402
from bench.query_speed import ensure  # noqa: E402
from bench.query_speed import memory_mb  # noqa: E402
from search.query.export_process import ExportProcess  # noqa: E402

QUERIES = ["election", "football", "mobile phone", "oil prices", "government", "music",
           "film award", "economy growth", "internet", "police", "Blair", "China",
           "world cup", "court ruling", "health", "bank", "prices OR rates", "minister",
           "company shares", "technology"]
WARM = ["budget", "tennis", "election campaign", "software", "actor"]
# The other client's searches alone, before each export: about as many as it makes during
# one (a p95 of 60 is the third slowest, one hiccup of a shared machine).
ALONE = 12 * len(QUERIES)
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


def searching(port: int, queries: list[str], count: int, stop, out) -> None:
    """Another client, in a process of its own (as another reader's browser is): plain
    searches one after another, ``count`` of them or until ``stop`` is set; each one's
    start (``time.time()``) and latency (ms) are put on ``out``."""
    got: list[tuple[float, float]] = []
    i = 0
    while (count and i < count) or (not count and not stop.is_set()):
        began = time.time()
        status, _, ms = get(port, f"/api/search?{urlencode({'q': queries[i % len(queries)]})}")
        if status == 200:
            got.append((began, ms))
        i += 1
    out.put(got)


def other_client(port: int, queries: list[str], count: int = 0):
    """Start :func:`searching` in a new process: ``(process, stop event, result queue)``."""
    ctx = multiprocessing.get_context("spawn")
    stop, out = ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=searching, args=(port, queries, count, stop, out), daemon=True)
    proc.start()
    return proc, stop, out


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process descended from it (read from ``/proc/*/stat``)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                    # the name is in parentheses and may hold spaces: fields after the last ")"
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo += [c for c, parent in parents.items() if parent == p]
    return tree


def tree_memory(pid: int, tree: list[int] | None = None, pss: bool = True) -> dict:
    """The memory of ``pid``'s whole process tree in MB: ``rss``, ``anon``, ``file``
    summed, with ``pss`` the PSS summed when every process's ``smaps_rollup`` is
    readable; with ``server`` (``pid`` alone, the same keys) and ``procs`` (how many).

    :param tree: the tree's processes, when known (listing every process costs ~1 ms)
    """
    total: dict[str, float] = {}
    server: dict[str, float] = {}
    pss_everywhere = pss
    procs = 0
    for p in tree or process_tree(pid):
        try:
            m = memory_mb(p, pss)
        except OSError:  # ended meanwhile
            continue
        procs += 1
        if p == pid:
            server = m
        pss_everywhere &= "pss" in m
        for k, v in m.items():
            total[k] = total.get(k, 0.0) + v
    if not pss_everywhere:
        total.pop("pss", None)
    return {**total, "server": server, "procs": procs}


def export_under_load(port: int, pid: int, searches: list[str]) -> dict:
    """Stream /export.csv of everything while another client searches; sample the
    memory of the server's process tree.

    The other client is a process of its own: as a thread of this one, its searches
    waited for this process's GIL behind the CSV parsing of the export (its own
    latency, not the server's)."""
    before = tree_memory(pid)
    peak = {k: v for k, v in before.items() if isinstance(v, float)}
    peak["procs"] = before["procs"]
    stop = threading.Event()

    peak["server_rss"] = before["server"]["rss"]

    def sample():
        # Light enough not to be what slows the other client: RSS every 0.05 s, the
        # process list and PSS every 0.5 s (a PSS read walks the server's page tables).
        n = 0
        while not stop.is_set():
            if n % 10 == 0:
                tree = process_tree(pid)
            m = tree_memory(pid, tree, pss=n % 10 == 0)
            n += 1
            for k, v in m.items():
                if isinstance(v, (int, float)):
                    peak[k] = max(peak.get(k, 0.0), v)
            peak["server_rss"] = max(peak["server_rss"], m["server"].get("rss", 0.0))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    client, client_stop, client_out = other_client(port, searches)
    time.sleep(0.5)  # the other client is searching when the export starts
    began = time.time()
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=600)
    conn.request("GET", "/export.csv?q=")
    r = conn.getresponse()
    total = int(r.getheader("X-Total-Count") or 0)
    # Saved as it arrives, as `curl -o` or a browser's download does, and parsed once it
    # is all in: a CSV parser in Python beside the server would take a core of the two
    # the server and the other client share (the rows/s would be the parser's).
    with tempfile.TemporaryFile() as saved:
        shutil.copyfileobj(r, saved, 1 << 20)
        secs = time.perf_counter() - t0
        ended = time.time()
        conn.close()
        saved.seek(0)
        rows = sum(1 for _ in csv.reader(io.TextIOWrapper(saved, encoding="utf-8",
                                                           newline="")))
    client_stop.set()
    # the searches that started and ended while the export ran
    during = [ms for start, ms in client_out.get() if start >= began and start + ms / 1000 <= ended]
    client.join()
    stop.set()
    sampler.join()
    after = tree_memory(pid)
    return {"rows": rows - 1, "total": total, "secs": secs, "before": before,
            "peak": peak, "after": after, "during": during}


def export_in_own_process(index_dir: Path, port: int, searches: list[str]) -> tuple[float, list[float]]:
    """Control: the same export by ``newsfacet export`` in a process of its own (no GIL
    shared with the server), while the other client searches; ``(seconds, latencies)``.
    What the searches lose here is the machine's (two cores shared by the server, the
    export and both clients), not the server's."""
    client, client_stop, client_out = other_client(port, searches)
    time.sleep(0.5)
    began = time.time()
    subprocess.run([sys.executable, "-m", "search", "export", "", "--index", str(index_dir),
                    "--quiet", "-o", os.devnull], cwd=ROOT, check=True)
    ended = time.time()
    client_stop.set()
    during = [ms for start, ms in client_out.get() if start >= began and start + ms / 1000 <= ended]
    client.join()
    return ended - began, during


def cold_export_process(index_dir: Path) -> dict:
    """Start an export process as the server does, wait until it has the index open:
    its start-to-ready and open times (ms) and its idle memory (MB)."""
    proc = ExportProcess(str(index_dir))
    try:
        proc.wait_ready()
        time.sleep(0.5)  # what it allocates just after it said so
        return {"ready_ms": proc.ready_ms, "open_ms": proc.open_ms, **memory_mb(proc.pid)}
    finally:
        proc.kill()


def searches_alone(port: int, searches: list[str], count: int) -> list[float]:
    """The other client's search latencies (ms) with nothing else running."""
    client, _, out = other_client(port, searches, count)
    got = [ms for _, ms in out.get()]
    client.join()
    return got


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=3,
                    help="passes of the timeline query set (0: the export alone)")
    ap.add_argument("--exports", type=int, default=3,
                    help="exports under load, each after the other client searching alone")
    args = ap.parse_args(argv)
    index_dir = ensure(args.articles, ("whoosh",)) / "whoosh"
    log = Path(tempfile.mkdtemp(prefix="newsfacet-bench-analysis-")) / "serve.log"
    port = free_port()
    cold = [cold_export_process(index_dir) for _ in range(3)]
    proc, how = start_server(index_dir, port, log)
    try:
        # open and warm: the first search opens the index; a few more warm its lists
        get(port, "/api/search?q=warm")
        for q in WARM:
            get(port, f"/api/search?{urlencode({'q': q})}")
            get(port, f"/api/timeline?{urlencode({'q': q})}")
        # Measured in the steady state, once the server's background decoding of its
        # frequent words is done (it takes a core for a minute at 50,000 articles).
        settled = settle(proc.pid)
        print(f"{args.articles:,} articles, {how}, load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores; "
              f"the server was idle {settled:.0f} s after its warm-up searches\n")
        started = tree_memory(proc.pid)
        search, timeline = timeline_vs_search(port, args.rounds) if args.rounds else ([], [])
        words = top_words(port) if args.rounds else []
        runs = []
        for _ in range(args.exports):
            baseline = searches_alone(port, QUERIES, ALONE)
            runs.append((baseline, export_under_load(port, proc.pid, QUERIES)))
        control_alone = searches_alone(port, QUERIES, ALONE)
        control_secs, control_during = export_in_own_process(index_dir, port, QUERIES)
    finally:
        stop_server(proc)

    print(f"{'figure':58} {'value':>14} {'goal':>10} {'result':>6}  note")
    ready = statistics.median(c["ready_ms"] for c in cold)
    row("export process, cold: start to index open (ms), median of 3", f"{ready:,.0f}",
        note=f"of which the open {statistics.median(c['open_ms'] for c in cold):,.0f} ms; "
             f"idle RSS {statistics.median(c['rss'] for c in cold):.0f} MB"
             + (f", PSS {statistics.median(c['pss'] for c in cold):.0f} MB"
                if all("pss" in c for c in cold) else ""))
    srv = started["server"]
    row("server at rest, warmed: process tree RSS (MB)", f"{started['rss']:.0f}",
        note=f"{started['procs']} processes; the server {srv['rss']:.0f} MB, the warm export "
             f"process {started['rss'] - srv['rss']:.0f} MB"
             + (f"; PSS tree {started['pss']:.0f} MB" if "pss" in started else ""))
    if search:
        s50, t50 = statistics.median(search), statistics.median(timeline)
        row("plain search /api/search p50 / p95 (ms)", f"{s50:.1f} / {pct(search, .95):.1f}",
            note=f"{len(search)} requests")
        row("timeline /api/timeline?interval=month p50 / p95 (ms)",
            f"{t50:.1f} / {pct(timeline, .95):.1f}", note=f"{len(timeline)} requests")
        ratio = t50 / s50
        row("timeline p50 / search p50", f"{ratio:.2f}", "≤ 1.5",
            "PASS" if ratio <= 1.5 else "FAIL")
    if words:
        w50 = statistics.median(ms for _, _, ms, _ in words)
        row("top words /api/terms p50, queries matching ≥ 10,000 (ms)", f"{w50:.0f}", "≤ 300",
            "PASS" if w50 <= 300 else "FAIL", f"{len(words)} queries")
        for q, total, ms, top in words:
            row(f"   {q!r}: {total:,} matches", f"{ms:.0f} ms", note=", ".join(top))
    for n, (baseline, ex) in enumerate(runs, 1):
        rate = ex["rows"] / ex["secs"]
        row(f"export /export.csv, every article: rows / s (run {n})", f"{rate:,.0f}", "≥ 5,000",
            "PASS" if rate >= 5000 else "FAIL",
            f"{ex['rows']:,} rows (X-Total-Count {ex['total']:,}) in {ex['secs']:.1f} s")
        before, peak = ex["before"], ex["peak"]
        grow = peak["rss"] - before["rss"]
        anon = peak.get("anon", 0) - before.get("anon", 0)
        row("   server tree resident memory growth during the export (MB)", f"{grow:.0f}",
            "≤ 50", "PASS" if grow <= 50 else "FAIL",
            f"RSS {before['rss']:.0f} -> peak {peak['rss']:.0f} MB over {before['procs']}"
            f"-{peak['procs']} processes; anon +{anon:.0f} MB, file-backed (index pages "
            f"mapped) +{peak.get('file', 0) - before.get('file', 0):.0f} MB; the server "
            f"alone +{peak['server_rss'] - before['server']['rss']:.0f} MB")
        if "pss" in before and "pss" in peak:
            g = peak["pss"] - before["pss"]
            row("   server tree PSS growth during the export (MB)", f"{g:.0f}", "≤ 50",
                "PASS" if g <= 50 else "FAIL", f"PSS {before['pss']:.0f} -> peak "
                f"{peak['pss']:.0f} MB; the server alone RSS {before['server']['rss']:.0f} "
                f"MB before, the export process {before['rss'] - before['server']['rss']:.0f} MB")
        b95, d95 = pct(baseline, .95), pct(ex["during"], .95)
        row("   other client's plain search p95 alone / during (ms)", f"{b95:.1f} / {d95:.1f}",
            "≤ 1.2×", "PASS" if d95 <= 1.2 * b95 else "FAIL",
            f"p50 {statistics.median(baseline):.1f} / {statistics.median(ex['during']):.1f}; "
            f"{len(baseline)} / {len(ex['during'])} searches; ratio {d95 / b95:.2f}")
    b95, d95 = pct(control_alone, .95), pct(control_during, .95)
    row("control: `newsfacet export` in its own process: search p95 alone / during",
        f"{b95:.1f} / {d95:.1f}",
        note=f"p50 {statistics.median(control_alone):.1f} / "
             f"{statistics.median(control_during):.1f}; ratio {d95 / b95:.2f}; the export "
             f"{args.articles / control_secs:,.0f} rows/s")
    if len(runs) > 1:
        rates = [ex["rows"] / ex["secs"] for _, ex in runs]
        ratios = [pct(ex["during"], .95) / pct(b, .95) for b, ex in runs]
        row("export medians over the runs: rows / s; search p95 ratio",
            f"{statistics.median(rates):,.0f}; {statistics.median(ratios):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
