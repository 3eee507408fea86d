"""Indexing benchmark: each stage alone, then the indexer end to end, against baselines
measured in the same run.

Input: the real files of bbc-news (tar.gz), fakenewsnet-content (jsonl.gz) and
saudinewsnet-ar (zips), read by the real readers — about 10,000 articles. ``--limit N``
takes a proportional slice (written to a temporary folder) for a quicker run.

Stages: reading, cleanup, language (a sample), NER in 1 process (a sample) and with N
workers (every English article, pool start included), bare Whoosh writing of the
finished documents (one writer, and procs=N multisegment), SQLite FTS5 (porter) on the
same texts. End to end: first indexing of the English files (cold enrichment cache),
then the Arabic files (no NER), ``--rebuild`` with a warm cache, ``index`` over
unchanged paths. Cheap stages report the median of ``--repeat`` runs; NER and the
first indexing run once (minutes each).

    .venv/bin/python -m bench.indexing --limit 2000
    .venv/bin/python -m bench.indexing            # everything (~10k articles; NER ≈ 3-5 min)
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sqlite3
import statistics
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search import storage  # noqa: E402
from search.ingest.enrich.cleanup import clean  # noqa: E402
from search.ingest.enrich.entities import NER_LANGUAGES  # noqa: E402
from search.ingest.enrich.language import detect_language  # noqa: E402
from search.ingest.indexer import index_paths  # noqa: E402
from search.ingest.readers import read_file  # noqa: E402
from search.ingest.workers import make_enricher  # noqa: E402
from search.ingest.writing import WRITER_PROCS  # noqa: E402

CORPORA = ROOT.parent / "shared" / "corpora"
BBC = CORPORA / "bbc-news" / "bbc-fulltext.tar.gz"
FNN = CORPORA / "fakenewsnet-content" / "fakenewsnet_news_content.jsonl.gz"
SAUDI = sorted((CORPORA / "saudinewsnet-ar").glob("*.zip"))
FULL = {"bbc": 2225, "fnn": 2037, "saudi": 6010}


def timed(fn, repeat: int = 1):
    """(median seconds, last result) of ``repeat`` calls."""
    times, out = [], None
    for _ in range(repeat):
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
    import gzip

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


def stored_docs(index_dir: Path) -> list[dict]:
    from whoosh import index as whoosh_index

    from search.schema import encode_facets

    ix = whoosh_index.open_dir(str(storage.current(index_dir)))
    with ix.searcher() as s:
        docs = [dict(d) for d in s.all_stored_fields()]
    for d in docs:  # the one unstored field, so these are the documents the indexer wrote
        d["facetcol"] = encode_facets(d)
    return docs


def whoosh_write(docs: list[dict], folder: Path, **writer_kw) -> None:
    from whoosh import index as whoosh_index

    from search.schema import make_schema

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    ix = whoosh_index.create_in(str(folder), make_schema())
    with ix.writer(limitmb=256, **writer_kw) as w:
        for d in docs:
            w.add_document(**d)


def fts5_write(docs: list[dict], path: Path) -> None:
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    db.execute("CREATE VIRTUAL TABLE a USING fts5(id UNINDEXED, title, body, tokenize='porter')")
    db.executemany("INSERT INTO a VALUES (?, ?, ?)",
                   [(d["id"], d.get("title", ""), d.get("body", "")) for d in docs])
    db.commit()
    db.close()


def ner_pool(articles: list, processes: int, model: str | None) -> None:
    """NER alone with a fresh pool of ``processes`` workers (start-up included)."""
    from search.ingest.workers import Batches

    batches = Batches(processes, model, make_enricher(model))
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


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, help="articles in all (proportional slices)")
    ap.add_argument("--processes", type=int, default=2, help="enrichment workers")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each cheap stage")
    ap.add_argument("--ner-sample", type=int, default=150, help="articles for 1-process NER")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="newsfacet-bench-indexing-"))
    rows, targets = [], []

    def row(stage, n, seconds, note=""):
        rows.append((stage, n, seconds, n / seconds if seconds else float("inf"), note))
        print(f"  … {stage}: {n} in {seconds:.1f} s", file=sys.stderr, flush=True)

    try:
        en_files, ar_files = slices(args.limit, tmp / "data")
        secs, raw = timed(lambda: read_all(en_files + ar_files), args.repeat)
        row("reading (readers)", len(raw), secs)
        secs, cleaned = timed(lambda: [clean(a) for a in raw], args.repeat)
        row("cleanup", len(cleaned), secs)
        sample = cleaned[:: max(1, len(cleaned) // 500)]
        secs, langs = timed(lambda: [detect_language(f"{a.title}\n\n{a.body}") for a in sample])
        row("language (langdetect, sample)", len(sample), secs)
        english = [a for a, raw_a in zip(cleaned, raw) if raw_a.source.startswith(
            tuple(str(f) for f in en_files))]
        english = [a for a in english if detect_language(f"{a.title}\n\n{a.body}")
                   in NER_LANGUAGES]
        enricher = make_enricher(None)
        enricher.enrich(english[:2])  # load the model outside the timing
        ner_sample = english[: args.ner_sample]
        secs, _ = timed(lambda: enricher.enrich(ner_sample))
        row("NER + language, 1 process (sample)", len(ner_sample), secs)
        ner_n_secs, _ = timed(lambda: ner_pool(english, args.processes, None))
        row(f"NER + language, {args.processes} workers (pool start incl.)", len(english),
            ner_n_secs)

        ix = tmp / "index"
        first = index_paths(en_files, ix, processes=args.processes)
        row("END TO END first index, English files", first.indexed, first.seconds,
            f"{first.enriched} enriched")
        arabic = index_paths(ar_files, ix, processes=args.processes)
        row("END TO END first index, Arabic files (no NER)", arabic.indexed, arabic.seconds)
        docs = stored_docs(ix)
        secs, _ = timed(lambda: whoosh_write(docs, tmp / "bare"), args.repeat)
        row("Whoosh writing alone, 1 writer", len(docs), secs)
        bare_secs = secs
        secs, _ = timed(lambda: whoosh_write(docs, tmp / "bare", procs=WRITER_PROCS,
                                             multisegment=True), args.repeat)
        row(f"Whoosh writing alone, procs={WRITER_PROCS} multisegment", len(docs), secs)
        bare_mp_secs = secs
        secs, _ = timed(lambda: fts5_write(docs, tmp / "fts.sqlite"), args.repeat)
        row("SQLite FTS5 (porter) writing", len(docs), secs)
        fts_size = (tmp / "fts.sqlite").stat().st_size
        rebuild_secs, rebuilt = timed(lambda: index_paths(en_files + ar_files, ix, rebuild=True,
                                                          processes=args.processes),
                                      args.repeat)
        row("END TO END --rebuild, warm cache", rebuilt.indexed, rebuild_secs,
            f"{rebuilt.enriched} enriched")
        unch_secs, unchanged = timed(lambda: index_paths(en_files + ar_files, ix,
                                                         processes=args.processes), args.repeat)
        row("END TO END index, unchanged paths", unchanged.unchanged, unch_secs)

        self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        raw_bytes = sum(len((d.get("title") or "").encode()) + len((d.get("body") or "").encode())
                        for d in docs)
        index_bytes = size_of(storage.current(ix))

        rate = {r[0]: r[3] for r in rows}
        ner_rate = len(english) / ner_n_secs
        targets = [
            ("first index of English / NER alone (same workers)",
             first.indexed / first.seconds / ner_rate, 0.75),
            # The rebuild writes with WRITER_PROCS processes (search.ingest.writing): compared
            # with bare writing by as many processes.
            (f"--rebuild warm cache / bare Whoosh writing, procs={WRITER_PROCS}",
             rebuilt.indexed / rebuild_secs / (len(docs) / bare_mp_secs), 0.90),
            ("index over unchanged paths, articles/s", unchanged.unchanged / unch_secs, 5000),
            ("peak memory (max of main, any worker), GB", max(self_mb, child_mb) / 1024, 2.0),
        ]
        print(f"\nIndexing benchmark: {len(raw)} articles ({len(english)} English for NER), "
              f"{args.processes} workers, {'--limit ' + str(args.limit) if args.limit else 'full'}"
              f", cheap stages median of {args.repeat}\n")
        print(f"{'stage':58} {'articles':>8} {'seconds':>8} {'art/s':>9}  note")
        for stage, n, secs, r, note in rows:
            print(f"{stage:58} {n:8d} {secs:8.2f} {r:9.1f}  {note}")
        print(f"\nindex size {index_bytes / 1e6:.1f} MB for {raw_bytes / 1e6:.1f} MB of title+body "
              f"text ({index_bytes / raw_bytes:.2f}x); FTS5 {fts_size / 1e6:.1f} MB "
              f"({fts_size / raw_bytes:.2f}x)")
        print(f"peak RSS: main {self_mb:.0f} MB, largest child {child_mb:.0f} MB")
        print(f"--rebuild / bare Whoosh writing with 1 writer: "
              f"{rebuilt.indexed / rebuild_secs / (len(docs) / bare_secs):.2f}")
        print(f"Whoosh (1 writer) vs FTS5 writing: "
              f"{rate['Whoosh writing alone, 1 writer'] / rate['SQLite FTS5 (porter) writing']:.3f}x"
              "\n")
        print(f"{'target':58} {'measured':>10} {'goal':>8}  result")
        for name, value, goal in targets:
            ok = value <= goal if name.startswith("peak") else value >= goal
            print(f"{name:58} {value:10.2f} {goal:8.2f}  {'PASS' if ok else 'MISS'}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
