"""The matches and the ranked page of a query on one generation.

:func:`match` evaluates a bound query once, with the request's date range and facet
selections, into :class:`Matches`: every later step (the page, the facet counts, the
suggestion) reads those masks instead of combining its own. The query itself runs
through the NumPy evaluator (:mod:`search.query.evaluate`), which gives both every
match and every match's score; Whoosh's own searcher is the fallback for query nodes
the evaluator does not handle (counted in ``Generation.stats``); entity terms, which
Whoosh's documents no longer hold, reach it as :class:`DocSet` queries over the
documents the facet tables give (:func:`for_whoosh`). The page is the top
``start + size`` by ``np.partition`` and then a sort of those few, in Whoosh's order:
score descending, ties by document number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from whoosh import collectors
from whoosh import query as wq
from whoosh.matching import ListMatcher
from whoosh.matching import NullMatcher

from search.query import budget
from search.query.bind import Bound
from search.query.evaluate import Unsupported
from search.query.generation import Generation
from search.query.stories import first_of_groups
from search.schema import ENTITY_KINDS


class DocSet(wq.Query):
    """Documents given by number, each scoring the boost: an entity term for Whoosh's
    own matcher (its documents hold no entities; the side store does).

    :param fieldname: the entity facet (for ``repr`` and ``terms``)
    :param text: its value
    :param docnums: sorted document numbers of the whole (multi-segment) reader
    """

    def __init__(self, fieldname: str, text: str, docnums: np.ndarray, boost: float = 1.0):
        self.fieldname = fieldname
        self.text = text
        self.docnums = docnums
        self.boost = boost

    def __repr__(self):
        return f"{type(self).__name__}({self.fieldname!r}, {self.text!r}, {len(self.docnums)} docs)"

    def __eq__(self, other):
        return (type(other) is type(self) and other.fieldname == self.fieldname
                and other.text == self.text and other.boost == self.boost
                and np.array_equal(other.docnums, self.docnums))

    def __hash__(self):
        return hash((self.fieldname, self.text, self.boost, len(self.docnums)))

    def is_leaf(self):
        return True

    def estimate_size(self, ixreader):
        return len(self.docnums)

    def matcher(self, searcher, context=None):
        # A leaf searcher of a multi-segment reader counts from 0: find where it starts.
        offset = 0
        parent = searcher.get_parent()
        if parent is not searcher and parent.subsearchers:
            offset = next((off for s, off in parent.subsearchers if s is searcher), 0)
        n = searcher.reader().doc_count_all()
        lo, hi = np.searchsorted(self.docnums, [offset, offset + n])
        local = (self.docnums[lo:hi] - offset).tolist()
        if not local:
            return NullMatcher()
        return _ConstantMatcher(local, all_weights=float(self.boost))


class _ConstantMatcher(ListMatcher):
    """A list of documents scoring one weight, without a scorer."""

    def max_quality(self):
        return self._all_weights

    def block_quality(self):
        return self._all_weights


def for_whoosh(gen: Generation, q):
    """``q`` with every entity term made a :class:`DocSet` of the tables' documents, for
    Whoosh's searcher (it scores 1 times the boost, as the evaluator does)."""
    tables = gen.tables

    def fix(node):
        if type(node) is wq.Term and node.fieldname in ENTITY_KINDS:
            docs = np.flatnonzero(tables.filter_mask(node.fieldname, (node.text,)))
            return DocSet(node.fieldname, node.text, docs, node.boost)
        return node.apply(fix) if not node.is_leaf() else node

    return fix(q) if q is not None else None


