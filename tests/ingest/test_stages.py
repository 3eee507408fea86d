"""Issue 11: text first, entities behind; nothing lost and nothing redone across a kill.

The run under test is real (real files, the real spaCy model, a real Whoosh index on
disk). "During a run" is reached through the indexer's own hooks: ``on_commit`` (called
after each commit of the text stage) and ``progress`` — never by sleeping. A run that is
killed is a subprocess stopped alive at a hook (it writes a marker and blocks on its
stdin), then SIGKILLed.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from whoosh import index as whoosh_index

from search import storage
from search.config import Settings
from search.ingest.enrich.cache import FILE_NAME as CACHE_FILE
from search.ingest.indexer import index_paths
from search.models import SearchRequest
from search.query import generation
from search.query import service
from search.sidestore import SideStore
from tests.conftest import ROOT
from tests.conftest import bbc_slice
from tests.stored import entity_states

# Commit after every batch of articles: a short run then has many commits to look at.
EVERY_BATCH = Settings.load({"COMMIT_SECONDS": 0})
PER_CATEGORY = 24  # 120 BBC articles in all


@pytest.fixture(scope="module")
def bbc(tmp_path_factory) -> Path:
    """The first PER_CATEGORY articles of each bbc-news category, one file each."""
    return bbc_slice(tmp_path_factory.mktemp("bbc-stages"), PER_CATEGORY)


def doc_count(index_dir: Path) -> int:
    return whoosh_index.open_dir(str(storage.current(index_dir))).doc_count()


def cache_keys(index_dir: Path) -> set[str]:
    """The texts in the index's enrichment cache (by key)."""
    db = sqlite3.connect(index_dir / CACHE_FILE)
    try:
        return {k for (k,) in db.execute("SELECT key FROM enriched")}
    finally:
        db.close()


def test_search_works_between_commits_of_a_first_build(bbc, tmp_path, monkeypatch):
    index_dir = tmp_path / "ix"
    seen = []
    # A server looks for a new commit at most every RECHECK_SECONDS; these commits come
    # faster than that, and each is searched at once.
    monkeypatch.setattr(generation, "RECHECK_SECONDS", 0)

    def on_commit(commit):
        if commit.final:
            return
        # The index is live from the first commit, and holds exactly what is committed.
        assert commit.live and storage.current(index_dir) == commit.generation
        everything = service.search(index_dir, SearchRequest(q=""))
        assert everything.total == commit.committed
        # NER runs in this process after the text stage: every entity count is partial.
        assert everything.to_json()["partial_facets"] is True
        # Text search finds what was committed, before any entity is in.
        said = service.search(index_dir, SearchRequest(q="said"))
        assert 0 < said.total <= commit.committed
        seen.append(commit.committed)

    report = index_paths([bbc], index_dir, processes=1, on_commit=on_commit,
                         settings=EVERY_BATCH)
    assert report.indexed == 5 * PER_CATEGORY
    # Many commits, each holding more articles than the one before.
    assert len(seen) >= 4 and seen == sorted(set(seen))
    assert report.commits == len(seen) + 1
    # The entities came in behind, every one of them by the end of the run.
    states = entity_states(index_dir)
    assert len(states) == 5 * PER_CATEGORY
    assert all(state == "done" for state, _ in states.values())
    assert sum(len(ents.person) for _, ents in states.values()) > 50
    assert report.entities_pending == 0
    assert service.search(index_dir, SearchRequest(q="")).to_json()["partial_facets"] is False


def test_entities_are_not_in_before_the_text_is(bbc, tmp_path):
    """At the first commit of a run whose NER runs in this process, the text is
    searchable and the side store says which articles still wait for their entities."""
    index_dir = tmp_path / "ix"
    pending_at_first = []

    def on_commit(commit):
        if not pending_at_first:
            side = SideStore(commit.generation, readonly=True)
            try:
                pending_at_first.append(side.counts())
            finally:
                side.close()

    index_paths([bbc], index_dir, processes=1, on_commit=on_commit, settings=EVERY_BATCH)
    counts = pending_at_first[0]
    assert counts.pending > 0
    assert counts.pending + counts.done == 16  # one batch was committed


