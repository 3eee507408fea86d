"""The ``newsfacet`` command line: ``index``, ``search``, ``info``, ``serve``, ``export``.

A thin shell over the library, one module per command. What they share (the exit codes
of DESIGN.md, ``--index``, errors as JSON under ``--json``) is in
:mod:`search.cli.common`.
"""

from __future__ import annotations

import click

from search.cli.export import export_command
from search.cli.index import index_command
from search.cli.info import info_command
from search.cli.search import search_command
from search.cli.serve import serve_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newsfacet", message="newsfacet %(version)s")
def main():
    """Newsfacet: full-text search for news archives, with facets.

    Example: newsfacet index corpora/ && newsfacet search "air strike" --outlet BBC
    """


main.add_command(index_command, name="index")
main.add_command(search_command, name="search")
main.add_command(info_command, name="info")
main.add_command(serve_command, name="serve")
main.add_command(export_command, name="export")
