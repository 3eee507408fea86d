"""The ``newsfacet`` command line: ``index``, ``search``, ``info``, ``serve``.

A thin shell over the library. Library errors become one-line messages with the exit
codes of DESIGN.md: 0 done, 1 nothing usable or no index, 2 usage error, 3 busy.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import click

from search import storage
from search.cli_search import search_command
from search.errors import ConfigError
from search.errors import IndexBusyError
from search.errors import NewsfacetError
from search.errors import QueryError
from search.models import shown

# Skipped files listed in the summary before "… and N more (use --verbose)".
SKIPPED_SHOWN = 10


class CliError(click.ClickException):
    """A one-line error with its exit code (no stack trace)."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


def _exit_code(e: NewsfacetError) -> int:
    if isinstance(e, IndexBusyError):
        return 3
    if isinstance(e, (QueryError, ConfigError)):
        return 2
    return 1


@contextlib.contextmanager
def library_errors():
    """Turn a :class:`NewsfacetError` into a :class:`CliError` carrying its exit code."""
    try:
        yield
    except NewsfacetError as e:
        raise CliError(str(e), _exit_code(e)) from e


index_option = click.option(
    "--index", "index_dir", default="index", envvar="NEWSFACET_INDEX", show_default=True,
    type=click.Path(file_okay=False), help="Index directory (env NEWSFACET_INDEX).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newsfacet", message="newsfacet %(version)s")
def main():
    """Newsfacet: full-text search for news archives, with facets.

    Example: newsfacet index corpora/ && newsfacet search "air strike" --outlet BBC
    """


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@index_option
@click.option("--rebuild", is_flag=True,
              help="Read everything again into a new index generation, then switch to it.")
@click.option("--outlet", metavar="NAME",
              help="Outlet for articles whose metadata and URL name none.")
@click.option("--processes", type=click.IntRange(min=1), metavar="N",
              help="Worker processes for language detection and NER (default: setting "
                   "NER_PROCESSES).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--verbose", "-v", is_flag=True, help="List every skipped file and record.")
def index(paths, index_dir, rebuild, outlet, processes, quiet, verbose):
    """Build or update the index from files and folders (archives are read inside).

    Only new and changed files are read; files gone from under PATHS are removed.

    Example: newsfacet index corpora/bbc-news --outlet BBC --index index/
    """
    from search.indexer import index_paths

    with library_errors(), _progress_bar(quiet) as progress:
        result = index_paths(paths, index_dir, rebuild=rebuild, outlet=outlet,
                             processes=processes, progress=progress)
    _print_summary(result, verbose)
    if not result.usable:
        raise CliError(f"Nothing to index: no article found in "
                       f"{', '.join(shown(p) for p in paths)}.", 1)


@contextlib.contextmanager
def _progress_bar(quiet: bool):
    """A progress callback drawing a tqdm bar on stderr (none when quiet or not a TTY)."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    with tqdm(unit=" articles", file=sys.stderr, dynamic_ncols=True, leave=False) as bar:
        def progress(p):
            bar.set_postfix_str(f"files {p.files_done}/{p.files_total}", refresh=False)
            bar.update(p.articles - bar.n)

        yield progress


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _print_summary(result, verbose: bool) -> None:
    click.echo(
        f"Indexed {_n(result.indexed, 'article')} from {_n(result.files_read, 'file')} read; "
        f"{result.unchanged:,} unchanged ({_n(result.files_unchanged, 'file')} not read again); "
        f"{result.removed:,} removed ({_n(result.files_removed, 'file')} gone); "
        f"skipped {len(result.skipped):,}.")
    if result.generation:
        click.echo(f"The index holds {_n(result.articles_total, 'article')} "
                   f"({result.generation}, {result.seconds:.1f} s).")
    if result.skipped:
        click.echo("Skipped:")
        shown = result.skipped if verbose else result.skipped[:SKIPPED_SHOWN]
        for e in shown:
            click.echo(f"  {e}")
        if len(shown) < len(result.skipped):
            click.echo(f"  … and {len(result.skipped) - len(shown):,} more (use --verbose)")


@main.command()
@index_option
@click.option("--json", "as_json", is_flag=True,
              help='Print {"articles", "size_bytes", "facets"} as JSON.')
def info(index_dir, as_json):
    """Show the article count, the top values of each facet and the size on disk.

    Example: newsfacet info --index index/ --json
    """
    from search.service import info as index_info

    with library_errors():
        data = index_info(index_dir)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(f"Index: {index_dir}")
    click.echo(f"Articles: {data['articles']:,}")
    click.echo(f"Size on disk: {data['size_bytes'] / 1e6:,.1f} MB")
    for name, values in data["facets"].items():
        listed = ", ".join(f"{v['value']} ({v['count']:,})" for v in values) or "-"
        click.echo(f"{name}: {listed}")


@main.command()
@index_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535),
              help="Port to listen on.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(min=1),
              help="Worker threads of the WSGI server (per process).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Server processes sharing the port; about one per core serves the most "
                   "requests (each keeps its own index caches in memory).")
def serve(index_dir, host, port, threads, workers):
    """Serve the search pages and JSON API with the production WSGI server (waitress).

    Example: newsfacet serve --index index/ --port 8080
    """
    if storage.current(index_dir) is None:
        # Serve anyway: the page says how to build an index, and one built while the
        # server runs is picked up without a restart.
        click.echo(f"Warning: no index at {index_dir} yet; run `newsfacet index PATH "
                   f"--index {index_dir}`.", err=True)
    # Imported here: the engine never loads Flask unless asked to serve.
    from web import create_app
    from web import server

    app = create_app({"INDEX": str(Path(index_dir).resolve())})
    procs = f", {workers} processes" if workers > 1 else ""
    click.echo(f"Serving {index_dir} on http://{host}:{port}/{procs} (Ctrl-C to stop)")
    server.run(app, host=host, port=port, threads=threads, workers=workers)


main.add_command(search_command, name="search")


if __name__ == "__main__":  # python -m search.cli, like python -m search
    main()
