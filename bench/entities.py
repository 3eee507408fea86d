"""Judged precision of the entity facets before and after resolution (issue 13).

For bbc-news and fakenewsnet-content, prints precision@20/@60/@100 and the duplicates in
the top 60 of each entity facet, judged from ``bench/labels/entities.tsv``, for the
facets as NER clean-up leaves them ("before") and after :func:`search.resolve.resolve`
("after"), in the same run, from the same indexes. Then the time resolution takes, and
the values of the top 100 no judgment covers ("unjudged"), to be judged by hand (rules
in ``bench/labels/ENTITIES.md``) and added to the label file with the note
``after resolution: ...``.

Build the two indexes once (NER takes a few minutes; they are reused). Indexes whose
enrichment cache is older than version 9 (``CODE_VERSION`` of
:mod:`search.ingest.enrich.entities`) lack the counts of the words around mentions
(version 8), the keys of the words leading to them and the people in apposition (version
9), and the resolution rules that read them stay off: build them again (remove the
folders first) to see the figures ``bench/labels/ENTITIES.md`` gives. Each article's
outlet is read from the index, as stage 3 reads it (boilerplate is counted per outlet)::

    .venv/bin/newsfacet index /work/shared/corpora/bbc-news --outlet BBC --index /work/cache-entities/bbc
    .venv/bin/newsfacet index /work/shared/corpora/fakenewsnet-content --index /work/cache-entities/fnn
    .venv/bin/python -m bench.entities [--bbc DIR] [--fnn DIR] [--scale]

``--scale`` also times resolution on the two archives repeated to 10,000 and 50,000
articles (ids renamed; the evidence of each copy is the same). ``--ner-cost N`` times
NER on N bbc-news articles (spaCy's pass, then the clean-up alone and the clean-up plus
the evidence kept for resolution, medians of 3) and measures what the evidence adds to
the enrichment cache.

A value judged in another facet of the same corpus is judged here from that verdict (a
value judged ``wrong`` with right type ``org`` in ``person`` is right in ``org``); such
derived judgments are counted in the "derived" column.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.entity_values import CUTOFFS  # noqa: E402
from bench.entity_values import DUP_CUTOFF  # noqa: E402
from bench.entity_values import LABELS  # noqa: E402
from bench.entity_values import Label  # noqa: E402
from bench.entity_values import read_labels  # noqa: E402

ENTITY_FACETS = ("person", "org", "place")
CORPORA = (("bbc-news", "bbc", "/work/cache-entities/bbc"),
           ("fakenewsnet-content", "fnn", "/work/cache-entities/fnn"))
TOP = 100
AFTER_NOTE = "after resolution"


def load_evidence(index_dir) -> dict:
    """Article id -> :class:`~search.models.Entities` with NER evidence, for every article
    of the index's live generation whose entity stage is done.

    The facet values come from the side store (what the facets show today), the evidence
    from the enrichment cache, by each article's cache key.

    :raises SystemExit: when the folder holds no index
    """
    import dataclasses

    from search.ingest.enrich.cache import EnrichCache
    from search.sidestore import DONE
    from search.sidestore import SideStore
    from search.sidestore import _decode
    from search.storage import current

    gen = current(index_dir)
    if gen is None:
        raise SystemExit(f"error: {index_dir} holds no index; build it first (see "
                         f"`python -m bench.entities --help`)")
    side = SideStore(gen, readonly=True)
    cache = EnrichCache(index_dir)
    out = {}
    missing = 0
    try:
        rows = side.db.execute("SELECT id, ckey, entities FROM articles WHERE state = ?",
                               (DONE,)).fetchall()
        hits = cache.get_many([ckey for _, ckey, _ in rows if ckey])
        for aid, ckey, raw in rows:
            entities = _decode(raw)
            hit = hits.get(ckey)
            if hit is not None and hit[1].evidence:
                entities = dataclasses.replace(entities, evidence=hit[1].evidence)
            else:
                missing += 1
            out[aid] = entities
    finally:
        side.close()
        cache.close()
    if missing:
        print(f"note: {missing} of {len(out)} articles of {index_dir} have no NER evidence "
              f"in the cache (no name-like mention, or enriched before the cache kept it); "
              f"they vote by their facet values only", file=sys.stderr)
    return out


def with_outlets(articles: dict, index_dir):
    """The :class:`~search.resolve.Evidence` of ``articles`` (from :func:`load_evidence`)
    with each article's outlet, as stage 3 reads it from the index's facet column."""
    from search.ingest.resolution import outlets
    from search.resolve import Evidence
    from search.storage import current

    outlet_of = outlets(current(index_dir))
    evidence = Evidence()
    for aid, entities in articles.items():
        evidence.add(aid, entities, None, outlet_of.get(aid))
    return evidence


def top_values(articles, top: int = TOP) -> dict[str, list[tuple[str, int]]]:
    """The ``top`` values of each facet by article count, ties by value (as the engine)."""
    counts = {f: Counter() for f in ENTITY_FACETS}
    for entities in articles:
        for f in ENTITY_FACETS:
            counts[f].update(set(getattr(entities, f)))
    return {f: sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
            for f, c in counts.items()}


def judge(labels: list[Label], corpus: str):
    """A function ``(facet, value) -> (Label | None, derived)`` from the corpus's labels."""
    direct = {(lab.facet, lab.value): lab for lab in labels if lab.corpus == corpus}
    by_value: dict[str, list[Label]] = {}
    for lab in labels:
        if lab.corpus == corpus:
            by_value.setdefault(lab.value, []).append(lab)

    canonical: dict[str, list[Label]] = {}
    for lab in labels:
        if lab.corpus == corpus and lab.verdict == "dup" and lab.dup_of not in by_value:
            canonical.setdefault(lab.dup_of, []).append(lab)

    def verdict(facet: str, value: str):
        if (facet, value) in direct:
            return direct[(facet, value)], False
        for lab in canonical.get(value, ()):
            # the canonical name the judge gave duplicates ("Liberal Democrats")
            right = lab.right_type == facet
            return Label(corpus, facet, 0, value, 0, "ok" if right else "wrong",
                         "" if right else lab.right_type, "", ""), True
        for other in by_value.get(value, ()):
            # The same string judged in another facet: its type is known.
            if other.verdict == "ok":
                return Label(corpus, facet, 0, value, 0, "wrong", other.facet, "", ""), True
            if other.verdict == "wrong":
                if other.right_type == facet:
                    return Label(corpus, facet, 0, value, 0, "ok", "", "", ""), True
                return Label(corpus, facet, 0, value, 0, "wrong", other.right_type, "", ""), True
            if other.verdict == "dup":
                return Label(corpus, facet, 0, value, 0, "dup", other.right_type, other.dup_of,
                             ""), True
        return None, False
    return verdict


