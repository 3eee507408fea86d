"""Highlighted snippets from the character offsets stored in the postings.

Text fields are ``TEXT(chars=True)``: each posting holds ``(position, startchar,
endchar)`` for every occurrence, so a hit's matches are found by skipping each query
term's posting list to the hit's document — no re-analysis of the text. (Whoosh's
``Highlighter`` does the same through a ``Results`` object; reading the postings
directly serves sorted pages and whole-article views alike.)

Everything returned is HTML: the text escaped, matches wrapped in ``<mark>``, and
nothing else is markup. Marks separated only by spaces are merged, so a phrase match
reads ``<mark>Damascus International Airport</mark>``.

>>> mark_all("a <b> c", [(0, 1), (6, 7)])
'<mark>a</mark> &lt;b&gt; <mark>c</mark>'
"""

from __future__ import annotations

import re

import numpy as np
from markupsafe import escape

from search.query.whoosh_postings import characters

SNIPPET_CHARS = 260
MAX_FRAGMENTS = 3
_WS = re.compile(r"\s+")


def find_spans(reader, docnums, fieldname: str, terms, holders=None
               ) -> dict[int, list[tuple[int, int]]]:
    """Character spans of ``terms`` in ``fieldname`` of each document, from the postings.

    :param docnums: the documents (any order)
    :param terms: index terms (bytes) of that field
    :param holders: optional ``holders(term) -> sorted array of the docnums holding it``
        (or ``None``: not known); a term's postings are then read only for those documents
    :returns: docnum -> sorted ``(start, end)`` spans (documents without matches left out)
    """
    out: dict[int, list[tuple[int, int]]] = {}
    wanted = sorted(set(docnums))
    if not wanted:
        return out
    # Segment by segment: a leaf matcher skips straight to a block, no multi-reader merge.
    leaves = list(reader.leaf_readers())
    for term in terms:
        docs = wanted
        have = holders(term) if holders is not None else None  # sorted, or None: unknown
        if have is not None:
            at = np.minimum(np.searchsorted(have, wanted), max(len(have) - 1, 0))
            docs = [d for d, i in zip(wanted, at.tolist()) if len(have) and have[i] == d]
        for leaf, offset in leaves:
            end = offset + leaf.doc_count_all()
            local = [d - offset for d in docs if offset <= d < end]
            if not local or (fieldname, term) not in leaf:
                continue
            found = characters(leaf, fieldname, term, local)
            if found is None:  # the field keeps no characters
                break
            for d, spans in found.items():
                out.setdefault(d + offset, []).extend(spans)
    for spans in out.values():
        spans.sort()
    return out


def _merged(text: str, spans) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for s, e in sorted(spans):
        if merged and (s <= merged[-1][1] or not text[merged[-1][1]:s].strip()):
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


def _render(text: str, start: int, end: int, spans) -> str:
    parts, pos = [], start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        parts.append(str(escape(text[pos:s])))
        parts.append(f"<mark>{escape(text[s:e])}</mark>")
        pos = e
    parts.append(str(escape(text[pos:end])))
    return _WS.sub(" ", "".join(parts))


def mark_all(text: str, spans) -> str:
    """The whole text, escaped, with every span marked."""
    return _render(text, 0, len(text), _merged(text, spans))


def _word_start(text: str, a: int, limit: int) -> int:
    if a <= 0:
        return 0
    if text[a - 1].isspace():
        return a
    nxt = _WS.search(text, a, limit)
    return nxt.end() if nxt else limit


def _word_end(text: str, b: int, limit: int) -> int:
    if b >= len(text):
        return len(text)
    if text[b].isspace():
        return b
    cut = max(text.rfind(" ", limit, b), text.rfind("\n", limit, b))
    return cut if cut >= limit else limit


def lead(text: str, chars: int = SNIPPET_CHARS) -> str:
    """The escaped start of a text, cut at a whole word (the snippet when nothing matched)."""
    if len(text) <= chars:
        return _render(text, 0, len(text), ())
    end = _word_end(text, chars, 0) or chars
    return _render(text, 0, end, ()).rstrip() + " …"


def snippet(text: str, spans, chars: int = SNIPPET_CHARS, fragments: int = MAX_FRAGMENTS) -> str:
    """One to ``fragments`` pieces of ``text`` around the densest matches, about ``chars`` long.

    :param spans: ``(start, end)`` character spans of the matches
    """
    spans = _merged(text, spans)
    if not spans:
        return lead(text, chars)
    # Group matches that sit close together; the groups with most matches win.
    groups: list[list[int]] = []
    for s, e in spans:
        if groups and e - groups[-1][0] <= chars // 2:
            groups[-1][1] = e
            groups[-1][2] += 1
        else:
            groups.append([s, e, 1])
    chosen = sorted(sorted(groups, key=lambda g: (-g[2], g[0]))[:fragments])
    per = max(80, chars // len(chosen))
    windows: list[list[int]] = []
    for s, e, _ in chosen:
        context = max(15, (per - (e - s)) // 2)
        a = _word_start(text, max(0, s - context), s)
        b = _word_end(text, min(len(text), e + context), e)
        if windows and a <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], b)
        else:
            windows.append([a, b])
    pieces = [_render(text, a, b, spans).strip() for a, b in windows]
    out = " … ".join(pieces)
    if windows[0][0] > 0:
        out = "… " + out
    if windows[-1][1] < len(text):
        out += " …"
    return out
