"""web/args.py and web/present.py: request arguments <-> SearchRequest, toggle URLs, chart bars."""

from __future__ import annotations

from datetime import datetime
from datetime import timezone
from urllib.parse import parse_qsl
from urllib.parse import urlsplit

import pytest

from search.config import DEFAULTS
from search.errors import QueryError
from search.models import FacetValue
from web import args
from web import present


def req(qs: str, **settings):
    return args.to_request(parse_qsl(qs, keep_blank_values=True), {**DEFAULTS, **settings})


def test_full_request():
    r = req("q=+gaza+strike+&page=2&sort=newest&outlet=BBC&outlet=Reuters&lang=en"
            "&person=Dennis+Ross&org=Hezbollah&place=Syria&year=2022&month=2022-06"
            "&from=2022-01-01&to=2022-06-30&more=person&utm_source=x&_facet=foo")
    assert r.q == "gaza strike"
    assert r.page == 2 and r.sort == "newest"
    assert r.filters == {"outlet": ("BBC", "Reuters"), "lang": ("en",), "person": ("Dennis Ross",),
                         "org": ("Hezbollah",), "place": ("Syria",), "year": ("2022",),
                         "month": ("2022-06",)}
    assert (r.date_from, r.date_to) == ("2022-01-01", "2022-06-30")
    # The date chart always asks for the whole year/month lists.
    assert r.more == ("person", "year", "month")
    assert (r.page_size, r.facet_size, r.facet_more_size) == (10, 10, 100)


def test_defaults_and_settings():
    r = req("", PAGE_SIZE=5, FACET_SIZE=3)
    assert (r.q, r.page, r.sort, r.filters, r.date_from, r.date_to) == ("", 1, "relevance", {},
                                                                        None, None)
    assert (r.page_size, r.facet_size) == (5, 3)


def test_empty_values_and_duplicates_are_dropped():
    r = req("q=&outlet=&outlet=BBC&outlet=BBC&page=&sort=")
    assert r.filters == {"outlet": ("BBC",)} and r.page == 1 and r.sort == "relevance"


@pytest.mark.parametrize("qs, words", [
    ("page=abc", "page"), ("page=-1", "page"), ("page=0", "page"), ("page=1.5", "page"),
    (f"page={args.MAX_PAGE + 1}", "page"), ("page=99999999999999999999", "page"),
    ("sort=foo", "sort"), ("from=notadate", "from"), ("to=2022-13-01", "to"),
    ("from=20220101", "from"), ("from=2022-06-02&to=2022-06-01", "after"),
    ("more=nosuchfacet", "more"), ("year=22", "year"), ("month=2022-13", "month"),
    ("q=" + "x" * 10_000, "too long"), ("outlet=" + "x" * 500, "too long"),
    ("&".join(["outlet=o%d" % i for i in range(args.MAX_FILTER_VALUES + 1)]), "Too many"),
])
def test_bad_values_raise_query_error(qs, words):
    with pytest.raises(QueryError) as e:
        req(qs)
    assert e.value.status == 400
    assert words.lower() in str(e.value).lower()


def test_query_length_uses_the_setting():
    assert req("q=" + "x" * 20, MAX_QUERY_LENGTH=20).q == "x" * 20
    with pytest.raises(QueryError, match="too long"):
        req("q=" + "x" * 21, MAX_QUERY_LENGTH=20)


def state(url: str) -> tuple[str, list]:
    parts = urlsplit(url)
    return parts.path, parse_qsl(parts.query)


def test_added_and_removed_args_reset_the_page():
    pairs = [("q", "gaza"), ("page", "3"), ("outlet", "BBC")]
    assert state(args.with_added_args("/", pairs, "outlet", "AP")) == (
        "/", [("q", "gaza"), ("outlet", "BBC"), ("outlet", "AP")])
    assert state(args.with_removed_args("/", pairs, "outlet", "BBC")) == ("/", [("q", "gaza")])
    # Moving between pages keeps everything else.
    assert state(args.with_added_args("/", pairs, "page", "4")) == (
        "/", [("q", "gaza"), ("outlet", "BBC"), ("page", "4")])
    # A single-valued name is replaced, not repeated.
    after = state(args.with_added_args("/", pairs, "sort", "newest"))[1]
    assert after.count(("sort", "newest")) == 1
    assert state(args.with_added_args("/", [("sort", "oldest")], "sort", "newest")) == (
        "/", [("sort", "newest")])


def test_toggle_url_round_trips_and_escapes():
    pairs = [("q", 'a&b "c"')]
    on = args.toggle_url("/api/search", pairs, "person", "Dennis Ross & co")
    path, after = state(on)
    assert path == "/api/search" and after == [("q", 'a&b "c"'), ("person", "Dennis Ross & co")]
    assert state(args.toggle_url("/", after, "person", "Dennis Ross & co")) == ("/", pairs)


def test_remove_all_of_a_name_and_clear_all():
    pairs = [("q", "x"), ("sort", "newest"), ("outlet", "A"), ("outlet", "B"),
             ("from", "2020-01-01")]
    assert state(args.with_removed_args("/", pairs, "outlet")) == (
        "/", [("q", "x"), ("sort", "newest"), ("from", "2020-01-01")])
    assert state(args.with_only("/", pairs, ("q", "sort"))) == (
        "/", [("q", "x"), ("sort", "newest")])
    assert args.with_only("/", [("outlet", "A")], ("q",)) == "/?"


def test_active_filters_order():
    pairs = [("to", "2022-01-01"), ("person", "P"), ("q", "x"), ("outlet", "O"), ("more", "person")]
    assert args.active_filters(pairs) == [("outlet", "O"), ("person", "P"), ("to", "2022-01-01")]


def test_presentation_helpers():
    assert present.language_name("de") == "German" and present.language_name("xx") == "xx"
    assert present.show_date(datetime(2022, 6, 16, 23, 59, tzinfo=timezone.utc)) == "2022-06-16"
    assert present.show_date(None) == ""
    assert present.filter_label("lang", "ar") == "Language: Arabic"


def fv(value, count, selected=False):
    return FacetValue(value, count, selected)


def test_chart_orders_months_in_time_and_fills_gaps():
    # ordered by count, as facet values come from the service
    months = (fv("2022-06", 5), fv("2022-03", 2, True), fv("2022-04", 1))
    facet, bars = present.chart_bars(months, (fv("2022", 8),), month_complete=True)
    assert facet == "month"
    assert [(b.period, b.count, b.selected) for b in bars] == [
        ("2022-03", 2, True), ("2022-04", 1, False), ("2022-05", 0, False), ("2022-06", 5, False)]
    assert bars[3].height == present.CHART_HEIGHT and bars[3].y == 0
    assert bars[2].height == 0
    assert all(a.x < b.x for a, b in zip(bars, bars[1:]))


def test_chart_uses_years_for_long_or_truncated_spans():
    months = (fv("2010-01", 1), fv("2022-01", 1))
    years = (fv("2022", 1), fv("2010", 1))
    facet, bars = present.chart_bars(months, years, month_complete=True)
    assert facet == "year" and [b.period for b in bars][:2] == ["2010", "2011"]
    assert len(bars) == 13 and bars[1].count == 0
    facet, _ = present.chart_bars((fv("2022-01", 1),), years, month_complete=False)
    assert facet == "year"
    assert present.chart_bars((), (), True) == ("year", [])
