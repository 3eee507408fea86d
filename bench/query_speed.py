"""Query speed: Newsfacet (``service.search``) beside SQLite FTS5 and tantivy, same run.

Corpus: real texts of bbc-news, fakenewsnet-content and saudinewsnet-ar (the loaders of
``bench/corpus.py``), replicated with new ids to each size of ``--articles`` (default
50,000; several sizes in one run, e.g. ``--articles 50000 200000``; the first 50,000
articles of the larger corpus are those of the smaller). Built **without NER**: entities
are a fixed-seed pick from short lists of real names, and BBC articles get a fixed-seed
date in 2004–2005. The indexes are cached under ``/tmp/newsfacet-bench-query-vN-files/nSIZE/``
(N: the schema version; never in the repository) and reused between runs; a build
streams the records (no list of all of them) and its time and peak memory are printed.
The Newsfacet index is built only through ``search.ingest.writing.write_generation``.

Rows (``--engines``, default all): ``newsfacet`` (``service.search``), ``whoosh-path``
(the same call with the NumPy evaluator switched off, i.e. Whoosh's own matcher as
before), ``fts5`` and ``tantivy``. Every query asks each engine for the top 10 hits with
a highlighted snippet and the counts of all seven facets (outlet, year, month, lang,
person, org, place) over every match. Newsfacet: one ``service.search`` per query (one
searcher, reused). FTS5 (porter): ``bm25()`` top 10 with ``snippet()``, matches put in a
temp table once, seven GROUP BYs (entities through a side table). tantivy: top 10 and one
``terms`` aggregation per facet. Warm-up runs a different query set; each measured query
runs once per engine. The same queries at every size.

Per size: each engine's p50/p95, Newsfacet's parts (parse, search, facets, snippets) and
query kinds, and this process's RSS growth at the open of the size's generation. Then
``newsfacet serve`` (a real subprocess, one per size, ``--workers 1``): the time from
its start to the first answered ``/api/search`` (the server opens the index on its first
search), that first query's time, its RSS (anon and file parts) and PSS after startup,
the first query, the warm-up and the measured queries (sent over HTTP, one at a time),
and their p50/p95. Last, the tables across sizes: latency, Newsfacet/other ratios, the
growth from the smallest to the largest size, memory, the server, builds and the goals
(p50 <= 15 and p95 <= 60 ms at 50,000; p95 <= 40 ms at 200,000, issue 11).

Run from the repository root::

    .venv/bin/python -m bench.query_speed                 # 50,000 articles, 240 queries
    .venv/bin/python -m bench.query_speed --articles 50000 200000 --engines newsfacet,fts5,tantivy
    .venv/bin/python -m bench.query_speed --articles 5000 --queries 200 --no-serve
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpus import PEOPLE  # noqa: E402
from bench.corpus import iter_records  # noqa: E402
from search.ingest import writing  # noqa: E402
from search.schema import FACETS  # noqa: E402
from search.schema import SCHEMA_VERSION  # noqa: E402

# Keyed by schema version: an index of an older schema would be measured wrongly.
# "-files": segments as separate files (writing.open_writer); an older cache holds compound
# segments, whose readers copy the index into memory. "-inlineN": rare terms' postings
# inlined in the terms table (writing.INLINE_POSTINGS); an older cache has none.
CACHE = Path(f"/tmp/newsfacet-bench-query-v{SCHEMA_VERSION}-files"
             f"-inline{writing.INLINE_POSTINGS}")
WORDS = ["election", "football", "government", "film", "music", "minister", "economy", "market",
         "company", "police", "court", "england", "china", "oil", "bank", "technology", "mobile",
         "internet", "games", "tax", "trump", "labour", "iraq", "chelsea", "growth", "sales",
         "award", "virus", "security", "president", "budget", "club", "player", "shares",
         "profit", "report", "health", "school", "prices", "war"]
WARM_WORDS = ["album", "coach", "judge", "drug", "fans", "voters", "weather", "network",
              "studio", "league", "prison", "airline", "union", "crisis", "energy", "debt"]
PHRASES = ["prime minister", "mobile phone", "world cup", "interest rates", "general election",
           "chief executive", "human rights", "oil prices", "stock market", "film festival",
           "white house", "fox news", "said on", "last year", "united states"]
WARM_PHRASES = ["climate change", "box office", "rugby union", "home secretary", "red cross"]
WARM_PREFIXES = ["athlet", "hospit", "judg", "weath", "cricket"]
PREFIXES = ["elect", "econom", "footb", "govern", "tech", "compan", "music", "minist", "inter",
            "presid"]
TARGET_P50, TARGET_P95 = 15.0, 60.0


# --- corpus and indexes ----------------------------------------------------------------

# (articles, index, seconds, peak RSS MB of this process, of its largest child) per build
# of this run, for the summary.
BUILT: list[tuple[int, str, float, float, float]] = []


def peak_rss_mb() -> tuple[float, float]:
    """Peak resident memory (MB) so far of this process and of its largest waited-for child
    (the Whoosh writer processes)."""
    import resource

    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def build_whoosh(recs, index_dir: Path) -> None:
    from search.ingest.writing import write_generation
    from search.models import Article
    from search.models import Entities

    write_generation((Article(id=r["id"], source=f"bench/{r['id']}", record=None,
                              title=r["title"], body=r["body"], outlet=r["outlet"],
                              lang=r["lang"], published=r["published"],
                              entities=Entities(person=r["person"], org=r["org"],
                                                place=r["place"])) for r in recs),
                     index_dir, procs=2)


def build_fts(recs, path: Path) -> None:
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE docs(id INTEGER PRIMARY KEY, title, body, outlet, year, month, lang,
                          published);
        CREATE VIRTUAL TABLE fts USING fts5(title, body, content='docs', content_rowid='id',
                                           tokenize='porter unicode61 remove_diacritics 2');
        CREATE TABLE ents(doc INTEGER, kind TEXT, value TEXT);
    """)
    # One record at a time (no list of n rows); one transaction for all of them.
    for i, r in enumerate(recs, start=1):
        p = r["published"]
        db.execute("INSERT INTO docs VALUES (?,?,?,?,?,?,?,?)",
                   (i, r["title"], r["body"], r["outlet"], f"{p:%Y}" if p else None,
                    f"{p:%Y-%m}" if p else None, r["lang"], p.isoformat() if p else None))
        db.executemany("INSERT INTO ents VALUES (?,?,?)",
                       [(i, k, v) for k in ("person", "org", "place") for v in r[k]])
    db.execute("INSERT INTO fts(fts) VALUES ('rebuild')")
    db.execute("CREATE INDEX ents_doc ON ents(doc)")
    db.commit()
    db.close()


