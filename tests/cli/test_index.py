"""`newsfacet index`, `info` and the CLI's contract (exit codes, messages), on real files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from whoosh import index as whoosh_index

from search import storage
from search.cli import main
from search.schema import SCHEMA_VERSION
from tests.conftest import CORPORA
from tests.conftest import ROOT
from tests.conftest import SEED_000
from tests.conftest import SEED_004


def run(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)


def doc_count(index_dir: Path) -> int:
    return whoosh_index.open_dir(str(storage.current(index_dir))).doc_count()


@pytest.fixture
def seeds_index(tmp_path) -> Path:
    index_dir = tmp_path / "ix"
    result = run("index", SEED_000, SEED_004, "--index", index_dir, "--quiet", "--processes", 1)
    assert result.exit_code == 0, result.output
    return index_dir


@pytest.mark.parametrize("module", ["search", "search.cli"])
def test_help_through_python_m(module):
    out = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    for command in ("index", "info", "serve"):
        assert command in out.stdout


def test_index_then_info_honours_newsfacet_index(tmp_path):
    env = {"NEWSFACET_INDEX": str(tmp_path / "ix")}
    result = run("index", SEED_000, SEED_004, "-q", "--processes", 1, env=env)
    assert result.exit_code == 0, result.output
    assert "Indexed 2 articles" in result.output
    assert doc_count(tmp_path / "ix") == 2

    result = run("info", "--json", env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["articles"] == 2 and data["size_bytes"] > 0
    assert set(data["facets"]) >= {"outlet", "lang", "person", "org", "place"}
    assert {"value": "en", "count": 2} in data["facets"]["lang"]
    assert "Pentagon" in [v["value"] for v in data["facets"]["org"]]

    text = run("info", env=env)
    assert text.exit_code == 0, text.output
    assert "Articles: 2" in text.output and "lang: en (2)" in text.output


def test_second_run_reports_unchanged(seeds_index):
    result = run("index", SEED_000, SEED_004, "--index", seeds_index, "-q")
    assert result.exit_code == 0, result.output
    assert "Indexed 0 articles" in result.output and "2 unchanged" in result.output


def test_busy_index_exits_3_and_stays_intact(seeds_index):
    with storage.write_lock(seeds_index):
        result = CliRunner().invoke(main, ["index", str(SEED_000), "--index", str(seeds_index),
                                           "-q", "--rebuild"],
                                    env={"NEWSFACET_LOCK_TIMEOUT": "0.3"})
    assert result.exit_code == 3, result.output
    assert "busy" in result.output and "Traceback" not in result.output
    assert doc_count(seeds_index) == 2


def test_bad_input_is_listed_and_does_not_fail_the_run(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "good.txt").write_text("Talks resume\n\nThe minister said talks in Brussels "
                                   "would resume on Monday.\n", encoding="utf-8")
    (data / "junk.txt").write_bytes(bytes(range(256)) * 8)
    (data / "recs.jsonl").write_text('{"title": "A", "text": "Rain in Oslo today."}\n{oops\n',
                                     encoding="utf-8")
    result = run("index", data, "--index", tmp_path / "ix", "-q", "--processes", 1)
    assert result.exit_code == 0, result.output
    assert f"{data / 'junk.txt'}: " in result.output
    assert f"{data / 'recs.jsonl'}:2: " in result.output
    assert "skipped 2" in result.output
    assert doc_count(tmp_path / "ix") == 2


def test_long_skip_lists_are_capped(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for n in range(14):
        (data / f"junk{n:02d}.txt").write_bytes(b"\x00\x01" * 50)
    (data / "good.txt").write_text("Title\n\nSome text about Paris.\n", encoding="utf-8")
    short = run("index", data, "--index", tmp_path / "ix", "-q", "--processes", 1)
    assert short.exit_code == 0, short.output
    assert "… and 4 more (use --verbose)" in short.output
    full = run("index", data, "--index", tmp_path / "ix", "-q", "--verbose")
    assert "junk13.txt" in full.output and "more (use --verbose)" not in full.output


def test_nothing_usable_exits_1(tmp_path):
    (tmp_path / "junk.txt").write_bytes(b"\x00" * 100)
    result = run("index", tmp_path / "junk.txt", "--index", tmp_path / "ix", "-q")
    assert result.exit_code == 1, result.output
    assert "Nothing to index" in result.output
    missing = run("index", tmp_path / "nope", "--index", tmp_path / "ix", "-q")
    assert missing.exit_code == 1 and "no such file or folder" in missing.output
    assert storage.current(tmp_path / "ix") is None


def test_usage_errors_exit_2_and_missing_index_exits_1(tmp_path):
    assert run("index").exit_code == 2
    assert run("index", SEED_000, "--processes", 0).exit_code == 2
    result = run("info", "--index", tmp_path / "nothing")
    assert result.exit_code == 1 and "No index at" in result.output
    served = run("serve", "--index", tmp_path / "nothing", "--port", 0)
    assert served.exit_code == 2  # port 0 is out of range


@pytest.mark.corpus
def test_sigkill_mid_rebuild_leaves_the_old_index_live(seeds_index):
    live = storage.current(seeds_index)
    bbc = CORPORA / "bbc-news" / "bbc-fulltext.tar.gz"
    proc = subprocess.Popen(
        [sys.executable, "-m", "search", "index", str(bbc), "--index", str(seeds_index),
         "--rebuild", "--quiet", "--processes", "2"],
        cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # Wait until the new generation is being written (its Whoosh files exist).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            gens = storage.generations(seeds_index)
            if len(gens) > 1 and any(gens[-1].glob("*.toc")):
                time.sleep(1.0)  # let it get properly under way
                break
            time.sleep(0.1)
        assert proc.poll() is None, "the rebuild ended before it could be interrupted"
    finally:
        # Kill the whole session: the CLI and its enrichment workers.
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert len(storage.generations(seeds_index)) == 2
    assert storage.current(seeds_index) == live
    assert doc_count(seeds_index) == 2
    # And the next run works: the lock died with the process.
    result = run("index", SEED_000, SEED_004, "--index", seeds_index, "-q")
    assert result.exit_code == 0, result.output


def test_an_index_of_another_schema_version_must_be_rebuilt_not_updated(seeds_index):
    live = storage.current(seeds_index)
    assert storage.schema_version(live) == SCHEMA_VERSION
    storage.set_schema_version(live, SCHEMA_VERSION - 1)  # as an older Newsfacet left it
    updated = run("index", SEED_000, "--index", seeds_index, "-q")
    assert updated.exit_code == 1
    assert "--rebuild" in updated.output and f"version {SCHEMA_VERSION - 1}" in updated.output
    assert storage.current(seeds_index) == live  # untouched
    rebuilt = run("index", SEED_000, SEED_004, "--index", seeds_index, "--rebuild", "-q")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert storage.schema_version(storage.current(seeds_index)) == SCHEMA_VERSION