# A real `index` run in a subprocess, stopped alive at a hook named by argv[2]:
# "commit:N" - the text stage has committed N articles or more;
# "entities:N" - N articles or more have their entities (the text is all committed).
KILLABLE = r"""
import sys
from pathlib import Path

marker, point, index_dir = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
paths = sys.argv[4:]
kind, n = point.split(":")
n = int(n)

def stop_here(count):
    marker.write_text(str(count))
    sys.stdin.read()  # blocks until killed: the test never writes to it

def on_commit(c):
    if kind == "commit" and c.committed >= n:
        stop_here(c.committed)

def progress(p):
    if kind == "entities" and p.entities_done >= n:
        stop_here(p.entities_done)

from search.config import Settings
from search.ingest.indexer import index_paths
index_paths(paths, index_dir, processes=1, on_commit=on_commit, progress=progress,
            settings=Settings.load({"COMMIT_SECONDS": 0}))
"""


def run_until(point: str, index_dir: Path, paths: list[Path], tmp_path: Path) -> int:
    """Start a real run, wait for it to reach ``point``, SIGKILL it; the count it gave."""
    marker = tmp_path / "stopped"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLABLE, str(marker), point, str(index_dir),
         *map(str, paths)],
        cwd=ROOT, stdin=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not marker.exists():
            assert proc.poll() is None, f"the run ended (exit {proc.returncode}) before {point}"
            assert time.monotonic() < deadline, f"the run never reached {point}"
            time.sleep(0.05)
        while not marker.read_text():
            time.sleep(0.01)
        return int(marker.read_text())
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdin.close()


def test_a_run_killed_in_the_text_stage_keeps_what_it_committed_and_resumes(bbc, tmp_path):
    index_dir = tmp_path / "ix"
    committed = run_until("commit:48", index_dir, [bbc], tmp_path)
    # Killed: what was committed is live and searchable, and nothing else is there.
    assert committed >= 48
    assert doc_count(index_dir) == committed
    assert service.search(index_dir, SearchRequest(q="")).total == committed

    report = index_paths([bbc], index_dir, processes=1)
    # The files whose articles were committed are not read again (but the one being
    # read at the commit, not yet recorded as finished); the rest are.
    assert committed - 1 <= report.files_unchanged <= committed
    assert report.indexed == 5 * PER_CATEGORY - report.files_unchanged
    assert doc_count(index_dir) == 5 * PER_CATEGORY
    states = entity_states(index_dir)
    assert len(states) == 5 * PER_CATEGORY
    assert all(state == "done" for state, _ in states.values())


def test_a_run_killed_in_the_entity_stage_resumes_without_running_ner_twice(bbc, tmp_path):
    index_dir = tmp_path / "ix"
    done = run_until("entities:48", index_dir, [bbc], tmp_path)
    assert done >= 48
    # The text was all in before the entities: every article is searchable.
    assert doc_count(index_dir) == 5 * PER_CATEGORY
    before = entity_states(index_dir)
    side = SideStore(storage.current(index_dir), readonly=True)
    try:
        pending = side.pending()  # (id, the key of its text in the enrichment cache)
    finally:
        side.close()
    # The side store commits entities at most once a second, so the kill may have cost
    # it some of those the cache has (written before the side store): those are still
    # pending here, and must not be run through NER again.
    assert 0 < len(pending) < 5 * PER_CATEGORY
    cached = cache_keys(index_dir)
    assert len(cached) >= 48

    report = index_paths([bbc], index_dir, processes=1)
    assert report.indexed == 0 and report.files_unchanged == 5 * PER_CATEGORY
    # NER ran once per text it had never run on (articles with the same text share one
    # call), and not at all for the pending articles whose text the cache had.
    assert report.enriched == len({key for _, key in pending if key not in cached})
    assert report.entities_from_cache == sum(1 for _, key in pending if key in cached)
    assert cache_keys(index_dir) - cached == {key for _, key in pending if key not in cached}
    after = entity_states(index_dir)
    assert all(state == "done" for state, _ in after.values())
    # What was done before the kill is unchanged.
    for aid, (state, ents) in before.items():
        if state == "done":
            assert after[aid][1] == ents


def test_a_run_killed_in_the_entity_stage_gives_the_same_entities_as_one_not_killed(
        bbc, tmp_path):
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    run_until("entities:32", killed, [bbc], tmp_path)
    index_paths([bbc], killed, processes=1)
    index_paths([bbc], whole, processes=1)
    assert entity_states(killed) == entity_states(whole)
