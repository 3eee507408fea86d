"""The one entry point for searching: ``search``, ``article`` and ``info``.

Searchers are opened only through :mod:`search.query.generation`, which keeps one open
generation per index directory (searcher, facet arrays, decoded postings, word lists)
and reopens when ``DIR/current`` points elsewhere or the live generation took a commit.
A search is one trip: :func:`~search.query.parse.parse` -> ``Generation.bind`` (a
:class:`~search.query.bind.Bound`: the query, its headline bonus, its terms to mark) ->
:func:`~search.query.rank.match` (evaluated once, with the date range and selections:
:class:`~search.query.rank.Matches`) -> the page, the facet counts, the snippets and
the suggestion, each reading those values.
Everything returned is a plain value (:mod:`search.models`), copied out before the
searcher can be closed. Safe to call from several threads.

Empty query text means every article ("browse"); with ``sort="relevance"`` browse
results come newest first, since there is nothing to rank by.
"""

from __future__ import annotations

import re
import time
from datetime import date
from datetime import datetime
from datetime import timezone

import numpy as np
from whoosh.util.times import datetime_to_long

from search import analysis
from search import storage
from search.config import DEFAULT_SETTINGS
from search.config import Settings
from search.errors import IndexMissingError
from search.errors import NotFoundError
from search.errors import QueryError
from search.errors import QueryTimeoutError
from search.models import COLLAPSES
from search.models import SORTS
from search.models import ArticleView
from search.models import FacetValue
from search.models import OutletSpan
from search.models import SearchRequest
from search.models import SearchResults
from search.models import StoryView
from search.query import budget
from search.query import facets as facetlib
from search.query import highlight
from search.query import parse as querylib
from search.query import rank
from search.query import suggest
from search.query.bind import Bound
from search.query.evaluate import Unsupported
from search.query.generation import Generation
from search.query.generation import use as _use
from search.query.stories import count_groups
from search.schema import AUTHORS
from search.schema import BODY
from search.schema import CAPTION
from search.schema import ENTITY_KINDS
from search.schema import FACETS
from search.schema import ID
from search.schema import SOURCES
from search.schema import TITLE
from search.schema import hit_from_stored
from search.vocabulary import UNSTEMMED

SUGGEST_BELOW = 3
# Longest open_index waits for a generation's field lengths and changed forms.
PREPARE_SECONDS = 60.0
_STORY_ID = re.compile(r"[0-9a-f]{16}")


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
    if req.collapse not in COLLAPSES:
        raise QueryError(f"collapse must be one of {', '.join(COLLAPSES)}, "
                         f"not {req.collapse!r}.")
    if req.story is not None and not _STORY_ID.fullmatch(req.story):
        raise QueryError(f"story must be an article id (16 hexadecimal characters), "
                         f"not {req.story!r}.")


def _selections(tables, req: SearchRequest, notices: list[str]) -> dict[str, tuple[str, ...]]:
    """Selected values in their display forms (``--outlet haaretz`` selects "Haaretz")."""
    out = {}
    for name, values in req.filters.items():
        if isinstance(values, str):
            values = (values,)
        shown = []
        for v in values:
            v = str(v).strip()
            forms = [v] if v in tables.values[name] else tables.lower[name].get(v.lower())
            if forms is None:
                notices.append(f"no article has {name} {v!r}")
                forms = [v]
            shown.extend(f for f in forms if f not in shown)
        if shown:
            out[name] = tuple(shown)
    return out


