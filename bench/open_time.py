"""Open time of a generation: what a server pays before its first answer, same run.

Opens the query benchmark's index (``bench/query_speed.py``, ``--articles``, built by
``write_generation``) ``--repeat`` times in this process, each a cold
``Generation(path)`` (nothing carried over), and prints the median and best wall and
CPU time (this thread: the background decoding of frequent words is not counted),
with the parts the generation reports (``Generation.open_ms``, when it has them).

To compare with another checkout (e.g. the commit before a change), copy this file
into its ``bench/`` and run it there: it measures whatever ``search`` sits beside it.

    .venv/bin/python -m bench.open_time                  # 50,000 articles, 5 opens
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.query_speed import ensure  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    import search
    from search import storage
    from search.query.generation import Generation

    path = storage.require_current(ensure(args.articles, ("whoosh",)) / "whoosh")
    wall, cpu, parts = [], [], {}
    for _ in range(args.repeat):
        t, c = time.perf_counter(), time.thread_time()
        gen = Generation(path)
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.thread_time() - c) * 1000)
        for k, v in getattr(gen, "open_ms", {}).items():
            parts.setdefault(k, []).append(v)
        gen.close()
    print(f"\n{args.articles:,} articles, {args.repeat} cold opens, code of "
          f"{Path(search.__file__).parent.parent}")
    print(f"{'ms':<12}{'median':>10}{'best':>10}")
    for label, xs in (("wall", wall), ("CPU", cpu), *parts.items()):
        print(f"{label:<12}{statistics.median(xs):>10.0f}{min(xs):>10.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
