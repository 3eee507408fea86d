"""Facet counting: compared with Whoosh's groupedby, whole structures, disjunctive counts."""

from __future__ import annotations

import numpy as np
import pytest
from whoosh import index as whoosh_index
from whoosh import sorting
from whoosh.filedb.filestore import RamStorage
from whoosh.query import Every
from whoosh.query import Term

from search.models import FacetValue
from search.models import SearchRequest
from search.query import service
from search.query.facets import FacetTables
from search.query.facets import count_facets
from search.schema import make_schema
from search.schema import to_document
from tests.conftest import HANDMADE

NAMES = ("outlet", "year", "month", "lang", "person", "org", "place")


def _tables_with_entities(reader, gen_path) -> FacetTables:
    """The tables of a generation with its side store's entities, as a server builds them."""
    from search.query.facets import DocTables
    from search.query.facets import EntityIndex
    from search.sidestore import SideStore

    store = SideStore(gen_path, readonly=True)
    try:
        idx = EntityIndex()
        idx.apply(*store.changes_since(0))
    finally:
        store.close()
    doc = DocTables(reader)
    return FacetTables(doc=doc, entities=idx.tables(doc))


def _counted_by_hand(articles, name, ids) -> dict[str, int]:
    counts: dict[str, int] = {}
    for a in articles:
        if a.id in ids:
            for v in getattr(a.entities, name):
                counts[v] = counts.get(v, 0) + 1
    return counts


def test_counts_equal_whoosh_groupedby(small_index):
    # Single facets against Whoosh's own grouping of its documents; entity facets (not
    # in Whoosh any more: from the side store) against the articles' entities.
    ix = whoosh_index.open_dir(str(small_index / "current"))
    with ix.searcher() as s:
        tables = _tables_with_entities(s.reader(), small_index / "current")
        facets = sorting.Facets()
        for n in NAMES[:4]:
            facets.add_field(n, allow_overlap=True)
        for query in (Every(), Term("outlet", "Reuters"), Term("body_en", "said")):
            res = s.search(query, groupedby=facets, maptype=sorting.Count, limit=None)
            mask = np.zeros(tables.n, dtype=bool)
            mask[[h.docnum for h in res]] = True
            ids = {h["id"] for h in res}
            for n in NAMES:
                ours = {tables.values[n][i]: int(c) for i, c in enumerate(tables.count(n, mask))
                        if c}
                if n in ("person", "org", "place"):
                    theirs = _counted_by_hand(HANDMADE, n, ids)
                else:
                    theirs = {k.decode() if isinstance(k, bytes) else k: v
                              for k, v in res.groups(n).items() if k is not None}
                assert ours == theirs, n


def test_deleted_documents_are_not_counted(tmp_path):
    from search import storage
    from tests.conftest import write_articles_index

    index_dir = write_articles_index(HANDMADE, tmp_path / "ix")
    gen = storage.require_current(index_dir)
    ix = whoosh_index.open_dir(str(gen))
    with ix.writer() as w:
        w.delete_by_term("id", "a000000000000002")
    with ix.searcher() as s:
        # The side store still has the row: an id with no live document is ignored.
        tables = _tables_with_entities(s.reader(), gen)
        assert np.flatnonzero(tables.live).tolist() == list(s.reader().all_doc_ids())
        assert len(tables.live) == 6 and tables.live.sum() == 5
        counts = dict(zip(tables.values["outlet"], tables.count("outlet", tables.live)))
        assert counts["Reuters"] == 1
        assert "Mikhail Bogdanov" not in tables.values["person"]
        assert "Damascus" in tables.values["place"]  # still held by live articles
        assert dict(zip(tables.values["place"], tables.count("place", tables.live).tolist()))[
            "Russia"] == 1


def test_facets_whole_structure(small_index):
    r = service.search(small_index, SearchRequest(q="damascus"))
    assert r.total == 3
    assert r.facets == {
        "outlet": (FacetValue("Reuters", 2), FacetValue("Haaretz", 1)),
        "year": (FacetValue("2022", 2),),
        "month": (FacetValue("2022-06", 2),),
        "lang": (FacetValue("en", 3),),
        "person": (FacetValue("Dennis Ross", 1), FacetValue("Mikhail Bogdanov", 1)),
        "org": (FacetValue("Hezbollah", 2), FacetValue("Pentagon", 1)),
        "place": (FacetValue("Damascus", 2), FacetValue("Russia", 2), FacetValue("Syria", 2),
                  FacetValue("Damascus International Airport", 1)),
    }
    assert r.truncated_facets == ()