def tantivy_schema():
    import tantivy

    b = tantivy.SchemaBuilder()
    b.add_text_field("title", stored=True, tokenizer_name="en_stem")
    b.add_text_field("body", stored=True, tokenizer_name="en_stem")
    for f in FACETS:
        b.add_text_field(f, stored=True, fast=True, tokenizer_name="raw")
    b.add_date_field("published", fast=True, indexed=True)
    return b.build()


def build_tantivy(recs, path: Path) -> None:
    import tantivy

    path.mkdir(parents=True)
    ix = tantivy.Index(tantivy_schema(), path=str(path))
    w = ix.writer(heap_size=256_000_000, num_threads=2)
    for r in recs:
        p = r["published"]
        doc = dict(title=r["title"], body=r["body"], outlet=r["outlet"], lang=r["lang"],
                   person=list(r["person"]), org=list(r["org"]), place=list(r["place"]))
        if p:
            doc.update(year=f"{p:%Y}", month=f"{p:%Y-%m}", published=p.replace(tzinfo=None))
        w.add_document(tantivy.Document(**doc))
    w.commit()
    w.wait_merging_threads()


def ensure(n: int, engines: tuple[str, ...] = ("whoosh", "fts", "tantivy")) -> Path:
    """The cache folder of ``n`` articles, with the indexes of ``engines`` built in it.

    ``bench.abuse`` asks for ``("whoosh",)`` alone and shares this cache: the Newsfacet
    index is at ``ensure(n) / "whoosh"``.
    """
    base = CACHE / f"n{n}"
    todo = [(base / "whoosh", build_whoosh), (base / "fts.sqlite", build_fts),
            (base / "tantivy", build_tantivy)]
    todo = [(p, b) for p, b in todo if p.stem in engines]
    if all(p.exists() for p, _ in todo):
        return base
    base.mkdir(parents=True, exist_ok=True)
    for p, build in todo:
        if not p.exists():
            t0 = time.perf_counter()
            tmp = p.with_name(p.name + ".building")
            # What an interrupted build left behind: no builder expects to find it there.
            if tmp.is_dir():
                shutil.rmtree(tmp)
            elif tmp.exists():
                tmp.unlink()
            # Each builder streams its own pass over the records: none holds n at once.
            build(iter_records(n), tmp)
            tmp.rename(p)
            secs = time.perf_counter() - t0
            own, child = peak_rss_mb()
            BUILT.append((n, p.name, secs, own, child))
            print(f"built {p.name} of {n:,} articles: {secs:.0f} s (peak RSS so far: this "
                  f"process {own:.0f} MB, largest child {child:.0f} MB)", flush=True)
    return base


