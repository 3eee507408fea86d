"""Language detection accuracy and speed on three real corpora, and NER throughput.

For each corpus every article has a known language (bbc-news en, 10kgnad-de de,
saudinewsnet-ar ar). ``detect_language`` (first 1,500 characters, thresholds, "und"
when unsure) is compared with a baseline run in the same process: langdetect's raw
``detect`` on the whole text, with the same fixed seed and no thresholds.

Run from the repository root::

    .venv/bin/python bench/language_accuracy.py            # all articles, NER on 200
    .venv/bin/python bench/language_accuracy.py --limit 300 --ner 50   # quick look
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tarfile
import time
import zipfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from langdetect import DetectorFactory  # noqa: E402
from langdetect import detect  # noqa: E402
from langdetect.lang_detect_exception import LangDetectException  # noqa: E402

from search.ingest.enrich import language  # noqa: E402
from search.ingest.enrich.language import detect_language  # noqa: E402

CORPORA = ROOT.parent / "shared" / "corpora"


def load_bbc() -> list[str]:
    """Every BBC article, whole file (title, blank line, body), in member-name order."""
    out = []
    with tarfile.open(CORPORA / "bbc-news" / "bbc-fulltext.tar.gz") as tar:
        members = sorted((m for m in tar if m.isfile() and m.name.endswith(".txt")
                          and "README" not in m.name.upper()), key=lambda m: m.name)
        for m in members:
            # sport/199.txt holds one latin-1 byte (its SOURCE.md)
            out.append(tar.extractfile(m).read().decode("utf-8", errors="replace"))
    return out


def load_gnad() -> list[str]:
    with open(CORPORA / "10kgnad-de" / "test.csv", encoding="utf-8", newline="") as f:
        return [row[1] for row in csv.reader(f, delimiter=";", quotechar="'")]


def load_saudi() -> list[str]:
    out = []
    for path in sorted((CORPORA / "saudinewsnet-ar").glob("*.zip")):
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                for r in json.loads(zf.read(name)):
                    out.append(f"{r.get('title') or ''}\n\n{r.get('content') or ''}")
    return out


def baseline(text: str) -> str:
    try:
        return detect(text)
    except LangDetectException:
        return "und"


Run = tuple[list[str], list[float]]  # answers, seconds per article


def run_both(texts: list[str]) -> tuple[Run, Run]:
    """Both methods on each text in turn (alternating which goes first), so the noise of a
    shared machine falls on both alike."""
    ours, base = ([], []), ([], [])
    for i, t in enumerate(texts):
        pair = ((detect_language, ours), (baseline, base))
        for fn, (answers, times) in (pair if i % 2 == 0 else pair[::-1]):
            start = time.perf_counter()
            answers.append(fn(t))
            times.append(time.perf_counter() - start)
    return ours, base


def row(name: str, expected: str, answers: list[str], times: list[float]) -> dict:
    n = len(answers)
    wrong = Counter(a for a in answers if a not in (expected, "und"))
    return {"method": name, "n": n,
            "accuracy": sum(a == expected for a in answers) / n,
            "und": answers.count("und") / n,
            "wrong": ", ".join(f"{k} {v}" for k, v in wrong.most_common(3)) or "-",
            "per_s": n / sum(times), "median_ms": statistics.median(times) * 1000}


def setting_row(texts: list[str], expected: str, setting: str, value: int,
                label: str) -> dict:
    """``detect_language`` with ``language.<setting>`` set to ``value``, and how often it
    differs from the setting in force (``differs``); ``label`` names a value (``"{:,}
    ch"``)."""
    answers, times, differs = [], [], 0
    kept = getattr(language, setting)
    for t in texts:
        current = detect_language(t)
        setattr(language, setting, value)
        try:
            start = time.perf_counter()
            answers.append(detect_language(t))
            times.append(time.perf_counter() - start)
        finally:
            setattr(language, setting, kept)
        differs += answers[-1] != current
    out = row(f"detect_language ({label.format(value)})", expected, answers, times)
    out["wrong"] = f"{out['wrong']}; differs from {label.format(kept)} on {differs}"
    return out


def print_table(title: str, rows: list[dict]) -> None:
    print(f"\n{title}")
    print(f"  {'method':<34}{'n':>6}{'accuracy':>10}{'und':>8}{'art/s':>8}{'median ms':>11}  wrong")
    for r in rows:
        print(f"  {r['method']:<34}{r['n']:>6}{r['accuracy']:>10.2%}{r['und']:>8.2%}"
              f"{r['per_s']:>8.0f}{r['median_ms']:>11.2f}  {r['wrong']}")


def bench_ner(texts: list[str], repeats: int = 3) -> None:
    from search.ingest.enrich.entities import EntityExtractor
    from search.ingest.enrich.entities import model_version

    start = time.perf_counter()
    extractor = EntityExtractor()
    load = time.perf_counter() - start
    extractor.extract(texts[:10])  # warm-up
    words = sum(len(t.split()) for t in texts)
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        found = extractor.extract(texts)
        runs.append(time.perf_counter() - start)
    secs = statistics.median(runs)
    values = sum(len(e.person) + len(e.org) + len(e.place) for e in found)
    print(f"\nNER: EntityExtractor.extract, {model_version()}, 1 process, {len(texts)} BBC "
          f"articles ({words:,} words), median of {repeats}")
    print(f"  model load {load:.2f} s; {len(texts) / secs:.1f} articles/s; "
          f"{words / secs:,.0f} words/s; {values:,} distinct entity values "
          f"({values / len(texts):.1f} per article); runs {', '.join(f'{r:.2f}' for r in runs)} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="articles per corpus (0: all)")
    parser.add_argument("--ner", type=int, default=200, help="BBC articles for NER (0: skip)")
    parser.add_argument("--samples", type=int, nargs="*", default=[],
                        help="also run detect_language reading these many characters "
                             "(e.g. 1500 800), beside the setting in force")
    parser.add_argument("--trials", type=int, nargs="*", default=[],
                        help="also run detect_language with these many random trials on "
                             "long samples (e.g. 7 2), beside the setting in force")
    args = parser.parse_args()
    DetectorFactory.seed = 0
    # langdetect loads its language profiles on first use: keep that out of the timings
    detect_language("Warm-up text for the language profiles, long enough to be read.")
    bbc = load_bbc()
    corpora = [("bbc-news", "en", bbc), ("10kgnad-de", "de", load_gnad()),
               ("saudinewsnet-ar", "ar", load_saudi())]
    for name, lang, texts in corpora:
        if args.limit:
            texts = texts[: args.limit]
        ours_run, base_run = run_both(texts)
        ours = row(f"detect_language ({language.SAMPLE_CHARS:,} ch, thresh.)", lang, *ours_run)
        base = row("baseline: detect() on whole text", lang, *base_run)
        extra = [setting_row(texts, lang, "SAMPLE_CHARS", chars, "{:,} ch, thresh.")
                 for chars in args.samples]
        extra += [setting_row(texts, lang, "LONG_SAMPLE_TRIALS", trials, "{} trials, long")
                  for trials in args.trials]
        print_table(f"{name} (expected {lang})", [ours, base, *extra])
        print(f"  speed ratio ours/baseline: {ours['per_s'] / base['per_s']:.2f}x (median "
              f"{base['median_ms'] / ours['median_ms']:.2f}x); "
              f"accuracy difference {100 * (ours['accuracy'] - base['accuracy']):+.2f} points")
    if args.ner:
        bench_ner(bbc[: args.ner])


if __name__ == "__main__":
    main()
