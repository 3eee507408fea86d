"""User query text -> Whoosh query, with hostile-input handling.

Whoosh's own parser (``MultifieldParser``) does the parsing; this module only
prepares its input and checks its output, because the parser never complains:
``"``, ``(((`` and ``AND OR NOT`` silently become an empty query and ``*`` becomes a
scan of everything. :func:`parse` repairs what it can (closes a quote or a
parenthesis, reads a dangling operator as a word, reads an unknown ``field:`` as
words) and says so in ``notices``; it raises :class:`~search.errors.QueryError`
with a message saying how to write the query when nothing usable is left.

:func:`search.query.bind.bind` then resolves the parts that need the index.

>>> parse('"Damascus airport').notices
['closed the unbalanced quote']
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from typing import Any

from whoosh import qparser
from whoosh import query as wq
from whoosh.qparser import syntax
from whoosh.util.times import datetime_to_long

from search import analysis
from search.config import DEFAULT_SETTINGS
from search.errors import QueryError
from search.schema import BODY
from search.schema import CAPTION
from search.schema import DATE_FIELD
from search.schema import ENTITY
from search.schema import EXACT
from search.schema import LANG
from search.schema import MONTH
from search.schema import ORG
from search.schema import OUTLET
from search.schema import PERSON
from search.schema import PLACE
from search.schema import TEXT_FIELDS
from search.schema import TITLE
from search.schema import YEAR
from search.schema import query_schema

# The names a user may write before ``:`` (lower-case) -> schema field. ``entity`` is a
# parse-only field that :func:`search.query.bind.bind` turns into person OR org OR place.
ALIASES = {
    "title": TITLE, "headline": TITLE,
    "body": BODY, "text": BODY,
    "caption": CAPTION,
    "outlet": OUTLET, "source": OUTLET, "publication": OUTLET, "site": OUTLET,
    "date": DATE_FIELD, "published": DATE_FIELD,
    "year": YEAR, "month": MONTH,
    "lang": LANG, "language": LANG,
    "person": PERSON, "people": PERSON,
    "org": ORG, "organisation": ORG, "organization": ORG, "organisations": ORG,
    "organizations": ORG,
    "place": PLACE, "places": PLACE, "location": PLACE,
    "entity": ENTITY, "entities": ENTITY,
}
OPERATORS = ("AND", "OR", "NOT")
DATE_HELP = ("Write dates as date:2022-06-16, date:2022-06 or date:2022, ranges as "
             "date:[2022-01-01 TO 2022-06-30] (either end may be left out: date:[2022-01-01 TO]), "
             "and open ranges as date:>=2022-01-01 (also >, < and <=)")

_TOKEN = re.compile(
    r'(?P<ws>\s+)|(?P<quote>"[^"]*"(?:~[0-9]+)?)|(?P<range>[\[{][^\[\]{}"]*[\]}])'
    r'|(?P<open>\()|(?P<close>\))|(?P<word>[^\s()"\[\]{}]+)|(?P<other>.)'
)
_ONE_WORD = re.compile(analysis.TOKEN_PATTERN)
_FIELD = re.compile(r"^([A-Za-z_]+):(.*)$", re.S)
_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
_RANGE = re.compile(r"^[\[{]\s*(\S*?)\s*(?:\bTO\b\s*(\S*?))?\s*[\]}]$", re.I)


@dataclass
class ParsedQuery:
    """A query as understood: the repaired text, the Whoosh query and what was changed.

    :param text: the query text after repair (what was actually searched)
    :param query: the Whoosh query, or ``None`` for "every article" (empty input)
    :param notices: sentences saying how the input was repaired or read
    :param words: the plain (unfielded, non-wildcard) words, for spelling suggestions
    """

    text: str
    query: wq.Query | None
    notices: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    # stemmed prefix/wildcard text -> the text as typed (Whoosh stems it; we do not want that)
    wildcards: dict[str, str] = field(default_factory=dict)


class DateComparePlugin(qparser.TaggingPlugin):
    """``published:>2022-06`` and ``>=``, ``<``, ``<=``: a date range open at one end.

    A partial date is the whole year or month, rounded as Elasticsearch rounds dates in
    a range query: ``>2022-06`` is after the whole of June and ``<=2022-06`` includes
    it; ``>=2022-06`` is from June 1 and ``<2022-06`` before it (00:00 UTC). Undated
    articles match none of them. Only the date field takes these (Whoosh's own
    ``GtLtPlugin`` would also read ``title:>x`` as a range of words, and its ``>``
    keeps the start of the period); :func:`_date_clause` has checked the date already.
    """

    class DateCompareNode(syntax.SyntaxNode):
        """One comparison, as tagged: the operator and the date text."""

        boost = 1.0

        def __init__(self, rel: str, day: str):
            self.rel = rel
            self.day = day

        def __repr__(self):
            return f"<{DATE_FIELD}:{self.rel}{self.day}>"

        def query(self, parser):
            start, after = _period(self.day)
            lo, hi = datetime_to_long(start), datetime_to_long(after)
            if self.rel == ">":
                return wq.NumericRange(DATE_FIELD, hi, None, boost=self.boost)
            if self.rel == ">=":
                return wq.NumericRange(DATE_FIELD, lo, None, boost=self.boost)
            if self.rel == "<":
                return wq.NumericRange(DATE_FIELD, None, lo, endexcl=True, boost=self.boost)
            return wq.NumericRange(DATE_FIELD, None, hi, endexcl=True, boost=self.boost)

    # Before FieldsPlugin's tagger (priority 0) takes "published:" on its own.
    priority = -1
    expr = (rf"(?<![^\s(]){DATE_FIELD}:(?P<rel>>=|<=|>|<)"
            r"(?P<day>\d{4}(?:-\d{1,2}){0,2})(?=[\s)]|$)")
    nodetype = DateCompareNode


def _period(text: str) -> tuple[datetime, datetime]:
    """The start of the year, month or day ``text`` names and the start of the next one."""
    y, mo, d = (int(g) if g else None for g in _DATE.match(text).groups())
    start = datetime(y, mo or 1, d or 1)
    if d is not None:
        return start, datetime.fromordinal(start.toordinal() + 1)
    if mo is not None:
        return start, datetime(y + mo // 12, mo % 12 + 1, 1)
    return start, datetime(y + 1, 1, 1)


def _parser() -> qparser.QueryParser:
    # `entity:X` parses like `person:X`, then bind() widens it.
    p = qparser.MultifieldParser(list(TEXT_FIELDS), query_schema(), group=qparser.AndGroup)
    p.add_plugin(qparser.FuzzyTermPlugin())
    p.add_plugin(DateComparePlugin())
    # No DateParserPlugin: with it `[2022-01-01 TO 2022-06-30]` ends on 2022-12-31
    # (probe, whoosh-reloaded 2.7.5); DATETIME's own range parsing is right once the
    # dates are checked here first (bad ones make it raise).
    return p


_PARSER = _parser()


def _check_date(text: str, original: str) -> str:
    m = _DATE.match(text)
    if not m:
        raise QueryError(f"Could not read the date {original!r}. {DATE_HELP}.")
    y, mo, d = (int(g) if g else None for g in m.groups())
    try:
        date(y, mo or 1, d or 1)
    except ValueError as e:
        raise QueryError(f"{original!r} is not a real date ({e}). {DATE_HELP}.") from None
    # Zero-padded: Whoosh's DATETIME reads digits by position, so "2022-6" was the year 2022.
    return "-".join([f"{y:04d}", *(f"{n:02d}" for n in (mo, d) if n is not None)])


def _date_clause(value: str) -> str:
    """``published:`` + value rewritten as a range Whoosh's DATETIME field reads right."""
    if value.startswith((">", "<")):
        # An open range: checked here, read by DateComparePlugin.
        rel = value[:2] if value[1:2] == "=" else value[:1]
        day = value[len(rel):]
        if not day:
            raise QueryError(f"date:{rel} needs a date right after it, as in "
                             f"date:{rel}2022-01-01. {DATE_HELP}.")
        return f"{DATE_FIELD}:{rel}{_check_date(day, day)}"
    if value.startswith(("[", "{")):
        m = _RANGE.match(value)
        if not m:
            raise QueryError(f"Could not read the date range {value!r}. {DATE_HELP}.")
        start, end = m.group(1) or "", m.group(2) or ""
        if not start and not end:
            raise QueryError(f"The date range {value!r} has no dates. {DATE_HELP}.")
        start = _check_date(start, start) if start else ""
        end = _check_date(end, end) if end else ""
        if start and end and start > end and len(start) == len(end):
            raise QueryError(f"The date range {value!r} ends before it starts. {DATE_HELP}.")
        # Whoosh reads an open end only when nothing (not even a space) stands there.
        return f"{DATE_FIELD}:[{start + ' ' if start else ''}TO{' ' + end if end else ''}]"
    value = _check_date(value, value)
    return f"{DATE_FIELD}:[{value} TO {value}]"


