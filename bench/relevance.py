"""Relevance benchmark: MAP, P@10 and nDCG@10 of Newsfacet's ranking against baselines.

Collections: TIME (news, ``shared/corpora/time-ir``) and the classic CRAN, CISI, MED and
ADI (``shared/corpora/glasgow-ir-classic``), read in place. Every system gets the same
texts and the same queries, each query's words OR-ed:

- ``fts5``: SQLite FTS5, ``tokenize='porter'``, ``ORDER BY bm25(t)`` (the baseline);
- ``whoosh-bm25f``: Whoosh's stock ``BM25F()`` on Newsfacet's schema;
- ``newsfacet``: ``search.query.scoring.weighting()`` on the same index;
- ``newsfacet+prox``: the same with ``search.query.scoring.proximity_boost`` OR-ed in (opt-in);
- ``v4-newsfacet``: ``newsfacet`` on the schema before per-language analysis (version 4:
  ``title``/``body`` analysed by Whoosh's English ``StemmingAnalyzer``), built in the same
  run: today's figure beside the one before;
- ``engine``: the query as the engine runs it — each word made per-language with its
  exact form (:func:`search.query.bind.localise`, ``ExactFirst``), scored by the NumPy
  evaluator of a generation written by ``search.ingest.writing.write_generation``.

TIME has no headlines: its text goes into ``body``. The SMART collections' ``.T`` goes
into ``title`` (FTS5: a ``title`` column) and ``.W`` into ``body``. Queries are read from
``.W``. CRAN judgments coded 1-4 count as relevant (-1 does not). Queries without a
relevant document are left out.

Run from the repository root::

    .venv/bin/python -m bench.relevance                # every collection
    .venv/bin/python -m bench.relevance --collection time
"""

from __future__ import annotations

import argparse
import math
import re
import sqlite3
import tarfile
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from whoosh import index as windex
from whoosh import scoring
from whoosh.query import Or
from whoosh.query import Term

from search import analysis
from search.models import Article
from search.query.scoring import proximity_boost
from search.query.scoring import weighting
from search.schema import BODY
from search.schema import make_schema
from search.schema import to_document

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
TIME_DIR = CORPORA / "time-ir"
GLASGOW_TGZ = CORPORA / "glasgow-ir-classic" / "glasgow-ir-classic.tar.gz"
SMART = {"cran": ("cran.all.1400", "cran.qry", "cranqrel"),
         "cisi": ("CISI.ALL", "CISI.QRY", "CISI.REL"),
         "med": ("MED.ALL", "MED.QRY", "MED.REL"),
         "adi": ("ADI.ALL", "ADI.QRY", "ADI.REL")}
COLLECTIONS = ("time", *SMART)
SEARCH_FIELDS = analysis.text_fields(langs=("en",))
CUTOFF = 1000


@dataclass
class Collection:
    """Documents ``(docid, title, body)``, query texts and relevant docids per query id."""

    name: str
    docs: list[tuple[str, str, str]]
    queries: dict[str, str]
    qrels: dict[str, set[str]]


# --- Reading ---------------------------------------------------------------------------

def _records(text: str, marker: str) -> list[tuple[list[str], str]]:
    # Split on header lines that start with `marker`; return (header words, body text).
    out: list[tuple[list[str], str]] = []
    for line in text.splitlines():
        if line.startswith(marker):
            out.append((line.split(), ""))
        elif out:
            out[-1] = (out[-1][0], out[-1][1] + line + "\n")
    return out


def time_position(p: int) -> int:
    """Where judged article ``p`` (1-based, original 425-article file) is in this copy.

    Two articles are missing after the 370th record (SOURCE.md).

    >>> time_position(370), time_position(385), time_position(425)
    (370, 383, 423)
    """
    return p if p <= 370 else p - 2


def read_time(folder: Path = TIME_DIR) -> Collection:
    """TIME: 423 articles (docid = 1-based position in this copy), 83 queries, TIME.REL."""
    texts = _records((folder / "TIME.ALL").read_text("ascii"), "*TEXT")
    docs = [(str(i), "", body.strip()) for i, (_, body) in enumerate(texts, 1)]
    queries = {h[1]: body.strip() for h, body in _records(
        (folder / "TIME.QUE").read_text("ascii"), "*FIND")}
    qrels: dict[str, set[str]] = {}
    for line in (folder / "TIME.REL").read_text("ascii").splitlines():
        if parts := line.split():
            qrels[parts[0]] = {str(time_position(int(p))) for p in parts[1:]}
    return Collection("time", docs, queries, {q: r for q, r in qrels.items() if r})


