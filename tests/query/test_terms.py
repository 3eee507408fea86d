"""Top words on real bbc-news articles: the words that set a query's matches apart."""

from __future__ import annotations

import pytest
from whoosh import index as whoosh_index

from search import storage
from search.ingest.enrich.cleanup import clean
from search.ingest.readers import read_file
from search.models import SearchRequest
from search.query import generation
from search.query import service
from search.query import terms
from search.schema import to_document
from tests.conftest import CORPORA
from tests.conftest import HANDMADE
from tests.conftest import write_articles_index
from web import create_app

PER_CATEGORY = 200


@pytest.fixture(scope="module")
def bbc_index(tmp_path_factory):
    """The first PER_CATEGORY articles of each bbc-news category, no NER (words only)."""
    taken: dict[str, int] = {}
    articles = []
    for raw in read_file(CORPORA / "bbc-news" / "bbc-fulltext.tar.gz", lambda e: None):
        category = raw.source.split("::bbc/")[1].split("/")[0]
        if taken.get(category, 0) < PER_CATEGORY:
            taken[category] = taken.get(category, 0) + 1
            articles.append(clean(raw).replace(lang="en", outlet="BBC"))
    return write_articles_index(articles, tmp_path_factory.mktemp("bbc_terms"))


@pytest.mark.corpus
@pytest.mark.parametrize("q, about", [
    ("football", {"league", "club", "cup", "match", "players", "premiership", "goal",
                  "manager", "chelsea", "arsenal", "united", "striker", "fa", "liverpool"}),
    ("election", {"labour", "tory", "tories", "conservatives", "party", "poll", "vote",
                  "voters", "campaign", "blair", "howard", "manifesto", "lib", "kennedy",
                  "mps", "candidates", "ballot"}),
    ("broadband", {"internet", "net", "bt", "connection", "speed", "online", "ofcom",
                   "subscribers", "uk", "users", "services", "high-speed", "households"}),
])
def test_top_words_are_plainly_about_the_query(bbc_index, q, about):
    tw = terms.top_words(bbc_index, SearchRequest(q=q))
    top = [t.term.lower() for t in tw.terms[:12]]
    assert len(set(top) & about) >= 3, top
    # words common to all news say nothing about this one
    assert not {"said", "year", "also", "would", "new", "people"} & set(top), top
    assert all(t.count >= terms.MIN_DOCS and t.background >= t.count for t in tw.terms)
    assert [t.score for t in tw.terms] == sorted((t.score for t in tw.terms), reverse=True)
    assert tw.sample == min(tw.total, terms.SAMPLE)


def test_api_terms_contract_and_the_page_panel(bbc_index):
    client = create_app({"INDEX": str(bbc_index), "TESTING": True}).test_client()
    out = client.get("/api/terms?q=football").get_json()
    assert out["ok"] is True and out["score"] == "JLH" and out["sample"] <= terms.SAMPLE
    assert set(out["terms"][0]) == {"term", "count", "background", "score"}
    page = client.get("/?q=football").get_data(as_text=True)
    assert "Show the words that set these matches apart" in page
    page = client.get("/?q=football&words=1").get_data(as_text=True)
    first = out["terms"][0]["term"]
    assert f'href="/?words=1&amp;q=football+{first}"' in page
    assert client.get("/api/terms?q=%22unclosed&from=2022-13-01").status_code == 400


def _generation(index_dir) -> generation.Generation:
    service.search(index_dir, SearchRequest())  # opens it
    return generation._slots[str(index_dir.resolve())].gen


def test_the_warming_keeps_the_text_fields_document_frequencies(tmp_path):
    """Once the warming is done, top words look up no document frequency: it keeps those
    of every word held by DF_KEEP_MIN articles or more, summed over the segments, as
    Whoosh's multi-segment reader counts them."""
    assert generation.DF_KEEP_MIN <= terms.MIN_DOCS  # no word top words score is left out
    index_dir = write_articles_index(HANDMADE[:4], tmp_path / "ix")
    w = whoosh_index.open_dir(str(storage.require_current(index_dir))).writer()
    for a in HANDMADE[4:]:
        w.add_document(**to_document(a))
    w.commit(merge=False)
    gen = _generation(index_dir)
    assert gen.prewarmed.wait(30)
    reader = gen.searcher.reader()
    leaves = [leaf for leaf, _ in reader.leaf_readers()]
    assert len(leaves) == 2
    for name in ("body_en", "title_en"):
        want = {t.decode(): i.doc_frequency() for t, i in reader.iter_field(name)
                if i.doc_frequency() >= generation.DF_KEEP_MIN}
        assert gen._df.get(name, {}) == want, name
    assert gen._df["body_en"]
    # kept only as the sum: no segment alone holds it in DF_KEEP_MIN articles
    assert [t for t in gen._df["body_en"]
            if all(leaf.doc_frequency("body_en", t) < generation.DF_KEEP_MIN for leaf in leaves)]


@pytest.mark.corpus
def test_top_words_are_the_same_with_the_kept_frequencies_as_looked_up(bbc_index):
    gen = _generation(bbc_index)
    assert gen.prewarmed.wait(60)
    kept = {name: dict(dfs) for name, dfs in gen._df.items()}
    assert kept.get("body_en")
    for q in ("football", "election OR vote", "mobile phone"):
        with_kept = terms.top_words(bbc_index, SearchRequest(q=q)).terms
        gen._df.clear()  # each frequency looked up in the index, as before the warming
        looked_up = terms.top_words(bbc_index, SearchRequest(q=q)).terms
        gen._df.update({name: dict(dfs) for name, dfs in kept.items()})
        assert with_kept and [(t.term, t.count, t.background) for t in with_kept] == \
            [(t.term, t.count, t.background) for t in looked_up], q
