"""The one entry point for searching: ``search``, ``article`` and ``info``.

This is the only module that opens a Whoosh searcher. It keeps one searcher per
index generation, with that generation's facet arrays (:class:`~search.facets.FacetTables`)
and its case-insensitive value maps, and reopens when ``DIR/current`` points
elsewhere or the live generation took a commit. Everything returned is a plain value
(:mod:`search.models`), copied out before the searcher can be closed. Safe to call
from several threads: a lock guards (re)opening; searchers are shared for reading.

Empty query text means every article ("browse"); with ``sort="relevance"`` browse
results come newest first, since there is nothing to rank by.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from datetime import date
from datetime import datetime
from pathlib import Path

import numpy as np
from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh.util.times import datetime_to_long

from search import config
from search import facets as facetlib
from search import highlight
from search import query as querylib
from search import storage
from search.errors import IndexMissingError
from search.errors import NotFoundError
from search.errors import QueryError
from search.models import FACETS
from search.models import SORTS
from search.models import ArticleView
from search.models import SearchRequest
from search.models import SearchResults
from search.schema import hit_from_stored

try:  # tuned BM25F from the ranking work; Whoosh's own until it lands
    from search.scoring import weighting
except ImportError:  # pragma: no cover - depends on another module's arrival
    from whoosh.scoring import BM25F

    def weighting():
        return BM25F()

# A generation's commits are looked for at most this often (it lists the folder).
RECHECK_SECONDS = 0.5
SUGGEST_BELOW = 3


class _Generation:
    """One open index generation: its searcher and facet arrays, shared by requests."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.ix = whoosh_index.open_dir(str(path))
        except (whoosh_index.EmptyIndexError, OSError) as e:
            raise IndexMissingError(str(path.parent)) from e
        self.searcher = self.ix.searcher(weighting=weighting())
        self.tables = facetlib.FacetTables(self.searcher.reader())
        self.users = 0
        self.checked = time.monotonic()

    def stale(self) -> bool:
        now = time.monotonic()
        if now - self.checked < RECHECK_SECONDS:
            return False
        self.checked = now
        return not self.searcher.up_to_date()

    def close(self) -> None:
        self.searcher.close()


_lock = threading.Lock()
_live: dict[str, _Generation] = {}
_retired: list[_Generation] = []


@contextlib.contextmanager
def _use(index_dir):
    """The live generation of ``index_dir``, held open for the duration of the block."""
    path = storage.require_current(index_dir)
    key = str(Path(index_dir).resolve())
    with _lock:
        gen = _live.get(key)
        if gen is None or gen.path != path or gen.stale():
            fresh = _Generation(path)
            if gen is not None:
                _retired.append(gen)
            _live[key] = gen = fresh
        gen.users += 1
    try:
        yield gen
    finally:
        with _lock:
            gen.users -= 1
            # An old generation is closed once no request uses it any more.
            for old in [g for g in _retired if g.users == 0]:
                _retired.remove(old)
                old.close()


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise QueryError(f"{what} must be a date written YYYY-MM-DD, not {text!r}.") from None


def _date_bounds(req: SearchRequest) -> tuple[int | None, int | None]:
    """``date_from``/``date_to`` as Whoosh longs: the whole of both days, UTC."""
    start = end = None
    if req.date_from:
        d = _day(req.date_from, "from")
        start = datetime_to_long(datetime(d.year, d.month, d.day))
    if req.date_to:
        d = _day(req.date_to, "to")
        end = datetime_to_long(datetime(d.year, d.month, d.day, 23, 59, 59, 999999))
    if start is not None and end is not None and start > end:
        raise QueryError(f"from ({req.date_from}) is after to ({req.date_to}).")
    return start, end


def _check(req: SearchRequest) -> None:
    if req.sort not in SORTS:
        raise QueryError(f"sort must be one of {', '.join(SORTS)}, not {req.sort!r}.")
    if not isinstance(req.page, int) or req.page < 1:
        raise QueryError(f"page must be a whole number from 1, not {req.page!r}.")
    if not isinstance(req.page_size, int) or req.page_size < 0:
        raise QueryError(f"page size must be a whole number from 0, not {req.page_size!r}.")
    for name in list(req.filters) + list(req.more):
        if name not in FACETS:
            raise QueryError(f"Unknown facet {name!r}: facets are {', '.join(FACETS)}.")


