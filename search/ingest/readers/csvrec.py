"""CSV with a header row; the delimiter is sniffed among ``,`` ``;`` and tab.

Read line by line (:mod:`search.ingest.readers.limits`; a line ends at ``\\n``, ``\\r\\n``
or ``\\r``): a row is at most the article limit, NUL bytes and bytes no encoding reads
are replaced (the row indexed, with a warning naming its line), and a quote left open
(which would swallow later rows into one field) is reported where it opened, and the
rows after that line are read again as rows. A header with no rows is reported, and a
last row cut short (no line end, fewer columns than the header) is indexed with a warning.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable
from collections.abc import Iterator

from search.errors import ArticleReadError
from search.ingest.readers.fields import TEXT
from search.ingest.readers.fields import has_text_field
from search.ingest.readers.fields import to_article
from search.ingest.readers.limits import Limits
from search.ingest.readers.limits import decode_counted
from search.ingest.readers.limits import decode_line
from search.ingest.readers.limits import lines
from search.ingest.readers.limits import over_record
from search.ingest.readers.limits import replaced_note
from search.ingest.readers.limits import text_stream
from search.models import Article

_DELIMITERS = ",;\t"
# Article bodies are longer than csv's default 128 KiB field limit allows for; a row's
# size is bounded by the article limit, line by line, instead.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class _Over(Exception):
    """A row longer than the article limit."""


def _delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        header = sample.split("\n", 1)[0]
        return max(_DELIMITERS, key=header.count)


class _Lines:
    """The file's lines as text, numbered, for ``csv.reader``; lines can be put back
    (to read again after a quote left open) and a row's size is counted against the
    article limit."""

    def __init__(self, stream, limit: int):
        self.source = lines(stream, limit)
        self.limit = limit
        self.back: list[tuple[int, str]] = []
        self.taken: list[tuple[int, str]] = []  # the lines of the row being read
        self.size = 0
        self.ended = False
        self.notes: dict[int, tuple[int, int]] = {}  # line -> (undecodable, NUL) bytes replaced

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self.back:
            n, text = self.back.pop()
        else:
            try:
                n, raw = next(self.source)
            except StopIteration:
                self.ended = True
                raise
            if raw is None:
                self.taken.append((n, ""))
                raise _Over
            text, undecodable, nuls = decode_counted(raw)
            if undecodable or nuls:
                self.notes[n] = (undecodable, nuls)
            if n == 1:
                text = text.lstrip("\ufeff")
        self.size += len(text)
        self.taken.append((n, text))
        if self.size > self.limit:
            raise _Over
        return text

    def start_row(self) -> None:
        self.taken, self.size = [], 0

    def replaced(self) -> str | None:
        """The warning of the row just read when bytes of its lines were replaced."""
        counts = [self.notes.pop(n) for n, _ in self.taken if n in self.notes]
        return replaced_note(sum(u for u, _ in counts), sum(z for _, z in counts))


def _unclosed(rows: list[tuple[int, str]], delimiter: str, at_end: bool) -> int | None:
    """The line on which a quoted field opens that never closes, or ``None``.

    It never closes when the file ends inside it (``at_end``), or when the quote that
    ends it, on a later line, is followed by more text instead of a delimiter: that
    quote opened a field of a later row, and ``csv`` has swallowed the lines between
    into one field. The states are those of ``csv``'s own reader.
    """
    state, opened = "start", None
    for n, text in rows:
        for ch in text:
            if state == "quoted":
                if ch == '"':
                    state = "quote"
            elif state == "quote":
                if ch == '"':
                    state = "quoted"
                elif ch == delimiter or ch in "\r\n":
                    state = "start"
                elif opened != n:
                    return opened
                else:
                    state = "field"  # "a"b on one line: sloppy, but csv reads it whole
            elif ch == delimiter or ch in "\r\n":
                state = "start"
            elif state == "start" and ch == '"':
                state, opened = "quoted", n
            else:
                state = "field"
    return opened if at_end and state == "quoted" else None


def _strict_ok(rows: list[tuple[int, str]], delimiter: str) -> bool:
    """Whether the lines of one row read as CSV with every quote where it belongs."""
    try:
        for _ in csv.reader([t for _, t in rows], delimiter=delimiter, strict=True):
            pass
    except csv.Error:
        return False
    return True


def read_csv(stream, source: str, report: Callable[[ArticleReadError], None],
             limit: int = Limits.record) -> Iterator[Article]:
    """Every article of a CSV file; rows are numbered from 1 after the header.

    :param stream: a buffered binary stream of the file
    :param source: the file, or ``archive::member``
    :param report: called with each error (the row or file is skipped) and each warning
        (``warning=True``: the row is indexed)
    :param limit: the largest row, in bytes
    """
    opened = text_stream(stream, source, report)
    if opened is None:
        return
    stream, head = opened
    sample = decode_line(head)
    delimiter = _delimiter(sample)
    src = _Lines(stream, limit)
    reader = csv.reader(src, delimiter=delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error, _Over):
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
        src.start_row()
        try:
            row = next(reader)
        except StopIteration:
            if row_no == 0:
                report(ArticleReadError(source, "no rows under the header"))
            return
        except _Over:
            row_no += 1
            first = src.taken[0][0] if src.taken else "?"
            report(ArticleReadError(source, f"row (from line {first}) {over_record(Limits(record=limit))}", row_no))
            # Start again after the line that went over: a fresh reader, no half-read row.
            reader = csv.reader(src, delimiter=delimiter)
            continue
        except csv.Error as e:
            row_no += 1
            report(ArticleReadError(source, f"malformed CSV row ({e})", row_no))
            continue
        # A row over several lines is a quoted field with line breaks in it -- or a quote
        # left open, which swallowed the rows after it (cheap to tell: csv's strict mode).
        opened = None
        if src.ended or (len(src.taken) > 1 and not _strict_ok(src.taken, delimiter)):
            opened = _unclosed(src.taken, delimiter, src.ended)
        if opened is not None:
            row_no += 1
            report(ArticleReadError(
                source, f"unclosed quote: the quoted field that opens on line {opened} "
                        "never ends; skipped that row, read the lines after it again",
                row_no))
            # Read the lines after the one where the quote opened as rows again.
            rest = [(n, t) for n, t in src.taken if n > opened]
            for n, _ in src.taken:
                if n <= opened:
                    src.notes.pop(n, None)
            src.back = list(reversed(rest))
            src.ended = False
            reader = csv.reader(src, delimiter=delimiter)
            continue
        if not any(c.strip() for c in row):
            continue
        row_no += 1
        try:
            article = to_article(dict(zip(header, row)), source, row_no, report)
        except Exception as e:  # noqa: BLE001 - one bad row must not cost the others
            report(ArticleReadError(source, f"could not read this row ({type(e).__name__}: "
                                            f"{e}); skipped", row_no))
            continue
        if article is None:
            continue
        last = src.taken[-1] if src.taken else (0, "\n")
        if not last[1].endswith(("\n", "\r")) and len(row) < len(header):
            # Only the last line of a file has no line end: the file stops in this row.
            report(ArticleReadError(
                source, f"the file ends in this row (line {last[0]}), which has {len(row)} of "
                        f"{len(header)} columns: cut short? indexed what there is",
                row_no, warning=True))
        note = src.replaced()
        if note:
            first = src.taken[0][0] if src.taken else "?"
            report(ArticleReadError(source, f"line {first}: {note}", row_no, warning=True))
        yield article