def _tokens(text: str) -> list[list[str]]:
    """[kind, text, glued] tokens; ``glued`` is "" when no space came before."""
    out, space = [], " "
    for m in _TOKEN.finditer(text):
        if m.lastgroup == "ws":
            space = " "
            continue
        out.append([m.lastgroup, m.group(), space])
        space = ""
    return out


def _rewrite_words(toks: list[list[str]], notices: list[str], info: ParsedQuery) -> list:
    out: list[list[str]] = []
    i = 0
    while i < len(toks):
        kind, text, glue = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) and not toks[i + 1][2] else None
        if kind == "other":
            notices.append(f"ignored the stray {text!r}")
            i += 1
            continue
        if kind == "range":
            notices.append(f"read {text!r} as words: ranges go with date:, as in "
                           "date:[2022-01-01 TO 2022-06-30]")
            inner = text[1:-1].replace(" TO ", " ").strip()
            if inner:
                out.append(["word", inner, glue])
                _note_word(inner, info)
            i += 1
            continue
        if kind == "word" and text in ("-", "+") and nxt is not None:
            # "-(a OR b)" / -"a phrase": Lucene's prohibit; "+" is the default (AND) anyway.
            if text == "-":
                out.append(["op", "NOT", glue])
            i += 1
            if nxt:
                nxt[2] = " "
            continue
        if kind == "word" and len(text) > 1 and text[0] in "+-" and (glue or not out):
            if text[0] == "-":
                out.append(["op", "NOT", glue])
            toks[i] = [kind, text[1:], " "]
            continue
        if kind == "word":
            if text in OPERATORS:
                out.append(["op", text, glue])
                i += 1
                continue
            if re.search(r"\^(?!\d)", text):
                text = re.sub(r"\^(?!\d)", "", text)
                notices.append("ignored a '^' that had no boost number after it")
                if not text:
                    i += 1
                    continue
            m = _FIELD.match(text)
            fname, value = (None, text)
            if m:
                name, value = m.group(1), m.group(2)
                fname = ALIASES.get(name.lower())
                if fname is None:
                    notices.append(f"there is no field {name!r}; searched {name} as a word "
                                   f"(fields: title, outlet, person, org, place, entity, lang, "
                                   f"year, month, date)")
                    out.append(["word", name, glue])
                    if value:
                        out.append(["word", value, " "])
                        _note_word(value, info)
                    else:
                        if nxt is not None:
                            nxt[2] = " "
                    _note_word(name, info)
                    i += 1
                    continue
                if fname == DATE_FIELD:
                    if not value and nxt is not None and nxt[0] in ("range", "word"):
                        value = nxt[1]
                        i += 1
                    if not value:
                        raise QueryError(f"date: needs a date after it. {DATE_HELP}.")
                    out.append(["word", _date_clause(value), glue])
                    i += 1
                    continue
                text = f"{fname}:{value}"
            if not value and fname is not None and nxt is None:
                notices.append(f"{fname}: had nothing after it; ignored it")
                i += 1
                continue
            if value and value.lstrip("+-")[:1] in ("*", "?"):
                if value.strip("*?") == "":
                    raise QueryError("A query of only wildcards ('*', '?') is not needed: leave "
                                     "the search box empty to see every article.")
                raise QueryError(f"{value!r} starts with a wildcard, which would scan the whole "
                                 "index. Put the letters first, as in damas*.")
            if fname in (None, *TEXT_FIELDS) and (any(c in value for c in "*?")
                                                  or re.search(r"~\d*$", value)):
                info.wildcards[value.lower()] = value
            elif fname is None:
                _note_word(value, info)
            out.append(["word", text, glue])
            i += 1
            continue
        if kind == "quote" and text.strip('"~0123456789') == "" and len(text) <= 2:
            notices.append("ignored an empty pair of quotes")
            i += 1
            continue
        inner = text[1:-1] if kind == "quote" and text.endswith('"') else ""
        fielded = bool(out) and out[-1][1].endswith(":") and not glue
        if inner and not fielded and _ONE_WORD.fullmatch(inner):
            # A quoted single word matches that form only (search.query.bind.localise).
            out.append(["word", f"{EXACT}:{inner}", glue])
            i += 1
            continue
        out.append([kind, text, glue])
        i += 1
    return out


