"""Indexing benchmark: text-first indexing end to end, against each of its stages timed
alone in the same run.

Input: the real files of bbc-news (tar.gz), fakenewsnet-content (jsonl.gz) and
saudinewsnet-ar (zips), read by the real readers — about 10,000 articles. ``--limit N``
takes a proportional slice (written to a temporary folder) for a quicker run;
``--english-only`` leaves saudinewsnet-ar out (an archive whose text is nearly all for
NER: what the entity stage costs beside a cheap text pass).

Baselines, in this process: reading, cleanup, language detection (langdetect on every
article, once), filling in language and outlet, bare Whoosh writing of the resulting
documents (``writing.write_generation`` with procs=1 and procs=2; the indexer's pick,
``writing.writer_procs(fresh=True, input_bytes=...)``, is the one the text ratio uses),
NER alone (a fresh pool of the same N processes running spaCy on every article the
indexer sends to NER, pool start and model load included), NER in 1 process (a sample),
SQLite FTS5 writing (for scale).

End to end, ``python -m search index PATHS --index DIR --quiet`` as a subprocess, each
run into a fresh index directory (so a cold enrichment cache), its figures read from
the summary it prints (``IndexReport``'s ``text_seconds``, ``seconds``, ``enriched``):

- **text**: seconds until every article is searchable by text ÷ the sum of the baseline
  stages reading + cleanup + language + fill-in + bare writing. Goal ≤ 1.3.
- **entities**: English articles (those NER ran on) ÷ the run's whole ``seconds`` (the
  run ends once every entity is in), ÷ the rate of NER alone with as many processes.
  Goal ≥ 0.8. The rate counted from the end of the text stage is printed for context.
- the same two with ``--cluster local:N`` (a Dask ``LocalCluster``) in place of the
  local pool (``--no-cluster`` skips it); its entities also against NER alone on a
  fresh ``local:N`` cluster (B'), which separates what indexing costs the cluster from
  what Dask itself costs against the local pool.
- CPU seconds by role (indexer, Whoosh writer processes, NER workers, ...) until the
  entities are all in, and the cores left idle (``--cpu-timeline S`` prints each role's
  use every S seconds).
- **memory**: the indexer process and all its descendants (Whoosh writer processes, NER
  workers, the forkserver, the Dask nanny and workers) sampled every 0.2 s with psutil;
  the peak of the summed RSS and, where ``/proc/PID/smaps_rollup`` is readable, of the
  summed PSS (shared pages counted once). Goal ≤ 2 GB, judged on PSS when there is one.
- **queries while enrichment runs**: a third run (local pool) with a separate process
  (its own interpreter, so not the indexer's GIL) that, from the moment ``DIR/current``
  exists until the run ends, runs a fixed query set in a loop through
  ``search.query.service.search`` with every facet counted (the engine's API, as a
  server calls it; reopening a generation after a commit is part of the query that
  notices it). Its p50/p95 beside the same query set in a fresh process on the finished
  index (one untimed pass that opens it, then ``--query-passes`` passes). The loop runs
  queries back to back, a whole core's worth of load: this run's own text and entity
  times show what such a load costs the indexer. ``--no-query-load`` skips it.

Then, in this process: ``--rebuild`` of everything with a warm enrichment cache (against
bare writing with as many writer processes) and ``index`` over unchanged paths.

The machine is shared: other work on it shows in every figure, baselines included,
which is why each ratio is taken against a baseline measured in the same run.

    .venv/bin/python -m bench.indexing --limit 2000
    .venv/bin/python -m bench.indexing            # everything (~10k articles; ≈ 20 minutes)
    .venv/bin/python -m bench.indexing --no-cluster --no-query-load --no-warm   # text + entities
    .venv/bin/python -m bench.indexing --english-only --no-cluster --no-query-load --no-warm
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import multiprocessing
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search.ingest import writing  # noqa: E402
from search.ingest.enrich.cache import cache_key  # noqa: E402
from search.ingest.enrich.cleanup import clean  # noqa: E402
from search.ingest.enrich.entities import NER_LANGUAGES  # noqa: E402
from search.ingest.enrich.language import detect_language  # noqa: E402
from search.ingest.enrich.pipeline import apply  # noqa: E402
from search.ingest.enrich.pipeline import joined_text  # noqa: E402
from search.ingest.indexer import index_paths  # noqa: E402
from search.ingest.readers import read_file  # noqa: E402
from search.ingest.workers import make_enricher  # noqa: E402
from search.models import Entities  # noqa: E402
from search.schema import LANG  # noqa: E402
from search.schema import OUTLET  # noqa: E402

CORPORA = ROOT.parent / "shared" / "corpora"
BBC = CORPORA / "bbc-news" / "bbc-fulltext.tar.gz"
FNN = CORPORA / "fakenewsnet-content" / "fakenewsnet_news_content.jsonl.gz"
SAUDI = sorted((CORPORA / "saudinewsnet-ar").glob("*.zip"))
FULL = {"bbc": 2225, "fnn": 2037, "saudi": 6010}
GB = 1024 ** 3
# How often the memory of the indexer's process tree is sampled.
SAMPLE_SECONDS = 0.2
# The query set of the load: common and rare words, a phrase, OR, English and Arabic,
# a language filter, an outlet filter, and the empty query (every article, every facet:
# the front page). Every request counts every facet.
QUERIES = [
    ("football", {}),
    ("government", {}),
    ('"prime minister"', {}),
    ("election", {}),
    ("mobile phone", {}),
    ("film OR music", {}),
    ("trump", {}),
    ("said", {}),
    ("السعودية", {}),
    ("وزير الصحة", {}),
    ("economy", {LANG: ("en",)}),
    ("police", {OUTLET: ("BBC",)}),
    ("", {}),
]


def timed(fn, repeat: int = 1, before=None):
    """(median seconds, last result) of ``repeat`` calls; ``before()`` runs untimed
    ahead of each."""
    times, out = [], None
    for _ in range(repeat):
        if before:
            before()
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def slices(limit: int | None, tmp: Path) -> tuple[list[Path], list[Path]]:
    """(English files, Arabic files): the originals, or proportional slices of them."""
    if limit is None:
        return [BBC, FNN], SAUDI
    total = sum(FULL.values())
    share = {k: max(1, limit * n // total) for k, n in FULL.items()}
    with tarfile.open(BBC) as tar:
        members = [m for m in tar.getmembers() if m.isfile() and m.name.endswith(".txt")
                   and m.name.count("/") == 2][::max(1, FULL["bbc"] // share["bbc"])]
        for m in members[:share["bbc"]]:
            (tmp / "bbc" / m.name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / "bbc" / m.name).write_bytes(tar.extractfile(m).read())
    with gzip.open(FNN, "rt", encoding="utf-8") as f:
        lines = [line for _, line in zip(range(share["fnn"]), f)]
    (tmp / "fnn.jsonl").write_text("".join(lines), encoding="utf-8")
    records = []
    for z in SAUDI:
        with zipfile.ZipFile(z) as zf:
            records += json.loads(zf.read(zf.namelist()[0]).decode("utf-8"))
    (tmp / "saudi.json").write_text(json.dumps(records[:share["saudi"]], ensure_ascii=False),
                                    encoding="utf-8")
    return [tmp / "bbc", tmp / "fnn.jsonl"], [tmp / "saudi.json"]


def read_all(paths: list[Path]) -> list:
    from search.ingest.readers import discover

    out = []
    for f in discover(paths, lambda e: None):
        out.extend(read_file(f, lambda e: None))
    return out


def input_bytes(paths: list[Path]) -> int:
    """The size of the files the indexer reads under ``paths`` (what it sizes its writer by)."""
    from search.ingest.readers import discover

    return sum(f.stat().st_size for f in discover(paths, lambda e: None))


def fts5_write(articles: list, path: Path) -> None:
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    db.execute("CREATE VIRTUAL TABLE a USING fts5(id UNINDEXED, title, body, tokenize='porter')")
    db.executemany("INSERT INTO a VALUES (?, ?, ?)",
                   [(a.id, a.title or "", a.body or "") for a in articles])
    db.commit()
    db.close()


def ner_pool(articles: list, processes: int, model: str | None, cluster: str = "") -> None:
    """NER alone with a fresh pool of ``processes`` workers, or on a fresh Dask cluster
    (``cluster``, e.g. ``local:2``), start-up included."""
    from search.ingest.cluster import ClusterBatches
    from search.ingest.workers import Batches

    batches = (ClusterBatches(cluster, model) if cluster
               else Batches(processes, model, make_enricher(model)))
    try:
        for i in range(0, len(articles), 16):
            batches.submit(i, articles[i:i + 16])
            for _ in batches.ready():
                pass
        for _ in batches.drain():
            pass
    finally:
        batches.close()


def size_of(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


# -- the indexer as a subprocess: its process tree's memory, its summary -------------

def _pss_bytes(pid: int) -> int | None:
    """The process's proportional set size from ``/proc/PID/smaps_rollup`` (None when
    unreadable: another kernel, another user, or the process is gone)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


