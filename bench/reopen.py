"""Reopen after a commit mid-run: carried-over caches beside a cold open, same run.

The indexer commits every 30–60 s while a run goes on (DESIGN.md, Indexing at scale),
and each commit makes the server open the generation again. This measures what that
costs on the query benchmark's index (``bench/query_speed.py``: real texts replicated
to ``--articles``, built by ``write_generation``), copied to a scratch folder:

1. open it and answer the warm-up queries (the server as it runs: facet columns,
   word lists, decoded and scored postings in memory);
2. commit ``--add`` more articles to the same generation (new ids, texts of the same
   corpus; Whoosh's ordinary commit, small segments merged as it decides) with their
   side-store rows pending (text first);
3. open that commit **with carry-over** (``Generation(path, previous=…)``: decoded
   segments, posting lists, word lists and the side store's state of the commit
   before), then answer the measured queries, each once, timing the first ones;
4. open the same commit **cold** (``Generation(path)``) and answer the same queries;
5. fill in the new articles' entities in the side store and time the carried
   generation's catch-up (``Generation.catch_up``: only the changed rows are read).

Rows: the open (ms, with its parts), the first queries' latency (p50 / p95 / sum of
the first ``--first`` queries), how long until the background decoding of frequent
words finished, and the searches stopped by the query time budget (``QUERY_TIMEOUT``,
their time counted as measured). The ratio column is cold / carried.

Run from the repository root::

    .venv/bin/python -m bench.reopen                      # 50,000 articles + 1,000
    .venv/bin/python -m bench.reopen --articles 5000 --add 200
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpus import records  # noqa: E402
from bench.query_speed import WARM_PHRASES  # noqa: E402
from bench.query_speed import WARM_PREFIXES  # noqa: E402
from bench.query_speed import WARM_WORDS  # noqa: E402
from bench.query_speed import WORDS  # noqa: E402
from bench.query_speed import as_newsfacet  # noqa: E402
from bench.query_speed import ensure  # noqa: E402
from bench.query_speed import make_queries  # noqa: E402
from bench.query_speed import pct  # noqa: E402


def commit_more(gen_path: Path, n_before: int, add: int) -> tuple[int, list]:
    """Add ``add`` articles to the generation in one ordinary Whoosh commit, text first:
    their side-store rows pending, as the indexer writes them. ``(the number of
    segments after it, [(id, entities)] to fill in later)``."""
    from whoosh import index as whoosh_index

    from search.models import Article
    from search.models import Entities
    from search.schema import to_document
    from search.sidestore import PENDING
    from search.sidestore import SideStore

    recs = records(n_before + add)[n_before:]
    later = []
    ix = whoosh_index.open_dir(str(gen_path))
    writer = ix.writer()
    store = SideStore(gen_path)
    try:
        rows = []
        for r in recs:
            a = Article(id=r["id"], source=f"bench/{r['id']}", record=None, title=r["title"],
                        body=r["body"], outlet=r["outlet"], lang=r["lang"],
                        published=r["published"],
                        entities=Entities(person=r["person"], org=r["org"], place=r["place"]))
            writer.add_document(**to_document(a))
            rows.append((a.id, f"bench-{a.id}", PENDING, None))
            later.append((a.id, a.entities))
        store.add_texts(rows)
        store.commit()
        writer.commit()
    finally:
        store.close()
    return len(whoosh_index.open_dir(str(gen_path))._read_toc().segments), later


TIMEOUTS: dict[str, int] = {}


def answer(gen, text: str, label: str = "") -> float:
    """One search on an open generation, as ``service.search`` runs it (ms); a search
    stopped by the query time budget counts its time and is counted under ``label``."""
    from search.errors import QueryTimeoutError
    from search.models import SearchRequest
    from search.query import service
    from search.query.generation import _slots

    t = time.perf_counter()
    try:
        r = service.search(gen.path.parent, SearchRequest(q=text, page_size=10))
        assert r.facets
    except QueryTimeoutError:
        TIMEOUTS[label] = TIMEOUTS.get(label, 0) + 1
    assert _slots[str(gen.path.parent.resolve())].gen is gen
    return (time.perf_counter() - t) * 1000


def serve(gen) -> None:
    """Make ``gen`` the live generation of its folder (what ``use`` hands out)."""
    from search.query import generation

    slot = generation._slots.setdefault(str(gen.path.parent.resolve()), generation._Slot())
    slot.gen = gen


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=50_000)
    ap.add_argument("--add", type=int, default=1_000)
    ap.add_argument("--queries", type=int, default=60)
    ap.add_argument("--first", type=int, default=10, help="the first queries summed")
    args = ap.parse_args(argv)
    from search import storage
    from search.query import generation
    from search.query.generation import Generation

    # Requests must not reopen on their own: this run decides which generation serves.
    generation.RECHECK_SECONDS = 1e9
    base = ensure(args.articles, ("whoosh",))
    scratch = Path(tempfile.mkdtemp(prefix="newsfacet-bench-reopen-"))
    try:
        index_dir = scratch / "whoosh"
        shutil.copytree(base / "whoosh", index_dir, symlinks=True)
        gen_path = storage.require_current(index_dir)
        measured = [as_newsfacet(q) for q in make_queries(random.Random(7), args.queries, WORDS)]
        warm = [as_newsfacet(q) for q in
                make_queries(random.Random(99), 45, WARM_WORDS, WARM_PHRASES, WARM_PREFIXES)]

        first = Generation(gen_path)
        serve(first)
        first.prewarmed.wait()
        for text in warm + measured:  # the server has answered these before the commit
            answer(first, text, "before the commit")
        t = time.perf_counter()
        segments, later = commit_more(gen_path, args.articles, args.add)
        commit_s = time.perf_counter() - t

        rows = {}
        for label, previous in (("carried", first), ("cold", None)):
            t0 = time.perf_counter()
            gen = Generation(gen_path, previous=previous)
            open_ms = (time.perf_counter() - t0) * 1000
            serve(gen)
            lat = [answer(gen, text, label) for text in measured]
            gen.prewarmed.wait()
            rows[label] = {"open": open_ms, **gen.open_ms,
                           "first p50": statistics.median(lat[:args.first]),
                           f"first {args.first} sum": sum(lat[:args.first]),
                           "all p50": statistics.median(lat), "all p95": pct(lat, 95),
                           "prewarmed": (time.perf_counter() - t0) * 1000}
            rows[label]["carried"] = (gen.tables.doc.carried, gen.postings.carried)
            if label == "carried":
                carried_gen = gen
            else:
                gen.close()
        # The commit's entities found behind: the live generation catches up.
        from search.sidestore import SideStore

        store = SideStore(gen_path)
        store.set_entities(later)
        store.commit()
        store.close()
        pending_before = carried_gen.tables.pending
        t = time.perf_counter()
        assert carried_gen.catch_up()
        catch_up_ms = (time.perf_counter() - t) * 1000
        pending_after = carried_gen.tables.pending
        carried_gen.close()
        first.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    c, k = rows["carried"], rows["cold"]
    print(f"\n{args.articles:,} articles + a commit of {args.add:,} ({commit_s:.1f} s; "
          f"{segments} segments after it); {len(measured)} measured queries after the "
          f"reopen, {len(warm)} warm-up queries answered before the commit")
    print(f"carried over: {c['carried'][0]} decoded segments, {c['carried'][1]} posting "
          f"lists and length arrays\n")
    print(f"{'ms':<22}{'carried':>10}{'cold':>10}{'cold/carried':>14}")
    for key in ("open", "columns", "entities", "words", "first p50",
                f"first {args.first} sum", "all p50", "all p95", "prewarmed"):
        ratio = k[key] / c[key] if c[key] else float("inf")
        print(f"{key:<22}{c[key]:>10.1f}{k[key]:>10.1f}{ratio:>14.1f}")
    print(f"\nentities of the {len(later):,} new articles filled in behind: the live "
          f"generation caught up in {catch_up_ms:.0f} ms (pending {pending_before:,} -> "
          f"{pending_after:,}); a cold open reads the whole side store in "
          f"{k['entities']:.0f} ms\n")
    print(f"{'timeouts (1.5 s)':<22}{TIMEOUTS.get('carried', 0):>10}{TIMEOUTS.get('cold', 0):>10}"
          f"   (before the commit: {TIMEOUTS.get('before the commit', 0)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