# --- queries ---------------------------------------------------------------------------

def make_queries(rng: random.Random, count: int, words, phrases=PHRASES,
                 prefixes=PREFIXES) -> list[tuple]:
    kinds = ["word", "and", "or", "phrase", "prefix", "title", "outlet", "person", "date"]
    out = []
    for i in range(count):
        k = kinds[i % len(kinds)]
        a, b = rng.sample(words, 2)
        if k == "phrase":
            a = rng.choice(phrases)
        elif k == "prefix":
            a = rng.choice(prefixes)
        elif k == "person":
            b = rng.choice(PEOPLE)
        elif k == "date":
            y = rng.randrange(2004, 2019)
            b = (f"{y}-01-01", f"{y}-06-30")
        out.append((k, a, b))
    return out


def as_newsfacet(q):
    k, a, b = q
    return {"word": a, "and": f"{a} {b}", "or": f"{a} OR {b}", "phrase": f'"{a}"',
            "prefix": f"{a}*", "title": f"title:{a}", "outlet": f"outlet:BBC {a}",
            "person": f'person:"{b}" {a}', "date": f"{a} date:[{b[0]} TO {b[1]}]"}[k]


def as_fts(q):
    """(MATCH text, extra SQL condition on docs d, parameters)."""
    k, a, b = q
    match = {"word": a, "and": f"{a} AND {b}", "or": f"{a} OR {b}", "phrase": f'"{a}"',
             "prefix": f"{a}*", "title": f"title:{a}", "outlet": a, "person": a, "date": a}[k]
    if k == "outlet":
        return match, "AND d.outlet = ?", ["BBC"]
    if k == "person":
        return match, "AND d.id IN (SELECT doc FROM ents WHERE kind='person' AND value=?)", [b]
    if k == "date":
        return match, "AND d.published BETWEEN ? AND ?", [b[0], b[1] + "T23:59:59.999999"]
    return match, "", []


def as_tantivy(q):
    k, a, b = q
    return {"word": a, "and": f"{a} AND {b}", "or": f"{a} OR {b}", "phrase": f'"{a}"',
            "prefix": a, "title": f"title:{a}", "outlet": f"+outlet:BBC +{a}",
            "person": f'+person:"{b}" +{a}',
            "date": f"+{a} +published:[{b[0]}T00:00:00Z TO {b[1]}T23:59:59Z]"}[k]


def tantivy_query(ix, q):
    """The parsed query; a prefix as a regex query on title and body (tantivy's parser
    reads ``word*`` only at the end of a phrase), over the stemmed terms."""
    import re

    import tantivy

    if q[0] != "prefix":
        return ix.parse_query(as_tantivy(q), ["title", "body"])
    pattern = re.escape(q[1]) + ".*"
    return tantivy.Query.boolean_query(
        [(tantivy.Occur.Should, tantivy.Query.regex_query(ix.schema, f, pattern))
         for f in ("title", "body")])


def shared_words(warm, measured) -> int:
    from search import analysis

    def words(qs):  # the searched words (not the person names or dates of the filters)
        texts = [q[1] for q in qs] + [q[2] for q in qs if q[0] in ("and", "or")]
        return {t.text for text in texts for t in analysis.analyzer("en")(text)}

    return len(words(warm) & words(measured))


# --- engines ---------------------------------------------------------------------------

# Newsfacet calls stopped by the search's time budget (QUERY_TIMEOUT), by query text: a
# busy machine can push a query past it; it is counted, not fatal.
TIMEOUTS: list[str] = []


def run_newsfacet(index_dir, q, parts, rows=None):
    from search.errors import QueryTimeoutError
    from search.models import SearchRequest
    from search.query import service

    try:
        r = service.search(index_dir, SearchRequest(q=as_newsfacet(q), page_size=10))
    except QueryTimeoutError:
        TIMEOUTS.append(as_newsfacet(q))
        if rows is not None:  # one row per call, in step with the timings
            rows.append((as_newsfacet(q) + "  [stopped by QUERY_TIMEOUT]", 0, {}))
        return None
    assert len(r.facets) == len(FACETS) and (len(r.hits) == 10 or r.total < 10), q
    for key, v in r.timings.items():
        parts.setdefault(key, []).append(v)
    if rows is not None:  # per query, to show where the slowest ones spend their time
        rows.append((as_newsfacet(q), r.total, dict(r.timings)))
    return r.total


