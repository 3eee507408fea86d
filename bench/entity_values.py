"""The top values of each entity facet of an index, and precision from hand judgments.

Two commands, run from the repository root:

``dump`` prints the top N values of ``person``, ``org`` and ``place`` over the whole
index, with counts, as TSV rows ``corpus facet rank value count`` — the first columns of
``bench/labels/entities.tsv``, so a judgment can be redone after entity resolution
changes which values are on top::

    .venv/bin/python -m bench.entity_values dump --index /tmp/ent-bbc --corpus bbc-news --top 150

``report`` prints precision@20/@60/@100 and the duplicates in the top 60 per corpus and
facet, from the judgments in ``bench/labels/entities.tsv`` (see ``bench/labels/ENTITIES.md``
for the verdicts)::

    .venv/bin/python -m bench.entity_values report

The values come from the engine's own API (:func:`search.query.service.search` with every
entity facet in ``more``), the same counts the web page's "show more" lists give.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

LABELS = ROOT / "bench" / "labels" / "entities.tsv"
ENTITY_FACETS = ("person", "org", "place")
COLUMNS = ("corpus", "facet", "rank", "value", "count", "verdict", "right_type", "dup_of",
           "note")
VERDICTS = frozenset({"ok", "wrong", "dup"})
RIGHT_TYPES = frozenset({"person", "org", "place", "none"})
CUTOFFS = (20, 60, 100)
# Note of the rows judged after resolution (values resolution brought into a top 100).
AFTER_RESOLUTION = "after resolution"
DUP_CUTOFF = 60


def top_values(index_dir, top: int) -> dict[str, list[tuple[str, int]]]:
    """The ``top`` most frequent values of each entity facet over the whole index.

    Ties are broken by value, as the engine orders them.

    :param index_dir: an index directory (holding ``current``)
    :param top: how many values per facet
    :returns: facet name -> ``[(value, count), ...]``, most frequent first
    """
    from search.models import SearchRequest
    from search.query import service

    request = SearchRequest(q="", page_size=0, facet_size=0, facet_more_size=top,
                            more=ENTITY_FACETS)
    results = service.search(index_dir, request)
    return {name: [(v.value, v.count) for v in results.facets[name]] for name in ENTITY_FACETS}


@dataclass(frozen=True)
class Label:
    """One judged facet value (a row of ``entities.tsv``)."""

    corpus: str
    facet: str
    rank: int
    value: str
    count: int
    verdict: str
    right_type: str
    dup_of: str
    note: str

    @property
    def right(self) -> bool:
        """Whether the value is of its facet's type: ``ok``, or a duplicate of that type."""
        return self.verdict == "ok" or (self.verdict == "dup" and self.right_type == self.facet)


def read_labels(path=LABELS) -> list[Label]:
    """Every row of a judgment file, in file order.

    :raises ValueError: for a header other than :data:`COLUMNS` or a row whose rank or
        count is not an integer (the message names the line)
    """
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE, quotechar=None))
    if not rows or tuple(rows[0]) != COLUMNS:
        raise ValueError(f"{path}: line 1: the header must be {' '.join(COLUMNS)}")
    out = []
    for lineno, row in enumerate(rows[1:], start=2):
        if len(row) != len(COLUMNS):
            raise ValueError(f"{path}: line {lineno}: {len(row)} fields, expected {len(COLUMNS)}")
        rec = dict(zip(COLUMNS, row))
        try:
            rec["rank"] = int(rec["rank"])
            rec["count"] = int(rec["count"])
        except ValueError:
            raise ValueError(f"{path}: line {lineno}: rank and count must be integers") from None
        out.append(Label(**rec))
    return out


@dataclass(frozen=True)
class FacetScore:
    """Precision of one facet of one corpus."""

    corpus: str
    facet: str
    judged: int
    precision: dict[int, float | None]
    dups: int
    redundant: int