def _selections(tables, req: SearchRequest, notices: list[str]) -> dict[str, tuple[str, ...]]:
    """Selected values in their display forms (``--outlet haaretz`` selects "Haaretz")."""
    out = {}
    for name, values in req.filters.items():
        if isinstance(values, str):
            values = (values,)
        shown = []
        for v in values:
            v = str(v).strip()
            display = v if v in tables.values[name] else tables.lower[name].get(v.lower())
            if display is None:
                notices.append(f"no article has {name} {v!r}")
                display = v
            if display not in shown:
                shown.append(display)
        if shown:
            out[name] = tuple(shown)
    return out


def _matched(gen: _Generation, q) -> np.ndarray:
    t = gen.tables
    if q is None:
        return t.live.copy()
    mask = np.zeros(t.n, dtype=bool)
    mask[np.fromiter(gen.searcher.docs_for_query(q), dtype=np.int64)] = True
    return mask & t.live


def _page(gen: _Generation, q, full: np.ndarray, filtered: bool, req: SearchRequest,
          start: int, size: int) -> list[tuple[int, float]]:
    """(docnum, score) of the requested page."""
    if q is None or req.sort != "relevance":
        docs = np.flatnonzero(full)
        pub = gen.tables.published[docs]
        if req.sort == "oldest":
            key = np.where(pub < 0, np.iinfo(np.int64).max, pub)
        else:  # newest, and browse ranked "by relevance": undated articles last
            key = np.where(pub < 0, 1, -pub)
        order = np.lexsort((docs, key))[start:start + size]
        return [(int(docs[i]), 0.0) for i in order]
    bonus = querylib.title_bonus(q)
    ranked = wq.AndMaybe(q, bonus) if bonus is not None else q
    allow = set(np.flatnonzero(full).tolist()) if filtered else None
    res = gen.searcher.search(ranked, limit=start + size, filter=allow)
    return [(res.docnum(i), res.score(i)) for i in range(start, min(start + size, len(res)))]


def _hits(gen: _Generation, q, page) -> tuple:
    reader = gen.searcher.reader()
    terms = querylib.positive_terms(q, reader)
    docnums = [d for d, _ in page]
    body = highlight.find_spans(reader, docnums, "body", terms.get("body", ()))
    title = highlight.find_spans(reader, docnums, "title", terms.get("title", ()))
    hits = []
    for d, score in page:
        stored = gen.searcher.stored_fields(d)
        text = stored.get("body") or ""
        hits.append(hit_from_stored(
            stored, score=score, snippet=highlight.snippet(text, body.get(d, ())),
            title_html=highlight.mark_all(stored.get("title") or "", title.get(d, ()))))
    return tuple(hits)


def _suggest(gen: _Generation, parsed, total: int, restrict: np.ndarray) -> str | None:
    """A better-spelled query that finds more, or ``None``."""
    if total >= SUGGEST_BELOW or not parsed.words:
        return None
    reader = gen.searcher.reader()
    spell_field = reader.schema["body"].spelling_fieldname("body")
    corrector = gen.searcher.corrector("body")
    text, changed = parsed.text, False
    for word in dict.fromkeys(parsed.words):
        low = word.lower()
        if len(low) < 3 or (spell_field, low) in reader:
            continue
        found = corrector.suggest(low, limit=1)
        if found and found[0] != low:
            better = found[0].capitalize() if word[:1].isupper() else found[0]
            text = re.sub(rf"(?<![\w:]){re.escape(word)}(?!\w)", better, text)
            changed = True
    if not changed:
        return None
    try:
        again = querylib.parse(text)
        q = querylib.bind(again, reader, gen.tables.lower.__getitem__)
    except QueryError:
        return None
    return text if int((_matched(gen, q) & restrict).sum()) > total else None


