"""How two accounts of one story differ: the cost and the sanity of :mod:`search.stories.compare`.

Input: the two seeds, and the article pairs judged by hand in
``bench/labels/story_pairs.tsv`` (label 1 same story, 0 different story; ``?`` left out),
read and cleaned as the indexer does (:func:`bench.story_pairs.load`). No NER on the pairs
(the seeds get theirs), so names count by capital letters alone there.

Three tables:

1. **Time per comparison** (median over pairs of each pair's best of ``--repeat`` runs,
   warm), :func:`~search.stories.compare.compare` beside two baselines in the same run:
   the sentence splitting alone (every comparison pays it) and exact-sentence matching
   (split, then pair only sentences with the same text). Rows: the seeds; label-1 pairs;
   label-0 pairs; and 40-odd pairs cut to their first 1,000 words each (the target:
   well under 100 ms). The CPU time of a comparison is given too: on a shared machine
   the wall clock also counts other processes' work.
2. **Share of sentences aligned** (``2 * shared / (sentences of a + sentences of b)``),
   mean and median, for label-1 pairs, label-0 pairs, and the label-0 pairs from two
   different corpora (unrelated articles: what is aligned there is chance), by the
   comparison and by exact matching. Same-story pairs should share far more; unrelated
   pairs next to nothing. Label-0 pairs of one corpus share site furniture and background
   (identical footers, one campaign's talking points): some alignment there is right.
3. **Sentence splitters** available here on hand-written news mess (abbreviations,
   datelines, quotes spanning sentences, initials; no corpus text) and their speed on the
   seeds: the model's ``senter`` (the one used), spaCy's rule-based ``sentencizer``, the
   model's parser (the spaCy ones in a memory zone, as a server must run them), and
   pysbd when it is installed.

Run from the repository root::

    .venv/bin/python -m bench.compare
    .venv/bin/python -m bench.compare --repeat 5 --no-splitters
    .venv/bin/python -m bench.compare --limit 5        # a quick look
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.story_pairs import load  # noqa: E402
from bench.story_pairs import read_labels  # noqa: E402
from search.ingest.enrich.cleanup import clean  # noqa: E402
from search.ingest.enrich.entities import DEFAULT_MODEL  # noqa: E402
from search.ingest.enrich.entities import EntityExtractor  # noqa: E402
from search.ingest.enrich.pipeline import joined_text  # noqa: E402
from search.ingest.readers import read_file  # noqa: E402
from search.stories import compare as cmp  # noqa: E402

LABELS = ROOT / "bench" / "labels" / "story_pairs.tsv"
SEEDS = ROOT.parent / "shared" / "corpora" / "seeds"
WORDS = 1000

# Hand-written news mess: (text, the sentences a reader sees). No corpus text.
SPLIT_CASES = [
    ("The U.S. Central Command approved it. Officials added more.",
     ["The U.S. Central Command approved it.", "Officials added more."]),
    ("Mr. Smith met Dr. Jones on Jan. 5 in Washington. They talked.",
     ["Mr. Smith met Dr. Jones on Jan. 5 in Washington.", "They talked."]),
    ("WASHINGTON (Reuters) - The U.S. Senate voted on Tuesday. It passed 52-48.",
     ["WASHINGTON (Reuters) - The U.S. Senate voted on Tuesday.", "It passed 52-48."]),
    ("LONDON, Jan. 5 (AP) — Prices rose 2.5 per cent. Analysts were surprised.",
     ["LONDON, Jan. 5 (AP) — Prices rose 2.5 per cent.", "Analysts were surprised."]),
    ("“We are ready. We will win,” he said. The crowd cheered.",
     ["“We are ready.", "We will win,” he said.", "The crowd cheered."]),
    ("He said: \"It is over.\" Then he left.", ["He said: \"It is over.\"", "Then he left."]),
    ("It is a “well-known and deliberate process,” one former official said. Others agreed.",
     ["It is a “well-known and deliberate process,” one former official said.",
      "Others agreed."]),
    ("The company, Acme Inc., said profits rose. Its shares fell.",
     ["The company, Acme Inc., said profits rose.", "Its shares fell."]),
    ("Did it work? Nobody knows! Wait...", ["Did it work?", "Nobody knows!", "Wait..."]),
    ("The vote is at 3 p.m. on Friday. Results follow.",
     ["The vote is at 3 p.m. on Friday.", "Results follow."]),
    ("Gen. Mark Milley and Sen. John Doe spoke at the U.N. Security Council. No deal.",
     ["Gen. Mark Milley and Sen. John Doe spoke at the U.N. Security Council.", "No deal."]),
    ("Turnout was 67.3%, up from 61.1% in 2019 (see p. 4). Labour won.",
     ["Turnout was 67.3%, up from 61.1% in 2019 (see p. 4).", "Labour won."]),
    ("The St. Louis Cardinals beat the N.Y. Mets. It was close.",
     ["The St. Louis Cardinals beat the N.Y. Mets.", "It was close."]),
    ("Comments were few. “There is tacit support for them. But there is hesitancy,” "
     "Dan Roe, a former U.S. envoy, told the paper.",
     ["Comments were few.", "“There is tacit support for them.",
      "But there is hesitancy,” Dan Roe, a former U.S. envoy, told the paper."]),
    ("The firm's No. 2 executive, Ms. Lee, quit. She declined to comment.",
     ["The firm's No. 2 executive, Ms. Lee, quit.", "She declined to comment."]),
    ("Shares in Apple Inc. fell 3%. The Nasdaq rose.",
     ["Shares in Apple Inc. fell 3%.", "The Nasdaq rose."]),
    ("The U.K. and the E.U. agreed. Talks end Oct. 31.",
     ["The U.K. and the E.U. agreed.", "Talks end Oct. 31."]),
    ("He was born in 1950 in St. Paul, Minn., and died Sunday. He was 72.",
     ["He was born in 1950 in St. Paul, Minn., and died Sunday.", "He was 72."]),
    ("Key points\n• Rates rise to 5%\n• Inflation falls\nThe bank said more.",
     ["Key points", "Rates rise to 5%", "Inflation falls", "The bank said more."]),
]


def seed_accounts(ner: bool = True) -> tuple[cmp.Account, cmp.Account]:
    """The two seeds, cleaned as the indexer does, with their entities when ``ner``."""
    arts = []
    for path in sorted(SEEDS.glob("*.txt")):
        arts.extend(clean(a) for a in read_file(path, lambda e: None))
    ents = EntityExtractor().extract([joined_text(a) for a in arts]) if ner else [None] * 2
    return tuple(cmp.Account(a.title, a.body, e) for a, e in zip(arts, ents))


def first_words(text: str, n: int) -> str:
    """``text`` cut after its first ``n`` words, paragraph breaks kept."""
    out, count = [], 0
    for para in text.split("\n\n"):
        words = para.split()
        if count + len(words) >= n:
            out.append(" ".join(words[:n - count]))
            break
        out.append(para)
        count += len(words)
    return "\n\n".join(out)


def split_only(a: cmp.Account, b: cmp.Account) -> int:
    """Baseline: the sentences of both accounts, nothing else (what every comparison pays)."""
    parts = cmp._analyse(cmp._units(a.title, a.body) + cmp._units(b.title, b.body))
    return sum(len(p) for p in parts)


def exact(a: cmp.Account, b: cmp.Account) -> tuple[int, int, int]:
    """Baseline: split, then pair sentences with the same text, one to one.

    :returns: ``(pairs, sentences of a, sentences of b)``
    """
    sa = [s for p in cmp._analyse(cmp._units(a.title, a.body)) for s, _ in p]
    sb = [s for p in cmp._analyse(cmp._units(b.title, b.body)) for s, _ in p]
    left: dict[str, int] = {}
    for s in sb:
        key = cmp._same_text(s)
        left[key] = left.get(key, 0) + 1
    pairs = 0
    for s in sa:
        key = cmp._same_text(s)
        if left.get(key):
            left[key] -= 1
            pairs += 1
    return pairs, len(sa), len(sb)


def best_ms(fn, repeat: int, clock=time.perf_counter) -> float:
    """The fastest of ``repeat`` runs of ``fn()``, in milliseconds of ``clock``."""
    best = float("inf")
    for _ in range(repeat):
        t0 = clock()
        fn()
        best = min(best, clock() - t0)
    return best * 1000


def share(pairs: int, n_a: int, n_b: int) -> float:
    """The share of both accounts' sentences that are in a pair."""
    return 2 * pairs / (n_a + n_b) if n_a + n_b else 0.0