def test_disjunctive_counts(small_index):
    req = SearchRequest(q="", filters={"outlet": ("Reuters",)})
    r = service.search(small_index, req)
    assert r.total == 2
    # the outlet facet ignores its own selection: every outlet with its count
    assert r.facets["outlet"] == (
        FacetValue("Reuters", 2, True), FacetValue("Al Riyadh", 1), FacetValue("BBC", 1),
        FacetValue("Der Standard", 1), FacetValue("Haaretz", 1))
    # the others count within the selection
    assert r.facets["place"] == (FacetValue("Damascus", 2), FacetValue("Russia", 2),
                                 FacetValue("Syria", 1))
    # several values of one facet: OR; another facet: AND
    r = service.search(small_index, SearchRequest(
        filters={"outlet": ("Reuters", "haaretz"), "year": ("2022",)}))
    assert sorted(h.id[-1] for h in r.hits) == ["1", "2"]
    assert r.facets["year"][0] == FacetValue("2022", 2, True)
    assert r.facets["outlet"] == (FacetValue("Haaretz", 1, True), FacetValue("Reuters", 1, True))


def test_selected_value_listed_with_zero_and_truncation_exact(small_index):
    r = service.search(small_index, SearchRequest(q="football", filters={"lang": ("de",)},
                                                  facet_size=1))
    assert r.total == 0
    assert r.facets["lang"] == (FacetValue("en", 1), FacetValue("de", 0, True))
    r = service.search(small_index, SearchRequest(facet_size=2))
    assert r.truncated_facets == ("outlet", "year", "month", "lang", "org", "place")
    r = service.search(small_index, SearchRequest(facet_size=3))
    assert "lang" not in r.truncated_facets  # exactly 3 languages: not truncated
    r = service.search(small_index, SearchRequest(facet_size=2, more=("place",),
                                                  facet_more_size=50))
    assert len(r.facets["place"]) == 5 and "place" not in r.truncated_facets


def test_count_facets_directly():
    ix = RamStorage().create_index(make_schema())
    with ix.writer() as w:
        for a in HANDMADE:
            w.add_document(**to_document(a))
    with ix.searcher() as s:
        t = FacetTables(s.reader())
        facets, truncated = count_facets(t, t.live, {"lang": t.filter_mask("lang", ["ar"])},
                                         {"lang": ("ar",)}, {n: 10 for n in NAMES})
        assert facets["outlet"] == (FacetValue("Al Riyadh", 1),)
        assert facets["lang"] == (FacetValue("en", 4), FacetValue("ar", 1, True),
                                  FacetValue("de", 1))
        assert truncated == ()


@pytest.mark.corpus
def test_facet_column_gives_the_same_values_and_documents_as_the_postings(news_index):
    # The arrays are built from the one-pass facet column; the postings of each facet
    # term, and of each id, are the index's own record of the same facts.
    from search import storage

    ix = whoosh_index.open_dir(str(storage.current(news_index)))
    with ix.reader() as reader:
        tables = FacetTables(reader)
        for name in NAMES[:4]:
            values, docs = [], []
            for btext in reader.lexicon(name):
                ids = np.array([d for d in reader.postings(name, btext).all_ids()
                                if tables.live[d]], dtype=np.int64)
                if len(ids):
                    values.append(btext.decode("utf-8"))
                    docs.append(sorted(ids.tolist()))
            assert tables.values[name] == values, name
            assert [np.flatnonzero(tables.filter_mask(name, [v])).tolist()
                    for v in values] == docs, name
        assert len(tables.doc.docnum_of) == int(tables.live.sum()) > 100
        for aid, d in list(tables.doc.docnum_of.items())[::17]:
            assert next(reader.postings("id", aid.encode()).all_ids()) == d


def test_a_typed_value_stands_for_every_case_form_of_it(tmp_path):
    # "KIM" (a transcript's speaker label) sorts before "Kim": both are the value typed.
    from search.models import Article
    from search.models import Entities
    from tests.conftest import write_articles_index

    def art(i, person):
        return Article(id=f"{i:016x}", source=f"k{i}.txt", record=None, title=f"Story {i}",
                       body="The talks went on.", lang="en", entities=Entities(person=(person,)))

    ix = write_articles_index([art(1, "KIM"), art(2, "Kim"), art(3, "Kim"), art(4, "Lee")],
                              tmp_path / "ix")
    for q, filters in (('person:"kim"', {}), ("person:Kim", {}), ("", {"person": ("kim",)})):
        r = service.search(ix, SearchRequest(q=q, filters=filters))
        assert r.total == 3, (q, filters, r.notice)
    exact = service.search(ix, SearchRequest(filters={"person": ("Kim",)}))
    assert exact.total == 2  # a value clicked in the sidebar is that value only
