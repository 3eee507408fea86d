"""Coverage over time: how many matching articles each period holds, and what share of
all the articles of that period they are (DESIGN.md, Analysis).

Raw counts follow how many articles the archive holds; the share does not. ``total`` is
the articles of the period that pass every filter of the request but not its query (the
collection the query is asked of); with ``by="outlet"``, that outlet's articles of the
period. Periods are UTC: days ``2022-06-16``, ISO weeks ``2022-W24``, months
``2022-06``, years ``2022``; every period from the collection's first dated article to
its last is listed, zeros included. Matching articles without a date are counted apart
(``undated``).

Everything is array arithmetic over the generation's facet tables: a timeline costs one
evaluation of the query (as a search does) and a few ``bincount`` calls.

>>> [label(c, "week") for c in period_codes(np.array([_us(2021, 12, 31), _us(2022, 1, 3)]), "week")]
['2021-W52', '2022-W01']
>>> [label(c, "month") for c in period_codes(np.array([_us(2022, 6, 16)]), "month")]
['2022-06']
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

import numpy as np

from search.config import DEFAULT_SETTINGS
from search.config import Settings
from search.errors import QueryError
from search.models import SearchRequest
from search.query import budget
from search.query.generation import use as _use
from search.schema import OUTLET

INTERVALS = ("day", "week", "month", "year")
# A chart of more points than this is unreadable, and the answer too large: ask for a
# coarser interval.
MAX_POINTS = 1000
# ``by=outlet`` draws this many outlets (the most matches) and "other".
TIMELINE_OUTLETS = 10
_DAY_US = 86_400_000_000  # Whoosh stores a datetime as microseconds since 0001-01-01
_EPOCH_DAYS = date(1970, 1, 1).toordinal() - 1  # 0001-01-01 -> 1970-01-01, in days


def _us(*ymd) -> int:
    """Microseconds since 0001-01-01 of a UTC date (Whoosh's stored form; for examples)."""
    return (date(*ymd).toordinal() - 1) * _DAY_US


def period_codes(published: np.ndarray, interval: str) -> np.ndarray:
    """An integer per timestamp (Whoosh longs, >= 0) naming its period: consecutive
    periods have consecutive codes."""
    days = published // _DAY_US  # days since 0001-01-01, a Monday
    if interval == "day":
        return days
    if interval == "week":
        return days // 7
    d64 = (days - _EPOCH_DAYS).astype("datetime64[D]")
    if interval == "month":
        return d64.astype("datetime64[M]").astype(np.int64)
    return d64.astype("datetime64[Y]").astype(np.int64)


def label(code: int, interval: str) -> str:
    """The period a code of :func:`period_codes` names, as DESIGN.md writes it."""
    if interval == "day":
        return date.fromordinal(int(code) + 1).isoformat()
    if interval == "week":
        year, week, _ = date.fromordinal(int(code) * 7 + 1).isocalendar()
        return f"{year}-W{week:02d}"
    unit = "M" if interval == "month" else "Y"
    return str(np.datetime64(int(code), unit))


@dataclass(frozen=True)
class Point:
    period: str
    count: int
    total: int

    @property
    def share(self) -> float | None:
        return self.count / self.total if self.total else None

    def to_json(self) -> dict:
        share = self.share
        return {"period": self.period, "count": self.count, "total": self.total,
                "share": round(share, 6) if share is not None else None}


@dataclass(frozen=True)
class Series:
    label: str
    points: tuple[Point, ...]

    def to_json(self) -> dict:
        return {"label": self.label, "points": [p.to_json() for p in self.points]}


@dataclass(frozen=True)
class Timeline:
    """Matching articles per period (one series, or one per outlet and ``other``)."""

    interval: str
    series: tuple[Series, ...]
    undated: int
    total: int
    took_ms: float = 0.0
    notice: str | None = None

    def to_json(self) -> dict:
        return {"ok": True, "interval": self.interval, "total": self.total,
                "undated": self.undated, "series": [s.to_json() for s in self.series],
                "notice": self.notice}


def check_interval(interval: str) -> str:
    if interval not in INTERVALS:
        raise QueryError(f"interval must be one of {', '.join(INTERVALS)}, not {interval[:20]!r}.")
    return interval


def auto_interval(span_days: int) -> str:
    """The interval a chart of ``span_days`` reads best in (tens to a few hundred points).

    >>> auto_interval(30), auto_interval(400), auto_interval(2000), auto_interval(20000)
    ('day', 'week', 'month', 'year')
    """
    if span_days <= 92:
        return "day"
    if span_days <= 730:
        return "week"
    return "month" if span_days <= 3660 else "year"


def timeline(index_dir, request: SearchRequest, interval: str | None = "month",
             by: str | None = None, settings: Settings = DEFAULT_SETTINGS) -> Timeline:
    """Matching articles per period of ``interval``, beside all articles of the period.

    :param request: the query and its filters (page, sort and collapse play no part)
    :param interval: one of :data:`INTERVALS`; ``None`` picks one from the span of the
        collection's dates (:func:`auto_interval`)
    :param by: ``"outlet"`` for one series per outlet (the :data:`TIMELINE_OUTLETS` with
        most matches, then ``"other"``); ``None`` for one series, ``"all"``
    :raises QueryError: for a query that cannot be run, a bad ``interval`` or ``by``,
        or a span of more than :data:`MAX_POINTS` periods (the message names a coarser
        interval that fits)
    """
    from search.query import service

    t0 = time.perf_counter()
    if interval is not None:
        check_interval(interval)
    if by not in (None, "", OUTLET):
        raise QueryError(f"by must be outlet (or left out), not {str(by)[:20]!r}.")
    with _use(index_dir) as gen, budget.limit(settings["QUERY_TIMEOUT"]):
        m, notices, _ = service.evaluate_request(gen, request, settings)
        t = gen.tables
        dated = t.published >= 0
        collection = m.within & dated
        matching = m.full & dated
        undated = int((m.full & ~dated).sum())
        if not collection.any():
            return Timeline(interval or "month", (), undated, m.total,
                            (time.perf_counter() - t0) * 1000, service.sentence(notices))
        if interval is None:
            days = t.published[collection] // _DAY_US
            interval = auto_interval(int(days.max() - days.min()) + 1)
        codes = period_codes(np.where(dated, t.published, 0), interval)
        lo = int(codes[collection].min())
        hi = int(codes[collection].max())
        if hi - lo + 1 > MAX_POINTS:
            coarser = next((i for i in INTERVALS[INTERVALS.index(interval) + 1:]
                            if _span(codes, collection, i, t.published) <= MAX_POINTS), "year")
            raise QueryError(f"interval {interval} gives {hi - lo + 1:,} points over these "
                             f"articles, more than {MAX_POINTS:,}: ask for interval={coarser}, "
                             f"or narrow the dates.")
        labels = [label(c, interval) for c in range(lo, hi + 1)]
        width = hi - lo + 1

        def counts(mask: np.ndarray) -> np.ndarray:
            return np.bincount(codes[mask] - lo, minlength=width)

        if by == OUTLET:
            series = _by_outlet(t, collection, matching, counts, labels)
        else:
            series = (Series("all", _points(labels, counts(matching), counts(collection))),)
    return Timeline(interval, series, undated, m.total, (time.perf_counter() - t0) * 1000,
                    service.sentence(notices))


def _span(codes: np.ndarray, collection: np.ndarray, interval: str, published) -> int:
    c = period_codes(published[collection], interval)
    return int(c.max() - c.min() + 1)


def _points(labels: list[str], count: np.ndarray, total: np.ndarray) -> tuple[Point, ...]:
    return tuple(Point(p, int(c), int(n)) for p, c, n in zip(labels, count, total))


def _by_outlet(t, collection, matching, counts, labels) -> tuple[Series, ...]:
    outlet = t.single[OUTLET]
    values = t.values[OUTLET]
    per = np.bincount(outlet[matching & (outlet >= 0)], minlength=len(values))
    # the outlets with most matches (ties by name), then every other outlet as one
    ranked = sorted((i for i in np.flatnonzero(per)), key=lambda i: (-per[i], values[i]))
    top = ranked[:TIMELINE_OUTLETS]
    series = []
    for i in top:
        mine = outlet == i
        series.append(Series(values[i], _points(labels, counts(matching & mine),
                                                 counts(collection & mine))))
    rest = ~np.isin(outlet, top)
    if (matching & rest).any():
        series.append(Series("other", _points(labels, counts(matching & rest),
                                              counts(collection & rest))))
    return tuple(series)


def to_csv_rows(tl: Timeline):
    """``period, series, count, total, share`` rows of a timeline (header first)."""
    yield ["period", "series", "count", "total", "share"]
    for s in tl.series:
        for p in s.points:
            yield [p.period, s.label, p.count, p.total,
                   "" if p.share is None else f"{p.share:.6f}"]


MAX_COMPARE = 5


@dataclass(frozen=True)
class Compared:
    """One query of a comparison: its total, its points over time, its top facets."""

    q: str
    total: int
    points: tuple[Point, ...]
    facets: dict
    notice: str | None = None

    def to_json(self) -> dict:
        return {"q": self.q, "total": self.total,
                "points": [p.to_json() for p in self.points],
                "facets": {k: [v.to_json() for v in vs] for k, vs in self.facets.items()},
                "notice": self.notice}


@dataclass(frozen=True)
class Comparison:
    interval: str
    queries: tuple[Compared, ...]

    def to_json(self) -> dict:
        return {"ok": True, "interval": self.interval,
                "queries": [c.to_json() for c in self.queries]}


def compare(index_dir, requests: list[SearchRequest], interval: str | None = None,
            settings: Settings = DEFAULT_SETTINGS) -> Comparison:
    """2 to :data:`MAX_COMPARE` queries side by side, over the same filters: totals,
    coverage over time (the same periods for all), top outlets and entities.

    :param requests: one request per query, with the same filters
    :param interval: as :func:`timeline` (``None``: picked from the span, the same for all)
    :raises QueryError: for fewer than 2 or more than :data:`MAX_COMPARE` queries, or a
        query that cannot be run (the message names it)
    """
    from search.query import service

    if not 2 <= len(requests) <= MAX_COMPARE:
        raise QueryError(f"compare takes 2 to {MAX_COMPARE} queries (q=…&q=…), "
                         f"not {len(requests)}.")
    out = []
    for r in requests:
        try:
            tl = timeline(index_dir, r, interval, None, settings)
            res = service.search(index_dir, SearchRequest(
                q=r.q, filters=r.filters, date_from=r.date_from, date_to=r.date_to,
                page_size=0, facet_size=r.facet_size, story=r.story), settings)
        except QueryError as e:
            raise QueryError(f"Query {r.q[:60]!r}: {e}") from None
        interval = tl.interval  # the first query's pick holds for the others
        points = tl.series[0].points if tl.series else ()
        facets = {k: v for k, v in res.facets.items() if k not in ("year", "month")}
        out.append(Compared(r.q, res.total, points, facets, res.notice))
    return Comparison(interval or "month", tuple(out))
