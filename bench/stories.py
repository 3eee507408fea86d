"""Stories benchmark: copies and story clustering (issue 12), each beside a baseline.

Reads ``seeds``, ``bbc-news``, ``fakenewsnet-content`` and ``article-extraction-benchmark``
with the project's readers and cleanup (:func:`bench.story_pairs.load`: the indexer's ids).
Entities come from the project's NER (:class:`~search.ingest.enrich.pipeline.Enricher`),
run once and kept in the project's enrichment cache at ``--cache`` (default
``/work/cache-stories``, outside the repository), so a rerun reads them back.

What it prints (one table each):

1. **Copies on bbc-news** — precision and recall of (article, copy_of) pairs against the
   exact ground truth: every pair of articles whose word 5-shingle sets have Jaccard
   ≥ 0.5, or containment ≥ 0.8 of the smaller (≥ 20 shingles) in the larger, found by
   exact set intersection over all pairs; groups are their connected components, and
   ``copy_of`` the first member in canonical order. Baseline: the exact hash of the
   normalised text alone. Goals: P ≥ 0.99, R ≥ 0.95.
2. **Stories on bbc-news alone** — purity over its five categories (share of articles in
   a story whose majority category is theirs; goal ≥ 0.97), stories mixing categories,
   and how many articles are in stories of two or more. Baseline: connected components
   of TF-IDF cosine ≥ the baseline's threshold of 3. (single link).
3. **Pairwise P/R/F1 on ``bench/labels/story_pairs.tsv``** (label ``?`` left out) of the
   clustering of all four corpora together, overall and per corpus pair, beside the
   TF-IDF cosine threshold baseline: a pair is one story iff its sampled cosine (the
   file's ``cosine`` column) ≥ t, with **t chosen as the best on these same pairs**
   (so the baseline is optimistic). Then the sensitivity of F1 to each threshold.
4. **Cost** — CPU ms per article (this process's CPU time: the machine is shared) of
   copies (signature + index) and clustering, NER not counted (warm cache), at bbc-news,
   all four corpora, and the four corpora replicated and perturbed to a quarter, a half
   and all of ``--large`` articles (each replica drops a seeded 15 % of the words, renames
   a seeded 10 % and moves dates 45 days per replica, so replicas are neither copies nor
   identical vectors); an update adding the 50 newest dated articles beside clustering
   from scratch (and whether the stories are the same); beside a naive single pass that
   scores every story (the cost that grows with the archive), on bbc-news only.

Run from the repository root::

    .venv/bin/python -m bench.stories                # everything (≈ 15 min with a warm cache)
    .venv/bin/python -m bench.stories --large 0      # skip the large size
"""

from __future__ import annotations

import argparse
import hashlib
import math
import random
import statistics
import sys
import time
from collections import Counter
from collections import defaultdict
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np

from bench import story_pairs
from search.ingest.enrich.cache import EnrichCache
from search.ingest.enrich.cache import cache_key
from search.ingest.enrich.pipeline import Enricher
from search.models import Article
from search.stories import cluster as story_cluster
from search.stories.cluster import StoryArticle
from search.stories.cluster import StoryClusterer
from search.stories.cluster import Thresholds
from search.stories.copies import CopyIndex
from search.stories.copies import canonical_key
from search.stories.copies import copy_text
from search.stories.copies import is_copy
from search.stories.copies import signature

CACHE = Path("/work/cache-stories")
LABELS = Path(__file__).resolve().parent / "labels" / "story_pairs.tsv"
NAMES = ("seeds", "bbc-news", "fakenewsnet-content", "article-extraction-benchmark")


# -- loading ----------------------------------------------------------------------------