@dataclass
class Matches:
    """One evaluation of a query with a request's date range and selections.

    :param query: live documents matching the query text and the date range (what each
        facet's counts start from)
    :param evaluated: ``(mask, scores)`` from :func:`evaluate`, or ``None``: rank with
        Whoosh
    :param filters: a mask per facet with a selection
    :param within: live documents in the date range and every selection (where a better
        spelled query is tried)
    :param full: the results: ``query`` within every selection
    :param narrowed: whether a date range or a selection narrows the query's matches
        (Whoosh's fallback ranking is then given ``full`` as its filter)
    """

    query: np.ndarray
    evaluated: tuple[np.ndarray, np.ndarray] | None
    filters: dict[str, np.ndarray]
    within: np.ndarray
    full: np.ndarray
    narrowed: bool

    @property
    def total(self) -> int:
        return int(self.full.sum())


def match(gen: Generation, bound: Bound, start: int | None, end: int | None,
          selections: dict[str, tuple[str, ...]], story: str | None = None) -> Matches:
    """Evaluate ``bound`` once, within a date range, facet selections and a story.

    :param start: the range's first moment as a Whoosh long, or ``None``
    :param end: its last moment, or ``None``
    :param selections: facet name -> selected display values
    :param story: a story id (old ids answer too), or ``None``
    """
    t = gen.tables
    ev = evaluate(gen, bound.query)
    query = matched(gen, bound.query, ev)
    within = t.live.copy()
    dated = start is not None or end is not None
    if dated:
        dates = t.date_mask(start, end)
        query &= dates
        within &= dates
    if story is not None:  # narrows like the dates: every facet is counted within it
        members = t.stories.mask(story)
        query &= members
        within &= members
        dated = True
    filters = {name: t.filter_mask(name, values) for name, values in selections.items()}
    for m in filters.values():
        within &= m
    return Matches(query, ev, filters, within, query & within, dated or bool(filters))


def evaluate(gen: Generation, q) -> tuple[np.ndarray, np.ndarray] | None:
    """``(mask, scores)`` of every match by the NumPy evaluator; ``None``: use Whoosh's.

    :param q: a bound query (``None``, every article, gives ``None``)
    """
    if q is None:
        return None
    try:
        mask, scores = gen.evaluator.run(q)
    except Unsupported:
        gen.stats["whoosh"] += 1
        return None
    gen.stats["numpy"] += 1
    return mask & gen.tables.live, scores


def matched(gen: Generation, q, ev=None) -> np.ndarray:
    """Mask of the live documents matching ``q`` (every live one for ``None``).

    :param ev: the result of :func:`evaluate`, or ``None`` to ask Whoosh
    """
    t = gen.tables
    if q is None:
        return t.live.copy()
    if ev is not None:
        return ev[0].copy()
    mask = np.zeros(t.n, dtype=bool)
    found = _checked(gen.searcher.docs_for_query(for_whoosh(gen, q)))
    mask[np.fromiter(found, dtype=np.int64)] = True
    return mask & t.live


def _checked(docnums, every: int = 1024):
    """``docnums`` as they come, checking the search's time budget every ``every``."""
    for i, d in enumerate(docnums):
        if i % every == every - 1:
            budget.check()
        yield d


def top(full: np.ndarray, scores: np.ndarray, start: int, size: int) -> list[tuple[int, float]]:
    """The page of ``full`` by score descending, ties by docnum (Whoosh's order)."""
    docs = np.flatnonzero(full)
    s = scores[docs]
    k = start + size
    if len(docs) > k:
        kth = np.partition(-s, k - 1)[k - 1]
        keep = -s <= kth  # every document tied with the k-th stays in the running
        docs, s = docs[keep], s[keep]
    order = np.lexsort((docs, -s))[start:k]
    return [(int(docs[i]), float(s[i])) for i in order]


