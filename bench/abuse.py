"""Abuse: the most expensive requests a client can send, and what each one costs the server.

Written against the HTTP interface only: a real ``newsfacet serve`` subprocess on
127.0.0.1 and a free port (loopback only), over the index of ``bench.query_speed``
(real bbc-news, fakenewsnet-content and saudinewsnet-ar texts replicated to
``--articles``, fixed-seed entities and dates; built once, cached under /tmp, shared
with that bench).

For each candidate request (40-odd of them: common words, long phrases, huge slop,
wildcards, fuzzy terms, long OR chains, deep parentheses, many fields and filters,
deep pages, long facet lists, browse-everything sorts, the article page, export and
feeds where they exist, non-ASCII digits in parameters):

* **time** — the request alone on the server, ``--runs`` times, each run measured once;
  the median, and the first run beside it (a first run much slower than the rest is a
  cache: decoded postings kept by the index generation, or a result cache). A streamed
  export is judged by its first byte.
* **status** — HTTP status, or ``timeout`` (the client waited ``--timeout`` seconds),
  ``runaway`` (a timeout after which the server's memory still grows over 10 MB/s: it
  is on its way to being killed by the kernel) or ``died`` (the server process is gone
  or no longer answers).
* **RSS** — the server's resident memory growth during the request alone: the peak
  (``VmHWM`` after resetting it through ``/proc/<pid>/clear_refs``, and ``VmRSS``
  sampled every 10 ms) minus ``VmRSS`` before; the largest of the runs.
* **other client** — while the request runs again (repeated for at least ``--window``
  seconds), a second client sends ``/api/search?q=football`` over and over; its p50 and
  p95. The same client alone on the idle server is the baseline, in the same run.

The dangerous candidates (those that have killed the server) run last; a dead server
is reported as ``died`` and restarted for what is left. Every request has a client
timeout, the server is killed above ``--max-server-mb`` of memory (a shared machine),
and the ordinary candidates stop once ``--seconds`` are spent. It prints the ten most
expensive requests with PASS/FAIL against the goals: no request over 2 s (a streamed
export: first byte within 2 s), no RSS growth over 200 MB, the other client's p95
under 100 ms meanwhile. Exit status 0 always: it is a benchmark, not a test.

Run from the repository root::

    .venv/bin/python -m bench.abuse                        # 50,000 articles
    .venv/bin/python -m bench.abuse --articles 20000
    .venv/bin/python -m bench.abuse --quick                # 5,000 articles, one run each
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from urllib.parse import quote
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._server import HOST  # noqa: E402
from bench._server import alive  # noqa: E402
from bench._server import cpu_seconds  # noqa: E402
from bench._server import free_port  # noqa: E402
from bench._server import start_server  # noqa: E402
from bench._server import stop_server  # noqa: E402
from bench.corpus import ORGS  # noqa: E402
from bench.corpus import PEOPLE  # noqa: E402
from bench.corpus import PLACES  # noqa: E402
from bench.query_speed import ensure  # noqa: E402

SERVER_LOG = Path("/tmp/newsfacet-abuse-server.log")
GOAL_SECONDS = 2.0
GOAL_RSS_MB = 200.0
GOAL_OTHER_P95_MS = 100.0
CHEAP = "/api/search?q=football"
# The server's default MAX_QUERY_LENGTH: the longest queries are built up to it (a
# server with a lower limit answers them with a cheap 400, which is fine).
MAX_Q = 1000
# Frequent, non-stop words of the corpus (stop words are dropped by the analyser).
COMMON = ["said", "year", "people", "government", "new", "time", "world", "told", "market",
          "company", "first", "last", "two", "also", "would", "could", "make", "made",
          "take", "country", "minister", "public", "number", "week", "million", "percent",
          "three", "years", "added", "back", "state", "former", "home", "news", "report",
          "police", "work", "game", "games", "film", "music", "firm", "sales", "china",
          "music", "party", "election", "labour", "plan", "plans", "part", "deal"]
# A response body is read to its end, up to this much (an export of everything).
MAX_BYTES = 512 * 1024 * 1024
# Runs of a request alone stop repeating once one takes this long.
LONG_SECONDS = 10.0
# RSS growth after a timeout that counts as runaway (the request will exhaust memory).
RUNAWAY_MB_S = 10.0
AR_2005 = "\u0662\u0660\u0660\u0665"  # 2005 in Arabic-Indic digits
FW_2005 = "\uff12\uff10\uff10\uff15"  # 2005 in fullwidth digits


# --- the requests ------------------------------------------------------------------------

@dataclass
class Candidate:
    """One request to try: its label, its path (ASCII, percent-encoded) and how to treat it."""
    label: str
    path: str
    dangerous: bool = False  # has killed the server: run last
    streamed: bool = False   # judged by its first byte
    optional: bool = False   # an endpoint that may not exist yet: a 404 is skipped


def url(path: str, *pairs: tuple[str, str]) -> str:
    """``path`` with the pairs as a percent-encoded query string."""
    return path + ("?" + urlencode(pairs, quote_via=quote) if pairs else "")


def chain(sep: str, words, limit: int = MAX_Q, fmt: str = "{}") -> str:
    """The words (cycled) joined by ``sep``, as many as fit in ``limit`` characters."""
    out: list[str] = []
    i = 0
    while True:
        nxt = fmt.format(words[i % len(words)])
        if len(sep.join(out + [nxt])) > limit:
            return sep.join(out)
        out.append(nxt)
        i += 1


def candidates(article_id: str | None) -> list[Candidate]:
    """Every candidate, the dangerous ones last (in the order they run)."""
    api, page = "/api/search", "/"
    said = ("q", "said")
    nested = "(" * ((MAX_Q - 4) // 2) + "said" + ")" * ((MAX_Q - 4) // 2)
    nested_or = ""
    for w in COMMON:
        nxt = f"({w} OR {nested_or})" if nested_or else w
        if len(nxt) > MAX_Q:
            break
        nested_or = nxt
    prefixes = [a + b for a in "abcdefghilmnoprstw" for b in "aeiou"]
    fields = ('title:said OR body:said OR outlet:BBC OR lang:en OR person:"Tony Blair" OR '
              'org:BBC OR place:London OR title:year OR body:people OR outlet:Reuters OR '
              'person:"Kofi Annan" OR org:UN OR place:Iraq OR date:[1800-01-01 TO 2100-12-31]')
    filters = ([("outlet", "BBC"), ("lang", "en"), ("year", "2005")]
               + [("person", p) for p in PEOPLE] + [("org", o) for o in ORGS]
               + [("place", p) for p in PLACES])[:50]
    mores = [("more", f) for f in ("outlet", "lang", "person", "org", "place", "year", "month")]
    out = [
        Candidate("said (JSON)", url(api, said)),
        Candidate("said (HTML page)", url(page, said)),
        Candidate("said year people (AND)", url(api, ("q", "said year people"))),
        Candidate("browse all, newest", url(api, ("sort", "newest"))),
        Candidate("browse all, oldest, page 1000 (HTML)",
                  url(page, ("sort", "oldest"), ("page", "1000"))),
        Candidate("said, page 1000", url(api, said, ("page", "1000"))),
        Candidate("said, newest, page 1000 (HTML)",
                  url(page, said, ("sort", "newest"), ("page", "1000"))),
        Candidate("said, every facet long (more=x7)", url(api, said, *mores)),
        Candidate("browse all, every facet long (HTML)", url(page, *mores)),
        Candidate("-said (everything but)", url(api, ("q", "-said"))),
        Candidate("NOT said OR NOT year", url(api, ("q", "NOT said OR NOT year"))),
        Candidate("* alone", url(api, ("q", "*"))),
        Candidate("long phrase of common words",
                  url(api, ("q", '"said people year time government world told market"'))),
        Candidate("phrase of stop words", url(api, ("q", '"to be or not to be"'))),
        Candidate('"said market"~1000000', url(api, ("q", '"said market"~1000000'))),
        Candidate('"said market"~1000000 (HTML)', url(page, ("q", '"said market"~1000000'))),
        Candidate("4-word phrase ~1000000",
                  url(api, ("q", '"said people year government"~1000000'))),
        Candidate("s*", url(api, ("q", "s*"))),
        Candidate("a* OR s* OR t* OR c* OR p*", url(api, ("q", "a* OR s* OR t* OR c* OR p*"))),
        Candidate("*a*", url(api, ("q", "*a*"))),
        Candidate("*a* OR *e* OR *i* OR *o* OR *u*",
                  url(api, ("q", "*a* OR *e* OR *i* OR *o* OR *u*"))),
        Candidate("90 prefixes OR-ed (ba* OR be* ...)",
                  url(api, ("q", chain(" OR ", prefixes, fmt="{}*")))),
        Candidate("government~10", url(api, ("q", "government~10"))),
        Candidate("said~10", url(api, ("q", "said~10"))),
        Candidate("fuzzy ~10 OR chain (1000 chars)",
                  url(api, ("q", chain(" OR ", COMMON, fmt="{}~10")))),
        Candidate("OR chain of common words (1000 chars)",
                  url(api, ("q", chain(" OR ", COMMON)))),
        Candidate("AND chain of common words (1000 chars)", url(api, ("q", chain(" ", COMMON)))),
        Candidate("phrase of 1000 chars of common words",
                  url(api, ("q", '"' + chain(" ", COMMON, MAX_Q - 2) + '"'))),
        Candidate("498 nested parentheses", url(api, ("q", nested))),
        Candidate("nested ORs (1000 chars)", url(api, ("q", nested_or))),
        Candidate("many fields OR-ed", url(api, ("q", fields))),
        Candidate("said, date over all time (query)",
                  url(api, ("q", "said date:[1800-01-01 TO 2100-12-31]"))),
        Candidate("said, from 0001-01-01 to 9999-12-31",
                  url(api, said, ("from", "0001-01-01"), ("to", "9999-12-31"))),
        Candidate("date:>=1800-01-01 alone", url(api, ("q", "date:>=1800-01-01"))),
        Candidate("said + 50 filter values", url(api, said, *filters)),
        Candidate("browse + 50 filters, newest, more=x7 (HTML)",
                  url(page, *filters, ("sort", "newest"), *mores)),
        Candidate("said + 51 filter values (over the cap)",
                  url(api, said, *filters, ("outlet", "Reuters"))),
        Candidate("unknown parameters x500 + said",
                  url(api, said, *[(f"x{i}", "y" * 50) for i in range(500)])),
    ]
    if article_id:
        out += [
            Candidate("article page, OR chain highlight",
                      url(f"/article/{article_id}", ("q", chain(" OR ", COMMON)))),
            Candidate("article JSON, said* highlight",
                      url(f"/api/article/{article_id}", ("q", "s* OR a* OR t*"))),
        ]
    out += [
        Candidate("export.csv said", url("/export.csv", said), streamed=True, optional=True),
        Candidate("export.csv everything", "/export.csv", streamed=True, optional=True),
        Candidate("export.jsonl everything", "/export.jsonl", streamed=True, optional=True),
        Candidate("feed.atom said", url("/feed.atom", said), optional=True),
        Candidate("timeline said by day, by outlet",
                  url("/api/timeline", said, ("interval", "day"), ("by", "outlet")),
                  optional=True),
        Candidate("terms said", url("/api/terms", said), optional=True),
        Candidate("compare 5 common words",
                  url("/api/compare", *[("q", w) for w in COMMON[:5]]), optional=True),
        # Non-ASCII digits: str.isdigit() and the regex \d accept them, int() and the
        # date chart may not. Last: a month of them has sent the server into a loop that
        # grows without end (the chart's months between the first and that month).
        Candidate("page=\u00b2 (superscript two)", url(api, said, ("page", "\u00b2")),
                  dangerous=True),
        Candidate("page=\u0661\u0660 (Arabic-Indic 10)",
                  url(api, said, ("page", "\u0661\u0660")), dangerous=True),
        Candidate(f"from={AR_2005}-\u0660\u0661-\u0660\u0661",
                  url(api, said, ("from", f"{AR_2005}-\u0660\u0661-\u0660\u0661")),
                  dangerous=True),
        Candidate(f"q=date:[{AR_2005}-01-01 TO ...]",
                  url(api, ("q", f"said date:[{AR_2005}-01-01 TO {AR_2005}-12-31]")),
                  dangerous=True),
        Candidate(f"year={AR_2005} (HTML, chart)", url(page, said, ("year", AR_2005)),
                  dangerous=True),
        Candidate(f"year={FW_2005} (fullwidth, HTML, chart)", url(page, said, ("year", FW_2005)),
                  dangerous=True),
        Candidate(f"month={AR_2005}-01 (JSON)", url(api, said, ("month", f"{AR_2005}-01")),
                  dangerous=True),
        Candidate(f"month={AR_2005}-01 (HTML, chart)", url(page, ("month", f"{AR_2005}-01")),
                  dangerous=True),
        # BBC's dates span 24 months: the month list is complete, so the chart uses it.
        Candidate(f"month={AR_2005}-01, outlet=BBC (HTML)",
                  url(page, ("outlet", "BBC"), ("month", f"{AR_2005}-01")), dangerous=True),
    ]
    return out


# --- the server's memory -------------------------------------------------------------------

def _status_kb(pid: int, key: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


class Memory(threading.Thread):
    """Samples the server's ``VmRSS`` every 10 ms, keeps the peak since :meth:`reset`,
    and kills the server above ``ceiling_mb`` (other work shares this machine)."""

    def __init__(self, ceiling_mb: float):
        super().__init__(daemon=True)
        self.ceiling_kb = ceiling_mb * 1024
        self.proc: subprocess.Popen | None = None
        self.peak_kb = 0
        self.killed = False
        self.stopping = threading.Event()

    def watch(self, proc: subprocess.Popen) -> None:
        """Follow ``proc`` from now on (a restarted server)."""
        self.proc, self.killed = proc, False

    def rss_kb(self) -> int:
        """The server's ``VmRSS`` now (kB; 0 when it is gone)."""
        return (_status_kb(self.proc.pid, "VmRSS") or 0) if self.proc else 0

    def cpu_seconds(self) -> float:
        """The server's user + system CPU time so far."""
        try:
            return cpu_seconds(self.proc.pid)
        except (OSError, ValueError, IndexError):
            return 0.0

    def reset(self) -> int:
        """Start a new peak; return ``VmRSS`` now (kB)."""
        now = self.rss_kb()
        try:  # "5" resets VmHWM to VmRSS (Linux >= 4.0); the sampling covers its absence
            with open(f"/proc/{self.proc.pid}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass
        self.peak_kb = now
        return now

    def peak(self) -> int:
        """The peak since :meth:`reset` (kB)."""
        hwm = _status_kb(self.proc.pid, "VmHWM") or 0
        return max(self.peak_kb, hwm)

    def run(self) -> None:
        while not self.stopping.wait(0.01):
            proc = self.proc
            if proc is None or proc.poll() is not None:
                continue
            rss = _status_kb(proc.pid, "VmRSS") or 0
            self.peak_kb = max(self.peak_kb, rss)
            if rss > self.ceiling_kb:
                self.killed = True
                proc.kill()

    def settle(self, seconds: float = 60.0) -> None:
        """Wait (at most ``seconds``) until ``VmRSS`` stops growing: the server's
        background warm-up (decoded postings of frequent words) must not count."""
        deadline = time.monotonic() + seconds
        last = self.rss_kb()
        while time.monotonic() < deadline:
            time.sleep(1.0)
            now = self.rss_kb()
            if abs(now - last) < 1024:
                return
            last = now


# --- HTTP ----------------------------------------------------------------------------------

@dataclass
class Reply:
    """What one GET got back, and when."""
    status: int | str  # the HTTP status, or "timeout" / "no answer"
    seconds: float     # to the last byte read
    first_byte: float  # to the first byte of the body
    size: int = 0
    error: str = ""


def get(port: int, path: str, timeout: float) -> Reply:
    """GET ``path`` from 127.0.0.1:``port``, reading the body to its end (or to
    :data:`MAX_BYTES`, or until ``timeout`` seconds in all)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    t0 = time.perf_counter()
    first = None
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        size = len(resp.read(1))
        first = time.perf_counter() - t0
        while size < MAX_BYTES:
            chunk = resp.read(65536)
            if not chunk:
                break
            size += len(chunk)
            if time.perf_counter() - t0 > timeout:
                return Reply("timeout", time.perf_counter() - t0, first, size, "body too slow")
        return Reply(resp.status, time.perf_counter() - t0, first, size)
    except TimeoutError:
        took = time.perf_counter() - t0
        return Reply("timeout", took, first if first is not None else took, 0, "timed out")
    except (OSError, http.client.HTTPException) as e:
        took = time.perf_counter() - t0
        return Reply("no answer", took, first if first is not None else took, 0, repr(e))
    finally:
        conn.close()


class Cheap(threading.Thread):
    """The other client: :data:`CHEAP` over one keep-alive connection until stopped."""

    def __init__(self, port: int, timeout: float):
        super().__init__(daemon=True)
        self.port, self.timeout = port, timeout
        self.stopping = threading.Event()
        self.started_one = threading.Event()
        self.latencies: list[float] = []  # ms
        self.errors: list[str] = []

    def run(self) -> None:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        while not self.stopping.is_set():
            t0 = time.perf_counter()
            self.started_one.set()
            try:
                conn.request("GET", CHEAP)
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    self.errors.append(f"HTTP {resp.status}")
                self.latencies.append((time.perf_counter() - t0) * 1000)
            except (OSError, http.client.HTTPException) as e:
                self.errors.append(repr(e))
                conn.close()
                conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
                self.stopping.wait(0.2)
        conn.close()


def pct(xs: list[float], p: float) -> float:
    """The ``p``-th percentile of ``xs`` (nearest rank), NaN when there are none."""
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


# --- one candidate -------------------------------------------------------------------------

@dataclass
class Result:
    """The measurements of one candidate."""
    cand: Candidate
    replies: list[Reply] = field(default_factory=list)  # alone
    rss_mb: float = float("nan")
    other: list[float] = field(default_factory=list)    # the other client's latencies, ms
    other_errors: int = 0
    beside: list[float] = field(default_factory=list)   # its own times meanwhile, s
    died: bool = False
    killed: bool = False     # by the memory ceiling
    runaway_mb_s: float = 0.0  # after a timeout: how fast the server's RSS still grew
    busy_cpu: float = 0.0      # after a timeout: the server's CPU seconds per second
    skipped: str = ""        # why it was not measured
    log_tail: str = ""       # the server log's last lines, when the server died

    @property
    def status(self) -> int | str:
        """The HTTP status of the first run, or how the server broke."""
        if self.killed:
            return "killed"
        if self.died:
            return "died"
        if self.runaway_mb_s > RUNAWAY_MB_S:
            return "runaway"
        return self.replies[0].status if self.replies else "-"

    def times(self) -> list[float]:
        """The judged time of each run alone (first byte for a streamed response), s."""
        return [r.first_byte if self.cand.streamed else r.seconds for r in self.replies]

    @property
    def time(self) -> float:
        """The median of :meth:`times`."""
        return statistics.median(self.times()) if self.replies else float("nan")

    def failures(self) -> list[str]:
        """The goals this request misses, and how it broke the server if it did."""
        out = []
        if self.killed:
            out.append("server killed over the memory ceiling")
        elif self.died:
            out.append("server died")
        timed_out = any(r.status == "timeout" for r in self.replies)
        if timed_out or (self.replies and self.time > GOAL_SECONDS):
            out.append("time")
        if self.rss_mb > GOAL_RSS_MB:
            out.append("RSS")
        if self.other and pct(self.other, 95) >= GOAL_OTHER_P95_MS:
            out.append("other p95")
        if any(isinstance(r.status, int) and r.status >= 500 for r in self.replies):
            out.append("HTTP 5xx")
        if timed_out:
            out.append(f"timeout; then the server ran on at CPU {self.busy_cpu:.0%}, "
                       f"RSS {self.runaway_mb_s:+.1f} MB/s")
        return out

    def cost(self) -> tuple:
        """Sort key, most expensive first: a dead server, a timeout, then by time."""
        broke = not isinstance(self.status, int)
        return (0 if broke else 1, -(self.time if self.replies else 0.0))


class Bench:
    """The server under test, restarted when a request kills it."""

    def __init__(self, index_dir: Path, opts):
        self.index_dir, self.opts = index_dir, opts
        self.memory = Memory(opts.max_server_mb)
        self.memory.start()
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.restarts = 0

    def start(self) -> float:
        """Start the server and open the index (first search); return that search's seconds."""
        self.port = free_port()
        self.proc, self.how = start_server(self.index_dir, self.port, SERVER_LOG)
        self.memory.watch(self.proc)
        r = get(self.port, "/api/search?q=election", timeout=300)
        if r.status != 200:
            raise SystemExit(f"first search: {r.status} {r.error}; server log: {SERVER_LOG}")
        self.memory.settle()
        get(self.port, CHEAP, timeout=60)
        return r.seconds

    def restart(self) -> None:
        """Stop the server (dead, hung or still busy) and start a fresh one."""
        stop_server(self.proc)
        self.restarts += 1
        self.start()

    def stop(self) -> None:
        """Stop the server and the memory sampler."""
        if self.proc is not None:
            stop_server(self.proc)
        self.memory.stopping.set()

    def alive(self) -> bool:
        """Whether the server runs and answers a static file within 5 s."""
        return alive(self.proc, self.port)

    def baseline(self, seconds: float) -> Cheap:
        """The other client alone on the idle server for ``seconds``."""
        cheap = Cheap(self.port, self.opts.timeout)
        cheap.start()
        time.sleep(seconds)
        cheap.stopping.set()
        cheap.join(self.opts.timeout + 5)
        return cheap

    def measure(self, cand: Candidate) -> Result:
        """Run ``cand`` alone, then again beside the other client; restart a broken server."""
        opts, res = self.opts, Result(cand)
        # Alone: a few runs, each measured once.
        for _ in range(opts.runs):
            base = self.memory.reset()
            reply = get(self.port, cand.path, opts.timeout)
            res.rss_mb = max(0.0 if res.rss_mb != res.rss_mb else res.rss_mb,
                             (self.memory.peak() - base) / 1024)
            res.replies.append(reply)
            if cand.optional and reply.status == 404:
                res.skipped = "404 (no such endpoint yet)"
                return res
            if (not isinstance(reply.status, int) or reply.seconds > LONG_SECONDS
                    or not self.alive()):
                break
        if self.memory.killed or not self.alive():
            return self._broken(res)
        if res.status == "timeout":
            # A request still growing the server's memory will take the server down
            # (the kernel kills it) if nothing else does: measure how fast, then start
            # afresh (a server thread cannot be stopped).
            rss, cpu = self.memory.rss_kb(), self.memory.cpu_seconds()
            time.sleep(2.0)
            res.runaway_mb_s = (self.memory.rss_kb() - rss) / 1024 / 2
            res.busy_cpu = (self.memory.cpu_seconds() - cpu) / 2
            self.restart()
            return res
        # Meanwhile: the other client runs while the request repeats for a window.
        cheap = Cheap(self.port, opts.timeout)
        cheap.start()
        cheap.started_one.wait(1.0)
        t0 = time.monotonic()
        while True:
            reply = get(self.port, cand.path, opts.timeout)
            res.beside.append(reply.first_byte if cand.streamed else reply.seconds)
            if (time.monotonic() - t0 >= opts.window or len(res.beside) >= 200
                    or not isinstance(reply.status, int)):
                break
        cheap.stopping.set()
        cheap.join(opts.timeout + 5)
        res.other, res.other_errors = cheap.latencies, len(cheap.errors)
        if self.memory.killed or not self.alive():
            return self._broken(res)
        if not isinstance(reply.status, int):
            self.restart()
        return res

    def _broken(self, res: Result) -> Result:
        """Record a dead (or killed) server and the end of its log, and restart it."""
        res.killed, res.died = self.memory.killed, not self.memory.killed
        tail = [line for line in SERVER_LOG.read_text(errors="replace").splitlines()
                if line.strip()][-3:]
        res.log_tail = " | ".join(x.strip()[:160] for x in tail)
        self.restart()
        return res


def pick_article(port: int, timeout: float) -> str | None:
    """The longest article among the first hits of a few queries (its page highlights most)."""
    ids: list[str] = []
    for q in ("said", "trump", "government"):
        r = http.client.HTTPConnection(HOST, port, timeout=timeout)
        r.request("GET", url("/api/search", ("q", q)))
        resp = r.getresponse()
        body = resp.read()
        r.close()
        if resp.status == 200:
            ids += [h["id"] for h in json.loads(body)["hits"]]
    best, best_len = None, -1
    for aid in dict.fromkeys(ids):
        r = http.client.HTTPConnection(HOST, port, timeout=timeout)
        r.request("GET", f"/api/article/{aid}")
        resp = r.getresponse()
        body = resp.read()
        r.close()
        if resp.status == 200:
            n = len(json.loads(body)["article"].get("body") or "")
            if n > best_len:
                best, best_len = aid, n
    return best


# --- the report ----------------------------------------------------------------------------

def fmt(x: float, spec: str) -> str:
    """``x`` formatted, or ``-`` for NaN (not measured)."""
    return "-" if x != x else format(x, spec)


def report(results: list[Result], base: Cheap, after: Cheap | None, opts, info: dict) -> None:
    """Print the table of the ten most expensive requests, the other failures and a summary."""
    measured = [r for r in results if r.replies and not r.skipped.startswith("404")]
    measured += [r for r in results if (r.died or r.killed) and r not in measured]
    ranked = sorted(measured, key=Result.cost)
    top = ranked[:10]
    print(f"\n{info['articles']:,} articles; server {info['how']} on 127.0.0.1; first search "
          f"(opens the index) {info['first']:.1f} s; {opts.runs} run(s) alone per request, "
          f"the other client over >= {opts.window:.0f} s meanwhile; client timeout "
          f"{opts.timeout:.0f} s")
    print(f"other client ({CHEAP}) alone on the idle server: p50 "
          f"{statistics.median(base.latencies):.1f} ms, p95 {pct(base.latencies, 95):.1f} ms "
          f"({len(base.latencies)} requests)" + (
              f"; again at the end: p50 {statistics.median(after.latencies):.1f} ms, p95 "
              f"{pct(after.latencies, 95):.1f} ms" if after and after.latencies else ""))
    print("machine load average (1 min) at the start and the end: "
          f"{info['load'][0]:.1f}, {info['load'][1]:.1f} on {os.cpu_count()} cores (other "
          "work shares it: the other client's latencies include its noise)")
    print(f"goals: time <= {GOAL_SECONDS:.0f} s (a streamed export: first byte), RSS growth <= "
          f"{GOAL_RSS_MB:.0f} MB, other client p95 < {GOAL_OTHER_P95_MS:.0f} ms meanwhile\n")
    print(f"The ten most expensive of {len(measured)} requests measured")
    head = (f"{'#':>2}  {'request':<42}{'time s':>8}{'1st s':>8}{'status':>10}{'RSS MB':>8}"
            f"{'other p50':>10}{'p95 ms':>8}  verdict")
    print(head)
    print("-" * len(head))
    for i, r in enumerate(top, 1):
        times = r.times()
        fails = r.failures()
        label = r.cand.label + (" (1st byte)" if r.cand.streamed else "")
        print(f"{i:>2}  {label[:42]:<42}{fmt(r.time, '.2f'):>8}"
              f"{fmt(times[0] if times else float('nan'), '.2f'):>8}{str(r.status):>10}"
              f"{fmt(r.rss_mb, '.0f'):>8}{fmt(pct(r.other, 50), '.0f'):>10}"
              f"{fmt(pct(r.other, 95), '.0f'):>8}  "
              + ("PASS" if not fails else "FAIL: " + ", ".join(fails)))
    print("\nthe requests above:")
    for i, r in enumerate(top, 1):
        print(f"{i:>2}  {r.cand.path[:150]}{' ...' if len(r.cand.path) > 150 else ''}")
    rest_failing = [r for r in ranked[10:] if r.failures()]
    if rest_failing:
        print("\nfailing a goal outside the ten:")
        for r in rest_failing:
            print(f"    {r.cand.label:<42}{fmt(r.time, '.2f'):>8} s  {str(r.status):>9}  "
                  f"RSS {fmt(r.rss_mb, '.0f')} MB  other p95 {fmt(pct(r.other, 95), '.0f')} ms  "
                  f"FAIL: {', '.join(r.failures())}")
    broken = [r for r in measured if r.died or r.killed]
    for r in broken:
        print(f"\n{r.cand.label}: {r.status}; the server log ends: {r.log_tail}")
    skipped = [r for r in results if r.skipped]
    if skipped:
        print("\nnot measured: " + "; ".join(f"{r.cand.label} ({r.skipped})" for r in skipped))
    cached = [r for r in measured if len(r.replies) >= 2 and r.times()[0] > 0.2
              and r.times()[0] > 2 * statistics.median(r.times()[1:])]
    if cached:
        print("first run much slower than the later ones (a cache at work): "
              + ", ".join(f"{r.cand.label} {r.times()[0]:.2f} -> "
                          f"{statistics.median(r.times()[1:]):.2f} s" for r in cached))
    fails = [r for r in measured if r.failures()]
    count = {k: sum(1 for r in measured if any(f.split(";")[0] == k for f in r.failures()))
             for k in ("time", "RSS", "other p95", "server died",
                       "server killed over the memory ceiling", "timeout", "HTTP 5xx")}
    count["runaway"] = sum(1 for r in measured if r.status == "runaway")
    print(f"\nSUMMARY: {len(measured)} requests measured, {len(fails)} fail a goal: "
          f"{count['time']} over {GOAL_SECONDS:.0f} s, {count['RSS']} over {GOAL_RSS_MB:.0f} MB "
          f"RSS growth, {count['other p95']} with the other client's p95 >= "
          f"{GOAL_OTHER_P95_MS:.0f} ms, {count['server died']} killed the server, "
          f"{count['server killed over the memory ceiling']} over the memory ceiling, "
          f"{count['timeout']} timed out "
          f"({count['runaway']} of them with the server's memory still growing), "
          f"{count['HTTP 5xx']} answered 5xx; the server was restarted {info['restarts']} "
          f"time(s). Goals: " + ("ALL PASS" if not fails else "FAIL"))


# --- main ----------------------------------------------------------------------------------

def main(argv=None) -> int:
    """Build or find the index, run every candidate against a fresh server, print the report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=None,
                    help="index size (default 50,000; 5,000 with --quick)")
    ap.add_argument("--seconds", type=float, default=900.0,
                    help="time for the ordinary requests; once spent the rest are skipped "
                         "(the dangerous ones still run)")
    ap.add_argument("--quick", action="store_true",
                    help="one run alone per request, a 1 s window, 5,000 articles by default")
    ap.add_argument("--runs", type=int, default=None, help="runs alone per request (default 3)")
    ap.add_argument("--window", type=float, default=None,
                    help="seconds the request repeats while the other client runs (default 2)")
    ap.add_argument("--timeout", type=float, default=30.0, help="client timeout per request, s")
    ap.add_argument("--max-server-mb", type=float, default=6000.0,
                    help="kill the server above this RSS (the machine is shared)")
    ap.add_argument("--index", type=Path, default=None,
                    help="index directory (default: bench.query_speed's cache for --articles)")
    ap.add_argument("--only", default=None,
                    help="run only the candidates whose label contains this text")
    opts = ap.parse_args(argv)
    opts.articles = opts.articles or (5_000 if opts.quick else 50_000)
    opts.runs = opts.runs or (1 if opts.quick else 3)
    opts.window = opts.window or (1.0 if opts.quick else 2.0)
    if opts.index:
        index_dir = opts.index
    else:
        t0 = time.perf_counter()
        index_dir = ensure(opts.articles, ("whoosh",)) / "whoosh"
        print(f"index: {index_dir} ({time.perf_counter() - t0:.0f} s to build or find)")
    SERVER_LOG.write_bytes(b"")
    bench = Bench(index_dir, opts)
    results: list[Result] = []
    after = None
    try:
        load0 = os.getloadavg()[0]
        first = bench.start()
        print(f"server: {bench.how}, 127.0.0.1:{bench.port}, pid {bench.proc.pid}; "
              f"log {SERVER_LOG}", flush=True)
        base = bench.baseline(3.0 if not opts.quick else 1.5)
        cands = candidates(pick_article(bench.port, opts.timeout))
        if opts.only:
            cands = [c for c in cands if opts.only.lower() in c.label.lower()]
        deadline = time.monotonic() + opts.seconds
        for i, cand in enumerate(cands, 1):
            if not cand.dangerous and time.monotonic() > deadline:
                results.append(Result(cand, skipped="time budget spent"))
                continue
            t0 = time.perf_counter()
            res = bench.measure(cand)
            results.append(res)
            print(f"[{i:>2}/{len(cands)}] {cand.label[:50]:<50} {str(res.status):>9} "
                  f"{fmt(res.time, '.3f')} s  ({time.perf_counter() - t0:.0f} s)", flush=True)
        after = bench.baseline(3.0 if not opts.quick else 1.5)
        info = {"articles": opts.articles, "how": bench.how, "first": first,
                "restarts": bench.restarts, "load": (load0, os.getloadavg()[0])}
    finally:
        bench.stop()
    report(results, base, after, opts, info)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
