"""Where the text stage of ``index`` spends its time: the indexer in this process, with
wall-clock timers around its parts.

Runs ``index_paths`` over the same input as :mod:`bench.indexing` (``--limit N`` for a
slice) into a fresh index directory (cold enrichment cache) with the local NER pool,
and stops the run when its text stage is over (the entity stage is measured end to end
by ``bench.indexing``). The timers wrap what the text stage calls (reading, cleanup, the
enrichment cache, langdetect, filling in, the vocabulary, ``to_document``, the Whoosh
writer's ``add_document`` and ``commit``, the NER queue pump, the side store), so each
part's share of the main process's wall time shows; a part called inside another is
indented under it. Wall time, not CPU time: a part slowed by other processes wanting
the same cores (Whoosh writer processes, NER workers, anything else on the machine)
shows as slower. ``--no-ner`` treats every article as not needing NER (no worker
starts), which shows what the workers cost the text stage; ``--compare`` runs both.

    .venv/bin/python -m bench.indexing_breakdown --limit 2000
    .venv/bin/python -m bench.indexing_breakdown --compare      # ~10k articles, with and without NER
"""

from __future__ import annotations

import argparse
import collections
import functools
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.indexing import slices  # noqa: E402
from search import vocabulary  # noqa: E402
from search.ingest import indexer  # noqa: E402
from search.ingest import readers  # noqa: E402
from search.ingest import writing  # noqa: E402
from search.ingest.enrich import cache as cache_module  # noqa: E402
from search.ingest.enrich import cleanup  # noqa: E402
from search.ingest.enrich import entities as entities_module  # noqa: E402
from search.ingest.enrich import language  # noqa: E402
from search.ingest.enrich import pipeline  # noqa: E402

# (name, depth): the parts in the order printed; depth 1 is inside the part above it.
PARTS = [
    ("text stage (main process, wall)", 0),
    ("reading (reader generators)", 1),
    ("cleanup", 1),
    ("cache key + cache lookup", 1),
    ("langdetect", 1),
    ("fill in (outlet, language)", 1),
    ("vocabulary collect", 1),
    ("to_document", 1),
    ("Whoosh add_document", 1),
    ("between batches (pump NER, commit when due)", 1),
    ("pump: NER queue and results", 2),
    ("commit (side store, vocabulary, Whoosh)", 2),
    ("Whoosh writer commit", 3),
    ("final commit (side store, vocabulary, Whoosh)", 1),
    ("Whoosh writer commit (final)", 2),
]
TOTALS: dict[str, float] = collections.defaultdict(float)
CALLS: dict[str, int] = collections.defaultdict(int)


class TextDone(Exception):
    """Raised when the entity stage would begin: the run stops there."""


def timer(name: str, fn):
    """``fn`` with its wall time added to ``TOTALS[name]``."""

    @functools.wraps(fn)
    def wrapped(*a, **kw):
        t = time.perf_counter()
        try:
            return fn(*a, **kw)
        finally:
            TOTALS[name] += time.perf_counter() - t
            CALLS[name] += 1
    return wrapped


def timed_generator(name: str, fn):
    """A generator function whose every step's wall time goes to ``TOTALS[name]``."""

    @functools.wraps(fn)
    def wrapped(*a, **kw):
        it = iter(fn(*a, **kw))
        while True:
            t = time.perf_counter()
            try:
                item = next(it)
            except StopIteration:
                TOTALS[name] += time.perf_counter() - t
                return
            TOTALS[name] += time.perf_counter() - t
            CALLS[name] += 1
            yield item
    return wrapped


