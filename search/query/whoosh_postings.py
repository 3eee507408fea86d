"""Decoded postings of one index generation, kept in memory as NumPy arrays.

Whoosh reads a posting list by unpickling (and often inflating) each block on every
query, about 1.5 µs a posting (``MEASURED.md``): 60 ms for a word in 40,000 articles.
A :class:`PostingCache` decodes a term's list once per generation — document numbers
and weights, and for phrase words the positions too — and keeps it, up to a memory
budget, so a later query on the same word costs only NumPy work. Field lengths (the
byte Whoosh stores per document and field) are read once into an array as well.

A later commit of the same generation (the indexer commits every 30–60 s) keeps most
segments: a cache opened with ``carry`` (the previous commit's) takes a term's list from
it, the documents of each unchanged segment shifted to where that segment now starts,
and decodes only the new segments (:meth:`PostingCache.migrate` does every carried
term at once, in the background). Scores are not carried: idf and average lengths
change with every commit.

The blocks are read through Whoosh's own leaf matcher (``W3LeafMatcher``), block by
block, so the codec's format is never re-implemented here; any other matcher (inlined
short lists) is walked through the ordinary matcher interface.
"""

from __future__ import annotations

import copy
import zlib
from pickle import loads

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.codec.whoosh3 import _lenfield
from whoosh.columns import NumericColumn
from whoosh.matching.wrappers import FilterMatcher
from whoosh.util.numeric import byte_to_length

from search.query import budget

# The most memory decoded lists may take per generation; past it lists are decoded
# for the query at hand and not kept.
BUDGET_BYTES = 512 * 1024 * 1024
# A phrase's candidate documents below this share of a word's documents (1/N): only
# theirs are unpickled; from it on, the word's whole list is decoded and kept.
PARTIAL_SHARE = 3
_LENGTH_OF_BYTE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)