def timing_table(groups: dict[str, list[tuple[cmp.Account, cmp.Account]]], repeat: int) -> str:
    """Table 1: median milliseconds per comparison and per baseline, per group of pairs."""
    lines = [f"{'pairs':34s} {'n':>4s} {'words/pair':>10s} {'split only':>10s} "
             f"{'exact match':>11s} {'compare':>8s} {'compare/split':>13s} "
             f"{'compare CPU':>11s}   (ms, median)"]
    for name, pairs in groups.items():
        if not pairs:
            continue
        words, t_split, t_exact, t_cmp, t_cpu = [], [], [], [], []
        for a, b in pairs:
            words.append(sum(len((x.title + " " + x.body).split()) for x in (a, b)))
            cmp.compare(a, b)  # warm: the model is loaded, the stems cached as in a server
            t_split.append(best_ms(lambda: split_only(a, b), repeat))
            t_exact.append(best_ms(lambda: exact(a, b), repeat))
            t_cmp.append(best_ms(lambda: cmp.compare(a, b), repeat))
            # CPU time too: on a shared machine the wall clock also counts the others' work.
            t_cpu.append(best_ms(lambda: cmp.compare(a, b), repeat, time.process_time))
        ms = statistics.median
        lines.append(f"{name:34s} {len(pairs):4d} {ms(words):10.0f} {ms(t_split):10.2f} "
                     f"{ms(t_exact):11.2f} {ms(t_cmp):8.2f} {ms(t_cmp) / ms(t_split):13.2f} "
                     f"{ms(t_cpu):11.2f}")
    return "\n".join(lines)


