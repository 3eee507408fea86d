"""Main-text extraction quality of the HTML reader on article-extraction-benchmark.

Scores every page with the benchmark's own metric (scrapinghub/article-extraction-benchmark
``evaluate.py``): token 4-gram shingles of the predicted and true text, per page
TP/FP/FN normalised to sum to 1, precision and recall each averaged over pages,
F1 = 2PR/(P+R) of those averages. Baselines run in the same process: all visible
text of the page (lxml), and trafilatura with its default options.

Run from the repository root::

    .venv/bin/python bench/html_extraction.py [--limit N]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from search.ingest.readers import read_file  # noqa: E402
from search.ingest.readers.html import declared_charset  # noqa: E402
from search.ingest.readers.text import decode  # noqa: E402

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "article-extraction-benchmark"
_TOKEN = re.compile(r"\w+")


def shingles(text: str, n: int = 4) -> Counter:
    """Counts of the ``n``-token shingles of ``text`` (one shorter shingle for a short text)."""
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i:i + n]) for i in range(max(1, len(tokens) - n + 1))
                   if tokens[i:i + n])


def tp_fp_fn(true: str, pred: str) -> tuple[float, float, float]:
    """Shingle TP/FP/FN of one page, normalised so long pages weigh no more than short ones."""
    t, p = shingles(true), shingles(pred)
    tp = sum((t & p).values())
    fp = sum((p - t).values())
    fn = sum((t - p).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def _precision(tp, fp, fn):
    return 1.0 if fp == fn == 0 else 0.0 if tp == fp == 0 else tp / (tp + fp)


def _recall(tp, fp, fn):
    return 1.0 if fp == fn == 0 else 0.0 if tp == fn == 0 else tp / (tp + fn)


def score(pages: list[tuple[float, float, float]]) -> dict[str, float]:
    """The benchmark's precision, recall and F1 over pages."""
    p = statistics.mean(_precision(*x) for x in pages if x[0] + x[1] > 0)
    r = statistics.mean(_recall(*x) for x in pages if x[0] + x[2] > 0)
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r)}


def visible_text(data: bytes) -> str:
    """Baseline: every visible text node of the page."""
    import lxml.html

    html = decode(data, "page", lambda e: None, encoding=declared_charset(data)) or ""
    root = lxml.html.fromstring(html)
    for bad in root.xpath("//script|//style|//noscript|//template"):
        bad.drop_tree()
    return "\n".join(t.strip() for t in root.itertext() if t.strip())


def trafilatura_default(data: bytes) -> str:
    """Baseline: trafilatura's ``extract`` with its default options."""
    import trafilatura

    html = decode(data, "page", lambda e: None, encoding=declared_charset(data)) or ""
    return trafilatura.extract(html) or ""


def reader(path: Path) -> str:
    """Newsfacet's HTML reader, as indexing runs it."""
    out = list(read_file(path, lambda e: None))
    return out[0].body if out else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N pages")
    args = parser.parse_args()
    truth = json.loads((CORPUS / "ground-truth.json").read_text(encoding="utf-8"))
    paths = sorted((CORPUS / "html").glob("*.html.gz"))
    if args.limit:
        paths = paths[: args.limit]
    pages = [(p, gzip.decompress(p.read_bytes()), truth[p.name.removesuffix(".html.gz")]["articleBody"])
             for p in paths]
    systems = [
        ("baseline: all visible text (lxml)", lambda p, d: visible_text(d)),
        ("baseline: trafilatura.extract defaults", lambda p, d: trafilatura_default(d)),
        ("newsfacet read_file (.html.gz)", lambda p, d: reader(p)),
    ]
    rows = []
    for name, fn in systems:
        results, times = [], []
        for path, data, expected in pages:
            t0 = time.perf_counter()
            text = fn(path, data)
            times.append(time.perf_counter() - t0)
            results.append(tp_fp_fn(expected, text))
        m = score(results)
        rows.append((name, m, statistics.median(times), len(pages) / sum(times)))
    print(f"article-extraction-benchmark: {len(pages)} pages, token 4-gram shingle metric\n")
    print(f"{'system':<40} {'F1':>6} {'prec':>6} {'recall':>6} {'median ms':>10} {'pages/s':>8}")
    for name, m, med, rate in rows:
        print(f"{name:<40} {m['f1']:6.3f} {m['precision']:6.3f} {m['recall']:6.3f} "
              f"{med * 1000:10.1f} {rate:8.1f}")
    base = rows[0][1]["f1"]
    print(f"\nF1 ratio, newsfacet reader / visible-text baseline: {rows[-1][1]['f1'] / base:.2f}; "
          f"/ trafilatura defaults: {rows[-1][1]['f1'] / rows[1][1]['f1']:.3f}")


if __name__ == "__main__":
    main()
