"""``bench.indexing`` reads the figures it compares from what ``newsfacet index`` prints,
and samples the memory of a real process tree: both checked here against the real parts
(the CLI's own summary printer, a real child process), so a change of either shows up
as a failing test rather than as a bench that stops at the end of a 20-minute run."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

from bench import indexing
from search.cli.index import _print_summary
from search.ingest.indexer import IndexReport


def test_the_summary_the_cli_prints_is_read_back(capsys):
    report = IndexReport(indexed=10056, files_read=3, commits=7, text_seconds=123.4,
                         enriched=4189, enriched_where="in 2 local worker processes",
                         entities_pending=2, articles_total=10056, generation="gen-000001",
                         seconds=456.7)
    _print_summary(report, verbose=False)
    text = capsys.readouterr().out
    found = {k: rx.search(text) for k, rx in indexing._SUMMARY.items()}
    # entities are not all in (2 pending): no "all in after" time is said
    assert found.pop("entities") is None
    assert all(found.values()), text
    assert indexing._num(found["indexed"][1]) == 10056
    assert (indexing._num(found["text"][1]), indexing._num(found["text"][2])) == (123.4, 7)
    assert indexing._num(found["enriched"][1]) == 4189
    assert indexing._num(found["seconds"][1]) == 456.7
    assert indexing._num(found["pending"][1]) == 2
    done = dataclasses.replace(report, entities_pending=0, entities_seconds=321.0)
    _print_summary(done, verbose=False)
    found = indexing._SUMMARY["entities"].search(capsys.readouterr().out)
    assert found and indexing._num(found[1]) == 321.0


def test_percentile_is_the_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert indexing.percentile(values, 0.5) == 50.0
    assert indexing.percentile(values, 0.95) == 95.0
    assert indexing.percentile([7.0], 0.95) == 7.0


def test_tree_memory_counts_the_children_of_the_process():
    # A parent that starts a child holding 64 MB: the tree's sum must include it.
    code = ("import subprocess, sys, time; "
            "c = subprocess.Popen([sys.executable, '-c', "
            "'import time; b = bytearray(64 * 2**20); b[::4096] = b\"x\" * len(b[::4096]); "
            "time.sleep(3)']); c.wait()")
    proc = subprocess.Popen([sys.executable, "-c", code])
    memory = indexing.TreeMemory(proc.pid)
    memory.start()
    try:
        proc.wait(timeout=30)
    finally:
        memory.halt.set()
        memory.join()
    assert memory.samples > 3
    assert memory.peak_procs == 2
    assert memory.peak_rss > 64 * 2**20
    if memory.pss_samples:
        assert memory.peak_pss > 64 * 2**20
