"""Request arguments <-> :class:`~search.models.SearchRequest`, and toggle URLs.

Pure functions over lists of ``(name, value)`` pairs, so they are tested without a
request. All browse state lives in the URL (STYLE.md 5): only the names in
:data:`PARAMS` are parameters, anything else is dropped; a bad value of a known name
raises :class:`~search.errors.QueryError`, which the app turns into a 400 page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from urllib.parse import urlencode

from search.errors import QueryError
from search.models import COLLAPSES
from search.models import SORTS
from search.models import SearchRequest
from search.schema import ENTITY_KINDS
from search.schema import FACETS
from search.schema import LANG
from search.schema import MONTH
from search.schema import OUTLET
from search.schema import YEAR

# Facet filters, in the order the chips show them. ``year``/``month`` come from the
# date chart.
FILTERS = (OUTLET, LANG, *ENTITY_KINDS, YEAR, MONTH)
PARAMS = ("q", "page", "sort", "from", "to", "more", "collapse", "story", "interval", "by",
          "chart", "words") + FILTERS
# One article per copy group unless asked otherwise (DESIGN.md, Stories across outlets).
DEFAULT_COLLAPSE = "copies"
# Deep pages cost the searcher ``page * page_size`` hits; nobody reads page 1,000.
MAX_PAGE = 1000
# Bounds against absurd URLs: no real selection needs more.
MAX_FILTER_VALUES = 50
MAX_VALUES_PER_FILTER = 20
MAX_VALUE_LENGTH = 200
# The date facets' range: DESIGN.md keeps no date before 1800; four digits end at 9999.
MIN_YEAR, MAX_YEAR = 1800, 9999
# The chart needs every period, not the top ten by count.
CHART_FACETS = (YEAR, MONTH)

# ASCII digits only: ``\d`` (and ``str.isdigit``) also take "٢٠٠٥" and "²", which
# ``int()`` reads differently or not at all (issue 9: one such month hung the server).
_NUMBER = re.compile(r"[0-9]{1,9}", re.ASCII)
_YEAR = re.compile(r"[0-9]{4}", re.ASCII)
_MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])", re.ASCII)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_STORY = re.compile(r"[0-9a-f]{16}", re.ASCII)

Pairs = list[tuple[str, str]]


def known_pairs(items: Iterable[tuple[str, str]]) -> Pairs:
    """The known, non-empty parameters of ``items`` in their order, values stripped.

    >>> known_pairs([("q", " gaza "), ("utm_source", "x"), ("outlet", ""), ("outlet", "BBC")])
    [('q', 'gaza'), ('outlet', 'BBC')]
    """
    out = []
    for name, value in items:
        value = (value or "").strip()
        if name in PARAMS and value:
            out.append((name, value))
    return out


def _first(pairs: Pairs, name: str) -> str | None:
    return next((v for k, v in pairs if k == name), None)


def _page(raw: str | None) -> int:
    if raw is None:
        return 1
    if not _NUMBER.fullmatch(raw) or not 1 <= int(raw) <= MAX_PAGE:
        raise QueryError(f"page must be a whole number from 1 to {MAX_PAGE}, not {raw[:20]!r}.")
    return int(raw)


def _iso_date(name: str, raw: str | None) -> str | None:
    if raw is None:
        return None
    try:
        # fromisoformat also takes "20220616"; the form's date inputs send YYYY-MM-DD.
        if _ISO_DATE.fullmatch(raw):
            return date.fromisoformat(raw).isoformat()
    except ValueError:
        pass
    raise QueryError(f"{name} must be a date written YYYY-MM-DD, not {raw[:20]!r}.")


def to_request(items: Iterable[tuple[str, str]], settings: dict) -> SearchRequest:
    """The :class:`SearchRequest` that request arguments describe.

    :param items: the request's ``(name, value)`` pairs (``request.args.items(multi=True)``)
    :param settings: the app config (``PAGE_SIZE``, ``FACET_SIZE``, ``FACET_MORE_SIZE``,
        ``MAX_QUERY_LENGTH``)
    :raises QueryError: for a bad value of a known parameter
    """
    pairs = known_pairs(items)
    q = _first(pairs, "q") or ""
    limit = int(settings["MAX_QUERY_LENGTH"])
    if len(q) > limit:
        raise QueryError(f"The query is too long ({len(q):,} characters); "
                         f"at most {limit:,} are allowed.")
    if any(c < " " or c == "\x7f" for c in q):
        # Control characters are never part of a query; one like NUL breaks logs and terms.
        q = "".join(c if c >= " " and c != "\x7f" else " " for c in q).strip()
    sort = _first(pairs, "sort") or "relevance"
    if sort not in SORTS:
        raise QueryError(f"sort must be one of {', '.join(SORTS)}, not {sort[:20]!r}.")
    collapse = _first(pairs, "collapse") or DEFAULT_COLLAPSE
    if collapse not in COLLAPSES:
        raise QueryError(f"collapse must be one of {', '.join(COLLAPSES)}, "
                         f"not {collapse[:20]!r}.")
    story = _first(pairs, "story")
    if story is not None and not _STORY.fullmatch(story):
        raise QueryError(f"story must be an article id (16 hexadecimal characters), "
                         f"not {story[:20]!r}.")
    date_from = _iso_date("from", _first(pairs, "from"))
    date_to = _iso_date("to", _first(pairs, "to"))
    if date_from and date_to and date_from > date_to:
        raise QueryError(f"from ({date_from}) is after to ({date_to}).")
    more = tuple(dict.fromkeys(v for k, v in pairs if k == "more"))
    for facet in more:
        if facet not in FACETS:
            raise QueryError(f"more must name a facet ({', '.join(FACETS)}), not {facet[:20]!r}.")
    filters = {}
    values = [(k, v) for k, v in pairs if k in FILTERS]
    if len(values) > MAX_FILTER_VALUES:
        raise QueryError(f"Too many filters ({len(values)}); at most {MAX_FILTER_VALUES}.")
    for name, value in values:
        if len(value) > MAX_VALUE_LENGTH:
            raise QueryError(f"The {name} filter value is too long "
                             f"(at most {MAX_VALUE_LENGTH} characters).")
        if name == YEAR and not (_YEAR.fullmatch(value)
                                   and MIN_YEAR <= int(value) <= MAX_YEAR):
            raise QueryError(f"year must be written YYYY ({MIN_YEAR} to {MAX_YEAR}), "
                             f"not {value[:20]!r}.")
        if name == MONTH:
            m = _MONTH.fullmatch(value)
            if not (m and MIN_YEAR <= int(m.group(1)) <= MAX_YEAR):
                raise QueryError(f"month must be written YYYY-MM ({MIN_YEAR}-01 to "
                                 f"{MAX_YEAR}-12), not {value[:20]!r}.")
        filters.setdefault(name, [])
        if len(filters[name]) >= MAX_VALUES_PER_FILTER and value not in filters[name]:
            raise QueryError(f"Too many {name} values; at most {MAX_VALUES_PER_FILTER}.")
        if value not in filters[name]:
            filters[name].append(value)
    return SearchRequest(
        q=q,
        filters={k: tuple(v) for k, v in filters.items()},
        date_from=date_from,
        date_to=date_to,
        sort=sort,
        collapse=collapse,
        story=story,
        page=_page(_first(pairs, "page")),
        page_size=int(settings["PAGE_SIZE"]),
        facet_size=int(settings["FACET_SIZE"]),
        facet_more_size=int(settings["FACET_MORE_SIZE"]),
        # The date chart is drawn from every period, so those two are always long lists.
        more=tuple(dict.fromkeys(more + CHART_FACETS)),
    )


def query_string(pairs: Pairs) -> str:
    """``?a=1&b=2`` for the pairs, or ``?`` alone when there are none (so a link always
    points at a URL whose state is exactly ``pairs``)."""
    return "?" + urlencode(pairs)


def with_added_args(path: str, pairs: Pairs, name: str, value: str, *,
                    reset_page: bool = True) -> str:
    """URL of ``path`` with ``name=value`` added (a single-valued name is replaced).

    Changing what is shown resets ``page``, so nobody lands on a page past the end.

    >>> with_added_args("/", [("q", "gaza"), ("page", "3")], "outlet", "BBC")
    '/?q=gaza&outlet=BBC'
    """
    single = name in ("q", "page", "sort", "from", "to", "collapse", "story", "interval", "by",
                      "chart", "words")
    out = [(k, v) for k, v in pairs
           if not (reset_page and k == "page") and not (single and k == name)
           and not (k == name and v == value)]
    out.append((name, value))
    return path + query_string(out)


def with_removed_args(path: str, pairs: Pairs, name: str, value: str | None = None, *,
                      reset_page: bool = True) -> str:
    """URL of ``path`` without ``name=value`` (without every ``name`` when ``value`` is None).

    >>> with_removed_args("/", [("q", "gaza"), ("outlet", "BBC"), ("outlet", "AP")], "outlet", "AP")
    '/?q=gaza&outlet=BBC'
    """
    out = [(k, v) for k, v in pairs
           if not (reset_page and k == "page")
           and not (k == name and (value is None or v == value))]
    return path + query_string(out)


def with_only(path: str, pairs: Pairs, keep: Iterable[str]) -> str:
    """URL of ``path`` keeping only the parameters named in ``keep`` ("clear all")."""
    keep = set(keep)
    return path + query_string([(k, v) for k, v in pairs if k in keep])


def toggle_url(path: str, pairs: Pairs, name: str, value: str) -> str:
    """Add ``name=value`` when absent, remove it when present."""
    if (name, value) in pairs:
        return with_removed_args(path, pairs, name, value)
    return with_added_args(path, pairs, name, value)


def active_filters(pairs: Pairs) -> list[tuple[str, str]]:
    """The selections a user can remove one by one (facet values, then from/to)."""
    chips = [(k, v) for name in FILTERS for k, v in pairs if k == name]
    chips += [(k, v) for k, v in pairs if k in ("from", "to", "story")]
    return chips


def with_story(pairs: Pairs, hit) -> Pairs:
    """The pairs of a search for every article of ``hit``'s story, oldest first (other
    outlets' accounts are the point: the query and filters are dropped)."""
    return [("story", hit.story["id"]), ("sort", "oldest")] if hit.story else list(pairs)


