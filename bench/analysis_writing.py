"""Writing cost of the per-language analysis: bare Whoosh writing of the same documents
with the schema before it (version 4: one English analyser for every language, no
exact-form field) and with today's (per-language fields and each language's changed forms,
``exact_<lang>``: :mod:`search.analysis`), in the same run.

Input: bbc-news (2,225 English), the first ``--german`` articles of 10kgnad-de and the
first ``--arabic`` of saudinewsnet-ar, read by the real readers (10kgnad's CSV by hand:
its format has no header). Each article's language is its corpus's (these corpora are
single-language), so language detection is not part of what is timed. Writing is one
in-process Whoosh writer (``writer.add_document`` of every document, then ``commit``),
repeated ``--repeat`` times into fresh folders, the order of the two schemas alternating;
medians of the wall time and of this process's CPU time (the goal is judged on CPU time:
on a shared machine the wall time of the same run varied 4x).

    .venv/bin/python -m bench.analysis_writing
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import statistics
import tempfile
import time
import zipfile
from pathlib import Path

from whoosh import index as whoosh_index

from search.ingest.readers import read_file
from search.models import Article
from search.schema import make_schema
from search.schema import to_document

CORPORA = Path("/work/shared/corpora")


def articles(german: int, arabic: int) -> list[Article]:
    """bbc-news, then German, then Arabic articles, each with its corpus's language."""
    out = []
    for a in read_file(CORPORA / "bbc-news" / "bbc-fulltext.tar.gz", lambda e: None):
        out.append(_with(a, "en", "BBC"))
    with open(CORPORA / "10kgnad-de" / "test.csv", encoding="utf-8", newline="") as f:
        for i, (_, text) in enumerate(csv.reader(f, delimiter=";", quotechar="'")):
            if i >= german:
                break
            out.append(Article(id=f"de{i:014d}", source="10kgnad", record=i + 1, title="", body=text,
                               outlet="DER STANDARD",
                               lang="de"))
    n = 0
    for z in sorted((CORPORA / "saudinewsnet-ar").glob("*.zip")):
        with zipfile.ZipFile(z) as zf:
            for rec in json.loads(zf.read(zf.namelist()[0]).decode("utf-8")):
                if n >= arabic:
                    break
                out.append(Article(id=f"ar{n:014d}", source=z.name, record=n + 1,
                                   title=rec.get("title") or "",
                                   body=rec.get("content") or "", outlet=rec.get("source") or "",
                                   lang="ar"))
                n += 1
    return out


def _with(a: Article, lang: str, outlet: str) -> Article:
    from dataclasses import replace

    return replace(a, lang=lang, outlet=a.outlet or outlet)


def schema_v4():
    """The schema of version 4: title, body and caption stored and analysed as English."""
    from whoosh.analysis import CharsetFilter
    from whoosh.analysis import StemmingAnalyzer
    from whoosh.fields import TEXT
    from whoosh.support.charset import accent_map

    analyzer = StemmingAnalyzer() | CharsetFilter(accent_map)
    schema = make_schema()
    for name in list(schema.names()):
        if name.split("_")[0] in ("title", "body", "caption", "exact"):
            schema.remove(name)
    schema.add("title", TEXT(analyzer=analyzer, stored=True, chars=True, field_boost=2.0))
    schema.add("body", TEXT(analyzer=analyzer, stored=True, chars=True))
    schema.add("caption", TEXT(analyzer=analyzer, stored=True, chars=True))
    return schema


def doc_v4(a: Article) -> dict:
    doc = to_document(a)
    return {k: v for k, v in doc.items()
            if k.split("_")[0] not in ("title", "body", "caption", "exact")} | {
        "title": a.title or "", "body": a.body or "", "caption": a.caption or ""}


def write(schema, docs: list[dict], folder: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) to write ``docs`` into a new index in
    ``folder`` (one in-process writer, one commit: all the work is this process's, so
    its CPU time is the cost, whatever else the shared machine runs)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    ix = whoosh_index.create_in(str(folder), schema)
    t, c = time.perf_counter(), time.process_time()
    w = ix.writer(limitmb=256)
    for d in docs:
        w.add_document(**d)
    w.commit()
    return time.perf_counter() - t, time.process_time() - c


def size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--german", type=int, default=1028)
    ap.add_argument("--arabic", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    arts = articles(args.german, args.arabic)
    # Documents built before timing: only Whoosh's analysis and writing are measured.
    docs = {"v4": [doc_v4(a) for a in arts], "now": [to_document(a) for a in arts]}
    schemas = {"v4": schema_v4, "now": make_schema}
    times: dict[str, list[float]] = {"v4": [], "now": []}
    cpu: dict[str, list[float]] = {"v4": [], "now": []}
    sizes = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            order = ("v4", "now") if i % 2 == 0 else ("now", "v4")
            for name in order:
                folder = Path(tmp) / name
                wall, used = write(schemas[name](), docs[name], folder)
                times[name].append(wall)
                cpu[name].append(used)
                sizes[name] = size(folder)
                print(f"run {i + 1}: {name} {wall:.2f} s wall, {used:.2f} s CPU", flush=True)
    n = len(arts)
    langs = {lang: sum(1 for a in arts if a.lang == lang) for lang in ("en", "de", "ar")}
    print(f"bare Whoosh writing, {n} articles ({langs}), 1 writer, median of {args.repeat}")
    print(f"{'schema':<46} {'wall s':>8} {'CPU s':>8} {'articles/CPU s':>15} {'index MB':>9}")
    label = {"v4": "version 4 (English analysis for all)",
             "now": "version 5 (per language + exact forms)"}
    for name in ("v4", "now"):
        s, c = statistics.median(times[name]), statistics.median(cpu[name])
        print(f"{label[name]:<46} {s:8.2f} {c:8.2f} {n / c:15.0f} {sizes[name] / 1e6:9.1f}")
    for what, got in (("CPU", cpu), ("wall", times)):
        ratio = statistics.median(got["now"]) / statistics.median(got["v4"])
        print(f"writing {what} time, version 5 / version 4: {ratio:.2f}x (goal <= 1.3)")


if __name__ == "__main__":
    main()
