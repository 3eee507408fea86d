"""The NumPy evaluator (search.query.evaluate) against Whoosh's own searcher on real indexes."""

from __future__ import annotations

import numpy as np
import pytest
from whoosh import query as wq

from search import storage
from search.query import bind
from search.query import parse as querylib
from search.query import rank
from search.query import service
from search.query.evaluate import ExactFirst
from search.query.evaluate import Unsupported
from search.query.generation import Generation
from search.query.whoosh_postings import _fast_block

# Compared with Whoosh's own matcher on the same index, so only what Whoosh documents
# hold: entity terms are answered from the side store (ENTITY_QUERIES below).
QUERIES = [
    "said", "government", "film music", "film OR music", "Damascus", '"prime minister"',
    '"prime minister"~3', '"the government"', "elect*", "gov*", "film~", "title:film",
    "outlet:BBC film", "outlet:BBC", "year:2015 OR year:2022",
    "music -title:music", "film -music", "NOT film", "(film OR music) AND award",
    "government date:[2004-01-01 TO 2020-12-31]", "date:[2015-01-01 TO]", "airport Damascus",
    '"world cup" final', "caption:photo", "lang:ar",
]


@pytest.fixture(scope="module")
def generation(news_index):
    gen = Generation(storage.require_current(news_index))
    yield gen
    gen.close()


def _stems_only(q):
    """``q`` without exact forms first (:class:`ExactFirst` -> its stems): what Whoosh's
    matcher scores the same way (exact forms are tested in test_languages.py)."""
    if isinstance(q, ExactFirst):
        return _stems_only(q.a)
    return q.apply(_stems_only) if q is not None and not q.is_leaf() else q


def _numpy_top(gen, q, limit=10):
    bonus = bind.title_bonus(q)
    mask, scores = gen.evaluator.run(q)
    mask &= gen.tables.live
    if bonus is not None:
        bmask, bscores = gen.evaluator.run(bonus)
        scores = scores + np.where(bmask, bscores, 0.0)
    docs = np.flatnonzero(mask)
    order = np.lexsort((docs, -scores[docs]))[:limit]
    return mask, [(int(docs[i]), float(scores[docs[i]])) for i in order]


def _whoosh_top(gen, q, limit):
    bonus = bind.title_bonus(q)
    res = gen.searcher.search(wq.AndMaybe(q, bonus) if bonus is not None else q, limit=limit)
    return [(res.docnum(i), res.score(i)) for i in range(min(10, res.scored_length()))]


@pytest.mark.parametrize("text", QUERIES)
def test_numpy_equals_whoosh(generation, text):
    gen = generation
    q = _stems_only(gen.bind(querylib.parse(text)).query)
    mask, mine = _numpy_top(gen, q)
    want = np.zeros(gen.tables.n, dtype=bool)
    want[list(gen.searcher.docs_for_query(q))] = True
    assert np.array_equal(mask, want & gen.tables.live)
    # Whoosh scoring every match (limit=None), and its top-10 search. (On bigger
    # indexes its top-10 block-quality skipping can drop a document that scores higher:
    # seen for `outlet:BBC film` on 3,000 bench articles. Not on this index.)
    for limit in (None, 10):
        theirs = _whoosh_top(gen, q, limit)
        assert [d for d, _ in mine] == [d for d, _ in theirs], limit
        assert [s for _, s in mine] == pytest.approx([s for _, s in theirs], rel=1e-9)


ENTITY_QUERIES = {
    # query -> the HANDMADE articles (last id digit) it must find
    "person:ross": "1", "person:\"dennis ross\"": "1", "entity:hezbollah": "16",
    "entity:damascus": "26", "place:damascus": "26", "org:hezbollah damascus": "16",
    "damascus place:syria": "16", "damascus OR org:pentagon": "126",
    "org:pentagon OR person:bogdanov": "12", "NOT place:russia": "1345",
    "airport -place:syria": "2", "(place:russia OR place:manchester) AND NOT org:hezbollah": "23",
    "org:hezbollah^3 OR damascus": "126", "person:nobody": "", "person:nobody OR football": "3",
}


