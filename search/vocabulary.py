"""The unstemmed words of a generation's articles, in a file beside its Whoosh index.

Prefixes, wildcards and fuzzy terms are matched against the words as written
("dam?scus" must find "damascus", which the index holds as the stem "damascu"), and
"did you mean" proposes written words. Whoosh can keep them as a field
(``spelling=True``), but that field has a posting per word per article: measured on
1,500 BBC articles it made writing 2.2x slower (``bench/indexing.py``, "Whoosh writing
alone"), which is most of what first indexing spends beside NER. Only the set of
words is ever used, so it is kept as a sorted word list (``gen-NNNNNN/words.txt``).

The list only grows while a generation is updated: a word whose articles were all
deleted stays. That is harmless: every use turns a word into its stem and keeps it
only when the index holds that stem (and suggestions only when articles have it). It
is written before the Whoosh commit, so a reader never sees a commit without its words.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from search import analysis

FILE_NAME = "words.txt"
# The pseudo field name under which the query layer looks these words up.
UNSTEMMED = "words"

# The analysers' own tokenizer pattern (no capturing group: for findall).
_TOKENS = re.compile(analysis.TOKEN_PATTERN)
_normal: dict[str, str | None] = {}  # token as written -> as the exact-form analyser gives it


def _analysed(token: str) -> str | None:
    got = _normal.get(token, "")
    if got == "":
        words = [t.text for t in analysis.exact_analyzer()(token)]
        got = _normal[token] = words[0] if words else None
        if len(_normal) > 2_000_000:  # a pathological input: start the memo again
            _normal.clear()
    return got


class Collector:
    """The words of many texts as written, lower-cased (single letters dropped): the
    forms of every language, which :mod:`search.query.bind` analyses per language.

    Tokens are gathered as written (C-speed ``findall`` into one set) and each distinct
    one is analysed once, when :meth:`words` is asked for."""

    def __init__(self):
        self._raw: set[str] = set()

    def add(self, *texts: str | None) -> None:
        for text in texts:
            if text:
                self._raw.update(_TOKENS.findall(text))

    def words(self) -> set[str]:
        out = {_analysed(t) for t in self._raw}
        out.discard(None)
        return out


def load(generation: str | os.PathLike) -> list[str]:
    """The generation's words, sorted (empty when it has none)."""
    try:
        text = (Path(generation) / FILE_NAME).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return text.split("\n") if text else []


def save(generation: str | os.PathLike, words: Iterable[str]) -> None:
    """Add ``words`` to the generation's list (atomically: readers see old or new)."""
    path = Path(generation) / FILE_NAME
    merged = set(load(generation))
    before = len(merged)
    merged.update(words)
    if len(merged) == before and path.exists():
        return
    tmp = path.with_name(FILE_NAME + ".tmp")
    tmp.write_text("\n".join(sorted(merged)), encoding="utf-8")
    os.replace(tmp, path)