class TreeMemory(threading.Thread):
    """Samples the summed RSS and PSS of a process and all its descendants until stopped.

    :param pid: the root of the tree (the indexer subprocess)
    """

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.halt = threading.Event()
        self.samples = 0
        self.peak_rss = self.peak_pss = 0
        self.pss_samples = 0  # samples where every process's PSS was readable
        self.peak_procs = 0
        self.at_peak: list[tuple[str, int]] = []  # (process, PSS or RSS) at the peak
        # CPU seconds (user + system) of every process seen, by pid: (role, seconds), and
        # after each sample (seconds since the root started, {role: CPU seconds so far}).
        self.cpu: dict[int, tuple[str, float]] = {}
        self.cpu_timeline: list[tuple[float, dict[str, float]]] = []

    def cpu_at(self, elapsed: float) -> dict[str, float]:
        """CPU seconds by role up to ``elapsed`` seconds after the root started (the last
        sample at or before it)."""
        found: dict[str, float] = {}
        for t, by_role in self.cpu_timeline:
            if t > elapsed:
                break
            found = by_role
        return found

    def run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
            created = root.create_time()
        except psutil.NoSuchProcess:
            return
        while not self.halt.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
                root_cmd = root.cmdline()
            except (psutil.NoSuchProcess, psutil.ZombieProcess):
                return
            rss = pss = 0
            parts = []
            pss_ok = True
            for p in procs:
                try:
                    r = p.memory_info().rss
                    if p.pid == self.pid:
                        name = "indexer"
                    elif p.ppid() != self.pid and "forkserver" in " ".join(p.cmdline()):
                        name = "NER worker"  # forked by the forkserver, whose command it shows
                    else:
                        name = _role(p.cmdline(), root_cmd)
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    continue
                if not name:
                    # an exited process not yet reaped shows no command line: it keeps
                    # the role it was seen with (a Whoosh writer's CPU went to a role
                    # named "" in one run)
                    seen = self.cpu.get(p.pid)
                    name = seen[0] if seen and seen[0] else "exited process"
                try:
                    times = p.cpu_times()
                    self.cpu[p.pid] = (name, times.user + times.system)
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    pass
                s = _pss_bytes(p.pid)
                if s is None and p.is_running():
                    pss_ok = False  # unreadable, not just gone since it was listed
                rss += r
                pss += s or 0
                parts.append((name, s if s is not None else r))
            by_role: dict[str, float] = {}
            for name, seconds in self.cpu.values():
                by_role[name] = by_role.get(name, 0.0) + seconds
            self.cpu_timeline.append((time.time() - created, by_role))
            self.samples += 1
            self.pss_samples += pss_ok
            self.peak_procs = max(self.peak_procs, len(parts))
            if rss > self.peak_rss:
                self.peak_rss = rss
            if pss_ok and pss > self.peak_pss:
                self.peak_pss = pss
                self.at_peak = sorted(parts, key=lambda x: -x[1])
            self.halt.wait(SAMPLE_SECONDS)


