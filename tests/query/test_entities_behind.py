"""Entities from the side store: filled in behind, caught up by a live generation, and a
Whoosh commit mid-run picked up with the caches of unchanged segments carried over.

Every index here is real (Whoosh on disk, ``derived.sqlite`` beside it); entities
arrive through the real :class:`~search.sidestore.SideStore`, written the way the
indexer writes it, and the server side is driven in the same process without sleeps:
the recheck and rebuild intervals are module constants set to 0.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from whoosh import index as whoosh_index

from search import storage
from search.models import FacetValue
from search.models import SearchRequest
from search.query import generation
from search.query import service
from search.query.whoosh_postings import PostingCache
from search.schema import to_document
from search.sidestore import DONE
from search.sidestore import PENDING
from search.sidestore import SideStore
from tests.conftest import HANDMADE
from tests.conftest import write_articles_index
from web import create_app

ENTITY_IDS = [a.id for a in HANDMADE if a.entities.person or a.entities.org or a.entities.place]


@pytest.fixture
def at_once(monkeypatch):
    """A live generation looks for commits and side-store changes on every request."""
    monkeypatch.setattr(generation, "RECHECK_SECONDS", 0)
    monkeypatch.setattr(generation, "ENTITY_REBUILD_SECONDS", 0)


def live_generation(index_dir) -> generation.Generation:
    return generation._slots[str(index_dir.resolve())].gen


def make_pending(index_dir, ids) -> None:
    """Rows written again as pending, as a text-first indexer writes new articles."""
    store = SideStore(storage.require_current(index_dir))
    try:
        store.add_texts([(aid, f"key-{aid}", PENDING, None) for aid in ids])
        store.commit()
    finally:
        store.close()


def fill_in(index_dir, articles) -> None:
    """The entities of pending articles found, as the indexer's entity stage writes them."""
    store = SideStore(storage.require_current(index_dir))
    try:
        assert store.set_entities([(a.id, a.entities) for a in articles]) == len(articles)
        store.commit()
    finally:
        store.close()


def test_entity_facets_filters_and_hits_come_from_the_side_store(small_index):
    r = service.search(small_index, SearchRequest(filters={"place": ("syria",)}))
    assert sorted(h.id for h in r.hits) == ["a000000000000001", "a000000000000006"]
    hits = {h.id: h for h in r.hits}
    assert hits["a000000000000001"].entities == HANDMADE[0].entities
    assert r.facets["org"] == (FacetValue("Hezbollah", 2), FacetValue("Pentagon", 1))
    assert r.partial_facets is False and r.to_json()["partial_facets"] is False
    view = service.article(small_index, "a000000000000002")
    assert view.hit.entities == HANDMADE[1].entities
    # entity terms inside the query language: AND, OR, NOT, entity:
    for q, want in (("person:ross", {"1"}), ("entity:hezbollah", {"1", "6"}),
                    ("place:russia -org:hezbollah", {"2"}), ("org:pentagon OR person:bogdanov",
                                                             {"1", "2"}),
                    ("damascus NOT place:syria", {"2"}), ("person:nobody", set())):
        r = service.search(small_index, SearchRequest(q=q))
        assert {h.id[-1] for h in r.hits} == want, q


def test_entities_filled_in_behind_are_caught_up(tmp_path, at_once):
    index_dir = write_articles_index(HANDMADE, tmp_path / "ix")
    make_pending(index_dir, ENTITY_IDS)
    r = service.search(index_dir, SearchRequest(q="damascus"))
    assert r.total == 3  # the text is searchable at once
    assert all(h.entities.place == () for h in r.hits)
    assert r.facets["place"] == () and r.partial_facets and r.pending == len(ENTITY_IDS)
    assert service.search(index_dir, SearchRequest(q="place:damascus")).total == 0
    gen = live_generation(index_dir)
    before = gen.tables

    fill_in(index_dir, [a for a in HANDMADE if a.id in ENTITY_IDS[:2]])
    r = service.search(index_dir, SearchRequest(q="damascus"))
    assert live_generation(index_dir) is gen  # the same generation, new entity tables
    assert gen.tables is not before and gen.tables.doc is before.doc
    assert r.pending == len(ENTITY_IDS) - 2 and r.partial_facets
    assert {h.id: h.entities for h in r.hits}["a000000000000002"] == HANDMADE[1].entities
    assert dict((v.value, v.count) for v in r.facets["place"])["Damascus"] == 1

    fill_in(index_dir, [a for a in HANDMADE if a.id in ENTITY_IDS[2:]])
    r = service.search(index_dir, SearchRequest(q="damascus"))
    assert r.partial_facets is False and r.pending == 0
    assert dict((v.value, v.count) for v in r.facets["place"])["Damascus"] == 2
    assert service.search(index_dir, SearchRequest(q="place:damascus")).total == 2
    assert gen.stats["entity_rebuilds"] == 2


