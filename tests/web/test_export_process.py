"""Web exports in an export process beside the server (search.query.export_process): on a
real ``newsfacet serve`` and on the app itself, with real processes, sockets and an index
on disk. The rows are those of the in-process export; a client that goes away stops the
process's work; a server that stops leaves no process; what fails in the process is the
same clear message as in the server; the generation stays pinned across the boundary."""

from __future__ import annotations

import csv
import http.client
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from bench._server import cpu_seconds
from search.errors import IndexMissingError
from search.errors import QueryError
from search.models import SearchRequest
from search.query import export
from search.query import service
from search.query.export_process import ExportProcesses
from tests.conftest import ROOT
from tests.conftest import as_a_terminal_job
from tests.conftest import write_articles_index
from tests.query.test_analysis import _article
from tests.query.test_analysis import _at
from web import create_app

WORDS = ("river flood rain levee town bridge council water storm road school farm field "
         "market harbour ferry valley").split()
# Rows large enough that an export outgrows every buffer between the process and the
# client (the socket pair, waitress's 1 MB, the kernel's: up to 4 MB on loopback): ~11 MB.
ROWS = 300
BODY_WORDS = 6000


def _body(n: int) -> str:
    return " ".join(WORDS[(n * 7 + i * (n % 5 + 1)) % len(WORDS)] for i in range(BODY_WORDS))


BIG = [_article(i, ("Alpha", "Beta", "Gamma")[i % 3], _at(2022, 1 + i % 12, 1 + i % 28),
                f"Report {i}", f"Flood report {i}. " + _body(i)) for i in range(ROWS)]


@pytest.fixture(scope="module")
def big_index(tmp_path_factory):
    return write_articles_index(BIG, tmp_path_factory.mktemp("big"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                         text=True).stdout
    return [int(p) for p in out.split()]


def _written(pid: int) -> int:
    """Bytes the process has written (to its socket, here) since it started."""
    with open(f"/proc/{pid}/io", encoding="ascii") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("wchar:"))


def _nice(pid: int) -> int:
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
        return int(f.read().rsplit(")", 1)[1].split()[16])


SCHED_OTHER, SCHED_IDLE = 0, 5


def _policies(pid: int) -> dict[int, int]:
    """Each thread of ``pid`` (by id): its scheduling policy (SCHED_OTHER, SCHED_IDLE)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat", encoding="ascii", errors="replace") as f:
                out[int(tid)] = int(f.read().rsplit(")", 1)[1].split()[38])
        except OSError:  # the thread ended meanwhile
            continue
    return out


def _settled_written(pid: int) -> int:
    """:func:`_written` once it has stopped growing (the process waits or is idle)."""
    last, still = -1, 0
    deadline = time.monotonic() + 20
    while still < 3 and time.monotonic() < deadline:
        now = _written(pid)
        still = still + 1 if now == last else 0
        last = now
        time.sleep(0.1)
    return last


class Server:
    """``python -m search serve`` over an index on a free port, its log in a file."""

    def __init__(self, index_dir, log):
        self.port = _free_port()
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "search", "serve", "--index", str(index_dir),
                 "--port", str(self.port)], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                preexec_fn=as_a_terminal_job)
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _ = self.get("/api/search?q=flood")
                if status == 200:
                    break
            except OSError:
                pass
            assert self.proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)

    def open(self, path: str) -> tuple[socket.socket, http.client.HTTPResponse]:
        """A GET of ``path`` under way: its socket and its response (headers read)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        # A small receive window, as a slow reader's: what it has not read waits in the
        # server (and stops the export process), not in this socket's buffer.
        conn.sock = socket.socket()
        try:
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
            conn.sock.settimeout(60)
            conn.sock.connect(("127.0.0.1", self.port))
            conn.request("GET", path)
            sock = conn.sock
            return sock, conn.getresponse()
        except BaseException:
            conn.close()
            raise

    def get(self, path: str) -> tuple[int, bytes]:
        sock, r = self.open(path)
        try:
            return r.status, r.read()
        finally:
            r.close()
            sock.close()

    def exporter(self) -> int:
        """The one export process beside the server (waits for it to be there)."""
        deadline = time.monotonic() + 20
        while True:
            kids = _children(self.proc.pid)
            if len(kids) == 1:
                return kids[0]
            assert time.monotonic() < deadline, kids
            time.sleep(0.1)

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)


@pytest.fixture
def server(big_index, tmp_path):
    s = Server(big_index, tmp_path / "server.log")
    yield s
    s.stop()


def _in_process(index_dir, q: str, sort: str = "relevance") -> list[str]:
    _, rows = export.records(index_dir, SearchRequest(q=q, sort=sort))
    return [r["id"] for r in rows]


def _csv_ids(data: bytes) -> list[str]:
    return [r["id"] for r in csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""))]


