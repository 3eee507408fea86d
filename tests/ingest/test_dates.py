"""parse_date: every shape real exports use, and garbage."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import pytest

from search.ingest.enrich.dates import parse_date

UTC = timezone.utc


@pytest.mark.parametrize("value, expected", [
    ("2022-06-16", datetime(2022, 6, 16, tzinfo=UTC)),
    ("2022-06-16T23:59:30", datetime(2022, 6, 16, 23, 59, 30, tzinfo=UTC)),
    ("2022-06-16T23:59:30Z", datetime(2022, 6, 16, 23, 59, 30, tzinfo=UTC)),
    ("2022-06-16T23:59:30+02:00", datetime(2022, 6, 16, 21, 59, 30, tzinfo=UTC)),
    ("2022-06-16T01:00:00-0500", datetime(2022, 6, 16, 6, 0, tzinfo=UTC)),
    ("2022-06-16T10:00:00.123456Z", datetime(2022, 6, 16, 10, 0, 0, 123456, tzinfo=UTC)),
    ("2015-08-08 06:30:06", datetime(2015, 8, 8, 6, 30, 6, tzinfo=UTC)),
    ("  2015-08-08 06:30  ", datetime(2015, 8, 8, 6, 30, tzinfo=UTC)),
    ("20220616", datetime(2022, 6, 16, tzinfo=UTC)),
    ("Tue, 15 Nov 1994 08:12:31 GMT", datetime(1994, 11, 15, 8, 12, 31, tzinfo=UTC)),
    ("Thu, 16 Jun 2022 10:00:00 +0300", datetime(2022, 6, 16, 7, 0, tzinfo=UTC)),
    (1508457600.0, datetime(2017, 10, 20, tzinfo=UTC)),
    (1508457600, datetime(2017, 10, 20, tzinfo=UTC)),
    ("1508457600", datetime(2017, 10, 20, tzinfo=UTC)),
    (1508457600123, datetime(2017, 10, 20, 0, 0, 0, 123000, tzinfo=UTC)),  # milliseconds
    (0, datetime(1970, 1, 1, tzinfo=UTC)),
    (-1086894000.0, datetime(1935, 7, 24, 5, 0, tzinfo=UTC)),  # odd, but after 1800
    (datetime(2020, 1, 1, 12), datetime(2020, 1, 1, 12, tzinfo=UTC)),
    (datetime(2020, 1, 1, 12, tzinfo=timezone(timedelta(hours=-3))),
     datetime(2020, 1, 1, 15, tzinfo=UTC)),
    (date(2020, 2, 29), datetime(2020, 2, 29, tzinfo=UTC)),
    ("1800-01-01", datetime(1800, 1, 1, tzinfo=UTC)),
    # implausible or not a date
    ("1799-12-31", None),
    (-62106825600.0, None),  # the year 1 (fakenewsnet)
    ("2999-01-01", None),
    (4102444800, None),  # 2100
    ("2022-02-30", None),
    ("2022-13-01", None),
    ("yesterday", None),
    ("", None),
    ("   ", None),
    (None, None),
    (True, None),
    (float("nan"), None),
    (float("inf"), None),
    (1e300, None),
    ("9" * 400, None),
    ([2020, 1, 1], None),
    ({"date": "2020-01-01"}, None),
    ("Mon, 99 Foo 2022 99:99:99", None),
])
def test_parse_date(value, expected):
    got = parse_date(value)
    assert got == expected
    if got is not None:
        assert got.tzinfo is not None and got.utcoffset() == timedelta(0)


def test_tomorrow_is_plausible_but_next_week_is_not():
    now = datetime.now(UTC)
    assert parse_date((now + timedelta(hours=12)).isoformat()) is not None
    assert parse_date((now + timedelta(days=7)).isoformat()) is None
