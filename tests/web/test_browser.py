"""The web UI in a real browser: Playwright driving Debian's Chromium, mouse and keyboard.

The app runs under werkzeug's threaded server on 127.0.0.1 and a free port, over a
real index on disk: HANDMADE plus 30 BBC politics articles (real texts), dated by
their position and given the people their text names (a fixed table, no NER), so
facets have counts worth clicking. Expected numbers are read from the data or from
the page itself before each click, never typed in.
"""

from __future__ import annotations

import re
import tarfile
from datetime import datetime
from datetime import timezone

import pytest

from search.models import Article
from search.models import Entities
from tests.conftest import CORPORA
from tests.conftest import HANDMADE
from tests.conftest import write_articles_index
from tests.web.conftest import ARTIFACTS
from tests.web.conftest import serving

pytestmark = pytest.mark.browser

# Surname in the text -> the person facet value (a stand-in for NER, fixed and visible).
PEOPLE = {"Blair": "Tony Blair", "Brown": "Gordon Brown", "Howard": "Michael Howard",
          "Kennedy": "Charles Kennedy", "Bush": "George Bush", "Straw": "Jack Straw"}


def bbc_politics(n: int) -> list[Article]:
    out = []
    with tarfile.open(CORPORA / "bbc-news" / "bbc-fulltext.tar.gz") as tar:
        members = sorted((m for m in tar.getmembers()
                          if m.isfile() and m.name.startswith("bbc/politics/")),
                         key=lambda m: m.name)
        for i, m in enumerate(members[:n]):
            title, _, body = tar.extractfile(m).read().decode("utf-8").strip().partition("\n")
            people = tuple(sorted({v for k, v in PEOPLE.items() if k in body}))
            out.append(Article(id=f"b{i:015x}", source=m.name, record=None, title=title.strip(),
                               body=body.strip(), outlet="BBC", lang="en",
                               published=datetime(2005, 1 + i % 6, 1 + i, 12, tzinfo=timezone.utc),
                               entities=Entities(person=people)))
    return out


@pytest.fixture(scope="module")
def articles() -> list[Article]:
    return HANDMADE + bbc_politics(30)


@pytest.fixture(scope="module")
def base_url(articles, tmp_path_factory):
    index_dir = write_articles_index(articles, tmp_path_factory.mktemp("browser_index"))
    with serving(index_dir) as url:
        yield url


def total(pg) -> int:
    text = pg.locator("#results-title").inner_text()
    if text.startswith("No articles"):
        return 0
    return int(re.match(r"([\d,]+)", text)[1].replace(",", ""))


def facet_count(pg, name: str, value: str) -> int:
    link = pg.locator(f"section[aria-labelledby=facet-{name}] li a", has_text=value).first
    return int(link.locator(".count").inner_text())


def chips(pg) -> list[str]:
    return [c.strip().rstrip("✖").strip() for c in pg.locator(".chips .chip").all_inner_texts()]


