"""Every matching article, streamed in the page's sort order (DESIGN.md, Export and feeds).

An export evaluates the query once, orders every match as the search page would, and
then reads the articles in chunks of :data:`CHUNK` documents, each chunk in document
order (the order of the stored fields on disk). It holds its generation open for its
whole length (so document numbers stay right while later commits arrive), but a
searcher only for one chunk at a time. Nothing but the ordered document numbers and one
chunk's rows is kept: memory does not grow with the number of rows.

The web server does not run an export itself: it checks the query (:func:`check`) and
an export process beside it runs :func:`records` (:mod:`search.query.export_process`),
so an export does not share the server's GIL with searches. Where an export does run in
a process that answers requests (setting ``EXPORT_PROCESSES`` 0), both hold Python's
GIL: side by side a search took twice as long. So an export gives way: before each row it looks whether
a request is reading the index (:func:`search.query.generation.busy`) and, if so, waits
until none is (at most :data:`GIVE_WAY_SECONDS` at a time, then works on for
:data:`RUN_SECONDS`): searches keep their speed, and an export is slowed, never
stopped, by a constant stream of them.

Columns are exactly: id, url, title, outlet, published, lang, person, org, place, story,
body. CSV is RFC 4180 (UTF-8, a header row, CRLF, entity lists joined by ``"; "``); a
cell that starts with ``=``, ``+``, ``-`` or ``@`` is prefixed with ``'`` so that a
spreadsheet never reads it as a formula.

>>> safe_cell("=HYPERLINK(1)"), safe_cell("-5 dead"), safe_cell("fine")
("'=HYPERLINK(1)", "'-5 dead", 'fine')
"""

from __future__ import annotations

import bisect
import ctypes
import functools
import json
import time
from collections.abc import Iterator

import numpy as np

from search.config import DEFAULT_SETTINGS
from search.config import Settings
from search.models import SearchRequest
from search.query import budget
from search.query import generation
from search.query import rank
from search.schema import BODY
from search.schema import ID
from search.schema import LANG
from search.schema import OUTLET
from search.schema import TITLE
from search.schema import URL
from search.schema import stored_published

COLUMNS = ("id", "url", "title", "outlet", "published", "lang", "person", "org", "place",
           "story", "body")
FORMATS = ("csv", "jsonl")
# Documents read per turn at a searcher, in document-number order (the stored fields lie
# in that order on disk): bounds what an export holds at once (~1 MB of rows).
CHUNK = 256
# While a request reads the index an export waits, up to GIVE_WAY_SECONDS at a time,
# then works on for at least RUN_SECONDS however busy the server is.
GIVE_WAY_SECONDS = 0.05
RUN_SECONDS = 0.01
_FORMULA = ("=", "+", "-", "@")


def safe_cell(value: str) -> str:
    """``value`` as a spreadsheet cell that is never a formula."""
    return "'" + value if value.startswith(_FORMULA) else value


def csv_cell(value: str) -> str:
    """``value`` as an RFC 4180 field, quoted as :mod:`csv`'s ``QUOTE_MINIMAL`` quotes it
    (when it holds a comma, a double quote, CR or LF), never a formula.

    >>> csv_cell('say "hi", then go'), csv_cell("plain"), csv_cell("=1+1")
    ('"say ""hi"", then go"', 'plain', "'=1+1")
    """
    if value.startswith(_FORMULA):
        value = "'" + value
    if "," in value or '"' in value or "\n" in value or "\r" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def ordered(gen, request: SearchRequest, settings: Settings) -> tuple[np.ndarray, int]:
    """Every matching document number in the request's sort order, and their number.

    :raises QueryError: for a query or filter that cannot be run
    """
    from search.query import service

    with budget.limit(settings["QUERY_TIMEOUT"]), gen.reading():
        m, _, bound = service.evaluate_request(gen, request, settings)
        docs = rank.order(gen, bound, m, request.sort)
    return docs, int(m.total)


def check(index_dir, request: SearchRequest, settings: Settings = DEFAULT_SETTINGS) -> int:
    """Run the request's query as a search would, without ranking or reading a row: the
    number of matches. The web server calls it before it hands an export to its export
    process (:mod:`search.query.export_process`), so a bad query is its 400 at once.

    :raises QueryError: for a query or filter that cannot be run
    """
    from search.query import service

    with generation.use(index_dir) as gen, budget.limit(settings["QUERY_TIMEOUT"]):
        m, _, _ = service.evaluate_request(gen, request, settings)
    return int(m.total)