def load(cache_dir: Path = CACHE, names=NAMES) -> tuple[list[StoryArticle], dict[str, str]]:
    """The articles as the clusterer takes them, and each one's corpus-relative source.

    NER runs only for articles not yet in the cache (and fills it).
    """
    docs = story_pairs.load(names=names)
    enricher = Enricher()
    cache = EnrichCache(cache_dir)
    arts = [Article(id=d.id, source=d.source, record=None, title=d.title, body=d.body)
            for d in docs]
    keys = [cache_key(a, enricher.version) for a in arts]
    found = [cache.get(k) for k in keys]
    todo = [i for i, f in enumerate(found) if f is None]
    if todo:
        print(f"NER of {len(todo)} articles (once; cached in {cache_dir}) ...", file=sys.stderr)
        t = time.perf_counter()
        for start in range(0, len(todo), 64):
            batch = todo[start:start + 64]
            out = enricher.enrich([arts[i] for i in batch])
            cache.put_many([(keys[i], lang, ents) for i, (lang, ents) in zip(batch, out)])
            for i, got in zip(batch, out):
                found[i] = got
        print(f"  {time.perf_counter() - t:.0f} s", file=sys.stderr)
    cache.close()
    out, sources = [], {}
    for d, (lang, ents) in zip(docs, found):
        outlet = d.outlet
        if d.corpus == "seeds":
            # The seeds are two outlets' accounts (issue 12: indexed with two --outlet values).
            outlet = "seed-" + Path(d.source).name[:3]
        out.append(StoryArticle(d.id, d.published, outlet, lang, d.title, d.body,
                                ents.person, ents.org, ents.place))
        sources[d.id] = d.source
    return out, sources


def category(source: str) -> str | None:
    """The bbc-news category of a source (``...::bbc/sport/199.txt`` -> ``sport``)."""
    if "::bbc/" not in source:
        return None
    return source.rsplit("/", 2)[-2]


# -- copies -----------------------------------------------------------------------------

def copy_truth(arts: list[StoryArticle]) -> dict[str, str | None]:
    """Exact ground truth: (article -> copy_of) from all pairs' shingle sets."""
    sigs = {a.id: signature(copy_text(a.title, a.body)) for a in arts}
    post: dict[int, list[str]] = defaultdict(list)
    for i, s in sigs.items():
        for h in s.shingles.tolist():
            post[h].append(i)
    pairs = set()  # every pair sharing a shingle: the only pairs that can be copies
    for plist in post.values():
        for x in range(len(plist)):
            for y in range(x + 1, len(plist)):
                pairs.add((plist[x], plist[y]))
    parent = {a.id: a.id for a in arts}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        sa, sb = sigs[a], sigs[b]
        if (sa.text_hash and sa.text_hash == sb.text_hash) or is_copy(sa.shingles, sb.shingles):
            parent[find(a)] = find(b)
    groups: dict[str, list[StoryArticle]] = defaultdict(list)
    for a in arts:
        groups[find(a.id)].append(a)
    truth: dict[str, str | None] = {}
    for members in groups.values():
        members.sort(key=lambda a: canonical_key(a.id, a.published))
        for m in members:
            truth[m.id] = None if m is members[0] else members[0].id
    return truth


def jaccard_pairs(arts: list[StoryArticle], low: float = 0.5) -> int:
    """How many pairs have shingle Jaccard ≥ ``low`` (MEASURED.md's 166 on bbc-news)."""
    sigs = [signature(copy_text(a.title, a.body)).shingles for a in arts]
    post: dict[int, list[int]] = defaultdict(list)
    for i, s in enumerate(sigs):
        for h in s.tolist():
            post[h].append(i)
    inter: Counter = Counter()
    for plist in post.values():
        for x in range(len(plist)):
            for y in range(x + 1, len(plist)):
                inter[(plist[x], plist[y])] += 1
    return sum(1 for (a, b), k in inter.items()
               if k / (len(sigs[a]) + len(sigs[b]) - k) >= low)


def pr(pred: dict[str, str | None], truth: dict[str, str | None]) -> tuple[float, float, int, int]:
    """Precision and recall of (article, copy_of) pairs; and the pair counts."""
    p = {(a, c) for a, c in pred.items() if c}
    t = {(a, c) for a, c in truth.items() if c}
    tp = len(p & t)
    return (tp / len(p) if p else 1.0), (tp / len(t) if t else 1.0), len(p), len(t)