def run_whoosh_path(index_dir, q):
    """``service.search`` with the NumPy evaluator switched off: every query through
    Whoosh's own matcher (all matches, then the ranked top 10), as before it existed."""
    from search.query import rank

    real = rank.evaluate
    rank.evaluate = lambda gen, q: None
    try:
        return run_newsfacet(index_dir, q, {})
    finally:
        rank.evaluate = real


def newsfacet_generation(index_dir):
    """The open generation (for its counters): NumPy-evaluated vs Whoosh-fallback queries."""
    from search.query import generation

    return generation._slots[str(Path(index_dir).resolve())].gen


def run_fts(db, q):
    match, cond, params = as_fts(q)
    db.execute("DELETE FROM m")
    db.execute(f"INSERT INTO m SELECT d.id FROM fts JOIN docs d ON d.id = fts.rowid "
               f"WHERE fts MATCH ? {cond}", [match, *params])
    db.execute(f"SELECT d.id, d.title, snippet(fts, 1, '<mark>', '</mark>', '…', 30) FROM fts "
               f"JOIN docs d ON d.id = fts.rowid WHERE fts MATCH ? {cond} "
               f"ORDER BY bm25(fts, 2.0, 1.0) LIMIT 10", [match, *params]).fetchall()
    total = db.execute("SELECT count(*) FROM m").fetchone()[0]
    for f in FACETS[:4]:
        db.execute(f"SELECT d.{f}, count(*) c FROM m JOIN docs d ON d.id = m.id "
                   f"WHERE d.{f} IS NOT NULL GROUP BY d.{f} ORDER BY c DESC, d.{f} LIMIT 11"
                   ).fetchall()
    for f in FACETS[4:]:
        db.execute("SELECT e.value, count(*) c FROM m JOIN ents e ON e.doc = m.id "
                   "WHERE e.kind = ? GROUP BY e.value ORDER BY c DESC, e.value LIMIT 11",
                   [f]).fetchall()
    return total


def run_tantivy(ix, searcher, q):
    import tantivy

    query = tantivy_query(ix, q)
    res = searcher.search(query, 10)
    snip = tantivy.SnippetGenerator.create(searcher, query, ix.schema, "body")
    for _, addr in res.hits:
        snip.snippet_from_doc(searcher.doc(addr)).to_html()
    aggs = {f: {"terms": {"field": f, "size": 11}} for f in FACETS}
    searcher.aggregate(query, aggs)
    return res.count


# --- the run ---------------------------------------------------------------------------

ENGINES = ("newsfacet", "whoosh-path", "fts5", "tantivy")
# Which cached index each engine reads.
NEEDS = {"newsfacet": "whoosh", "whoosh-path": "whoosh", "fts5": "fts", "tantivy": "tantivy"}
# Latency goals per size (p50, p95 in ms; None: no goal): issue 11 asks p95 <= 40 at 200k.
GOALS = {50_000: (TARGET_P50, TARGET_P95), 200_000: (None, 40.0)}


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def memory_mb(pid: int | str = "self", pss: bool = True) -> dict[str, float]:
    """Resident memory of process ``pid`` in MB: ``rss`` with its ``anon`` and ``file``
    parts (``/proc/PID/status``), and with ``pss``, ``pss`` when
    ``/proc/PID/smaps_rollup`` is readable (RSS with each shared page divided among the
    processes that map it: ~3 ms of CPU for a 400 MB server, walking its page tables)."""
    out = {}
    keys = {"VmRSS:": "rss", "RssAnon:": "anon", "RssFile:": "file"}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            name = keys.get(line.split()[0])
            if name:
                out[name] = int(line.split()[1]) / 1024
    if not pss:
        return out
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
            for line in f:
                if line.startswith("Pss:"):
                    out["pss"] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return out


def fmt_mem(m: dict[str, float]) -> str:
    pss = f"{m['pss']:>7.0f}" if "pss" in m else f"{'-':>7}"
    return f"{m['rss']:>7.0f}{m.get('anon', 0):>7.0f}{m.get('file', 0):>7.0f}{pss}"


