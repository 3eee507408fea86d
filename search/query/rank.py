"""The matches and the ranked page of a query on one generation.

:func:`evaluate` runs the bound query once through the NumPy evaluator
(:mod:`search.query.evaluate`), which gives both every match (for the facet counts) and every
match's score (for the page); Whoosh's own searcher is the fallback for query nodes the
evaluator does not handle (counted in ``Generation.stats``). The page is the top
``start + size`` by ``np.partition`` and then a sort of those few, in Whoosh's order:
score descending, ties by document number.
"""

from __future__ import annotations

import numpy as np
from whoosh import collectors
from whoosh import query as wq

from search.query import bind
from search.query import budget
from search.query.generation import Generation
from search.query.evaluate import Unsupported
from search.models import SearchRequest


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
    mask[np.fromiter(_checked(gen.searcher.docs_for_query(q)), dtype=np.int64)] = True
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


def page(gen: Generation, q, ev, full: np.ndarray, filtered: bool, req: SearchRequest,
          start: int, size: int) -> list[tuple[int, float]]:
    """(docnum, score) of the requested page of ``full``, by relevance or date.

    :param ev: the result of :func:`evaluate`, or ``None`` to rank with Whoosh
    :param filtered: whether ``full`` is narrower than the query's matches
    """
    if q is None or req.sort != "relevance":
        docs = np.flatnonzero(full)
        pub = gen.tables.published[docs]
        if req.sort == "oldest":
            key = np.where(pub < 0, np.iinfo(np.int64).max, pub)
        else:  # newest, and browse ranked "by relevance": undated articles last
            key = np.where(pub < 0, 1, -pub)
        order = np.lexsort((docs, key))[start:start + size]
        return [(int(docs[i]), 0.0) for i in order]
    bonus = bind.title_bonus(q)
    if ev is not None:
        try:
            scores = ev[1]
            if bonus is not None:  # AndMaybe(q, bonus): the bonus's score where it matches
                bmask, bscores = gen.evaluator.run(bonus)
                scores = scores + np.where(bmask, bscores, 0.0)
            return top(full, scores, start, size)
        except Unsupported:
            pass
    ranked = wq.AndMaybe(q, bonus) if bonus is not None else q
    allow = set(np.flatnonzero(full).tolist()) if filtered else None
    collector = gen.searcher.collector(limit=start + size, filter=allow)
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
    return [(res.docnum(i), res.score(i)) for i in range(start, min(start + size, len(res)))]
