"""Writing with grouped postings (search.ingest.postings) against Whoosh's own posting
pool, in the same run: CPU time, wall time and peak memory of writing the same articles
into one segment, and whether the files are the same bytes.

Input: bbc-news (2,225 English) and the first ``--arabic`` articles of saudinewsnet-ar,
read by the real readers, each with its corpus's language (``bench.analysis_writing``'s
loader). Each write runs in a process forked for it (as the indexer's writer processes
are), so each starts with an empty analysis memo and its peak RSS is its own; the two
ways alternate, ``--repeat`` rounds, at each buffer size of ``--limits`` (MB: the
default, where this segment fits in grouped postings, and a small one, where either
pool spills sorted runs to disk: "runs" counts them). Medians; the ratio is grouped ÷
Whoosh's.

    .venv/bin/python -m bench.postings
    .venv/bin/python -m bench.postings --arabic 1000 --repeat 5 --limits 384
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.analysis_writing import articles  # noqa: E402
from search.ingest import postings  # noqa: E402
from search.ingest import writing  # noqa: E402

MODES = ("whoosh", "grouped")


def _segment_files(gen: Path) -> list[tuple[str, bytes]]:
    return sorted((p.suffix, p.read_bytes()) for p in gen.iterdir()
                  if p.suffix in {".trm", ".pst", ".col"})


def _write(arts, mode: str, limitmb: float, folder: str, conn) -> None:
    # In the forked child: one segment, one in-process writer.
    (postings.install if mode == "grouped" else postings.uninstall)()
    writing.WRITER_LIMITMB = limitmb
    from whoosh.writing import PostingPool

    runs = []
    new_run = PostingPool._new_run

    def counted(pool):
        runs.append(1)
        return new_run(pool)

    PostingPool._new_run = counted  # every run either pool writes to disk
    cpu, wall = time.process_time(), time.perf_counter()
    gen = writing.write_generation(arts, folder)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    conn.send((cpu, wall, peak, len(runs), str(gen)))
    conn.close()


def _idle(conn) -> None:
    conn.send(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    conn.close()


def _in_child(target, *args):
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=target, args=(*args, child))
    proc.start()
    child.close()
    got = parent.recv()
    proc.join()
    return got


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arabic", type=int, default=3000, help="saudinewsnet-ar articles")
    ap.add_argument("--repeat", type=int, default=3, help="rounds of each way")
    ap.add_argument("--limits", default=f"{writing.WRITER_LIMITMB},64",
                    help="buffer sizes in MB, comma-separated")
    args = ap.parse_args(argv)
    arts = articles(0, args.arabic)
    base_rss = _in_child(_idle)
    load = os.getloadavg()
    rows = []
    same = True
    with tempfile.TemporaryDirectory(prefix="newsfacet-bench-postings-") as tmp:
        for limit in (float(x) for x in args.limits.split(",")):
            got = {mode: [] for mode in MODES}
            files = {}
            for r in range(args.repeat):
                for mode in (MODES if r % 2 == 0 else MODES[::-1]):
                    folder = os.path.join(tmp, f"{mode}-{limit}-{r}")
                    cpu, wall, peak, runs, gen = _in_child(_write, arts, mode, limit, folder)
                    got[mode].append((cpu, wall, peak, runs))
                    print(f"  … {limit:g} MB {mode}: CPU {cpu:.1f} s, wall {wall:.1f} s, "
                          f"peak RSS {peak / 2**20:.0f} MB, {runs} runs on disk",
                          file=sys.stderr, flush=True)
                    files.setdefault(mode, _segment_files(Path(gen)))
            same = same and files["whoosh"] == files["grouped"]
            med = {mode: [statistics.median(v[i] for v in got[mode]) for i in range(4)]
                   for mode in MODES}
            for mode in MODES:
                cpu, wall, peak, runs = med[mode]
                rows.append((f"{limit:g}", mode, cpu, wall, (peak - base_rss) / 2**20, runs,
                             cpu / med["whoosh"][0]))

    print(f"\nWriting {len(arts)} articles (bbc-news + {args.arabic} saudinewsnet-ar) into one "
          f"segment, one process forked per write; medians of {args.repeat}; load average at "
          f"start {load[0]:.2f} on {os.cpu_count()} cores (shared machine)\n")
    print(f"{'buffer MB':>9}  {'pool':8} {'CPU s':>7} {'wall s':>7} {'peak RSS MB':>12} "
          f"{'runs':>6} {'CPU ratio':>9}")
    for limit, mode, cpu, wall, peak, runs, ratio in rows:
        print(f"{limit:>9}  {mode:8} {cpu:7.1f} {wall:7.1f} {peak:12.0f} {runs:6.0f} "
              f"{ratio:9.2f}")
    print(f"\n(peak RSS above a forked child that writes nothing, {base_rss / 2**20:.0f} MB)")
    print("same index files: " + ("yes, byte for byte" if same else "NO, they differ"))


if __name__ == "__main__":
    main()