def _hits(gen: Generation, bound: Bound, page, notices: list[str]) -> tuple:
    reader = gen.searcher.reader()
    docnums = [d for d, _ in page]
    if budget.expired():
        # The matches are complete; only the marks in the snippets are left out.
        notices.append(budget.stopped_notice())
        body, title = {}, {}
    else:
        # Only the page's documents that hold a term are read (the generation's decoded
        # postings say which): the rest of its posting list is never unpickled.
        body = _spans(reader, docnums, BODY, bound.terms, lambda f, t: _holders(gen, f, t))
        title = _spans(reader, docnums, TITLE, bound.terms, lambda f, t: _holders(gen, f, t))
    hits = []
    tables = gen.tables
    for d, score in page:
        stored = gen.searcher.stored_fields(d)
        text = stored.get(BODY) or ""
        hits.append(hit_from_stored(
            stored, score=score, snippet=highlight.snippet(text, body.get(d, ())),
            title_html=highlight.mark_all(stored.get(TITLE) or "", title.get(d, ())),
            **_derived(tables, d)))
    return tuple(hits)


def _spans(reader, docnums, kind: str, terms: dict, holders=None) -> dict:
    """Spans of the query's terms in the text of ``kind`` (``body``, ``title``) of each
    document: its terms in every language's field of that kind (a document holds only
    its own language's)."""
    out: dict[int, list] = {}
    for name, btexts in terms.items():
        if analysis.kind_of(name) != kind:
            continue
        found = highlight.find_spans(
            reader, docnums, name, btexts,
            (lambda t, name=name: holders(name, t)) if holders is not None else None)
        for d, spans in found.items():
            out.setdefault(d, []).extend(spans)
    for spans in out.values():
        spans.sort()
    return out


def _derived(tables, d: int) -> dict:
    """What the side store knows of document ``d``: entities, story, copies."""
    s = tables.stories
    return {"entities": tables.entities_of(d), "story": s.of(d), "copies": int(s.copies[d]),
            "copy_of": s.copy_of(d, tables.doc.ids)}


def _holders(gen: Generation, fieldname: str, btext: bytes):
    try:
        return gen.evaluator.scored(fieldname, btext)[0]
    except Unsupported:  # a weighting the evaluator cannot apply: read every page document
        return None


def _suggest(gen: Generation, parsed, m: rank.Matches, settings: Settings) -> str | None:
    """A better-spelled query that finds more, or ``None``.

    A word is replaced by its nearest spelling among the indexed words (the most common
    one at that distance) when that spelling is in at least ten times as many articles
    as the word as typed: a misspelling that does occur ("goverment") still gets
    "government", while a rare real word next to a common one is left alone.
    """
    total = m.total
    if total >= SUGGEST_BELOW or not parsed.words:
        return None
    reader = gen.searcher.reader()
    speller = gen.lexicon.speller(UNSTEMMED)
    langs = gen.languages
    text, changed = parsed.text, False
    for word in dict.fromkeys(parsed.words):
        low = word.lower()
        typed = _frequency(reader, low, langs)
        if len(low) < 3 or typed is None:
            continue
        options = [(dist, -(_frequency(reader, w, langs) or 0), w)
                   for w, dist in speller.near(low, suggest.max_distance(low))]
        if not options:
            continue
        _, minus_freq, better = min(options)
        if -minus_freq >= max(1, 10 * typed):
            better = better.capitalize() if word[:1].isupper() else better
            text = re.sub(rf"(?<![\w:]){re.escape(word)}(?!\w)", better, text)
            changed = True
    if not changed:
        return None
    try:
        q = gen.bind(querylib.parse(text, settings), settings).query
    except QueryError:
        return None
    # The same date range and selections as the search: its masks, not worked out again.
    found = rank.matched(gen, q, rank.evaluate(gen, q)) & m.within
    return text if int(found.sum()) > total else None


def _frequency(reader, word: str, languages) -> int | None:
    """In how many articles' bodies ``word`` stands (as its stem in each language's body
    field); ``None`` for a word no language indexes (a stop word)."""
    if analysis.exact_form(word) is None:
        return None
    return sum(reader.doc_frequency(analysis.field(BODY, lang), stem)
               for lang in languages for stem in analysis.stems(lang, word)[:1])


