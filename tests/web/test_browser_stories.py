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


def hit_ids(pg) -> list[str]:
    hrefs = pg.locator("ol.hits .headline a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    return [h.split("/article/")[1].split("?")[0] for h in hrefs]


def test_copies_fold_and_a_story_opens_from_its_hit(browser, base_url):
    problems = []
    context = browser.new_context(base_url=base_url, viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    pg.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: problems.append(str(e)))
    pg.set_default_timeout(5000)
    try:
        pg.goto("/?q=Damascus")
        shown = hit_ids(pg)
        # five articles match; the three copies of one text show as one hit
        assert pg.locator("#results-title").inner_text().startswith("5 articles")
        assert len(shown) == 3 and len({A1, COPY, COPY2} & set(shown)) == 1
        assert "2 copies folded in" in pg.locator(".took").inner_text()
        copies = pg.locator("ol.hits .copies")
        assert copies.count() == 1 and copies.inner_text() == "+2 copies"
        story = pg.locator("ol.hits .story").first
        assert story.inner_text() == "4 articles from 3 outlets"
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / "collapsed-results.png"), full_page=True)

        # one per story: the airport story and the analysis piece
        pg.get_by_role("navigation", name="Group results").get_by_text("one per story").click()
        pg.wait_for_url("**collapse=story**")
        assert len(hit_ids(pg)) == 2

        # the story link lists every article of the story, oldest first, as a chip
        pg.goto("/?q=Damascus")
        pg.locator("ol.hits .story").first.click()
        pg.wait_for_url(f"**story={A1}**")
        assert sorted(hit_ids(pg)) == sorted(r.id for r in standard_rows() if r.story == A1)
        chip = pg.locator(".chips .chip")
        assert chip.count() == 1 and f"Story: {A1}" in chip.inner_text()
        pg.screenshot(path=str(ARTIFACTS / "story-filter.png"), full_page=True)
        chip.click()
        pg.wait_for_load_state()
        assert "story=" not in pg.url
    finally:
        context.close()
    assert problems == []