def test_the_export_process_sends_the_rows_of_the_export(server, big_index):
    exporter = server.exporter()  # started with the server, before any export
    written = _written(exporter)
    status, data = server.get("/export.csv?q=flood&sort=newest")
    assert status == 200
    # below the server's CPU priority (EXPORT_NICE): a search takes a busy core first
    assert _nice(exporter) == min(19, _nice(server.proc.pid) + 5)
    assert _csv_ids(data) == _in_process(big_index, "flood", "newest")
    assert len(_csv_ids(data)) == ROWS
    # the rows were encoded by the export process, not by the server
    assert _written(exporter) - written >= len(data)
    status, data = server.get("/export.jsonl?q=&outlet=Beta")
    assert status == 200
    assert [json.loads(x)["id"] for x in data.splitlines()] == [
        a.id for a in sorted((a for a in BIG if a.outlet == "Beta"),
                             key=lambda a: _in_process(big_index, "").index(a.id))]
    status, data = server.get("/export.csv?q=flood&sort=sideways")
    assert status == 400 and b"sort must be one of" in data
    assert server.exporter() == exporter  # the same warm process served every export


def test_a_client_that_goes_away_stops_the_export(server, big_index):
    exporter = server.exporter()
    whole = len(server.get("/export.csv?q=")[1])
    assert whole > 10_000_000
    before = _settled_written(exporter)
    sock, r = server.open("/export.csv?q=")
    try:
        assert r.status == 200 and len(r.read(65536)) == 65536
        # the reader waits: every buffer on the way fills, and the process waits to send
        waiting = _settled_written(exporter)
        assert waiting - before < whole - 1_000_000  # mid-export, far from its end
        # its rows are encoded by a thread in the idle class (EXPORT_IDLE), so a search
        # waking in the server takes the core at once; the process's main thread stays in
        # the normal class. On a loaded machine (a CI run: the suite's other worker) the
        # idle thread can be starved and hand the rest to the main thread at the export's
        # nice, and be gone by now: the idle class is proven by
        # test_an_export_starved_in_the_idle_class_finishes_at_its_nice, not here.
        assert _policies(exporter)[exporter] == SCHED_OTHER
        sock.shutdown(socket.SHUT_RDWR)  # the reader goes away
    finally:
        # closed however the test ends: a socket left to the garbage collector fails
        # whichever test runs next in this worker with a ResourceWarning
        r.close()
        sock.close()
    # The process stopped where it was: what it wrote after is the block it was sending
    # and the answer to the stop, not the rest of the export.
    assert _settled_written(exporter) - waiting < 300_000
    status, data = server.get("/export.csv?q=")
    assert status == 200 and _csv_ids(data) == _in_process(big_index, "")
    assert server.exporter() == exporter  # stopped, not killed: ready for the next
    assert "Traceback" not in server.log.read_text()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_server_stopped_mid_export_leaves_no_process(server, sig):
    exporter = server.exporter()
    sock, r = server.open("/export.csv?q=")
    assert r.status == 200 and r.read(1000)  # an export under way, its reader waiting
    t0 = time.monotonic()
    server.stop(sig)
    r.close()
    sock.close()
    assert time.monotonic() - t0 < 15
    assert not os.path.exists(f"/proc/{exporter}")  # stopped and reaped: not even a zombie


def test_an_export_process_that_dies_is_replaced_and_cut_short_exports_say_so(server, big_index):
    first = server.exporter()
    os.kill(first, signal.SIGKILL)  # idle: the next export finds it gone
    time.sleep(0.2)
    status, data = server.get("/export.csv?q=flood")
    assert status == 200 and _csv_ids(data) == _in_process(big_index, "flood")
    second = server.exporter()
    assert second != first and not os.path.exists(f"/proc/{first}")  # reaped
    sock, r = server.open("/export.csv?q=")
    assert r.status == 200 and r.read(1000)
    os.kill(second, signal.SIGKILL)  # mid-export
    with pytest.raises(http.client.IncompleteRead):
        r.read()  # cut short where it was: never a complete-looking file
    r.close()
    sock.close()
    deadline = time.monotonic() + 10
    while "ended mid-export" not in server.log.read_text():
        assert time.monotonic() < deadline, server.log.read_text()
        time.sleep(0.1)
    status, data = server.get("/export.jsonl?q=flood")  # and the next export is whole
    assert status == 200 and len(data.splitlines()) == ROWS
    assert not os.path.exists(f"/proc/{second}")


def test_errors_in_the_process_are_the_servers_errors(big_index, tmp_path):
    """Raised in the export process, an error reaches the server as the same class,
    message and status as :func:`export.records` raises in the server."""
    processes = ExportProcesses(big_index, 1)
    try:
        bad = SearchRequest(q="flood", sort="sideways")
        with pytest.raises(QueryError) as here:
            export.records(big_index, bad)
        with pytest.raises(QueryError) as there:
            processes.export(bad, service.DEFAULT_SETTINGS, "csv", export.CHUNK)
        assert str(there.value) == str(here.value) and there.value.status == 400
        [pid] = processes.pids()  # the process answered, and is kept for the next
        total, blocks = processes.export(SearchRequest(q="flood"), service.DEFAULT_SETTINGS,
                                         "jsonl", export.CHUNK)
        assert total == ROWS and len(b"".join(blocks).splitlines()) == ROWS
        assert processes.pids() == [pid]
    finally:
        processes.close()
    assert processes.pids() == [] and not os.path.exists(f"/proc/{pid}")
    missing = ExportProcesses(tmp_path / "nothing", 1)
    try:
        with pytest.raises(IndexMissingError) as e:
            missing.export(SearchRequest(q=""), service.DEFAULT_SETTINGS, "csv", export.CHUNK)
        assert str(e.value).startswith(f"No index at {tmp_path / 'nothing'}")
        assert e.value.index_dir == str(tmp_path / "nothing")
    finally:
        missing.close()


