"""Every matching article, streamed in the page's sort order (DESIGN.md, Export and feeds).

An export evaluates the query once, orders every match as the search page would, and
then reads the articles in chunks of :data:`CHUNK` documents. It holds its generation
open for its whole length (so document numbers stay right while later commits arrive),
but a searcher only for one chunk at a time, so other requests never wait behind it for
longer than one chunk. Nothing but the ordered document numbers is kept: memory does
not grow with the number of rows.

Columns are exactly: id, url, title, outlet, published, lang, person, org, place, story,
body. CSV is RFC 4180 (UTF-8, a header row, CRLF, entity lists joined by ``"; "``); a
cell that starts with ``=``, ``+``, ``-`` or ``@`` is prefixed with ``'`` so that a
spreadsheet never reads it as a formula.

>>> safe_cell("=HYPERLINK(1)"), safe_cell("-5 dead"), safe_cell("fine")
("'=HYPERLINK(1)", "'-5 dead", 'fine')
"""

from __future__ import annotations

import csv
import io
import json
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
# Documents read per turn at a searcher: small enough that a search waiting for one is
# not held up (~50 ms), large enough that the turns cost nothing.
CHUNK = 256
_FORMULA = ("=", "+", "-", "@")


def safe_cell(value: str) -> str:
    """``value`` as a spreadsheet cell that is never a formula."""
    return "'" + value if value.startswith(_FORMULA) else value


def ordered(gen, request: SearchRequest, settings: Settings) -> tuple[np.ndarray, int]:
    """Every matching document number in the request's sort order, and their number.

    :raises QueryError: for a query or filter that cannot be run
    """
    from search.query import service

    with budget.limit(settings["QUERY_TIMEOUT"]), gen.reading():
        m, _, bound = service.evaluate_request(gen, request, settings)
        docs = rank.order(gen, bound, m, request.sort)
    return docs, int(m.total)


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
        try:
            for start in range(0, len(docs), CHUNK):
                chunk = []
                with gen.reading():
                    tables = gen.tables
                    stories = tables.stories
                    searcher = gen.searcher
                    for d in docs[start:start + CHUNK].tolist():
                        stored = searcher.stored_fields(d)
                        ents = tables.entities_of(d)
                        published = stored_published(stored)
                        story = stories.story[d]
                        chunk.append({
                            "id": stored[ID], "url": stored.get(URL) or "",
                            "title": stored.get(TITLE) or "",
                            "outlet": stored.get(OUTLET) or "unknown",
                            "published": published.isoformat() if published else "",
                            "lang": stored.get(LANG) or "und", "person": list(ents.person),
                            "org": list(ents.org), "place": list(ents.place),
                            "story": stories.story_ids[story] if story >= 0 else "",
                            "body": stored.get(BODY) or ""})
                yield from chunk  # the searcher is back in the pool while rows go out
        finally:
            pin.__exit__(None, None, None)

    return total, rows()


def csv_lines(rows: Iterator[dict]) -> Iterator[str]:
    """RFC 4180 text of :func:`records`, the header first, a string per row."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    yield buf.getvalue()
    for r in rows:
        buf.seek(0)
        buf.truncate()
        writer.writerow([safe_cell("; ".join(r[c])) if isinstance(r[c], list)
                         else safe_cell(r[c]) for c in COLUMNS])
        yield buf.getvalue()


def jsonl_lines(rows: Iterator[dict]) -> Iterator[str]:
    """One JSON object per line (UTF-8, no ASCII escapes), in :data:`COLUMNS` order."""
    for r in rows:
        yield json.dumps({c: r[c] for c in COLUMNS}, ensure_ascii=False) + "\n"


def lines(rows: Iterator[dict], fmt: str) -> Iterator[str]:
    return csv_lines(rows) if fmt == "csv" else jsonl_lines(rows)
