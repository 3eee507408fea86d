"""The index-dependent half of query reading: a parsed query bound to one generation.

:func:`bind` resolves the parts of a :class:`~search.query.parse.ParsedQuery` that need the
index: facet values matched case-insensitively against each field's values
(``outlet:haaretz`` -> ``Haaretz``), ``entity:`` as any of person/org/place, and
prefix/wildcard/fuzzy terms expanded to at most ``MAX_WILDCARD_TERMS`` index terms.
:func:`title_bonus` builds the optional headline query that ranking adds, and
:func:`positive_terms` lists the terms a hit may have matched, for highlighting.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from itertools import islice

from whoosh import query as wq

from search import analysis
from search.config import DEFAULTS
from search.query import budget
from search.query.evaluate import ExactFirst
from search.query.evaluate import HoldsForm
from search.query.parse import ParsedQuery
from search.query.suggest import Speller
from search.schema import ENTITY
from search.schema import ENTITY_KINDS
from search.schema import EXACT
from search.schema import FACETS
from search.schema import OUTLET
from search.schema import TEXT_FIELDS
from search.schema import TITLE
from search.vocabulary import UNSTEMMED
from search.vocabulary import load as load_words


@dataclass
class Bound:
    """A query bound to one generation: what every later step of a search reads.

    :param query: the Whoosh query, or ``None`` for every article
    :param bonus: the headline query ranking adds (:func:`title_bonus`), or ``None``
    :param terms: per field, the index terms a hit may have matched
        (:func:`positive_terms`), for highlighting
    """

    query: wq.Query | None
    bonus: wq.Query | None = None
    terms: dict[str, set[bytes]] = field(default_factory=dict)

    @classmethod
    def of(cls, q: wq.Query | None, reader, languages=(analysis.UND,)) -> Bound:
        """``q`` bound with its headline bonus and terms to mark.

        :param q: a query on the language-free text fields (as :func:`bind` works on
            it): made per-language here
        :param languages: the analysis languages the index holds
        """
        bonus = title_bonus(q)
        q = localise(q, languages)
        bonus = localise(bonus, languages, exact=False) if bonus is not None else None
        return cls(q, bonus, positive_terms(q, reader))


def _lookup(lookups, fname: str, text: str, prefix: bool = False) -> list[str]:
    values = lookups(fname)  # lower-case value -> its display forms
    low = text.lower()
    if prefix:
        return [v for k, forms in values.items() if k.startswith(low) for v in forms]
    if low in values:
        return list(values[low])
    # "person:ross" finds "Dennis Ross": every word of the text is a word of the value.
    words = low.split()
    if fname in ENTITY_KINDS or fname == OUTLET:
        return [v for k, forms in values.items() if all(w in k.split() for w in words)
                for v in forms]
    return []


class Lexicon:
    """The words of a generation in memory, for prefixes, wildcards and near spellings.

    Walking Whoosh's lexicon of a multi-segment reader merges the segments' term lists
    term by term on every query; these sorted lists are read once per generation. The
    pseudo field :data:`~search.vocabulary.UNSTEMMED` is the generation's unstemmed words.

    :param reader: the generation's Whoosh reader
    :param generation: the generation's folder (where its unstemmed words are);
        ``None``: no unstemmed words
    :param carry: the lexicon of an earlier commit of the same generation: the word
        lists of the segments this commit still has are reused
    """

    def __init__(self, reader, generation=None, carry: Lexicon | None = None):
        self.reader = reader
        self.generation = generation
        # (segment key, field) -> that segment's sorted terms: a later commit that keeps
        # the segment reads only its new segments' terms.
        self._segment_words: dict[tuple[str, str], list[str]] = {}
        self._carry = carry
        self._carried = carry._segment_words if carry is not None else {}
        self._words: dict[str, list[str]] = {}
        self._sets: dict[str, frozenset[str]] = {}
        self._spellers: dict[str, Speller] = {}

    def words(self, fieldname: str) -> list[str]:
        """Every term of ``fieldname``, sorted (as Whoosh orders them)."""
        got = self._words.get(fieldname)
        if got is None:
            if fieldname == UNSTEMMED:
                got = load_words(self.generation) if self.generation is not None else []
            elif fieldname in self.reader.indexed_field_names():
                got = self._merged(fieldname)
            else:
                got = []
            self._words[fieldname] = got
            carry = self._carry
            if carry is not None and carry._words.get(fieldname) is got:
                self._sets[fieldname] = carry._sets[fieldname]
            else:
                self._sets[fieldname] = frozenset(got)
        return got

    def _merged(self, fieldname: str) -> list[str]:
        """Every term of ``fieldname`` over the segments, each segment's read once."""
        from search.query.facets import segment_key

        lists, new = [], []
        for leaf, _ in self.reader.leaf_readers():
            key = segment_key(leaf)
            got = self._carried.get((key, fieldname)) if key is not None else None
            if got is None:
                got = ([t.decode("utf-8") for t in leaf.lexicon(fieldname)]
                       if fieldname in leaf.indexed_field_names() else [])
                new.append(got)
            if key is not None:
                self._segment_words[(key, fieldname)] = got
            lists.append(got)
        if len(lists) == 1:
            return lists[0]
        carry = self._carry
        before = {k for k, f in self._carried if f == fieldname}
        if (carry is not None and fieldname in carry._words and before
                and before <= {k for k, f in self._segment_words if f == fieldname}):
            # Every segment of the commit before is still here: its merged list plus
            # the new segments' words it lacks (sorting two sorted runs is a merge).
            known = carry._sets[fieldname]
            extra = {w for words in new for w in words if w not in known}
            return sorted(carry._words[fieldname] + list(extra)) if extra else \
                carry._words[fieldname]
        # Whoosh orders terms by their UTF-8 bytes, which is code point order.
        return sorted(set().union(*lists))

    def settle(self) -> None:
        """Let the earlier commit's lexicon go (once the word lists a generation reads at
        its open are read): lexicons must not keep every earlier one alive."""
        self._carry = None
        self._carried = {}

    def has(self, fieldname: str, text: str) -> bool:
        self.words(fieldname)
        return text in self._sets[fieldname]

    def speller(self, fieldname: str) -> Speller:
        """Near-spelling lookup over the terms of ``fieldname`` (built on first use)."""
        got = self._spellers.get(fieldname)
        if got is None:
            got = self._spellers[fieldname] = Speller(self.words(fieldname))
        return got

    def prefixed(self, fieldname: str, prefix: str) -> Iterator[str]:
        """The terms of ``fieldname`` starting with ``prefix``, in order (lazily)."""
        words = self.words(fieldname)
        i = bisect_left(words, prefix)
        while i < len(words) and words[i].startswith(prefix):
            yield words[i]
            i += 1

    def matching(self, fieldname: str, pattern: str, limit: int) -> list[str]:
        """The first ``limit`` terms of ``fieldname`` matching a wildcard ``pattern``
        (``*`` any letters, ``?`` one); the letters before the first wildcard are
        looked up by bisection."""
        head = re.split(r"[*?]", pattern, maxsplit=1)[0]
        rx = re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c)
                                for c in pattern) + r"\Z")
        return list(islice((w for w in self.prefixed(fieldname, head) if rx.match(w)), limit))