def _note_word(value: str, info: ParsedQuery) -> None:
    for w in re.findall(r"\w+", value):
        if not w.isdigit():
            info.words.append(w)


def _fix_operators(toks: list[list[str]], notices: list[str]) -> None:
    """Read operators with nothing to join as plain words."""
    def is_term(t):
        return t is not None and t[0] in ("word", "quote", "open")

    for i, t in enumerate(toks):
        if t[0] != "op":
            continue
        prev = toks[i - 1] if i > 0 else None
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        nxt_ok = is_term(nxt) or (nxt is not None and nxt[1] == "NOT" and t[1] != "NOT")
        if t[1] == "NOT":
            ok = nxt_ok
        else:
            ok = nxt_ok and prev is not None and prev[0] in ("word", "quote", "close")
        if not ok:
            notices.append(f"read the dangling {t[1]!r} as a word")
            t[0], t[1] = "word", t[1].lower()


def _fix_parens(toks: list[list[str]], notices: list[str]) -> list:
    depth, out, dropped = 0, [], 0
    for t in toks:
        if t[0] == "open":
            depth += 1
        elif t[0] == "close":
            if depth == 0:
                dropped += 1
                continue
            depth -= 1
        out.append(t)
    if dropped:
        notices.append("removed an unmatched ')'")
    if depth:
        out.extend(["close", ")", ""] for _ in range(depth))
        notices.append("closed the unbalanced parenthesis")
    return out