class PostingCache:
    """Postings and field lengths of one generation's reader, decoded on first use.

    :param reader: the generation's (possibly multi-segment) Whoosh reader
    :param live: boolean mask of the documents not deleted
    :param budget: most bytes of decoded lists kept
    :param carry: the cache of an earlier commit of the same generation, whose lists
        of the segments this commit still has are reused
    """

    def __init__(self, reader, live: np.ndarray, budget: int = BUDGET_BYTES,
                 carry: PostingCache | None = None):
        self.reader = reader
        self.live = live
        self.leaves = list(reader.leaf_readers())
        self.budget = budget
        self._used = [0]  # shared with the views of :meth:`using`
        self._terms: dict[tuple[str, bytes], tuple[np.ndarray, np.ndarray]] = {}
        self._positions: dict[tuple[str, bytes], tuple[np.ndarray, np.ndarray]] = {}
        # positions of a term in some of its documents only: (those documents, keys)
        self._partial: dict[tuple[str, bytes], tuple[np.ndarray, np.ndarray]] = {}
        self._lengths: dict[str, np.ndarray] = {}
        # Shared with the views of :meth:`using`: the earlier commit's cache while its
        # lists are being taken, and how many were (tests, benchmarks).
        self._from = {"carry": _Carry.between(carry, self.leaves) if carry is not None else None,
                      "carried": 0}

    @property
    def carried(self) -> int:
        """Lists and length arrays taken from the earlier commit's cache."""
        return self._from["carried"]

    @property
    def _carry(self) -> _Carry | None:
        return self._from["carry"]

    @property
    def used(self) -> int:
        """Bytes of arrays kept."""
        return self._used[0]

    def using(self, reader) -> PostingCache:
        """A view of this cache that reads through another reader of the same generation.

        Whoosh's readers seek and read shared file objects, so a second thread (the
        prewarming) must decode through readers of its own; the arrays are shared.
        """
        view = copy.copy(self)
        view.reader = reader
        view.leaves = list(reader.leaf_readers())
        return view

    def keep(self, store: dict, key, value, nbytes: int):
        """Put ``value`` in ``store`` if the budget allows; return it either way."""
        if self._used[0] + nbytes <= self.budget:
            store[key] = value
            self._used[0] += nbytes
        return value

    def term(self, fieldname: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
        """Sorted document numbers (int64) holding a term, and their weights (float64)."""
        key = (fieldname, btext)
        got = self._terms.get(key)
        if got is not None:
            return got
        carry = self._carry
        old = carry.cache._terms.get(key) if carry is not None else None
        if old is not None:
            docs, weights = self._carried(carry, old, fieldname, btext)
        else:
            docs, weights, _ = self._decode(fieldname, btext, values=False)
        return self.keep(self._terms, key, (docs, weights), docs.nbytes + weights.nbytes)

    def _carried(self, carry: _Carry, old, fieldname: str, btext: bytes):
        """A term's list from the earlier commit's: kept segments moved, new ones decoded."""
        old_docs, old_weights = old
        docs, weights = [], []
        for (leaf, offset), moved in zip(self.leaves, carry.layout):
            if moved is None:
                d, w, _ = self._decode(fieldname, btext, values=False,
                                       leaves=[(leaf, offset)])
            else:
                start, n = moved
                lo, hi = np.searchsorted(old_docs, (start, start + n))
                d, w = old_docs[lo:hi] + (offset - start), old_weights[lo:hi]
            docs.append(d)
            weights.append(w)
        d = np.concatenate(docs) if docs else np.zeros(0, np.int64)
        w = np.concatenate(weights) if weights else np.zeros(0, np.float64)
        keep = self.live[d]
        self._from["carried"] += 1
        return (d, w) if keep.all() else (d[keep], w[keep])

    def migrate(self, stop=lambda: False) -> None:
        """Take every list of the earlier commit's cache now, then let it go."""
        carry = self._carry
        if carry is None:
            return
        for fieldname, btext in list(carry.cache._terms):
            if stop():
                return
            self.term(fieldname, btext)
        for fieldname, btext in list(carry.cache._positions):
            if stop():
                return
            self.positions(fieldname, btext)
        for fieldname in list(carry.cache._lengths):
            self.lengths(fieldname)
        self._from["carry"] = None

    def positions(self, fieldname: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
        """``(docs, keys)``: each occurrence of a term as ``docnum << 24 | position``.

        ``docs`` are the term's sorted document numbers; ``keys`` are sorted, so phrase
        checks are set operations on them.
        """
        key = (fieldname, btext)
        got = self._positions.get(key)
        if got is not None:
            return got
        carry = self._carry
        old = carry.cache._positions.get(key) if carry is not None else None
        if old is None:
            docs, keys = self._decode_positions(fieldname, btext)
        else:
            docs, keys = self._carried_positions(carry, old, fieldname, btext)
        return self.keep(self._positions, key, (docs, keys), docs.nbytes + keys.nbytes)

    def _carried_positions(self, carry: _Carry, old, fieldname: str, btext: bytes):
        """A term's positions from the earlier commit's: kept segments moved (document
        numbers and the keys' document part), new segments decoded."""
        old_docs, old_keys = old
        docs, keys = [], []
        for (leaf, offset), moved in zip(self.leaves, carry.layout):
            if moved is None:
                d, k = self._decode_positions(fieldname, btext, leaves=[(leaf, offset)])
            else:
                start, n = moved
                lo, hi = np.searchsorted(old_docs, (start, start + n))
                klo, khi = np.searchsorted(old_keys, (start << 24, (start + n) << 24))
                d = old_docs[lo:hi] + (offset - start)
                k = old_keys[klo:khi] + ((offset - start) << 24)
            docs.append(d)
            keys.append(k)
        d = np.concatenate(docs) if docs else np.zeros(0, np.int64)
        k = np.concatenate(keys) if keys else np.zeros(0, np.int64)
        self._from["carried"] += 1
        keep = self.live[d]
        if keep.all():
            return d, k
        return d[keep], k[self.live[k >> 24]]

    def positions_within(self, fieldname: str, btext: bytes, within: np.ndarray) -> np.ndarray:
        """The keys of :meth:`positions` in the documents ``within`` only (sorted).

        A phrase needs the positions of its words only in the documents holding all of
        them. Unpickling a posting's positions is most of what decoding a list costs,
        so when ``within`` is a small part of the term's documents only theirs are
        unpickled (and kept for the same documents asked again); otherwise the whole
        list is decoded and kept for every later query.
        """
        key = (fieldname, btext)
        full = self._positions.get(key)
        carry = self._carry
        if full is None and carry is not None and key in carry.cache._positions:
            full = self.positions(fieldname, btext)
        if full is not None:
            keys = full[1]
            return keys[np.isin(keys >> 24, within)]
        part = self._partial.get(key)
        if part is not None and np.isin(within, part[0], assume_unique=True).all():
            keys = part[1]
            return keys[np.isin(keys >> 24, within)]
        docs, _, values = self._decode(fieldname, btext, values=True)
        if len(within) * PARTIAL_SHARE >= len(docs):
            keys = self._keys(fieldname, docs, values)
            self.keep(self._positions, key, (docs, keys), docs.nbytes + keys.nbytes)
            return keys[np.isin(keys >> 24, within)]
        sel = np.flatnonzero(np.isin(docs, within, assume_unique=True))
        docs = docs[sel]
        keys = self._keys(fieldname, docs, [values[i] for i in sel])
        old = self._partial.pop(key, None)
        if old is not None:
            self._used[0] -= old[0].nbytes + old[1].nbytes
        return self.keep(self._partial, key, (docs, keys), docs.nbytes + keys.nbytes)[1]

    def _decode_positions(self, fieldname: str, btext: bytes, leaves=None):
        docs, _, values = self._decode(fieldname, btext, values=True, leaves=leaves)
        return docs, self._keys(fieldname, docs, values)

    def _keys(self, fieldname: str, docs: np.ndarray, values: list[bytes]) -> np.ndarray:
        """``docnum << 24 | position`` of every occurrence in the postings ``values``."""
        fmt = self.reader.schema[fieldname].format
        counts = np.zeros(len(values), dtype=np.int64)
        deltas: list[int] = []
        for i, v in enumerate(values):
            if i % 4096 == 4095:  # ~7 µs a posting: a common word's list takes a while
                budget.check()
            if not v.endswith(b"."):
                v += b"."
            codes = loads(v[4:])
            counts[i] = len(codes)
            deltas.extend(c[0] for c in codes)
        if fmt is None or not fmt.supports("positions"):
            raise ValueError(f"{fieldname} has no positions")
        pos = np.cumsum(np.asarray(deltas, dtype=np.int64))
        # Positions restart at each posting: subtract the running sum before it.
        starts = np.cumsum(counts) - counts
        base = np.concatenate(([0], pos))[starts]
        pos -= np.repeat(base, counts)
        return (np.repeat(docs, counts) << 24) | pos

    def _decode(self, fieldname, btext, values: bool, leaves=None):
        ids, weights, vals = [], [], []
        for leaf, offset in self.leaves if leaves is None else leaves:
            if (fieldname, btext) not in leaf:
                continue
            m = leaf.postings(fieldname, btext)
            if isinstance(m, FilterMatcher):  # deleted documents: dropped below by `live`
                m = m.child
            if isinstance(m, W3LeafMatcher):
                _read_blocks(m, offset, ids, weights, vals if values else None)
            else:
                got = []
                while m.is_active():
                    got.append((m.id() + offset, m.weight(), m.value() if values else None))
                    m.next()
                ids.append(np.array([g[0] for g in got], dtype=np.int64))
                weights.append(np.array([g[1] for g in got], dtype=np.float64))
                vals.extend(g[2] for g in got)
        if not ids:
            return np.zeros(0, np.int64), np.zeros(0, np.float64), []
        docs = np.concatenate(ids)
        w = np.concatenate(weights)
        keep = self.live[docs]
        if not keep.all():
            vals = [v for v, k in zip(vals, keep) if k] if values else vals
            docs, w = docs[keep], w[keep]
        return docs, w, vals

    def lengths(self, fieldname: str) -> np.ndarray:
        """Every document's length in ``fieldname``, as Whoosh's scorer reads it (float64)."""
        got = self._lengths.get(fieldname)
        if got is not None:
            return got
        with budget.excluded():  # once per generation and field
            return self._read_lengths(fieldname)

    def _read_lengths(self, fieldname: str) -> np.ndarray:
        out = np.zeros(len(self.live), dtype=np.float64)
        carry = self._carry
        old = carry.cache._lengths.get(fieldname) if carry is not None else None
        for leaf, offset in self.leaves:
            moved = carry.moved.get(offset) if old is not None else None
            if moved is not None:
                start, n = moved
                out[offset:offset + n] = old[start:start + n]
                continue
            # Whoosh keeps each length as one byte in a per-document column.
            perdoc = leaf._perdoc
            name = _lenfield(fieldname)
            if not perdoc.has_column(name):
                continue
            col = perdoc.column_reader(name, LENGTHS_COLUMN)
            n = leaf.doc_count_all()
            out[offset:offset + n] = _LENGTH_OF_BYTE[_length_bytes(col, n)]
        if old is not None:
            self._from["carried"] += 1
        self._lengths[fieldname] = out
        return out


def _length_bytes(col, n: int) -> np.ndarray:
    """A segment's length bytes, one per document, from Whoosh's lengths column.

    The column (``NumericColumn("B")``) is the bytes of the first documents that have a
    length, one each, and nothing for the documents after them (length 0): read as
    one slice of the file, not a Python call per document (0.9 s at 200,000 articles).
    """
    if (isinstance(col, NumericColumn.Reader) and col._fixedlen == 1
            and col._typecode == "B" and col._default == 0):
        raw = np.zeros(n, dtype=np.uint8)
        count = min(col._count, n)
        if count:
            raw[:count] = np.frombuffer(col._dbfile.get(col._basepos, count), dtype=np.uint8)
        return raw
    return np.fromiter(iter(col), dtype=np.uint8, count=n)


class _Carry:
    """How an earlier commit's cache maps onto this commit's segments.

    :param cache: the earlier commit's cache
    :param layout: for each leaf of this commit in order, ``(the segment's first document
        number in the earlier commit, its documents)`` for a segment both commits have,
        ``None`` for a new one
    :param offsets: each leaf's first document number in this commit
    """

    def __init__(self, cache: PostingCache, layout: list, offsets: list[int]):
        self.cache = cache
        self.layout = layout
        self.moved = {off: moved for off, moved in zip(offsets, layout) if moved is not None}

    @classmethod
    def between(cls, cache: PostingCache, leaves) -> _Carry | None:
        from search.query.facets import segment_key

        before = {}
        for leaf, offset in cache.leaves:
            key = segment_key(leaf)
            if key is not None:
                before[key] = (offset, leaf.doc_count_all())
        layout = []
        for leaf, _ in leaves:
            key = segment_key(leaf)
            layout.append(before.get(key) if key is not None else None)
        if not any(layout):
            return None  # nothing kept: a cold cache
        return cls(cache, layout, [offset for _, offset in leaves])


def _fast_block(data: bytes, n: int):
    """Ids (deltas) and weights of a block, read straight from its pickle, or ``None``.

    A block is ``pickle.dumps((ids, weights, values), 2)``. Unpickling it costs ~7 µs a
    posting, nearly all of it the values (each a pickled ``bytes``, which protocol 2
    rebuilds through ``_codecs.encode``). Ids are one opcode each (``K`` + 1 byte for
    deltas below 256, the common case) and weights a ``None``, one float or ``n``
    floats (``G`` + 8 bytes), so those two are read with NumPy and the values skipped.
    Any other layout returns ``None`` and the caller unpickles the block.
    """
    if n < 4 or data[:3] != b"\x80\x02(":
        return None
    arr = np.frombuffer(data, dtype=np.uint8)
    pos, first = 3, None
    if data[3] == 0x4D:  # the first delta (an absolute docnum) is often >= 256
        first, pos = int.from_bytes(data[4:6], "little"), 6
    elif data[3] == 0x4A:
        first, pos = int.from_bytes(data[4:8], "little", signed=True), 8
    k = n - (first is not None)
    end = pos + 2 * k
    if end >= len(data) or data[end] != 0x74 or not (arr[pos:end:2] == 0x4B).all():
        return None
    ids = arr[pos + 1:end:2].astype(np.int64)
    if first is not None:
        ids = np.concatenate(([first], ids))
    pos = end + 1
    op = data[pos]
    if op == 0x71:  # BINPUT (memo)
        pos += 2
    elif op == 0x72:  # LONG_BINPUT
        pos += 5
    op = data[pos]
    if op == 0x4E:  # None: every weight 1.0
        return ids, np.ones(n, dtype=np.float64)
    if op == 0x47:  # one float for every posting
        return ids, np.full(n, float(np.frombuffer(data, ">f8", 1, pos + 1)[0]))
    if op != 0x28 or pos + 1 + 9 * n >= len(data) or data[pos + 1 + 9 * n] != 0x74:
        return None
    recs = arr[pos + 1:pos + 1 + 9 * n].reshape(n, 9)
    if not (recs[:, 0] == 0x47).all():
        return None
    return ids, recs[:, 1:].copy().view(">f8").ravel().astype(np.float64)


def _read_blocks(m: W3LeafMatcher, offset: int, ids: list, weights: list, vals) -> None:
    """Every block of a leaf matcher, appended as arrays (codec internals, read-only)."""
    while True:
        n = m._blocklength
        if vals is None:
            data = m._postfile.get(m._dataoffset, m._nextoffset - m._dataoffset)
            if m._compression:
                data = zlib.decompress(data)
            fast = _fast_block(data, n)
            if fast is not None:
                ids.append(np.cumsum(fast[0]) + offset)
                weights.append(fast[1])
                if m._lastblock:
                    break
                m._goto(m._nextoffset)
                continue
        m._read_data()
        raw_ids, raw_w, raw_v = m._data
        block = np.cumsum(np.asarray(raw_ids, dtype=np.int64))
        ids.append(block + offset)
        if raw_w is None:
            weights.append(np.ones(n, dtype=np.float64))
        elif isinstance(raw_w, float):
            weights.append(np.full(n, raw_w, dtype=np.float64))
        else:
            weights.append(np.asarray(raw_w, dtype=np.float64))
        if vals is not None:
            vals.extend(raw_v)
        if m._lastblock:
            break
        m._goto(m._nextoffset)


def characters(leaf, fieldname: str, btext: bytes, docs: list[int]):
    """``(start, end)`` spans of a term in each of ``docs`` (sorted, leaf-local numbers).

    Reads only the blocks holding those documents, and finds each in its block with
    NumPy rather than stepping a matcher posting by posting.

    :returns: local docnum -> spans, or ``None`` when the field keeps no characters
    """
    m = leaf.postings(fieldname, btext)
    if isinstance(m, FilterMatcher):
        m = m.child
    if not m.supports("characters"):
        return None
    out: dict[int, list[tuple[int, int]]] = {}
    if not isinstance(m, W3LeafMatcher):
        # Postings inlined in the term's entry (a rare term, ListMatcher): a few at most.
        for d in docs:
            if m.is_active() and m.id() < d:
                m.skip_to(d)
            if not m.is_active():
                break
            if m.id() == d:
                out[d] = [(a, b) for _, a, b in m.value_as("characters")]
        return out
    j = 0
    while j < len(docs):
        while m._maxid < docs[j]:
            if m._lastblock:
                return out
            m._goto(m._nextoffset)
        m._read_data()
        ids = np.cumsum(np.asarray(m._data[0], dtype=np.int64))
        values = m._data[2]
        while j < len(docs) and docs[j] <= m._maxid:
            i = int(np.searchsorted(ids, docs[j]))
            if i < len(ids) and ids[i] == docs[j]:
                out[docs[j]] = [(a, b) for _, a, b in m.format.decode_characters(values[i])]
            j += 1
    return out