def score_top(values, verdict, facet):
    """Precision@k (unjudged count as misses), dups in the top 60, unjudged, derived."""
    judged = [verdict(facet, v) for v, _ in values]
    right = [bool(lab and lab.right) for lab, _ in judged]
    precision = {k: (sum(right[:k]) / k if len(values) >= k else None) for k in CUTOFFS}
    top = judged[:DUP_CUTOFF]
    dups = sum(bool(lab and lab.verdict == "dup") for lab, _ in top)
    unjudged = [(rank, v, n) for rank, ((v, n), (lab, _)) in enumerate(zip(values, judged), 1)
                if lab is None]
    derived = sum(d for _, d in judged)
    return precision, dups, unjudged, derived


def _texts(index_dir, n: int) -> list[str]:
    """The text NER reads of the first ``n`` English articles of an index."""
    from whoosh import index as whoosh_index

    from search.storage import current

    ix = whoosh_index.open_dir(str(current(index_dir)))
    out = []
    with ix.searcher() as searcher:
        for fields in searcher.all_stored_fields():
            if fields.get("lang") == "en":
                out.append("\n\n".join(p for p in (fields.get("title"), fields.get("caption"),
                                                    fields.get("body")) if p and p.strip()))
            if len(out) >= n:
                break
    return out


def ner_cost(index_dir, n: int) -> str:
    """A table: spaCy's NER pass over ``n`` articles beside the clean-up with and without
    the evidence (medians of 3 runs), so the evidence's share of NER time shows."""
    from search.ingest.enrich.entities import EntityExtractor
    from search.ingest.enrich.entities import chunk_text
    from search.ingest.enrich.entities import clean_entities
    from search.ingest.enrich.entities import mention_evidence

    texts = _texts(index_dir, n)
    extractor = EntityExtractor()
    found = []
    spacy_times = []
    for _ in range(3):
        t0 = time.perf_counter()
        found = []
        for text in texts:
            mentions, before = [], []
            for doc in extractor.nlp.pipe(chunk_text(text, extractor.chunk_chars)):
                for e in doc.ents:
                    mentions.append((str(e.label_), str(e.text)))
                    before.append(doc[e.start - 1].lower_ if e.start else "")
            found.append((text, mentions, before))
        spacy_times.append(time.perf_counter() - t0)
    clean, both = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        for text, mentions, _ in found:
            clean_entities(text, mentions)
        clean.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for text, mentions, before in found:
            clean_entities(text, mentions)
            mention_evidence(text, mentions, before)
        both.append(time.perf_counter() - t0)
    sp, c, b = (statistics.median(x) for x in (spacy_times, clean, both))
    return "\n".join([
        f"| NER on {len(texts)} bbc-news articles (one process) | seconds | per article |",
        "|---|---|---|",
        f"| spaCy pipe (the model) | {sp:.2f} | {1000 * sp / len(texts):.1f} ms |",
        f"| clean-up only (before) | {c:.3f} | {1000 * c / len(texts):.2f} ms |",
        f"| clean-up + evidence (now) | {b:.3f} | {1000 * b / len(texts):.2f} ms |",
        f"| evidence's cost, share of the whole NER step | {b - c:.3f} | "
        f"{100 * (b - c) / (sp + c):.1f} % |"])


