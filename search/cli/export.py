"""``newsfacet export``: every article a search matches, as CSV or JSON Lines."""

from __future__ import annotations

import sys

import click

from search.cli.common import command
from search.cli.common import index_option
from search.cli.common import settings
from search.cli.search import filter_options
from search.models import SORTS
from search.models import SearchRequest


@command("export")
@click.argument("query", required=False, default="")
@index_option
@click.option("--format", "fmt", type=click.Choice(("csv", "jsonl")), default="csv",
              show_default=True, help="CSV (RFC 4180, a header row) or one JSON object a line.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write to this file (default: standard output).")
@click.option("--sort", type=click.Choice(SORTS), default="relevance", show_default=True,
              help="Order of the rows, as the search page orders hits.")
@filter_options
@click.option("--story", metavar="ID", help="Only the articles of this story (its id).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def export_command(query, index_dir, fmt, output, sort, date_from, date_to, story, quiet,
                   **filters):
    """Write every article matching QUERY (and the filters) with all its fields:
    id, url, title, outlet, published, lang, person, org, place, story, body.

    Example:

        newsfacet export '"climate change"' --from 2020-01-01 --format jsonl -o cc.jsonl
    """
    from search.query import export

    request = SearchRequest(
        q=query, filters={k: tuple(v) for k, v in filters.items() if v},
        date_from=date_from, date_to=date_to, sort=sort, story=story)
    total, rows = export.records(index_dir, request, settings())
    out = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        with click.progressbar(length=total, label="Exporting", file=sys.stderr,
                               hidden=quiet or not output and sys.stdout.isatty()) as bar:
            for line in export.lines(_counting(rows, bar), fmt):
                out.write(line)
    finally:
        rows.close()
        if output:
            out.close()
    if output:
        click.echo(f"Wrote {total:,} article{'' if total == 1 else 's'} to {output}.", err=True)


def _counting(rows, bar):
    for r in rows:
        bar.update(1)
        yield r
