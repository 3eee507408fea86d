"""The ranking model and the relevance benchmark's parts (bench/relevance.py)."""

from __future__ import annotations

import math
import time

import pytest
from whoosh import index as windex
from whoosh import scoring
from whoosh.query import Or

from bench import relevance as rel
from search.models import Article
from search.query.scoring import proximity_boost
from search.query.scoring import weighting
from search.schema import make_schema
from search.schema import to_document

# --- Metrics on a hand-computed example -----------------------------------------------------
# Ranking d1..d10 with d1, d3 and d6 relevant, and d11 relevant but never retrieved.
RANKING = [f"d{i}" for i in range(1, 11)]
RELEVANT = {"d1", "d3", "d6", "d11"}


def test_average_precision_by_hand():
    # Precision at each relevant hit: 1/1, 2/3, 3/6; the missing d11 contributes 0.
    assert rel.average_precision(RANKING, RELEVANT) == pytest.approx((1 + 2 / 3 + 3 / 6) / 4)


def test_average_precision_cutoff_drops_later_hits():
    assert rel.average_precision(RANKING, RELEVANT, cutoff=2) == pytest.approx(1 / 4)


def test_precision_at_10_by_hand():
    assert rel.precision_at(RANKING, RELEVANT) == pytest.approx(0.3)
    # A short list is not padded: 1 relevant among 2 retrieved is still 1/10.
    assert rel.precision_at(["d1", "x"], RELEVANT) == pytest.approx(0.1)


def test_ndcg_at_10_by_hand():
    dcg = 1 / math.log2(2) + 1 / math.log2(4) + 1 / math.log2(7)
    ideal = sum(1 / math.log2(r + 1) for r in range(1, 5))
    assert rel.ndcg_at(RANKING, RELEVANT) == pytest.approx(dcg / ideal)
    assert rel.ndcg_at(["d1", "d3", "d6", "d11"], RELEVANT) == pytest.approx(1.0)


def test_evaluate_skips_queries_without_relevant_documents():
    runs = {"1": RANKING, "2": ["d1"]}
    m = rel.evaluate(runs, {"1": RELEVANT, "2": set()})
    assert m["MAP"] == pytest.approx(rel.average_precision(RANKING, RELEVANT))


# --- The model on a real on-disk index ------------------------------------------------------

def _index(tmp_path, articles):
    ix = windex.create_in(str(tmp_path), make_schema())
    with ix.writer() as w:
        for a in articles:
            w.add_document(**to_document(a))
    return ix


def _article(i, title, body):
    return Article(id=f"{i:016x}", source="t", record=i, title=title, body=body, lang="en")


FILLER = ("Officials met on Tuesday to discuss the budget and the timetable for the next "
          "round of talks, which several delegations said would start in spring. ")


def test_headline_match_outranks_scattered_body_match(tmp_path):
    articles = [
        _article(1, "Drought hits wheat harvest", FILLER * 3),
        _article(2, "Ministers meet in Geneva",
                 "A drought was mentioned early on. " + FILLER + "Then wheat prices. "
                 + FILLER + "A poor harvest came up at the end."),
    ] + [_article(i, f"Unrelated story {i}", FILLER + f"Item {i} about trade.")
         for i in range(3, 12)]
    ix = _index(tmp_path, articles)
    query = rel.bag_of_words(ix.schema, "drought wheat harvest")
    with ix.searcher(weighting=weighting()) as s:
        ids = [h["id"] for h in s.search(query, limit=10)]
    assert ids == [f"{1:016x}", f"{2:016x}"]


def test_scores_respect_block_quality_bound(tmp_path):
    # The fast path skips blocks by max_quality: no document may score above it.
    articles = [_article(i, "storm" if i % 3 == 0 else "calm",
                         ("storm " * (i % 5)) + FILLER * (1 + i % 4)) for i in range(40)]
    ix = _index(tmp_path, articles)
    with ix.searcher(weighting=weighting()) as s:
        for field in ("title_en", "body_en"):
            m = s.postings(field, "storm")
            bound = m.max_quality()
            assert m.supports_block_quality()
            while m.is_active():
                assert m.score() <= bound + 1e-9
                m.next()