def bind(parsed: ParsedQuery, reader, lookups, lexicon: Lexicon,
         max_terms: int = DEFAULTS["MAX_WILDCARD_TERMS"],
         max_query_terms: int = DEFAULTS["MAX_QUERY_TERMS"],
         languages=(analysis.UND,)) -> Bound:
    """Resolve the parts of a parsed query that need the index, and make its words
    per-language (:func:`localise`).

    :param parsed: from :func:`parse`; notices are appended to it
    :param reader: the Whoosh reader of the generation searched
    :param lookups: ``lookups(field) -> {lower-case value: its display forms}`` for facet
        fields
    :param lexicon: the generation's :class:`Lexicon`
    :param max_terms: most index terms a prefix/fuzzy term may expand to (setting
        ``MAX_WILDCARD_TERMS``)
    :param max_query_terms: most index terms all of the query's expansions together may
        add (setting ``MAX_QUERY_TERMS``)
    :param languages: the analysis languages the index holds
        (:func:`search.analysis.present_languages`)
    """
    if parsed.query is None:
        return Bound(None)
    cap = max_terms
    # All the query's expansions together: fifty prefixes of 1,000 terms each would be
    # an OR of 50,000 terms.
    total = max(cap, max_query_terms)
    left = [total]
    capped, over, missing, stopped = [], [], [], []

    def take(want: int) -> int:
        return max(0, min(want, left[0]))

    def fix(q):
        fname = getattr(q, "fieldname", None)
        if isinstance(q, (wq.Term, wq.Prefix, wq.Wildcard, wq.Phrase)) and (
                fname in FACETS or fname == ENTITY):
            text = q.text if not isinstance(q, wq.Phrase) else " ".join(q.words)
            fields = ENTITY_KINDS if fname == ENTITY else (fname,)
            prefix = isinstance(q, (wq.Prefix, wq.Wildcard))
            text = text.rstrip("*") if prefix else text
            terms = [wq.Term(f, v) for f in fields for v in _lookup(lookups, f, text, prefix)]
            if not terms:
                missing.append(f"{fname}:{text}")
                return wq.Term(fields[0], text, boost=q.boost)
            # The typed boost ("org:hezbollah^3") stays on what the value became.
            return (terms[0] if len(terms) == 1 else wq.Or(terms[:cap])).with_boost(q.boost)
        if isinstance(q, (wq.Prefix, wq.Wildcard, wq.FuzzyTerm)) and fname in TEXT_FIELDS:
            # Expanded to the index terms of every language's field of that kind.
            if budget.expired():
                stopped.append(True)
                return wq.NullQuery
            room = take(cap)
            if room == 0:  # the query's earlier words took every term it may have
                over.append(getattr(q, "text", ""))
                return wq.NullQuery
            terms = _expand_typed(q, room + 1, lexicon, languages)
            if len(terms) > room:
                (capped if room == cap else over).append(getattr(q, "text", ""))
            kept = sorted(terms)[:room]
            left[0] -= len(kept)
            if not kept:
                # Nothing to expand to: match nothing here rather than hand Whoosh the
                # unexpanded term (its fuzzy walk is seconds of pure Python per field).
                return wq.NullQuery
            return wq.Or([wq.Term(f, t) for f, t in kept])
        if isinstance(q, wq.MultiTerm):
            room = take(cap)
            terms = list(islice((t for _, t in q.expanded_terms(reader)), room + 1))
            if len(terms) > room:
                (capped if room == cap else over).append(getattr(q, "text", ""))
                left[0] -= room
                return wq.Or([wq.Term(fname, t) for t in terms[:room]])
            left[0] -= len(terms)
            return q
        return q.apply(fix) if q.is_leaf() is False else q

    q = fix(parsed.query)
    if capped:
        parsed.notices.append(f"{', '.join(sorted(set(capped)))!s}… matches more than {cap} "
                              f"words; searched the first {cap}")
    if over:
        parsed.notices.append(f"the query's wildcard and fuzzy words match more than {total} "
                              f"words in all; searched the first {total}")
    if stopped:
        parsed.notices.append(budget.stopped_notice())
    if missing:
        parsed.notices.append("no article has " + ", ".join(missing))
    return Bound.of(q, reader, languages)