def copies_table(bbc: list[StoryArticle]) -> list[str]:
    truth = copy_truth(bbc)
    t0 = time.process_time()
    sigs = [(a.id, a.published, signature(copy_text(a.title, a.body))) for a in bbc]
    t1 = time.process_time()
    idx = CopyIndex()
    idx.add_many(sigs)
    t2 = time.process_time()
    pred = {i: idx.copy_of(i) for i, _, _ in sigs}
    # Baseline: the exact hash alone.
    first: dict[str, str] = {}
    base: dict[str, str | None] = {}
    for a, pub, s in sorted(sigs, key=lambda x: canonical_key(x[0], x[1])):
        head = first.setdefault(s.text_hash, a) if s.text_hash else a
        base[a] = None if head == a else head
    # A warm rebuild: the same groups from stored rows, no text read.
    rows = [(i, p, s.to_row()) for i, p, s in sigs]
    t3 = time.process_time()
    warm = CopyIndex()
    warm.add_many((i, p, type(s).from_row(*row)) for (i, p, row), (_, _, s) in zip(rows, sigs))
    t4 = time.process_time()
    assert warm.result() == idx.result()
    n = len(bbc)
    lines = [f"## Copies on bbc-news ({n} articles; "
             f"{jaccard_pairs(bbc)} pairs with shingle Jaccard >= 0.5)",
             "| method | pairs found | true pairs | precision | recall | CPU ms/article |",
             "|---|---|---|---|---|---|"]
    for name, got, ms in (("exact text hash (baseline)", base, None),
                          ("hash + MinHash/LSH, verified (copies.py)", pred,
                           (t2 - t0) * 1000 / n)):
        p, r, np_, nt = pr(got, truth)
        lines.append(f"| {name} | {np_} | {nt} | {p:.3f} | {r:.3f} | "
                     f"{'' if ms is None else f'{ms:.2f}'} |")
    lines.append(f"\nCPU: signatures {(t1 - t0) * 1000 / n:.2f} ms/article, index + verify "
                 f"{(t2 - t1) * 1000 / n:.2f} ms/article; warm rebuild from stored rows "
                 f"{(t4 - t3) * 1000 / n:.2f} ms/article (same groups); "
                 f"copy groups {len(idx.groups())}, articles in them "
                 f"{sum(len(m) for m in idx.groups().values())}. Goals P >= 0.99, R >= 0.95: "
                 f"{'PASS' if pr(pred, truth)[0] >= 0.99 and pr(pred, truth)[1] >= 0.95 else 'MISS'}")
    return lines


# -- stories ----------------------------------------------------------------------------

def tfidf_components(arts: list[StoryArticle], t: float) -> dict[str, str]:
    """Baseline clustering: connected components of TF-IDF cosine >= t (single link)."""
    docs = [story_pairs.Doc(a.id, "", "", a.outlet or "", a.published, a.title, a.body)
            for a in arts]
    terms, weights, nt = story_pairs.tfidf(docs)
    sim = story_pairs.Similarity(terms, weights, nt)
    parent = list(range(len(arts)))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i in range(len(arts)):
        row = sim.row(i)
        for j in np.nonzero(row >= t)[0].tolist():
            if j != i:
                parent[find(i)] = find(j)
    return {a.id: arts[find(i)].id for i, a in enumerate(arts)}


def purity(story_of: dict[str, str], cat: dict[str, str]) -> tuple[float, int, int, int]:
    """(purity, stories mixing categories, stories of 2+, articles in stories of 2+)."""
    members: dict[str, list[str]] = defaultdict(list)
    for a, s in story_of.items():
        members[s].append(a)
    good = mixed = multi = in_multi = 0
    for ms in members.values():
        c = Counter(cat[m] for m in ms)
        good += c.most_common(1)[0][1]
        mixed += len(c) > 1
        if len(ms) > 1:
            multi += 1
            in_multi += len(ms)
    return good / len(story_of), mixed, multi, in_multi


