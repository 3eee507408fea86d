"""NER per language: French beside English (speed, memory of a worker, install size).

What an entity worker (a local pool process or a Dask worker) pays for each language
it meets, measured on what it runs, :class:`~search.ingest.enrich.pipeline.Enricher`:

- **speed**, one process, the same run: French (the hand-written articles of
  ``tests/ingest/french.py``, alone and two by two: 64 texts, no corpus holds French)
  beside English of the same lengths (BBC articles cut to each French text's word
  count) and whole BBC articles (the MEASURED.md figure); median of ``--repeats``;
- **memory** of a worker: a fresh process per row, which enriches the samples of the
  languages named (so the models are loaded and have run) and reports its RSS and peak
  RSS; no model at all is the baseline;
- **install size** of each model package (its files as installed), and the model
  load time;
- the French model's ``ner`` alone (what the engine loads) beside the whole pipeline:
  the entities each finds on the French sample.

Run from the repository root::

    .venv/bin/python -m bench.ner_languages
    .venv/bin/python -m bench.ner_languages --bbc 100 --repeats 3   # a quicker look
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search.ingest.enrich.entities import NER_MODELS  # noqa: E402
from search.models import Article  # noqa: E402
from tests.ingest import french  # noqa: E402

CORPORA = ROOT.parent / "shared" / "corpora"


def load_bbc(n: int) -> list[str]:
    """The first ``n`` BBC articles by member name (title, blank line, body)."""
    out = []
    with tarfile.open(CORPORA / "bbc-news" / "bbc-fulltext.tar.gz") as tar:
        members = sorted((m for m in tar if m.isfile() and m.name.endswith(".txt")
                          and "README" not in m.name.upper()), key=lambda m: m.name)
        step = max(1, len(members) // n)
        for m in members[::step][:n]:
            out.append(tar.extractfile(m).read().decode("utf-8", errors="replace"))
    return out


def french_texts() -> list[str]:
    """The French articles alone, then every ordered pair of them (64 distinct texts)."""
    texts = french.texts()
    for i, (title, body) in enumerate(french.ARTICLES):
        for j, (_, other) in enumerate(french.ARTICLES):
            if i != j:
                texts.append(f"{title}\n\n{body}\n\n{other}")
    return texts


def cut_to(texts: list[str], lengths: list[int]) -> list[str]:
    """English texts of the given word counts, each from its own BBC article."""
    out = []
    for i, n in enumerate(lengths):
        words = texts[i % len(texts)].split()
        out.append(" ".join(words[:n]))
    return out


def articles(texts: list[str], lang: str) -> list[Article]:
    return [Article(id=f"{lang}{i}", source="bench", record=i, title="", body=t, lang=lang)
            for i, t in enumerate(texts)]


def rss_mb() -> tuple[float, float]:
    """This process's resident set now and at its peak, in MB (VmRSS, VmHWM: getrusage's
    peak would carry the parent's over ``exec``)."""
    found = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0]) / 1e3  # kB
    return found["VmRSS"], found["VmHWM"]


def worker(langs: list[str], bbc: int) -> None:
    """One worker's life: an Enricher enriching the samples of ``langs``; prints JSON."""
    import spacy

    from search.ingest.enrich.pipeline import Enricher

    assert spacy  # imported by any worker, model or not: part of the baseline

    enricher = Enricher()
    samples = {"en": articles(load_bbc(bbc), "en"), "fr": articles(french_texts(), "fr")}
    for lang in langs:
        enricher.enrich(samples[lang])
    now, peak = rss_mb()
    print(json.dumps({"langs": langs, "loaded": sorted(enricher.loaded()), "rss": now,
                      "peak": peak}))


def measure_worker(langs: list[str], bbc: int) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.ner_languages", "--worker",
                          ",".join(langs) or "-", "--bbc", str(bbc)],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def installed_mb(package: str) -> float:
    dist = importlib.metadata.distribution(package)
    return sum((f.size or 0) for f in dist.files or ()) / 1e6


