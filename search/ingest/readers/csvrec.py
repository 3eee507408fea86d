"""CSV with a header row; the delimiter is sniffed among ``,`` ``;`` and tab."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable
from collections.abc import Iterator

from search.errors import ArticleReadError
from search.models import Article
from search.ingest.readers.fields import TEXT
from search.ingest.readers.fields import has_text_field
from search.ingest.readers.fields import to_article
from search.ingest.readers.text import decode

_DELIMITERS = ",;\t"
# Article bodies are longer than csv's default 128 KiB field limit allows for.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def _delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        header = sample.split("\n", 1)[0]
        return max(_DELIMITERS, key=header.count)


def read_csv(data: bytes, source: str, report: Callable[[ArticleReadError], None]
             ) -> Iterator[Article]:
    """Every article of a CSV file; rows are numbered from 1 after the header.

    :param data: the file's bytes
    :param source: the file, or ``archive::member``
    :param report: called with each error; the row or file is skipped
    """
    text = decode(data, source, report)
    if text is None:
        return
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text[:65536]))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        report(ArticleReadError(source, "no CSV header row"))
        return
    names = [h.strip().lower() for h in header]
    if not has_text_field(names):
        shown = ", ".join(h for h in header[:12] if h) or "(none)"
        report(ArticleReadError(
            source, f"no text column (expected one of {', '.join(TEXT[:3])}); columns: {shown}"))
        return
    row_no = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            row_no += 1
            report(ArticleReadError(source, f"malformed CSV row ({e})", row_no))
            continue
        if not any(c.strip() for c in row):
            continue
        row_no += 1
        article = to_article(dict(zip(header, row)), source, row_no, report)
        if article is not None:
            yield article