def first_note(first: list[tuple[bool, float]]) -> str:
    """What to add when the first search was stopped by its time budget and sent again."""
    stopped = [ms for ok, ms in first if not ok]
    if not stopped:
        return ""
    return (f" (the first {len(stopped)} call(s) stopped by QUERY_TIMEOUT after "
            f"{', '.join(f'{ms:.0f}' for ms in stopped)} ms, then sent again)")


def measure_size(n: int, base: Path, engines: tuple[str, ...], measured, warm) -> dict:
    """Every engine of ``engines`` over the ``measured`` queries on the ``n``-article
    indexes in ``base``, after the ``warm`` ones; prints the size's table and returns its
    figures."""
    import gc

    opened = {}
    if "fts5" in engines:
        db = sqlite3.connect(base / "fts.sqlite")
        db.execute("CREATE TEMP TABLE m(id INTEGER PRIMARY KEY)")
        opened["fts5"] = lambda q: run_fts(db, q)
    if "tantivy" in engines:
        import tantivy

        tix = tantivy.Index.open(str(base / "tantivy"))
        tix.reload()
        tsearcher = tix.searcher()
        opened["tantivy"] = lambda q: run_tantivy(tix, tsearcher, q)
    whoosh = base / "whoosh"
    parts: dict[str, list[float]] = {}
    rows: list[tuple] = []
    run = {"newsfacet": lambda q: run_newsfacet(whoosh, q, parts, rows),
           "whoosh-path": lambda q: run_whoosh_path(whoosh, q), **opened}
    run = {k: run[k] for k in ENGINES if k in engines}
    out = {"n": n, "engines": tuple(run), "mem": {}}
    gen = None
    if "newsfacet" in run or "whoosh-path" in run:
        gc.collect()
        out["mem"]["before"] = memory_mb()
        t0 = time.perf_counter()
        # Opens the searcher, builds facet arrays; again when the budget stopped the search.
        out["first"] = []
        while len(out["first"]) < 10:
            t = time.perf_counter()
            ok = run_newsfacet(whoosh, warm[0], {}) is not None
            out["first"].append((ok, (time.perf_counter() - t) * 1000))
            if ok:
                break
        out["open_ms"] = (time.perf_counter() - t0) * 1000
        out["mem"]["opened"] = memory_mb()
        gen = newsfacet_generation(whoosh)
        gen.prewarmed.wait()  # the frequent words' postings, decoded in the background
        out["prewarm_s"] = time.perf_counter() - t0
        out["mem"]["prewarmed"] = memory_mb()
    for q in warm:
        for name, f in run.items():
            if name != "whoosh-path":  # the same searcher as newsfacet: warm already
                f(q)
    parts.clear()  # the measured queries' parts only
    rows.clear()
    before = dict(gen.stats) if gen else {}
    times = {k: [] for k in run}
    cpu = {k: [] for k in run}
    by_kind: dict[str, list[float]] = {}
    for q in measured:
        for name, f in run.items():
            t, c = time.perf_counter(), time.thread_time()
            f(q)
            times[name].append((time.perf_counter() - t) * 1000)
            cpu[name].append((time.thread_time() - c) * 1000)
        if "newsfacet" in times:
            by_kind.setdefault(q[0], []).append(times["newsfacet"][-1])
    if gen:
        out["mem"]["queried"] = memory_mb()
    out.update(times=times, cpu=cpu, parts=parts, by_kind=by_kind)

    print(f"\n=== {n:,} articles ===")
    if gen:
        stats = {k: v - before[k] for k, v in gen.stats.items()}
        print(f"{len(gen.tables.live):,} documents, "
              f"{len(list(gen.searcher.reader().leaf_readers()))} segments; {len(measured)} "
              f"measured queries ({len(set(measured))} distinct; warm-up: {len(warm)} others, "
              f"{shared_words(warm, measured)} stemmed words shared with the measured ones); "
              f"first Newsfacet call (open: facet arrays, word lists) {out['open_ms']:.0f} ms"
              f"{first_note(out['first'])}, "
              f"frequent words decoded {out['prewarm_s']:.1f} s after the open began")
        if "newsfacet" in times:
            print(f"Newsfacet: {stats['numpy']} queries evaluated by NumPy, {stats['whoosh']} "
                  f"fell back to Whoosh's matcher (whoosh-path row not counted); decoded "
                  f"postings kept {gen.postings.used / 1e6:.0f} MB; result cache: none")
    # Wall time is what a user waits; CPU time (this thread) shows the cost apart from the
    # waits of a shared, busy machine (tantivy's own threads are not in its CPU column).
    print(f"\n{'engine':<12}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}{'CPU p50':>10}"
          f"{'CPU p95':>10}")
    for name, xs in times.items():
        print(f"{name:<12}{statistics.median(xs):>10.1f}{pct(xs, 95):>10.1f}"
              f"{statistics.fmean(xs):>10.1f}{statistics.median(cpu[name]):>10.1f}"
              f"{pct(cpu[name], 95):>10.1f}")
    med = {k: statistics.median(v) for k, v in times.items()}
    if "newsfacet" in med:
        ratios = [f"Newsfacet p50 / {label} p50 = {med['newsfacet'] / med[k]:.2f}"
                  for k, label in (("fts5", "FTS5"), ("tantivy", "tantivy")) if k in med]
        if "whoosh-path" in med:
            ratios.append(f"Whoosh-path p50 / Newsfacet p50 = "
                          f"{med['whoosh-path'] / med['newsfacet']:.1f}")
        if ratios:
            print("\n" + "   ".join(ratios))
        print("\nNewsfacet parts (p50 / p95 ms): " + "  ".join(
            f"{k} {statistics.median(v):.1f} / {pct(v, 95):.1f}" for k, v in parts.items()))
        print("Newsfacet by query kind (p50 / p95 ms): " + "  ".join(
            f"{k} {statistics.median(v):.1f} / {pct(v, 95):.1f}" for k, v in by_kind.items()))
        slowest(times["newsfacet"], rows)
    if gen:
        m = out["mem"]
        print(f"This process's RSS: {m['before']['rss']:.0f} MB before the open, "
              f"+{m['opened']['rss'] - m['before']['rss']:.0f} MB at the open, "
              f"+{m['prewarmed']['rss'] - m['before']['rss']:.0f} MB once the frequent words "
              f"are decoded, +{m['queried']['rss'] - m['before']['rss']:.0f} MB after the "
              f"queries")
    if "fts5" in opened:
        db.close()
    return out


