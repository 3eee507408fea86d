"""service.search / article / info on real indexes: paging, sorting, dates, snippets, swaps."""

from __future__ import annotations

import threading

import pytest

from search import storage
from search.errors import IndexMissingError
from search.errors import NotFoundError
from search.errors import QueryError
from search.models import SearchRequest
from search.query import service
from tests.conftest import HANDMADE
from tests.conftest import needs_news_entities
from tests.conftest import write_articles_index


def ends(r) -> list[str]:
    return [h.id[-1] for h in r.hits]


@pytest.mark.parametrize("date_from,date_to,expected", [
    ("2022-06-17", None, ["2"]),            # 00:00:30 on the 17th is in, 23:59:30 on the 16th out
    (None, "2022-06-16", ["1", "3", "4", "5"]),
    ("2022-06-16", "2022-06-16", ["1"]),
    ("2022-06-17", "2022-06-17", ["2"]),
    ("2015-01-01", "2016-12-31", ["4", "5"]),
])
def test_date_filters_whole_days_utc(small_index, date_from, date_to, expected):
    r = service.search(small_index, SearchRequest(date_from=date_from, date_to=date_to))
    assert sorted(ends(r)) == expected


@pytest.mark.parametrize("req,message", [
    (SearchRequest(date_from="17/06/2022"), "YYYY-MM-DD"),
    (SearchRequest(date_from="2022-06-18", date_to="2022-06-17"), "after"),
    (SearchRequest(filters={"colour": ("red",)}), "Unknown facet 'colour'"),
    (SearchRequest(sort="best"), "sort must be one of"),
    (SearchRequest(page=0), "page must be"),
    (SearchRequest(page_size=-1), "page size"),
])
def test_bad_requests(small_index, req, message):
    with pytest.raises(QueryError, match=message):
        service.search(small_index, req)


def test_sorting_and_browse(small_index):
    assert ends(service.search(small_index, SearchRequest())) == ["2", "1", "3", "4", "5", "6"]
    assert ends(service.search(small_index, SearchRequest(sort="newest"))) == \
        ["2", "1", "3", "4", "5", "6"]
    assert ends(service.search(small_index, SearchRequest(sort="oldest"))) == \
        ["5", "4", "3", "1", "2", "6"]           # undated last either way
    assert ends(service.search(small_index, SearchRequest(q="damascus", sort="oldest"))) == \
        ["1", "2", "6"]


def test_paging(small_index):
    r = service.search(small_index, SearchRequest(page_size=4, page=2))
    assert (r.total, ends(r), r.pages) == (6, ["5", "6"], 2)
    r = service.search(small_index, SearchRequest(page=9))
    assert (r.total, r.hits) == (6, ())
    r = service.search(small_index, SearchRequest(page_size=0))
    assert r.total == 6 and r.hits == () and r.facets["outlet"]
    r = service.search(small_index, SearchRequest(page_size=10_000))
    assert r.page_size == 100


def test_snippets_are_escaped_and_marked(small_index):
    r = service.search(small_index, SearchRequest(q="football"))
    hit = r.hits[0]
    assert "<script>" not in hit.snippet and "&lt;script&gt;" in hit.snippet
    assert "&amp;" in hit.snippet
    assert hit.title_html == "<mark>Football</mark>: United win the cup"
    r = service.search(small_index, SearchRequest(q='"Damascus International Airport"'))
    assert "<mark>Damascus International Airport</mark>" in r.hits[0].snippet
    # facet-only match: the escaped start of the body
    r = service.search(small_index, SearchRequest(q="outlet:bbc"))
    assert r.hits[0].snippet.startswith("Manchester United won the cup final")
    assert "<mark>" not in r.hits[0].snippet


def test_snippet_fragments_are_short_whole_words(tmp_path):
    filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 12
    body = filler + "The ceasefire held overnight. " + filler + "Talks on the ceasefire resume. " + filler
    art = HANDMADE[0].replace(id="c000000000000001", body=body, title="Talks")
    index_dir = write_articles_index([art], tmp_path / "ix")
    snip = service.search(index_dir, SearchRequest(q="ceasefire")).hits[0].snippet
    assert snip.count("<mark>ceasefire</mark>") == 2 and " … " in snip
    text = snip.replace("<mark>", "").replace("</mark>", "")
    assert 120 <= len(text) <= 330, len(text)
    for piece in text.strip("… ").split(" … "):
        assert piece.split()[0] in filler.split() + ["The", "Talks"], piece


