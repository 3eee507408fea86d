"""Compare queries: the JSON, the page, the errors (DESIGN.md, Analysis)."""

from __future__ import annotations

import pytest

from tests.conftest import write_articles_index
from tests.query.test_analysis import ARTICLES
from web import create_app


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    index_dir = write_articles_index(ARTICLES, tmp_path_factory.mktemp("compare"))
    return create_app({"INDEX": str(index_dir), "TESTING": True}).test_client()


def test_api_compare_gives_each_query_on_the_same_periods(client):
    out = client.get("/api/compare?q=flood&q=markets&interval=month").get_json()
    assert out["ok"] is True and out["interval"] == "month"
    flood, markets = out["queries"]
    assert (flood["q"], flood["total"], markets["q"], markets["total"]) == ("flood", 5, "markets", 3)
    assert [p["period"] for p in flood["points"]] == [p["period"] for p in markets["points"]] == [
        "2021-12", "2022-01", "2022-02", "2022-03"]
    jan = [p for p in flood["points"] if p["period"] == "2022-01"][0]
    assert (jan["count"], jan["total"]) == (2, 4)
    assert {v["value"] for v in markets["facets"]["outlet"]} == {"Beta", "Alpha", "Gamma"}
    assert set(flood["facets"]) == {"outlet", "lang", "person", "org", "place"}


def test_filters_apply_to_every_query(client):
    out = client.get("/api/compare?q=flood&q=markets&outlet=Alpha&interval=year").get_json()
    assert [q["total"] for q in out["queries"]] == [2, 1]


@pytest.mark.parametrize("query, words", [
    ("q=flood", "2 to 5 queries"),
    ("q=a&q=b&q=c&q=d&q=e&q=f", "2 to 5 queries"),
    ("q=flood&q=%22unclosed&from=2022-13-01", "from"),
    ("q=flood&q=markets&interval=hour", "interval must be one of"),
])
def test_bad_comparisons_are_a_400_naming_the_problem(client, query, words):
    r = client.get("/api/compare?" + query)
    assert r.status_code == 400 and words in r.get_json()["error"]


def test_the_compare_page(client):
    empty = client.get("/compare").get_data(as_text=True)
    assert "Compare searches" in empty and empty.count('name="q"') == 3
    text = client.get("/compare?q=flood&q=markets&chart=share").get_data(as_text=True)
    assert text.count("<polyline") == 2 and "as a share of all articles" in text
    assert 'href="/?q=flood"' in text and "5 articles" in text
    assert client.get("/compare?q=a&q=b&q=c&q=d&q=e&q=f").status_code == 400
