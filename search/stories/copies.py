"""Copies: articles whose text is (nearly) the same — wire copies, re-posts, re-crawls.

Two steps, as MEASURED.md ("Stories and copies") found them to work:

1. the **exact hash** of the normalised text (lower-cased words joined by one space)
   puts identical texts in one group at once;
2. **MinHash** (``datasketch``, 128 permutations) of the text's word 5-shingles and an
   **LSH** index (threshold :data:`LSH_THRESHOLD`) propose candidates, plus the articles
   that open with the same :data:`LEAD_WORDS` words (an abridged wire copy keeps the
   lead); every candidate pair is then **verified exactly** on the two shingle sets:

   - Jaccard ≥ :data:`MIN_JACCARD` (0.5): the ground truth MEASURED.md used for bbc-news
     (166 pairs, 157 of them ≥ 0.8): two versions of one text, lightly edited; or
   - containment ≥ :data:`MIN_CONTAINMENT` (0.8) of the *smaller* set in the larger, the
     smaller holding at least :data:`MIN_CONTAINED_SHINGLES` shingles: an abridged copy
     (a wire story cut to its first paragraphs, or a page that adds a long tail) whose
     Jaccard falls under 0.5 because one side is short. The floor keeps a one-line text
     ("Read more on our site") from being a copy of every page that contains it.

   Verified pairs are joined into groups (union-find): a copy group is the connected
   component of "copy" pairs.

The text compared is the article's body (its title when the body is empty): a wire copy
under a new headline is still a copy. An article with no words is never a copy.

Every article gets ``copy_of``: the first article of its group in canonical order
(published date, then id; undated after dated), or ``None`` when it is that first article
or alone; and ``copies``: how many *other* articles are in its group (the same figure for
every member, so a collapsed results page can say "+N copies" whichever member it shows).

The result is a function of the set of articles, not of the order they came in: each pair
is a candidate or not by a property of the two signatures alone (they share an LSH band
bucket, or the same lead), each verification is exact, and the group's head is picked by
the canonical order. So :meth:`CopyIndex.add` / :meth:`CopyIndex.remove` in any order end
where building from scratch on the same set ends.

Persisting: :func:`signature` turns a text into a :class:`CopySignature` (its
:meth:`~CopySignature.to_row` is plain ``(text_hash, shingles bytes)``), the costly part
(tokenising and hashing, ≈ 0.1–0.3 ms per article); :meth:`CopyIndex.add` takes
signatures back (:meth:`CopySignature.from_row`) and rebuilds the MinHash from the stored
shingle hashes with NumPy, so a warm rebuild never reads the text again.

>>> idx = CopyIndex()
>>> text = " ".join(f"w{i}" for i in range(60))
>>> idx.add("b", None, signature(text))
>>> idx.add("a", None, signature(text + " and one more sentence at the end"))
>>> idx.copy_of("b"), idx.copy_of("a"), idx.copies("a")
('a', None, 1)
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from datasketch import MinHash
from datasketch import MinHashLSH

#: Words per shingle.
SHINGLE = 5
#: MinHash permutations (MEASURED.md: 128 found all 166 bbc-news pairs at 0.33 ms/article).
NUM_PERM = 128
#: LSH candidate threshold on estimated Jaccard. Lower than :data:`MIN_JACCARD` so that an
#: abridged copy (Jaccard ≈ its share of the longer text) is still proposed; candidates are
#: verified exactly, so a low threshold costs verifications, never precision.
LSH_THRESHOLD = 0.2
#: A verified pair with shingle Jaccard at least this is a copy.
MIN_JACCARD = 0.5
#: ... or with at least this share of the smaller shingle set inside the larger one.
MIN_CONTAINMENT = 0.8
#: Containment counts only when the smaller text has at least this many shingles (≈ 25 words).
MIN_CONTAINED_SHINGLES = 20
#: Articles opening with the same this-many words are candidates too (abridged copies).
LEAD_WORDS = 40
#: Seed and scheme of the MinHash permutations (32-bit affine, datasketch 2.0).
SEED = 1
SCHEME = "affine32"

_WORD = re.compile(r"\w+(?:['’.-]\w+)*")
_MASK = np.uint64(0xFFFFFFFF)
# Odd 64-bit multipliers that mix the word hashes of one shingle (a polynomial hash).
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                 0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD], dtype=np.uint64)


def normalise(text: str) -> list[str]:
    """The words of ``text``, lower-cased (punctuation, case and spacing do not count).

    >>> normalise("U.S. stocks  FELL, it's said.")
    ['u.s', 'stocks', 'fell', "it's", 'said']
    """
    return _WORD.findall((text or "").lower())


def shingle_hashes(words: list[str]) -> np.ndarray:
    """The sorted, unique 32-bit hashes of the word :data:`SHINGLE`-shingles of ``words``.

    A text shorter than a shingle is one shingle of all its words; no words, no shingles.
    Hashes are stable across processes and machines (CRC-32 of each word, mixed).
    """
    if not words:
        return np.zeros(0, dtype=np.uint32)
    w = np.fromiter((zlib.crc32(x.encode("utf-8", "surrogatepass")) for x in words),
                    dtype=np.uint64, count=len(words))
    k = min(SHINGLE, len(w))
    n = len(w) - k + 1
    h = np.zeros(n, dtype=np.uint64)
    for i in range(k):
        h = (h ^ (w[i:i + n] * _MIX[i])) * _MIX[(i + 1) % len(_MIX)]
    folded = (h >> np.uint64(32)) ^ (h & _MASK)
    return np.unique(folded.astype(np.uint32))


@dataclass(frozen=True)
class CopySignature:
    """What copy detection keeps of one text: what to persist beside a generation.

    :param text_hash: sha1 (hex) of the normalised text; ``""`` when it has no words
    :param shingles: sorted unique 32-bit shingle hashes
    :param lead: sha1 (hex) of the first :data:`LEAD_WORDS` words when the text has more
        than that many, else ``""`` (derived from nothing stored: kept in the row)
    """

    text_hash: str
    shingles: np.ndarray
    lead: str = ""

    def to_row(self) -> tuple[str, str, bytes]:
        """``(text_hash, lead, shingles as little-endian uint32 bytes)`` for SQLite."""
        return self.text_hash, self.lead, self.shingles.astype("<u4").tobytes()

    @classmethod
    def from_row(cls, text_hash: str, lead: str, shingles: bytes) -> CopySignature:
        """The signature :meth:`to_row` gave.

        :raises ValueError: when ``shingles`` is not a whole number of uint32 values
        """
        if len(shingles) % 4:
            raise ValueError(f"a stored shingle row has {len(shingles)} bytes, not a multiple "
                             f"of 4: the copies state is damaged; rebuild it from the texts")
        return cls(text_hash, np.frombuffer(shingles, dtype="<u4").astype(np.uint32), lead)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, CopySignature) and self.text_hash == other.text_hash
                and self.lead == other.lead and np.array_equal(self.shingles, other.shingles))

    __hash__ = None  # type: ignore[assignment]


def copy_text(title: str | None, body: str | None) -> str:
    """The text copies are compared on: the body, else the title."""
    return body if body and body.strip() else (title or "")


def signature(text: str) -> CopySignature:
    """The :class:`CopySignature` of ``text`` (see :func:`copy_text` for which text)."""
    words = normalise(text)
    if not words:
        return CopySignature("", np.zeros(0, dtype=np.uint32), "")
    text_hash = hashlib.sha1(" ".join(words).encode("utf-8", "surrogatepass")).hexdigest()
    lead = ""
    if len(words) > LEAD_WORDS:
        lead = hashlib.sha1(" ".join(words[:LEAD_WORDS]).encode("utf-8",
                                                              "surrogatepass")).hexdigest()
    return CopySignature(text_hash, shingle_hashes(words), lead)


def is_copy(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two shingle sets (sorted unique arrays) are copies (exact check, see above).

    >>> base = np.arange(100, dtype=np.uint32)
    >>> is_copy(base, base[:60]), is_copy(base, base[:10]), is_copy(base, base + 70)
    (True, False, False)
    """
    if len(a) == 0 or len(b) == 0:
        return False
    inter = len(np.intersect1d(a, b, assume_unique=True))
    small = min(len(a), len(b))
    if inter >= MIN_JACCARD * (len(a) + len(b) - inter):
        return True
    return small >= MIN_CONTAINED_SHINGLES and inter >= MIN_CONTAINMENT * small