def test_more_exports_at_once_than_the_setting_are_a_clear_503(big_index):
    app = create_app({"INDEX": str(big_index), "EXPORT_PROCESSES": 1})
    client = app.test_client()
    held = client.get("/export.csv?q=", buffered=False)  # its process is busy until closed
    try:
        assert held.status_code == 200
        r = client.get("/export.csv?q=flood")
        assert r.status_code == 503
        assert "the most this server runs at once (setting EXPORT_PROCESSES)" in r.get_data(
            as_text=True)
    finally:
        held.close()
    r = client.get("/export.csv?q=flood")  # its process is free again
    assert r.status_code == 200 and len(_csv_ids(r.get_data())) == ROWS
    app.extensions["newsfacet_exports"].close()


def test_the_export_process_keeps_its_generation_while_a_new_one_goes_live(tmp_path, monkeypatch):
    """The pinned generation of an export, across the process boundary: a rebuild goes
    live while the export process is mid-export (a chunk of one row at a time), and the
    rest of the rows still come from the generation it started with."""
    monkeypatch.setattr(export, "CHUNK", 1)  # sent to the process with the export
    index_dir = write_articles_index(BIG, tmp_path / "ix")
    want = _in_process(index_dir, "", "oldest")
    whole = len("".join(export.lines(export.records(index_dir, SearchRequest(q=""))[1], "csv")))
    app = create_app({"INDEX": str(index_dir)})
    processes = app.extensions["newsfacet_exports"]
    try:
        r = app.test_client().get("/export.csv?q=&sort=oldest", buffered=False)
        blocks = iter(r.response)
        got = [next(blocks)]
        [pid] = processes.pids()
        written = _settled_written(pid)  # the process waits for this reader now
        assert written < whole / 2  # most of the export is still to be read and written
        write_articles_index(BIG[:1], index_dir)  # a rebuild: one article only, live
        assert service.search(index_dir, SearchRequest(q="")).total == 1
        got += list(blocks)
        r.close()
        assert _csv_ids(b"".join(got)) == want and len(want) == ROWS
    finally:
        processes.close()


def test_an_export_starved_in_the_idle_class_finishes_at_its_nice(big_index):
    """Every core kept busy by other work (here: a spinning process at nice 10, as an
    indexing run's NER workers run, beside the export process on the one core both may
    use), an export in the idle class would get a few per cent of a core; it goes on in
    the normal class at EXPORT_NICE, ahead of that work, and finishes."""
    processes = ExportProcesses(big_index, 1, nice=5, idle=True)
    spinner = None
    try:
        processes.start()
        proc = processes._idle[0]
        proc.wait_ready()
        # The spinner spins before the export starts: one still starting up could leave
        # the export's core free until the export was done (seen on a loaded CI run).
        core = min(os.sched_getaffinity(0))
        spinner = subprocess.Popen(
            [sys.executable, "-c", f"import os; os.nice(10); os.sched_setaffinity(0, {{{core}}})\n"
                                   "while True: pass"])
        deadline = time.monotonic() + 30
        while cpu_seconds(spinner.pid) < 0.2 and time.monotonic() < deadline:
            time.sleep(0.02)
        total, blocks = processes.export(SearchRequest(q="flood"), service.DEFAULT_SETTINGS,
                                         "csv", export.CHUNK)
        assert blocks.scheduled is None  # said at the end
        first = next(blocks)  # the idle thread is under way, the process waits to send
        for tid in os.listdir(f"/proc/{proc.pid}/task"):
            os.sched_setaffinity(int(tid), {core})
        t0 = time.monotonic()
        data = first + b"".join(blocks)
        assert blocks.scheduled == "starved"
        assert time.monotonic() - t0 < 30
        assert len(_csv_ids(data)) == total == ROWS
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()
        processes.close()
    # with no spinner, an export ends with every row whichever way it was scheduled
    processes = ExportProcesses(big_index, 1, nice=5, idle=True)
    try:
        total, blocks = processes.export(SearchRequest(q="flood"), service.DEFAULT_SETTINGS,
                                         "jsonl", export.CHUNK)
        assert len(b"".join(blocks).splitlines()) == ROWS
        # "idle" unless another process (the suite's other worker, on CI) took the
        # spare core for a second: that is the hand-over working, so either is right.
        assert blocks.scheduled in ("idle", "starved")
    finally:
        processes.close()
