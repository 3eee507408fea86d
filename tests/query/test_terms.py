"""Top words on real bbc-news articles: the words that set a query's matches apart."""

from __future__ import annotations

import pytest

from search.ingest.enrich.cleanup import clean
from search.ingest.readers import read_file
from search.models import SearchRequest
from search.query import terms
from tests.conftest import CORPORA
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