def share_table(groups: dict[str, list[tuple[cmp.Account, cmp.Account]]]) -> str:
    """Table 2: the share of sentences aligned, by the comparison and by exact matching."""
    lines = [f"{'pairs':34s} {'n':>4s} {'compare mean':>12s} {'median':>7s} "
             f"{'exact mean':>10s} {'median':>7s} {'no pair at all':>14s}"]
    for name, pairs in groups.items():
        if not pairs:
            continue
        ours, base, none = [], [], 0
        for a, b in pairs:
            c = cmp.compare(a, b)
            ours.append(share(len(c.shared), len(c.shared) + len(c.only_a),
                              len(c.shared) + len(c.only_b)))
            base.append(share(*exact(a, b)))
            none += not c.shared
        lines.append(f"{name:34s} {len(pairs):4d} {statistics.mean(ours):12.3f} "
                     f"{statistics.median(ours):7.3f} {statistics.mean(base):10.3f} "
                     f"{statistics.median(base):7.3f} {none:14d}")
    return "\n".join(lines)


SWEEP = (0.20, 0.25, 0.30, 0.35, 0.40, 0.50)


def sweep_table(groups: dict[str, list[tuple[cmp.Account, cmp.Account]]]) -> str:
    """Table 2b: the mean share aligned at other thresholds (the one in use marked)."""
    head = " ".join(f"{t:>6.2f}{'*' if t == cmp.THRESHOLD else ' '}" for t in SWEEP)
    lines = [f"{'pairs':34s} {'n':>4s} {head}"]
    for name, pairs in groups.items():
        if not pairs:
            continue
        shares: dict[float, list[float]] = {t: [] for t in SWEEP}
        for a, b in pairs:
            ua, ub = cmp._units(a.title, a.body), cmp._units(b.title, b.body)
            parts = cmp._analyse(ua + ub)
            sa = [x for p in parts[:len(ua)] for x in p]
            sb = [x for p in parts[len(ua):] for x in p]
            ents = cmp._name_words(a.entity_lists()) | cmp._name_words(b.entity_lists())
            sim = cmp.similarity(sa, sb, ents)
            for t in SWEEP:
                shares[t].append(share(len(cmp.align(sim, t)), len(sa), len(sb)))
        cells = " ".join(f"{statistics.mean(shares[t]):7.3f}" for t in SWEEP)
        lines.append(f"{name:34s} {len(pairs):4d} {cells}")
    return "\n".join(lines)