def read_labels() -> list[dict[str, str]]:
    return [r for r in story_pairs.read_labels(LABELS) if r["label"] in ("0", "1")]


def scores(pairs: list[tuple[bool, bool]]) -> tuple[float, float, float, int]:
    tp = sum(1 for p, t in pairs if p and t)
    fp = sum(1 for p, t in pairs if p and not t)
    fn = sum(1 for p, t in pairs if t and not p)
    prec = tp / (tp + fp) if tp + fp else 1.0
    rec = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return prec, rec, f1, len(pairs)


def best_threshold(labels) -> tuple[float, float]:
    judged = [(float(r["cosine"]), r["label"] == "1") for r in labels]
    best = (0.0, 0.0)
    for t in sorted({c for c, _ in judged}):
        f1 = scores([(c >= t, y) for c, y in judged])[2]
        if f1 > best[1]:
            best = (t, f1)
    return best


def pair_table(story_of: dict[str, str], labels, t: float) -> list[str]:
    lines = ["| pairs | n | pos | baseline P | R | F1 | stories P | R | F1 |",
             "|---|---|---|---|---|---|---|---|---|"]
    groups: dict[str, list] = defaultdict(list)
    for r in labels:
        k = story_pairs.corpus_of(r["a_source"]) + "/" + story_pairs.corpus_of(r["b_source"])
        k = "/".join(sorted(k.split("/")))
        groups["all"].append(r)
        groups[k].append(r)
    for k in ["all"] + sorted(k for k in groups if k != "all"):
        rows = groups[k]
        y = [r["label"] == "1" for r in rows]
        base = scores([(float(r["cosine"]) >= t, yy) for r, yy in zip(rows, y)])
        ours = scores([(story_of.get(r["a_id"]) is not None
                        and story_of.get(r["a_id"]) == story_of.get(r["b_id"]), yy)
                       for r, yy in zip(rows, y)])
        lines.append(f"| {k} | {len(rows)} | {sum(y)} | {base[0]:.3f} | {base[1]:.3f} | "
                     f"{base[2]:.3f} | {ours[0]:.3f} | {ours[1]:.3f} | {ours[2]:.3f} |")
    return lines


def pair_f1(story_of: dict[str, str], labels) -> tuple[float, float, float, int]:
    return scores([(story_of.get(r["a_id"]) is not None
                    and story_of.get(r["a_id"]) == story_of.get(r["b_id"]),
                    r["label"] == "1") for r in labels])


def sensitivity(arts, labels, cat) -> list[str]:
    th = Thresholds()
    lines = ["| threshold | value | pair P | R | F1 | bbc purity |", "|---|---|---|---|---|---|"]
    variants = [("(defaults)", th)]
    for name, vals in (("join", (0.2, 0.25, 0.35, 0.4)),
                       ("join_undated", (0.3, 0.35, 0.45, 0.5)),
                       ("guard", (0.0, 0.2, 0.4)), ("merge", (0.4, 0.6, 1.01)),
                       ("entity_weight", (0.0, 0.5)),
                       ("sure", (0.6, 0.8)), ("min_shared", (1, 3)),
                       ("use_entities", (False,)), ("use_titles", (False,))):
        for v in vals:
            variants.append((f"{name}", replace(th, **{name: v})))
    bbc = [a for a in arts if a.id in cat]
    for name, t in variants:
        st = story_cluster.cluster(arts, t).story_of
        p, r, f1, _ = pair_f1(st, labels)
        pur = purity(story_cluster.cluster(bbc, t).story_of, cat)[0]
        value = "" if name == "(defaults)" else getattr(t, name)
        lines.append(f"| {name} | {value} | {p:.3f} | {r:.3f} | {f1:.3f} | {pur:.3f} |")
    return lines


# -- cost -------------------------------------------------------------------------------

def mangle(text: str, r: int, rng: random.Random) -> str:
    """Text of replica ``r``: 15 % of its words dropped, 10 % renamed (``wordxR``)."""
    out = []
    for w in text.split(" "):
        x = rng.random()
        if x < 0.15:
            continue
        out.append(w + f"x{r}" if x < 0.25 else w)
    return " ".join(out)


