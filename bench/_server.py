"""A real ``newsfacet serve`` subprocess for the HTTP benchmarks (load, abuse).

Loopback only: the server listens on 127.0.0.1 and a free port, and every helper here
talks to 127.0.0.1. Its output goes to a log file, not a pipe: an unread pipe fills up
and stalls the server.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(index_dir: Path, port: int, log_path: Path, workers: int = 1,
                 wait: float = 60.0) -> tuple[subprocess.Popen, str]:
    """Start ``python -m search serve`` on 127.0.0.1:``port``; return once it answers.

    With ``workers == 1`` the returned process is the server itself (its memory is the
    server's memory).

    :param log_path: the file that receives the server's stdout and stderr
    :param wait: seconds to wait for ``/static/style.css`` to answer 200
    :returns: the process and a short description of how it was started
    :raises SystemExit: when the server exits or does not answer in time
    """
    how = f"python -m search serve --workers {workers}"
    cmd = [sys.executable, "-m", "search", "serve", "--index", str(index_dir),
           "--host", HOST, "--port", str(port), "--workers", str(workers)]
    with open(log_path, "ab") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {Path(log_path).read_text()[-2000:]}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=5)
            conn.request("GET", "/static/style.css")
            ok = conn.getresponse().status == 200
            conn.close()
            if ok:
                return proc, how
        except OSError:
            pass
        time.sleep(0.2)
    stop_server(proc)
    raise SystemExit(f"server did not answer within {wait:.0f} s")


def stop_server(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """Terminate the server (kill it when it does not stop within ``grace`` seconds)."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(grace)


def alive(proc: subprocess.Popen, port: int, timeout: float = 5.0) -> bool:
    """Whether the server process runs and answers ``/static/style.css`` within ``timeout``."""
    if proc.poll() is not None:
        return False
    try:
        conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
        conn.request("GET", "/static/style.css")
        resp = conn.getresponse()
        resp.read()
        conn.close()
        return resp.status == 200
    except (OSError, http.client.HTTPException):
        return False


def cpu_seconds(pid: int) -> float:
    """A process's user + system CPU seconds so far (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(pid: int, limit: float = 180.0) -> float:
    """Wait until the idle server stops using CPU: under 0.05 CPU s in a second. A server
    that has just opened its index decodes its frequent words in the background (a core
    for a minute at 50,000 articles), and what is measured meanwhile is that, not the
    steady state. Returns the seconds waited."""
    start = time.perf_counter()
    last = cpu_seconds(pid)
    while time.perf_counter() - start < limit:
        time.sleep(1.0)
        now = cpu_seconds(pid)
        if now - last < 0.05:
            break
        last = now
    return time.perf_counter() - start
