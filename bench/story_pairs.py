"""Story pairs: sample candidate article pairs to label by hand, and summarise the labels.

The stories benchmark scores a clusterer on pairs of articles judged by hand "same story"
(1), "different story" (0) or unsure (``?``). This module picks the pairs to judge and
prints the figures of a judged file; it never writes corpus text to a file.

- ``sample``: reads ``seeds``, ``bbc-news``, ``fakenewsnet-content`` and the HTML pages of
  ``article-extraction-benchmark`` from ``../shared/corpora`` with Newsfacet's own readers
  (so every id is the id the indexer gives), cleans them as the indexer does, builds
  TF-IDF vectors of the articles a labeller can judge (:func:`judgeable`; title + body,
  sublinear tf, smoothed idf, L2-normalised; NumPy only), and draws pairs from each
  article's nearest neighbours in cosine bands (high, medium, borderline), preferring
  pairs from different outlets, plus a few random pairs, more pairs of different outlets,
  and the two seeds. Same seed, same pairs.
- ``show``: prints the two articles of pairs of a TSV on the terminal, for the labeller.
- ``stats``: counts of a label file (by label, corpus pair, cosine band; with
  ``--outlets``, by same or different outlet) and the cosine distribution of positives
  and negatives.

Run from the repository root::

    .venv/bin/python -m bench.story_pairs sample --out /tmp/story_candidates.tsv
    .venv/bin/python -m bench.story_pairs show /tmp/story_candidates.tsv --rows 1-20
    .venv/bin/python -m bench.story_pairs stats bench/labels/story_pairs.tsv

>>> band(0.61), band(0.3), band(0.2), band(0.01)
('high', 'medium', 'borderline', 'low')
>>> sorted(tokens("The U.S. team's 3-1 win, said Mr Smith"))
['1', '3', 'mr', 'smith', 'team', 'u.s', 'win']
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import re
import statistics
import sys
from collections import Counter
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from search.ingest.enrich.cleanup import clean
from search.ingest.enrich.outlets import outlet_name
from search.ingest.readers import discover
from search.ingest.readers import read_file
from search.models import source_key

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
# Corpus folder -> (what to read inside it, short name, the --outlet an index run would give).
CORPUS_PATHS = {
    "seeds": ("seeds", "seeds", None),
    "bbc-news": ("bbc-news/bbc-fulltext.tar.gz", "bbc", "BBC"),
    "fakenewsnet-content": ("fakenewsnet-content/fakenewsnet_news_content.jsonl.gz", "fnn", None),
    "article-extraction-benchmark": ("article-extraction-benchmark/html", "aeb", None),
}
COLUMNS = ("a_id", "b_id", "a_source", "b_source", "label", "cosine", "note")
SEED = 20261128
NEIGHBOURS = 10
# Cosine bands, lower bounds. Chosen from the distribution of nearest-neighbour cosines of
# these corpora: near-copies sit above 0.8, one event told by two outlets mostly 0.3-0.7,
# and the same topic without the same event mostly 0.1-0.3.
BANDS = (("high", 0.5), ("medium", 0.3), ("borderline", 0.15), ("low", -1.0))
# How many pairs each band gets from the neighbour lists, and how many random pairs.
QUOTA = {"high": 110, "medium": 70, "borderline": 55}
RANDOM_PAIRS = 15
# Then this many more pairs of different outlets from what the high and medium bands left:
# one event told by several outlets is what stories are for, and the bands alone give few.
CROSS_EXTRA = 30
# Of the high band, at most this many near-exact copies (cosine >= 0.95) per corpus pair:
# they are easy and would otherwise fill the band.
MAX_COPIES = 8
# No article in more than this many pairs: one busy article (a site whose pages share a
# long footer) would otherwise fill a band with near-identical judgements.
MAX_PER_ARTICLE = 2
# Turns per round when the bands are shared out: the many-outlet corpus counts most, BBC
# next (same outlet, but dense in follow-ups); every other corpus pair one turn.
WEIGHT = {"fnn/fnn": 3, "bbc/bbc": 2}
# An article a labeller can judge: at least this many words of body, and an opening (its
# first OPENING words) that fewer than FURNITURE articles share. FakeNewsNet holds ~300
# crawled pages under 100 words and dozens of repeated notices ("enable JavaScript",
# "this domain is for sale", a site's about-box): identical text, but no news event.
MIN_WORDS = 100
OPENING = 60
FURNITURE = 3

_STOP = frozenset("""a about above after again against all also am an and any are as at be because
been before being below between both but by can could did do does doing down during each few for
from further had has have having he her here hers herself him himself his how i if in into is it
its itself just me more most my myself no nor not now of off on once only or other our ours
ourselves out over own same she should so some such than that the their theirs them themselves
then there these they this those through to too under until up very was we were what when where
which while who whom why will with would you your yours yourself yourselves said says say one two
new year years last first told like get got us it's he's she's i'm""".split())
_WORD = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")


@dataclass(frozen=True)
class Doc:
    """One article as the sampler sees it (its text is kept in memory only)."""

    id: str
    source: str  # corpus-relative source key: ``bbc-news/bbc-fulltext.tar.gz::bbc/sport/199.txt``
    corpus: str  # short name: seeds, bbc, fnn, aeb
    outlet: str
    published: datetime | None
    title: str
    body: str


def band(cosine: float) -> str:
    """The name of the cosine band ``cosine`` falls in."""
    for name, low in BANDS:
        if cosine >= low:
            return name
    return BANDS[-1][0]


def tokens(text: str) -> list[str]:
    """Lower-cased words of ``text`` without stop words (possessive ``'s`` dropped)."""
    out = []
    for w in _WORD.findall(text.lower()):
        if w.endswith("'s"):
            w = w[:-2]
        if w and w not in _STOP and (len(w) > 1 or w.isdigit()):
            out.append(w)
    return out


def relative_source(source: str, record: int | None, corpora: Path) -> str:
    """The reader's source key with the corpora folder taken off its front."""
    key = source_key(source, record)
    prefix = str(corpora.resolve()) + "/"
    return key[len(prefix):] if key.startswith(prefix) else key


def load(corpora: Path = CORPORA, names=tuple(CORPUS_PATHS)) -> list[Doc]:
    """Every article of the named corpora, read and cleaned as the indexer does, one per id.

    Records that share a URL share an id and are one article (the first source is kept),
    as in the index. Read errors are counted on stderr, not raised.
    """
    errors: list = []
    docs: dict[str, Doc] = {}
    for name in names:
        inside, short, default_outlet = CORPUS_PATHS[name]
        for path in discover([corpora / inside], errors.append):
            for raw in read_file(path, errors.append):
                if raw.id in docs:
                    continue
                art = clean(raw)
                outlet = outlet_name(art.outlet, art.url, default_outlet)
                docs[raw.id] = Doc(raw.id, relative_source(raw.source, raw.record, corpora),
                                   short, outlet, art.published, art.title, art.body)
    if errors:
        print(f"{len(errors)} records skipped by the readers (no text, no article in page)",
              file=sys.stderr)
    return list(docs.values())


def tfidf(docs: list[Doc]) -> tuple[list[np.ndarray], list[np.ndarray], int]:
    """Sparse TF-IDF rows: per document its term numbers and L2-normalised weights."""
    counts = [Counter(tokens(d.title + "\n" + d.body)) for d in docs]
    df: Counter = Counter()
    for c in counts:
        df.update(c.keys())
    vocab = {t: i for i, t in enumerate(sorted(df))}
    n = len(docs)
    idf = {t: math.log((1 + n) / (1 + k)) + 1 for t, k in df.items()}
    terms, weights = [], []
    for c in counts:
        ids = np.array([vocab[t] for t in c], dtype=np.int64)
        w = np.array([(1 + math.log(k)) * idf[t] for t, k in c.items()], dtype=np.float64)
        norm = float(np.sqrt((w * w).sum())) or 1.0
        terms.append(ids)
        weights.append(w / norm)
    return terms, weights, len(vocab)


class Similarity:
    """Cosines of one document against all, through posting lists (exact, no SciPy)."""

    def __init__(self, terms: list[np.ndarray], weights: list[np.ndarray], n_terms: int):
        self.terms, self.weights, self.n = terms, weights, len(terms)
        doc_of = np.concatenate([np.full(len(t), i, dtype=np.int64) for i, t in enumerate(terms)])
        term_of = np.concatenate(terms)
        w = np.concatenate(weights)
        order = np.argsort(term_of, kind="stable")
        self.post_docs, self.post_w = doc_of[order], w[order]
        self.start = np.searchsorted(term_of[order], np.arange(n_terms + 1))

    def row(self, i: int) -> np.ndarray:
        """Cosines of document ``i`` with every document (itself included)."""
        docs, ws = [], []
        for t, w in zip(self.terms[i], self.weights[i]):
            a, b = self.start[t], self.start[t + 1]
            docs.append(self.post_docs[a:b])
            ws.append(self.post_w[a:b] * w)
        if not docs:
            return np.zeros(self.n)
        return np.bincount(np.concatenate(docs), weights=np.concatenate(ws), minlength=self.n)

    def pair(self, i: int, j: int) -> float:
        """The cosine of documents ``i`` and ``j``."""
        common, ia, ja = np.intersect1d(self.terms[i], self.terms[j], return_indices=True)
        return float((self.weights[i][ia] * self.weights[j][ja]).sum())


def kind(a: Doc, b: Doc) -> str:
    """The corpus pair, e.g. ``bbc/fnn`` (names sorted)."""
    return "/".join(sorted((a.corpus, b.corpus)))


def cross_outlet(a: Doc, b: Doc) -> bool:
    """Whether two articles come from different outlets (an unknown outlet counts as different)."""
    return a.outlet != b.outlet or a.outlet == "unknown"


def judgeable(docs: list[Doc]) -> list[Doc]:
    """The articles that report something a labeller can judge (see :data:`MIN_WORDS`)."""
    openings = Counter(" ".join(d.body.split()[:OPENING]) for d in docs)
    return [d for d in docs if len(d.body.split()) >= MIN_WORDS
            and openings[" ".join(d.body.split()[:OPENING])] < FURNITURE]


def sample(docs: list[Doc], seed: int = SEED) -> list[tuple[int, int, float, str]]:
    """Pairs to label: ``(i, j, cosine, why)``, deterministic for a seed.

    :param docs: the articles to pair (see :func:`judgeable`); ``i``, ``j`` index them
    """
    rng = random.Random(seed)
    sim = Similarity(*tfidf(docs))
    neighbours: dict[tuple[int, int], float] = {}
    for i in range(len(docs)):
        row = sim.row(i)
        row[i] = -1.0
        for j in np.argsort(-row, kind="stable")[:NEIGHBOURS]:
            if row[j] > 0 and docs[i].id != docs[j].id:
                neighbours[(min(i, int(j)), max(i, int(j)))] = float(row[j])
    chosen: dict[tuple[int, int], tuple[float, str]] = {}
    seeds = [i for i, d in enumerate(docs) if d.corpus == "seeds"]
    if len(seeds) == 2:
        chosen[tuple(seeds)] = (sim.pair(*seeds), "seeds")
    by_band: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for (i, j), c in sorted(neighbours.items()):
        if (i, j) not in chosen:
            by_band[band(c)][kind(docs[i], docs[j])].append((i, j, c))
    uses: Counter = Counter(i for pair in chosen for i in pair)
    for name, quota in QUOTA.items():
        groups = by_band[name]
        for pairs in groups.values():
            # Cross-outlet pairs first (random order within), then same-outlet ones.
            rng.shuffle(pairs)
            pairs.sort(key=lambda p: not cross_outlet(docs[p[0]], docs[p[1]]))
            copies = [p for p in pairs if p[2] >= 0.95][MAX_COPIES:]
            pairs[:] = [p for p in pairs if p not in copies]
        # Weighted round-robin over corpus pairs so small ones (bbc/fnn, aeb/...) get a share.
        taken = 0
        while taken < quota and any(groups.values()):
            for k in sorted(groups):
                for _ in range(WEIGHT.get(k, 1)):
                    while groups[k] and taken < quota:
                        i, j, c = groups[k].pop(0)
                        if uses[i] < MAX_PER_ARTICLE and uses[j] < MAX_PER_ARTICLE:
                            chosen[(i, j)] = (c, f"neighbour {name}")
                            uses.update((i, j))
                            taken += 1
                            break
    while sum(1 for v in chosen.values() if v[1] == "random") < RANDOM_PAIRS:
        i, j = sorted(rng.sample(range(len(docs)), 2))
        if (i, j) not in chosen and docs[i].id != docs[j].id:
            chosen[(i, j)] = (sim.pair(i, j), "random")
    # Its own generator, so the pairs above stay the same whatever this pass takes.
    extra = random.Random(seed + 1)
    pool = sorted((i, j, c) for name in ("high", "medium") for pairs in by_band[name].values()
                  for i, j, c in pairs if cross_outlet(docs[i], docs[j]))
    extra.shuffle(pool)
    taken = 0
    for i, j, c in pool:
        if taken < CROSS_EXTRA and (i, j) not in chosen and uses[i] < MAX_PER_ARTICLE \
                and uses[j] < MAX_PER_ARTICLE:
            chosen[(i, j)] = (c, f"cross-outlet {band(c)}")
            uses.update((i, j))
            taken += 1
    return [(i, j, c, why) for (i, j), (c, why) in chosen.items()]


def write_candidates(docs: list[Doc], pairs, out) -> None:
    """The pairs as a label TSV with an empty label and the sampling reason as the note."""
    w = csv.writer(out, delimiter="\t", lineterminator="\n")
    w.writerow(COLUMNS)
    for i, j, c, why in pairs:
        a, b = docs[i], docs[j]
        note = f"{why}; {kind(a, b)}; {'cross' if cross_outlet(a, b) else 'same'}-outlet"
        w.writerow((a.id, b.id, a.source, b.source, "", f"{c:.3f}", note))


def read_labels(path: Path) -> list[dict[str, str]]:
    """The rows of a label TSV as dicts keyed by :data:`COLUMNS`.

    :raises ValueError: naming the file and line, when the header or a row is not that
    """
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ValueError(f"{path}: the header must be the columns {' '.join(COLUMNS)}")
        rows = list(reader)
    for n, r in enumerate(rows, 2):
        if None in r or None in r.values():
            raise ValueError(f"{path}, line {n}: expected {len(COLUMNS)} tab-separated fields")
        try:
            float(r["cosine"])
        except ValueError:
            raise ValueError(f"{path}, line {n}: cosine {r['cosine']!r} is not a number") from None
    return rows


def corpus_of(source: str) -> str:
    """The short corpus name of a corpus-relative source key."""
    folder = source.split("/", 1)[0]
    return CORPUS_PATHS[folder][1] if folder in CORPUS_PATHS else folder


def stats(rows: list[dict[str, str]], outlets: dict[str, str] | None = None) -> str:
    """Counts by label, corpus pair and cosine band, and cosine quantiles per label.

    :param rows: the label file's rows
    :param outlets: article id -> outlet; when given, counts by same/different outlet too
    """
    lines = []
    labels = Counter(r["label"] for r in rows)
    lines.append(f"pairs {len(rows)}: positive (1) {labels['1']}, negative (0) {labels['0']}, "
                 f"unsure (?) {labels['?']}")
    by = defaultdict(Counter)
    for r in rows:
        k = "/".join(sorted((corpus_of(r["a_source"]), corpus_of(r["b_source"]))))
        by[("corpus pair", k)][r["label"]] += 1
        by[("cosine band", band(float(r["cosine"])))][r["label"]] += 1
        if outlets is not None:
            a, b = outlets.get(r["a_id"], "unknown"), outlets.get(r["b_id"], "unknown")
            same = a == b and a != "unknown"
            by[("outlets", f"{k} {'same' if same else 'cross'}")][r["label"]] += 1
    order = {n: i for i, (n, _) in enumerate(BANDS)}
    lines.append(f"{'':<12} {'':<18} {'pairs':>5} {'1':>4} {'0':>4} {'?':>4}")
    for (what, k), c in sorted(by.items(), key=lambda x: (x[0][0], order.get(x[0][1], 9),
                                                          x[0][1])):
        lines.append(f"{what:<12} {k:<18} {sum(c.values()):>5} {c['1']:>4} {c['0']:>4} "
                     f"{c['?']:>4}")
    lines.append("cosine of each label: min / 10% / 25% / median / 75% / 90% / max")
    for lab in ("1", "0"):
        cs = sorted(float(r["cosine"]) for r in rows if r["label"] == lab)
        if len(cs) < 2:
            continue
        q = statistics.quantiles(cs, n=20, method="inclusive")
        lines.append(f"  {lab}: {cs[0]:.3f} / {q[1]:.3f} / {q[4]:.3f} / {statistics.median(cs):.3f}"
                     f" / {q[14]:.3f} / {q[17]:.3f} / {cs[-1]:.3f}  (n={len(cs)})")
    lines.append("share positive by cosine (bins of 0.1):")
    for lo in range(0, 10):
        in_bin = [r["label"] for r in rows
                  if lo / 10 <= float(r["cosine"]) < (lo + 1) / 10 or (lo == 9 and float(
                      r["cosine"]) >= 1.0)]
        pos, neg = in_bin.count("1"), in_bin.count("0")
        if pos + neg:
            lines.append(f"  [{lo / 10:.1f}, {(lo + 1) / 10:.1f}): {pos:>3} of {pos + neg:>3}"
                         f" positive ({pos / (pos + neg):.0%})")
    # The best single cosine threshold, as a baseline for a clusterer to beat.
    judged = [(float(r["cosine"]), r["label"] == "1") for r in rows if r["label"] in ("0", "1")]
    best = max(((f1_at(judged, t), t) for t in sorted({c for c, _ in judged})), default=None)
    if best:
        lines.append(f"best cosine threshold (pair same story iff cosine >= t): t = {best[1]:.3f},"
                     f" F1 = {best[0]:.3f}")
    return "\n".join(lines)


def f1_at(judged: list[tuple[float, bool]], t: float) -> float:
    """Pairwise F1 of the rule "same story iff cosine >= t" on judged pairs."""
    tp = sum(1 for c, y in judged if c >= t and y)
    fp = sum(1 for c, y in judged if c >= t and not y)
    fn = sum(1 for c, y in judged if c < t and y)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _row_spec(text: str) -> str:
    """``--rows`` as given, once it is checked to be like ``1-20,25``."""
    if not re.fullmatch(r"\d+(-\d+)?(,\d+(-\d+)?)*", text):
        raise argparse.ArgumentTypeError(f"{text!r}: expected 1-based rows like 1-20,25")
    return text


def _rows_wanted(spec: str | None, n: int) -> list[int]:
    if not spec:
        return list(range(n))
    out = []
    for part in spec.split(","):
        a, _, b = part.partition("-")
        out.extend(range(int(a) - 1, int(b or a)))
    return [i for i in out if 0 <= i < n]


def show(path: Path, spec: str | None, chars: int) -> None:
    """Print the two articles of chosen rows of a TSV (terminal only: never to a file)."""
    rows = read_labels(path)
    wanted = _rows_wanted(spec, len(rows))
    needed = {corpus_folder for r in (rows[i] for i in wanted)
              for corpus_folder in (r["a_source"].split("/", 1)[0], r["b_source"].split("/", 1)[0])}
    docs = {d.id: d for d in load(names=[n for n in CORPUS_PATHS if n in needed])}
    for i in wanted:
        r = rows[i]
        print(f"=== row {i + 1}  cos {r['cosine']}  [{r['note']}]")
        for side in ("a", "b"):
            d = docs.get(r[f"{side}_id"])
            if d is None:
                print(f"  {side}: id {r[f'{side}_id']} not produced by the readers")
                continue
            when = d.published.date().isoformat() if d.published else "undated"
            body = " ".join(d.body.split())
            print(f"  {side}: {d.outlet} | {when} | {d.title}\n     {body[:chars]}")


def main(argv: list[str] | None = None) -> None:
    """The command line: ``sample``, ``show`` or ``stats``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sample", help="write candidate pairs (a label TSV without labels)")
    s.add_argument("--out", type=Path, help="the TSV to write (default: standard output)")
    s.add_argument("--seed", type=int, default=SEED)
    v = sub.add_parser("show", help="print rows' two articles on the terminal")
    v.add_argument("tsv", type=Path)
    v.add_argument("--rows", type=_row_spec, help="1-based rows, e.g. 1-20,25")
    v.add_argument("--chars", type=int, default=700, help="body characters per article")
    t = sub.add_parser("stats", help="counts and cosine distribution of a label file")
    t.add_argument("tsv", type=Path, nargs="?",
                   default=Path(__file__).resolve().parent / "labels" / "story_pairs.tsv")
    t.add_argument("--outlets", action="store_true",
                   help="also count pairs of the same and of different outlets (reads the corpora)")
    args = parser.parse_args(argv)
    try:
        run(args)
    except (OSError, ValueError) as e:
        parser.error(str(e))


def run(args: argparse.Namespace) -> None:
    """Carry out one parsed command."""
    if args.command == "sample":
        everything = load()
        docs = judgeable(everything)
        print(f"{len(everything) - len(docs)} articles too short or page furniture, left out",
              file=sys.stderr)
        by = Counter(d.corpus for d in docs)
        print(f"articles: {len(docs)} ({', '.join(f'{k} {v}' for k, v in sorted(by.items()))})",
              file=sys.stderr)
        pairs = sample(docs, args.seed)
        if args.out:
            with open(args.out, "w", encoding="utf-8", newline="") as f:
                write_candidates(docs, pairs, f)
            print(f"{len(pairs)} pairs written to {args.out}", file=sys.stderr)
        else:
            write_candidates(docs, pairs, sys.stdout)
    elif args.command == "show":
        show(args.tsv, args.rows, args.chars)
    else:
        rows = read_labels(args.tsv)
        outlets = None
        if args.outlets:
            needed = {r[f"{side}_source"].split("/", 1)[0] for r in rows for side in "ab"}
            outlets = {d.id: d.outlet for d in load(names=[n for n in CORPUS_PATHS if n in needed])}
        print(stats(rows, outlets))


if __name__ == "__main__":
    main()