def perturb(a: StoryArticle, r: int, rng: random.Random) -> StoryArticle:
    """Replica ``r`` of an article: new id, words mangled (:func:`mangle`), 45 days later."""
    new_id = hashlib.sha1(f"{a.id}:{r}".encode()).hexdigest()[:16]
    pub = None if a.published is None else a.published + timedelta(days=45 * r)
    return replace(a, id=new_id, published=pub, title=mangle(a.title, r, rng),
                   body=mangle(a.body, r, rng))


def timed_run(arts: list[StoryArticle]) -> tuple[float, float, int]:
    """CPU ms/article of copies (signatures + index) and of clustering; stories of 2+.

    CPU time of this process, not wall time: the machine is shared, and other jobs would
    otherwise show up as our cost.
    """
    t0 = time.process_time()
    idx = CopyIndex()
    idx.add_many((a.id, a.published, signature(copy_text(a.title, a.body))) for a in arts)
    t1 = time.process_time()
    st = StoryClusterer(arts).stories()
    t2 = time.process_time()
    n = len(arts)
    return (t1 - t0) * 1000 / n, (t2 - t1) * 1000 / n, sum(len(m) > 1 for m in st.members.values())


def update_cost(arts: list[StoryArticle], k: int = 50) -> list[str]:
    """An update that adds the ``k`` newest dated articles, beside clustering from scratch."""
    dated = sorted((a for a in arts if a.published is not None), key=story_cluster.canonical_key)
    if len(dated) < k:
        return []
    # Undated articles re-cluster on any update of the dated ones (they come after them
    # in canonical order): measure on the dated articles, the case of a growing archive.
    old, new = dated[:-k], dated[-k:]
    sc = StoryClusterer(old)
    t0 = time.process_time()
    got = sc.update(add=new)
    t1 = time.process_time()
    scratch = StoryClusterer(dated).stories()
    t2 = time.process_time()
    same = "same stories" if got.members == scratch.members else "DIFFERENT stories"
    return [f"| update: {k} newest of the {len(dated)} dated articles added | {k} | | "
            f"{(t1 - t0) * 1000 / k:.2f} | | {same} as from scratch "
            f"({(t2 - t1) * 1000:.0f} ms for all {len(dated)}, vs {(t1 - t0) * 1000:.0f} ms) |"]


