"""Ranking: the weighting model the query service passes to ``ix.searcher(weighting=…)``.

A model of Whoosh's own kind (STYLE.md, "Reuse Whoosh's parts"): :class:`NewsBM25` is a
:class:`whoosh.scoring.BM25F` whose scorer keeps BM25F's O(1) per-posting cost and its
block-max fast path, and changes only what ``bench/relevance.py`` measured to matter.
"""

from __future__ import annotations

from math import log

from whoosh import query
from whoosh import scoring

from search import analysis
from search.schema import BODY

__all__ = ["NewsBM25", "proximity_boost", "weighting"]


class NewsBM25(scoring.BM25F):
    """BM25F with a Lucene-style idf, which stays positive for terms in most documents.

    :param B: length normalisation for every field without its own ``<field>_B``
    :param K1: term-frequency saturation
    :param kwargs: ``<field>_B`` values, as :class:`whoosh.scoring.BM25F` takes them
    """

    def idf(self, searcher, fieldname, text):
        """``log(1 + (N − df + 0.5) / (df + 0.5))``: never negative, as in Lucene."""
        parent = searcher.get_parent()
        n = parent.doc_count_all()
        df = parent.doc_frequency(fieldname, text)
        return log(1.0 + (n - df + 0.5) / (df + 0.5))

    def scorer(self, searcher, fieldname, text, qf=1):
        if not searcher.schema[fieldname].scorable:
            return scoring.WeightScorer.for_(searcher, fieldname, text)
        B = self._field_B.get(fieldname, self.B)
        return _NewsBM25Scorer(self, searcher, fieldname, text, B, self.K1, qf)


class _NewsBM25Scorer(scoring.WeightLengthScorer):
    # WeightLengthScorer gives max_quality/block_quality from the term's max weight and
    # min length, a true upper bound for any score that rises with tf and falls with length.

    def __init__(self, model, searcher, fieldname, text, B, K1, qf):
        parent = searcher.get_parent()
        # The model's idf, not parent.idf(): that one uses the *searcher's* weighting,
        # which differs when the model is passed through a search context.
        self.idf = model.idf(parent, fieldname, text) * qf  # qf: Whoosh passes 1
        self.avgfl = parent.avg_field_length(fieldname) or 1
        self.B = B
        self.K1 = K1
        self.setup(searcher, fieldname, text)

    def _score(self, weight, length):
        norm = self.K1 * ((1.0 - self.B) + self.B * length / self.avgfl)
        return self.idf * weight * (self.K1 + 1.0) / (weight + norm)


def weighting() -> scoring.WeightingModel:
    """The ranking model of the query service (a new object each call; they hold no state).

    K1 2.0 and B 0.9 rather than BM25's usual 1.2 and 0.75: news articles are long and
    vary in length, so repeated query terms should saturate later and length should
    count more. On TIME this moved MAP 0.642 → 0.658 (stock BM25F 0.613, FTS5 0.656) and
    changed CRAN, CISI, MED and ADI by at most ±0.007 (``bench/relevance.py``).

    >>> type(weighting()).__name__, weighting().K1, weighting().B
    ('NewsBM25', 2.0, 0.9)
    """
    return NewsBM25(B=0.9, K1=2.0)


def proximity_boost(terms, fieldname: str = analysis.field(BODY, "en"), slop: int = 8,
                    boost: float = 0.1) -> query.Query | None:
    """A bonus for documents where consecutive query terms occur near each other.

    For the query layer to OR in beside the bag-of-words query: each pair of consecutive
    analysed terms becomes a :class:`whoosh.query.Phrase` with ``slop``, so a document
    whose text holds the pair in order within ``slop`` words gains ``boost`` times the
    two terms' scores again. Opt-in: phrase matching reads positions, which costs far
    more than the bag of words at 50k articles (MEASURED.md: ``"prime minister"`` 98 ms).

    :param terms: the query's analysed terms, in query order
    :param fieldname: the field whose positions are read (one language's body field)
    :param slop: the largest distance in words between the two terms
    :param boost: the share of the pair's score added
    :returns: the OR of the pair queries, or ``None`` for fewer than two distinct terms

    >>> proximity_boost(["ngo", "dinh", "diem"])
    Or([Phrase('body_en', ['ngo', 'dinh'], slop=8, boost=0.100000), \
Phrase('body_en', ['dinh', 'diem'], slop=8, boost=0.100000)])
    """
    terms = list(terms)
    pairs = [(a, b) for a, b in zip(terms, terms[1:]) if a != b]
    if not pairs:
        return None
    return query.Or([query.Phrase(fieldname, [a, b], slop=slop, boost=boost)
                     for a, b in pairs])