def open_index(index_dir, prepare_seconds: float = PREPARE_SECONDS) -> bool:
    """Open the live generation of ``index_dir`` now, and wait (at most
    ``prepare_seconds``) until its field lengths and changed forms are read: a server
    calls it before it takes requests, so the first search pays for neither (1–3 s at
    200,000 articles). ``False`` when there is no index yet (one built later is opened by
    the first search)."""
    try:
        with _use(index_dir) as gen:
            gen.prepared.wait(prepare_seconds)
            return True
    except IndexMissingError:
        return False


def search(index_dir, request: SearchRequest,
           settings: Settings = DEFAULT_SETTINGS) -> SearchResults:
    """Run a search: a page of hits with snippets, and facet counts over every match.

    :param index_dir: the index directory (holding ``current``)
    :param request: what was asked; see :class:`~search.models.SearchRequest`
    :param settings: the limits (``MAX_QUERY_LENGTH``, ``MAX_PAGE_SIZE``,
        ``MAX_WILDCARD_TERMS``), built at the edge
    :raises QueryError: for a query or filter that cannot be run (the message says why)
    :raises IndexMissingError: when there is no index at ``index_dir``
    """
    t0 = time.perf_counter()
    timings = {}
    _check(request)
    start_long, end_long = _date_bounds(request)
    parsed = querylib.parse(request.q, settings)
    size = min(request.page_size, settings["MAX_PAGE_SIZE"])
    start = (request.page - 1) * size
    # The budget starts once the generation is open: opening one (facet arrays, word
    # lists) is the server's work, done once, not this query's.
    with _use(index_dir) as gen, budget.limit(settings["QUERY_TIMEOUT"]):
        pending = gen.tables.pending
        bound = gen.bind(parsed, settings)
        selections = _selections(gen.tables, request, parsed.notices)
        t1 = time.perf_counter()
        timings["parse"] = (t1 - t0) * 1000
        m = rank.match(gen, bound, start_long, end_long, selections, request.story)
        total = m.total
        stories = gen.tables.stories
        groups = stories.groups(request.collapse)
        docs = np.flatnonzero(m.full) if groups is not None or stories.done else None
        n_groups = count_groups(docs, groups) if groups is not None else None
        n_stories = count_groups(docs, stories.story_group) if stories.done else None
        page = []
        if size and start < (total if n_groups is None else n_groups):
            page = rank.page(gen, bound, m, request.sort, start, size, groups)
        t2 = time.perf_counter()
        timings["search"] = (t2 - t1) * 1000
        facets, truncated = {}, ()
        if request.with_facets:
            sizes = {n: (request.facet_more_size if n in request.more else request.facet_size)
                     for n in FACETS}
            facets, truncated = facetlib.count_facets(gen.tables, m.query, m.filters,
                                                      selections, sizes)
        t3 = time.perf_counter()
        timings["facets"] = (t3 - t2) * 1000
        hits = _hits(gen, bound, page, parsed.notices)
        t4 = time.perf_counter()
        timings["snippets"] = (t4 - t3) * 1000
        suggestion = None
        if bound.query is not None and not budget.expired():  # a suggestion is a nicety
            try:
                suggestion = _suggest(gen, parsed, m, settings)
            except QueryTimeoutError:  # the matches stand; only the suggestion is dropped
                parsed.notices.append(budget.stopped_notice())
        timings["suggest"] = (time.perf_counter() - t4) * 1000
    if total == 0 and not parsed.notices and not suggestion:
        # Never a silent empty page: say what found nothing and what to try.
        hint = "; try fewer words, or OR between them" if len(parsed.words) > 1 else ""
        parsed.notices.append(f"no article matches {parsed.text or 'these filters'}{hint}")
    took = (time.perf_counter() - t0) * 1000
    return SearchResults(
        query=request.q, total=total, page=request.page, page_size=size, took_ms=took,
        hits=hits, facets=facets, truncated_facets=truncated,
        notice=sentence(parsed.notices),
        suggestion=suggestion,
        explain=str(bound.query) if bound.query is not None else "(every article)",
        timings=timings, pending=pending, collapse=request.collapse, groups=n_groups,
        stories=n_stories)