def test_article_view(small_index):
    view = service.article(small_index, "a000000000000003", q="script")
    assert view.body_html.count("<mark>script</mark>") == 2
    assert "&lt;" in view.body_html and "<script>" not in view.body_html
    assert view.sources == ("handmade/3.txt",)
    assert service.article(small_index, "a000000000000003").body_html is None
    assert service.article(small_index, "a000000000000003", q='"').body_html is not None
    with pytest.raises(NotFoundError):
        service.article(small_index, "ffffffffffffffff")


def test_suggestion(small_index):
    r = service.search(small_index, SearchRequest(q="Hezbolah"))
    assert (r.total, r.suggestion) == (0, "Hezbollah")
    r = service.search(small_index, SearchRequest(q="Damscus airport"))
    assert r.suggestion == "Damascus airport"
    assert service.search(small_index, SearchRequest(q="Damascus")).suggestion is None


def test_info(small_index):
    out = service.info(small_index)
    assert out["articles"] == 6 and out["size_bytes"] > 0
    assert out["facets"]["lang"] == [{"value": "en", "count": 4}, {"value": "ar", "count": 1},
                                     {"value": "de", "count": 1}]


def test_missing_index(tmp_path):
    with pytest.raises(IndexMissingError):
        service.search(tmp_path / "nothing", SearchRequest())


def test_an_index_of_another_schema_version_is_refused_not_searched(tmp_path):
    from click.testing import CliRunner

    from search.cli import main
    from search.errors import IndexVersionError
    from web import create_app

    ix = write_articles_index(HANDMADE, tmp_path / "ix")
    storage.set_schema_version(storage.current(ix), 2)  # as an older Newsfacet wrote it
    with pytest.raises(IndexVersionError, match="--rebuild"):
        service.search(ix, SearchRequest(q="damascus"))
    with pytest.raises(IndexVersionError):
        service.info(ix)
    r = CliRunner().invoke(main, ["search", "damascus", "--index", str(ix), "--json"])
    assert r.exit_code == 1 and "schema version 2" in r.output and "--rebuild" in r.output
    api = create_app({"INDEX": str(ix)}).test_client().get("/api/search?q=damascus")
    assert api.status_code == 503 and "--rebuild" in api.get_json()["error"]


def test_new_generation_is_picked_up(tmp_path):
    index_dir = write_articles_index(HANDMADE[:2], tmp_path / "ix")
    assert service.search(index_dir, SearchRequest()).total == 2
    old = storage.current(index_dir)
    write_articles_index(HANDMADE, index_dir)  # a rebuild: new generation, switched
    assert storage.current(index_dir) != old
    r = service.search(index_dir, SearchRequest(q="football"))
    assert r.total == 1 and r.facets["outlet"][0].value == "BBC"


def test_old_generation_serves_while_the_new_one_opens(tmp_path, monkeypatch):
    from search.query import generation

    index_dir = write_articles_index(HANDMADE[:2], tmp_path / "ix")
    assert service.search(index_dir, SearchRequest()).total == 2
    write_articles_index(HANDMADE, index_dir)  # a rebuild: new generation, switched
    opening, release = threading.Event(), threading.Event()
    real_init = generation.Generation.__init__

    def slow_init(self, path, previous=None):
        opening.set()
        assert release.wait(30)
        real_init(self, path, previous)

    monkeypatch.setattr(generation.Generation, "__init__", slow_init)
    totals = []
    opener = threading.Thread(target=lambda: totals.append(
        service.search(index_dir, SearchRequest()).total))
    opener.start()
    assert opening.wait(30)
    # While the new generation is being opened (outside the lock), the old one answers.
    assert service.search(index_dir, SearchRequest()).total == 2
    release.set()
    opener.join(30)
    assert totals == [len(HANDMADE)]
    assert service.search(index_dir, SearchRequest()).total == len(HANDMADE)