def _role(cmdline: list[str], root_cmd: list[str]) -> str:
    """What a process of the indexer's tree is, from its command line."""
    text = " ".join(cmdline)
    if cmdline == root_cmd:
        return "fork of the indexer (Whoosh writer)"
    for marker, role in (("forkserver", "forkserver"), ("resource_tracker", "resource tracker"),
                         ("spawn_main", "spawned worker (NER / Dask)")):
        if marker in text:
            return role
    return text[:40]


def cpu_steps(tree: TreeMemory, step: float, start: float) -> list[str]:
    """Lines of the cores each role kept busy in each ``step`` seconds of the run (its
    clock starting ``start`` seconds after the process did)."""
    lines, before, t = [], {}, start
    end = tree.cpu_timeline[-1][0] if tree.cpu_timeline else 0.0
    while t < end:
        now = tree.cpu_at(t + step)
        busy = {role: (secs - before.get(role, 0.0)) / step for role, secs in now.items()}
        lines.append(f"   {t - start:6.0f} s: " + ", ".join(
            f"{role[:12]} {c:.2f}" for role, c in sorted(busy.items()) if c >= 0.05))
        before, t = now, t + step
    return lines


@dataclass
class Run:
    """One ``python -m search index`` subprocess: its summary and its tree's memory."""

    label: str
    indexed: int
    enriched: int
    text_seconds: float
    seconds: float
    commits: int
    pending: int
    wall: float
    memory: TreeMemory
    queries: dict | None = None
    total_seconds: float = 0.0  # the run's own, entity stage and what follows included
    cluster: str = ""  # the --cluster value, if any


