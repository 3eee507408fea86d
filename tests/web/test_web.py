"""The Flask app through its test client, on real indexes on disk.

``small_index`` (HANDMADE, hand-set entities and dates) where a test needs exact,
known structure; ``news_index`` (seeds, a bbc-news slice, dated FakeNewsNet and
SaudiNewsNet records, built by the real indexer with real NER) for the integration
tests the issue asks for. Expected values are computed from the fixtures' data.
"""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qsl
from urllib.parse import urlsplit

import pytest

from search.models import Article
from tests.conftest import HANDMADE
from tests.conftest import ROOT
from tests.conftest import needs_news_entities
from tests.conftest import write_articles_index
from web import create_app

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


@pytest.fixture(scope="module")
def client(small_index):
    return create_app({"TESTING": True, "INDEX": str(small_index)}).test_client()


@pytest.fixture(scope="module")
def news(news_index):
    return create_app({"TESTING": True, "INDEX": str(news_index)}).test_client()


def api(client, qs: str = "", status: int = 200) -> dict:
    r = client.get("/api/search" + ("?" + qs if qs else ""))
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.mimetype == "application/json"
    return r.get_json()


def page(client, url: str, status: int = 200) -> str:
    r = client.get(url)
    assert r.status_code == status, r.get_data(as_text=True)[:2000]
    assert r.mimetype == "text/html"
    return r.get_data(as_text=True)


