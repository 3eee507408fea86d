"""``newsfacet serve``: the search pages and JSON API under the production WSGI server."""

from __future__ import annotations

from pathlib import Path

import click

from search import storage
from search.cli.common import command
from search.cli.common import index_option
from search.cli.common import settings


@command("serve")
@index_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535),
              help="Port to listen on.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(min=1),
              help="Worker threads of the WSGI server (per process).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Server processes sharing the port; about one per core serves the most "
                   "requests (each keeps its own index caches in memory).")
def serve_command(index_dir, host, port, threads, workers):
    """Serve the search pages and JSON API with the production WSGI server (waitress).

    Beside each server process runs an export process with the index open, which does the
    work of /export.csv and /export.jsonl (setting NEWSFACET_EXPORT_PROCESSES).

    Example: newsfacet serve --index index/ --port 8080
    """
    if storage.current(index_dir) is None:
        # Serve anyway: the page says how to build an index, and one built while the
        # server runs is picked up without a restart.
        click.echo(f"Warning: no index at {index_dir} yet; run `newsfacet index PATH "
                   f"--index {index_dir}`.", err=True)
    # Imported here: the engine never loads Flask unless asked to serve.
    from search.query.service import open_index
    from web import create_app
    from web import server

    index = str(Path(index_dir).resolve())
    given = settings()
    public = given["PUBLIC_URL"] or f"http://{host}:{port}/"
    app = create_app({**given, "INDEX": index, "PUBLIC_URL": public})
    procs = f", {workers} processes" if workers > 1 else ""
    click.echo(f"Serving {index_dir} on http://{host}:{port}/{procs} (Ctrl-C to stop)")
    # Each server process opens the index before it takes a request (after the fork:
    # Whoosh's open files and threads do not survive one).
    server.run(app, host=host, port=port, threads=threads, workers=workers,
               warm=lambda: open_index(index))