def tab_to(pg, selector: str, limit: int = 150) -> None:
    """Press Tab until the focused element matches ``selector`` (proves it is reachable)."""
    for _ in range(limit):
        pg.keyboard.press("Tab")
        if pg.evaluate("s => document.activeElement?.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_search_facets_chips_pages_article_with_the_mouse(page, articles):
    pg = page
    pg.goto("/")
    pg.get_by_label("Search the news").fill("said")
    pg.get_by_role("button", name="Search").click()
    pg.wait_for_url(re.compile(r"q=said"))
    said = [a for a in articles if re.search(r"\bsaid\b", (a.title + " " + a.body).lower())]
    assert total(pg) == len(said) > 10
    assert pg.get_by_label("Search the news").input_value() == "said"
    assert pg.locator(".hits > li").count() == 10
    assert pg.locator(".snippet mark").count() >= 5
    assert pg.locator(".snippet mark").first.inner_text().lower() == "said"

    # outlet facet: results and counts change, a chip appears
    bbc = facet_count(pg, "outlet", "BBC")
    assert bbc == sum(a.outlet == "BBC" for a in said) < total(pg)
    pg.locator("section[aria-labelledby=facet-outlet] a", has_text="BBC").click()
    pg.wait_for_url(re.compile(r"outlet=BBC"))
    assert total(pg) == bbc and chips(pg) == ["Outlet: BBC"]
    assert set(pg.locator(".hit .outlet").all_inner_texts()) == {"BBC"}

    # person facet, AND with the outlet
    person = pg.locator("section[aria-labelledby=facet-person] li a").first
    name = person.locator(".value").inner_text()
    count = int(person.locator(".count").inner_text())
    assert count == sum(a.outlet == "BBC" and name in a.entities.person for a in said)
    person.click()
    pg.wait_for_url(re.compile(r"person="))
    assert total(pg) == count and chips(pg) == ["Outlet: BBC", f"People: {name}"]
    # disjunctive: the person facet still offers the other people with their counts
    assert facet_count(pg, "person", name) == count

    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / "results.png"), full_page=True)
    pg.set_viewport_size({"width": 390, "height": 844})
    pg.screenshot(path=str(ARTIFACTS / "results-phone.png"))
    pg.set_viewport_size({"width": 1200, "height": 900})

    # remove the person chip: back to the BBC results
    pg.get_by_role("link", name=f"Remove filter People: {name}").first.click()
    pg.wait_for_url(lambda u: "person=" not in u)
    assert total(pg) == bbc and chips(pg) == ["Outlet: BBC"]
    pg.get_by_role("link", name="Clear all filters").click()
    pg.wait_for_url(lambda u: "outlet=" not in u)
    assert total(pg) == len(said) and chips(pg) == []

    # page 2, and the back button restores page 1
    first_page = pg.locator(".hit h2 a").all_inner_texts()
    pg.get_by_role("link", name="Next →").click()
    pg.wait_for_url(re.compile(r"page=2"))
    assert pg.locator(".pagination [aria-current=page]").inner_text() == "2"
    second_page = pg.locator(".hit h2 a").all_inner_texts()
    assert second_page and not set(second_page) & set(first_page)
    pg.go_back()
    assert pg.locator(".hit h2 a").all_inner_texts() == first_page

    # open an article: its matches are marked, its people link to filtered searches
    headline = pg.locator(".hit h2 a").first
    title = headline.inner_text()
    headline.click()
    pg.wait_for_url(re.compile(r"/article/[0-9a-f]{16}\?q=said"))
    assert pg.locator("h1").inner_text() == title
    assert pg.locator(".body mark").count() >= 1


def test_date_chart_and_range_with_the_mouse(page, articles):
    pg = page
    pg.goto("/")
    bars = pg.locator("svg.chart a.bar")
    labels = [bars.nth(i).get_attribute("aria-label") for i in range(bars.count())]
    years = sorted({str(a.published.year) for a in articles if a.published})
    assert [lab.split(":")[0] for lab in labels] == years  # chronological
    i = years.index("2005")
    expected = sum(1 for a in articles if a.published and a.published.year == 2005)
    assert labels[i] == f"2005: {expected} articles"
    bars.nth(i).click()
    pg.wait_for_url(re.compile(r"year=2005"))
    assert total(pg) == expected and chips(pg) == ["Year: 2005"]
    # within one year the chart is drawn by month; a month bar narrows again
    month_bar = pg.locator("svg.chart a.bar").first
    month, n = re.match(r"(\d{4}-\d{2}): (\d+)", month_bar.get_attribute("aria-label")).groups()
    month_bar.click()
    pg.wait_for_url(re.compile(f"month={month}"))
    assert total(pg) == int(n) == sum(
        1 for a in articles if a.published and a.published.strftime("%Y-%m") == month)
    # the from/to form keeps the other filters
    pg.goto("/?q=airport")
    pg.get_by_label("From", exact=True).fill("2022-06-17")
    pg.get_by_label("To", exact=True).fill("2022-06-17")
    pg.get_by_role("button", name="Apply dates").click()
    pg.wait_for_url(re.compile(r"from=2022-06-17"))
    assert "q=airport" in pg.url and total(pg) == 1
    assert chips(pg) == ["From: 2022-06-17", "To: 2022-06-17"]