def _smart_fields(body: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    key = None
    for line in body.splitlines():
        if re.match(r"^\.[A-Z]\s*$", line):
            key = line.strip()[1]
            fields.setdefault(key, "")
        elif key:
            fields[key] += line + "\n"
    return fields


def read_smart(name: str, files: dict[str, str]) -> Collection:
    """A SMART-format collection from its three files' texts (``all``, ``qry``, ``rel``).

    Queries are renumbered by their order in the file (CRAN's ``.I`` numbers have gaps
    that its qrels do not).
    """
    docs = []
    for head, body in _records(files["all"], ".I "):
        f = _smart_fields(body)
        docs.append((head[1], f.get("T", "").strip(), f.get("W", "").strip()))
    queries = {str(i): _smart_fields(body).get("W", "").strip()
               for i, (_, body) in enumerate(_records(files["qry"], ".I "), 1)}
    qrels: dict[str, set[str]] = {}
    for line in files["rel"].splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        if name == "med":  # TREC-style: qid 0 docid rel
            qid, doc, ok = parts[0], parts[2], int(parts[3]) > 0
        elif name == "cran":  # qid docid code, codes 1-4 relevant, -1 not
            qid, doc, ok = parts[0], parts[1], int(parts[2]) > 0
        else:
            qid, doc, ok = parts[0], parts[1], True
        if ok:
            qrels.setdefault(str(int(qid)), set()).add(str(int(doc)))
    return Collection(name, docs, queries, qrels)


def read_glasgow(name: str, tgz: Path = GLASGOW_TGZ) -> Collection:
    """One of CRAN, CISI, MED, ADI, read straight from the archive."""
    all_, qry, rel = SMART[name]
    with tarfile.open(tgz) as tar:
        files = {key: tar.extractfile(f"glasgow-ir/{name}/{member}").read().decode("latin-1")
                 for key, member in zip(("all", "qry", "rel"), (all_, qry, rel))}
    return read_smart(name, files)


def read_collection(name: str) -> Collection:
    return read_time() if name == "time" else read_glasgow(name)


# --- Metrics (binary relevance) ----------------------------------------------------------

def average_precision(ranking: list[str], relevant: set[str], cutoff: int = CUTOFF) -> float:
    """Mean of the precision at each relevant document's rank; unretrieved ones count 0."""
    hits, total = 0, 0.0
    for rank, doc in enumerate(ranking[:cutoff], 1):
        if doc in relevant:
            hits += 1
            total += hits / rank
    return total / len(relevant) if relevant else 0.0


def precision_at(ranking: list[str], relevant: set[str], k: int = 10) -> float:
    """Relevant documents among the first ``k``, over ``k`` (a short list is not padded)."""
    return sum(doc in relevant for doc in ranking[:k]) / k


def ndcg_at(ranking: list[str], relevant: set[str], k: int = 10) -> float:
    """DCG of the first ``k`` (gain 1 / log2(rank + 1)) over the ideal DCG."""
    dcg = sum(1.0 / math.log2(r + 1) for r, d in enumerate(ranking[:k], 1) if d in relevant)
    ideal = sum(1.0 / math.log2(r + 1) for r in range(1, min(k, len(relevant)) + 1))
    return dcg / ideal if ideal else 0.0


def evaluate(runs: dict[str, list[str]], qrels: dict[str, set[str]]) -> dict[str, float]:
    """MAP, P@10 and nDCG@10 over the queries that have a relevant document."""
    qids = [q for q in qrels if qrels[q]]
    n = len(qids)
    return {"MAP": sum(average_precision(runs.get(q, []), qrels[q]) for q in qids) / n,
            "P@10": sum(precision_at(runs.get(q, []), qrels[q]) for q in qids) / n,
            "nDCG@10": sum(ndcg_at(runs.get(q, []), qrels[q]) for q in qids) / n}


# --- Systems -------------------------------------------------------------------------------

def run_fts5(coll: Collection) -> dict[str, list[str]]:
    """SQLite FTS5 (porter), the query's words each quoted and OR-ed, ranked by bm25()."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(docid UNINDEXED, title, body, "
               "tokenize='porter')")
    db.executemany("INSERT INTO t VALUES (?, ?, ?)", coll.docs)
    runs = {}
    for qid, text in coll.queries.items():
        words = re.findall(r"\w+", text)
        if not words:
            runs[qid] = []
            continue
        match = " OR ".join(f'"{w}"' for w in words)
        rows = db.execute("SELECT docid FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT ?",
                          (match, CUTOFF))
        runs[qid] = [r[0] for r in rows]
    return runs


def _articles(coll: Collection) -> list[Article]:
    return [Article(id=docid, source=coll.name, record=None, title=title, body=body, lang="en")
            for docid, title, body in coll.docs]


def build_index(coll: Collection, folder: str, v4: bool = False):
    """A real Whoosh index on disk with Newsfacet's schema (lang ``en``, no entities);
    with ``v4``, the schema of version 4 (:mod:`bench.analysis_writing`)."""
    from bench.analysis_writing import doc_v4
    from bench.analysis_writing import schema_v4

    ix = windex.create_in(folder, schema_v4() if v4 else make_schema())
    with ix.writer() as w:
        for a in _articles(coll):
            w.add_document(**(doc_v4(a) if v4 else to_document(a)))
    return ix


def run_engine(coll: Collection) -> dict[str, list[str]]:
    """Each query's words OR-ed (a repeated word's boost is its count), made per-language
    with exact forms first as the engine does, scored by a generation's evaluator."""
    import numpy as np

    from search import storage
    from search.ingest.writing import write_generation
    from search.query.bind import localise
    from search.query.generation import Generation

    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        write_generation(_articles(coll), tmp)
        gen = Generation(storage.require_current(tmp))
        try:
            ids = gen.tables.doc.ids
            for qid, text in coll.queries.items():
                counts = Counter(t.text for t in analysis.exact_analyzer()(text))
                q = Or([Or([Term(k, w) for k in analysis.KINDS], boost=float(c))
                        for w, c in counts.items()])
                mask, scores = gen.evaluator.run(localise(q, gen.languages))
                docs = np.flatnonzero(mask & gen.tables.live)
                order = np.lexsort((docs, -scores[docs]))[:CUTOFF]
                runs[qid] = [str(ids[docs[i]]) for i in order]
        finally:
            gen.close()
    return runs


