"""How values are shown: language names, dates, and the date chart's bars.

Pure functions, no Flask, so the chart's geometry is tested without a request.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime

from search.models import FacetValue
from search.schema import LANG
from search.schema import MONTH
from search.schema import ORG
from search.schema import OUTLET
from search.schema import PERSON
from search.schema import PLACE
from search.schema import YEAR

# A small table: codes langdetect gives for news we hold, else the code itself is shown.
LANGUAGES = {
    "en": "English", "de": "German", "ar": "Arabic", "fr": "French", "es": "Spanish",
    "it": "Italian", "nl": "Dutch", "pt": "Portuguese", "ru": "Russian", "tr": "Turkish",
    "fa": "Persian", "he": "Hebrew", "ur": "Urdu", "zh-cn": "Chinese", "ja": "Japanese",
    "sv": "Swedish", "da": "Danish", "no": "Norwegian", "pl": "Polish", "ro": "Romanian",
    "und": "Undetermined",
}
FACET_LABELS = {OUTLET: "Outlet", YEAR: "Year", MONTH: "Month", LANG: "Language",
                PERSON: "People", ORG: "Organisations", PLACE: "Places",
                "from": "From", "to": "To", "story": "Story"}

# Months are drawn while they fit; a longer span is drawn by year.
MAX_MONTH_BARS = 36
# Years are drawn with their gaps filled while the span fits; a longer one (a selected
# year far from the rest) is drawn as the years that have values, without gaps.
MAX_YEAR_BARS = 200
_YEAR = re.compile(r"[0-9]{4}", re.ASCII)
_MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])", re.ASCII)
CHART_WIDTH = 240
CHART_HEIGHT = 80


def language_name(code: str) -> str:
    """``en`` -> ``English``; an unknown code is shown as it is."""
    return LANGUAGES.get(code, code)


def show_date(dt: datetime | None) -> str:
    """``YYYY-MM-DD`` (UTC), or an empty string for an unknown date."""
    return dt.strftime("%Y-%m-%d") if dt else ""


def filter_label(name: str, value: str) -> str:
    """A chip's text: ``Language: German``, ``Outlet: BBC``."""
    shown = language_name(value) if name == LANG else value
    return f"{FACET_LABELS.get(name, name)}: {shown}"


@dataclass(frozen=True)
class Bar:
    period: str
    count: int
    selected: bool
    x: float
    y: float
    width: float
    height: float


def _month_number(period: str) -> int:
    m = _MONTH.fullmatch(period)
    return int(m.group(1)) * 12 + int(m.group(2)) - 1


def _months_between(first: str, last: str, limit: int = MAX_MONTH_BARS) -> list[str] | None:
    """Every month from ``first`` to ``last`` (``YYYY-MM``), or ``None`` when there are
    more than ``limit``: the loop is bounded by its count, never by comparing strings
    (a non-ASCII "٢٠٠٥-01" once made it run until the kernel killed the server)."""
    start, end = _month_number(first), _month_number(last)
    if end - start + 1 > limit:
        return None
    return [f"{n // 12:04d}-{n % 12 + 1:02d}" for n in range(start, end + 1)]


def chart_bars(months: tuple[FacetValue, ...], years: tuple[FacetValue, ...],
               month_complete: bool) -> tuple[str, list[Bar]]:
    """The facet (``month`` or ``year``) and bars of the date chart, oldest first.

    Facet values come ordered by count; the chart orders periods in time and fills the
    gaps with empty bars, so a quiet month shows as one. Months are used while the span
    fits :data:`MAX_MONTH_BARS` and the month list was not truncated.

    :param month_complete: False when the month facet had more values than were returned
    """
    # Only well-formed periods are drawn (ASCII digits), whatever the index or URL holds.
    months = [v for v in months if (v.count or v.selected) and _MONTH.fullmatch(v.value)]
    years = [v for v in years if (v.count or v.selected) and _YEAR.fullmatch(v.value)]
    facet, values, periods = YEAR, years, None
    if months and month_complete:
        ordered = sorted(v.value for v in months)
        periods = _months_between(ordered[0], ordered[-1])
        if periods is not None:
            facet, values = MONTH, months
    if not values:
        return facet, []
    by_period = {v.value: v for v in values}
    ordered = sorted(by_period)
    if facet == YEAR:
        first, last = int(ordered[0]), int(ordered[-1])
        periods = ([f"{y:04d}" for y in range(first, last + 1)]
                   if last - first < MAX_YEAR_BARS else ordered)
    top = max(v.count for v in values) or 1
    slot = CHART_WIDTH / len(periods)
    bars = []
    for i, period in enumerate(periods):
        v = by_period.get(period)
        count = v.count if v else 0
        # A bar of a period with articles is at least 2 units tall, so it can be seen and clicked.
        height = max(2.0, CHART_HEIGHT * count / top) if count else 0.0
        bars.append(Bar(period=period, count=count, selected=bool(v and v.selected),
                        x=round(i * slot + slot * 0.1, 2), y=round(CHART_HEIGHT - height, 2),
                        width=round(max(slot * 0.8, 1.0), 2), height=round(height, 2)))
    return facet, bars


