"""Near spellings of a word among a generation's words, for fuzzy terms and "did you mean".

Whoosh's corrector and ``FuzzyTerm`` compute edit distances in pure Python against every
term of a field: seconds per word at 20k articles, and minutes for a long word. Here the
words are grouped by length once per generation, and only the groups within reach are
compared, with rapidfuzz's edit distance (C++, bit-parallel, stopping past the cutoff).
"""

from __future__ import annotations

from collections import defaultdict

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

# No word of any language we index is longer: a longer "word" (a pasted hash, a run of
# x's) has no near spellings worth the comparison.
MAX_WORD_LENGTH = 40


def max_distance(word: str) -> int:
    """The edit distance a correction of ``word`` may have: 1 for short words, else 2."""
    return 1 if len(word) <= 4 else 2


class Speller:
    """The words of one field, grouped by length.

    :param words: the field's terms (any order; duplicates are harmless)

    >>> Speller(["damascus", "damage", "syria"]).near("damscus", 2)
    [('damascus', 1)]
    """

    def __init__(self, words):
        groups: dict[int, list[str]] = defaultdict(list)
        for w in words:
            if len(w) <= MAX_WORD_LENGTH:
                groups[len(w)].append(w)
        self._groups = dict(groups)

    def near(self, word: str, maxdist: int, limit: int | None = None) -> list[tuple[str, int]]:
        """Words within ``maxdist`` edits of ``word`` (itself excluded), nearest first.

        :param word: the word as typed (lower-cased by the caller)
        :param maxdist: the largest edit distance
        :param limit: at most this many words (``None``: all)
        """
        if not word or len(word) > MAX_WORD_LENGTH or maxdist < 1:
            return []
        found: list[tuple[str, int]] = []
        for length in range(max(1, len(word) - maxdist), len(word) + maxdist + 1):
            choices = self._groups.get(length)
            if not choices:
                continue
            for choice, dist, _ in process.extract(word, choices, scorer=Levenshtein.distance,
                                                   score_cutoff=maxdist, limit=None):
                if choice != word:
                    found.append((choice, int(dist)))
        found.sort(key=lambda wd: (wd[1], wd[0]))
        return found[:limit] if limit is not None else found