@pytest.mark.parametrize("text", ENTITY_QUERIES)
def test_entity_terms_numpy_equals_the_articles_and_whoosh(small_index, text):
    """Entity terms come from the side store: the evaluator finds the articles that hold
    them, and Whoosh's matcher, handed the same terms as document sets (its fallback),
    finds the same documents in the same order with the same scores."""
    from tests.conftest import HANDMADE

    gen = Generation(storage.require_current(small_index))
    try:
        q = _stems_only(gen.bind(querylib.parse(text)).query)
        mask, mine = _numpy_top(gen, q)
        ids = {gen.tables.doc.ids[d][-1] for d in np.flatnonzero(mask)}
        assert ids == set(ENTITY_QUERIES[text])
        assert {a.id[-1] for a in HANDMADE} >= ids
        want = np.zeros(gen.tables.n, dtype=bool)
        want[list(gen.searcher.docs_for_query(rank.for_whoosh(gen, q)))] = True
        assert np.array_equal(mask, want & gen.tables.live)
        theirs = _whoosh_top(gen, rank.for_whoosh(gen, q), None)
        assert [d for d, _ in mine] == [d for d, _ in theirs]
        assert [s for _, s in mine] == pytest.approx([s for _, s in theirs], rel=1e-9)
    finally:
        gen.close()


def test_an_entity_term_scores_as_the_keyword_field_did(small_index):
    # person/org/place were KEYWORD(scorable=False): Whoosh's WeightScorer gave a
    # matching value its weight, 1.0. Now a constant 1 times the boost.
    gen = Generation(storage.require_current(small_index))
    try:
        for text, score in (("org:hezbollah", 1.0), ("org:hezbollah^2.5", 2.5)):
            mask, scores = gen.evaluator.run(gen.bind(querylib.parse(text)).query)
            assert set(scores[mask].tolist()) == {score}
    finally:
        gen.close()


def test_the_whoosh_fallback_answers_entity_terms(small_index, monkeypatch):
    from search.models import SearchRequest

    asked = {t: service.search(small_index, SearchRequest(q=t)) for t in ENTITY_QUERIES}
    monkeypatch.setattr(rank, "evaluate", lambda gen, q: None)  # every query through Whoosh
    for text, numpy_result in asked.items():
        r = service.search(small_index, SearchRequest(q=text))
        assert r.total == numpy_result.total == len(ENTITY_QUERIES[text]), text
        assert [h.id for h in r.hits] == [h.id for h in numpy_result.hits], text
        assert [h.entities for h in r.hits] == [h.entities for h in numpy_result.hits]


def test_unsupported_nodes_raise(generation):
    with pytest.raises(Unsupported):
        generation.evaluator.run(wq.DisjunctionMax([wq.Term("body_en", "film")]))


def test_postings_match_the_matcher(generation):
    reader = generation.searcher.reader()
    for fieldname in ("title_en", "body_en", "outlet", "lang"):
        for btext in list(reader.lexicon(fieldname))[:300:7]:
            docs, weights = generation.postings.term(fieldname, btext)
            m = reader.postings(fieldname, btext)
            ids, ws = [], []
            while m.is_active():
                ids.append(m.id())
                ws.append(m.weight())
                m.next()
            keep = generation.tables.live[np.array(ids, dtype=np.int64)] if ids else []
            assert docs.tolist() == [i for i, k in zip(ids, keep) if k]
            assert weights.tolist() == pytest.approx([w for w, k in zip(ws, keep) if k])