def splitters() -> dict[str, object]:
    """The sentence splitters available here: name -> function(text) -> sentences."""
    import spacy

    found: dict[str, object] = {}
    found["senter (used)"] = cmp.split_sentences
    blank = spacy.blank("en")
    blank.add_pipe("sentencizer")
    found["sentencizer"] = lambda t, nlp=blank: _spacy_sents(nlp, t)
    parser = spacy.load(DEFAULT_MODEL, exclude=["ner", "lemmatizer"])
    found["parser"] = lambda t, nlp=parser: _spacy_sents(nlp, t)
    try:
        import pysbd
    except ImportError:
        pass
    else:
        seg = pysbd.Segmenter(language="en", clean=False)
        found["pysbd"] = lambda t: [s.strip() for b in cmp.blocks(t) for s in seg.segment(b)
                                    if s.strip()]
    return found


def _spacy_sents(nlp, text: str) -> list[str]:
    # In a memory zone, as compare runs the one it uses: a server must not grow for ever.
    with nlp.memory_zone():
        return [s.text.strip() for b in cmp.blocks(text) for s in nlp(b).sents
                if s.text.strip()]


def splitter_table(texts: list[str], repeat: int) -> str:
    """Table 3: cases right of :data:`SPLIT_CASES` and milliseconds per 1,000 words."""
    words = sum(len(t.split()) for t in texts)
    lines = [f"{'splitter':16s} {'cases right':>11s} {'ms / 1,000 words':>17s}"]
    for name, fn in splitters().items():
        right = sum(fn(text) == want for text, want in SPLIT_CASES)
        for t in texts:
            fn(t)
        ms = best_ms(lambda f=fn: [f(t) for t in texts], repeat)
        lines.append(f"{name:16s} {right:5d} of {len(SPLIT_CASES):2d} {ms * 1000 / words:17.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs per pair, the best kept")
    ap.add_argument("--labels", type=Path, default=LABELS, help="the story-pair label file")
    ap.add_argument("--no-splitters", action="store_true", help="skip table 3")
    ap.add_argument("--limit", type=int, default=0,
                    help="at most this many pairs per row (0: all); a quick look")
    args = ap.parse_args(argv)

    seeds = seed_accounts()
    rows = [r for r in read_labels(args.labels) if r["label"] in ("0", "1")]
    wanted = {i for r in rows for i in (r["a_id"], r["b_id"])}
    docs = {d.id: d for d in load() if d.id in wanted}
    groups: dict[str, list] = {"seeds (with their entities)": [seeds], "label 1 (same story)": [],
                               "label 0 (different story)": [],
                               "  of which two corpora (unrelated)": []}
    cut: list = []
    missing = 0
    for r in rows:
        a, b = docs.get(r["a_id"]), docs.get(r["b_id"])
        if a is None or b is None:
            missing += 1
            continue
        pair = (cmp.Account(a.title, a.body), cmp.Account(b.title, b.body))
        groups[f"label {r['label']} ({'same' if r['label'] == '1' else 'different'} story)"
               ].append(pair)
        if r["label"] == "0" and r["a_source"].split("/")[0] != r["b_source"].split("/")[0]:
            groups["  of which two corpora (unrelated)"].append(pair)
        if all(len(x.body.split()) >= WORDS for x in pair):
            cut.append(tuple(cmp.Account(x.title, first_words(x.body, WORDS)) for x in pair))
    if missing:
        print(f"{missing} labelled pairs skipped: an article was not found in the corpora",
              file=sys.stderr)
    groups[f"any label, first {WORDS:,} words each"] = cut
    if args.limit:
        groups = {k: v[:args.limit] for k, v in groups.items()}
    timed = dict(groups)
    del groups[f"any label, first {WORDS:,} words each"]
    load_1, load_5, _ = os.getloadavg()
    print(f"compare: threshold {cmp.THRESHOLD}, min common terms {cmp.MIN_COMMON}, "
          f"name weight {cmp.NAME_WEIGHT}; best of {args.repeat} runs per pair, warm; "
          f"load average {load_1:.1f} / {load_5:.1f} on {os.cpu_count()} CPUs\n", flush=True)
    print("1. Time per comparison\n" + timing_table(timed, args.repeat) + "\n", flush=True)
    print("2. Share of sentences aligned (2 x shared / sentences of both)\n"
          + share_table(groups) + "\n", flush=True)
    print("2b. Mean share aligned at other thresholds (* the one in use)\n"
          + sweep_table(groups) + "\n", flush=True)
    if not args.no_splitters:
        texts = [x.title + "\n\n" + x.body for x in seeds]
        print("3. Sentence splitters (hand-written news mess; speed on the seeds)\n"
              + splitter_table(texts, args.repeat))


if __name__ == "__main__":
    main()
