"""Top words: the words that set a search's matches apart from the whole archive.

Significant terms as Elasticsearch's ``significant_text`` computes them, scored by
**JLH** (its default): with ``fg`` the share of the matching articles that hold a word
and ``bg`` the share of all articles that do,

    score = (fg - bg) * (fg / bg)     when fg > bg (else the word is not shown)

so a word common everywhere ("said") scores nothing, and a word frequent in the matches
and rare elsewhere scores high. The foreground is a **sample**: the :data:`SAMPLE`
best-ranked matches, one per copy group (all of them when there are fewer; the size is
in the answer), read back from their stored text; the background is the index's own
document frequency of the word's stem in the article's language. A word needs :data:`MIN_DOCS` sample articles (noise otherwise).
Each word is shown as written most often in the sample (unstemmed), and is counted by
its stem, so "strike" and "strikes" are one word.

>>> round(jlh(50, 100, 10, 1000), 3)
24.5
>>> jlh(5, 100, 100, 1000)
0.0
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass

from search import analysis
from search.config import DEFAULT_SETTINGS
from search.config import Settings
from search.models import SearchRequest
from search.query import budget
from search.query import rank
from search.query.generation import use as _use
from search.query.stories import first_of_groups
from search.schema import BODY
from search.schema import LANG
from search.schema import TITLE

# Best-ranked matches read for the foreground: a large result set is sampled from its
# best-ranked matches, as Elasticsearch's guide pairs significant_text with a `sampler`
# of a few hundred documents (each one read back costs ~1 ms).
SAMPLE = 300
# A word in fewer sample articles than this (or than this share of the sample) is not
# shown: too rare in the matches to say anything about them.
MIN_DOCS = 3
MIN_SHARE = 0.01
TOP = 25
_TOKEN = re.compile(r"\w+(?:[.'’]\w+)*", re.UNICODE)
_stems: dict[tuple[str, str], str | None] = {}  # (language, word as written) -> its term


def jlh(fg_docs: int, fg_size: int, bg_docs: int, bg_size: int) -> float:
    """Elasticsearch's JLH score of a word in ``fg_docs`` of ``fg_size`` sample articles
    and ``bg_docs`` of ``bg_size`` archive articles."""
    if not fg_size or not bg_size or not bg_docs:
        return 0.0
    fg, bg = fg_docs / fg_size, bg_docs / bg_size
    return (fg - bg) * (fg / bg) if fg > bg else 0.0


def _plain(word: str) -> str:
    """A written form to show: without a possessive ending ("BT's" -> "BT")."""
    return word[:-2] if word.endswith(("'s", "’s")) and len(word) > 3 else word


def _learn(lang: str, word: str) -> None:
    """Put ``word``'s index term in ``lang`` (``None``: a stop word, a number, several
    tokens) in the memo, as written (so the hot loop needs no ``lower()``)."""
    term = analysis.term_of(lang, word.lower())
    if len(_stems) > 1_000_000:  # bounded memo
        _stems.clear()
    # numbers ("55.67", "2005") say nothing a reader can search for
    _stems[(lang, word)] = None if term is None or not any(c.isalpha() for c in term) else term


@dataclass(frozen=True)
class Term:
    term: str
    count: int
    background: int
    score: float

    def to_json(self) -> dict:
        return {"term": self.term, "count": self.count, "background": self.background,
                "score": round(self.score, 6)}


@dataclass(frozen=True)
class TopWords:
    terms: tuple[Term, ...]
    total: int
    sample: int
    archive: int
    took_ms: float = 0.0

    def to_json(self) -> dict:
        return {"ok": True, "terms": [t.to_json() for t in self.terms], "total": self.total,
                "sample": self.sample, "archive": self.archive, "score": "JLH",
                "took_ms": round(self.took_ms, 2)}


def top_words(index_dir, request: SearchRequest, size: int = TOP,
              settings: Settings = DEFAULT_SETTINGS) -> TopWords:
    """The words that distinguish the request's matches from the whole archive.

    :raises QueryError: for a query that cannot be run
    """
    from search.query import service

    t0 = time.perf_counter()
    with _use(index_dir) as gen, budget.limit(settings["QUERY_TIMEOUT"]):
        m, _, bound = service.evaluate_request(gen, request, settings)
        ranked = rank.order(gen, bound, m, "relevance")
        # One article per copy group: five wire copies of one text would count each of
        # its rare words five times (stage 4 knows the groups; before it, each its own).
        ranked = first_of_groups(ranked[:SAMPLE * 4], gen.tables.stories.copy_root)[:SAMPLE]
        seen: Counter = Counter()  # stem -> sample articles holding it
        forms: Counter = Counter()  # (stem, form as written) -> sample articles
        searcher = gen.searcher
        stem_of = _stems
        for i, d in enumerate(ranked.tolist()):
            if i % 64 == 63:
                budget.check()
            stored = searcher.stored_fields(d)
            # each article is counted by its own language's terms (and fields below)
            lang = analysis.analysis_language(stored.get(LANG))
            words = set(_TOKEN.findall(f"{stored.get(TITLE) or ''}\n{stored.get(BODY) or ''}"))
            for w in words:
                if (lang, w) not in stem_of:
                    _learn(lang, w)
            stems = {(lang, stem_of[(lang, w)]): _plain(w) for w in words}
            stems.pop((lang, None), None)
            seen.update(stems.keys())
            forms.update(stems.items())
        archive = int(gen.tables.live.sum())
        n = len(ranked)
        least = max(MIN_DOCS, int(n * MIN_SHARE))
        # the query's own words are in every match by construction: nothing to learn
        asked = {(analysis.language_of(f), t.decode("utf-8") if isinstance(t, bytes) else t)
                 for f, ts in bound.terms.items() if analysis.kind_of(f) in (BODY, TITLE)
                 for t in ts}
        dfs: dict[str, tuple] = {}

        def df(key) -> int:
            lang, term = key
            if lang not in dfs:
                dfs[lang] = (gen.doc_frequencies(analysis.field(BODY, lang)),
                             gen.doc_frequencies(analysis.field(TITLE, lang)))
            body_df, title_df = dfs[lang]
            return max(body_df(term), title_df(term))
        scored = []
        for s, c in seen.items():
            if c < least or s in asked:
                continue
            # articles holding it in the body or the title: at least the larger of the two
            bg = max(df(s), c)
            score = jlh(c, n, bg, archive)
            if score > 0:
                scored.append((score, s, c, bg))
        scored.sort(key=lambda x: (-x[0], x[1][1], x[1][0]))
        top = scored[:size]
        written: dict[str, Counter] = {s: Counter() for _, s, _, _ in top}
        for (s, w), c in forms.items():
            if s in written:
                written[s][w] += c
        terms = []
        for score, s, c, bg in top:
            # the form written most; lower-cased unless always capitalised (a name)
            form = written[s].most_common(1)[0][0]
            if any(f.islower() for f in written[s]):
                form = form.lower()
            terms.append(Term(form, c, bg, score))
    return TopWords(tuple(terms), int(m.total), n, archive, (time.perf_counter() - t0) * 1000)