def evaluate_request(gen: Generation, request: SearchRequest,
                     settings: Settings = DEFAULT_SETTINGS) -> tuple[rank.Matches, list[str], Bound]:
    """The matches of a request's query within its filters, on an open generation (for
    the analyses: timeline, export): ``(matches, notices, the bound query)``.

    :raises QueryError: for a query or filter that cannot be run
    """
    _check(request)
    start_long, end_long = _date_bounds(request)
    parsed = querylib.parse(request.q, settings)
    bound = gen.bind(parsed, settings)
    selections = _selections(gen.tables, request, parsed.notices)
    m = rank.match(gen, bound, start_long, end_long, selections, request.story)
    return m, parsed.notices, bound


def sentence(notices: list[str]) -> str | None:
    """Notices as one sentence for the user, or ``None``."""
    text = "; ".join(dict.fromkeys(notices))
    return text[:1].upper() + text[1:] + "." if text else None


def article(index_dir, article_id: str, q: str | None = None,
            settings: Settings = DEFAULT_SETTINGS) -> ArticleView:
    """One whole article; with ``q``, its headline and body with every match marked.

    :param article_id: the article's 16-character id
    :param q: query text whose matches to mark (a query that cannot be read marks nothing)
    :raises NotFoundError: when no article has that id
    :raises IndexMissingError: when there is no index at ``index_dir``
    """
    with _use(index_dir) as gen, budget.limit(settings["QUERY_TIMEOUT"]):
        docnum = gen.searcher.document_number(**{ID: article_id})
        if docnum is None or not gen.tables.live[docnum]:
            raise NotFoundError(f"No article with id {article_id!r}.")
        stored = gen.searcher.stored_fields(docnum)
        body = stored.get(BODY) or ""
        title = stored.get(TITLE) or ""
        title_html = body_html = None
        if q and q.strip():
            reader = gen.searcher.reader()
            try:
                terms = gen.bind(querylib.parse(q, settings), settings).terms
            except QueryError:  # a query that cannot be read marks nothing
                terms = {}
            spans = {f: _spans(reader, [docnum], f, terms).get(docnum, ())
                     for f in (TITLE, BODY)}
            title_html = highlight.mark_all(title, spans[TITLE])
            body_html = highlight.mark_all(body, spans[BODY])
        hit = hit_from_stored(stored, title_html=title_html, **_derived(gen.tables, docnum))
        return ArticleView(hit=hit, body=body, caption=stored.get(CAPTION) or "",
                           authors=tuple(stored.get(AUTHORS) or ()),
                           sources=tuple(stored.get(SOURCES) or ()), body_html=body_html)


def story(index_dir, story_id: str, settings: Settings = DEFAULT_SETTINGS) -> StoryView:
    """One story: its articles oldest first, its outlets, the entities its articles name.

    :param story_id: the story's id (an old id of it answers too: ``asked`` says so)
    :raises NotFoundError: when no story has that id (or stage 4 has not run)
    :raises IndexMissingError: when there is no index at ``index_dir``
    """
    with _use(index_dir) as gen, budget.limit(settings["QUERY_TIMEOUT"]):
        tables = gen.tables
        stories = tables.stories
        current = stories.resolve(story_id) if _STORY_ID.fullmatch(story_id or "") else None
        docs = stories.members(current) if current else np.empty(0, dtype=np.int64)
        docs = docs[tables.live[docs]]
        if len(docs) == 0:
            raise NotFoundError(f"No story with id {story_id[:40]!r}.")
        pub = tables.published[docs]
        order = np.lexsort((tables.doc.ids[docs].astype(str),
                            np.where(pub < 0, np.iinfo(np.int64).max, pub)))
        hits = []
        for d in docs[order].tolist():
            stored = gen.searcher.stored_fields(d)
            hits.append(hit_from_stored(stored, snippet=highlight.lead(stored.get(BODY) or ""),
                                        **_derived(tables, d)))
        dated = [h.published for h in hits if h.published]
        outlets: dict[str, list] = {}
        for h in hits:
            seen = outlets.setdefault(h.outlet, [0, None])
            seen[0] += 1
            if h.published and (seen[1] is None or h.published < seen[1]):
                seen[1] = h.published
        spans = sorted((OutletSpan(v, n, first) for v, (n, first) in outlets.items()),
                       key=lambda o: (o.first_published is None,
                                      o.first_published or datetime.min, o.value))
        named: dict[str, dict[str, int]] = {k: {} for k in ENTITY_KINDS}
        for h in hits:
            for kind, values in h.entities.as_dict().items():
                for v in set(values):
                    named[kind][v] = named[kind].get(v, 0) + 1
        entities = {k: tuple(FacetValue(v, n) for v, n in sorted(c.items(),
                                                                  key=lambda x: (-x[1], x[0])))
                    for k, c in named.items()}
        first = next((h for h in hits if h.id == current), hits[0])
        return StoryView(id=current, title=first.title,
                         first_published=min(dated) if dated else None,
                         last_published=max(dated) if dated else None,
                         outlets=tuple(spans), articles=tuple(hits), entities=entities,
                         asked=story_id if story_id != current else None)