def canonical_key(article_id: str, published: datetime | None) -> tuple:
    """Sort key of the canonical order: published date, then id; undated after dated."""
    if published is None:
        return (1, "", article_id)
    return (0, published.isoformat(), article_id)


class CopyIndex:
    """Copy groups of a set of articles, kept up to date as articles come and go.

    Not thread-safe; one per writer.
    """

    def __init__(self) -> None:
        self._lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
        self._perm = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations
        self._sig: dict[str, CopySignature] = {}
        self._key: dict[str, tuple] = {}
        self._by_hash: dict[str, set[str]] = {}
        self._by_lead: dict[str, set[str]] = {}
        self._edges: dict[str, set[str]] = {}
        self._group: dict[str, str] = {}        # id -> head of its group (groups of 2+ only)
        self._members: dict[str, list[str]] = {}  # head -> members in canonical order

    def __len__(self) -> int:
        return len(self._sig)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._sig

    def _minhash(self, shingles: np.ndarray) -> MinHash:
        # datasketch's own permutations (scheme "affine32": h -> a*h + b mod 2^32) applied in
        # NumPy to the stored 32-bit hashes, so that no text is read again. uint32
        # arithmetic wraps, which is the mod 2^32.
        a, b = self._perm
        phv = np.outer(shingles.astype(np.uint32), a.astype(np.uint32)) + b.astype(np.uint32)
        return MinHash(num_perm=NUM_PERM, seed=SEED, hashvalues=phv.min(axis=0),
                       scheme=SCHEME)

    def add(self, article_id: str, published: datetime | None, sig: CopySignature) -> None:
        """Add (or replace) one article.

        :param published: aware datetime or ``None`` (sets its place in the canonical order)
        :param sig: from :func:`signature` or :meth:`CopySignature.from_row`
        """
        self.add_many([(article_id, published, sig)])

    def add_many(self, items: Iterable[tuple[str, datetime | None, CopySignature]]) -> None:
        """Add (or replace) articles; groups are recomputed once, for those touched."""
        items = list(items)
        touched: set[str] = set()
        replaced = [i for i, _, _ in items if i in self._sig]
        if replaced:
            touched |= self._detach(replaced)
        for article_id, published, sig in items:
            self._sig[article_id] = sig
            self._key[article_id] = canonical_key(article_id, published)
            self._edges.setdefault(article_id, set())
            touched.add(article_id)
            if not sig.text_hash:
                continue
            cands = set(self._by_hash.get(sig.text_hash, ()))
            self._by_hash.setdefault(sig.text_hash, set()).add(article_id)
            if sig.lead:
                cands |= self._by_lead.get(sig.lead, set())
                self._by_lead.setdefault(sig.lead, set()).add(article_id)
            if len(sig.shingles):
                mh = self._minhash(sig.shingles)
                cands.update(self._lsh.query(mh))
                self._lsh.insert(article_id, mh)
            cands.discard(article_id)
            for other in cands:
                o = self._sig[other]
                if o.text_hash == sig.text_hash or is_copy(sig.shingles, o.shingles):
                    self._edges[article_id].add(other)
                    self._edges[other].add(article_id)
        self._regroup(touched)

    def remove(self, article_ids: Iterable[str]) -> None:
        """Remove articles (unknown ids are ignored); their groups are recomputed."""
        gone = [i for i in article_ids if i in self._sig]
        touched = self._detach(gone)
        for i in gone:
            del self._sig[i], self._key[i], self._edges[i]
            touched.discard(i)
        self._regroup(touched)

    def _detach(self, ids: list[str]) -> set[str]:
        """Take ``ids`` out of the indexes and edges; return the ids whose group may change."""
        touched: set[str] = set()
        for i in ids:
            sig = self._sig[i]
            head = self._group.pop(i, None)
            if head is not None:
                touched.update(self._members.get(head, ()))
            for other in self._edges.get(i, ()):
                self._edges[other].discard(i)
                touched.add(other)
            self._edges[i] = set()
            for table, key in ((self._by_hash, sig.text_hash), (self._by_lead, sig.lead)):
                if key and key in table:
                    table[key].discard(i)
                    if not table[key]:
                        del table[key]
            if len(sig.shingles):
                self._lsh.remove(i)
        return touched

    def _regroup(self, touched: set[str]) -> None:
        # The connected components of the copy edges that hold a touched article.
        seen: set[str] = set()
        for old in {self._group[i] for i in touched if i in self._group}:
            for m in self._members.pop(old, ()):
                if self._group.get(m) == old:
                    del self._group[m]
        for start in touched:
            if start in seen or start not in self._sig:
                continue
            comp, stack = [], [start]
            seen.add(start)
            while stack:
                x = stack.pop()
                comp.append(x)
                for y in self._edges[x]:
                    if y not in seen:
                        seen.add(y)
                        stack.append(y)
            if len(comp) < 2:
                self._group.pop(start, None)
                continue
            comp.sort(key=self._key.__getitem__)
            for old in {self._group[m] for m in comp if m in self._group}:
                self._members.pop(old, None)
            head = comp[0]
            self._members[head] = comp
            for m in comp:
                self._group[m] = head

    def copy_of(self, article_id: str) -> str | None:
        """The first article of this article's copy group, or ``None`` (it is first, or alone)."""
        head = self._group.get(article_id)
        return None if head is None or head == article_id else head

    def copies(self, article_id: str) -> int:
        """How many other articles are in this article's copy group (0 when alone)."""
        head = self._group.get(article_id)
        return 0 if head is None else len(self._members[head]) - 1

    def groups(self) -> dict[str, list[str]]:
        """Every copy group of two or more: head id -> member ids in canonical order."""
        return {h: list(m) for h, m in self._members.items()}

    def result(self) -> dict[str, tuple[str | None, int]]:
        """Per article id ``(copy_of, copies)``, for every article in the index."""
        return {i: (self.copy_of(i), self.copies(i)) for i in self._sig}