def search(index_dir, request: SearchRequest) -> SearchResults:
    """Run a search: a page of hits with snippets, and facet counts over every match.

    :param index_dir: the index directory (holding ``current``)
    :param request: what was asked; see :class:`~search.models.SearchRequest`
    :raises QueryError: for a query or filter that cannot be run (the message says why)
    :raises IndexMissingError: when there is no index at ``index_dir``
    """
    t0 = time.perf_counter()
    timings = {}
    _check(request)
    start_long, end_long = _date_bounds(request)
    parsed = querylib.parse(request.q)
    size = min(request.page_size, config.get("MAX_PAGE_SIZE"))
    start = (request.page - 1) * size
    with _use(index_dir) as gen:
        tables = gen.tables
        q = querylib.bind(parsed, gen.searcher.reader(), tables.lower.__getitem__)
        selections = _selections(tables, request, parsed.notices)
        t1 = time.perf_counter()
        timings["parse"] = (t1 - t0) * 1000
        qmask = _matched(gen, q)
        if start_long is not None or end_long is not None:
            qmask &= tables.date_mask(start_long, end_long)
        fmasks = {name: tables.filter_mask(name, vals) for name, vals in selections.items()}
        full = qmask.copy()
        for m in fmasks.values():
            full &= m
        total = int(full.sum())
        page = []
        if size and start < total:
            filtered = bool(fmasks) or start_long is not None or end_long is not None
            page = _page(gen, q, full, filtered, request, start, size)
        t2 = time.perf_counter()
        timings["search"] = (t2 - t1) * 1000
        facets, truncated = {}, ()
        if request.with_facets:
            sizes = {n: (request.facet_more_size if n in request.more else request.facet_size)
                     for n in FACETS}
            facets, truncated = facetlib.count_facets(tables, qmask, fmasks, selections, sizes)
        t3 = time.perf_counter()
        timings["facets"] = (t3 - t2) * 1000
        hits = _hits(gen, q, page)
        t4 = time.perf_counter()
        timings["snippets"] = (t4 - t3) * 1000
        suggestion = None
        if q is not None:
            restrict = _restriction(tables, start_long, end_long, fmasks)
            suggestion = _suggest(gen, parsed, total, restrict)
        timings["suggest"] = (time.perf_counter() - t4) * 1000
    if total == 0 and not parsed.notices and not suggestion:
        # Never a silent empty page: say what found nothing and what to try.
        hint = "; try fewer words, or OR between them" if len(parsed.words) > 1 else ""
        parsed.notices.append(f"no article matches {parsed.text or 'these filters'}{hint}")
    took = (time.perf_counter() - t0) * 1000
    return SearchResults(
        query=request.q, total=total, page=request.page, page_size=size, took_ms=took,
        hits=hits, facets=facets, truncated_facets=truncated,
        notice=_sentence(parsed.notices),
        suggestion=suggestion, explain=str(q) if q is not None else "(every article)",
        timings=timings)


def _sentence(notices: list[str]) -> str | None:
    text = "; ".join(dict.fromkeys(notices))
    return text[:1].upper() + text[1:] + "." if text else None


def _restriction(tables, start_long, end_long, fmasks) -> np.ndarray:
    mask = tables.live.copy()
    if start_long is not None or end_long is not None:
        mask &= tables.date_mask(start_long, end_long)
    for m in fmasks.values():
        mask &= m
    return mask


def article(index_dir, article_id: str, q: str | None = None) -> ArticleView:
    """One whole article; with ``q``, its headline and body with every match marked.

    :param article_id: the article's 16-character id
    :param q: query text whose matches to mark (a query that cannot be read marks nothing)
    :raises NotFoundError: when no article has that id
    :raises IndexMissingError: when there is no index at ``index_dir``
    """
    with _use(index_dir) as gen:
        docnum = gen.searcher.document_number(id=article_id)
        if docnum is None or not gen.tables.live[docnum]:
            raise NotFoundError(f"No article with id {article_id!r}.")
        stored = gen.searcher.stored_fields(docnum)
        body = stored.get("body") or ""
        title = stored.get("title") or ""
        title_html = body_html = None
        if q and q.strip():
            reader = gen.searcher.reader()
            try:
                bound = querylib.bind(querylib.parse(q), reader, gen.tables.lower.__getitem__)
            except QueryError:
                bound = None
            terms = querylib.positive_terms(bound, reader)
            spans = {f: highlight.find_spans(reader, [docnum], f, terms.get(f, ())).get(docnum, ())
                     for f in ("title", "body")}
            title_html = highlight.mark_all(title, spans["title"])
            body_html = highlight.mark_all(body, spans["body"])
        hit = hit_from_stored(stored, title_html=title_html)
        return ArticleView(hit=hit, body=body, caption=stored.get("caption") or "",
                           authors=tuple(stored.get("authors") or ()),
                           sources=tuple(stored.get("sources") or ()), body_html=body_html)


def info(index_dir) -> dict:
    """Counts, size and facets of the whole index (``newsfacet info --json``).

    :raises IndexMissingError: when there is no index at ``index_dir``
    """
    with _use(index_dir) as gen:
        tables = gen.tables
        size = config.get("FACET_SIZE")
        facets, _ = facetlib.count_facets(tables, tables.live, {}, {}, {n: size for n in FACETS})
        return {
            "articles": int(tables.live.sum()),
            "size_bytes": sum(p.stat().st_size for p in gen.path.iterdir() if p.is_file()),
            "facets": {n: [{"value": v.value, "count": v.count} for v in vs]
                       for n, vs in facets.items()},
        }