def score(labels: list[Label], cutoffs=CUTOFFS, dup_cutoff: int = DUP_CUTOFF) -> list[FacetScore]:
    """Precision@k and duplicates per (corpus, facet), in the order they first appear.

    precision@k is the share of the top ``k`` values that are of the facet's type
    (:attr:`Label.right`), ``None`` when fewer than ``k`` are judged. ``dups`` counts the
    values in the top ``dup_cutoff`` judged duplicates (of a value shown or not);
    ``redundant`` counts the rows a user sees there for an entity another row already
    shows (``Bush`` beside ``George W Bush``, or ``Lib Dem`` beside ``Lib Dems`` when both
    are duplicates of ``Liberal Democrats``).

    >>> rows = [Label("c", "person", i + 1, v, 9 - i, verdict, rt, of, "")
    ...         for i, (v, verdict, rt, of) in enumerate([
    ...             ("Tony Blair", "ok", "", ""), ("Blair", "dup", "person", "Tony Blair"),
    ...             ("Chelsea", "wrong", "org", ""), ("Bush", "dup", "person", "George W Bush")])]
    >>> s = score(rows, cutoffs=(2, 4, 5), dup_cutoff=4)[0]
    >>> s.precision, s.dups, s.redundant
    ({2: 1.0, 4: 0.75, 5: None}, 2, 1)
    """
    groups: dict[tuple[str, str], list[Label]] = {}
    for label in labels:
        if label.note.startswith(AFTER_RESOLUTION):
            continue  # judged later, for bench/entities.py: not part of this top 150
        groups.setdefault((label.corpus, label.facet), []).append(label)
    out = []
    for (corpus, facet), rows in groups.items():
        rows = sorted(rows, key=lambda r: r.rank)
        precision = {k: (sum(r.right for r in rows[:k]) / k if len(rows) >= k else None)
                     for k in cutoffs}
        top = rows[:dup_cutoff]
        dups = sum(r.verdict == "dup" for r in top)
        entities = {r.dup_of if r.verdict == "dup" else r.value for r in top}
        out.append(FacetScore(corpus, facet, len(rows), precision, dups,
                              len(top) - len(entities)))
    return out


def format_scores(scores: list[FacetScore], cutoffs=CUTOFFS, dup_cutoff: int = DUP_CUTOFF) -> str:
    """A Markdown table of :func:`score`'s figures, one row per corpus and facet."""
    head = (["corpus", "facet", "judged"] + [f"P@{k}" for k in cutoffs]
            + [f"dups in top {dup_cutoff}", f"redundant rows in top {dup_cutoff}"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in scores:
        cells = [s.corpus, s.facet, str(s.judged)]
        cells += ["—" if s.precision[k] is None else f"{s.precision[k]:.2f}" for k in cutoffs]
        cells += [str(s.dups), str(s.redundant)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    dump = sub.add_parser("dump", help="print the top values of each entity facet as TSV")
    dump.add_argument("--index", required=True, help="index directory")
    dump.add_argument("--corpus", required=True, help="corpus name for the first column")
    dump.add_argument("--top", type=int, default=150, help="values per facet (default 150)")
    dump.add_argument("--header", action="store_true", help="print the header row first")
    report = sub.add_parser("report", help="precision per facet from a judgment file")
    report.add_argument("--labels", default=str(LABELS), help="judgment TSV")
    args = parser.parse_args(argv)
    if args.command == "dump":
        out = csv.writer(sys.stdout, delimiter="\t", quoting=csv.QUOTE_NONE, quotechar=None,
                         lineterminator="\n")
        if args.header:
            out.writerow(COLUMNS[:5])
        for facet, values in top_values(args.index, args.top).items():
            for rank, (value, count) in enumerate(values, start=1):
                out.writerow([args.corpus, facet, rank, value, count])
        return 0
    try:
        labels = read_labels(args.labels)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(format_scores(score(labels)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
