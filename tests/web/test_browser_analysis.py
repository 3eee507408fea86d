"""The coverage chart in a real browser: counts and shares, one line per outlet, CSV."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import write_articles_index
from tests.query.test_analysis import ARTICLES
from tests.web.conftest import ARTIFACTS
from tests.web.conftest import serving

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    with serving(write_articles_index(ARTICLES, tmp_path_factory.mktemp("dated_browser"))) as url:
        yield url


def test_coverage_chart_switches_and_splits(browser, base_url):
    problems = []
    context = browser.new_context(base_url=base_url, viewport={"width": 1200, "height": 900},
                                  accept_downloads=True)
    pg = context.new_page()
    pg.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: problems.append(str(e)))
    pg.set_default_timeout(5000)
    try:
        pg.goto("/?q=flood")
        chart = pg.locator(".coverage-chart")
        assert chart.is_visible() and pg.locator(".coverage-chart polyline").count() == 1
        controls = pg.get_by_role("navigation", name="Coverage chart")
        controls.get_by_text("share of all").click()
        pg.wait_for_url("**chart=share**")
        assert "as a share of all articles" in pg.locator("#coverage-title").inner_text()
        assert pg.locator(".coverage-chart .axis-label").first.text_content() == "100.0%"
        controls = pg.get_by_role("navigation", name="Coverage chart")
        controls.get_by_text("one line per outlet").click()
        pg.wait_for_url("**by=outlet**")
        assert pg.locator(".coverage-chart polyline").count() == 3
        legend = pg.locator(".legend li").all_inner_texts()
        assert [t.split(" (")[0] for t in legend] == ["Alpha", "Beta", "Gamma"]
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / "coverage-by-outlet.png"), full_page=True)
        with pg.expect_download() as got:
            pg.get_by_role("navigation", name="Coverage chart").get_by_text("CSV").click()
        text = Path(got.value.path()).read_text(encoding="utf-8")
        assert text.startswith("period,series,count,total,share")
        assert "2022-01-01,Alpha,1,1,1.000000" in text
    finally:
        context.close()
    assert problems == []


def test_compare_two_searches_from_the_form(browser, base_url):
    problems = []
    context = browser.new_context(base_url=base_url, viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    pg.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: problems.append(str(e)))
    pg.set_default_timeout(5000)
    try:
        pg.goto("/compare")
        pg.get_by_label("Search 1", exact=True).fill("flood")
        pg.get_by_label("Search 2", exact=True).fill("markets")
        pg.get_by_role("button", name="Compare").click()
        pg.wait_for_url("**q=markets**")
        assert pg.locator(".comparison .coverage-chart polyline").count() == 2
        totals = pg.locator(".totals li").all_inner_texts()
        assert totals[0].startswith("flood: 5 articles") and totals[1].startswith("markets: 3")
        columns = pg.locator(".side-by-side .columns").first.locator(".col-head")
        assert columns.count() == 2
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / "compare.png"), full_page=True)
        # the view is its URL: share by year, reloaded as is
        pg.get_by_role("navigation", name="Comparison chart").get_by_text("share of all").click()
        pg.wait_for_url("**chart=share**")
        pg.get_by_role("navigation", name="Comparison chart").get_by_text("year").click()
        pg.wait_for_url("**interval=year**")
        url = pg.url
        pg.goto(url)
        assert "as a share of all articles" in pg.locator(".coverage-chart").get_attribute("aria-label")
        pg.locator(".totals a", has_text="flood").click()
        pg.wait_for_url("**/?q=flood**")
    finally:
        context.close()
    assert problems == []


def test_top_words_are_links_that_narrow_the_search(browser, base_url):
    problems = []
    context = browser.new_context(base_url=base_url, viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    pg.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: problems.append(str(e)))
    pg.set_default_timeout(5000)
    try:
        pg.goto("/?q=flood")
        pg.get_by_text("Show the words that set these matches apart").click()
        pg.wait_for_url("**words=1**")
        words = pg.locator(".top-words li a")
        assert words.count() >= 1
        first = words.first.inner_text()
        assert "JLH" in pg.locator(".top-words .note").inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / "top-words.png"), full_page=True)
        words.first.click()
        pg.wait_for_load_state()
        assert pg.locator("#q").input_value() == f"flood {first}"
        assert pg.locator(".top-words").count() == 1  # still shown: words=1 kept
    finally:
        context.close()
    assert problems == []
