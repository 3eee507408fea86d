"""Facet counting from per-generation NumPy arrays (disjunctive counts for multi-select).

Whoosh's ``groupedby`` with ``sorting.Facets(allow_overlap=True)`` gives the same
counts, but at ~300 ms for seven facets on 5,000 articles (``MEASURED.md``). Here
each facet is read once into arrays of value ids, and a count is an ``np.bincount``
over the matched document numbers (a few ms at 50,000).

The arrays come from two sources (DESIGN.md, Derived facts and the stages of indexing):

* :class:`DocTables` — from the Whoosh commit: the single-valued facets (outlet, year,
  month, lang) as ``doc_value[docnum]`` -> value id (``-1`` for none), the publication
  dates, and each document's article id (the id -> docnum map), all decoded from the
  ``facetcol`` and date columns **segment by segment**: a later commit that keeps a
  segment reuses its decoded :class:`SegmentColumns`.
* :class:`EntityTables` — from the generation's side store (:mod:`search.sidestore`),
  kept up to date by an :class:`EntityIndex`: the multi-valued facets (person, org,
  place) as CSR arrays ``indptr``/``indices`` (the value ids of document ``d`` are
  ``indices[indptr[d]:indptr[d + 1]]``), mapped to document numbers through the id map.
  An id with no live document is ignored; a document with no row, or a pending one, has
  no entities.

:class:`FacetTables` puts one of each together; it never changes once built (a newer
side-store sequence gives a new one), so a request keeps the tables it started with.
Matched sets travel as boolean masks over all document numbers, so filters combine
with ``&`` and each facet's disjunctive set is the query mask and every filter mask
but its own.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from collections.abc import Mapping

import numpy as np

from search.models import Entities
from search.models import FacetValue
from search.query.stories import StoryTables
from search.schema import DATE_FIELD
from search.schema import ENTITY_KINDS
from search.schema import FACET_COLUMN
from search.schema import FACETS
from search.schema import SINGLE_FACETS
from search.schema import decode_facets
from search.sidestore import DONE
from search.sidestore import NOT_APPLICABLE
from search.sidestore import PENDING
from search.sidestore import Change

# Whoosh's NumericColumn default for documents without a value (2**64 - 1).
_NO_DATE = np.iinfo(np.uint64).max
_EMPTY = Entities()


def _utf8(value: str) -> bytes:
    return value.encode("utf-8")


def segment_key(leaf) -> str | None:
    """What names a segment's documents across commits: its id and document count
    (``None`` for a reader that is not one segment's)."""
    segment = getattr(leaf, "_segment", None)
    if segment is None:
        return None
    return f"{segment.segment_id()}:{leaf.doc_count_all()}"


def _live(reader, n: int) -> np.ndarray:
    """Which documents are not deleted: a segment's deletions are a short list, while
    asking Whoosh document by document costs ~2 µs each (100 ms at 50,000)."""
    live = np.zeros(n, dtype=bool)
    for leaf, offset in reader.leaf_readers():
        count = leaf.doc_count_all()
        segment = getattr(leaf, "_segment", None)
        if segment is None:  # not a segment's reader: ask it document by document
            ids = np.fromiter(leaf.all_doc_ids(), dtype=np.int64)
            live[offset + ids] = True
            continue
        live[offset: offset + count] = True
        if segment.has_deletions():
            gone = np.fromiter(segment.deleted_docs(), dtype=np.int64)
            live[offset + gone[gone < count]] = False
    return live


class SegmentColumns:
    """The facet column and dates of one Whoosh segment, decoded (every document, deleted
    ones too: deletions are the reader's, applied by :class:`DocTables`).

    :param leaf: the segment's reader
    """

    def __init__(self, leaf):
        n = leaf.doc_count_all()
        self.n = n
        self.ids: list[str] = [""] * n
        self.values: dict[str, list[str]] = {}
        self.codes: dict[str, np.ndarray] = {}
        index: list[dict[str, int]] = [{} for _ in SINGLE_FACETS]
        codes = [np.full(n, -1, dtype=np.int32) for _ in SINGLE_FACETS]
        if leaf.has_column(FACET_COLUMN):
            for i, raw in enumerate(leaf.column_reader(FACET_COLUMN)):
                if i >= n:
                    break
                if not raw:
                    continue
                aid, parts = decode_facets(raw)
                self.ids[i] = aid
                for k, vals in enumerate(parts):
                    if vals:
                        found = index[k]
                        code = found.get(vals[0])
                        if code is None:
                            code = found[vals[0]] = len(found)
                        codes[k][i] = code
        for k, name in enumerate(SINGLE_FACETS):
            self.values[name] = list(index[k])
            self.codes[name] = codes[k]
        self.dates = np.full(n, -1, dtype=np.int64)
        # A segment without dated documents has no date column at all.
        if DATE_FIELD in leaf.schema.names() and leaf.has_column(DATE_FIELD):
            raw = np.fromiter(leaf.column_reader(DATE_FIELD, translate=False),
                              dtype=np.uint64)[:n]
            has = raw != _NO_DATE
            self.dates[: len(raw)][has] = raw[has].astype(np.int64)


class DocTables:
    """The arrays of one Whoosh commit: live documents, single facets, dates, ids.

    :param reader: the commit's Whoosh reader (deleted documents are left out)
    :param carry: decoded segments of an earlier commit of the same generation, by
        :func:`segment_key`; those this commit still has are reused, not decoded again
    """

    def __init__(self, reader, carry: Mapping[str, SegmentColumns] | None = None):
        carry = carry or {}
        self.n = reader.doc_count_all()
        self.live = _live(reader, self.n)
        # key -> decoded segment, for the next commit; and what was reused (benchmarks, tests)
        self.segments: dict[str, SegmentColumns] = {}
        self.carried = 0
        parts: list[tuple[SegmentColumns, int]] = []
        for leaf, offset in reader.leaf_readers():
            key = segment_key(leaf)
            seg = carry.get(key) if key is not None else None
            if seg is None:
                seg = SegmentColumns(leaf)
            else:
                self.carried += 1
            if key is not None:
                self.segments[key] = seg
            parts.append((seg, offset))
        self.published = np.full(self.n, -1, dtype=np.int64)
        ids = np.empty(self.n, dtype=object)
        for seg, offset in parts:
            self.published[offset: offset + seg.n] = seg.dates
            ids[offset: offset + seg.n] = seg.ids
        self.published[~self.live] = -1
        self.ids = ids
        live_docs = np.flatnonzero(self.live)
        # article id -> document number, live documents only (an updated article's old
        # copy is deleted, so each id has one live document)
        self.docnum_of: dict[str, int] = dict(zip(ids[live_docs].tolist(), live_docs.tolist()))
        self.values: dict[str, list[str]] = {}
        self.single: dict[str, np.ndarray] = {}
        for name in SINGLE_FACETS:
            self._single(name, parts)

    def _single(self, name: str, parts) -> None:
        """One facet's global value list (values of live documents, in Whoosh's lexicon
        order: by UTF-8 bytes) and value id per document, from the segments' own."""
        union = sorted({v for seg, _ in parts for v in seg.values[name]}, key=_utf8)
        index = {v: i for i, v in enumerate(union)}
        arr = np.full(self.n, -1, dtype=np.int32)
        for seg, offset in parts:
            if not seg.values[name]:
                continue
            remap = np.array([index[v] for v in seg.values[name]], dtype=np.int32)
            codes = seg.codes[name]
            arr[offset: offset + seg.n] = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
        arr[~self.live] = -1
        # Only values some live document holds (a deleted article's outlet is gone).
        counts = np.bincount(arr[arr >= 0], minlength=len(union))
        used = np.flatnonzero(counts)
        if len(used) < len(union):
            renum = np.full(len(union) + 1, -1, dtype=np.int32)
            renum[used] = np.arange(len(used), dtype=np.int32)
            arr = renum[arr]  # -1 indexes the last slot, which stays -1
            union = [union[i] for i in used]
        self.values[name] = union
        self.single[name] = arr


class EntityTables:
    """The entity facets of one commit at one side-store sequence, as CSR arrays.

    :param seq: the side-store sequence they reflect
    :param pending: articles whose entities are still to be found
    :param by_id: each article's entities (done articles with any), ``{kind: [values]}``
    :param aliases: per kind, each lower-cased raw value resolution shows under another
        name -> that name (:meth:`EntityIndex.set_aliases`)
    """

    def __init__(self, n: int, seq: int, pending: int, by_id: Mapping[str, dict],
                 aliases: Mapping[str, Mapping[str, str]] | None = None):
        self.n = n
        self.seq = seq
        self.pending = pending
        self.by_id = by_id
        # kind -> {lower-case alias: the canonical value shown} (resolution, stage 3)
        self.aliases: Mapping[str, Mapping[str, str]] = aliases or {}
        self.values: dict[str, list[str]] = {}
        self.csr: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        # Documents of each value, grouped by value: (value pointers, documents).
        self.csc: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def load(self, name: str, values: list[str], docs: np.ndarray, vids: np.ndarray) -> None:
        """One facet from ``(document, value id)`` pairs, value ids into ``values``."""
        counts = np.bincount(vids, minlength=len(values))
        used = np.flatnonzero(counts)
        # Sorted as Whoosh's lexicon orders terms (by their UTF-8 bytes): ties in the
        # sidebar go by value.
        order = sorted(used.tolist(), key=lambda i: _utf8(values[i]))
        renum = np.zeros(len(values), dtype=np.int32)
        renum[order] = np.arange(len(order), dtype=np.int32)
        vids = renum[vids]
        self.values[name] = [values[i] for i in order]
        by_doc = np.argsort(docs, kind="stable")
        indptr = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(np.bincount(docs, minlength=self.n), out=indptr[1:])
        self.csr[name] = (indptr, vids[by_doc])
        by_value = np.argsort(vids, kind="stable")
        vptr = np.zeros(len(order) + 1, dtype=np.int64)
        np.cumsum(np.bincount(vids, minlength=len(order)), out=vptr[1:])
        self.csc[name] = (vptr, docs[by_value])


class EntityIndex:
    """What a server knows of a generation's side store, caught up change by change.

    Each article's entities are decoded and their values interned once, when its row
    changes; :meth:`tables` turns what is known into :class:`EntityTables` for a commit's
    document numbers with NumPy work only. Rows are kept as ``(slot, value id)`` pairs:
    a changed article takes a new slot and its old one is dropped, so a catch-up costs
    the changed rows plus array work, never a second pass over every article's values.
    Shared by the commits of one generation folder; :attr:`lock` serialises updates.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.seq = 0
        self.by_id: dict[str, dict] = {}
        self.pending: set[str] = set()
        self.kinds: dict[str, tuple[list[str], dict[str, int]]] = {
            k: ([], {}) for k in ENTITY_KINDS}
        self.slot_ids: list[str] = []
        self.slot_of: dict[str, int] = {}
        self.dead: list[int] = []
        self._pairs = {k: (np.zeros(0, np.int64), np.zeros(0, np.int32)) for k in ENTITY_KINDS}
        self._new: dict[str, tuple[list[int], list[int]]] = {k: ([], []) for k in ENTITY_KINDS}
        self._slot_docs: tuple[object, np.ndarray] | None = None  # (DocTables, slot -> docnum)
        self.aliases: dict[str, dict[str, str]] = {}
        self.aliases_seq = -1  # the side store's aliases sequence they reflect

    def set_aliases(self, seq: int, rows: Iterable[tuple[str, str, str]]) -> None:
        """Take in stage 3's aliases, ``(raw value, canonical value, kind)``, written at
        side-store sequence ``seq``: kept per kind, by the lower-cased raw value."""
        aliases: dict[str, dict[str, str]] = {k: {} for k in ENTITY_KINDS}
        for value, canonical, kind in rows:
            if kind in aliases:
                aliases[kind].setdefault(value.lower(), canonical)
        self.aliases, self.aliases_seq = aliases, seq

    def apply(self, seq: int, changes: Iterable[Change]) -> int:
        """Take in the changes of the side store up to sequence ``seq``.

        :returns: the number of changes applied
        """
        return self.apply_rows(seq, ((ch.id, ch.state, ch.entities.as_dict())
                                     for ch in changes))

    def apply_raw(self, seq: int, rows: list[tuple[str, str | None, str | None]]) -> int:
        """:meth:`apply` for rows as :meth:`SideStore.raw_changes_since` reads them: their
        JSON decoded in one call, not one per row."""
        found = json.loads("[" + ",".join(raw or "null" for _, _, raw in rows) + "]")
        return self.apply_rows(seq, ((aid, state, ents if state == DONE else None)
                                     for (aid, state, _), ents in zip(rows, found)))

    def apply_rows(self, seq: int, rows) -> int:
        """Take in ``(id, state, {kind: [values]} or None)`` rows up to sequence ``seq``."""
        count = 0
        by_id = dict(self.by_id)  # tables already built keep the dict they were given
        for aid, state, ents in rows:
            count += 1
            old = self.slot_of.pop(aid, None)
            if old is not None:
                self.dead.append(old)
            by_id.pop(aid, None)
            self.pending.discard(aid)
            if state == PENDING:
                self.pending.add(aid)
                continue
            if state not in (DONE, NOT_APPLICABLE) or not ents:
                continue
            slot = None
            for kind in ENTITY_KINDS:
                found = ents.get(kind)
                if not found:
                    continue
                if slot is None:
                    slot = len(self.slot_ids)
                    self.slot_ids.append(aid)
                    self.slot_of[aid] = slot
                    by_id[aid] = ents
                values, index = self.kinds[kind]
                slots, vids = self._new[kind]
                for v in found:
                    if not isinstance(v, str):  # the store is ours; a stray value is skipped
                        continue
                    vid = index.get(v)
                    if vid is None:
                        vid = index[v] = len(values)
                        values.append(v)
                    slots.append(slot)
                    vids.append(vid)
        self.by_id = by_id
        self.seq = max(self.seq, seq)
        return count

    def _flush(self) -> None:
        """The rows taken in since the last call, joined to the pairs arrays."""
        for kind in ENTITY_KINDS:
            slots, vids = self._new[kind]
            if slots:
                old_s, old_v = self._pairs[kind]
                self._pairs[kind] = (np.concatenate((old_s, np.array(slots, dtype=np.int64))),
                                     np.concatenate((old_v, np.array(vids, dtype=np.int32))))
                self._new[kind] = ([], [])
        if len(self.dead) > max(1024, len(self.slot_of)):
            self._compact()

    def _compact(self) -> None:
        """Drop the slots of changed articles once they outnumber the live ones."""
        alive = np.ones(len(self.slot_ids), dtype=bool)
        alive[np.array(self.dead, dtype=np.int64)] = False
        renum = np.cumsum(alive) - 1
        for kind in ENTITY_KINDS:
            s, v = self._pairs[kind]
            keep = alive[s]
            self._pairs[kind] = (renum[s[keep]], v[keep])
        self.slot_ids = [aid for aid, ok in zip(self.slot_ids, alive.tolist()) if ok]
        self.slot_of = {aid: i for i, aid in enumerate(self.slot_ids)}
        self.dead = []
        self._slot_docs = None

    def _docs_of_slots(self, doc: DocTables) -> np.ndarray:
        """Each slot's live document number in ``doc`` (-1: none, or a dropped slot)."""
        have = self._slot_docs
        get = doc.docnum_of.get
        if have is not None and have[0] is doc and len(have[1]) <= len(self.slot_ids):
            known = have[1]
            more = np.array([get(a, -1) for a in self.slot_ids[len(known):]], dtype=np.int64)
            out = np.concatenate((known, more))
        else:
            out = np.array([get(a, -1) for a in self.slot_ids], dtype=np.int64)
        if self.dead:
            out[np.array(self.dead, dtype=np.int64)] = -1
        self._slot_docs = (doc, out)
        return out

    def tables(self, doc: DocTables) -> EntityTables:
        """The entity facets of what is known, over the documents of ``doc``."""
        self._flush()
        slot_docs = self._docs_of_slots(doc)
        out = EntityTables(doc.n, self.seq, len(self.pending), self.by_id, self.aliases)
        for kind in ENTITY_KINDS:
            slots, vids = self._pairs[kind]
            docs = slot_docs[slots] if len(slots) else np.zeros(0, np.int64)
            keep = docs >= 0
            out.load(kind, self.kinds[kind][0], docs[keep], vids[keep])
        return out


class FacetTables:
    """Every facet of one generation as arrays: a :class:`DocTables` and the
    :class:`EntityTables` built over it. Never changed once built.

    :param reader: the generation's Whoosh reader, when ``doc`` is not given (then
        there are no entities unless ``entities`` is given)
    :param doc: the commit's arrays, already built
    :param entities: the entity facets over ``doc``; none when omitted
    :param stories: the copies and stories over ``doc``; none when omitted
    """

    def __init__(self, reader=None, *, doc: DocTables | None = None,
                 entities: EntityTables | None = None, stories: StoryTables | None = None):
        if doc is None:
            doc = DocTables(reader)
        if entities is None:
            entities = EntityIndex().tables(doc)
        self.doc = doc
        self.entities = entities
        self.stories = stories if stories is not None else StoryTables(doc)
        self.n = doc.n
        self.live = doc.live
        self.published = doc.published
        self.single = doc.single
        self.csr = entities.csr
        self.values: dict[str, list[str]] = {**doc.values, **entities.values}
        # Several display forms may differ only in case ("Kim" and "KIM" from a
        # transcript's speaker label): a typed value stands for all of them.
        self.lower: dict[str, dict[str, list[str]]] = {}
        for name in FACETS:
            low: dict[str, list[str]] = {}
            for v in self.values[name]:
                low.setdefault(v.lower(), []).append(v)
            # A name resolution shows under another ("IMF", "Bush") stands for that one,
            # unless it is a value of this facet itself.
            shown = set(self.values[name])
            for alias, canonical in entities.aliases.get(name, {}).items():
                if alias not in low and canonical in shown:
                    low[alias] = [canonical]
            self.lower[name] = low

    @property
    def pending(self) -> int:
        """Articles of the side store whose entities are still to be found."""
        return self.entities.pending

    def entities_of(self, docnum: int) -> Entities:
        """A document's entities (empty while pending, or when it has none)."""
        found = self.entities.by_id.get(self.doc.ids[docnum])
        if not found:
            return _EMPTY
        return Entities(**{k: tuple(found.get(k) or ()) for k in ENTITY_KINDS})

    def value_ids(self, name: str, selected) -> list[int]:
        index = {v: i for i, v in enumerate(self.values[name])}
        return [index[v] for v in selected if v in index]

    def filter_mask(self, name: str, selected) -> np.ndarray:
        """Documents holding any of the selected values of one facet (OR within a facet)."""
        vids = self.value_ids(name, selected)
        if name in self.single:
            if not vids:
                return np.zeros(self.n, dtype=bool)
            return np.isin(self.single[name], np.array(vids, dtype=np.int32))
        mask = np.zeros(self.n, dtype=bool)
        vptr, docs = self.entities.csc[name]
        for vid in vids:
            mask[docs[vptr[vid]:vptr[vid + 1]]] = True
        return mask

    def date_mask(self, start: int | None, end: int | None) -> np.ndarray:
        """Documents published within ``[start, end]`` (Whoosh longs, inclusive)."""
        mask = self.published >= 0
        if start is not None:
            mask &= self.published >= start
        if end is not None:
            mask &= self.published <= end
        return mask

    def count(self, name: str, mask: np.ndarray, docs: np.ndarray | None = None) -> np.ndarray:
        """Documents per value id of ``name`` among the documents of ``mask``.

        :param docs: ``np.flatnonzero(mask)`` when the caller has it already
        """
        if docs is None:
            docs = np.flatnonzero(mask)
        nvals = len(self.values[name])
        if name in self.single:
            ids = self.single[name][docs]
            return np.bincount(ids[ids >= 0], minlength=nvals)
        indptr, indices = self.csr[name]
        starts = indptr[docs]
        lens = indptr[docs + 1] - starts
        total = int(lens.sum())
        if total == 0:
            return np.zeros(nvals, dtype=np.int64)
        # Gather every value id of every matched document without a Python loop.
        offsets = np.repeat(starts - (np.cumsum(lens) - lens), lens) + np.arange(total)
        return np.bincount(indices[offsets], minlength=nvals)


def top_values(tables: FacetTables, name: str, counts: np.ndarray, size: int,
               selected=()) -> tuple[tuple[FacetValue, ...], bool]:
    """The ``size`` values with the highest counts (ties by value), selected ones always in.

    :returns: (values, truncated) — truncated when more values had a count than were given
    """
    values = tables.values[name]
    nonzero = np.flatnonzero(counts)
    # count desc, then value asc: values are in lexicon (sorted) order, so index asc
    order = nonzero[np.lexsort((nonzero, -counts[nonzero]))]
    chosen = [int(i) for i in order[: size + 1]]
    truncated = len(chosen) > size
    chosen = chosen[:size]
    out = [FacetValue(values[i], int(counts[i]), values[i] in selected) for i in chosen]
    shown = {values[i] for i in chosen}
    index = {v: i for i, v in enumerate(values)}
    for v in selected:
        if v not in shown:
            out.append(FacetValue(v, int(counts[index[v]]) if v in index else 0, True))
    return tuple(out), truncated


def count_facets(tables: FacetTables, query_mask: np.ndarray, filter_masks: dict[str, np.ndarray],
                 selections: dict[str, tuple[str, ...]], sizes: dict[str, int],
                 names=FACETS) -> tuple[dict[str, tuple[FacetValue, ...]], tuple[str, ...]]:
    """Count every facet: each over the query and every filter except its own.

    :param query_mask: documents matching the query (and any non-facet filter, e.g. dates)
    :param filter_masks: facet name -> documents passing that facet's selection
    :param selections: facet name -> selected values (shown with ``selected=True``)
    :param sizes: facet name -> how many values to return
    :returns: ({facet: values}, names of truncated facets)
    """
    full = query_mask.copy()
    for m in filter_masks.values():
        full &= m
    facets, truncated = {}, []
    full_docs = np.flatnonzero(full)  # shared by every facet without a selection of its own
    for name in names:
        mask, docs = full, full_docs
        if name in filter_masks:
            mask = query_mask.copy()
            for other, m in filter_masks.items():
                if other != name:
                    mask &= m
            docs = None
        counts = tables.count(name, mask, docs)
        facets[name], more = top_values(tables, name, counts, sizes.get(name, 10),
                                        selections.get(name, ()))
        if more:
            truncated.append(name)
    return facets, tuple(truncated)
