"""Run the app under waitress, in one process or several sharing one listening socket.

waitress serves with threads, and a search is pure Python and NumPy under the GIL, so
one process keeps one core busy however many threads it has. ``workers > 1`` forks
that many processes after binding the socket; the kernel hands each connection to
one of them. Each worker opens the index itself (on its first request) and keeps its
own caches, so memory grows with the number of workers.

Each server process also starts an *export process* before it takes requests (setting
``EXPORT_PROCESSES``; :mod:`search.query.export_process`): a Python of its own with the
index open, which ranks, reads and encodes the rows of ``/export.csv`` and
``/export.jsonl`` while the server only passes its blocks on, so an export does not
share the server's GIL with searches (and runs at a lower CPU priority, setting
``EXPORT_NICE``, so a search takes a busy core first). A second export at the same time gets another
process (up to the setting). A server stopped with SIGTERM or Ctrl-C stops and reaps its
export processes; one killed outright leaves them to end by themselves (each exits when
its socket to the server closes).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading

from waitress import create_server
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer

from web.headers import HeaderedErrorTask

# Bytes of a response waitress holds for a slow client before the app waits (its default:
# 16 MB). waitress keeps a response's output in one in-memory buffer that grows until
# this many bytes were written to it, whatever the client has already received: a
# streamed export held ~15 MB there (and twice that while the buffer grew) on top of
# its rows.
OUTBUF_HIGH_WATERMARK = 1 << 20


class _Channel(HTTPChannel):
    """waitress's connection handler, answering its own errors with our headers."""

    error_task_class = HeaderedErrorTask


def serve(app, _quiet: bool = False, warm=None, **kw) -> None:
    """``waitress.serve``, except that waitress's own error responses (a malformed
    request line, headers too large) carry the security headers too, the app's export
    processes start before requests are taken, and SIGTERM stops the server in order
    (its export processes stopped and reaped) as Ctrl-C does.

    :param warm: called once the socket listens and before requests are taken (what
        connects meanwhile waits in the backlog): the index is opened there, so the first
        search does not pay for the open"""
    if not _quiet:
        logging.basicConfig()  # as waitress.serve does: its messages need a handler
    kw.setdefault("outbuf_high_watermark", OUTBUF_HIGH_WATERMARK)
    server = create_server(app, **kw)
    # One listening socket gives that server; several give a map of them.
    servers = [server] if isinstance(server, BaseWSGIServer) else \
        [s for s in getattr(server, "map", {}).values() if isinstance(s, BaseWSGIServer)]
    for s in servers:
        s.channel_class = _Channel
    exports = app.extensions.get("newsfacet_exports")
    try:
        if exports is not None:
            # Started first: it opens the index in its own process while this one does.
            exports.start()
        if warm is not None:
            warm()
        if not _quiet:
            server.print_listen("Serving on http://{}:{}")
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _stop_serving)
        server.run()
    finally:
        if exports is not None:
            exports.close()


def _stop_serving(signum, frame):
    """SIGTERM: leave waitress's loop as Ctrl-C does, so what the server started is
    stopped on the way out (the default action ends the process on the spot)."""
    raise SystemExit(0)


def run(app, host: str = "127.0.0.1", port: int = 8000, threads: int = 8,
        workers: int = 1, warm=None) -> None:
    """Serve ``app`` until interrupted.

    :param workers: server processes (about one per core); 1 serves in this process
    :param warm: what each server process does before it takes requests (see :func:`serve`)
    """
    if workers <= 1:
        serve(app, host=host, port=port, threads=threads, warm=warm)
        return
    sock = socket.create_server((host, port), backlog=1024)
    children = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # a worker: serve on the shared socket until told to stop
            signal.signal(signal.SIGINT, _stop_serving)
            try:
                serve(app, sockets=[sock], threads=threads, _quiet=True, warm=warm)
            finally:
                os._exit(0)
        children.append(pid)

    def stop(signum, frame):
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for pid in children:
        while True:
            try:
                os.waitpid(pid, 0)
                break
            except InterruptedError:
                continue
            except ChildProcessError:
                break