def slowest(totals: list[float], rows: list[tuple], count: int = 12) -> None:
    """The ``count`` slowest Newsfacet queries: their parts (ms), matches, and the time
    outside the parts (the call's own wall time minus theirs: waits of a busy machine)."""
    names = next((list(t) for _, _, t in rows if t), [])
    print(f"\nNewsfacet's {count} slowest queries (ms):")
    print(f"{'total':>7}" + "".join(f"{k:>9}" for k in names) + f"{'other':>7}{'matches':>9}"
          f"  query")
    for total, (q, hits, t) in sorted(zip(totals, rows), key=lambda x: -x[0])[:count]:
        print(f"{total:>7.1f}" + "".join(f"{t.get(k, 0):>9.1f}" for k in names)
              + f"{total - sum(t.values()):>7.1f}{hits:>9,}  {q}")


def measure_server(n: int, index_dir: Path, measured, warm, log: Path) -> dict:
    """``newsfacet serve`` on the ``n``-article index: open time, memory, HTTP latency.

    The server opens the index on its first search, so the open is the time from the
    process start to the first ``/api/search`` answered 200 (listening, then the first
    query, sent again while the server answers otherwise, e.g. 503 when the search ran
    out of its time budget). Then the ``warm`` queries and the ``measured`` ones,
    sequentially, one connection each, as :func:`as_newsfacet` writes them; answers other
    than 200 are counted (their times stay in the percentiles).
    """
    import http.client
    from urllib.parse import urlencode

    from bench import _server

    def get(q) -> tuple[int, float, float | None]:
        """HTTP status, the client's wall time (ms), the server's ``took_ms``."""
        t = time.perf_counter()
        conn = http.client.HTTPConnection(_server.HOST, port, timeout=120)
        conn.request("GET", "/api/search?" + urlencode({"q": as_newsfacet(q)}))
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        ms = (time.perf_counter() - t) * 1000
        took = json.loads(body).get("took_ms") if resp.status == 200 else None
        return resp.status, ms, took

    port = _server.free_port()
    t0 = time.perf_counter()
    proc, _ = _server.start_server(index_dir, port, log, wait=120.0)
    try:
        out = {"n": n, "listening_s": time.perf_counter() - t0, "mem": {}, "first": []}
        out["mem"]["started"] = memory_mb(proc.pid)
        while len(out["first"]) < 10:
            out["first"].append(get(warm[0])[:2])
            if out["first"][-1][0] == 200:
                break
        out["open_s"] = time.perf_counter() - t0
        out["mem"]["first query"] = memory_mb(proc.pid)
        for q in warm[1:]:
            get(q)
        out["mem"]["warm-up queries"] = memory_mb(proc.pid)
        # The in-process run waits for the background decoding too: the same steady state.
        out["settle_s"] = _server.settle(proc.pid)
        out["mem"]["idle again"] = memory_mb(proc.pid)
        answers = [get(q) for q in measured]
        out["mem"]["measured queries"] = memory_mb(proc.pid)
        out["times"] = [ms for _, ms, _ in answers]
        out["took"] = [took for _, _, took in answers if took is not None]
        out["not_ok"] = [(as_newsfacet(q), status)
                         for q, (status, _, _) in zip(measured, answers) if status != 200]
    finally:
        _server.stop_server(proc)
    return out


