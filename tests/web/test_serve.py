"""`newsfacet serve`: the production server, in one process or several sharing the port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, dict]:
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.status, json.loads(r.read())


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                         text=True).stdout
    return [int(p) for p in out.split()]


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_answers_searches_and_stops_cleanly(small_index, workers, tmp_path):
    port = _free_port()
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "search", "serve", "--index", str(small_index),
             "--port", str(port), "--workers", str(workers)],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = _get(f"{base}/api/search?q=damascus")
                break
            except OSError:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        assert status == 200 and body["ok"] and body["total"] == 3
        answers = [_get(f"{base}/api/search?q=hezbollah&page={n % 2 + 1}")[1]["total"]
                   for n in range(12)]
        assert answers == [2] * 12
        # one export process beside each server process (the workers, or the server)
        servers = _children(proc.pid) if workers > 1 else [proc.pid]
        exporters = [c for s in servers for c in _children(s)]
        assert len(servers) == workers and len(exporters) == workers
        assert all(_children(e) == [] for e in exporters)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert _children(proc.pid) == []
    # every process it started was stopped and reaped: none left, not even a zombie
    assert [p for p in servers + exporters if p != proc.pid and _exists(p)] == []


def _exists(pid: int) -> bool:
    return os.path.exists(f"/proc/{pid}")  # a zombie too: its parent never reaped it
