"""``newsfacet info``: the article count, each facet's top values, the size on disk and
how far enrichment (the entity stage) has got."""

from __future__ import annotations

import json

import click

from search.cli.common import command
from search.cli.common import index_option
from search.cli.common import json_option
from search.cli.common import settings


@command("info")
@index_option
@json_option('Print {"articles", "size_bytes", "facets", "enrichment"} as JSON (errors too, '
             'on stdout).')
def info_command(index_dir, as_json):
    """Show the article count, the top values of each facet and the size on disk.

    Example: newsfacet info --index index/ --json
    """
    from search.query.service import info as index_info

    data = index_info(index_dir, settings())
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(f"Index: {index_dir}")
    click.echo(f"Articles: {data['articles']:,}")
    click.echo(f"Size on disk: {data['size_bytes'] / 1e6:,.1f} MB")
    stage = data["enrichment"]["entities"]
    pending = f", {stage['pending']:,} still to find" if stage["pending"] else ""
    click.echo(f"Entities: {stage['done']:,} articles done{pending}")
    stage = data["enrichment"]["stories"]
    pending = (f", {stage['pending']:,} still to group (the next full `index` run does it)"
               if stage["pending"] else "")
    click.echo(f"Copies and stories: {stage['done']:,} articles done{pending}")
    for name, values in data["facets"].items():
        listed = ", ".join(f"{v['value']} ({v['count']:,})" for v in values) or "-"
        click.echo(f"{name}: {listed}")
