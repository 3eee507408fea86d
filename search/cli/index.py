"""``newsfacet index``: build or update the index, then print what was read and skipped."""

from __future__ import annotations

import contextlib
import sys

import click

from search.cli.common import CliError
from search.cli.common import command
from search.cli.common import index_option
from search.cli.common import settings
from search.errors import ConfigError
from search.models import shown

# Skipped files listed in the summary before "… and N more (use --verbose)".
SKIPPED_SHOWN = 10


@command("index")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@index_option
@click.option("--rebuild", is_flag=True,
              help="Read everything again into a new index generation, then switch to it.")
@click.option("--outlet", metavar="NAME",
              help="Outlet for articles whose metadata and URL name none.")
@click.option("--processes", type=click.IntRange(min=1), metavar="N",
              help="Worker processes for language detection and NER (default: setting "
                   "NER_PROCESSES).")
@click.option("--cluster", metavar="ADDRESS|local:N",
              help="Enrich on a Dask cluster instead of local worker processes: a "
                   "scheduler address (tcp://HOST:8786), or local:N to start N worker "
                   "processes here (default: setting CLUSTER). Not with --processes.")
@click.option("--text-only", is_flag=True,
              help="Write the articles' text and stop: it is searchable at once, and the "
                   "next `index` run without this flag finds the entities still missing "
                   "(facet counts say they are partial meanwhile).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--verbose", "-v", is_flag=True,
              help="List every skipped file and record, and every warning.")
def index_command(paths, index_dir, rebuild, outlet, processes, cluster, text_only, quiet,
                  verbose):
    """Build or update the index from files and folders (archives are read inside).

    Only new and changed files are read; files gone from under PATHS are removed.

    Example: newsfacet index corpora/bbc-news --outlet BBC --index index/
    """
    from search.ingest.indexer import index_paths

    cluster = _cluster(cluster, processes)
    with _progress_bar(quiet) as progress:
        result = index_paths(paths, index_dir, rebuild=rebuild, outlet=outlet,
                             processes=processes, cluster=cluster, progress=progress,
                             entities=not text_only, settings=settings())
    _print_summary(result, verbose)
    if not result.usable:
        raise CliError(f"Nothing to index: no article found in "
                       f"{', '.join(shown(p) for p in paths)}.", 1, 400)


def _cluster(given: str | None, processes: int | None) -> str:
    """The cluster of this run ('' for the local pool), checked before anything is read.

    ``--processes`` sizes the local pool, which a cluster replaces: asking for both is a
    usage error, whether the cluster comes from ``--cluster`` or from ``NEWSFACET_CLUSTER``.
    """
    from search.ingest.cluster import ClusterSpec

    source = "--cluster" if given is not None else "NEWSFACET_CLUSTER"
    cluster = (given if given is not None else settings()["CLUSTER"]).strip()
    if not cluster:
        return ""
    if processes is not None:
        raise click.UsageError(f"{source} {cluster} sends enrichment to a Dask cluster and "
                               f"--processes sizes the local worker pool: give one of them"
                               + ("" if given is not None else
                                  " (or unset NEWSFACET_CLUSTER)") + ".")
    try:
        ClusterSpec.parse(cluster)
    except ConfigError as e:
        raise click.BadParameter(str(e), param_hint=f"'{source}'") from e
    return cluster


@contextlib.contextmanager
def _progress_bar(quiet: bool):
    """A progress callback drawing tqdm bars on stderr (none when quiet or not a TTY):
    the text stage's (articles written, how many searchable), then the entity stage's
    (articles whose entities are in, of those waiting)."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    bars = {}

    def progress(p):
        if p.stage == "text":
            bar = bars.get("text")
            if bar is None:
                bar = bars["text"] = tqdm(desc="text", unit=" articles", file=sys.stderr,
                                          dynamic_ncols=True, leave=False)
            bar.set_postfix_str(f"files {p.files_done}/{p.files_total}, searchable "
                                f"{p.committed:,}, entities {p.entities_done:,}", refresh=False)
            bar.update(p.articles - bar.n)
            return
        bar = bars.get("entities")
        if bar is None:
            if "text" in bars:
                bars.pop("text").close()
            bar = bars["entities"] = tqdm(desc="entities", unit=" articles", file=sys.stderr,
                                          dynamic_ncols=True, leave=False)
        bar.total = p.entities_total
        bar.update(p.entities_done - bar.n)
        if p.stage != "entities":  # the stages after NER: say which one runs
            bar.set_description(f"entities, then {p.stage}")

    try:
        yield progress
    finally:
        for bar in bars.values():
            bar.close()


def _n(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` and the noun, plural unless one.

    >>> _n(1, "story", "stories"), _n(2, "story", "stories"), _n(3, "file")
    ('1 story', '2 stories', '3 files')
    """
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


def _print_summary(result, verbose: bool) -> None:
    click.echo(
        f"Indexed {_n(result.indexed, 'article')} from {_n(result.files_read, 'file')} read; "
        f"{result.unchanged:,} unchanged ({_n(result.files_unchanged, 'file')} not read again); "
        f"{result.removed:,} removed ({_n(result.files_removed, 'file')} gone); "
        f"skipped {len(result.skipped):,}"
        + (f"; {len(result.warnings):,} indexed with warnings." if result.warnings else "."))
    if result.commits:
        click.echo(f"Searchable by text after {result.text_seconds:.1f} s "
                   f"({_n(result.commits, 'commit')}).")
    if result.enriched or result.entities_from_cache:
        done = (f"; all in after {result.entities_seconds:.1f} s"
                if result.entities_seconds and not result.entities_pending else "")
        click.echo(f"Entities: NER ran on {_n(result.enriched, 'article')} "
                   f"{result.enriched_where}; {result.entities_from_cache:,} from the "
                   f"cache{done}.")
    if result.resolution is not None:
        r = result.resolution
        click.echo(f"Entities resolved across the archive in {r.seconds:.1f} s: "
                   f"{_n(r.values, 'value')}, {r.renamed:,} shown under another name, "
                   f"{r.dropped:,} left out as not people, organisations or places; "
                   f"{_n(r.changed, 'article')} changed.")
    if result.stories is not None:
        r = result.stories
        click.echo(f"Copies and stories in {r.seconds:.1f} s: {_n(r.articles, 'article')} in "
                   f"{_n(r.stories, 'story', 'stories')} ({r.multi:,} of two or more articles); "
                   f"{r.copies:,} articles in copy groups.")
    if result.entities_pending:
        click.echo(f"{_n(result.entities_pending, 'article')} still wait for entities: "
                   f"`newsfacet index` (any path, without --text-only) finds them.")
    if result.generation:
        click.echo(f"The index holds {_n(result.articles_total, 'article')} "
                   f"({result.generation}, {result.seconds:.1f} s).")
    _print_list("Skipped:", result.skipped, verbose)
    _print_list("Indexed with warnings:", result.warnings, verbose)


def _print_list(heading: str, errors: list, verbose: bool) -> None:
    if not errors:
        return
    click.echo(heading)
    shown = errors if verbose else errors[:SKIPPED_SHOWN]
    for e in shown:
        click.echo(f"  {e}")
    if len(shown) < len(errors):
        click.echo(f"  … and {len(errors) - len(shown):,} more (use --verbose)")
