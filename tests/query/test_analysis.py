"""Coverage over time on a hand-built dated index where every figure is known."""

from __future__ import annotations

from datetime import datetime
from datetime import timezone

import pytest

from search.errors import QueryError
from search.models import Article
from search.models import SearchRequest
from search.query import analysis
from tests.conftest import write_articles_index


def _at(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def _article(n: int, outlet: str, when, title: str, body: str) -> Article:
    return Article(id=f"b{n:015d}", source=f"dated/{n}.txt", record=None, title=title,
                   body=body, outlet=outlet, published=when, lang="en")


# (outlet, published, mentions a flood?) — figures below are counted from this table
ROWS = [
    ("Alpha", _at(2021, 12, 31, 23, 59, 59), True),   # Friday, ISO 2021-W52
    ("Alpha", _at(2022, 1, 1, 0, 0, 0), True),        # Saturday midnight, 2021-W52
    ("Beta", _at(2022, 1, 2, 12, 0), False),          # Sunday, 2021-W52
    ("Beta", _at(2022, 1, 3, 0, 0, 0), True),         # Monday midnight, 2022-W01
    ("Alpha", _at(2022, 1, 3, 23, 59, 59), False),    # 2022-W01
    ("Gamma", _at(2022, 3, 15, 9, 0), True),          # March; February has no article
    ("Beta", None, True),                              # undated
    ("Gamma", None, False),                            # undated
]
ARTICLES = [_article(i, outlet, when, f"Report {i}",
                     ("The river flood reached the town. " if flood else "Markets were calm. ")
                     + "Officials spoke on Monday.")
            for i, (outlet, when, flood) in enumerate(ROWS)]


@pytest.fixture(scope="module")
def dated_index(tmp_path_factory):
    return write_articles_index(ARTICLES, tmp_path_factory.mktemp("dated"))


def points(tl, label="all"):
    series = next(s for s in tl.series if s.label == label)
    return [(p.period, p.count, p.total) for p in series.points]


def test_days_at_midnight_utc(dated_index):
    tl = analysis.timeline(dated_index, SearchRequest(q="flood"), "day")
    pts = points(tl)
    assert pts[0] == ("2021-12-31", 1, 1) and pts[1] == ("2022-01-01", 1, 1)
    assert pts[2] == ("2022-01-02", 0, 1) and pts[3] == ("2022-01-03", 1, 2)
    assert pts[-1] == ("2022-03-15", 1, 1)
    assert len(pts) == (datetime(2022, 3, 15) - datetime(2021, 12, 31)).days + 1
    assert all(c == n == 0 for p, c, n in pts if p.startswith("2022-02"))  # zeros listed
    assert tl.undated == 1 and tl.total == 5
    day3 = next(p for p in tl.series[0].points if p.period == "2022-01-03")
    assert day3.share == 0.5 and tl.series[0].points[2].share == 0.0


def test_iso_weeks_across_the_year_boundary(dated_index):
    tl = analysis.timeline(dated_index, SearchRequest(q="flood"), "week")
    pts = points(tl)
    assert pts[0] == ("2021-W52", 2, 3)  # Fri, Sat, Sun: 2 of 3 mention the flood
    assert pts[1] == ("2022-W01", 1, 2)
    assert pts[-1] == ("2022-W11", 1, 1)  # 15 March 2022
    assert [p for p, _, _ in pts] == ["2021-W52"] + [f"2022-W{w:02d}" for w in range(1, 12)]


def test_months_years_and_an_empty_share(dated_index):
    tl = analysis.timeline(dated_index, SearchRequest(q="flood"), "month")
    assert points(tl) == [("2021-12", 1, 1), ("2022-01", 2, 4), ("2022-02", 0, 0),
                          ("2022-03", 1, 1)]
    feb = tl.series[0].points[2]
    assert feb.share is None and feb.to_json()["share"] is None
    assert points(analysis.timeline(dated_index, SearchRequest(q="flood"), "year")) == [
        ("2021", 1, 1), ("2022", 3, 5)]


def test_by_outlet_totals_are_each_outlets_articles(dated_index):
    tl = analysis.timeline(dated_index, SearchRequest(q="flood"), "month", by="outlet")
    labels = [s.label for s in tl.series]
    assert labels == ["Alpha", "Beta", "Gamma"]  # most matches first, ties by name
    assert points(tl, "Alpha") == [("2021-12", 1, 1), ("2022-01", 1, 2), ("2022-02", 0, 0),
                                   ("2022-03", 0, 0)]
    assert points(tl, "Beta")[1] == ("2022-01", 1, 2)
    assert points(tl, "Gamma")[3] == ("2022-03", 1, 1)


def test_filters_make_the_collection(dated_index):
    tl = analysis.timeline(dated_index, SearchRequest(q="flood", filters={"outlet": ("Beta",)}),
                           "month")
    assert points(tl) == [("2022-01", 1, 2)]  # Beta's dated articles span one month
    assert tl.undated == 1
    browse = analysis.timeline(dated_index, SearchRequest(q=""), "year")
    assert all(p.share == 1.0 for p in browse.series[0].points)


def test_bad_interval_by_or_too_many_points_is_a_clear_error(dated_index, monkeypatch):
    with pytest.raises(QueryError, match="interval must be one of"):
        analysis.timeline(dated_index, SearchRequest(q="flood"), "hour")
    with pytest.raises(QueryError, match="by must be outlet"):
        analysis.timeline(dated_index, SearchRequest(q="flood"), "day", by="lang")
    monkeypatch.setattr(analysis, "MAX_POINTS", 10)
    with pytest.raises(QueryError, match="interval=month"):  # weeks: 12 points, still too many
        analysis.timeline(dated_index, SearchRequest(q="flood"), "day")
    with pytest.raises(QueryError):
        analysis.timeline(dated_index, SearchRequest(q='"unclosed'), "day", by="nope")