def time_samples(samples: list[tuple[str, object, list[str]]], repeats: int) -> dict:
    """Median seconds of ``extractor.extract(texts)`` per sample, the samples taken in
    turn within each repeat (a machine that gets busier slows them all alike)."""
    for _, extractor, texts in samples:
        extractor.extract(texts[:8])  # warm-up
    runs: dict[str, list[float]] = {name: [] for name, _, _ in samples}
    for _ in range(repeats):
        for name, extractor, texts in samples:
            start = time.perf_counter()
            extractor.extract(texts)
            runs[name].append(time.perf_counter() - start)
    return {name: statistics.median(r) for name, r in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bbc", type=int, default=200, help="whole BBC articles (English)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker([lang for lang in args.worker.split(",") if lang != "-"], args.bbc)
        return

    import spacy

    from search.ingest.enrich.entities import _EXCLUDE
    from search.ingest.enrich.entities import EntityExtractor
    from search.ingest.enrich.entities import model_version

    fr_texts = french_texts()
    lengths = [len(t.split()) for t in fr_texts]
    bbc = load_bbc(args.bbc)
    en_same = cut_to(bbc, lengths)
    loads, extractors = {}, {}
    for lang in ("en", "fr"):
        start = time.perf_counter()
        extractors[lang] = EntityExtractor(lang=lang)
        loads[lang] = time.perf_counter() - start
    samples = [("English, BBC cut to the French lengths", extractors["en"], en_same),
               ("French, hand-written", extractors["fr"], fr_texts),
               ("English, whole BBC articles", extractors["en"], bbc)]
    medians = time_samples(samples, args.repeats)
    rows = []
    for name, extractor, texts in samples:
        secs = medians[name]
        words = sum(len(t.split()) for t in texts)
        found = extractor.extract(texts)
        values = sum(len(e.person) + len(e.org) + len(e.place) for e in found)
        rows.append((name, len(texts), words / len(texts), len(texts) / secs, words / secs,
                     values / len(texts)))
    print(f"\nNER speed, one process (EntityExtractor.extract, median of {args.repeats}); "
          f"models {model_version(NER_MODELS['en'].package)}, "
          f"{model_version(NER_MODELS['fr'].package)}")
    print(f"  {'sample':<40}{'texts':>6}{'words/text':>11}{'texts/s':>9}{'words/s':>9}"
          f"{'values/text':>12}")
    for name, n, wpt, tps, wps, vpt in rows:
        print(f"  {name:<40}{n:>6}{wpt:>11.0f}{tps:>9.1f}{wps:>9,.0f}{vpt:>12.1f}")
    by_name = {r[0]: r for r in rows}
    ratio = (by_name["French, hand-written"][4]
             / by_name["English, BBC cut to the French lengths"][4])
    print(f"  French / English, words/s at the same lengths: {ratio:.2f}")

    print("\nModel packages")
    print(f"  {'language':<10}{'package':<26}{'installed MB':>13}{'load s':>8}")
    for lang, entry in NER_MODELS.items():
        print(f"  {lang:<10}{entry.package:<26}{installed_mb(entry.package):>13.1f}"
              f"{loads[lang]:>8.2f}")

    print("\nMemory of one worker process (a fresh process each: an Enricher enriching "
          f"the samples of these languages; {args.bbc} BBC articles, {len(fr_texts)} French "
          f"texts)")
    print(f"  {'languages met':<16}{'models loaded':<16}{'RSS MB':>8}{'peak MB':>9}"
          f"{'RSS over none':>15}")
    memory = [measure_worker(langs, args.bbc) for langs in ([], ["en"], ["fr"], ["en", "fr"])]
    for m in memory:
        print(f"  {'+'.join(m['langs']) or 'none':<16}{'+'.join(m['loaded']) or '-':<16}"
              f"{m['rss']:>8.0f}{m['peak']:>9.0f}{m['rss'] - memory[0]['rss']:>+15.0f}")

    full = spacy.load(NER_MODELS["fr"].package)
    ner = spacy.load(NER_MODELS["fr"].package, exclude=_EXCLUDE)
    a = [(e.text, e.label_) for doc in full.pipe(fr_texts) for e in doc.ents]
    b = [(e.text, e.label_) for doc in ner.pipe(fr_texts) for e in doc.ents]
    print(f"\nFrench model with every pipe ({', '.join(full.pipe_names)}) vs ner alone (what "
          f"the engine loads), on the French sample: {len(a)} vs {len(b)} mentions; distinct "
          f"(text, label): {len(set(a))} vs {len(set(b))}, {len(set(a) & set(b))} in common; "
          f"only with every pipe: {sorted(set(a) - set(b))}; only with ner alone: "
          f"{sorted(set(b) - set(a))}")


if __name__ == "__main__":
    main()