def test_fast_block_reads_ids_and_weights():
    import pickle

    ids = (300,) + (1,) * 9
    for weights in (None, 2.0, tuple(float(i) for i in range(10))):
        data = pickle.dumps((ids, weights, tuple(b"v" for _ in ids)), 2)
        got = _fast_block(data, len(ids))
        assert got is not None
        assert got[0].tolist() == list(ids)
        expect = [1.0] * 10 if weights is None else [weights] * 10 if isinstance(
            weights, float) else list(weights)
        assert got[1].tolist() == expect
    # deltas of 256 and more after the first: left to pickle
    assert _fast_block(pickle.dumps(((1, 300, 1, 1), None, ()), 2), 4) is None


def test_segments_and_deletions(tmp_path):
    """Two segments, one deleted document: the same matches and order as Whoosh."""
    from whoosh import index as whoosh_index

    from search.schema import to_document
    from tests.conftest import HANDMADE
    from tests.conftest import write_articles_index

    index_dir = write_articles_index(HANDMADE[:4], tmp_path / "ix")
    ix = whoosh_index.open_dir(str(storage.require_current(index_dir)))
    with ix.writer() as w:  # a second segment (asserted below)
        w.delete_by_term("id", HANDMADE[0].id)
        for a in HANDMADE[4:]:
            w.add_document(**to_document(a))
    gen = Generation(storage.require_current(index_dir))
    try:
        assert len(list(gen.searcher.reader().leaf_readers())) == 2
        assert not gen.tables.live.all()
        for text in ["damascus", "syria OR russia", "government", '"Damascus airport"',
                     "NOT damascus", "hezbollah -russia", "dam*", "place:damascus",
                     "damascus OR place:russia", "NOT org:hezbollah", "entity:united"]:
            q = gen.bind(querylib.parse(text)).query
            mask, mine = _numpy_top(gen, q)
            want = np.zeros(gen.tables.n, dtype=bool)
            want[list(gen.searcher.docs_for_query(rank.for_whoosh(gen, q)))] = True
            assert np.array_equal(mask, want & gen.tables.live), text
            theirs = _whoosh_top(gen, rank.for_whoosh(gen, q), None)
            assert [d for d, _ in mine] == [d for d, _ in theirs], text
            assert [s for _, s in mine] == pytest.approx([s for _, s in theirs], rel=1e-9)
    finally:
        gen.close()


def test_characters_match_the_matcher(generation):
    from search.query.whoosh_postings import characters

    for leaf, _ in generation.searcher.reader().leaf_readers():
        for btext in list(leaf.lexicon("body_en"))[::37]:
            m = leaf.postings("body_en", btext)
            want = {}
            while m.is_active():
                want[m.id()] = [(s, e) for _, s, e in m.value_as("characters")]
                m.next()
            docs = sorted(want)[::2] + [leaf.doc_count_all() - 1]
            got = characters(leaf, "body_en", btext, sorted(set(docs)))
            assert got == {d: want[d] for d in sorted(set(docs)) if d in want}


def test_scalar_only_weighting_falls_back_to_whoosh(tmp_path, monkeypatch):
    """A weighting whose formula takes only numbers is run by Whoosh, not broken."""
    from whoosh.scoring import BM25F

    from search.models import SearchRequest
    from search.query import generation
    from search.query import service
    from tests.conftest import HANDMADE
    from tests.conftest import write_articles_index

    class ScalarBM25(BM25F):
        def scorer(self, searcher, fieldname, text, qf=1):
            s = super().scorer(searcher, fieldname, text, qf)
            if hasattr(s, "_score"):
                inner = s._score
                s._score = lambda w, length: inner(float(w), float(length))
            return s

    index_dir = write_articles_index(HANDMADE, tmp_path / "ix")
    monkeypatch.setattr(generation, "weighting", ScalarBM25)
    r = service.search(index_dir, SearchRequest(q="damascus"))
    assert r.total == 3
    assert all("<mark>" in h.snippet or "<mark>" in h.title_html for h in r.hits)
    key = str(index_dir.resolve())
    assert generation._slots[key].gen.stats["whoosh"] >= 1


