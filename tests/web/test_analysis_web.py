"""Coverage over time on the web: the JSON, the CSV behind the chart, the chart itself."""

from __future__ import annotations

import csv
import io

import pytest

from tests.conftest import write_articles_index
from tests.query.test_analysis import ARTICLES
from web import create_app


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    index_dir = write_articles_index(ARTICLES, tmp_path_factory.mktemp("dated_web"))
    return create_app({"INDEX": str(index_dir), "TESTING": True}).test_client()


def test_api_timeline_is_the_contract(client):
    out = client.get("/api/timeline?q=flood&interval=month").get_json()
    assert out["ok"] is True and out["interval"] == "month" and out["undated"] == 1
    [series] = out["series"]
    assert series["label"] == "all"
    assert series["points"][1] == {"period": "2022-01", "count": 2, "total": 4, "share": 0.5}
    assert series["points"][2] == {"period": "2022-02", "count": 0, "total": 0, "share": None}
    split = client.get("/api/timeline?q=flood&interval=year&by=outlet").get_json()
    assert [s["label"] for s in split["series"]] == ["Alpha", "Beta", "Gamma"]


@pytest.mark.parametrize("query, words", [
    ("q=flood&interval=hour", "interval must be one of"),
    ("q=flood&by=lang", "by must be outlet"),
    ('q=%22unclosed&interval=fortnight', "interval"),
    ("q=flood&chart=pie", "chart must be count or share"),
])
def test_bad_parameters_are_a_400_naming_them(client, query, words):
    r = client.get("/api/timeline?" + query)
    assert r.status_code == 400 and words in r.get_json()["error"]


def test_the_csv_reads_back(client):
    r = client.get("/timeline.csv?q=flood&by=outlet&interval=month")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert {row["series"] for row in rows} == {"Alpha", "Beta", "Gamma"}
    jan = next(row for row in rows if row["series"] == "Alpha" and row["period"] == "2022-01")
    assert (jan["count"], jan["total"], jan["share"]) == ("1", "2", "0.500000")
    empty = next(row for row in rows if row["period"] == "2022-02")
    assert empty["share"] == ""


def test_the_search_page_draws_coverage(client):
    text = client.get("/?q=flood").get_data(as_text=True)
    assert 'class="coverage-chart"' in text and text.count("<polyline") == 1
    assert "Matching articles per day" in text  # 75 days of articles: by day
    assert "1 matching article has no date" in text
    split = client.get("/?q=flood&by=outlet&chart=share").get_data(as_text=True)
    assert split.count("<polyline") == 3 and "as a share of all articles" in split
    assert 'href="/timeline.csv?q=flood&amp;by=outlet&amp;interval=day"' in split
    assert 'class="coverage-chart"' not in client.get("/?q=").get_data(as_text=True)


def test_without_an_interval_the_span_picks_one(client):
    out = client.get("/api/timeline?q=flood").get_json()
    assert out["ok"] is True and out["interval"] == "day"  # 75 days of articles
