"""The hand-labelled story pairs (``bench/labels/story_pairs.tsv``): format, and ids still current.

The stories benchmark scores a clusterer on these pairs by article id, so an id that the
readers no longer produce (a changed id scheme, a changed reader) would silently drop
pairs from it. The second test reads only the corpus files the labels name.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict

import pytest

from search.ingest.readers import read_file
from search.models import article_id
from search.models import source_key
from tests.conftest import ROOT

LABELS = ROOT / "bench" / "labels" / "story_pairs.tsv"
COLUMNS = ["a_id", "b_id", "a_source", "b_source", "label", "cosine", "note"]
HEX16 = re.compile(r"^[0-9a-f]{16}$")


def rows() -> list[list[str]]:
    with open(LABELS, encoding="utf-8", newline="") as f:
        return list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def test_label_file_format():
    header, *body = rows()
    assert header == COLUMNS
    pairs = set()
    for n, row in enumerate(body, 2):
        assert len(row) == len(COLUMNS), f"line {n}: {len(row)} fields"
        r = dict(zip(COLUMNS, row))
        assert HEX16.match(r["a_id"]) and HEX16.match(r["b_id"]), f"line {n}: ids"
        assert r["a_id"] != r["b_id"], f"line {n}: an article paired with itself"
        assert r["label"] in {"0", "1", "?"}, f"line {n}: label {r['label']!r}"
        assert -1e-9 <= float(r["cosine"]) <= 1.0005, f"line {n}: cosine"
        for side in ("a_source", "b_source"):
            # Corpus-relative: "<corpus folder>/<file>[::member][#record]".
            assert r[side] and not r[side].startswith("/") and "/" in r[side], f"line {n}"
        # A few words of the labeller's own, not a quotation.
        assert 0 < len(r["note"]) <= 60 and '"' not in r["note"], f"line {n}: note"
        pair = frozenset((r["a_id"], r["b_id"]))
        assert pair not in pairs, f"line {n}: pair listed twice"
        pairs.add(pair)
    labels = [r[4] for r in body]
    assert len(body) >= 150
    assert labels.count("1") >= 50 and labels.count("0") >= 50


def _file_of(source: str) -> str:
    """The corpus file a source key names: the part before ``::`` (member) or ``#`` (record)."""
    return re.split(r"::|#", source, maxsplit=1)[0]


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


# Where the labels' ids were computed. An article without a URL is identified by its
# absolute source path, so a clone elsewhere (CI's) gives other ids for the same files:
# such ids are compared as they would be from this place.
LABELLED_AT = "/work/shared/corpora"


def _labelled_id(art, prefix: str) -> str:
    if art.id != article_id(None, art.source, art.record):
        return art.id  # from the canonical URL: the same wherever the corpora are
    return article_id(None, f"{LABELLED_AT}/{art.source.removeprefix(prefix)}", art.record)


@pytest.mark.corpus
def test_every_labelled_id_is_still_what_the_readers_give(corpora):
    _, *body = rows()
    wanted: dict[str, set[str]] = defaultdict(set)
    for r in body:
        for source in (r[2], r[3]):
            wanted[_file_of(source)].add(source)
    produced: dict[str, tuple[str, str]] = {}
    prefix = str(corpora) + "/"
    for name, sources in sorted(wanted.items()):
        path = corpora / name
        assert path.is_file(), f"{name}: named by the labels, missing from {corpora}"
        for art in read_file(path, lambda e: None):
            key = source_key(art.source, art.record).removeprefix(prefix)
            if key in sources:
                produced[key] = (_labelled_id(art, prefix), f"{art.title}\n{art.body}")
    for n, r in enumerate(body, 2):
        for id_, source in ((r[0], r[2]), (r[1], r[3])):
            assert source in produced, f"line {n}: the readers no longer produce {source}"
            assert produced[source][0] == id_, (
                f"line {n}: {source} now has id {produced[source][0]}, the labels say {id_}")
        # The note is the labeller's words: no run of five words from either article.
        note = _words(r[6])
        runs = {tuple(note[i:i + 5]) for i in range(len(note) - 4)}
        for _, text in (produced[r[2]], produced[r[3]]):
            words = _words(text)
            assert not runs & {tuple(words[i:i + 5]) for i in range(len(words) - 4)}, (
                f"line {n}: the note quotes the article")