# The story timeline: one row per outlet (the first ``TIMELINE_ROWS`` to run the story),
# a dot per article along the time from its first article to its last.
TIMELINE_ROWS = 12
TIMELINE_WIDTH, TIMELINE_ROW, TIMELINE_LABEL = 640, 22, 150


@dataclass(frozen=True)
class Dot:
    x: float
    article_id: str
    label: str


@dataclass(frozen=True)
class TimelineRow:
    outlet: str
    y: float
    dots: tuple[Dot, ...]


@dataclass(frozen=True)
class Timeline:
    rows: tuple[TimelineRow, ...]
    height: float
    start: str
    end: str
    undated: int
    more_outlets: int


def story_timeline(view) -> Timeline | None:
    """Where each dated article of a story falls in time, one row per outlet (in the
    order the outlets first ran it); ``None`` when no article has a date."""
    dated = [h for h in view.articles if h.published]
    if not dated:
        return None
    first, last = min(h.published for h in dated), max(h.published for h in dated)
    t0, t1 = first.timestamp(), last.timestamp()
    span = (t1 - t0) or 1.0
    width = TIMELINE_WIDTH - TIMELINE_LABEL - 10
    order = [o.value for o in view.outlets if o.first_published is not None]
    rows = []
    for i, outlet in enumerate(order[:TIMELINE_ROWS]):
        dots = tuple(Dot(x=round(TIMELINE_LABEL + width * ((h.published.timestamp() - t0) / span
                                                           if t1 > t0 else 0.5), 1),
                         article_id=h.id,
                         label=f"{outlet}, {h.published:%Y-%m-%d %H:%M} UTC: {h.title}")
                     for h in dated if h.outlet == outlet)
        rows.append(TimelineRow(outlet=outlet, y=TIMELINE_ROW * i + TIMELINE_ROW / 2, dots=dots))
    return Timeline(rows=tuple(rows), height=TIMELINE_ROW * len(rows) + 24,
                    start=show_date(first), end=show_date(last),
                    undated=len(view.articles) - len(dated),
                    more_outlets=max(0, len(order) - TIMELINE_ROWS))


# The coverage chart on the search page: a line per series over the periods.
COVERAGE_WIDTH, COVERAGE_HEIGHT, COVERAGE_LEFT = 640, 160, 44


@dataclass(frozen=True)
class Line:
    label: str
    css: str
    points: str  # the SVG polyline's "x,y x,y ..."
    matches: int


@dataclass(frozen=True)
class CoverageChart:
    interval: str
    share: bool
    lines: tuple[Line, ...]
    first: str
    last: str
    top: str  # the y axis's top value, as shown
    undated: int
    points: int


def coverage_chart(tl, share: bool) -> CoverageChart | None:
    """A line per series of a timeline, as counts or shares; ``None`` without dates."""
    if not tl.series or not tl.series[0].points:
        return None
    values = [[(p.share or 0.0) if share else p.count for p in s.points] for s in tl.series]
    top = max((max(v) for v in values), default=0) or 1
    n = len(tl.series[0].points)
    step = (COVERAGE_WIDTH - COVERAGE_LEFT) / max(n - 1, 1)
    lines = []
    for i, (s, v) in enumerate(zip(tl.series, values)):
        xy = " ".join(f"{COVERAGE_LEFT + (k * step if n > 1 else (COVERAGE_WIDTH - COVERAGE_LEFT) / 2):.1f},"
                      f"{COVERAGE_HEIGHT - COVERAGE_HEIGHT * y / top:.1f}" for k, y in enumerate(v))
        lines.append(Line(s.label, f"series-{i}", xy, sum(p.count for p in s.points)))
    shown_top = f"{top:.1%}" if share else f"{int(top):,}"
    return CoverageChart(tl.interval, share, tuple(lines), tl.series[0].points[0].period,
                         tl.series[0].points[-1].period, shown_top, tl.undated, n)


_TAG = re.compile(r"<[^>]+>")


def plain(snippet_html: str) -> str:
    """The text of a snippet (HTML with ``<mark>``): tags dropped, entities read back."""
    return html.unescape(_TAG.sub("", snippet_html or ""))