def instrument() -> None:
    """Put the timers in place (this process only; worker processes are left alone)."""
    readers.read_file = timed_generator("reading (reader generators)", readers.read_file)
    cleanup.clean = timer("cleanup", cleanup.clean)
    indexer.cache_key = timer("cache key + cache lookup", indexer.cache_key)
    cache_module.EnrichCache.get = timer("cache key + cache lookup",
                                         cache_module.EnrichCache.get)
    language.detect_language = timer("langdetect", language.detect_language)
    pipeline.apply = timer("fill in (outlet, language)", pipeline.apply)
    vocabulary.Collector.add = timer("vocabulary collect", vocabulary.Collector.add)
    indexer.to_document = timer("to_document", indexer.to_document)
    run = indexer._Run
    run._text_stage = timer("text stage (main process, wall)", run._text_stage)
    run._between_batches = timer("between batches (pump NER, commit when due)",
                                 run._between_batches)
    run._pump = timer("pump: NER queue and results", run._pump)
    commit = run._commit

    def _commit(self, manifest, final):
        name = "final commit (side store, vocabulary, Whoosh)" if final else \
            "commit (side store, vocabulary, Whoosh)"
        return timer(name, commit)(self, manifest, final)

    run._commit = _commit
    open_writer = writing.open_writer

    def _open_writer(ix, procs=1):
        w = open_writer(ix, procs)
        w.add_document = timer("Whoosh add_document", w.add_document)
        inner = w.commit

        def commit_(*a, **kw):
            final = not getattr(w, "_bench_not_final", False)
            return timer("Whoosh writer commit (final)" if final else "Whoosh writer commit",
                         inner)(*a, **kw)
        w.commit = commit_
        return w

    writing.open_writer = _open_writer
    # Which commits are final: the indexer's own flag, seen from _commit.
    real_commit = run._commit

    def _commit_flagged(self, manifest, final):
        if self.writer is not None:
            self.writer._bench_not_final = not final
        return real_commit(self, manifest, final)

    run._commit = _commit_flagged

    def stop(self):
        raise TextDone

    run._entity_stage = stop


def measure(paths: list[Path], index_dir: Path, processes: int) -> tuple[float, dict, dict]:
    """(text stage seconds from the run's start, the parts' totals, the last progress of
    the text stage: ``articles`` written, ``entities`` in, ``waiting`` for NER)."""
    TOTALS.clear()
    CALLS.clear()
    shutil.rmtree(index_dir, ignore_errors=True)
    seen = {"articles": 0, "entities": 0, "waiting": 0}

    def progress(p):
        if p.stage == "text":
            seen.update(articles=p.articles, entities=p.entities_done,
                        waiting=p.entities_total)

    t = time.perf_counter()
    try:
        indexer.index_paths(paths, index_dir, processes=processes, progress=progress)
    except TextDone:
        pass
    return time.perf_counter() - t, dict(TOTALS), seen


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, help="articles in all (proportional slices)")
    ap.add_argument("--processes", type=int, default=2, help="NER workers")
    ap.add_argument("--no-ner", action="store_true", help="no article is sent to NER")
    ap.add_argument("--compare", action="store_true", help="with NER, then without")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="newsfacet-bench-breakdown-"))
    try:
        en, ar = slices(args.limit, tmp / "data")
        results = []
        instrument()
        ner_languages = entities_module.NER_LANGUAGES
        for no_ner in [False, True] if args.compare else [args.no_ner]:
            # Read by the indexer at each article: empty, no article waits for NER.
            entities_module.NER_LANGUAGES = frozenset() if no_ner else ner_languages
            secs, totals, seen = measure(en + ar, tmp / "ix", args.processes)
            results.append(("without NER workers" if no_ner else
                            f"with {args.processes} NER workers", secs, totals, seen))
            print(f"  … {results[-1][0]}: {seen['articles']} articles, text stage {secs:.1f} s",
                  file=sys.stderr, flush=True)
        print(f"\nText stage of `index` (fresh index, cold cache), "
              f"{'--limit ' + str(args.limit) if args.limit else 'full'}; wall seconds in "
              f"the main process\n")
        print(f"{'part':52}" + "".join(f"{label:>26}" for label, *_ in results))
        for name, depth in PARTS:
            cells = []
            for _, secs, totals, _ in results:
                v = totals.get(name, 0.0)
                whole = totals.get(PARTS[0][0], secs)
                cells.append(f"{v:10.1f} s {100 * v / whole:5.1f} %{'':6}")
            print(f"{'  ' * depth + name:52}" + "".join(f"{c:>26}" for c in cells))
        for label, secs, totals, seen in results:
            inner = sum(v for k, v in totals.items() if dict(PARTS).get(k) == 1)
            print(f"{label}: {seen['articles']} articles; run start to end of text stage "
                  f"{secs:.1f} s; parts at depth 1 add up to {inner:.1f} s of "
                  f"{totals.get(PARTS[0][0], 0):.1f} s; entities in by the end of the text "
                  f"stage: {seen['entities']} of {seen['waiting']} waiting for NER")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
