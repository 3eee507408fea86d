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


def test_coverage_chart_switches_and_splits(page):
    page.goto("/?q=flood")
    chart = page.locator(".coverage-chart")
    assert chart.is_visible() and page.locator(".coverage-chart polyline").count() == 1
    controls = page.get_by_role("navigation", name="Coverage chart")
    controls.get_by_text("share of all").click()
    page.wait_for_url("**chart=share**")
    assert "as a share of all articles" in page.locator("#coverage-title").inner_text()
    assert page.locator(".coverage-chart .axis-label").first.text_content() == "100.0%"
    controls = page.get_by_role("navigation", name="Coverage chart")
    controls.get_by_text("one line per outlet").click()
    page.wait_for_url("**by=outlet**")
    assert page.locator(".coverage-chart polyline").count() == 3
    legend = page.locator(".legend li").all_inner_texts()
    assert [t.split(" (")[0] for t in legend] == ["Alpha", "Beta", "Gamma"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "coverage-by-outlet.png"), full_page=True)
    with page.expect_download() as got:
        page.get_by_role("navigation", name="Coverage chart").get_by_text("CSV").click()
    text = Path(got.value.path()).read_text(encoding="utf-8")
    assert text.startswith("period,series,count,total,share")
    assert "2022-01-01,Alpha,1,1,1.000000" in text


def test_compare_two_searches_from_the_form(page):
    page.goto("/compare")
    page.get_by_label("Search 1", exact=True).fill("flood")
    page.get_by_label("Search 2", exact=True).fill("markets")
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url("**q=markets**")
    assert page.locator(".comparison .coverage-chart polyline").count() == 2
    totals = page.locator(".totals li").all_inner_texts()
    assert totals[0].startswith("flood: 5 articles") and totals[1].startswith("markets: 3")
    columns = page.locator(".side-by-side .columns").first.locator(".col-head")
    assert columns.count() == 2
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "compare.png"), full_page=True)
    # the view is its URL: share by year, reloaded as is
    page.get_by_role("navigation", name="Comparison chart").get_by_text("share of all").click()
    page.wait_for_url("**chart=share**")
    page.get_by_role("navigation", name="Comparison chart").get_by_text("year").click()
    page.wait_for_url("**interval=year**")
    url = page.url
    page.goto(url)
    assert "as a share of all articles" in page.locator(".coverage-chart").get_attribute("aria-label")
    page.locator(".totals a", has_text="flood").click()
    page.wait_for_url("**/?q=flood**")


def test_top_words_are_links_that_narrow_the_search(page):
    page.goto("/?q=flood")
    page.get_by_text("Show the words that set these matches apart").click()
    page.wait_for_url("**words=1**")
    words = page.locator(".top-words li a")
    assert words.count() >= 1
    first = words.first.inner_text()
    assert "JLH" in page.locator(".top-words .note").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "top-words.png"), full_page=True)
    words.first.click()
    page.wait_for_load_state()
    assert page.locator("#q").input_value() == f"flood {first}"
    assert page.locator(".top-words").count() == 1  # still shown: words=1 kept