_SUMMARY = {
    "indexed": re.compile(r"Indexed ([\d,]+) articles? from"),
    "text": re.compile(r"Searchable by text after ([\d.]+) s \(([\d,]+) commits?\)"),
    "enriched": re.compile(r"NER ran on ([\d,]+) articles?"),
    "seconds": re.compile(r"\(gen-\d+, ([\d.]+) s\)"),
    "pending": re.compile(r"([\d,]+) articles? still wait for entities"),
    # when the entity stage ended (the stages after it, resolution and stories, follow)
    "entities": re.compile(r"all in after ([\d.]+) s"),
}


def _num(text: str) -> float:
    return float(text.replace(",", ""))


def index_subprocess(label: str, paths: list[Path], index_dir: Path, log: Path, *,
                     processes: int, cluster: str = "", commit_seconds: float | None = None,
                     query_load: bool = False) -> Run:
    """Run ``python -m search index PATHS --index DIR --quiet`` into a fresh ``index_dir``,
    sampling its process tree's memory; with ``query_load``, a query process loops over
    :data:`QUERIES` on the live index from its first commit to the run's end.

    :raises SystemExit: when the indexer fails or its summary cannot be read (its output
        is in ``log``)
    """
    shutil.rmtree(index_dir, ignore_errors=True)
    env = {k: v for k, v in os.environ.items()
           if k not in ("NEWSFACET_CLUSTER", "NEWSFACET_INDEX", "NEWSFACET_NER_PROCESSES")}
    if commit_seconds is not None:
        env["NEWSFACET_COMMIT_SECONDS"] = str(commit_seconds)
    cmd = [sys.executable, "-m", "search", "index", *map(str, paths), "--index", str(index_dir),
           "--quiet", *(["--cluster", cluster] if cluster else ["--processes", str(processes)])]
    loader = None
    if query_load:
        ctx = multiprocessing.get_context("spawn")
        ready, stop = ctx.Event(), ctx.Event()
        out = log.with_suffix(".queries.json")
        loader = ctx.Process(target=query_loop, args=(str(index_dir), str(out), ready, stop),
                             kwargs={"t0": time.time()})
        loader.start()
        if not ready.wait(120):
            loader.terminate()
            raise SystemExit("the query process did not start in 120 s")
    started_wall = time.time()
    t = time.perf_counter()
    with open(log, "w", encoding="utf-8") as out_f:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out_f, stderr=subprocess.STDOUT)
        memory = TreeMemory(proc.pid)
        memory.start()
        code = proc.wait()
    wall = time.perf_counter() - t
    memory.halt.set()
    memory.join()
    queries = None
    if loader is not None:
        stop.set()
        loader.join(60)
        if loader.is_alive():
            loader.terminate()
        queries = json.loads(out.read_text()) if out.exists() else {"latencies": [],
                                                                    "errors": {"no output": 1}}
        queries["started_wall"] = started_wall
    text = log.read_text(encoding="utf-8", errors="replace")
    found = {k: rx.search(text) for k, rx in _SUMMARY.items()}
    if code != 0 or not all(found[k] for k in ("indexed", "text", "seconds")):
        print(text[-3000:], file=sys.stderr)
        raise SystemExit(f"{label}: `{' '.join(cmd)}` exited {code} (output above, in {log})")
    seconds = _num(found["entities"][1]) if found["entities"] else _num(found["seconds"][1])
    return Run(label, int(_num(found["indexed"][1])),
               int(_num(found["enriched"][1])) if found["enriched"] else 0,
               _num(found["text"][1]), seconds, int(_num(found["text"][2])),
               int(_num(found["pending"][1])) if found["pending"] else 0, wall, memory, queries,
               _num(found["seconds"][1]), cluster)


