"""Run the app under waitress, in one process or several sharing one listening socket.

waitress serves with threads, and a search is pure Python and NumPy under the GIL, so
one process keeps one core busy however many threads it has. ``workers > 1`` forks
that many processes after binding the socket; the kernel hands each connection to
one of them. Each worker opens the index itself (on its first request) and keeps its
own caches, so memory grows with the number of workers.
"""

from __future__ import annotations

import os
import signal
import socket

from waitress import serve


def run(app, host: str = "127.0.0.1", port: int = 8000, threads: int = 8,
        workers: int = 1) -> None:
    """Serve ``app`` until interrupted.

    :param workers: server processes (about one per core); 1 serves in this process
    """
    if workers <= 1:
        serve(app, host=host, port=port, threads=threads)
        return
    sock = socket.create_server((host, port), backlog=1024)
    children = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # a worker: serve on the shared socket until told to stop
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            try:
                serve(app, sockets=[sock], threads=threads, _quiet=True)
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