def test_rebuilds_are_throttled_and_requests_keep_their_tables(tmp_path, monkeypatch):
    monkeypatch.setattr(generation, "RECHECK_SECONDS", 0)
    index_dir = write_articles_index(HANDMADE, tmp_path / "ix")
    make_pending(index_dir, ENTITY_IDS)
    service.search(index_dir, SearchRequest())
    gen = live_generation(index_dir)
    fill_in(index_dir, [HANDMADE[0]])
    # Within ENTITY_REBUILD_SECONDS of the open: not due, the change waits.
    gen.entities_built = generation.time.monotonic()
    assert not gen.entities_due()
    assert service.search(index_dir, SearchRequest(q="person:ross")).total == 0
    gen.entities_built -= generation.ENTITY_REBUILD_SECONDS
    assert gen.entities_due()
    with gen.reading():
        held = gen.tables
        assert gen.catch_up()  # installed while a request holds the old tables
        assert gen.tables is held and held.pending == len(ENTITY_IDS)
    assert gen.tables is not held and gen.tables.pending == len(ENTITY_IDS) - 1
    assert not gen.catch_up()  # nothing new: nothing rebuilt
    assert service.search(index_dir, SearchRequest(q="person:ross")).total == 1


def test_a_commit_mid_run_is_picked_up_with_unchanged_segments_carried(tmp_path, at_once):
    index_dir = write_articles_index(HANDMADE[:4], tmp_path / "ix")
    assert service.search(index_dir, SearchRequest()).total == 4
    first = live_generation(index_dir)
    old_segments = dict(first.tables.doc.segments)
    assert len(old_segments) == 1
    assert service.search(index_dir, SearchRequest(q="damascus")).total == 2  # decoded now
    assert service.search(index_dir, SearchRequest(q='"damascus international"')).total == 1
    # A commit adding two articles: text first, entities pending in the side store.
    gen_path = storage.require_current(index_dir)
    ix = whoosh_index.open_dir(str(gen_path))
    w = ix.writer()
    for a in HANDMADE[4:]:
        w.add_document(**to_document(a))
    w.commit(merge=False)
    make_pending(index_dir, [a.id for a in HANDMADE[4:]])

    r = service.search(index_dir, SearchRequest(q="damascus", page_size=10))
    second = live_generation(index_dir)
    assert second is not first and second.path == first.path
    assert second.tables.doc.carried == 1
    for key, seg in old_segments.items():
        assert second.tables.doc.segments[key] is seg  # the same decoded object
    assert second.entity_index is first.entity_index
    for key, words in first.lexicon._segment_words.items():  # word lists: carried too
        assert second.lexicon._segment_words[key] is words
    assert second.lexicon.has("body_en", "analyst") and not first.lexicon.has("body_en", "analyst")
    assert {h.id[-1] for h in r.hits} == {"1", "2", "6"}  # 6 is in the new segment
    assert r.pending == 2 and r.partial_facets
    assert dict((v.value, v.count) for v in r.facets["outlet"]) == {"Haaretz": 1, "Reuters": 2}
    assert service.search(index_dir, SearchRequest(filters={"outlet": ("al riyadh",)})).total == 1
    # decoded postings of the unchanged segment are carried, shifted where they must be
    carried = second.postings.carried
    assert carried, "no posting list carried over"
    fresh = PostingCache(second.searcher.reader(), second.tables.live)
    assert first.postings._positions
    for (fieldname, btext) in list(first.postings._terms)[:50]:
        docs, weights = second.postings.term(fieldname, btext)
        m = second.searcher.reader().postings(fieldname, btext)
        assert docs.tolist() == list(m.all_ids()), (fieldname, btext)
        assert weights.tolist() == fresh.term(fieldname, btext)[1].tolist()
    for key in first.postings._positions:
        got, want = second.postings.positions(*key), fresh.positions(*key)
        assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist()
    assert second.prewarmed.wait(30)  # the background thread took every carried list
    assert second.postings.carried >= len(first.postings._terms) + len(first.postings._positions)
    r = service.search(index_dir, SearchRequest(q='"damascus international" OR "in syria"'))
    assert {h.id[-1] for h in r.hits} == {"1", "6"}

    fill_in(index_dir, HANDMADE[4:])
    r = service.search(index_dir, SearchRequest(q="place:damascus"))
    assert sorted(h.id[-1] for h in r.hits) == ["2", "6"] and not r.partial_facets


