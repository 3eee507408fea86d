"""The Atom feed of a search, read by feedparser: the newest matches, absolute links from
PUBLIC_URL (never the Host header), undated articles last with their indexing time."""

from __future__ import annotations

import feedparser
import pytest

from search.models import Article
from tests.conftest import write_articles_index
from tests.query.test_analysis import ARTICLES
from tests.query.test_analysis import _at
from web import create_app

ODD = Article(id="c000000000000001", source="odd/1.txt", record=None,
              title="Flood <warning> & \x0bcontrol", body="The flood \x01 rose & fell <b>fast</b>.",
              outlet="Zeta", published=_at(2022, 6, 1, 12, 0), lang="en",
              url="javascript:alert(1)")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    index_dir = write_articles_index(ARTICLES + [ODD], tmp_path_factory.mktemp("feed"))
    app = create_app({"INDEX": str(index_dir), "TESTING": True,
                      "PUBLIC_URL": "https://news.example.org/archive/"})
    return app.test_client()


def test_the_feed_lists_the_newest_matches_with_absolute_links(client):
    r = client.get("/feed.atom?q=flood&page=3&sort=oldest", headers={"Host": "evil.example"})
    assert r.status_code == 200 and r.mimetype == "application/atom+xml"
    feed = feedparser.parse(r.get_data())
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    titles = [e.title for e in feed.entries]
    # newest first, the undated article last; page and sort of the URL play no part
    assert titles[:3] == ["Flood <warning> & control", "Report 5", "Report 3"]
    assert titles[-1] == "Report 6" and len(titles) == 6
    assert all(e.link.startswith("https://news.example.org/archive/article/")
               for e in feed.entries)  # no http(s) source URL here: the article page
    assert "evil.example" not in r.get_data(as_text=True)
    assert feed.feed.links[0].href.startswith("https://news.example.org/archive/feed.atom?q=flood")
    assert feed.entries[0].summary.startswith("The")  # text, controls dropped
    undated = feed.entries[-1]
    assert "published" not in undated and undated.updated  # its indexing time
    assert feed.entries[0].published.startswith("2022-06-01T12:00:00")


def test_the_feed_takes_filters_and_bad_input_is_a_400(client):
    feed = feedparser.parse(client.get("/feed.atom?q=flood&outlet=Beta").get_data())
    assert [e.author for e in feed.entries] == ["Beta", "Beta"]
    assert client.get("/feed.atom?q=flood&from=2022-99-01").status_code == 400
    assert "Newsfacet: every article" in client.get("/feed.atom").get_data(as_text=True)


def test_the_search_page_links_its_feed_and_export(client):
    text = client.get("/?q=flood&page=1&collapse=story").get_data(as_text=True)
    assert '<link rel="alternate" type="application/atom+xml"' in text
    assert 'href="/feed.atom?q=flood"' in text and 'href="/export.csv?q=flood"' in text
