"""Two bugs of Whoosh 2.7.4's inlined postings, fixed for every process that imports
:mod:`search`.

Whoosh can keep a rare term's few postings in the term's entry of the terms table
(``W3Codec(inlinelimit=N)``) instead of a block of the postings file; Newsfacet's
writers do (:data:`search.ingest.writing.INLINE_POSTINGS`). Whoosh's own default never
inlines, and the path has two bugs nobody met:

- the W3 postings writer calls ``W3TermInfo.set_inline``, a method the terminfo names
  ``set_inlined``;
- ``ListMatcher.value()``, which reads inlined postings back, answers ``""`` (a ``str``)
  for a posting without a value (an ``ID`` field's), where the block reader answers
  ``None``; merging segments then fails Whoosh's own check that a value is bytes or
  ``None``.

The index files are Whoosh's own format either way: an index written with inlined
postings opens in Whoosh, and these fixes change nothing for one written without.
``tests/ingest/test_writing.py`` writes, merges and reads such postings.
"""

from __future__ import annotations

from whoosh.codec.whoosh3 import W3TermInfo
from whoosh.matching.mcore import ListMatcher


def _list_value(self):
    v = _LIST_VALUE(self)
    return None if v == "" else v


# Whoosh's own method, even if this module is imported again after apply().
_LIST_VALUE = getattr(ListMatcher.value, "__wrapped__", ListMatcher.value)
_list_value.__wrapped__ = _LIST_VALUE


def apply() -> None:
    """Fix both bugs in this process (idempotent)."""
    if not hasattr(W3TermInfo, "set_inline"):
        W3TermInfo.set_inline = W3TermInfo.set_inlined
    ListMatcher.value = _list_value