def growth_table(results: list[dict]) -> None:
    small, large = results[0], results[-1]
    print(f"\nGrowth from {small['n']:,} to {large['n']:,} articles "
          f"({large['n'] / small['n']:g}x the articles), same queries; x: large / small:")
    print(f"{'engine':<12}{'p50 small':>11}{'p50 large':>11}{'x':>7}{'p95 small':>11}"
          f"{'p95 large':>11}{'x':>7}")
    for name in large["times"]:
        if name not in small["times"]:
            continue
        a, b = small["times"][name], large["times"][name]
        print(f"{name:<12}{statistics.median(a):>11.1f}{statistics.median(b):>11.1f}"
              f"{statistics.median(b) / statistics.median(a):>7.2f}{pct(a, 95):>11.1f}"
              f"{pct(b, 95):>11.1f}{pct(b, 95) / pct(a, 95):>7.2f}")


def summary(results: list[dict], servers: list[dict]) -> None:
    """The tables across sizes: latency, ratios, growth, memory, the server, goals."""
    print("\n=== all sizes ===")
    if results:
        print(f"{'articles':>9}  {'engine':<12}{'p50 ms':>9}{'p95 ms':>9}{'NF/this p50':>13}"
              f"{'NF/this p95':>13}")
    for r in results:
        t = r["times"]
        for name, xs in t.items():
            rel = ""
            if "newsfacet" in t and name != "newsfacet":
                rel = (f"{statistics.median(t['newsfacet']) / statistics.median(xs):>13.2f}"
                       f"{pct(t['newsfacet'], 95) / pct(xs, 95):>13.2f}")
            print(f"{r['n']:>9,}  {name:<12}{statistics.median(xs):>9.1f}{pct(xs, 95):>9.1f}"
                  f"{rel}")
    if len(results) > 1:
        growth_table(results)
    mem = [r for r in results if r["mem"]]
    if mem:
        print("\nThis process (one process, the sizes opened in turn, smallest first), RSS MB:")
        print(f"{'articles':>9}{'before':>9}{'open +':>9}{'decoded +':>11}{'queried +':>11}"
              f"{'(anon +':>9}{'file +)':>9}{'open ms':>9}")
        for r in mem:
            m, b = r["mem"], r["mem"]["before"]
            print(f"{r['n']:>9,}{b['rss']:>9.0f}{m['opened']['rss'] - b['rss']:>9.0f}"
                  f"{m['prewarmed']['rss'] - b['rss']:>11.0f}"
                  f"{m['queried']['rss'] - b['rss']:>11.0f}"
                  f"{m['queried']['anon'] - b['anon']:>9.0f}"
                  f"{m['queried']['file'] - b['file']:>9.0f}{r['open_ms']:>9.0f}")
    if servers:
        print("\n`newsfacet serve` (one process, --workers 1; a new server per size), "
              "memory MB: RSS (anon, file), PSS")
        print("(HTTP: the client's wall time; took: the server's own took_ms of the same "
              "answers; idle s: the wait after the warm-up until the server stopped using CPU)")
        print(f"{'articles':>9}{'listen s':>10}{'open s':>9}{'idle s':>8}{'HTTP p50':>10}"
              f"{'HTTP p95':>10}{'took p50':>10}{'took p95':>10}{'not 200':>9}"
              f"  first /api/search: status ms, ...")
        for s in servers:
            first = ", ".join(f"{st} {ms:.0f}" for st, ms in s["first"])
            took = s["took"] or [float("nan")]
            print(f"{s['n']:>9,}{s['listening_s']:>10.2f}{s['open_s']:>9.2f}"
                  f"{s['settle_s']:>8.1f}{statistics.median(s['times']):>10.1f}"
                  f"{pct(s['times'], 95):>10.1f}{statistics.median(took):>10.1f}"
                  f"{pct(took, 95):>10.1f}{len(s['not_ok']):>9}  {first}")
        for s in servers:
            for q, status in s["not_ok"]:
                print(f"{s['n']:>9,}  answered {status}: {q}")
        print(f"\n{'articles':>9}  {'after':<18}{'RSS':>7}{'anon':>7}{'file':>7}{'PSS':>7}")
        for s in servers:
            for when, m in s["mem"].items():
                print(f"{s['n']:>9,}  {when:<18}{fmt_mem(m)}")
    if BUILT:
        print("\nBuilt in this run (peak RSS MB so far: this process / largest child):")
        for n, name, secs, own, child in BUILT:
            print(f"{n:>9,}  {name:<12}{secs:>7.0f} s{own:>9.0f}{child:>9.0f}")
    checks = []
    for r in results:
        goal = GOALS.get(r["n"])
        if not goal or "newsfacet" not in r["times"]:
            continue
        xs, (g50, g95) = r["times"]["newsfacet"], goal
        if g50 is not None:
            checks.append((f"{r['n']:,}: p50 <= {g50:.0f} ms", statistics.median(xs) <= g50,
                           f"{statistics.median(xs):.1f}"))
        checks.append((f"{r['n']:,}: p95 <= {g95:.0f} ms", pct(xs, 95) <= g95,
                       f"{pct(xs, 95):.1f}"))
        if "fts5" in r["times"]:
            fts = statistics.median(r["times"]["fts5"])
            checks.append((f"{r['n']:,}: p50 faster than FTS5", statistics.median(xs) < fts,
                           f"{statistics.median(xs):.1f} vs {fts:.1f}"))
    if TIMEOUTS:
        print(f"\nNewsfacet calls stopped by QUERY_TIMEOUT in this process (opens included): "
              f"{len(TIMEOUTS)}: " + "; ".join(TIMEOUTS))
    print(f"\nload average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if checks:
        print()
    for label, ok, value in checks:
        print(f"{'PASS' if ok else 'MISS'}  {label:<32} ({value})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, nargs="+", default=[50_000], metavar="N",
                    help="one or more index sizes, measured smallest first (default 50000)")
    ap.add_argument("--queries", type=int, default=240)
    ap.add_argument("--engines", default=",".join(ENGINES),
                    help=f"comma-separated, of {', '.join(ENGINES)} (default: all; FTS5's "
                         f"GROUP BY facets take long at 200,000 articles); none: the server "
                         f"alone")
    ap.add_argument("--no-serve", action="store_true",
                    help="skip `newsfacet serve` (open time, memory, HTTP latency)")
    args = ap.parse_args(argv)
    engines = tuple(e.strip() for e in args.engines.split(",") if e.strip() not in ("", "none"))
    unknown = [e for e in engines if e not in ENGINES]
    if unknown or not (engines or not args.no_serve):
        ap.error(f"--engines: unknown {', '.join(unknown) or '(none given)'}; "
                 f"choose from {', '.join(ENGINES)}")
    sizes = sorted(set(args.articles))
    if sizes[0] < 1:
        ap.error("--articles: sizes must be at least 1")
    serve = not args.no_serve
    indexes = tuple(sorted({NEEDS[e] for e in engines} | ({"whoosh"} if serve else set())))
    # Imported before any memory is read: the open's growth is then the index's, not code's.
    for module in ("numpy", "search.query.service", "bench._server",
                   *(("tantivy",) if "tantivy" in engines else ())):
        importlib.import_module(module)

    bases = {n: ensure(n, indexes) for n in sizes}
    measured = make_queries(random.Random(7), args.queries, WORDS)
    warm = make_queries(random.Random(99), 45, WARM_WORDS, WARM_PHRASES, WARM_PREFIXES)
    print(f"\nsizes: {', '.join(f'{n:,}' for n in sizes)} articles; engines: "
          f"{', '.join(engines)}; serve: {'yes' if serve else 'no (--no-serve)'}; "
          f"the same {len(measured)} measured queries at every size; load average "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    results = [measure_size(n, bases[n], engines, measured, warm) for n in sizes if engines]
    servers = []
    if serve:
        log = CACHE / "serve.log"
        print(f"\n`newsfacet serve`: each size in a new process; its log in {log}", flush=True)
        for n in sizes:
            servers.append(measure_server(n, bases[n] / "whoosh", measured, warm, log))
            print(f"  {n:,}: done", flush=True)
    summary(results, servers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