def records(index_dir, request: SearchRequest,
            settings: Settings = DEFAULT_SETTINGS) -> tuple[int, Iterator[dict]]:
    """``(total, records)``: the number of matches, and a generator of one dict per
    matching article with :data:`COLUMNS` (entity lists as lists), in sort order.

    The query runs now (a bad one raises :class:`~search.errors.QueryError` here, before
    any row); the generator holds the generation until it is exhausted or closed.
    """
    pin = generation.pinned(index_dir)
    gen = pin.__enter__()
    try:
        docs, total = ordered(gen, request, settings)
    except BaseException:
        pin.__exit__(None, None, None)
        raise

    def rows() -> Iterator[dict]:
        turn = _Turns()
        try:
            for start in range(0, len(docs), CHUNK):
                yield from _chunk(gen, docs[start:start + CHUNK], turn)
        finally:
            pin.__exit__(None, None, None)
            _give_back_memory()

    return total, rows()


class _Turns:
    """Where an export waits for requests being answered (called before each row)."""

    def __init__(self):
        self.run_until = 0.0

    def __call__(self) -> None:
        if not generation.busy() or time.monotonic() < self.run_until:
            return
        # The GIL is the requests' meanwhile; past the wait, work on for a while.
        if not generation.wait_idle(GIVE_WAY_SECONDS):
            self.run_until = time.monotonic() + RUN_SECONDS


def _chunk(gen, docs: np.ndarray, turn) -> Iterator[dict]:
    """The rows of ``docs`` in their order, read in document-number order under one
    searcher (held for this chunk only)."""
    by_number = np.sort(docs).tolist()
    got = {}
    with gen.reading(background=True):
        tables = gen.tables
        stories = tables.stories
        stored_fields = _stored_reader(gen.searcher.reader())
        for d in by_number:
            turn()
            stored = stored_fields(d)
            ents = tables.entities_of(d)
            published = stored_published(stored)
            story = stories.story[d]
            got[d] = {
                "id": stored[ID], "url": stored.get(URL) or "",
                "title": stored.get(TITLE) or "",
                "outlet": stored.get(OUTLET) or "unknown",
                "published": published.isoformat() if published else "",
                "lang": stored.get(LANG) or "und", "person": list(ents.person),
                "org": list(ents.org), "place": list(ents.place),
                "story": stories.story_ids[story] if story >= 0 else "",
                "body": stored.get(BODY) or ""}
    # The searcher is back in the pool while rows go out.
    for d in docs.tolist():
        turn()
        yield got.pop(d)


def _stored_reader(reader):
    """``docnum -> stored fields`` of ``reader``'s documents, straight from each
    segment's stored column: Whoosh's own ``stored_fields`` filters every document's
    fields through the schema in Python (a tenth of an export's time)."""
    leaves = list(reader.leaf_readers())
    perdocs = [getattr(r, "_perdoc", None) for r, _ in leaves]
    if any(p is None for p in perdocs):
        return reader.stored_fields
    offsets = [base for _, base in leaves]
    if len(leaves) == 1:
        return perdocs[0].stored_fields

    def stored_fields(docnum: int) -> dict:
        i = bisect.bisect_right(offsets, docnum) - 1
        return perdocs[i].stored_fields(docnum - offsets[i])

    return stored_fields


def _give_back_memory() -> None:
    """Return the freed memory of every allocator arena to the system (glibc only).

    An export's rows pass through the heap of the server thread that sends them; glibc
    keeps such a thread's freed heap for it, so each export served by another of
    waitress's threads left ~10 MB more resident until every thread had done one."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim():
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to do
        return None


def csv_lines(rows: Iterator[dict]) -> Iterator[str]:
    """RFC 4180 text of :func:`records`, the header first, a string per row."""
    cell = csv_cell
    yield ",".join(cell(c) for c in COLUMNS) + "\r\n"
    for r in rows:
        # id and story are article ids (hex), published an ISO date: never quoted,
        # never a formula (asking cost ~5 % of an export).
        yield (f"{r['id']},{cell(r['url'])},{cell(r['title'])},{cell(r['outlet'])},"
               f"{r['published']},{cell(r['lang'])},{cell('; '.join(r['person']))},"
               f"{cell('; '.join(r['org']))},{cell('; '.join(r['place']))},{r['story']},"
               f"{cell(r['body'])}\r\n")


def jsonl_lines(rows: Iterator[dict]) -> Iterator[str]:
    """One JSON object per line (UTF-8, no ASCII escapes), in :data:`COLUMNS` order."""
    for r in rows:
        yield json.dumps(r, ensure_ascii=False) + "\n"  # its keys are in that order


def lines(rows: Iterator[dict], fmt: str) -> Iterator[str]:
    return csv_lines(rows) if fmt == "csv" else jsonl_lines(rows)