def page(gen: Generation, bound: Bound, m: Matches, sort: str, start: int,
         size: int, groups: np.ndarray | None = None) -> list[tuple[int, float]]:
    """(docnum, score) of the requested page of the results, by relevance or date.

    :param groups: a group key per document (:meth:`StoryTables.groups`): the page then
        holds the first document of each group, ``start`` and ``size`` count groups
    """
    q, bonus, ev, full = bound.query, bound.bonus, m.evaluated, m.full
    if q is None or sort != "relevance":
        docs = np.flatnonzero(full)
        pub = gen.tables.published[docs]
        if sort == "oldest":
            key = np.where(pub < 0, np.iinfo(np.int64).max, pub)
        else:  # newest, and browse ranked "by relevance": undated articles last
            key = np.where(pub < 0, 1, -pub)
        order = np.lexsort((docs, key))
        if groups is not None:
            return [(int(d), 0.0) for d in first_of_groups(docs[order], groups)[start:start + size]]
        return [(int(docs[i]), 0.0) for i in order[start:start + size]]
    if ev is not None:
        try:
            scores = ev[1]
            if bonus is not None:  # AndMaybe(q, bonus): the bonus's score where it matches
                bmask, bscores = gen.evaluator.run(bonus)
                scores = scores + np.where(bmask, bscores, 0.0)
            if groups is None:
                return top(full, scores, start, size)
            return _collapsed(lambda k: top(full, scores, 0, k), m.total, groups, start, size)
        except Unsupported:
            pass
    q = for_whoosh(gen, q)
    ranked = wq.AndMaybe(q, bonus) if bonus is not None else q
    allow = set(np.flatnonzero(full).tolist()) if m.narrowed else None
    if groups is not None:
        return _collapsed(lambda k: _whoosh_top(gen, ranked, allow, k), m.total, groups,
                          start, size)
    return _whoosh_top(gen, ranked, allow, start + size)[start:]


def order(gen: Generation, bound: Bound, m: Matches, sort: str) -> np.ndarray:
    """Every match's document number in the order of :func:`page` (an export's rows)."""
    if bound.query is not None and sort == "relevance":
        if m.evaluated is not None:
            try:
                scores = m.evaluated[1]
                if bound.bonus is not None:
                    bmask, bscores = gen.evaluator.run(bound.bonus)
                    scores = scores + np.where(bmask, bscores, 0.0)
                docs = np.flatnonzero(m.full)
                return docs[np.lexsort((docs, -scores[docs]))]
            except Unsupported:
                pass
        # Whoosh's own ranking (a query the evaluator does not take): all of it.
        ranked = page(gen, bound, m, sort, 0, max(m.total, 1))
        return np.array([d for d, _ in ranked], dtype=np.int64)
    docs = np.flatnonzero(m.full)
    pub = gen.tables.published[docs]
    key = (np.where(pub < 0, np.iinfo(np.int64).max, pub) if sort == "oldest"
           else np.where(pub < 0, 1, -pub))
    return docs[np.lexsort((docs, key))]


def _collapsed(best, total: int, groups: np.ndarray, start: int,
               size: int) -> list[tuple[int, float]]:
    """The page of groups from ``best(k)``, the k best (docnum, score) in order: k grows
    until it holds ``start + size`` groups or every match (so the cost follows the page,
    not the number of matches, unless groups are few and large)."""
    want = start + size
    k = min(total, max(4 * want, 64))
    while True:
        ranked = best(k)
        docs = np.fromiter((d for d, _ in ranked), dtype=np.int64, count=len(ranked))
        firsts = first_of_groups(docs, groups)
        if len(firsts) >= want or k >= total:
            score = dict(ranked)
            return [(int(d), score[int(d)]) for d in firsts[start:want]]
        k = min(total, k * 4)


def _whoosh_top(gen: Generation, ranked, allow, limit: int) -> list[tuple[int, float]]:
    """The ``limit`` best (docnum, score) by Whoosh's own matcher, within ``allow``."""
    collector = gen.searcher.collector(limit=limit, filter=allow)
    left = budget.remaining()
    if left is not None:
        # Whoosh's own matcher walk, stopped at the budget (it checks at each match).
        collector = collectors.TimeLimitCollector(collector, max(left, 0.001),
                                                  use_alarm=False)
    try:
        gen.searcher.search_with_collector(ranked, collector)
    except collectors.TimeLimit:
        raise budget.timeout_error() from None
    res = collector.results()
    return [(res.docnum(i), res.score(i)) for i in range(len(res))]