def bag_of_words(schema, text: str, fields=SEARCH_FIELDS) -> Or:
    """The query's analysed terms OR-ed over ``fields``; a repeated term's boost is its count.

    Repeats are counted because FTS5 counts them (each quoted word is its own phrase in
    ``bm25()``), so every system sees the same query. Whoosh's parser drops repeats
    instead; that measured +0.006 MAP on TIME, +0.010 on MED, but −0.033 on CISI, whose
    long queries repeat their key words.
    """
    analyse = schema[BODY].analyzer if BODY in schema and schema[BODY].indexed else \
        analysis.analyzer("en")
    counts = Counter(t.text for t in analyse(text))
    fields = [f for f in fields if f in schema and schema[f].indexed]
    return Or([Term(f, t, boost=float(c)) for t, c in counts.items() for f in fields])


def run_whoosh(ix, coll: Collection, model, proximity=False) -> dict[str, list[str]]:
    runs = {}
    with ix.searcher(weighting=model) as s:
        for qid, text in coll.queries.items():
            fields = ("title", "body", "caption") if "body" in ix.schema and \
                ix.schema["body"].indexed else SEARCH_FIELDS
            q = bag_of_words(ix.schema, text, fields)
            if proximity:
                near = proximity_boost([t.text for t in analysis.analyzer("en")(text)],
                                       analysis.field(BODY, "en"))
                q = Or([q, near]) if near is not None else q
            hits = s.search(q, limit=CUTOFF)
            runs[qid] = [h["id"] for h in hits]
    return runs


def systems(ix, ix4) -> dict:
    """name -> a function from a collection to its runs."""
    return {"fts5": run_fts5,
            "whoosh-bm25f": lambda c: run_whoosh(ix, c, scoring.BM25F()),
            "v4-newsfacet": lambda c: run_whoosh(ix4, c, weighting()),
            "newsfacet": lambda c: run_whoosh(ix, c, weighting()),
            "newsfacet+prox": lambda c: run_whoosh(ix, c, weighting(), proximity=True),
            "engine": run_engine}


def measure(names) -> list[tuple[str, str, dict[str, float], float]]:
    rows = []
    for name in names:
        coll = read_collection(name)
        with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as tmp4:
            ix = build_index(coll, tmp)
            ix4 = build_index(coll, tmp4, v4=True)
            for system, run in systems(ix, ix4).items():
                t0 = time.perf_counter()
                runs = run(coll)
                ms = (time.perf_counter() - t0) * 1000 / max(1, len(coll.queries))
                rows.append((name, system, evaluate(runs, coll.qrels), ms))
            ix.close()
            ix4.close()
    return rows


def table(rows) -> str:
    base = {r[0]: r[2] for r in rows if r[1] == "fts5"}
    head = (f"{'collection':<10} {'system':<14} {'MAP':>7} {'P@10':>7} {'nDCG@10':>8}"
            f" {'ΔMAP':>7} {'ΔP@10':>7} {'ΔnDCG':>7} {'ms/q':>6}")
    lines = [head, "-" * len(head)]
    for coll, system, m, ms in rows:
        d = {k: m[k] - base[coll][k] for k in m} if coll in base else dict.fromkeys(m, 0.0)
        lines.append(f"{coll:<10} {system:<14} {m['MAP']:>7.3f} {m['P@10']:>7.3f}"
                     f" {m['nDCG@10']:>8.3f} {d['MAP']:>+7.3f} {d['P@10']:>+7.3f}"
                     f" {d['nDCG@10']:>+7.3f} {ms:>6.1f}")
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--collection", choices=[*COLLECTIONS, "all"], default="all")
    args = ap.parse_args(argv)
    names = COLLECTIONS if args.collection == "all" else (args.collection,)
    print(table(measure(names)))
    print("Δ = difference from fts5 in the same run; ms/q includes Python overhead.")


if __name__ == "__main__":
    main()