def test_a_merged_commit_and_a_deleted_article_give_right_counts(tmp_path, at_once):
    index_dir = write_articles_index(HANDMADE[:4], tmp_path / "ix")
    service.search(index_dir, SearchRequest())
    gen_path = storage.require_current(index_dir)
    ix = whoosh_index.open_dir(str(gen_path))
    w = ix.writer()
    w.delete_by_term("id", HANDMADE[0].id)
    for a in HANDMADE[4:]:
        w.add_document(**to_document(a))
    w.commit(optimize=True)  # one new segment: nothing to carry
    store = SideStore(gen_path)
    store.remove([HANDMADE[0].id])
    store.add_texts([(a.id, "", DONE, a.entities) for a in HANDMADE[4:]])
    store.commit()
    store.close()
    r = service.search(index_dir, SearchRequest())
    gen = live_generation(index_dir)
    assert gen.tables.doc.carried == 0 and r.total == 5
    assert dict((v.value, v.count) for v in r.facets["org"]) == {
        "Hezbollah": 1, "Manchester United": 1}
    assert service.search(index_dir, SearchRequest(q="person:ross")).total == 0


def test_partial_facets_in_the_api_the_page_the_cli_and_info(tmp_path, at_once):
    from search.cli.info import info_command
    from search.cli.search import search_command

    index_dir = write_articles_index(HANDMADE, tmp_path / "ix")
    make_pending(index_dir, ENTITY_IDS[:3])
    client = create_app({"TESTING": True, "INDEX": str(index_dir)}).test_client()
    body = client.get("/api/search?q=damascus").get_json()
    assert body["partial_facets"] is True
    html = client.get("/?q=damascus").get_data(as_text=True)
    assert 'class="partial"' in html and "3 articles to go" in html
    out = CliRunner().invoke(search_command, ["damascus", "--index", str(index_dir), "--json"])
    assert json.loads(out.output)["partial_facets"] is True
    out = CliRunner().invoke(info_command, ["--index", str(index_dir), "--json"])
    info = json.loads(out.output)
    # stage 4 has not run on this index: every article waits for its story too
    assert info["enrichment"] == {"done": 0, "pending": 6,
                                  "entities": {"done": 3, "pending": 3},
                                  "stories": {"done": 0, "pending": 6},
                                  "resolution": "stale"}  # entities came in, never resolved
    out = CliRunner().invoke(info_command, ["--index", str(index_dir)])
    assert "Entities: 3 articles done, 3 still to find" in out.output

    fill_in(index_dir, [a for a in HANDMADE if a.id in ENTITY_IDS[:3]])
    assert client.get("/api/search?q=damascus").get_json()["partial_facets"] is False
    assert 'class="partial"' not in client.get("/?q=damascus").get_data(as_text=True)
    out = CliRunner().invoke(search_command, ["damascus", "--index", str(index_dir), "--json"])
    assert json.loads(out.output)["partial_facets"] is False
    info = service.info(index_dir)
    assert info["enrichment"]["entities"] == {"done": 6, "pending": 0}


def test_an_index_without_a_side_store_has_no_entities_and_nothing_pending(tmp_path):
    from search import sidestore

    index_dir = write_articles_index(HANDMADE, tmp_path / "ix")
    sidestore.path_of(storage.require_current(index_dir)).unlink()
    r = service.search(index_dir, SearchRequest(q="damascus"))
    assert r.total == 3 and r.facets["person"] == () and not r.partial_facets
    assert service.search(index_dir, SearchRequest(q="person:ross")).total == 0
    assert service.info(index_dir)["enrichment"]["entities"] == {"done": 0, "pending": 0}


def test_entity_index_slots_are_compacted(tmp_path):
    """Many changes of the same articles: old slots are dropped, the arrays stay right."""
    from search.query.facets import DocTables
    from search.query.facets import EntityIndex
    from search.query.facets import FacetTables
    from search.sidestore import Change

    index_dir = write_articles_index(HANDMADE, tmp_path / "ix")
    ix = whoosh_index.open_dir(str(storage.require_current(index_dir)))
    with ix.reader() as reader:
        doc = DocTables(reader)
        idx = EntityIndex()
        for round_ in range(400):
            idx.apply(round_, [Change(a.id, DONE, a.entities) for a in HANDMADE])
            if round_ % 100 == 0:
                idx.tables(doc)
        t = FacetTables(doc=doc, entities=idx.tables(doc))
        assert len(idx.slot_ids) < 400 * len(HANDMADE)
        counts = dict(zip(t.values["place"], t.count("place", t.live).tolist()))
        assert counts == {"Damascus": 2, "Damascus International Airport": 1, "Manchester": 1,
                          "Russia": 2, "Syria": 2}
        assert np.flatnonzero(t.filter_mask("person", ["Dennis Ross"])).tolist() == [
            doc.docnum_of["a000000000000001"]]
