"""Evaluate a bound Whoosh query over decoded postings with NumPy: every match, scored.

Whoosh walks a query's matcher tree one posting at a time in Python; a search that
needs both the facet counts (every match) and the ranked top 10 walks it twice. Here
the same tree is evaluated once over whole arrays (:mod:`search.query.whoosh_postings`), giving a
boolean mask of every matching document and a dense score vector, with Whoosh's own
semantics:

* ``Term`` — the weighting model's scorer for that term, applied to all its postings at
  once: the scorer's ``_score(weight, length)`` (see :mod:`search.query.scoring`) is called on
  arrays, so the formula and its parameters stay in one place;
* ``And`` sums its parts' scores where all match; ``Not`` matches every other document
  with a score of 1 (Whoosh's ``InverseMatcher``), also inside ``And``;
* ``Or`` sums the scores of the parts that match; ``AndMaybe`` adds the optional part's
  score; ``AndNot`` keeps the positive part's score;
* ``Phrase`` — documents with every word, then word positions checked (scored as the
  sum of its words, as Whoosh's ``SpanNear2`` matcher does);
* a constant-score ``NumericRange`` on the date field — the facet tables' date mask,
  scoring its boost;
* a ``Term`` on an entity facet (``person``, ``org``, ``place``: not in Whoosh, answered
  from the side store through the facet tables) — the documents holding that value,
  each scoring 1 times the boost: what the ``KEYWORD(scorable=False)`` fields that held
  entities before scored (a weight of 1, the value once in the document), so a
  ``person:`` term keeps ranking the way it did.

* :class:`HoldsForm` — the articles holding a word's form as typed (from ``exact_<lang>``
  and the counts of the stemmed fields), and :class:`ExactFirst` — a word whose articles
  holding only another form of its stem rank below those holding the form.

Anything else raises :class:`Unsupported`, and the caller uses Whoosh's own searcher.

A subtree of words only (``Term``, ``Or``, ``And``, ``AndMaybe``, ``AndNot``, ``Phrase``,
``ExactFirst``, ``HoldsForm``) is evaluated *sparsely*: each node gives its sorted
documents and their scores, so the cost follows the postings, not the number of
articles (a two-word OR is a dozen nodes, each once n-sized arrays). The sums are made
in the same order as the dense path's, so the scores are the same to the last bit
(``tests/query/test_evaluate.py`` holds the two paths equal). A ``HoldsForm``'s documents
do not change within a generation and are kept beside the scored terms.
"""

from __future__ import annotations

import threading

import numpy as np
from whoosh import query as wq
from whoosh import scoring

from search import analysis
from search.query import budget
from search.schema import DATE_FIELD
from search.schema import ENTITY_KINDS

__all__ = ["Unsupported", "Evaluator", "ExactFirst", "HoldsForm", "STEM_ONLY_SHARE"]

# A word's score in an article holding only another form of its stem is at most this
# share of its lowest score in an article holding the form as typed.
STEM_ONLY_SHARE = 0.5
# Reading a language's changed forms (Evaluator.changed_forms), one thread at a time.
_FORMS_LOCK = threading.Lock()
# The first item of the key under which a HoldsForm's documents are kept in the
# generation's scored-terms dict (whose other keys are (field, btext) pairs).
_HOLDS = "holds-form"
_NO_DOCS = np.zeros(0, dtype=np.int64)
_NO_SCORES = np.zeros(0, dtype=np.float64)


class HoldsForm(wq.Term):
    """The articles of one language holding a form as written (:mod:`search.analysis`:
    ``exact_<lang>`` has the forms its analysis changes; a form that is its own term is
    held where that term occurs more often than all its other forms together).

    A ``Term`` on ``exact_<lang>`` to Whoosh's own matcher (the fallback), which so
    finds only the changed forms.
    """

    def __init__(self, lang: str, form: str, boost: float = 1.0):
        super().__init__(analysis.exact_field(lang), form, boost=boost)
        self.lang = lang

    def __eq__(self, other):
        return super().__eq__(other) and getattr(other, "lang", None) == self.lang

    def __hash__(self):
        return hash((self.fieldname, self.text, self.boost))


