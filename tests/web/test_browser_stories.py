"""Collapsed results in a real browser: one article per copy group, the story links,
the grouping switch and the story chip.

The index is real (Whoosh on disk); stage 4's results are written to the real side
store, as the indexer writes them (the clustering itself is tested in tests/stories).
"""

from __future__ import annotations

import pytest

from search import storage
from search.sidestore import SideStore
from tests.conftest import write_articles_index
from tests.query.test_stories_query import A1
from tests.query.test_stories_query import ARTICLES
from tests.query.test_stories_query import COPY
from tests.query.test_stories_query import COPY2
from tests.query.test_stories_query import standard_rows
from tests.web.conftest import ARTIFACTS
from tests.web.conftest import serving

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    index_dir = write_articles_index(ARTICLES, tmp_path_factory.mktemp("stories_browser"))
    store = SideStore(storage.require_current(index_dir))
    store.set_stories(standard_rows())
    store.commit()
    store.close()
    with serving(index_dir) as url:
        yield url


def hit_ids(page) -> list[str]:
    hrefs = page.locator("ol.hits .headline a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    return [h.split("/article/")[1].split("?")[0] for h in hrefs]


def test_copies_fold_and_a_story_opens_from_its_hit(page):
    page.goto("/?q=Damascus")
    shown = hit_ids(page)
    # five articles match; the three copies of one text show as one hit
    assert page.locator("#results-title").inner_text().startswith("5 articles")
    assert len(shown) == 3 and len({A1, COPY, COPY2} & set(shown)) == 1
    assert "2 copies folded in" in page.locator(".took").inner_text()
    copies = page.locator("ol.hits .copies")
    assert copies.count() == 1 and copies.inner_text() == "+2 copies"
    story = page.locator("ol.hits .story").first
    assert story.inner_text() == "4 articles from 3 outlets"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "collapsed-results.png"), full_page=True)

    # one per story: the airport story and the analysis piece
    page.get_by_role("navigation", name="Group results").get_by_text("one per story").click()
    page.wait_for_url("**collapse=story**")
    assert len(hit_ids(page)) == 2

    # the story link opens the story's page
    page.goto("/?q=Damascus")
    page.locator("ol.hits .story").first.click()
    page.wait_for_url(f"**/story/{A1}")
    # the copies link lists every article of the story, oldest first, as a chip
    page.goto("/?q=Damascus")
    page.locator("ol.hits .copies").click()
    page.wait_for_url(f"**story={A1}**")
    assert sorted(hit_ids(page)) == sorted(r.id for r in standard_rows() if r.story == A1)
    chip = page.locator(".chips .chip")
    assert chip.count() == 1 and f"Story: {A1}" in chip.inner_text()
    page.screenshot(path=str(ARTIFACTS / "story-filter.png"), full_page=True)
    chip.click()
    page.wait_for_load_state()
    assert "story=" not in page.url


def test_the_story_page_shows_who_ran_it_and_when(page):
    page.goto(f"/story/{A1}")
    assert "4 articles from 3 outlets" in page.locator(".kicker").text_content()
    assert "Haaretz" in page.locator(".first-seen").inner_text()
    lanes = page.locator(".story-chart .outlet-label").evaluate_all("els => els.map(e => e.textContent)")
    assert lanes == ["Haaretz", "Times of Israel", "Reuters"]  # in the order they ran it
    dots = page.locator(".story-chart .dot")
    assert dots.count() == 4
    # the last dot (Reuters, a minute later) sits right of the first
    xs = [float(dots.nth(i).get_attribute("cx")) for i in range(4)]
    assert max(xs) == xs[-1] > xs[0]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "story-page.png"), full_page=True)
    # a dot leads to its article in the list below
    page.locator(".story-chart a").last.click()
    assert page.url.endswith("#a-a000000000000002")
    # an entity link searches within the story
    page.locator(".entities a", has_text="Dennis Ross").click()
    page.wait_for_url("**person=Dennis**")
    assert len(hit_ids(page)) == 3
