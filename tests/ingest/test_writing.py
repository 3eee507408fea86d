"""Newsfacet's speed-ups to Whoosh's writer change no byte of what it writes."""

from __future__ import annotations

from pathlib import Path

from whoosh.codec import base

from search.ingest import writing
from search.models import Article
from search.schema import to_document

TEXTS = [
    ("Ministers meet in Brussels", "The ministers met in Brussels on Monday to talk "
     "about the budget. The budget talks resume on Tuesday.", "en"),
    ("Regierung plant Reform", "Die Regierungen der Länder beraten über die Reform "
     "der Steuern. Die Reform soll 2027 gelten.", "de"),
    ("وزير الصحة يزور المستشفى", "زار وزير الصحة المستشفى الجديد في الرياض اليوم.", "ar"),
    ("Café à São Paulo", "Le café de São Paulo ouvre ses portes; les cafés voisins aussi.",
     "fr"),
    ("Short", "x", "en"),
]


def _articles():
    return [Article(id=f"w{i:015d}", source=f"w/{i}.txt", record=None, title=title, body=body,
                    caption="A caption" if i % 2 else "", outlet="Wire", lang=lang)
            for i, (title, body, lang) in enumerate(TEXTS * 30)]


def _segment_files(gen: Path) -> list[tuple[str, bytes]]:
    # Segment files are named by a random segment id: compare them by extension.
    return sorted((p.suffix, p.read_bytes()) for p in gen.iterdir()
                  if p.suffix in {".trm", ".pst", ".col"})


def test_remembered_lengths_write_the_same_files(tmp_path, monkeypatch):
    patched = base.FieldWriter.add_postings
    assert getattr(patched, "remembers_lengths", False)
    fast = writing.write_generation(_articles(), tmp_path / "fast")
    monkeypatch.setattr(base.FieldWriter, "add_postings", patched.__wrapped__)
    plain = writing.write_generation(_articles(), tmp_path / "plain")
    got, want = _segment_files(fast), _segment_files(plain)
    assert [suffix for suffix, _ in got] == [suffix for suffix, _ in want]
    assert len(got) >= 3
    assert got == want


def whoosh_pool(monkeypatch) -> None:
    """Whoosh's own SegmentWriter (tuples in a PostingPool) in place of the grouped
    postings of search.ingest.postings, until the test ends."""
    from whoosh.writing import SegmentWriter

    from search.ingest import postings

    monkeypatch.setattr(SegmentWriter, "__init__", postings._whoosh_init)
    monkeypatch.setattr(SegmentWriter, "add_document", postings._whoosh_add_document)
    monkeypatch.setattr(SegmentWriter, "_flush_segment", postings._whoosh_flush_segment)


def test_runs_pickled_in_chunks_write_the_same_files(tmp_path, monkeypatch):
    from whoosh.externalsort import SortingPool
    from whoosh.writing import PostingPool

    # Whoosh's runs of tuples: what a segment merge spills (grouped postings spill runs
    # of their own, tests/ingest/test_postings.py).
    whoosh_pool(monkeypatch)

    chunked = PostingPool._write_run
    assert chunked is writing._write_run_in_chunks
    runs = []

    def counted(pool, f, items):
        runs.append(f.name)
        return chunked(pool, f, items)

    # A buffer of ~50 KB spills a run every few hundred postings; chunks of 7 postings
    # give each run many pickles, the last one short.
    monkeypatch.setattr(writing, "WRITER_LIMITMB", 0.05)
    monkeypatch.setattr(writing, "RUN_CHUNK", 7)
    monkeypatch.setattr(PostingPool, "_write_run", counted)
    fast = writing.write_generation(_articles(), tmp_path / "fast")
    assert len(runs) >= 5
    monkeypatch.setattr(PostingPool, "_write_run", SortingPool._write_run)
    monkeypatch.setattr(PostingPool, "_read_run", SortingPool._read_run)
    plain = writing.write_generation(_articles(), tmp_path / "plain")
    monkeypatch.undo()
    whoosh_pool(monkeypatch)
    unspilled = writing.write_generation(_articles(), tmp_path / "unspilled")
    got = _segment_files(fast)
    assert len(got) >= 3
    assert got == _segment_files(plain) == _segment_files(unspilled)
    assert not list((tmp_path / "fast").rglob("*.run"))


def _two_segments_merged(folder: Path, articles) -> list:
    """Every posting of ``articles`` written in two commits and merged into one
    segment (the merge reads the first segments' postings back)."""
    from whoosh.index import open_dir

    gen, ix = writing.create_generation(folder)
    half = len(articles) // 2
    for part in (articles[:half], articles[half:]):
        w = writing.open_writer(ix)
        for article in part:
            w.add_document(**to_document(article))
        w.commit(merge=False)
    ix = open_dir(str(gen))
    assert len(ix._segments()) == 2
    writing.open_writer(ix).commit(optimize=True)
    ix = open_dir(str(gen))
    with ix.reader() as reader:
        assert reader.is_atomic()
        inlined = [reader.term_info(fn, t).is_inlined() for fn, t in reader.all_terms()]
        return list(reader.iter_postings()), inlined


def test_inlined_postings_hold_what_blocks_hold(tmp_path, monkeypatch):
    from whoosh.codec.whoosh3 import W3Codec

    articles = _articles()
    got, inlined = _two_segments_merged(tmp_path / "inlined", articles)
    monkeypatch.setattr(writing, "CODEC", W3Codec())  # Whoosh's default: never inlined
    want, none_inlined = _two_segments_merged(tmp_path / "blocks", articles)
    assert got == want
    assert len(got) > 1000
    # Both kinds were written: rare terms inlined, the common ones in blocks.
    assert any(inlined) and not all(inlined)
    assert not any(none_inlined)
