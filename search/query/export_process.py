"""Web exports in a process of their own, so that an export never shares the server's GIL.

An export in the server beside searches traded Python's GIL with them: giving way kept
the searches' speed and held the export to ~3,500 rows/s. Here the server checks the
request (a bad query is a 400 before any row, as a search) and hands it to an
*export process*: a Python started with :mod:`subprocess` (a fresh interpreter: forking
a threaded server is unsafe) that opens the index itself and does the work of
:mod:`search.query.export`: pins the live generation for the whole export, ranks every
match, reads the stored fields chunk by chunk and encodes the CSV or JSON Lines in blocks
of ~:data:`BLOCK` bytes, which the server passes on to the client as they come.

One process is kept warm (its index open) for the next export; a second export at the
same time gets a process of its own (cold), up to the ``EXPORT_PROCESSES`` setting
(beyond: a clear 503). Server and process talk over a socket pair (a
:class:`multiprocessing.connection.Connection` at the process's end, the same frames
read straight into one buffer at the server's):

- server → process: ``("export", request, settings, fmt, chunk)``, or ``("stop",)``;
- process → server, each message a tag byte and a payload: ``R`` ready (the open's
  milliseconds), ``T`` the number of rows, ``B`` a block of encoded rows, ``E`` the
  end, ``S`` stopped when asked, ``X`` an error (JSON: the class, message, status).

Memory stays flat: the socket's buffer, one block in the process and waitress's own
buffer are all an export holds in flight; a slow client fills them and the process
waits in its next send. A client that goes away closes the stream: the server sends
``stop``, which the process reads before its next block, and it reads on to ``S`` (at
most a few blocks) — the process is ready for the next export. When the server goes,
the process reads the end of its socket (or fails its next send) and exits; a server
that stops in order (:meth:`ExportProcesses.close`, also at exit) stops and reaps it.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path

from search import errors as errorlib
from search.errors import NewsfacetError
from search.models import SearchRequest

# Encoded bytes per message to the server: one write to the client's socket per block.
BLOCK = 64 * 1024
# Longest the server waits for the process's next message (a cold open of a large index,
# then the ranking, which has QUERY_TIMEOUT): past it the process is taken for hung,
# killed, and the export ends with a message.
STALL_SECONDS = 120.0
# Longest the server reads on after ``stop`` (a client gone) for the process to stop.
STOP_SECONDS = 10.0
# Export processes kept, index open, between exports.
KEEP_IDLE = 1
# An export in Linux's idle scheduling class that spends more than this share of its
# time waiting for a core, over STARVED_WINDOW seconds (every core busy with other work:
# an indexing run's NER, say), goes on in the normal class, at the process's nice.
STARVED_SHARE = 0.75
STARVED_WINDOW = 1.0
# Documents read at a time by an export in the idle class (export.CHUNK otherwise): a
# starved export can only tell between reads (~9 ms of CPU for 32 documents, seconds at
# the share the idle class gets beside busy cores).
IDLE_CHUNK = 32
# The folder holding the ``search`` package: the process runs ``python -m`` from there.
_ROOT = Path(__file__).resolve().parent.parent.parent
_log = logging.getLogger(__name__)


class ExportError(NewsfacetError):
    """An export the export process could not run or finish (it stopped, hung or
    could not start); the message says what to do."""

    status = 503


class _Gone(Exception):
    """The other end of the socket is closed (the process or the server is gone)."""


# --- the server's side --------------------------------------------------------------------


class ExportProcess:
    """One export process, its socket, and what its open cost (``ready_ms``: from its
    start until it had the index open, seen from here; ``open_ms``: the open itself, as
    the process timed it), known once it said it was ready."""

    def __init__(self, index_dir: str, nice: int = 0, idle: bool = False):
        ours, theirs = socket.socketpair()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "search.query.export_process", str(theirs.fileno()),
                 index_dir, str(nice), "idle" if idle else "normal"],
                cwd=_ROOT, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        # The server's end is read straight into one buffer kept for the process: a
        # block at a time through multiprocessing's reader allocated every piece the
        # socket gave, and fragmented the server's heap (~80 MB more resident after an
        # export). Messages are framed as multiprocessing frames them (a 4-byte
        # big-endian length), so the process's end is a plain Connection.
        self.sock = ours
        self._head = bytearray(4)
        self._buf = bytearray(BLOCK + 4096)
        self.started = time.monotonic()
        self.ready_ms: float | None = None  # start to index open, as the process saw it
        self.open_ms: float | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_ready(self, timeout: float = STALL_SECONDS) -> None:
        """Wait until the process has the index open (benchmarks; the server never waits).

        :raises TimeoutError: when it is not within ``timeout`` seconds
        :raises _Gone: when the process ended first
        """
        if self.ready_ms is None:
            tag, payload = self._message(timeout)
            assert tag == b"R", tag
            self._ready(payload)

    def _ready(self, payload) -> None:
        self.open_ms = json.loads(bytes(payload))["open_ms"]
        self.ready_ms = (time.monotonic() - self.started) * 1000

    def send(self, message) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self.sock.settimeout(STALL_SECONDS)
            self.sock.sendall(struct.pack("!i", len(data)) + data)
        except OSError as e:  # a timeout too: the process does not read
            raise _Gone() from e

    def _read_exactly(self, view: memoryview, deadline: float) -> None:
        got, n = 0, len(view)
        while got < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            try:
                self.sock.settimeout(left)
                k = self.sock.recv_into(view[got:])
            except socket.timeout:
                raise TimeoutError from None
            except OSError as e:
                raise _Gone() from e
            if k == 0:
                raise _Gone()
            got += k

    def _message(self, timeout: float) -> tuple[bytes, memoryview]:
        """The next message: its tag, and its payload as a view of this process's buffer
        (valid until the next message: copy what is kept)."""
        deadline = time.monotonic() + timeout
        self._read_exactly(memoryview(self._head), deadline)
        (n,) = struct.unpack("!i", self._head)
        if n < 1:  # no message of ours is empty or over 2 GB: the stream is not ours
            raise _Gone()
        if n > len(self._buf):
            self._buf = bytearray(n)
        view = memoryview(self._buf)[:n]
        self._read_exactly(view, deadline)
        return bytes(view[:1]), view[1:]

    def recv(self, timeout: float) -> tuple[bytes, memoryview]:
        """The next message but ``R``: ``(tag, payload)``, the payload valid until the
        next message.

        :raises _Gone: when the process closed its end
        :raises TimeoutError: when nothing came within ``timeout`` seconds
        """
        while True:
            tag, payload = self._message(timeout)
            if tag != b"R":
                return tag, payload
            self._ready(payload)

    def kill(self) -> None:
        """Stop the process now and reap it."""
        try:
            self.sock.close()
        except OSError:
            pass
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:  # pragma: no cover - a kill is not ignored
            _log.error("Export process %d did not end after a kill.", self.proc.pid)


class ExportProcesses:
    """The export processes of one server (one web app): the idle ones, index open, and
    those exporting now.

    :param index_dir: the index directory (as the server's settings name it)
    :param most: exports at once (each a process); more at the same time are a 503
    :param nice: how much lower the processes' CPU priority is than the server's
    :param idle: encode each export's rows in Linux's idle scheduling class while it
        gets a core (:class:`_Pump`)
    """

    def __init__(self, index_dir, most: int, nice: int = 0, idle: bool = False):
        self.index_dir = str(Path(index_dir).resolve())
        self.most = most
        self.nice = nice
        self.idle = idle
        self._lock = threading.Lock()
        self._idle: list[ExportProcess] = []
        self._busy: list[ExportProcess] = []
        self._closed = False
        # A server that ends in order (or is collected: tests) leaves no process behind:
        # a finalizer also runs at the interpreter's exit.
        self._finalizer = weakref.finalize(self, _close_all, self._lock, self._idle,
                                           self._busy)

    def start(self) -> None:
        """Start the warm process now (a server calls it before it takes requests), so
        the first export finds the index open."""
        with self._lock:
            if not self._idle and not self._busy and not self._closed:
                self._idle.append(ExportProcess(self.index_dir, self.nice, self.idle))

    def pids(self) -> list[int]:
        """The export processes' ids, idle and busy (tests, benchmarks)."""
        with self._lock:
            return [p.pid for p in self._idle + self._busy]

    def close(self) -> None:
        """Stop and reap every export process (the server is stopping)."""
        with self._lock:
            self._closed = True
        self._finalizer()

    def _take(self) -> ExportProcess:
        with self._lock:
            if self._closed:
                raise ExportError("The server is stopping; export again once it is back.")
            while self._idle:
                proc = self._idle.pop()
                if proc.alive():
                    self._busy.append(proc)
                    return proc
                _log.warning("Export process %d had ended (exit status %s); starting another.",
                             proc.pid, proc.proc.returncode)
                proc.kill()  # reaps it
            if len(self._busy) >= self.most:
                raise ExportError(f"{len(self._busy)} exports are running, the most this "
                                  f"server runs at once (setting EXPORT_PROCESSES): try again "
                                  f"when one has finished.")
            self._busy.append(None)  # the place is taken while the process starts
        try:
            proc = ExportProcess(self.index_dir, self.nice, self.idle)
        except OSError as e:
            with self._lock:
                self._busy.remove(None)
            _log.error("Could not start an export process: %s", e)
            raise ExportError(f"Could not start the export process ({e.strerror or e}); "
                              f"try again, and look at the server's log if it persists.") from e
        with self._lock:
            self._busy[self._busy.index(None)] = proc
        return proc

    def _give_back(self, proc: ExportProcess, usable: bool) -> None:
        with self._lock:
            if proc in self._busy:
                self._busy.remove(proc)
            keep = usable and not self._closed and len(self._idle) < KEEP_IDLE and proc.alive()
            if keep:
                self._idle.append(proc)
        if not keep:
            proc.kill()

    def export(self, request: SearchRequest, settings, fmt: str,
               chunk: int) -> tuple[int, Iterator[bytes]]:
        """Start an export in a process: ``(rows, blocks)``, once the process has ranked
        every match (an error until then raises here, as the same error as in the
        server: a 400 stays a 400); ``blocks`` yields the encoded rows (UTF-8) and
        stops the process's work when closed early.

        :param chunk: documents the process reads at a time (:data:`search.query.export.CHUNK`)
        :raises NewsfacetError: what the export raised in the process, or an
            :class:`ExportError` when the process could not run it
        """
        job = ("export", request, dict(settings), fmt, chunk)
        for attempt in (1, 2):
            proc = self._take()
            try:
                proc.send(job)
                tag, payload = proc.recv(STALL_SECONDS)
                break
            except _Gone:
                self._give_back(proc, usable=False)
                if attempt == 2:
                    raise ExportError("The export process ended before the export began; "
                                      "try again, and look at the server's log if it "
                                      "persists.") from None
                # A warm process that had died (killed, out of memory): one more, cold.
                _log.warning("Export process %d ended before it answered; starting another.",
                             proc.pid)
            except TimeoutError:
                self._give_back(proc, usable=False)
                raise ExportError(f"The export process did not answer within "
                                  f"{STALL_SECONDS:.0f} s; try again.") from None
        if tag == b"X":
            self._give_back(proc, usable=True)
            raise _error(payload)
        if tag != b"T":
            self._give_back(proc, usable=False)
            raise ExportError("The export process answered out of turn; try again.")
        return int(bytes(payload)), self._blocks(proc)

    def _blocks(self, proc: ExportProcess) -> _Blocks:
        return _Blocks(self, proc)


class _Blocks:
    """The encoded rows of one export as they come from its process; closed before the
    end (the client went away: the WSGI server closes what it was sending), it stops the
    process's work. A class, not a generator: one closed before its first block must
    still give its process back."""

    def __init__(self, owner: ExportProcesses, proc: ExportProcess):
        self._owner = owner
        self._proc = proc
        self._done = False  # the process ended its export itself (E or X)
        # How the process scheduled the rows' encoding, said at the end: "idle" (Linux's
        # idle class throughout), "starved" (begun there, finished at its nice: other
        # work kept every core busy), "normal".
        self.scheduled: str | None = None

    def __iter__(self) -> _Blocks:
        return self

    def __next__(self) -> bytes:
        proc = self._proc
        if proc is None:
            raise StopIteration
        try:
            tag, payload = proc.recv(STALL_SECONDS)
        except TimeoutError:
            _log.error("Export process %d sent nothing for %.0f s: stopped, and the export "
                       "cut short.", proc.pid, STALL_SECONDS)
            self.close()
            raise ExportError("The export stalled and was cut short; try again.") from None
        except _Gone:
            _log.error("Export process %d ended mid-export (exit status %s): the export was "
                       "cut short.", proc.pid, proc.proc.poll())
            self.close()
            raise ExportError("The export process ended mid-export; the rows sent are "
                              "incomplete. Try again.") from None
        if tag == b"B":
            return payload.tobytes()
        if tag == b"E":
            self._done = True
            self.scheduled = bytes(payload).decode("ascii", "replace") or "normal"
            if self.scheduled == "starved":
                _log.info("Export process %d waited for a core in the idle scheduling class "
                          "(other work kept every core busy) and finished at its nice.",
                          proc.pid)
            self.close()
            raise StopIteration
        if tag == b"X":
            self._done = True
            self.close()
            e = _error(payload)
            _log.error("Export cut short: %s", e)
            raise e
        self.close()
        raise ExportError("The export process answered out of turn; try again.")

    def close(self) -> None:
        """Give the process back; if its export is still running, stop it first."""
        proc, self._proc = self._proc, None
        if proc is not None:
            self._owner._give_back(proc, usable=self._done or _stop(proc))
            # The blocks passed through this server thread's heap, which glibc keeps for
            # the thread (search.query.export._give_back_memory says more).
            from search.query import export

            export._give_back_memory()


def _stop(proc: ExportProcess) -> bool:
    """Ask the process to stop its export and read on to its answer: whether it is
    ready for another export (else it is killed)."""
    try:
        proc.send(("stop",))
        deadline = time.monotonic() + STOP_SECONDS
        while True:
            tag, _ = proc.recv(max(0.0, deadline - time.monotonic()))
            if tag in (b"S", b"E", b"X"):
                return True
    except (_Gone, TimeoutError):
        return False


def _close_all(lock, idle: list, busy: list) -> None:
    with lock:
        procs = [p for p in idle + busy if p is not None]
        idle.clear()
        busy.clear()
    for p in procs:
        p.kill()


def _error(payload) -> NewsfacetError:
    """The error the process sent, as the same class, message and status."""
    data = json.loads(bytes(payload))
    cls = getattr(errorlib, data["kind"], None)
    if not (isinstance(cls, type) and issubclass(cls, NewsfacetError)):
        cls = ExportError
    e = cls.__new__(cls)
    Exception.__init__(e, data["message"])
    e.__dict__.update(data["attrs"])
    e.status = data["status"]
    return e


# --- the export process -------------------------------------------------------------------


def _error_bytes(e: Exception) -> bytes:
    if isinstance(e, NewsfacetError):
        attrs = {k: v for k, v in vars(e).items() if isinstance(v, (str, int, float, type(None)))}
        data = {"kind": type(e).__name__, "message": str(e),
                "status": int(getattr(e, "status", 500) or 500), "attrs": attrs}
    else:
        data = {"kind": "ExportError", "status": 500, "attrs": {},
                "message": "The export failed on our side; the error has been logged."}
    return b"X" + json.dumps(data).encode("utf-8")


class _Channel:
    """The process's end: sends that raise :class:`_Gone` once the server is gone."""

    def __init__(self, conn: Connection):
        self.conn = conn

    def send(self, data: bytes) -> None:
        try:
            self.conn.send_bytes(data)
        except (OSError, ValueError) as e:
            raise _Gone() from e

    def stop_asked(self) -> bool:
        try:
            return self.conn.poll() and self.conn.recv()[0] == "stop"
        except (EOFError, OSError, ValueError) as e:
            raise _Gone() from e


def _run(channel: _Channel, index_dir: str, request, settings, fmt: str, idle: bool) -> None:
    """One export: ``T``, then ``B`` blocks, then ``E`` (``S`` when stopped, ``X`` on error)."""
    from search.query import export

    try:
        total, rows = export.records(index_dir, request, settings)
    except Exception as e:
        if not isinstance(e, NewsfacetError):
            traceback.print_exc()
        channel.send(_error_bytes(e))
        return
    try:
        channel.send(b"T%d" % total)
        _Pump(channel, export.lines(rows, fmt)).run(idle)
    except _Gone:
        raise
    except Exception as e:
        if not isinstance(e, NewsfacetError):
            traceback.print_exc()
        channel.send(_error_bytes(e))
    finally:
        rows.close()


def _can_idle() -> bool:
    """Whether this system has the idle scheduling class and tells a thread's time spent
    waiting for a core (``/proc/thread-self/schedstat``), without which an export in
    that class could not tell that it is starved."""
    return hasattr(os, "SCHED_IDLE") and _waits() is not None


def _waits() -> tuple[int, int] | None:
    """This thread's nanoseconds on a core and waiting for one, or ``None`` (unknown)."""
    try:
        with open("/proc/thread-self/schedstat", "rb") as f:
            on_cpu, waiting = f.read().split()[:2]
        return int(on_cpu), int(waiting)
    except (OSError, ValueError):
        return None


class _Pump:
    """Encodes an export's rows into blocks and sends them.

    With ``idle``, a thread in Linux's idle scheduling class does it: a search waking in
    the server takes the core at once (at a nice of 5 or 19 it waited out the export's
    time slice: the other client's p95 rose ~1.3x during an export, ~1.15x in the idle
    class). A thread in that class gets almost nothing while other work keeps every core
    busy, and cannot leave it without privilege; so once it waits for a core more than
    :data:`STARVED_SHARE` of :data:`STARVED_WINDOW`, it hands the rest to this (the main)
    thread, in the normal class at the process's nice, and the export goes on there.
    Time blocked on a slow client is not waiting for a core: it does not count.
    """

    DONE, STOPPED, STARVED = "done", "stopped", "starved"

    def __init__(self, channel: _Channel, lines: Iterator[str]):
        self.channel = channel
        self.lines = lines
        self.block: list[str] = []
        self.size = 0
        self.outcome: str | None = None
        self.error: BaseException | None = None
        self.starved = False  # went on in the normal class

    def run(self, idle: bool) -> str:
        if idle:
            thread = threading.Thread(target=self._idle, name="newsfacet-export-idle")
            thread.start()
            thread.join()
            if self.error is not None:
                raise self.error
            if self.outcome != self.STARVED:
                return self.outcome
            self.starved = True
        return self._pump(watch=False)

    def _idle(self) -> None:
        try:
            try:
                os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))  # this thread only
            except OSError:  # refused here (a sandbox's policy): the normal class
                self.outcome = self._pump(watch=False)
                return
            self.outcome = self._pump(watch=True)
        except BaseException as e:  # raised again in the main thread
            self.error = e

    def _pump(self, watch: bool) -> str:
        channel = self.channel
        since = time.monotonic()
        before = _waits() if watch else None
        for line in self.lines:
            self.block.append(line)
            self.size += len(line)
            if self.size >= BLOCK:
                if channel.stop_asked():
                    channel.send(b"S")
                    return self.STOPPED
                channel.send(b"B" + "".join(self.block).encode("utf-8"))
                self.block, self.size = [], 0
            if before is not None and time.monotonic() - since >= STARVED_WINDOW:
                now = _waits()
                on_cpu, waiting = now[0] - before[0], now[1] - before[1]
                if waiting > STARVED_SHARE * (on_cpu + waiting):
                    return self.STARVED
                since, before = time.monotonic(), now
        if self.block:
            channel.send(b"B" + "".join(self.block).encode("utf-8"))
        channel.send(b"E" + (b"starved" if self.starved else b"idle" if watch else b"normal"))
        return self.DONE