def test_everything_with_the_keyboard(page, articles):
    pg = page
    pg.goto("/")
    pg.keyboard.press("Tab")
    assert pg.evaluate("document.activeElement.textContent") == "Skip to results"
    # focus is visible
    assert pg.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    tab_to(pg, "#q")
    pg.keyboard.type("said")
    pg.keyboard.press("Enter")
    pg.wait_for_url(re.compile(r"q=said"))
    everything = total(pg)

    tab_to(pg, "section[aria-labelledby=facet-outlet] a[aria-label^='Filter by Outlet: BBC']")
    pg.keyboard.press("Enter")
    pg.wait_for_url(re.compile(r"outlet=BBC"))
    bbc = total(pg)
    assert bbc < everything and chips(pg) == ["Outlet: BBC"]

    tab_to(pg, "section[aria-labelledby=facet-person] li a")
    name = pg.evaluate("document.activeElement.querySelector('.value').textContent")
    count = int(pg.evaluate("document.activeElement.querySelector('.count').textContent"))
    pg.keyboard.press("Enter")
    pg.wait_for_url(re.compile(r"person="))
    assert total(pg) == count and chips(pg) == ["Outlet: BBC", f"People: {name}"]

    tab_to(pg, f".chips a[aria-label='Remove filter People: {name}']")
    pg.keyboard.press("Enter")
    pg.wait_for_url(lambda u: "person=" not in u)
    assert total(pg) == bbc

    tab_to(pg, ".pagination a[rel=next]")
    pg.keyboard.press("Enter")
    pg.wait_for_url(re.compile(r"page=2"))
    assert pg.locator(".pagination [aria-current=page]").inner_text() == "2"

    # a bar of the date chart is a link reached by Tab
    tab_to(pg, "svg.chart a.bar")
    label = pg.evaluate("document.activeElement.getAttribute('aria-label')")
    period, n = re.match(r"(\d{4}(?:-\d{2})?): (\d+)", label).groups()
    pg.keyboard.press("Enter")
    pg.wait_for_url(re.compile(f"(year|month)={period}"))
    assert total(pg) == int(n)

    tab_to(pg, ".hit h2 a")
    title = pg.evaluate("document.activeElement.textContent")
    pg.keyboard.press("Enter")
    pg.wait_for_url(re.compile(r"/article/"))
    assert pg.locator("h1").inner_text() == title
    tab_to(pg, ".entities a, .meta a.outlet")
    pg.keyboard.press("Enter")
    pg.wait_for_url(re.compile(r"/\?(person|org|place|outlet)="))
    assert total(pg) >= 1


def test_escaping_and_error_pages_in_the_browser(page, problems):
    pg = page
    pg.goto("/?q=football")
    # The article's "<script>alert('x')</script>" is text, not markup.
    assert pg.locator(".snippet").first.inner_text().count("<script>alert('x')</script>") == 1
    assert pg.locator(".hits script").count() == 0
    pg.goto("/?page=abc")
    assert "page must be a whole number" in pg.get_by_role("alert").inner_text()
    pg.goto("/article/ffffffffffffffff")
    assert pg.locator("h1").inner_text() == "Not found"
    # Chromium logs the two error statuses; nothing else may appear.
    assert [p for p in problems if "status of 400" not in p and "status of 404" not in p] == []
    problems.clear()


def test_partial_entity_counts_are_said_and_fit_a_phone(browser, tmp_path, monkeypatch, problems):
    """While articles wait for their entities, the sidebar says so beside the entity
    facets, on a phone's width without a sideways scroll; once filled in, it is gone."""
    from search import storage
    from search.query import generation
    from search.sidestore import PENDING
    from search.sidestore import SideStore

    monkeypatch.setattr(generation, "RECHECK_SECONDS", 0)
    monkeypatch.setattr(generation, "ENTITY_REBUILD_SECONDS", 0)
    articles = HANDMADE + bbc_politics(30)
    index_dir = write_articles_index(articles, tmp_path / "ix")
    waiting = [a for a in articles if a.entities.person][:12]
    store = SideStore(storage.require_current(index_dir))
    store.add_texts([(a.id, "", PENDING, None) for a in waiting])
    store.commit()
    with serving(index_dir) as url:
        context = browser.new_context(base_url=url, viewport={"width": 390, "height": 844})
        try:
            pg = context.new_page()
            pg.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            pg.set_default_timeout(5000)
            pg.goto("/?q=said")
            note = pg.locator(".sidebar .partial")
            assert note.is_visible()
            assert note.get_attribute("role") == "status"
            assert f"{len(waiting)} articles to go" in note.inner_text()
            # beside the entity facets: after the language facet, before the people
            order = pg.evaluate("""() => [...document.querySelectorAll('.sidebar > *')]
                .map(e => e.classList.contains('partial') ? 'partial' : e.getAttribute('aria-labelledby'))""")
            assert order.index("partial") < order.index("facet-person")
            assert pg.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            box = note.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390
            ARTIFACTS.mkdir(exist_ok=True)
            pg.screenshot(path=str(ARTIFACTS / "partial-facets-phone.png"), full_page=True)

            store.set_entities([(a.id, a.entities) for a in waiting])
            store.commit()
            pg.goto("/?q=said")
            assert pg.locator(".sidebar .partial").count() == 0
            assert pg.locator("section[aria-labelledby=facet-person] li").count() > 0
        finally:
            store.close()
            context.close()
    assert problems == []
