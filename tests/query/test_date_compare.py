"""``date:>``, ``date:>=``, ``date:<``, ``date:<=``: open date ranges, on a real index.

The index holds HANDMADE (June 16 23:59:30 and June 17 00:00:30, 2022, among others, and
one undated article) and MONTH_ENDS (the last second of June 2022 and of 2021, and the
first second of July 2022 and of 2022), so every boundary is tested a second either side
of midnight UTC. Partial dates round as in Elasticsearch: ``>2022-06`` is after the
whole of June, ``<=2022-06`` includes it, ``>=2022-06`` is from June 1, ``<2022-06``
before it.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from search.cli import main
from search.errors import QueryError
from search.models import SearchRequest
from search.query import service
from search.query.parse import parse

JUNE_16 = "a000000000000001"      # 2022-06-16 23:59:30
JUNE_17 = "a000000000000002"      # 2022-06-17 00:00:30
MAY_2021 = "a000000000000003"     # 2021-05-23 18:00
MARCH_2016 = "a000000000000004"   # 2016-03-01 09:30
AUGUST_2015 = "a000000000000005"  # 2015-08-09 12:00
UNDATED = "a000000000000006"
JUNE_30 = "b000000000000001"      # 2022-06-30 23:59:59
JULY_1 = "b000000000000002"       # 2022-07-01 00:00:00
DEC_31_2021 = "b000000000000003"  # 2021-12-31 23:59:59
JAN_1_2022 = "b000000000000004"   # 2022-01-01 00:00:00

BEFORE_2022 = {DEC_31_2021, MAY_2021, MARCH_2016, AUGUST_2015}
H1_2022 = {JAN_1_2022, JUNE_16, JUNE_17, JUNE_30}


def ids(index_dir, q: str) -> set[str]:
    results = service.search(index_dir, SearchRequest(q=q, page_size=100))
    assert results.total == len(results.hits)
    return {h.id for h in results.hits}


@pytest.mark.parametrize(("q", "expected"), [
    # Whole days: > is after the whole day, <= includes it.
    ("date:>2022-06-16", {JUNE_17, JUNE_30, JULY_1}),
    ("date:>=2022-06-16", {JUNE_16, JUNE_17, JUNE_30, JULY_1}),
    ("date:<2022-06-17", BEFORE_2022 | {JAN_1_2022, JUNE_16}),
    ("date:<=2022-06-16", BEFORE_2022 | {JAN_1_2022, JUNE_16}),
    ("date:>=2022-06-17", {JUNE_17, JUNE_30, JULY_1}),
    ("date:<2022-06-16", BEFORE_2022 | {JAN_1_2022}),
    ("date:<=2022-06-30", BEFORE_2022 | H1_2022),
    ("date:>2022-06-30", {JULY_1}),
    ("date:>=2022-07-01", {JULY_1}),
    ("date:<2022-07-01", BEFORE_2022 | H1_2022),
])
def test_each_operator_on_whole_days(month_ends_index, q, expected):
    assert ids(month_ends_index, q) == expected


@pytest.mark.parametrize(("q", "expected"), [
    # Months: > after the whole month, >= from its first day, < before it, <= through it.
    ("date:>2022-06", {JULY_1}),
    ("date:>=2022-06", {JUNE_16, JUNE_17, JUNE_30, JULY_1}),
    ("date:<2022-06", BEFORE_2022 | {JAN_1_2022}),
    ("date:<=2022-06", BEFORE_2022 | H1_2022),
    ("date:<2022-07", BEFORE_2022 | H1_2022),
    ("date:<=2022-6", BEFORE_2022 | H1_2022),  # a one-digit month is the same month
    ("date:>2021-12", H1_2022 | {JULY_1}),      # December rounds up into the next year
    # Years.
    ("date:>2021", H1_2022 | {JULY_1}),
    ("date:>=2022", H1_2022 | {JULY_1}),
    ("date:<2022", BEFORE_2022),
    ("date:<=2021", BEFORE_2022),
    ("date:>2022", set()),
])
def test_partial_dates_round_as_elasticsearch_does(month_ends_index, q, expected):
    assert ids(month_ends_index, q) == expected


@pytest.mark.parametrize(("q", "expected"), [
    ("date:>=2022-01-01 date:<2022-07", H1_2022),                    # implicit AND
    ("date:>2022-06-16 OR date:<2016", {JUNE_17, JUNE_30, JULY_1, AUGUST_2015}),
    ("(date:<2016 OR date:>2022-06-30) AND NOT outlet:bbc", {AUGUST_2015, JULY_1}),
    ("damascus -date:<2022-06-17", {JUNE_17, UNDATED}),                 # NOT keeps undated
    ("published:>2022-06-16 damascus", {JUNE_17}),                      # the field's own name
    ("ceasefire date:<=2022-06", {JUNE_30}),
    ("date:[2022-06-16 TO 2022-06-30] date:>2022-06-16", {JUNE_17, JUNE_30}),
])
def test_comparisons_combine_with_the_rest_of_the_language(month_ends_index, q, expected):
    assert ids(month_ends_index, q) == expected


def test_undated_articles_match_no_comparison(month_ends_index):
    assert UNDATED not in ids(month_ends_index, "date:<2100") | ids(month_ends_index,
                                                                   "date:>1900")


@pytest.mark.parametrize(("q", "named"), [
    ("date:>notadate", "'notadate'"),
    ("date:>=2022-13", "'2022-13' is not a real date"),
    ("date:<2022-02-30", "'2022-02-30' is not a real date"),
    ("date:<=22-06-01", "'22-06-01'"),
    ("date:=>2022", "'=>2022'"),
    ("date:>>2022", "'>2022'"),
    ("date:>", "date:> needs a date right after it, as in date:>2022-01-01"),
    ("damascus date:<=", "date:<= needs a date"),
])
def test_bad_dates_say_which_and_how_to_write_them(q, named):
    with pytest.raises(QueryError) as e:
        parse(q)
    message = str(e.value)
    assert named in message
    assert "date:>=2022-01-01" in message  # how to write one
    assert "Traceback" not in message


def test_other_fields_are_not_compared():
    # Only the date field takes < and >: title:>x stays a word search, as before.
    assert str(parse("title:>airport").query) == "title:airport"


def test_through_the_cli_and_its_json(month_ends_index):
    result = CliRunner().invoke(main, ["search", "date:>2022-06", "--json",
                                       "--index", str(month_ends_index)])
    assert result.exit_code == 0, result.output
    assert [h["id"] for h in json.loads(result.stdout)["hits"]] == [JULY_1]
    bad = CliRunner().invoke(main, ["search", "date:>June", "--json",
                                    "--index", str(month_ends_index)])
    assert bad.exit_code == 2
    assert json.loads(bad.stdout)["status"] == 400
    assert "'June'" in json.loads(bad.stdout)["error"]


@pytest.mark.parametrize(("q", "same_as"), [
    ("date:2022-6", "date:2022-06"),
    ("date:2022-6-16", "date:2022-06-16"),
    ("date:[2022-6-1 TO 2022-6-30]", "date:[2022-06-01 TO 2022-06-30]"),
    ("date:>=2022-1-1", "date:>=2022-01-01"),
])
def test_one_digit_months_and_days_are_read_as_written(month_ends_index, q, same_as):
    # Whoosh's DATETIME reads digits by position: unpadded, date:2022-6 was all of 2022.
    assert ids(month_ends_index, q) == ids(month_ends_index, same_as)
    assert ids(month_ends_index, q)