def timeline_args(pairs: Pairs) -> tuple[str | None, str | None, bool]:
    """``(interval, by, share)`` of a timeline request: the interval (``None``: chosen
    from the span), ``"outlet"`` or ``None``, and whether the chart draws shares.

    :raises QueryError: for a bad ``interval``, ``by`` or ``chart``
    """
    from search.query.analysis import INTERVALS

    interval = _first(pairs, "interval")
    if interval is not None and interval not in INTERVALS:
        raise QueryError(f"interval must be one of {', '.join(INTERVALS)}, "
                         f"not {interval[:20]!r}.")
    by = _first(pairs, "by")
    if by is not None and by != OUTLET:
        raise QueryError(f"by must be outlet (or left out), not {by[:20]!r}.")
    chart = _first(pairs, "chart") or "count"
    if chart not in ("count", "share"):
        raise QueryError(f"chart must be count or share, not {chart[:20]!r}.")
    return interval, by, chart == "share"


def timeline_query(pairs: Pairs, interval: str) -> str:
    """The query string of the data behind a coverage chart drawn at ``interval``."""
    keep = [(k, v) for k, v in pairs if k not in ("page", "chart", "interval")]
    return query_string(keep + [("interval", interval)])


def feed_pairs(pairs: Pairs) -> Pairs:
    """The pairs that say what a search matches (its query and filters), without how a
    page shows it: for its feed and its export."""
    return [(k, v) for k, v in pairs
            if k not in ("page", "collapse", "interval", "by", "chart", "more", "words")]


def search_of(pairs: Pairs, q: str) -> str:
    """The search page URL of one query of a comparison, with the comparison's filters."""
    return "/" + query_string([("q", q)] + [(k, v) for k, v in feed_pairs(pairs) if k != "q"])