def hrefs(text: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"]*)"', text)]


def state(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query)


def matching(word: str) -> set[str]:
    return {a.id for a in HANDMADE if word in (a.title + " " + a.body).lower()}


# --- the app factory ---------------------------------------------------------------------

def test_settings_layer_defaults_env_then_config(monkeypatch, small_index):
    monkeypatch.setenv("NEWSFACET_PAGE_SIZE", "3")
    monkeypatch.setenv("NEWSFACET_INDEX", "/nowhere")
    app = create_app({"INDEX": str(small_index)})
    assert app.config["PAGE_SIZE"] == 3 and app.config["INDEX"] == str(small_index)
    assert app.config["FACET_SIZE"] == 10  # the table's default
    assert app.test_client().get("/api/search").get_json()["page_size"] == 3


def test_create_app_overrides_reach_the_engine(small_index):
    # The limit is checked by the engine's parser too: it must see the app's settings.
    app = create_app({"INDEX": str(small_index), "MAX_QUERY_LENGTH": 5000})
    q = " OR ".join(["damascus"] * 90)  # 1,076 characters, 90 words
    assert 1000 < len(q) < 5000
    r = app.test_client().get("/api/search", query_string={"q": q})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["total"] == len(matching("damascus")) > 0
    short = create_app({"INDEX": str(small_index), "MAX_QUERY_LENGTH": 100})
    r = short.test_client().get("/api/search", query_string={"q": q})
    assert r.status_code == 400 and "at most 100" in r.get_json()["error"]


def test_web_never_imports_whoosh():
    for path in (ROOT / "web").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(import|from)\s+whoosh", text, re.M), path


# --- the search page -------------------------------------------------------------------------

def test_search_page_lists_ranked_hits_with_marks(client):
    text = page(client, "/?q=airport")
    expected = matching("airport")
    ids = re.findall(r'href="/article/([0-9a-f]{16})\?q=airport"', text)
    assert set(ids) == expected and len(ids) == len(expected)
    assert 'value="airport"' in text  # the box keeps the query
    assert f"{len(expected)} articles for" in text
    assert re.search(r'<p class="took">[^<]*\d+(\.\d)? ms</p>', text)
    assert "<mark>Airport</mark>" in text or "<mark>airport</mark>" in text
    # outlet, date (UTC, YYYY-MM-DD) and language name of the first article
    assert "Haaretz" in text and "2022-06-16" in text and "English" in text
    # the API agrees with the page, in the same order
    data = api(client, "q=airport")
    assert [h["id"] for h in data["hits"]] == ids


def test_json_contract(client):
    data = api(client, "q=airport")
    assert set(data) == {"ok", "query", "total", "page", "page_size", "took_ms", "hits", "facets",
                         "truncated_facets", "partial_facets", "notice", "suggestion",
                         "collapse", "groups", "stories"}
    # one article per copy group unless asked; no stage 4 here, so no stories yet
    assert data["collapse"] == "copies" and data["groups"] == data["total"]
    assert data["stories"] is None
    assert data["ok"] is True and data["query"] == "airport" and data["page"] == 1
    assert data["partial_facets"] is False  # every article's entities are in
    assert set(data["facets"]) == {"outlet", "year", "month", "lang", "person", "org", "place"}
    hit = data["hits"][0]
    assert {"id", "title", "title_html", "outlet", "published", "lang", "url", "score", "snippet",
            "entities", "story", "copies", "copy_of"} <= set(hit)
    for name, values in data["facets"].items():
        for v in values:
            assert set(v) == {"value", "count", "selected", "toggle_url"}
            assert urlsplit(v["toggle_url"]).path == "/api/search"
            assert (name, v["value"]) in state(v["toggle_url"])


def test_article_text_is_escaped_everywhere(client):
    # HANDMADE 3 carries "<script>alert('x')</script>" and "&" in its body.
    for url in ("/?q=football", "/article/a000000000000003",
                "/article/a000000000000003?q=football"):
        text = page(client, url)
        assert "<script>alert" not in text
        assert "&lt;script&gt;alert(" in text
        assert "Fans &amp; players" in text
    marks = re.findall(r"<(/?\w+)", page(client, "/?q=football").split('<ol class="hits"')[1])
    assert set(marks) <= {"li", "/li", "h2", "/h2", "a", "/a", "p", "/p", "span", "/span",
                          "time", "/time", "mark", "/mark", "ol", "/ol", "nav", "/nav", "ul",
                          "/ul", "section", "/section", "div", "/div", "main", "/main", "body",
                          "/body", "html", "/html"}


def test_empty_state(client):
    text = page(client, "/?q=zzzyqx")
    assert "No articles" in text and "Nothing matched" in text
    text = page(client, "/?q=airport&outlet=Der+Standard")
    assert "Search without the filters" in text
    assert ("/?q=airport") in hrefs(text)


def test_notice_and_suggestion_are_shown(client):
    data = api(client, "q=%22damascus")
    assert data["notice"]
    assert html.escape(data["notice"], quote=True) in page(client, "/?q=%22damascus")
    data = api(client, "q=hezbolah")
    assert data["suggestion"] and data["suggestion"].lower() == "hezbollah"
    text = page(client, "/?q=hezbolah")
    assert "Did you mean" in text
    assert f"/?q={data['suggestion']}" in hrefs(text)


@pytest.mark.parametrize("q", ['"', "(((", "AND OR NOT", "date:notadate", "*", "title:", "a" * 999,
                               "))", "outlet:", "~~~", "\x00", "<script>"])
def test_hostile_queries_give_a_message_never_a_500(client, q):
    r = client.get("/", query_string={"q": q})
    assert r.status_code in (200, 400)
    text = r.get_data(as_text=True)
    assert "Traceback" not in text
    if r.status_code == 400:
        assert 'class="message" role="alert"' in text
        # the query comes back in the box to be fixed
        assert 'name="q"' in text
    assert "<script>" not in text
    j = client.get("/api/search", query_string={"q": q})
    assert j.status_code == r.status_code
    if j.status_code == 400:
        assert j.get_json()["ok"] is False and j.get_json()["error"]


# --- parameters --------------------------------------------------------------------------------

@pytest.mark.parametrize("qs, words", [
    ("page=abc", "page"), ("page=-1", "page"), ("page=0", "page"), ("page=99999999", "page"),
    ("sort=foo", "sort"), ("from=notadate", "from"), ("to=2022-02-30", "to"),
    ("more=nosuchfacet", "more"), ("month=June", "month"), ("year=x", "year"),
    ("q=" + "x" * 10_000, "too long"),
])
def test_bad_parameters_are_400_with_a_message(client, qs, words):
    text = page(client, "/?" + qs, status=400)
    assert words in text.lower() and "Traceback" not in text
    body = api(client, qs, status=400)
    assert body["ok"] is False and body["status"] == 400 and words in body["error"].lower()
    assert set(body) == {"ok", "error", "status"}


def test_unknown_parameters_are_ignored(client):
    assert api(client, "foo=bar&_facet=x&category=y&q=airport")["total"] == len(matching("airport"))
    text = page(client, "/?q=airport&utm_source=x")
    assert all("utm_source" not in h for h in hrefs(text))


def test_filters_or_within_and_across_with_disjunctive_counts(client):
    def n(**f):
        def has(a, k, v):
            return getattr(a, k) in v if k in ("outlet", "lang") else set(getattr(a.entities, k)) & v
        return sum(all(has(a, k, v) for k, v in f.items()) for a in HANDMADE)

    assert api(client, "outlet=Reuters")["total"] == n(outlet={"Reuters"}) == 2
    assert api(client, "outlet=Reuters&outlet=BBC")["total"] == n(outlet={"Reuters", "BBC"})
    both = api(client, "outlet=Reuters&place=Syria")
    assert both["total"] == n(outlet={"Reuters"}, place={"Syria"}) == 1
    # The outlet facet counts ignore the outlet selection, but not the place one.
    outlets = {v["value"]: (v["count"], v["selected"]) for v in both["facets"]["outlet"]}
    assert outlets == {"Reuters": (n(outlet={"Reuters"}, place={"Syria"}), True),
                       "Haaretz": (n(outlet={"Haaretz"}, place={"Syria"}), False)}
    lang = api(client, "lang=de")
    assert [h["id"] for h in lang["hits"]] == [a.id for a in HANDMADE if a.lang == "de"]


def test_facet_links_chips_and_clear_all(client):
    text = page(client, "/?q=damascus&outlet=Reuters&person=Mikhail+Bogdanov&page=1")
    links = hrefs(text)
    # each chip removes its own filter and keeps the rest (page reset)
    assert "/?q=damascus&person=Mikhail+Bogdanov" in links
    assert "/?q=damascus&outlet=Reuters" in links
    assert 'aria-label="Remove filter Outlet: Reuters"' in text
    assert 'aria-label="Remove filter People: Mikhail Bogdanov"' in text
    # clear all keeps the query only
    assert re.search(r'<a class="clear" href="/\?q=damascus">', text)
    # a value not selected adds itself
    assert "/?q=damascus&outlet=Reuters&person=Mikhail+Bogdanov&place=Russia" in links


def test_sort_newest_and_oldest(client):
    dated = sorted((a for a in HANDMADE if a.published), key=lambda a: a.published)
    newest = [h["id"] for h in api(client, "sort=newest")["hits"] if h["published"]]
    oldest = [h["id"] for h in api(client, "sort=oldest")["hits"] if h["published"]]
    assert newest == [a.id for a in reversed(dated)] and oldest == [a.id for a in dated]
    text = page(client, "/?sort=newest")
    assert '<a aria-current="true" href="/?sort=newest">Newest</a>' in text


def test_pagination(small_index):
    c = create_app({"TESTING": True, "INDEX": str(small_index), "PAGE_SIZE": 2}).test_client()
    first, second = api(c, "sort=oldest"), api(c, "sort=oldest&page=2")
    assert first["total"] == len(HANDMADE) and len(first["hits"]) == len(second["hits"]) == 2
    assert not {h["id"] for h in first["hits"]} & {h["id"] for h in second["hits"]}
    text = page(c, "/?sort=oldest&page=2")
    assert "Page 2 of 3" in text
    assert {"/?sort=oldest&page=1", "/?sort=oldest&page=3"} <= set(hrefs(text))
    assert 'rel="prev"' in text and 'rel="next"' in text
    assert 'start="3"' in text
    past = page(c, "/?sort=oldest&page=9")
    assert "There is no page 9" in past and "/?sort=oldest" in hrefs(past)


def test_show_more(small_index):
    c = create_app({"TESTING": True, "INDEX": str(small_index), "FACET_SIZE": 1}).test_client()
    data = api(c)
    assert "place" in data["truncated_facets"] and len(data["facets"]["place"]) == 1
    text = page(c, "/")
    assert "/?more=place" in hrefs(text) and "Show more places" in text
    more = api(c, "more=place")
    places = {p for a in HANDMADE for p in a.entities.place}
    assert {v["value"] for v in more["facets"]["place"]} == places
    assert "Show fewer" in page(c, "/?more=place")


def test_date_chart_and_range(client):
    text = page(client, "/")
    svg = text.split('<svg class="chart"')[1].split("</svg>")[0]
    periods = re.findall(r'<a href="[^"]*" class="bar[^"]*" aria-label="(\d{4})', svg)
    years = sorted({f"{a.published.year}" for a in HANDMADE if a.published})
    assert periods == years  # chronological, every year with articles (span too long for months)
    assert "/?year=2022" in hrefs(svg)
    assert "<title>2022: 2 articles</title>" in svg
    # a month-scale chart once the span is short
    svg = page(client, "/?year=2022").split('<svg class="chart"')[1]
    assert "/?year=2022&month=2022-06" in hrefs(svg.split("</svg>")[0])
    # from/to: UTC, both days whole; the form keeps the other state in hidden inputs
    day = api(client, "from=2022-06-17&to=2022-06-17")
    assert [h["id"] for h in day["hits"]] == ["a000000000000002"]  # 00:00:30 on the 17th
    form = page(client, "/?q=airport&from=2022-06-16&outlet=Reuters").split('class="range"')[1]
    assert '<input type="hidden" name="q" value="airport">' in form
    assert '<input type="hidden" name="outlet" value="Reuters">' in form
    assert 'value="2022-06-16"' in form and '<label for="date-from">' in form


# --- the article page ------------------------------------------------------------------------

def test_article_page(client):
    a = HANDMADE[0]
    text = page(client, f"/article/{a.id}?q=airport")
    assert html.escape(a.outlet) in text and "2022-06-16" in text and "English" in text
    assert f'href="{a.url}"' in text
    assert "<mark>Airport</mark>" in text
    links = hrefs(text)
    for kind in ("person", "org", "place"):
        for e in getattr(a.entities, kind):
            assert f"/?{kind}={e.replace(' ', '+')}" in links
    assert "<mark>" not in page(client, f"/article/{a.id}")
    # a q that cannot be parsed still shows the article, unmarked
    assert "<mark>" not in page(client, f"/article/{a.id}?q=%28%28%28")
    body = client.get(f"/api/article/{a.id}?q=airport").get_json()
    assert body["ok"] is True and body["article"]["body"] == a.body
    assert "<mark>Airport</mark>" in body["article"]["body_html"]
    assert "body_html" not in client.get(f"/api/article/{a.id}").get_json()["article"]


def test_arabic_article_is_marked_right_to_left_capable(client):
    a = next(a for a in HANDMADE if a.lang == "ar")
    text = page(client, f"/article/{a.id}")
    assert 'lang="ar"' in text and '<h1 dir="auto">' in text and "Arabic" in text


@pytest.mark.parametrize("aid", ["ffffffffffffffff", "nothex", "A000000000000001", "x" * 300])
def test_missing_article_is_404(client, aid):
    text = page(client, f"/article/{aid}", status=404)
    assert "Not found" in text
    r = client.get(f"/api/article/{aid}")
    assert r.status_code == 404 and r.get_json()["ok"] is False and r.get_json()["status"] == 404


def test_javascript_url_is_not_a_link(tmp_path):
    bad = Article(id="b000000000000001", source="x", record=None, title="t", body="b",
                  url="javascript:alert(1)", outlet="X", lang="en")
    index_dir = write_articles_index([bad], tmp_path)
    c = create_app({"TESTING": True, "INDEX": str(index_dir)}).test_client()
    text = page(c, "/article/b000000000000001")
    assert 'href="javascript' not in text and "javascript:alert(1)" in text


# --- errors, headers, index life cycle --------------------------------------------------------

def test_404_405_and_headers(client):
    for url, status in (("/", 200), ("/nope", 404), ("/static/style.css", 200), ("/?page=x", 400),
                        ("/api/nope", 404)):
        with client.get(url) as r:  # closing it closes the static file
            assert r.status_code == status
            assert r.headers["Content-Security-Policy"] == CSP
            assert r.headers["X-Content-Type-Options"] == "nosniff"
            assert r.headers["Referrer-Policy"] == "same-origin"
    assert client.get("/api/nope").get_json() == {"ok": False, "error": "There is no page at this "
                                                  "address.", "status": 404}
    r = client.post("/")
    assert r.status_code == 405 and "Method Not Allowed" in r.get_data(as_text=True)
    assert client.post("/api/search").get_json()["status"] == 405


def test_pages_have_no_inline_script_or_style(client):
    for url in ("/?q=airport&outlet=Haaretz", "/article/a000000000000001", "/nope"):
        text = client.get(url).get_data(as_text=True)
        assert "<script" not in text and " style=" not in text and "<style" not in text
        head = text.split("<body>")[0]
        assert "http://" not in head and "https://" not in head  # nothing from other hosts


def test_unexpected_error_is_a_plain_500(small_index):
    app = create_app({"TESTING": True, "INDEX": str(small_index)})

    @app.route("/boom")
    def boom():
        raise RuntimeError("secret detail")

    r = app.test_client().get("/boom")
    text = r.get_data(as_text=True)
    assert r.status_code == 500 and "Something went wrong" in text
    assert "secret detail" not in text and "Traceback" not in text


def test_missing_index_page_says_how_to_build_one(tmp_path):
    missing = tmp_path / "no-index"
    c = create_app({"TESTING": True, "INDEX": str(missing)}).test_client()
    text = page(c, "/", status=503)
    assert f"newsfacet index PATH --index {missing}" in text
    body = api(c, "", status=503)
    assert body["ok"] is False and "newsfacet index" in body["error"]


def test_rebuild_is_picked_up_without_restart(tmp_path):
    index_dir = write_articles_index(HANDMADE[:3], tmp_path / "ix")
    c = create_app({"TESTING": True, "INDEX": str(index_dir)}).test_client()
    assert api(c, "q=damascus")["total"] == 2
    assert api(c, "q=riyadh")["total"] == 0
    write_articles_index(HANDMADE[3:], index_dir)  # a new generation, switched in
    assert api(c, "q=damascus")["total"] == 1
    assert [h["id"] for h in api(c, "outlet=Al+Riyadh")["hits"]] == ["a000000000000005"]


# --- on the real news index ---------------------------------------------------------------------

def test_news_index_search_facets_and_article(news, news_index):
    data = api(news, "q=election")
    assert data["total"] > 0 and data["hits"]
    assert any("<mark>" in h["snippet"] for h in data["hits"])
    outlets = {v["value"]: v["count"] for v in data["facets"]["outlet"]}
    assert "BBC" in outlets
    if "outlet" not in data["truncated_facets"]:  # one outlet per article
        assert sum(outlets.values()) == data["total"]
    # follow the BBC toggle: the total becomes the BBC count, and the value is selected
    bbc = next(v for v in data["facets"]["outlet"] if v["value"] == "BBC")
    narrowed = news.get(bbc["toggle_url"]).get_json()
    assert narrowed["total"] == bbc["count"]
    assert all(h["outlet"] == "BBC" for h in narrowed["hits"])
    assert next(v for v in narrowed["facets"]["outlet"] if v["value"] == "BBC")["selected"]
    # the page shows the same hits
    text = page(news, "/?q=election&outlet=BBC")
    assert [h["id"] for h in narrowed["hits"]] == re.findall(r'href="/article/([0-9a-f]{16})', text)
    # a person found by NER filters the results to articles naming them
    needs_news_entities(news_index)
    person = narrowed["facets"]["person"][0]
    by_person = news.get(person["toggle_url"]).get_json()
    assert by_person["total"] == person["count"]
    assert all(person["value"] in h["entities"]["person"] for h in by_person["hits"])
    # the article page links its entities back to filtered searches
    hit = by_person["hits"][0]
    art = page(news, f"/article/{hit['id']}?q=election")
    assert "<mark>" in art
    assert f"/?person={person['value']}".replace(" ", "+") in hrefs(art)


def test_news_index_languages_dates_and_sorting(news):
    data = api(news)
    langs = {v["value"] for v in data["facets"]["lang"]}
    assert {"en", "ar"} <= langs
    assert "English" in page(news, "/") and "Arabic" in page(news, "/")
    newest = [h["published"] for h in api(news, "sort=newest")["hits"]]
    assert newest == sorted(newest, reverse=True) and newest[0]
    months = data["facets"]["year"]
    assert months and "year" not in data["truncated_facets"]
    year = max(months, key=lambda v: v["count"])
    assert api(news, f"year={year['value']}")["total"] == year["count"]
    ar = api(news, "lang=ar")
    assert ar["total"] and all(h["lang"] == "ar" for h in ar["hits"])
    first = ar["hits"][0]
    assert 'dir="auto"' in page(news, f"/article/{first['id']}")


def test_every_control_is_labelled(client):
    from html.parser import HTMLParser

    class Controls(HTMLParser):
        def __init__(self):
            super().__init__()
            self.inputs, self.labels = [], set()

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "input" and a.get("type") != "hidden":
                self.inputs.append(a.get("id"))
            if tag == "label":
                self.labels.add(a.get("for"))

    for url in ("/?q=airport&outlet=Haaretz", "/?q=((("):
        parser = Controls()
        parser.feed(client.get(url).get_data(as_text=True))
        assert parser.inputs and all(i and i in parser.labels for i in parser.inputs), url