def test_positions_within_agree_with_the_whole_list(news_index):
    """A phrase's words are unpickled only in its candidate documents when those are
    few; the keys are the same as the whole list's, and kept for the same documents."""
    gen = Generation(storage.require_current(news_index))
    try:
        cache = gen.postings
        btext = next(b for b in gen.searcher.reader().lexicon("body_en")
                     if len(cache.term("body_en", b)[0]) >= 30)
        docs = cache.term("body_en", btext)[0]
        few = docs[::10]  # under a third of its documents: only theirs are decoded
        part = cache.positions_within("body_en", btext, few)
        assert ("body_en", btext) in cache._partial and ("body_en", btext) not in cache._positions
        again = cache.positions_within("body_en", btext, few[:2])  # within what was decoded
        whole = cache.positions("body_en", btext)[1]
        assert np.array_equal(part, whole[np.isin(whole >> 24, few)])
        assert np.array_equal(again, whole[np.isin(whole >> 24, few[:2])])
        assert np.all(np.diff(part) > 0)  # sorted, as the phrase check needs
        # once the whole list is kept, it answers every later question
        assert np.array_equal(cache.positions_within("body_en", btext, docs), whole)
    finally:
        gen.close()


def test_lengths_read_as_one_slice_equal_whoosh_s_own(generation):
    from whoosh.codec.whoosh3 import LENGTHS_COLUMN
    from whoosh.codec.whoosh3 import _lenfield

    from search.query.whoosh_postings import _length_bytes

    checked = 0
    for leaf, _ in generation.searcher.reader().leaf_readers():
        perdoc = leaf._perdoc
        for name in generation.text_fields:
            if not perdoc.has_column(_lenfield(name)):
                continue
            col = perdoc.column_reader(_lenfield(name), LENGTHS_COLUMN)
            n = leaf.doc_count_all()
            assert list(_length_bytes(col, n)) == [col[d] for d in range(n)]
            checked += 1
    assert checked >= 3


def test_a_generation_is_prepared_before_the_first_search(news_index):
    from search.query import generation as generations

    assert service.open_index(news_index)
    with generations.use(news_index) as gen:
        assert gen.prepared.is_set()
        # Every language's changed forms and every text field's lengths are read.
        assert set(gen._forms) >= set(gen.languages)
        assert set(gen.postings._lengths) >= set(gen.text_fields) & set(
            gen.searcher.reader().indexed_field_names())


def test_work_done_once_per_generation_is_outside_the_search_budget():
    import time

    from search.query import budget

    with budget.limit(0.2):
        with budget.excluded():
            time.sleep(0.3)  # longer than the whole budget
        assert not budget.expired()
        assert budget.remaining() > 0.1
        time.sleep(0.25)
        assert budget.expired()


# --- the sparse path (words, ORs, ANDs, phrases, exact forms) against the dense one ------

SPARSE_QUERIES = QUERIES + [
    "governments", "Government OR governments", "said government", '"said"', '"governments"',
    "film^2 OR music^0.5", "(film OR music)^3 AND award", '"prime minister" OR film',
    '"prime minister"~3 music', "film -music -award", "airport OR Damascus OR syria",
    "(film music) OR (government -said)", "NOT (film OR music)", "film OR NOT music",
    "elect* -government", "person:ross OR damascus", "damascus date:[2004-01-01 TO]",
    "running ran runs", "title:film OR body:music", "zzzqqq OR film", "zzzqqq",
]


def _dense_evaluator(gen):
    from search.query.evaluate import Evaluator

    return Evaluator(gen.searcher, gen.postings, gen.tables.published,
                     tables=lambda: gen.tables, sparse=False)


def _same(gen, q):
    """The sparse evaluator and the dense reference give bit-equal masks and scores."""
    mask, scores = gen.evaluator.run(q)
    dmask, dscores = _dense_evaluator(gen).run(q)
    assert np.array_equal(mask, dmask), q
    assert np.array_equal(scores, dscores), q  # not approx: the same sums, in one order