def parse(text: str, settings: Mapping[str, Any] = DEFAULT_SETTINGS) -> ParsedQuery:
    """Read a user's query text.

    :param text: the text as typed; empty (or blank) means every article
    :param settings: the limits: ``MAX_QUERY_LENGTH`` characters, ``MAX_QUERY_CLAUSES``
        words and phrases, ``MAX_PHRASE_SLOP`` and ``MAX_FUZZY_DISTANCE`` (capped, with
        a notice)
    :raises QueryError: when the text is too long or nothing usable is left in it
    """
    max_length = settings["MAX_QUERY_LENGTH"]
    text = (text or "").strip()
    if len(text) > max_length:
        raise QueryError(f"Query too long: {len(text)} characters (at most {max_length}).")
    info = ParsedQuery(text="", query=None)
    if not text:
        return info
    notices = info.notices
    if text.count('"') % 2:
        text += '"'
        notices.append("closed the unbalanced quote")
    toks = _rewrite_words(_tokens(text), notices, info)
    toks = _fix_parens(toks, notices)
    _fix_operators(toks, notices)
    clauses = sum(1 for kind, _, _ in toks if kind in ("word", "quote"))
    max_clauses = settings["MAX_QUERY_CLAUSES"]
    if clauses > max_clauses:
        # Refused, not cut: dropping words would silently change what an AND/OR means.
        raise QueryError(f"The query has {clauses} words and phrases; at most {max_clauses} "
                         "are allowed. Search for fewer words.")
    repaired = "".join(g + t for _, t, g in toks).strip()
    info.text = repaired
    try:
        q = _PARSER.parse(repaired) if repaired else wq.NullQuery
    except Exception as e:  # the parser raises for some inputs (bad numbers); say what it was
        raise QueryError(f"Could not read the query {text!r}: {e}. Try plain words, "
                         f'"a phrase", or field:value.') from None
    if q is wq.NullQuery or q is None:
        words = [w for w in re.findall(r"\w+", repaired) if w not in OPERATORS]
        q = _PARSER.parse(" OR ".join(words)) if words else wq.NullQuery
        if q is wq.NullQuery:
            raise QueryError(
                f"Nothing to search for in {text!r}: it holds only operators, punctuation or "
                "very common words. Add a word to search for, e.g. Damascus, "
                '"exact phrase", or person:"Dennis Ross".')
        info.text = " OR ".join(words)
        notices.append(f"could not read the query as written; searched for any of: {info.text}")
    info.query = _cap(q, notices, settings["MAX_PHRASE_SLOP"], settings["MAX_FUZZY_DISTANCE"])
    return info


def _cap(q: wq.Query, notices: list[str], max_slop: int, max_dist: int) -> wq.Query:
    """``q`` with phrase slop and fuzzy edit distance held to ``max_slop`` and
    ``max_dist``, saying so in ``notices``.

    A huge slop (``"a b"~1000000``) once cost seconds and hundreds of MB per query; a
    fuzzy distance above 2 matches nearly every short word.
    """
    for leaf in q.leaves() if not q.is_leaf() else [q]:
        if isinstance(leaf, wq.Phrase) and leaf.slop > max_slop:
            leaf.slop = max_slop
            notices.append(f"slop capped at {max_slop}")
        elif isinstance(leaf, wq.FuzzyTerm):
            if leaf.maxdist > max_dist:
                leaf.maxdist = max_dist
                notices.append(f"edit distance capped at {max_dist}")
            leaf.prefixlength = min(leaf.prefixlength, len(leaf.text))
    return q