def query_loop(index_dir: str, out: str, ready, stop, *, t0: float = 0.0,
               passes: int | None = None, warmup: bool = False) -> None:
    """Run :data:`QUERIES` through ``service.search`` in a loop: from the moment
    ``index_dir/current`` exists until ``stop`` is set, or ``passes`` times (after one
    untimed pass with ``warmup``: the generation opened, as in a running server). Writes
    ``{"latencies": [ms...], "errors": {message: count}, "passes", "first_ok": seconds
    after t0, "first_total": articles the empty query saw first}`` to ``out``.
    Runs in its own process (spawned)."""
    from search.models import SearchRequest
    from search.query import service

    requests = [SearchRequest(q=q, filters=f) for q, f in QUERIES]
    current = Path(index_dir) / "current"
    ready.set()
    while not current.exists() and not (stop is not None and stop.is_set()):
        time.sleep(0.02)
    if warmup:
        for req in requests:
            try:
                service.search(index_dir, req)
            except Exception:  # noqa: BLE001, S110 - counted in the timed passes
                pass
    latencies: list[float] = []
    errors: dict[str, int] = {}
    first_ok = first_ok_wall = first_total = last_total = None
    done = 0
    while not (stop is not None and stop.is_set()) and (passes is None or done < passes):
        for req in requests:
            t = time.perf_counter()
            try:
                res = service.search(index_dir, req)
            except Exception as e:  # noqa: BLE001 - counted and reported, the loop goes on
                key = f"{type(e).__name__}: {str(e)[:200]}"
                errors[key] = errors.get(key, 0) + 1
                # A loop of instant failures would take a whole core from the indexer.
                time.sleep(0.05)
                continue
            latencies.append((time.perf_counter() - t) * 1000)
            if first_ok is None:
                first_ok_wall = time.time()
                first_ok = first_ok_wall - t0
            if not req.q:
                first_total = res.total if first_total is None else first_total
                last_total = res.total
        done += 1
    Path(out).write_text(json.dumps({"latencies": latencies, "errors": errors, "passes": done,
                                     "first_ok": first_ok, "first_ok_wall": first_ok_wall,
                                     "first_total": first_total,
                                     "last_total": last_total}), encoding="utf-8")


def finished_queries(index_dir: Path, out: Path, passes: int) -> dict:
    """The query set ``passes`` times in a fresh process on the finished index, after a
    pass that opens the generation (a server that has been running)."""
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    p = ctx.Process(target=query_loop, args=(str(index_dir), str(out), ready, None),
                    kwargs={"t0": time.time(), "passes": passes, "warmup": True})
    p.start()
    p.join()
    return json.loads(out.read_text())


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0-1) of ``values`` (nearest rank); NaN when empty."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


# -- the table ------------------------------------------------------------------------