@pytest.mark.parametrize("text", SPARSE_QUERIES)
def test_sparse_evaluation_equals_dense(generation, text):
    bound = generation.bind(querylib.parse(text))
    for q in (bound.query, bound.bonus):
        if q is not None:
            _same(generation, q)


def test_the_bench_queries_take_the_sparse_path_whole(generation):
    from search.query.evaluate import Evaluator

    for text in ("film", "film music", "film OR music", '"prime minister"', "elect*",
                 "title:film", "outlet:BBC film"):
        assert Evaluator.sparse_ok(generation.bind(querylib.parse(text)).query), text
    for text in ("film -music", "NOT film", "person:ross film",
                 "film date:[2004-01-01 TO]"):
        assert not Evaluator.sparse_ok(generation.bind(querylib.parse(text)).query), text


def test_a_form_s_documents_are_kept_once_per_generation(generation):
    from search.query.evaluate import HoldsForm

    gen = generation
    q = HoldsForm("en", "government")
    used = gen.postings.used
    docs = gen.evaluator.held(q)
    assert len(docs) > 0 and np.all(np.diff(docs) > 0)
    assert gen.evaluator.held(q) is docs  # the kept array, not found again
    assert gen.postings.used >= used  # counted in the cache's memory (when new)
    dense = _dense_evaluator(gen)._holds_form(q)
    assert np.array_equal(np.flatnonzero(dense), docs)


def _tree(draw, terms, depth):
    from hypothesis import strategies as st

    from search.query.evaluate import HoldsForm

    boost = draw(st.sampled_from([1.0, 1.0, 0.5, 2.0, 0.0]))
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        kind = draw(st.sampled_from(["term", "term", "form", "phrase", "null"]))
        field, text = draw(st.sampled_from(terms))
        if kind == "form":
            lang = field.rsplit("_", 1)[-1]
            return HoldsForm(lang, text, boost=boost)
        if kind == "phrase":
            other = draw(st.sampled_from([t for f, t in terms if f == field]))
            return wq.Phrase(field, [text, other], slop=draw(st.sampled_from([1, 3])),
                             boost=boost)
        if kind == "null":
            return wq.NullQuery
        return wq.Term(field, text, boost=boost)
    kind = draw(st.sampled_from(["or", "and", "maybe", "not", "andnot", "exact", "neg"]))
    kids = [_tree(draw, terms, depth - 1) for _ in range(draw(st.integers(1, 3)))]
    if kind == "or":
        return wq.Or(kids, boost=boost)
    if kind == "and":
        return wq.And(kids, boost=boost)
    other = _tree(draw, terms, depth - 1)
    if kind == "maybe":
        return wq.AndMaybe(kids[0], other).with_boost(boost)
    if kind == "andnot":
        return wq.AndNot(kids[0], other).with_boost(boost)
    if kind == "exact":
        return ExactFirst(kids[0], other).with_boost(boost)
    if kind == "neg":
        return wq.Not(kids[0])
    return wq.And([kids[0], wq.Not(other)])


def test_sparse_equals_dense_on_random_trees(generation):
    """Random trees of the index's own terms (and some it lacks): both paths agree."""
    from hypothesis import HealthCheck
    from hypothesis import given
    from hypothesis import settings
    from hypothesis import strategies as st

    reader = generation.searcher.reader()
    terms = [("body_zz", "film"), ("body_en", "zzzqqq")]
    for name in ("title_en", "body_en", "body_ar", "caption_en"):
        if name in reader.indexed_field_names():
            terms += [(name, b.decode("utf-8")) for b in list(reader.lexicon(name))[::97][:25]]
    terms += [("body_en", w) for w in ("govern", "said", "film", "music", "minist")]
    # HoldsForm's own form and changed forms: "government" its own term, "governments"
    # a changed form of it, "said" both.
    terms += [("exact_en", w) for w in ("governments", "government", "said", "ran")]

    @settings(max_examples=150, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.data())
    def check(data):
        _same(generation, data.draw(st.composite(lambda draw: _tree(draw, terms, 3))()))

    check()