class ExactFirst(wq.AndMaybe):
    """A word's stems (``a``) with its form as typed (``b``, a term of the exact-form
    field): every article of ``a`` matches, and one that holds the form ranks above
    one that holds only another form of the stem (``Bogdanov`` above ``Bogdanovic``).

    The evaluator gives an article of ``a`` without ``b`` the word's score capped at
    :data:`STEM_ONLY_SHARE` of the lowest score of an article with ``b``, and keeps
    every other score as it is. Whoosh's own matcher (the fallback) reads it as the
    ``AndMaybe`` it is: the form's part scores 0 there, so it ranks by the stems alone.
    """


class Unsupported(Exception):
    """A query node this evaluator does not handle; search with Whoosh instead."""


class Evaluator:
    """Evaluates bound queries of one generation.

    :param searcher: the generation's Whoosh searcher (its weighting is used)
    :param cache: the generation's :class:`~search.query.whoosh_postings.PostingCache`
    :param published: publication time per document (Whoosh longs), -1 for none
    :param scored: the scored-terms dict of another evaluator of the generation, to share
    :param tables: ``tables()`` -> the :class:`~search.query.facets.FacetTables` the
        request reads (entity terms); ``None``: entity terms match nothing
    :param forms: the changed-forms dict of another evaluator of the generation, to share
    :param sparse: evaluate subtrees of words sparsely (:meth:`sparse_ok`); ``False``:
        every node over n-sized arrays (the reference the sparse path is tested against)
    """

    def __init__(self, searcher, cache, published: np.ndarray, scored: dict | None = None,
                 tables=None, forms: dict | None = None, sparse: bool = True):
        self.sparse = sparse
        self.tables = tables
        self.searcher = searcher
        self.reader = searcher.reader()
        self.cache = cache
        self.published = published
        self.n = len(published)
        self.weighting = searcher.weighting
        # (field, term) -> (docs, scores), and (_HOLDS, field, form) -> a HoldsForm's
        # docs; shared with a prewarming evaluator if given
        self._scored: dict[tuple[str, bytes], tuple[np.ndarray, np.ndarray]] = \
            {} if scored is None else scored
        # language -> term -> its changed forms (shared by a generation's evaluators)
        self._forms: dict = {} if forms is None else forms

    def run(self, q: wq.Query) -> tuple[np.ndarray, np.ndarray]:
        """``(mask, scores)`` of every document; scores are 0 where ``mask`` is False.

        :raises Unsupported: for a node this evaluator does not handle
        """
        return self._eval(q)

    # --- nodes ---------------------------------------------------------------------

    def _eval(self, q):
        budget.check()
        if self.sparse and self.sparse_ok(q):
            return self._dense(*self._sp(q))
        kind = type(q)
        if kind is HoldsForm:
            mask = self._holds_form(q)
            return mask, np.where(mask, float(q.boost), 0.0)
        if kind is wq.Term:
            if q.fieldname in ENTITY_KINDS:
                return self._entity(q)
            return self._boosted(self._term(q.fieldname, q.text), q.boost)
        if kind is wq.And:
            return self._and(q)
        if kind is wq.Or:
            return self._or(q)
        if kind is ExactFirst:
            return self._boosted(self._exact_first(q), q.boost)
        if kind is wq.AndMaybe:
            (m, s), (_, os_) = self._eval(q.a), self._eval(q.b)
            return self._boosted((m, s + np.where(m, os_, 0.0)), q.boost)
        if kind is wq.AndNot:
            (m, s), (nm, _) = self._eval(q.a), self._eval(q.b)
            keep = m & ~nm
            return self._boosted((keep, np.where(keep, s, 0.0)), q.boost)
        if kind is wq.Not:
            # Whoosh's InverseMatcher: every other document, scoring 1.0 (boost unused).
            mask = ~self._eval(q.query)[0]
            return mask, mask.astype(np.float64)
        if kind is wq.Phrase:
            return self._boosted(self._phrase(q), q.boost)
        if kind is wq.NumericRange or isinstance(q, wq.DateRange):
            return self._range(q)
        if q is wq.NullQuery or kind is type(wq.NullQuery):
            return self._empty()
        if isinstance(q, wq.MultiTerm) and not any(True for _ in q._btexts(self.reader)):
            return self._empty()  # an unexpanded wildcard that matches no term
        raise Unsupported(type(q).__name__)

    def _empty(self):
        return np.zeros(self.n, dtype=bool), np.zeros(self.n, dtype=np.float64)

    def _dense(self, docs, scores):
        mask, score = self._empty()
        mask[docs] = True
        score[docs] = scores
        return mask, score

    @staticmethod
    def _boosted(ms, boost):
        m, s = ms
        return (m, s * boost) if boost != 1.0 else (m, s)

    def _form_postings(self, q) -> tuple[np.ndarray | None, list, str | None]:
        """What decides which documents hold ``q``'s form: ``(docs, [], term)`` for a
        changed form (its documents in ``exact_<lang>``), else ``(None, parts, term)``:
        the term's documents and weights over each field's boost, one part per stemmed
        field holding it (none when the form has no term)."""
        lang, form = q.lang, q.text
        term = analysis.term_of(lang, form)
        if term is None:
            return None, [], None
        if term != form:  # a changed form: exact_<lang> has it
            btext = self._btext(q.fieldname, form)
            if btext is not None and (q.fieldname, btext) in self.reader:
                return self.cache.term(q.fieldname, btext)[0], [], term
            return _NO_DOCS, [], term
        parts = []
        for kind in analysis.KINDS:
            name = analysis.field(kind, lang)
            btext = self._btext(name, term)
            if btext is None or (name, btext) not in self.reader:
                continue
            docs, weights = self.cache.term(name, btext)
            parts.append((docs, weights / self.reader.schema[name].format.field_boost))
        return None, parts, term

    def _holds_form(self, q) -> np.ndarray:
        mask = np.zeros(self.n, dtype=bool)
        exact, parts, term = self._form_postings(q)
        if exact is not None:
            mask[exact] = True
            return mask
        # Its own term: held where the term occurs more often than its changed forms.
        count = np.zeros(self.n, dtype=np.float64)
        for docs, weights in parts:
            count[docs] += weights
        if not count.any():
            return mask
        for other in self.changed_forms(q.lang).get(term, ()):
            docs, weights = self.cache.term(q.fieldname, other)
            count[docs] -= weights
        return count > 0.5

    def changed_forms(self, lang: str) -> dict[str, list[bytes]]:
        """term -> the changed forms (``exact_<lang>`` terms) the language analyses to it,
        read once per generation and language."""
        got = self._forms.get(lang)
        if got is None:
            # Once per generation and language, and by one thread: a search that needs
            # them while the warming reads them waits for its result.
            with budget.excluded(), _FORMS_LOCK:
                got = self._forms.get(lang)
                if got is None:
                    got = self._read_changed_forms(lang)
        return got

    def _read_changed_forms(self, lang: str) -> dict[str, list[bytes]]:
        got: dict[str, list[bytes]] = {}
        name = analysis.exact_field(lang)
        if name in self.reader.indexed_field_names():
            # Segment by segment: a multi-segment reader's lexicon merges the
            # segments' terms one by one in Python (a second at 50k articles).
            btexts = sorted(set().union(*(
                leaf.lexicon(name) for leaf, _ in self.reader.leaf_readers()
                if name in leaf.indexed_field_names())))
            forms = [b.decode("utf-8") for b in btexts]
            for btext, term in zip(btexts, analysis.terms_of_forms(lang, forms)):
                got.setdefault(term, []).append(btext)
        self._forms[lang] = got
        return got

    def _exact_first(self, q):
        mask, score = self._eval(q.a)
        exact = self._eval(q.b)[0] & mask
        if not exact.any():
            return mask, score
        floor = float(score[exact].min()) * STEM_ONLY_SHARE
        stem_only = mask & ~exact
        return mask, np.where(stem_only, np.minimum(score, floor), score)

    def _children(self, q):
        if getattr(q, "minmatch", 0) or getattr(q, "scale", None):
            raise Unsupported("Or with minmatch/scale")
        return q.subqueries

    def _and(self, q):
        subs = self._children(q)
        if len(subs) == 1:
            return self._eval(subs[0])
        mask, score = self._eval(subs[0])
        mask = mask.copy()
        for s in subs[1:]:
            m, sc = self._eval(s)
            mask &= m
            score = score + sc
        return self._boosted((mask, np.where(mask, score, 0.0)), q.boost)

    def _or(self, q):
        subs = self._children(q)
        if len(subs) == 1:
            return self._eval(subs[0])
        mask, score = self._empty()
        for s in subs:
            budget.check()  # a prefix may bring 1,000 terms, each decoded on first use
            if type(s) is wq.Term and s.boost == 1.0 and s.fieldname not in ENTITY_KINDS:
                # Sparse: cost in postings, not documents (a prefix may bring 1,000 terms).
                btext = self._btext(s.fieldname, s.text)
                if btext is None:
                    continue
                docs, scores = self.scored(s.fieldname, btext)
                mask[docs] = True
                score[docs] += scores
            else:
                m, sc = self._eval(s)
                mask |= m
                score += sc
        return self._boosted((mask, score), q.boost)

    # --- sparse: sorted documents and their scores ---------------------------------

    @classmethod
    def sparse_ok(cls, q) -> bool:
        """Whether ``q`` is all nodes :meth:`_sp` evaluates sparsely (words, their
        ORs and ANDs, phrases, exact forms); a ``Not``, a date range or an entity term
        anywhere in it leaves it to the dense path."""
        kind = type(q)
        if kind is wq.Term:
            return q.fieldname not in ENTITY_KINDS
        if kind is HoldsForm or kind is wq.Phrase:
            return True
        if kind is wq.Or or kind is wq.And:
            if getattr(q, "minmatch", 0) or getattr(q, "scale", None):
                return False  # _children's Unsupported, from the dense path
            return all(cls.sparse_ok(s) for s in q.subqueries)
        if kind is ExactFirst or kind is wq.AndMaybe or kind is wq.AndNot:
            return cls.sparse_ok(q.a) and cls.sparse_ok(q.b)
        return q is wq.NullQuery or kind is type(wq.NullQuery)

    def _sp(self, q) -> tuple[np.ndarray, np.ndarray]:
        """``(docs, scores)`` of a node :meth:`sparse_ok` accepts: its documents (sorted,
        int64) and their scores, each the dense path's value at that document.

        The arrays may be the generation's kept ones: never written to.
        """
        budget.check()
        kind = type(q)
        if kind is wq.Term:
            btext = self._btext(q.fieldname, q.text)
            if btext is None:
                return _NO_DOCS, _NO_SCORES
            return self._sp_boosted(self.scored(q.fieldname, btext), q.boost)
        if kind is HoldsForm:
            docs = self.held(q)
            return docs, np.full(len(docs), float(q.boost))
        if kind is wq.Or:
            subs = q.subqueries
            if len(subs) == 1:
                return self._sp(subs[0])  # as _or: the boost of a single child's OR unused
            # A prefix may bring 1,000 terms, each decoded on first use (_sp checks).
            return self._sp_boosted(_summed([self._sp(s) for s in subs]), q.boost)
        if kind is wq.And:
            subs = q.subqueries
            if len(subs) == 1:
                return self._sp(subs[0])
            parts = [self._sp(s) for s in subs]
            docs = parts[0][0]
            for d, _ in parts[1:]:
                docs = docs[_within(docs, d)]
            # Summed left to right, as _and adds its parts' dense scores.
            score = parts[0][1][np.searchsorted(parts[0][0], docs)]
            for d, sc in parts[1:]:
                score = score + sc[np.searchsorted(d, docs)]
            return self._sp_boosted((docs, score), q.boost)
        if kind is ExactFirst:
            return self._sp_boosted(self._sp_exact_first(q), q.boost)
        if kind is wq.AndMaybe:
            (docs, s), (bd, bs) = self._sp(q.a), self._sp(q.b)
            return self._sp_boosted((docs, s + _at(bd, bs, docs)), q.boost)
        if kind is wq.AndNot:
            (docs, s), (bd, _) = self._sp(q.a), self._sp(q.b)
            keep = ~_within(docs, bd)
            return self._sp_boosted((docs[keep], s[keep]), q.boost)
        if kind is wq.Phrase:
            return self._sp_boosted(self._sp_phrase(q), q.boost)
        return _NO_DOCS, _NO_SCORES  # NullQuery

    @staticmethod
    def _sp_boosted(ds, boost):
        docs, s = ds
        return (docs, s * boost) if boost != 1.0 else (docs, s)

    def _sp_exact_first(self, q):
        docs, score = self._sp(q.a)
        exact = _within(docs, self._sp(q.b)[0])
        if not exact.any():
            return docs, score
        floor = float(score[exact].min()) * STEM_ONLY_SHARE
        return docs, np.where(exact, score, np.minimum(score, floor))

    def held(self, q: HoldsForm) -> np.ndarray:
        """The sorted documents holding ``q``'s form (:meth:`_holds_form`'s mask), found
        once per generation: they change only with the index."""
        key = (_HOLDS, q.fieldname, q.lang, q.text)
        got = self._scored.get(key)
        if got is not None:
            return got
        docs = self._held(q)
        return self.cache.keep(self._scored, key, docs, docs.nbytes)

    def _held(self, q: HoldsForm) -> np.ndarray:
        # _holds_form over the documents of the form's postings only; the counts are
        # summed in the same order, so the same documents pass the same threshold.
        exact, parts, term = self._form_postings(q)
        if exact is not None:
            return exact
        docs, count = _summed(parts)
        if not count.any():
            return _NO_DOCS
        for other in self.changed_forms(q.lang).get(term, ()):
            odocs, weights = self.cache.term(q.fieldname, other)
            # Only the documents already counted can pass: the others' counts are <= 0.
            at = np.searchsorted(docs, odocs)
            hit = _within(odocs, docs)
            count[at[hit]] -= weights[hit]
        return docs[count > 0.5]

    def _sp_phrase(self, q):
        found = self._phrase_docs(q)
        if found is None or len(found) == 0:
            return _NO_DOCS, _NO_SCORES
        score = np.zeros(len(found), dtype=np.float64)
        for b in [self._btext(q.fieldname, w) for w in q.words]:
            docs, scores = self.scored(q.fieldname, b)
            sel = np.isin(docs, found, assume_unique=True)
            score[np.searchsorted(found, docs[sel])] += scores[sel]
        return found, score

    # --- leaves --------------------------------------------------------------------

    def _btext(self, fieldname, text):
        field = self.reader.schema[fieldname] if fieldname in self.reader.schema else None
        if field is None:
            return None
        try:
            return field.to_bytes(text)
        except ValueError:
            return None

    def _term(self, fieldname, text):
        btext = self._btext(fieldname, text)
        if btext is None:
            return self._empty()
        return self._dense(*self.scored(fieldname, btext))

    def _entity(self, q):
        """An entity facet's value: its documents, each scoring the term's boost."""
        if self.tables is None:
            return self._empty()
        mask = self.tables().filter_mask(q.fieldname, (q.text,))
        return mask, np.where(mask, float(q.boost), 0.0)

    def scored(self, fieldname: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
        """A term's documents and their scores, computed once per generation.

        Within a generation a term's score in a document never changes (idf and average
        length are the generation's), so it is kept beside the decoded postings.
        """
        key = (fieldname, btext)
        got = self._scored.get(key)
        if got is not None:
            return got
        if key not in self.reader:
            docs, scores = np.zeros(0, np.int64), np.zeros(0, np.float64)
        else:
            docs, weights = self.cache.term(fieldname, btext)
            scores = self._score(fieldname, btext, docs, weights)
        return self.cache.keep(self._scored, key, (docs, scores), scores.nbytes)

    def _score(self, fieldname, btext, docs, weights):
        scorer = self.weighting.scorer(self.searcher, fieldname, btext)
        if isinstance(scorer, scoring.WeightLengthScorer) and hasattr(scorer, "_score"):
            lengths = self.cache.lengths(fieldname)[docs]
            try:  # the model's own formula, on arrays; one that needs scalars is Whoosh's job
                out = np.asarray(scorer._score(weights, lengths), dtype=np.float64)
            except (TypeError, ValueError) as e:
                raise Unsupported(f"{type(scorer).__name__}._score on arrays: {e}") from None
            if out.shape != docs.shape:
                raise Unsupported(f"{type(scorer).__name__}._score gave no array")
            return out
        if type(scorer) is scoring.WeightScorer:
            return weights
        raise Unsupported(type(scorer).__name__)

    def _phrase(self, q):
        mask, score = self._empty()
        found = self._phrase_docs(q)
        if found is None or len(found) == 0:
            return mask, score
        mask[found] = True
        for b in [self._btext(q.fieldname, w) for w in q.words]:
            docs, scores = self.scored(q.fieldname, b)
            sel = np.isin(docs, found, assume_unique=True)
            score[docs[sel]] += scores[sel]
        return mask, score

    def _phrase_docs(self, q) -> np.ndarray | None:
        """The sorted documents where ``q``'s words stand as a phrase; ``None``: none can
        (a field or word the index lacks)."""
        if q.fieldname not in self.reader.schema or not q.words:
            return None
        btexts = [self._btext(q.fieldname, w) for w in q.words]
        if any(b is None or (q.fieldname, b) not in self.reader for b in btexts):
            return None
        if q.slop != 1 and len(btexts) > 2:
            raise Unsupported("phrase of 3+ words with slop")
        lists = [self.cache.term(q.fieldname, b) for b in btexts]
        cand = lists[0][0]
        for docs, _ in lists[1:]:
            cand = cand[np.isin(cand, docs, assume_unique=True)]
        if len(cand) == 0:
            return cand
        return self._verify(q, btexts, cand)

    def _verify(self, q, btexts, cand) -> np.ndarray:
        """Candidate documents where the words stand in order within ``q.slop``."""
        keys = []
        for b in btexts:
            keys.append(self.cache.positions_within(q.fieldname, b, cand))
            budget.check()
        if q.slop == 1:
            # Word i at position p + i: shift each word back by i and intersect.
            ok = keys[0]
            for i, k in enumerate(keys[1:], start=1):
                ok = np.intersect1d(ok, k - i, assume_unique=True)
            return np.unique(ok >> 24)
        # Two words, ordered, 1 <= distance <= slop (Whoosh's SpanNear2, mindist 1): for
        # each first word, the next second word after it, by bisection. The cost does
        # not grow with the slop (one pass per slop value once took 8 s at ~1,000,000).
        first, second = keys
        if len(first) == 0 or len(second) == 0:
            return np.zeros(0, dtype=np.int64)
        nxt = np.searchsorted(second, first, side="right")
        has = nxt < len(second)
        gap = np.full(len(first), np.iinfo(np.int64).max, dtype=np.int64)
        gap[has] = second[nxt[has]] - first[has]
        # Keys are docnum << 24 | position, so a gap within the slop is in the same doc.
        near = gap <= min(q.slop, (1 << 24) - 1)
        return np.unique(first[near] >> 24)

    def _range(self, q):
        if q.fieldname != DATE_FIELD or not q.constantscore:
            raise Unsupported("range other than a constant-score date range")
        pub = self.published
        mask = pub >= 0
        if q.start is not None:
            mask &= (pub > q.start) if q.startexcl else (pub >= q.start)
        if q.end is not None:
            mask &= (pub < q.end) if q.endexcl else (pub <= q.end)
        return mask, np.where(mask, float(q.boost), 0.0)


def _within(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Which elements of ``a`` are in ``b`` (both sorted, unique)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros(len(a), dtype=bool)
    at = np.searchsorted(b, a)
    at[at == len(b)] = 0
    return b[at] == a


def _at(docs: np.ndarray, scores: np.ndarray, where: np.ndarray) -> np.ndarray:
    """``scores`` of ``docs`` at each of ``where`` (sorted, unique), 0 where it has none."""
    if len(docs) == 0:
        return np.zeros(len(where), dtype=np.float64)
    at = np.searchsorted(docs, where)
    at[at == len(docs)] = 0
    return np.where(docs[at] == where, scores[at], 0.0)


def _summed(parts) -> tuple[np.ndarray, np.ndarray]:
    """The union of ``(docs, values)`` parts (sorted, unique docs each) and each
    document's values summed in the parts' order, from 0.0 (as a dense sum adds them)."""
    parts = [p for p in parts if len(p[0])]
    if not parts:
        return _NO_DOCS, _NO_SCORES
    if len(parts) == 1:
        docs, values = parts[0]
        return docs, values + 0.0  # 0.0 + v: the dense sum's first step (a new array)
    # Sorted runs, concatenated: a stable sort (timsort) merges them in linear time.
    docs = np.concatenate([d for d, _ in parts])
    docs.sort(kind="stable")
    docs = docs[np.concatenate(([True], docs[1:] != docs[:-1]))]
    total = np.zeros(len(docs), dtype=np.float64)
    for d, v in parts:
        total[np.searchsorted(docs, d)] += v
    return docs, total