def cache_size(*index_dirs) -> str:
    """A table: the enrichment cache's entity JSON with and without the evidence."""
    import json
    import sqlite3

    rows = ["| enrichment cache | rows | entities JSON without evidence | with evidence | "
            "file |", "|---|---|---|---|---|"]
    for index_dir in index_dirs:
        path = Path(index_dir) / "enrich-cache.sqlite"
        db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        n = without = with_ = 0
        for (raw,) in db.execute("SELECT entities FROM enriched"):
            n += 1
            with_ += len(raw.encode("utf-8"))
            found = json.loads(raw)
            found.pop("evidence", None)
            without += len(json.dumps(found, ensure_ascii=False,
                                      separators=(",", ":")).encode("utf-8"))
        db.close()
        size = path.stat().st_size + sum(p.stat().st_size for p in path.parent.glob(
            path.name + "-wal"))
        rows.append(f"| {index_dir} | {n:,} | {without / 1e6:.2f} MB | {with_ / 1e6:.2f} MB | "
                    f"{size / 1e6:.2f} MB |")
    return "\n".join(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bbc", default=CORPORA[0][2], help="bbc-news index directory")
    parser.add_argument("--fnn", default=CORPORA[1][2], help="fakenewsnet-content index directory")
    parser.add_argument("--labels", default=str(LABELS), help="judgment TSV")
    parser.add_argument("--scale", action="store_true",
                        help="also time resolution at 10,000 and 50,000 articles")
    parser.add_argument("--ner-cost", type=int, default=0, metavar="N",
                        help="also time the evidence's cost in NER on N bbc-news articles")
    args = parser.parse_args(argv)
    from search.resolve import resolve

    labels = read_labels(args.labels)
    dirs = {"bbc": args.bbc, "fnn": args.fnn}
    lines = ["| corpus | facet | stage | P@20 | P@60 | P@100 | dups in top 60 | unjudged in top 100 "
             "| derived |", "|" + "---|" * 9]
    timings = []
    all_unjudged = []
    evidence_all = {}
    for corpus, short, _ in CORPORA:
        t0 = time.perf_counter()
        evidence = load_evidence(dirs[short])
        archive = with_outlets(evidence, dirs[short])
        load_s = time.perf_counter() - t0
        evidence_all[short] = evidence
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            resolution = resolve(archive)
            times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        after_articles = [resolution.apply(e) for e in evidence.values()]
        apply_s = time.perf_counter() - t0
        timings.append((corpus, len(evidence), load_s, statistics.median(times), apply_s,
                        len(resolution)))
        verdict = judge(labels, corpus)
        before = top_values(evidence.values())
        after = top_values(after_articles)
        for facet in ENTITY_FACETS:
            for stage, values in (("before", before[facet]), ("after", after[facet])):
                p, dups, unjudged, derived = score_top(values, verdict, facet)
                cells = [corpus, facet, stage] + [f"{p[k]:.2f}" if p[k] is not None else "—"
                                                  for k in CUTOFFS]
                cells += [str(dups), str(len(unjudged)), str(derived)]
                lines.append("| " + " | ".join(cells) + " |")
                if stage == "after":
                    all_unjudged += [(corpus, facet, r, v, n) for r, v, n in unjudged]
    print("\n".join(lines))
    print()
    print("| corpus | articles | read evidence (side store + cache) | resolve (median of 3) "
          "| apply to every article | raw values |")
    print("|---|---|---|---|---|---|")
    for corpus, n, load_s, t, a, values in timings:
        print(f"| {corpus} | {n:,} | {load_s:.2f} s | {t:.2f} s | {a:.2f} s | {values:,} |")
    if args.scale:
        print()
        print("| articles (bbc + fnn repeated) | resolve |")
        print("|---|---|")
        base = [e for ev in evidence_all.values() for e in ev.values()]
        for n in (10_000, 50_000):
            big = {f"a{i}": base[i % len(base)] for i in range(n)}
            t0 = time.perf_counter()
            resolve(big)
            print(f"| {n:,} | {time.perf_counter() - t0:.1f} s |")
    if args.ner_cost:
        print()
        print(ner_cost(args.bbc, args.ner_cost))
        print()
        print(cache_size(args.bbc, args.fnn))
    if all_unjudged:
        print()
        print(f"unjudged after resolution ({len(all_unjudged)}): corpus facet rank value count")
        for row in all_unjudged:
            print("\t".join(str(c) for c in row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