def _expand_typed(q, limit: int, lexicon: Lexicon, languages) -> set[tuple[str, str]]:
    """``(field, term)`` of every language's field of the kind ``q`` names that a typed
    prefix/wildcard/fuzzy term stands for (at most about ``limit``).

    The typed pattern (the query schema keeps it as written, lower-cased) is matched
    against the generation's unstemmed words (:mod:`search.vocabulary`), whose matches
    are analysed as each language analyses text, and against each field's own terms
    ("dam?scus" must find the English stem "damascu" of "damascus").
    """
    kind, typed = q.fieldname, q.text
    found: set[tuple[str, str]] = set()
    if isinstance(q, wq.FuzzyTerm):
        head = typed[:q.prefixlength]
        words = [typed, *(w for w, _ in lexicon.speller(UNSTEMMED).near(typed, q.maxdist)
                          if w.startswith(head))]
        return _add_stems(found, words, kind, lexicon, languages, limit)
    if isinstance(q, wq.Prefix):  # a prefix is the pattern "letters*"
        typed += "*"
    for lang in languages:
        name = analysis.field(kind, lang)
        found.update((name, t) for t in lexicon.matching(name, analysis.fold(lang, typed),
                                                         limit))
        if len(found) >= limit:
            return found
    return _add_stems(found, lexicon.matching(UNSTEMMED, typed, limit), kind, lexicon,
                      languages, limit)


def _add_stems(found: set, words, kind: str, lexicon: Lexicon, languages,
               limit: int) -> set:
    """Add to ``found`` the ``(field, stem)`` of unstemmed ``words`` in each language's
    field of ``kind`` that holds it, stopping once it has ``limit``."""
    for word in words:
        for lang in languages:
            name = analysis.field(kind, lang)
            for stem in analysis.stems(lang, word):
                if lexicon.has(name, stem):
                    found.add((name, stem))
        if len(found) >= limit:
            break
    return found


