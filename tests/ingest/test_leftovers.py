"""Issue 9, defect 7: killed runs leave no garbage, and the switch is durable.

A real ``index`` run in a subprocess is stopped at a chosen point — it writes a marker
file there and blocks reading its stdin — and the test SIGKILLs its whole session once
the marker exists: no sleeps decide when the kill lands.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from whoosh import index as whoosh_index

from search import storage
from search.ingest.indexer import build_index
from search.ingest.indexer import index_paths
from tests.conftest import ROOT

TEXT = ("The ferry to the islands was cancelled on Monday because of the gale, the operator "
        "said, and will run again once the wind drops.")

# Runs an index in a subprocess and stops it, alive, at the point named by argv[2]:
# "read" - a file has been read into the open writer (progress callback);
# "switch" - the new generation is finished and the `current` link is about to move.
KILLABLE = r"""
import os, sys
from pathlib import Path

marker, point, index_dir, rebuild = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
paths = sys.argv[5:]

def stop_here():
    marker.write_text(str(os.getpid()))
    sys.stdin.read()  # blocks until killed: the test never writes to it

progress = None
if point == "read":
    def progress(p):
        if p.files_done >= 1:
            stop_here()
elif point == "switch":
    real_replace = os.replace
    def replace(src, dst, *args, **kw):
        if Path(src).name.startswith(".current."):
            stop_here()
        return real_replace(src, dst, *args, **kw)
    os.replace = replace

from search.ingest.indexer import index_paths
index_paths(paths, index_dir, rebuild=rebuild == "rebuild", processes=1, progress=progress)
"""


def write_jsonl(path: Path, first: int, count: int = 3) -> Path:
    path.write_text("".join(json.dumps({"title": f"Ferry {n}", "text": f"Report {n}. {TEXT}"})
                            + "\n" for n in range(first, first + count)), encoding="utf-8")
    return path


def titles(index_dir: Path) -> set[str]:
    ix = whoosh_index.open_dir(str(storage.current(index_dir)))
    with ix.searcher() as s:
        return {d["title"] for d in s.all_stored_fields()}


def kill_at(point: str, index_dir: Path, paths: list[Path], tmp_path: Path, *,
            rebuild: bool) -> None:
    """Run ``index`` in a subprocess, wait until it reaches ``point``, SIGKILL it."""
    marker = tmp_path / f"reached-{point}"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLABLE, str(marker), point, str(index_dir),
         "rebuild" if rebuild else "update", *map(str, paths)],
        cwd=ROOT, start_new_session=True, stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the run never reached the kill point"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdin.close()
        proc.stderr.close()


def test_a_killed_rebuild_leaves_nothing_the_next_run_keeps(tmp_path):
    ix = tmp_path / "ix"
    a = write_jsonl(tmp_path / "a.jsonl", 1)
    b = write_jsonl(tmp_path / "b.jsonl", 10)
    build_index([a], ix, processes=1)
    live = storage.current(ix)

    kill_at("read", ix, [a, b], tmp_path, rebuild=True)
    left = [g for g in storage.generations(ix) if g != live]
    assert len(left) == 1 and storage.current(ix) == live  # the killed rebuild's

    # A plain update removes it; the live generation and its articles stay.
    report = index_paths([a], ix, processes=1)
    assert report.unchanged == 3
    assert storage.generations(ix) == [live] and storage.current(ix) == live
    assert titles(ix) == {"Ferry 1", "Ferry 2", "Ferry 3"}


def test_after_killed_rebuilds_the_previous_generation_is_a_complete_one(tmp_path):
    ix = tmp_path / "ix"
    a = write_jsonl(tmp_path / "a.jsonl", 1)
    b = write_jsonl(tmp_path / "b.jsonl", 10)
    build_index([a], ix, processes=1)
    first = storage.current(ix)
    kill_at("read", ix, [a, b], tmp_path, rebuild=True)

    report = build_index([a, b], ix, processes=1)
    new = storage.current(ix)
    # The generation kept for readers still on the old index is the one they used,
    # never the half-built one (which would be the newest "older" one by name).
    assert storage.generations(ix) == [first, new]
    assert report.articles_total == 6 and report.enriched == 3  # b's NER, once
    assert storage.is_complete(first) and storage.is_complete(new)


def test_a_kill_at_the_switch_leaves_no_temporary_link_behind(tmp_path):
    ix = tmp_path / "ix"
    a = write_jsonl(tmp_path / "a.jsonl", 1)
    build_index([a], ix, processes=1)
    live = storage.current(ix)

    kill_at("switch", ix, [a], tmp_path, rebuild=True)
    assert list(ix.glob(".current.*.tmp"))  # what the kill left
    assert storage.current(ix) == live

    index_paths([a], ix, processes=1)
    assert list(ix.glob(".current.*.tmp")) == []
    assert storage.generations(ix) == [live] and storage.current(ix) == live
    assert titles(ix) == {"Ferry 1", "Ferry 2", "Ferry 3"}


def test_a_killed_first_build_leaves_no_generation_and_the_next_run_builds(tmp_path):
    ix = tmp_path / "ix"
    a = write_jsonl(tmp_path / "a.jsonl", 1)
    b = write_jsonl(tmp_path / "b.jsonl", 10)
    kill_at("read", ix, [a, b], tmp_path, rebuild=False)
    assert storage.current(ix) is None and len(storage.generations(ix)) == 1

    report = index_paths([a, b], ix, processes=1)
    assert report.articles_total == 6
    assert storage.generations(ix) == [storage.current(ix)]


def test_a_killed_update_keeps_what_the_index_had(tmp_path):
    ix = tmp_path / "ix"
    a = write_jsonl(tmp_path / "a.jsonl", 1)
    index_paths([a], ix, processes=1)
    live = storage.current(ix)
    b = write_jsonl(tmp_path / "b.jsonl", 10)
    c = write_jsonl(tmp_path / "c.jsonl", 20)
    kill_at("read", ix, [tmp_path], tmp_path, rebuild=False)
    assert storage.current(ix) == live and titles(ix) == {"Ferry 1", "Ferry 2", "Ferry 3"}

    report = index_paths([a, b, c], ix, processes=1)
    assert report.articles_total == 9 and storage.generations(ix) == [live]


def test_the_new_generation_is_on_disk_before_the_switch(tmp_path, monkeypatch):
    """Every file of the new generation and its folder are fsynced before ``current``
    moves, and the index directory after (so the switch itself survives a power cut)."""
    ix = tmp_path / "ix"
    a = write_jsonl(tmp_path / "a.jsonl", 1)
    build_index([a], ix, processes=1)
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    def replace(src, dst, *args, **kw):
        events.append(("replace", str(dst)))
        return real_replace(src, dst, *args, **kw)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    build_index([a], ix, processes=1)
    new = storage.current(ix)
    switch = events.index(("replace", str(ix / "current")))
    synced_before = {p for e, p in events[:switch] if e == "fsync"}
    files = {str(p) for p in new.iterdir() if p.is_file()}
    assert files and files <= synced_before
    assert str(new) in synced_before
    assert ("fsync", str(ix)) in events[switch + 1:]