class Table:
    """Rows of (stage, articles, seconds, rate, ratio, goal, result, note), printed once."""

    def __init__(self):
        self.rows: list[tuple] = []

    def stage(self, stage: str, n: int | None, seconds: float | None, note: str = "") -> None:
        rate = n / seconds if n and seconds else None
        self.rows.append((stage, n, seconds, rate, None, "", "", note))
        shown = f"{seconds:.1f} s" if seconds is not None else ""
        print(f"  … {stage}: {n if n is not None else ''} {shown} {note}".rstrip(),
              file=sys.stderr, flush=True)

    def target(self, stage: str, n: int | None, seconds: float | None, ratio: float,
               goal: float, higher: bool, note: str = "", rate: float | None = None) -> None:
        if rate is None:
            rate = n / seconds if n and seconds else None
        ok = ratio >= goal if higher else ratio <= goal
        self.rows.append((stage, n, seconds, rate, ratio,
                          f"{'≥' if higher else '≤'} {goal:g}", "PASS" if ok else "FAIL", note))

    def line(self, text: str) -> None:
        self.rows.append((text,))

    def print(self) -> None:
        print(f"{'stage':62} {'articles':>8} {'seconds':>8} {'art/s':>8} {'ratio':>6} "
              f"{'goal':>7} {'result':>6}  note")
        for r in self.rows:
            if len(r) == 1:
                print(r[0])
                continue
            stage, n, secs, rate, ratio, goal, result, note = r

            def f(v, fmt):
                return format(v, fmt) if v is not None else ""
            print(f"{stage:62} {f(n, '8d')} {f(secs, '8.1f')} {f(rate, '8.1f')} "
                  f"{f(ratio, '6.2f')} {goal:>7} {result:>6}  {note}".rstrip())


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, help="articles in all (proportional slices)")
    ap.add_argument("--processes", type=int, default=2,
                    help="NER workers (local pool), and the N of --cluster local:N")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each cheap stage")
    ap.add_argument("--ner-sample", type=int, default=150, help="articles for 1-process NER")
    ap.add_argument("--no-cluster", action="store_true", help="skip the --cluster local:N run")
    ap.add_argument("--no-query-load", action="store_true",
                    help="skip the run with queries on the live index")
    ap.add_argument("--english-only", action="store_true",
                    help="bbc-news and fakenewsnet-content only (no saudinewsnet-ar)")
    ap.add_argument("--no-warm", action="store_true",
                    help="skip --rebuild with a warm cache and the unchanged-paths run")
    ap.add_argument("--query-passes", type=int, default=10,
                    help="passes of the query set on the finished index (the baseline), "
                         "after one untimed pass")
    ap.add_argument("--commit-seconds", type=float,
                    help="NEWSFACET_COMMIT_SECONDS for the indexer runs (default: the setting)")
    ap.add_argument("--cpu-timeline", type=float, metavar="SECONDS",
                    help="also print each run's CPU use by role in steps of SECONDS")
    ap.add_argument("--keep", type=Path, help="keep the temporary folder here (logs, indexes)")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="newsfacet-bench-indexing-"))
    table = Table()
    n_proc = args.processes
    try:
        en_files, ar_files = slices(args.limit, tmp / "data")
        paths = en_files if args.english_only else en_files + ar_files
        load = os.getloadavg()

        # -- baselines: each stage of the text pass alone ---------------------------------
        read_secs, raw = timed(lambda: read_all(paths), args.repeat)
        table.stage("reading (readers)", len(raw), read_secs)
        clean_secs, cleaned = timed(lambda: [clean(a) for a in raw], args.repeat)
        table.stage("cleanup", len(cleaned), clean_secs)
        lang_secs, langs = timed(lambda: [detect_language(joined_text(a)) for a in cleaned])
        table.stage("language (langdetect, every article, once)", len(cleaned), lang_secs)
        apply_secs, articles = timed(lambda: [apply(a, lang, Entities())
                                              for a, lang in zip(cleaned, langs)], args.repeat)
        table.stage("language, outlet and date filled in", len(articles), apply_secs)
        unique = list({a.id: a for a in articles}.values())
        picked = writing.writer_procs(fresh=True, input_bytes=input_bytes(paths))
        write_secs = {}
        for procs in (1, 2):
            folder = tmp / f"bare-{procs}"
            write_secs[procs], _ = timed(
                lambda procs=procs, folder=folder: writing.write_generation(unique, folder,
                                                                           procs=procs),
                args.repeat, before=lambda folder=folder: shutil.rmtree(folder,
                                                                        ignore_errors=True))
            table.stage(f"bare Whoosh writing, procs={procs}", len(unique), write_secs[procs],
                        "(the indexer's pick)" if procs == picked else "")
        text_base = read_secs + clean_secs + lang_secs + apply_secs + write_secs[picked]
        table.stage(f"= text baseline: the five above, procs={picked}", len(unique), text_base)
        fts_secs, _ = timed(lambda: fts5_write(unique, tmp / "fts.sqlite"), args.repeat)
        table.stage("(for scale) SQLite FTS5 (porter) writing", len(unique), fts_secs)

        # -- baseline: NER alone --------------------------------------------------------
        # The texts the indexer runs NER on: articles with the same cleaned text share
        # one enrichment (the cache's key), so NER alone runs once per distinct text too.
        # (Before 2026-11-29 it ran on all 4,008 English articles of the full input where
        # the indexer ran on 3,885, and B compared rates per article: right only if the
        # repeated texts cost what the others do.)
        enricher = make_enricher(None)
        english = list({cache_key(a, enricher.version): a
                        for a in unique if a.lang in NER_LANGUAGES}.values())
        enricher.enrich(english[:2])  # load the model outside the timing
        sample = english[: args.ner_sample]
        secs, _ = timed(lambda: enricher.enrich(sample))
        table.stage("NER alone, 1 process (sample)", len(sample), secs)
        tree = TreeMemory(os.getpid())  # its CPU: this process and the pool's
        tree.start()
        ner_secs, _ = timed(lambda: ner_pool(english, n_proc, None))
        tree.halt.set()
        tree.join()
        table.stage(f"NER alone, {n_proc} processes (pool start, model load incl.)",
                    len(english), ner_secs)
        if tree.cpu_timeline:
            first, last = tree.cpu_timeline[0][1], tree.cpu_timeline[-1][1]
            parts = {role: secs - first.get(role, 0.0) for role, secs in last.items()}
            table.line("   CPU s of NER alone: " + ", ".join(
                f"{'this process' if role == 'indexer' else role} {secs:.0f}"
                for role, secs in sorted(parts.items(), key=lambda x: -x[1])))
        ner_rate = len(english) / ner_secs
        ner_rates = {"": ner_rate}
        if not args.no_cluster:
            secs, _ = timed(lambda: ner_pool(english, n_proc, None, f"local:{n_proc}"))
            table.stage(f"NER alone, --cluster local:{n_proc} (cluster start, model load incl.)",
                        len(english), secs)
            ner_rates[f"local:{n_proc}"] = len(english) / secs
        # What B can reach at all: when every core is busy, the run cannot end before the
        # CPU work of both stages is done. Each baseline above ran in one process (procs=1
        # writing), so its wall time is its CPU time; NER alone kept n_proc processes busy.
        cores = os.cpu_count() or 1
        cpu_text = read_secs + clean_secs + lang_secs + apply_secs + write_secs[1]
        cpu_ner = ner_secs * min(n_proc, cores)
        ceiling = ner_secs / max(ner_secs, (cpu_ner + cpu_text) / cores)
        table.line(f"   B cannot pass {ceiling:.2f} here: NER alone ≈ {cpu_ner:.0f} CPU s, the text "
                   f"pass ≈ {cpu_text:.0f} CPU s (the stages above, procs=1), both on {cores} "
                   f"cores ≥ {(cpu_ner + cpu_text) / cores:.0f} s")

        # -- end to end, the indexer as a subprocess ------------------------------------
        runs = [("pool", f"--processes {n_proc}", "", False)]
        if not args.no_cluster:
            runs.append(("cluster", f"--cluster local:{n_proc}", f"local:{n_proc}", False))
        if not args.no_query_load:
            runs.append(("queries", f"--processes {n_proc}, queries running", "", True))
        done: dict[str, Run] = {}
        for key, label, cluster, queries in runs:
            done[key] = index_subprocess(label, paths, tmp / f"ix-{key}", tmp / f"{key}.log",
                                         processes=n_proc, cluster=cluster,
                                         commit_seconds=args.commit_seconds,
                                         query_load=queries)
            r = done[key]
            print(f"  … index {label}: text {r.text_seconds:.1f} s ({r.commits} commits), "
                  f"all {r.seconds:.1f} s, {r.enriched} enriched, {r.pending} pending, "
                  f"peak PSS {r.memory.peak_pss / GB:.2f} GB", file=sys.stderr, flush=True)

        for key, run in done.items():
            table.line(f"-- index {run.label} (subprocess, fresh dir, cold cache; "
                       f"{run.commits} commits, wall {run.wall:.1f} s) --")
            table.target("A. searchable by text (text_seconds) / text baseline", run.indexed,
                         run.text_seconds, run.text_seconds / text_base, 1.3, higher=False)
            rate = run.enriched / run.seconds if run.seconds else 0.0
            table.target("B. English entities all in / NER alone", run.enriched,
                         run.seconds, rate / ner_rate, 0.8, higher=True,
                         note=f"{len(english)} English in the baseline" if run.enriched != len(english)
                         else "")
            if run.cluster:
                # The same, against NER alone on the same kind of cluster: what indexing
                # costs the cluster's rate, its own overheads apart.
                table.target(f"B'. the same / NER alone on {run.cluster}", run.enriched,
                             run.seconds, rate / ner_rates[run.cluster], 0.8, higher=True)
            after = run.seconds - run.text_seconds
            table.stage("   (context) English / seconds after the text stage", run.enriched,
                        after, f"ratio to NER alone {run.enriched / after / ner_rate:.2f}"
                        if after > 0 else "")
            # Where the CPU went until the entities were all in (the run's clock starts after
            # its imports: the process's wall time less the run's own seconds).
            start = max(0.0, run.wall - run.total_seconds)
            used = run.memory.cpu_at(start + run.seconds)
            if used:
                cores = os.cpu_count() or 1
                parts = ", ".join(f"{role} {secs:.0f}" for role, secs in
                                  sorted(used.items(), key=lambda x: -x[1]))
                spare = cores * (start + run.seconds) - sum(used.values())
                table.line(f"   CPU s until entities all in: {parts}; idle {spare:.0f} of "
                           f"{cores} cores x {start + run.seconds:.0f} s")
            if args.cpu_timeline:
                for line in cpu_steps(run.memory, args.cpu_timeline, start):
                    table.line(line)
            if run.pending:
                table.line(f"   {run.pending} articles still waiting for entities at the end!")
            m = run.memory
            peak, what = (m.peak_pss, "PSS") if m.pss_samples and m.peak_pss else (m.peak_rss,
                                                                                       "RSS")
            top = ", ".join(f"{name} {v / 2**20:.0f} MB" for name, v in m.at_peak[:6])
            table.target(f"C. peak memory of the process tree ({what}), GB", None, None,
                         peak / GB, 2.0, higher=False,
                         note=f"RSS {m.peak_rss / GB:.2f} GB, PSS {m.peak_pss / GB:.2f} GB, "
                         f"up to {m.peak_procs} processes, {m.samples} samples "
                              f"({m.pss_samples} with every PSS)")
            if top:
                table.line(f"   at the PSS peak: {top}")

        if "queries" in done:
            q = done["queries"].queries
            base = finished_queries(tmp / "ix-queries", tmp / "finished.queries.json",
                                    args.query_passes)
            live_lat, base_lat = q["latencies"], base["latencies"]
            p50, p95 = percentile(live_lat, 0.5), percentile(live_lat, 0.95)
            first = (q["first_ok_wall"] - q["started_wall"] if q.get("first_ok_wall")
                     else float("nan"))
            b50, b95 = percentile(base_lat, 0.5), percentile(base_lat, 0.95)
            table.line("-- queries (service.search, every facet) in a separate process --")
            table.stage(f"D. while the index is built: p50 {p50:.1f} ms, p95 {p95:.1f} ms",
                        len(live_lat), None,
                        f"{q['passes']} passes; first answer {first:.1f} s after the "
                        f"indexer started, seeing {q['first_total']} articles")
            table.stage(f"   finished index (baseline): p50 {b50:.1f} ms, p95 {b95:.1f} ms",
                        len(base_lat), None, f"{base['passes']} passes")
            table.line(f"   p95 while building / finished: {p95 / b95:.2f}" if base_lat
                       else "   no baseline latency")
            for name, d in (("while building", q), ("finished", base)):
                for msg, count in d["errors"].items():
                    table.line(f"   ERRORS {name}: {count} x {msg}")

        # -- warm cache and unchanged paths (in this process) ---------------------------
        if not args.no_warm:
            ix = tmp / "ix-pool"
            secs, rebuilt = timed(lambda: index_paths(paths, ix, rebuild=True,
                                                      processes=n_proc))
            table.target(f"--rebuild, warm cache / bare writing procs={picked}",
                         rebuilt.indexed, secs, rebuilt.indexed / secs / (
                             len(unique) / write_secs[picked]), 0.9, higher=True,
                         note=f"{rebuilt.enriched} enriched, in this process, 1 run")
            secs, unchanged = timed(lambda: index_paths(paths, ix, processes=n_proc),
                                    args.repeat)
            table.target("index over unchanged paths, articles/s", unchanged.unchanged, secs,
                         unchanged.unchanged / secs, 5000, higher=True)

        raw_bytes = sum(len((a.title or "").encode()) + len((a.body or "").encode())
                        for a in unique)
        print(f"\nIndexing benchmark: {len(raw)} records, {len(unique)} articles "
              f"({len(english)} for NER), {n_proc} NER processes, "
              f"{'--limit ' + str(args.limit) if args.limit else 'full'}, cheap stages median "
              f"of {args.repeat}; load average at start {load[0]:.2f} {load[1]:.2f} "
              f"{load[2]:.2f} on {os.cpu_count()} cores (shared machine)\n")
        table.print()
        if "pool" in done:
            size = size_of(tmp / "ix-pool" / "current")
            print(f"\nindex size {size / 1e6:.1f} MB for {raw_bytes / 1e6:.1f} MB of title+body "
                  f"text ({size / raw_bytes:.2f}x); FTS5 "
                  f"{(tmp / 'fts.sqlite').stat().st_size / 1e6:.1f} MB")
    finally:
        if args.keep:
            shutil.copytree(tmp, args.keep, dirs_exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