def localise(q: wq.Query | None, languages, exact: bool = True) -> wq.Query | None:
    """``q`` with its words on the language-free text fields made per-language: a word
    becomes the OR of its stem in each language's field (only the ``languages`` the
    index holds), a phrase the OR of each language's phrase of stems.

    With ``exact``, a plain word also asks :data:`~search.schema.EXACT` for its form as
    typed (:class:`~search.query.evaluate.ExactFirst`: articles holding that form rank
    above those holding only its stem), and a quoted single word (a term on ``EXACT``
    from :func:`~search.query.parse.parse`) matches only articles holding that form.
    """
    if q is None:
        return None
    langs = tuple(languages) or (analysis.UND,)

    def word(kinds, text: str) -> wq.Query:
        terms = [wq.Term(analysis.field(k, lang), stem) for k in kinds for lang in langs
                 for stem in analysis.stems(lang, text)]
        if not terms:
            return wq.NullQuery
        return terms[0] if len(terms) == 1 else wq.Or(terms)

    def fix(node):
        if isinstance(node, wq.Or) and _is_field_or(node):
            kids = list(node.children())
            if all(type(k) is wq.Term for k in kids):
                text = kids[0].text
                return _boosted(_with_exact(word([k.fieldname for k in kids], text), text,
                                            exact, langs), node.boost * kids[0].boost)
        if type(node) is wq.Term and node.fieldname in TEXT_FIELDS:
            return _boosted(_with_exact(word([node.fieldname], node.text), node.text, exact,
                                        langs), node.boost)
        if type(node) is wq.Term and node.fieldname == EXACT:
            stemmed = word(TEXT_FIELDS, node.text)
            form = analysis.exact_form(node.text)
            if stemmed is wq.NullQuery or form is None:
                return wq.NullQuery
            # The form scores nothing: the stems give the score.
            return _boosted(wq.And([stemmed, _holds(form, langs, 0.0)]), node.boost)
        if isinstance(node, wq.Phrase) and node.fieldname in TEXT_FIELDS:
            phrases = []
            for lang in langs:
                words = [s for w in node.words for s in analysis.stems(lang, w)]
                if words:
                    phrases.append(wq.Phrase(analysis.field(node.fieldname, lang), words,
                                             slop=node.slop, boost=node.boost))
            if not phrases:
                return wq.NullQuery
            return phrases[0] if len(phrases) == 1 else wq.Or(phrases)
        return node.apply(fix) if not node.is_leaf() else node

    return fix(q).normalize()


def _boosted(q: wq.Query, boost: float) -> wq.Query:
    return q if boost == 1.0 or q is wq.NullQuery else q.with_boost(boost)


def _holds(form: str, langs, boost: float = 1.0) -> wq.Query:
    parts = [HoldsForm(lang, form, boost=boost) for lang in langs]
    return parts[0] if len(parts) == 1 else wq.Or(parts)


def _with_exact(stemmed: wq.Query, text: str, exact: bool, langs) -> wq.Query:
    form = analysis.exact_form(text) if exact else None
    if stemmed is wq.NullQuery or form is None:
        return stemmed
    # The form's part scores nothing: Whoosh's fallback (which reads ExactFirst as
    # AndMaybe) then ranks by the stems alone, as before exact forms.
    return ExactFirst(stemmed, _holds(form, langs, 0.0))


def title_bonus(q: wq.Query | None, boost: float = 3.0) -> wq.Query | None:
    """A query matching documents whose headline holds every required word or phrase.

    Used with ``AndMaybe`` so that a headline match ranks above scattered body matches.
    """
    if q is None:
        return None
    parts: list[wq.Query] = []

    def walk(node):
        if isinstance(node, (wq.Not, wq.Or)) and not _is_field_or(node):
            return
        if isinstance(node, wq.AndNot):
            walk(node.a)
            return
        if isinstance(node, (wq.Term, wq.Phrase)) and node.fieldname == TITLE:
            parts.append(node)
            return
        if not node.is_leaf():
            for c in node.children():
                walk(c)

    walk(q)
    if not parts:
        return None
    bonus = parts[0] if len(parts) == 1 else wq.And(parts)
    return bonus.with_boost(boost)


def _is_field_or(node) -> bool:
    # MultifieldParser turns one word into Or(title:w, body:w, caption:w): not a user OR.
    kids = list(node.children()) if isinstance(node, wq.Or) else []
    return bool(kids) and {getattr(k, "fieldname", None) for k in kids} <= set(TEXT_FIELDS) and \
        len({_leaf_text(k) for k in kids}) == 1


def _leaf_text(q) -> str:
    if isinstance(q, wq.Phrase):
        return " ".join(q.words)
    return str(getattr(q, "text", q))


def positive_terms(q: wq.Query | None, reader) -> dict[str, set[bytes]]:
    """Index terms (per field) a hit may have matched, for highlighting; negated parts left out."""
    out: dict[str, set[bytes]] = {}
    if q is None:
        return out

    def walk(node):
        if isinstance(node, wq.Not):
            return
        if isinstance(node, wq.AndNot):
            walk(node.a)
            return
        if isinstance(node, wq.MultiTerm):
            for f, t in islice(node.expanded_terms(reader), 200):
                out.setdefault(f, set()).add(t if isinstance(t, bytes) else t.encode("utf-8"))
            return
        if node.is_leaf():
            for f, t in node.terms(phrases=True):
                out.setdefault(f, set()).add(t if isinstance(t, bytes) else str(t).encode("utf-8"))
            return
        for c in node.children():
            walk(c)

    walk(q)
    return out