def naive_single_pass(arts: list[StoryArticle], t: float = 0.4) -> float:
    """Baseline cost: every article scored against every story centroid (CPU ms/article)."""
    t0 = time.process_time()
    df: Counter = Counter()
    stories: list[dict[str, float]] = []
    for n, a in enumerate(sorted(arts, key=story_cluster.canonical_key)):
        counts = Counter(story_cluster.tokens(a.title + "\n" + a.body))
        vec = {w: (1 + math.log(k)) * (math.log((n + 1) / (df.get(w, 0) + 1)) + 1)
               for w, k in counts.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        vec = {w: v / norm for w, v in vec.items()}
        best, best_c = None, t
        for s in stories:
            c = sum(v * s.get(w, 0.0) for w, v in vec.items())
            if c >= best_c:
                best, best_c = s, c
        if best is None:
            stories.append(dict(vec))
        else:
            for w, v in vec.items():
                best[w] = best.get(w, 0.0) + v
        df.update(counts.keys())
    return (time.process_time() - t0) * 1000 / len(arts)


def cost_table(arts: list[StoryArticle], bbc: list[StoryArticle], large: int) -> list[str]:
    lines = ["| set | articles | copies CPU ms/article | stories CPU ms/article | total | "
             "stories of 2+ |", "|---|---|---|---|---|---|"]
    sets = [("bbc-news", bbc), ("all four corpora", arts)]
    if large:
        rng = random.Random(12)
        big = list(arts)
        r = 1
        while len(big) < large:
            big.extend(perturb(a, r, rng) for a in arts)
            r += 1
        for size in sorted({large // 4, large // 2, large}):
            if size > len(arts):
                sets.append((f"replicas, perturbed: first {size}", big[:size]))
    for name, s in sets:
        cp, st, multi = timed_run(s)
        lines.append(f"| {name} | {len(s)} | {cp:.2f} | {st:.2f} | {cp + st:.2f} | {multi} |")
    lines += update_cost(arts)
    naive = naive_single_pass(bbc)
    lines.append(f"| baseline: naive single pass, every story scored (bbc-news) | {len(bbc)} "
                 f"| | {naive:.2f} | | |")
    return lines


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="bench.stories", description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=Path, default=CACHE,
                    help="enrichment cache folder for the NER results (outside the repo)")
    ap.add_argument("--large", type=int, default=50000,
                    help="articles of the replicated set for the cost table (0: skip)")
    ap.add_argument("--no-sensitivity", action="store_true",
                    help="skip the threshold sensitivity table (it clusters ~30 times)")
    args = ap.parse_args(argv)
    t = time.perf_counter()
    arts, sources = load(args.cache)
    print(f"loaded {len(arts)} articles in {time.perf_counter() - t:.0f} s "
          f"(entities from {args.cache})\n")
    cat = {a.id: category(sources[a.id]) for a in arts if category(sources[a.id])}
    bbc = [a for a in arts if a.id in cat]
    print("\n".join(copies_table(bbc)))

    labels = read_labels()
    thr, f1 = best_threshold(labels)
    st_bbc = story_cluster.cluster(bbc).story_of
    base_bbc = tfidf_components(bbc, thr)
    print(f"\n## Stories on bbc-news alone ({len(bbc)} articles, undated, one outlet)")
    print("| method | purity | stories mixing categories | stories of 2+ | articles in them |")
    print("|---|---|---|---|---|")
    for name, so in ((f"baseline: TF-IDF cosine >= {thr:.3f}, single link", base_bbc),
                     ("stories (cluster.py)", st_bbc)):
        p, mixed, multi, in_multi = purity(so, cat)
        print(f"| {name} | {p:.3f} | {mixed} | {multi} | {in_multi} |")
    p = purity(st_bbc, cat)[0]
    print(f"\npurity goal >= 0.97: {'PASS' if p >= 0.97 else 'MISS'}")

    st_all = story_cluster.cluster(arts)
    print(f"\n## Pairwise on bench/labels/story_pairs.tsv ({len(labels)} pairs judged 0/1; "
          f"clustering of all {len(arts)} articles)")
    print(f"baseline: same story iff the pair's TF-IDF cosine >= {thr:.3f}, the best threshold "
          f"on these same pairs (F1 {f1:.3f}; optimistic)")
    print("\n".join(pair_table(st_all.story_of, labels, thr)))
    ours = pair_f1(st_all.story_of, labels)[2]
    print(f"\nF1 above the baseline's: {'PASS' if ours > f1 else 'MISS'} ({ours:.3f} vs {f1:.3f})")
    seeds = [a.id for a in arts if sources[a.id].startswith("seeds/")]
    seed_story = {st_all.story_of[s] for s in seeds}
    joined = [m for s in seed_story for m in st_all.members[s] if m not in seeds]
    print(f"seeds: {len(seed_story)} story; other articles in it: {len(joined)}")
    multi = [m for m in st_all.members.values() if len(m) > 1]
    print(f"stories of 2+: {len(multi)} holding {sum(map(len, multi))} of {len(arts)} articles; "
          f"largest {max(map(len, multi)) if multi else 0}; "
          f"sizes median {statistics.median(map(len, multi)) if multi else 0}")

    if not args.no_sensitivity:
        print("\n## Sensitivity: one threshold changed at a time (pairwise on the labels; "
              "purity on bbc-news)")
        print("\n".join(sensitivity(arts, labels, cat)))

    print("\n## Cost (NER not counted: warm cache; one pass each)")
    print("\n".join(cost_table(arts, bbc, args.large)))


if __name__ == "__main__":
    main()