def test_weighting_plugs_into_whoosh_searcher(tmp_path):
    # Same top document as stock BM25F on an unambiguous query: a sanity check that the
    # model is wired into Whoosh's searcher, not a re-implementation beside it.
    articles = [_article(i, f"Story {i}", FILLER + ("volcano " * (i == 4))) for i in range(8)]
    ix = _index(tmp_path, articles)
    q = rel.bag_of_words(ix.schema, "volcano")
    assert isinstance(weighting(), scoring.WeightingModel)
    with ix.searcher(weighting=weighting()) as s, ix.searcher(weighting=scoring.BM25F()) as b:
        assert [h["id"] for h in s.search(q)] == [h["id"] for h in b.search(q)] == [f"{4:016x}"]


def test_term_in_every_document_still_scores_positive(tmp_path):
    # Lucene-style idf stays above zero where the classic RSJ idf goes negative (df > N/2),
    # so a query of one very common word still ranks by tf and length.
    articles = [_article(i, f"Story {i}", ("budget " * (1 + i % 3)) + FILLER) for i in range(6)]
    ix = _index(tmp_path, articles)
    with ix.searcher(weighting=weighting()) as s:
        hits = s.search(rel.bag_of_words(ix.schema, "budget"), limit=None)
        assert len(hits) == 6 and all(h.score > 0 for h in hits)
        assert hits[0].score > hits[5].score


def test_proximity_boost_prefers_terms_near_each_other(tmp_path):
    near = _article(1, "Report", "The central bank raised rates. " + FILLER * 2)
    apart = _article(2, "Report", "The central office said. " + FILLER + "The bank raised rates. "
                     + FILLER)
    ix = _index(tmp_path, [near, apart] + [_article(i, "Other", FILLER) for i in range(3, 8)])
    terms = list(ix.schema["body_en"].process_text("central bank", mode="query"))
    q = Or([rel.bag_of_words(ix.schema, "central bank"), proximity_boost(terms)])
    with ix.searcher(weighting=weighting()) as s:
        plain = {h["id"]: h.score for h in s.search(rel.bag_of_words(ix.schema, "central bank"))}
        boosted = {h["id"]: h.score for h in s.search(q)}
    assert boosted[near.id] > plain[near.id]
    assert boosted[apart.id] == pytest.approx(plain[apart.id])
    assert proximity_boost(["bank"]) is None and proximity_boost(["a", "a"]) is None


# --- The TIME reader --------------------------------------------------------------------------

@pytest.mark.corpus
def test_time_collection_is_read_and_judgments_mapped(corpora):
    t0 = time.perf_counter()
    coll = rel.read_time(corpora / "time-ir")
    assert time.perf_counter() - t0 < 5
    assert len(coll.docs) == 423
    assert len(coll.queries) == 83
    assert coll.queries["1"].startswith("KENNEDY ADMINISTRATION PRESSURE")
    # 253 judgments over 79 queries (56, 59, 62 empty; 72 missing).
    assert len(coll.qrels) == 79
    assert sum(len(r) for r in coll.qrels.values()) == 253
    assert "56" not in coll.qrels and "72" not in coll.qrels
    docs = dict((d, b) for d, _, b in coll.docs)
    # Query 1 (Diem and the Buddhists): judged 268 is the 268th record, *TEXT 334.
    assert "268" in coll.qrels["1"] and "BUDDHIST" in docs["268"]
    # Query 4: judged 385 is the 383rd record (two articles missing after the 370th).
    assert coll.qrels["4"] == {"370", "383"}
    assert docs["423"]  # judged 424/425 map to 422/423, which exist


@pytest.mark.corpus
def test_smart_reader_renumbers_cran_queries(corpora):
    coll = rel.read_glasgow("cran", corpora / "glasgow-ir-classic" / "glasgow-ir-classic.tar.gz")
    assert len(coll.docs) == 1400 and len(coll.queries) == 225
    assert set(coll.qrels) <= set(coll.queries)
    assert coll.docs[0][1].startswith("experimental investigation of the aerodynamics")
