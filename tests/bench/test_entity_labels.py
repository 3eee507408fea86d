"""The hand judgments of entity facet values (``bench/labels/entities.tsv``) are well formed.

The file is read as plain TSV here, not through the bench's reader, so a reader that
silently dropped or coerced a bad row could not hide it.
"""

from __future__ import annotations

import csv
from collections import defaultdict

import pytest

from bench import entity_values
from tests.conftest import ROOT

LABELS = ROOT / "bench" / "labels" / "entities.tsv"
COLUMNS = ["corpus", "facet", "rank", "value", "count", "verdict", "right_type", "dup_of", "note"]
CORPORA = {"bbc-news", "fakenewsnet-content"}
FACETS = {"person", "org", "place"}


def _rows() -> list[list[str]]:
    with open(LABELS, encoding="utf-8", newline="") as f:
        return list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE, quotechar=None))


@pytest.fixture(scope="module")
def records() -> list[dict[str, str]]:
    rows = _rows()
    assert rows[0] == COLUMNS
    for lineno, row in enumerate(rows[1:], start=2):
        assert len(row) == len(COLUMNS), f"line {lineno}: {len(row)} fields"
    return [dict(zip(COLUMNS, row), line=n) for n, row in enumerate(rows[1:], start=2)]


def test_every_corpus_and_facet_has_at_least_100_judged_values(records):
    sizes = defaultdict(int)
    for r in records:
        assert r["corpus"] in CORPORA, f"line {r['line']}: corpus {r['corpus']!r}"
        assert r["facet"] in FACETS, f"line {r['line']}: facet {r['facet']!r}"
        sizes[r["corpus"], r["facet"]] += 1
    assert set(sizes) == {(c, f) for c in CORPORA for f in FACETS}
    assert min(sizes.values()) >= 100, sizes


def _after(r) -> bool:
    """A row judged after resolution (bench/entities.py), outside the dumped top 150."""
    return r["note"].startswith(entity_values.AFTER_RESOLUTION)


def test_ranks_are_contiguous_from_1_and_counts_are_integers_by_rank(records):
    groups = defaultdict(list)
    for r in records:
        assert r["rank"].isdigit() and r["count"].isdigit(), f"line {r['line']}"
        if _after(r):
            continue
        groups[r["corpus"], r["facet"]].append((int(r["rank"]), int(r["count"]), r["value"]))
    for key, rows in groups.items():
        rows.sort()
        assert [rank for rank, _, _ in rows] == list(range(1, len(rows) + 1)), key
        counts = [count for _, count, _ in rows]
        assert counts == sorted(counts, reverse=True), f"{key}: counts must fall with rank"
        assert min(counts) >= 1, key
        values = [value for _, _, value in rows]
        assert len(set(values)) == len(values), f"{key}: a value is listed twice"


def test_values_judged_after_resolution_are_judged_once_and_not_in_the_dump(records):
    dumped = {(r["corpus"], r["facet"], r["value"]) for r in records if not _after(r)}
    after = [(r["corpus"], r["facet"], r["value"]) for r in records if _after(r)]
    assert after, "bench/entities.py's unjudged values are judged in the file"
    assert len(set(after)) == len(after)
    assert not set(after) & dumped


def test_verdicts_and_their_fields(records):
    for r in records:
        where = f"line {r['line']} ({r['value']!r})"
        assert r["value"].strip() == r["value"] and r["value"], where
        assert r["verdict"] in {"ok", "wrong", "dup"}, where
        if r["verdict"] == "ok":
            assert r["right_type"] in {"", r["facet"]}, where
        else:
            # wrong and dup both say what the value really is
            assert r["right_type"] in {"person", "org", "place", "none"}, where
        if r["verdict"] == "wrong":
            assert r["right_type"] != r["facet"], where
        # dup_of is set exactly when the verdict is dup, and names another value
        assert bool(r["dup_of"]) == (r["verdict"] == "dup"), where
        assert r["dup_of"] != r["value"], where


def test_the_bench_reads_the_file_and_scores_every_facet():
    labels = entity_values.read_labels(LABELS)
    assert len(labels) == len(_rows()) - 1
    scores = entity_values.score(labels)
    # the rows judged after resolution leave the dump's figures alone
    dumped = [lab for lab in labels if not lab.note.startswith(entity_values.AFTER_RESOLUTION)]
    assert entity_values.score(dumped) == scores
    assert {(s.corpus, s.facet) for s in scores} == {(c, f) for c in CORPORA for f in FACETS}
    for s in scores:
        for k in (20, 60, 100):
            assert 0.0 <= s.precision[k] <= 1.0
        assert 0 <= s.redundant <= s.dups <= 60


def test_score_counts_type_precision_and_duplicates():
    rows = [entity_values.Label("c", "org", rank, value, 10 - rank, verdict, right_type, dup_of, "")
            for rank, value, verdict, right_type, dup_of in [
                (1, "BBC", "ok", "", ""),
                (2, "Labour Party", "dup", "org", "Labour"),
                (3, "Labour", "ok", "", ""),
                (4, "Arsenal", "ok", "", ""),
                (5, "Oscar", "wrong", "none", ""),
                (6, "Blair", "dup", "person", "Tony Blair"),
                (7, "Lib Dems", "dup", "org", "Liberal Democrats"),
                (8, "Lib Dem", "dup", "org", "Liberal Democrats")]]
    (s,) = entity_values.score(rows, cutoffs=(4, 6, 9), dup_cutoff=8)
    # a duplicate of the facet's type is still of the right type; one of another is not
    assert s.precision == {4: 1.0, 6: 4 / 6, 9: None}
    # four duplicates; two rows repeat an entity shown above them (Labour, Liberal Democrats)
    assert (s.dups, s.redundant) == (4, 2)
    table = entity_values.format_scores([s], cutoffs=(4, 6, 9), dup_cutoff=8)
    assert "| c | org | 8 | 1.00 | 0.67 | — | 4 | 2 |" in table


def test_read_labels_names_the_line_of_a_bad_count(tmp_path):
    bad = tmp_path / "entities.tsv"
    bad.write_text("\t".join(COLUMNS) + "\n"
                   + "bbc-news\tperson\t1\tTony Blair\tmany\tok\t\t\t\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 2: rank and count must be integers"):
        entity_values.read_labels(bad)