def test_threads_share_one_generation(small_index):
    results, errors = [], []

    def run(q):
        try:
            results.append((q, service.search(small_index, SearchRequest(q=q)).total))
        except Exception as e:  # collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(q,)) for q in ["damascus", "hezbollah"] * 8]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(set(results)) == [("damascus", 3), ("hezbollah", 2)]


# --- on the index built by the real indexer from real corpora ---------------------------------
SEED_000 = "000_ef50dafd8e23f84f.txt"
SEED_004 = "004_f3398df43f7a1b2a.txt"


def seeds_found(index_dir, q) -> set[str]:
    r = service.search(index_dir, SearchRequest(q=q, page_size=100))
    found = set()
    for h in r.hits:
        sources = service.article(index_dir, h.id).sources
        for seed in (SEED_000, SEED_004):
            if any(s.endswith(seed) for s in sources):
                found.add(seed)
    return found


@pytest.mark.corpus
@pytest.mark.parametrize("q,expected", [
    ('"Damascus International Airport"', {SEED_000, SEED_004}),
    ("Hezbollah NOT Russia", {SEED_000}),
    ('person:"Dennis Ross"', {SEED_000}),
    ("person:\"dennis ross\"", {SEED_000}),
])
def test_seed_queries(news_index, q, expected):
    if q.startswith("person:"):
        needs_news_entities(news_index)
    assert seeds_found(news_index, q) == expected


@pytest.mark.corpus
def test_news_index_facets_and_dates(news_index):
    r = service.search(news_index, SearchRequest(q="", page_size=0))
    outlets = {v.value for v in r.facets["outlet"]}
    assert "BBC" in outlets
    assert {v.value for v in r.facets["lang"]} >= {"en", "ar"}
    chosen = r.facets["outlet"][0].value
    narrowed = service.search(news_index, SearchRequest(filters={"outlet": (chosen,)},
                                                        page_size=0))
    assert narrowed.total == r.facets["outlet"][0].count
    assert [v.value for v in narrowed.facets["outlet"]] == [v.value for v in r.facets["outlet"]]
    newest = service.search(news_index, SearchRequest(sort="newest", page_size=5))
    dates = [h.published for h in newest.hits]
    assert all(dates) and dates == sorted(dates, reverse=True)


@pytest.mark.corpus
def test_concurrent_requests_give_the_sequential_answers(news_index):
    # Snippets and article pages read postings and stored fields through the shared
    # searcher: under waitress's threads that once raised zlib errors (HTTP 500s).
    queries = ["said", "government", "film OR music", '"prime minister"', "elect*",
               "Damascus", "air strike", "minister -labour", "police", "market"]

    def answer(q):
        r = service.search(news_index, SearchRequest(q=q, page_size=10))
        pages = [service.article(news_index, h.id, q=q).body_html for h in r.hits[:3]]
        return r.total, [(h.id, h.snippet) for h in r.hits], pages

    expected = {q: answer(q) for q in queries}
    got, errors = [], []

    def run(offset):
        try:
            for i in range(3 * len(queries)):
                q = queries[(i + offset) % len(queries)]
                got.append((q, answer(q)))
        except Exception as e:  # collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(got) == 8 * 3 * len(queries)
    assert all(answer_ == expected[q] for q, answer_ in got)


@pytest.mark.corpus
@pytest.mark.parametrize("q,expected", [
    ("Kinneret", set()),                      # a teaser of another article: page furniture
    ('"Yair Lapid"', set()),                  # likewise
    ("subscribe", set()),                     # a subscription prompt
    ('"Attack in Syria"', {SEED_000}),        # the image caption, kept once and searchable
    ('"SANA/Handout"', set()),                # a photo credit glued to a caption is not text
    ('"Mikhail Bogdanov"', {SEED_004}),       # near the end of seed 004: NER saw all of it
])
def test_page_furniture_is_not_searchable_but_captions_are(news_index, q, expected):
    assert seeds_found(news_index, q) == expected
