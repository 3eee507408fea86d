"""``newsfacet search``: a readable table, or the JSON contract with ``--json``.

A thin shell over :func:`search.query.service.search`. Errors are one line with the exit
codes of DESIGN.md (2 for a query or option that cannot be run, 1 for a missing index),
or with ``--json`` the JSON error object on stdout: see :mod:`search.cli.common`.
"""

from __future__ import annotations

import json
import re
import sys
from html import unescape

import click

from search.cli.common import command
from search.cli.common import index_option
from search.cli.common import json_option
from search.cli.common import settings
from search.models import COLLAPSES
from search.models import SORTS
from search.models import SearchRequest

_MARK = re.compile(r"<mark>(.*?)</mark>", re.S)


def terminal_text(html: str, color: bool) -> str:
    """Snippet HTML as terminal text: marks in bold (or ``*word*`` when not a terminal).

    >>> terminal_text("a <mark>b</mark> &amp; c", color=False)
    'a *b* & c'
    """
    if color:
        out = _MARK.sub(lambda m: click.style(m.group(1), bold=True, fg="yellow"), html)
    else:
        out = _MARK.sub(lambda m: f"*{m.group(1)}*", html)
    return unescape(out)


def _filter_option(name: str, what: str):
    return click.option(f"--{name}", name, multiple=True, metavar="X",
                        help=f"Only articles with this {what} (repeat for any of several).")


_FILTERS = [
    _filter_option("outlet", "outlet"),
    _filter_option("lang", "language code"),
    _filter_option("person", "person"),
    _filter_option("org", "organisation"),
    _filter_option("place", "place"),
    _filter_option("year", "year (YYYY)"),
    _filter_option("month", "month (YYYY-MM)"),
    click.option("--from", "date_from", metavar="YYYY-MM-DD", help="Published on or after (UTC)."),
    click.option("--to", "date_to", metavar="YYYY-MM-DD",
                 help="Published on or before (UTC, whole day)."),
]


def filter_options(f):
    """The facet and date filters of ``search``, for every command that takes a search."""
    for option in reversed(_FILTERS):
        f = option(f)
    return f


@command("search")
@click.argument("query", required=False, default="")
@index_option
@json_option("Print the JSON contract instead of a table (errors too, on stdout).")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(0, None),
              help="Hits per page (at most MAX_PAGE_SIZE).")
@click.option("--page", default=1, show_default=True, type=click.IntRange(1, None),
              help="Page number.")
@click.option("--sort", type=click.Choice(SORTS), default="relevance", show_default=True,
              help="Order of hits (an empty query with relevance lists newest first).")
@filter_options
@click.option("--collapse", type=click.Choice(COLLAPSES), default="none", show_default=True,
              help="One hit per copy group or per story; --limit then counts groups.")
@click.option("--story", metavar="ID", help="Only the articles of this story (its id).")
@click.option("--explain", is_flag=True, help="Also print how the query was understood.")
def search_command(query, index_dir, as_json, limit, page, sort, date_from, date_to, explain,
                   collapse, story, **filters):
    """Search the index and print the hits with snippets and facet counts.

    Query syntax: words (all required), "a phrase", "near words"~3, AND, OR, NOT, -word,
    (groups), title:, outlet:, person:, org:, place:, entity:, lang:,
    date:[2022-01-01 TO 2022-06-30], date:>=2022-01-01 (also >, <, <=), prefix*,
    word~ (fuzzy).

    Example:

        newsfacet search '"Damascus International Airport"' --outlet Haaretz --json
    """
    from search.query import service

    request = SearchRequest(
        q=query, filters={k: tuple(v) for k, v in filters.items() if v},
        date_from=date_from, date_to=date_to, sort=sort, page=page, page_size=limit,
        collapse=collapse, story=story)
    results = service.search(index_dir, request, settings())
    if as_json:
        out = results.to_json()
        if explain:
            out["explain"] = results.explain
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    _print_table(results, explain, color=sys.stdout.isatty())


def _print_table(results, explain: bool, color: bool) -> None:
    if explain:
        click.echo(f"Query understood as: {results.explain}")
    if results.notice:
        click.echo(f"Note: {results.notice}")
    if results.suggestion:
        click.echo(f"Did you mean: {results.suggestion}")
    first = (results.page - 1) * results.page_size
    for rank, hit in enumerate(results.hits, start=first + 1):
        when = hit.published.date().isoformat() if hit.published else "undated"
        title = terminal_text(hit.title_html, color)
        click.echo(f"{rank:>3}. {title}")
        extra = ""
        if hit.copies:
            extra += f" · +{hit.copies} cop{'y' if hit.copies == 1 else 'ies'}"
        if hit.story and hit.story["articles"] > 1:
            extra += (f" · story {hit.story['id']}: {hit.story['articles']} articles from "
                      f"{hit.story['outlets']} outlet{'' if hit.story['outlets'] == 1 else 's'}")
        click.echo(f"     {hit.outlet} · {when} · {hit.id}{extra}")
        click.echo(f"     {terminal_text(hit.snippet, color)}")
    shown = f"{first + 1}–{first + len(results.hits)} of " if results.hits else ""
    click.echo(f"{shown}{results.total} articles · {results.took_ms:.1f} ms")
    if results.partial_facets:
        click.echo(f"  (entity counts partial: {results.pending:,} articles still to enrich)")
    for name, values in results.facets.items():
        if values:
            more = " …" if name in results.truncated_facets else ""
            listed = ", ".join(f"{v.value} ({v.count})" for v in values[:5])
            click.echo(f"  {name}: {listed}{more}")
