"""Grouped postings (search.ingest.postings) write the same bytes as Whoosh's own writer:
unspilled, spilled to many runs, and mixed with postings that take Whoosh's path (a
boosted document, a merge of segments); the multi-process writer's segments hold the same
postings."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from whoosh.index import open_dir

from search.ingest import postings
from search.ingest import writing
from search.models import Article
from search.schema import to_document
from tests.ingest.test_writing import _segment_files
from tests.ingest.test_writing import whoosh_pool

# Words of each language, the first ones common (a Zipf-like draw below), with forms a
# stemmer changes ("ministers", "Regierungen", "والوزراء") so exact_<lang> fields fill too.
WORDS = {
    "en": ("minister ministers said talks budget running markets election voters police "
           "court judge ruled appeal hospital doctors patients strike unions wages river "
           "flooding homes rescued village mayor council housing prices rising").split(),
    "de": ("Regierung Regierungen sagte Gespräche Haushalt Wahlen Wähler Polizei Gericht "
           "Richter Urteil Krankenhaus Ärzte Streik Gewerkschaften Löhne Hochwasser").split(),
    "ar": ("وزير الوزراء والوزراء قال محادثات الميزانية الانتخابات الشرطة المحكمة القاضي "
           "المستشفى الأطباء الإضراب الأجور الفيضانات القرية").split(),
    "fr": "ministre ministres budget élections police tribunal hôpital grève salaires".split(),
    "ja": "東京 大阪 選挙 政府 首相".split(),
}


def _text(rng: random.Random, lang: str, n: int) -> str:
    words = WORDS[lang]
    # Low ranks often, every word sometimes, and numbers: terms from one posting to
    # hundreds (several blocks of 128) in one segment.
    picks = [words[min(int(rng.expovariate(0.35)), len(words) - 1)] for _ in range(n)]
    picks += [str(rng.randrange(10_000)) for _ in range(n // 8)]
    rng.shuffle(picks)
    return " ".join(picks) + "."


def _articles(count: int = 500) -> list[Article]:
    rng = random.Random(7)
    langs = ["en", "en", "en", "de", "ar", "fr", "ja"]
    out = []
    for i in range(count):
        lang = langs[i % len(langs)]
        out.append(Article(
            id=f"p{i:015d}", source=f"p/{i}.txt", record=None,
            title=_text(rng, lang, 6), body=_text(rng, lang, 30 + i % 90),
            caption=_text(rng, lang, 5) if i % 3 == 0 else "",
            outlet=f"Outlet {i % 7}", lang=lang))
    return out


def _postings_by_id(gen: Path) -> list[tuple]:
    """Every posting of an index as ``(field, term, article id, weight, value)``: what
    two indexes of the same articles hold however their documents were numbered."""
    with open_dir(str(gen)).reader() as reader:
        ids = {docnum: fields["id"] for docnum, fields in reader.iter_docs()}
        return sorted((f, t, ids[d], w, v) for f, t, d, w, v in reader.iter_postings())


@pytest.fixture(scope="module")
def whoosh_written(tmp_path_factory):
    """The articles written by Whoosh's own writer (one process): its files, and its
    postings by article id."""
    mp = pytest.MonkeyPatch()
    whoosh_pool(mp)
    try:
        gen = writing.write_generation(_articles(), tmp_path_factory.mktemp("whoosh"))
        return _segment_files(gen), _postings_by_id(gen)
    finally:
        mp.undo()


def test_grouped_postings_write_whoosh_s_files(tmp_path, whoosh_written):
    gen = writing.write_generation(_articles(), tmp_path)
    assert _segment_files(gen) == whoosh_written[0]
    # The articles exercised both ways of writing a term: inlined in the terms table
    # (fewer than INLINE_POSTINGS postings) and in blocks of the postings file, more
    # than one block for the commonest.
    with open_dir(str(gen)).reader() as reader:
        infos = [(reader.term_info(f, t), reader.doc_frequency(f, t))
                 for f, t in reader.all_terms() if f.startswith(("body_", "exact_"))]
    assert any(info.is_inlined() for info, _ in infos)
    assert any(df > 128 and not info.is_inlined() for info, df in infos)


def test_grouped_postings_spilled_to_runs_write_the_same_files(tmp_path, monkeypatch,
                                                                whoosh_written):
    spills = []
    spill = postings.TermPool._spill

    def counted(pool):
        spills.append(pool.currentsize)
        return spill(pool)

    monkeypatch.setattr(postings.TermPool, "_spill", counted)
    monkeypatch.setattr(postings, "RUN_TERMS", 7)  # many pickles a run, the last short
    monkeypatch.setattr(writing, "WRITER_LIMITMB", 0.05)
    gen = writing.write_generation(_articles(), tmp_path)
    assert len(spills) >= 10
    assert _segment_files(gen) == whoosh_written[0]
    assert not list(tmp_path.rglob("*.run"))


def test_two_writer_processes_write_the_same_postings(tmp_path, whoosh_written):
    # Which process writes which batch of documents depends on timing, so the two
    # segments are compared with Whoosh's one by what they hold, not by their bytes.
    gen = writing.write_generation(_articles(), tmp_path, procs=2)
    assert len([p for p in gen.iterdir() if p.suffix == ".trm"]) == 2
    got = _postings_by_id(gen)
    assert len(got) > 10_000
    assert got == whoosh_written[1]


def _boosted_then_merged(folder: Path) -> tuple[list, list]:
    """Half the articles in one commit, one of them boosted (a document Whoosh's own
    add_document takes), the rest in a second; then both segments merged into one.
    The segment files after the first commit and after the merge."""
    articles = _articles(200)
    gen, ix = writing.create_generation(folder)
    w = writing.open_writer(ix)
    for i, article in enumerate(articles[:100]):
        w.add_document(**to_document(article), **({"_boost": 2.0} if i == 50 else {}))
    w.commit(merge=False)
    first = _segment_files(gen)
    w = writing.open_writer(open_dir(str(gen)))
    for article in articles[100:]:
        w.add_document(**to_document(article))
    w.commit(merge=False)
    writing.open_writer(open_dir(str(gen))).commit(optimize=True)
    ix = open_dir(str(gen))
    assert len(ix._segments()) == 1
    return first, _segment_files(gen)


def test_a_boosted_document_and_a_merge_write_the_same_files(tmp_path, monkeypatch):
    tuples = []
    add = postings.TermPool.add

    def counted(pool, item):
        tuples.append(item[0])
        return add(pool, item)

    monkeypatch.setattr(postings.TermPool, "add", counted)
    grouped = _boosted_then_merged(tmp_path / "grouped")
    # Both took Whoosh's path for the postings given to the pool as tuples.
    assert len(tuples) > 1000
    monkeypatch.undo()
    whoosh_pool(monkeypatch)
    assert grouped == _boosted_then_merged(tmp_path / "whoosh")