def main(argv: list[str]) -> int:
    """The export process: ``python -m search.query.export_process FD INDEX_DIR [NICE
    [idle|normal]]``."""
    if len(argv) > 2 and int(argv[2]) > 0:  # first: the open runs below the server too
        os.nice(min(int(argv[2]), 19 - os.nice(0)))
    from search.config import Settings
    from search.query import export
    from search.query import generation
    from search.query import service

    channel = _Channel(Connection(int(argv[0])))
    index_dir = argv[1]
    idle = len(argv) > 3 and argv[3] == "idle" and _can_idle()
    # An export needs its own query's words, not the frequent words decoded ahead for
    # searches (up to 256 MB, and CPU the export wants).
    generation.PREWARM = False
    t0 = time.perf_counter()
    try:
        service.open_index(index_dir)
    except NewsfacetError:
        pass  # said to the server with the first export
    try:
        channel.send(b"R" + json.dumps({"open_ms": (time.perf_counter() - t0) * 1000}).encode())
        while True:
            try:
                job = channel.conn.recv()
            except (EOFError, OSError):
                return 0  # the server is gone
            if job[0] != "export":
                continue  # a stop for an export that had ended meanwhile
            _, request, settings, fmt, chunk = job
            export.CHUNK = min(chunk, IDLE_CHUNK) if idle else chunk
            _run(channel, index_dir, request, Settings(settings), fmt, idle)
    except _Gone:
        return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