def story_compare(index_dir, story_id: str, a: str, b: str,
                  settings: Settings = DEFAULT_SETTINGS):
    """How two articles of one story tell it: sentences both have (a paraphrase counts),
    those only one has, and the quotes and entities each lacks
    (:func:`search.stories.compare.compare`).

    :returns: ``(StoryView of the story, hit a, hit b, Comparison)``
    :raises NotFoundError: when the story is unknown, or ``a`` or ``b`` is not one of its
        articles
    """
    from search.stories.compare import Account
    from search.stories.compare import compare

    view = story(index_dir, story_id, settings)
    members = {h.id: h for h in view.articles}
    for name, aid in (("a", a), ("b", b)):
        if aid not in members:
            raise NotFoundError(f"{name}={aid[:40]!r} is not an article of story {view.id}: "
                                f"pick two of its {len(members)} articles.")
    accounts = []
    with _use(index_dir) as gen:
        for aid in (a, b):
            d = gen.tables.doc.docnum_of[aid]
            stored = gen.searcher.stored_fields(d)
            accounts.append(Account(title=stored.get(TITLE) or "", body=stored.get(BODY) or "",
                                    entities=gen.tables.entities_of(d)))
    return view, members[a], members[b], compare(*accounts)


def indexed_at(index_dir) -> datetime:
    """When the live generation took its last commit (UTC): the time an undated article
    in it was indexed, as near as the index knows.

    :raises IndexMissingError: when there is no index at ``index_dir``
    """
    gen = storage.require_current(index_dir)
    tocs = [p.stat().st_mtime for p in gen.glob("*.toc")]
    return datetime.fromtimestamp(max(tocs) if tocs else gen.stat().st_mtime, tz=timezone.utc)


def info(index_dir, settings: Settings = DEFAULT_SETTINGS) -> dict:
    """Counts, size and facets of the whole index (``newsfacet info --json``).

    :raises IndexMissingError: when there is no index at ``index_dir``
    """
    with _use(index_dir) as gen:
        tables = gen.tables
        size = settings["FACET_SIZE"]
        facets, _ = facetlib.count_facets(tables, tables.live, {}, {}, {n: size for n in FACETS})
        articles = int(tables.live.sum())
        stages = gen.stages()
        entities, stories = stages["entities"], stages["stories"]
        return {
            "articles": articles,
            "size_bytes": sum(p.stat().st_size for p in gen.path.iterdir() if p.is_file()),
            "facets": {n: [{"value": v.value, "count": v.count} for v in vs]
                       for n, vs in facets.items()},
            # An article is pending while any of its later stages is (DESIGN.md).
            "enrichment": {"done": articles - min(stages["pending"], articles),
                           "pending": stages["pending"],
                           "entities": {"done": entities.done, "pending": entities.pending},
                           "stories": {"done": stories.done, "pending": stories.pending},
                           "resolution": stages["resolution"]},
        }
