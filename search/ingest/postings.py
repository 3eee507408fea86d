"""A segment's postings grouped by term as its documents are added, and written term by
term: the same index files as Whoosh's writer, for less of its CPU time.

Whoosh's ``SegmentWriter`` turns every posting of a document into a tuple ``(field,
term bytes, docnum, weight, value)`` through two generators and puts it in a
:class:`~whoosh.writing.PostingPool`; at commit it sorts every tuple (or merges the
sorted runs the pool spilled to disk), and hands them one by one to the codec, which
checks and buffers each before it writes the term. Here (:class:`TermPool`) a document's
postings go into a dict per field, term -> the term's document numbers, weights and
values; at commit only the terms are sorted, a rare term's entry of the terms table is
made in one step, and a common term's postings fill the codec's block buffer a block at
a time. A pool past its memory (``limitmb``) spills its terms, sorted, to a run on
disk, and the commit merges the runs term by term.

On bbc-news and 3,000 saudinewsnet-ar articles in one segment, each write in a process
of its own, writing took ~11% less CPU time and ~40% less memory (``python -m
bench.postings``: 19.4 against 22.0 s, 356 against 590 MB of peak RSS).
``tests/ingest/test_postings.py`` holds the files to Whoosh's, byte for byte (unspilled,
spilled, with a boosted document, after a merge), and two writer processes to the same
postings. What takes Whoosh's own path:

- a document with a ``_boost`` or ``_<field>_boost`` key, and any document of a schema
  with spelling or vector fields (Newsfacet's has neither): Whoosh's ``add_document``;
- postings given to the pool as tuples (a document as above; merging segments in with
  ``add_reader``): then every posting of the segment goes through Whoosh's sorted runs,
  as before.
"""

from __future__ import annotations

import heapq
import itertools
import pickle
from array import array
from pickle import dumps

from whoosh.codec.whoosh3 import W3TermInfo
from whoosh.fields import FieldType
from whoosh.formats import Frequency
from whoosh.system import pack_uint
from whoosh.system import pack_ushort
from whoosh.util.numeric import length_to_byte
from whoosh.writing import PostingPool
from whoosh.writing import SegmentWriter

from search.analysis import LanguageAnalyzer
from search.analysis import LanguageCharacters
from search.analysis import VariantTokenizer

# Bytes of memory a grouped posting costs beside its value's bytes (a document number, a
# weight and the value's end), and a term beside its key (its four arrays, a tuple and
# a dict slot).
_POSTING_BYTES = 4 + 8 + 4
_TERM_BYTES = 4 * 72 + 72 + 104 + 49
_TERMINFO = W3TermInfo._struct.pack
# Terms per pickle in a run of grouped postings.
RUN_TERMS = 5_000


def _items_of(field):
    """How a field's postings of one document are made: a function ``value -> (term,
    frequency, weight, value bytes)`` for each term, as Whoosh's ``field.index`` makes
    them, with the term as str where ``index`` would encode it (sorted by code point,
    which is UTF-8 byte order, and encoded once at commit)."""
    fmt, ana = field.format, field.analyzer
    if type(field).index is not FieldType.index:  # numbers, dates: bytes of their own
        return field.index
    if isinstance(fmt, LanguageCharacters) and isinstance(ana, LanguageAnalyzer):
        # a document's terms with their positions from the analyser in one call
        fb, encode = fmt.field_boost, fmt.encode

        def characters(value):
            if not isinstance(value, str):
                return fmt.word_values(value, ana, mode="index")
            return ((term, len(poslist), len(poslist) * fb, encode(poslist))
                    for term, poslist in ana.postings(value).items())
        return characters
    if type(fmt) is Frequency and isinstance(ana, VariantTokenizer):
        # counts without a token per word; Frequency's weight is its float sum of 1.0s
        fb = fmt.field_boost

        def counts(value):
            if not isinstance(value, str):
                return fmt.word_values(value, ana, mode="index")
            return ((word, n, float(n) * fb, pack_uint(n))
                    for word, n in ana.counts(value).items())
        return counts
    return lambda value: fmt.word_values(value, ana, mode="index")


class TermPool(PostingPool):
    """Whoosh's posting pool, with the postings of :func:`add_document` grouped by field
    and term (see the module's docstring)."""

    def __init__(self, tempstore, segment, limitmb=128, **kwargs):
        super().__init__(tempstore, segment, limitmb=limitmb, **kwargs)
        # field name -> {term (str or bytes) -> (docnums, weights, values)}
        self.grouped: dict[str, dict] = {}
        # runs of grouped postings on disk (see _spill), oldest first
        self.grouped_runs: list[str] = []
        self._fields: dict[str, tuple] = {}

    def _terms_of(self, fieldname: str, field) -> tuple:
        got = self._fields.get(fieldname)
        if got is None:
            got = self._fields[fieldname] = (self.grouped.setdefault(fieldname, {}),
                                             _items_of(field))
            self.fieldnames.add(fieldname)
        return got

    def add_field(self, fieldname: str, field, value, docnum: int, boost: float) -> int:
        """Add one field's postings of document ``docnum``; its length (the sum of the
        terms' frequencies, as Whoosh counts it)."""
        terms, items = self._terms_of(fieldname, field)
        size = 0
        length = 0
        for term, freq, weight, vbytes in items(value):
            weight *= boost
            length += freq
            got = terms.get(term)
            if got is None:
                got = terms[term] = _new_term()
                size += _TERM_BYTES + len(term)
            got[0].append(docnum)
            got[1].append(weight)
            blob = got[2]
            if vbytes:
                blob += vbytes
            got[3].append(len(blob))
            size += _POSTING_BYTES + len(vbytes or b"")
        self.currentsize += size
        if self.currentsize > self.limit:
            self._spill()
        return length if field.scorable else 0

    # -- spilling: sorted runs of whole terms ------------------------------------------

    def _spill(self) -> None:
        """Write the grouped postings to a run on disk, term by term in order, and start
        again: the pool's memory stays near ``limitmb`` however large the segment."""
        path, f = self._new_run()
        dump_chunks(f, ((fieldname, term, docs.tobytes(), weights.tobytes(), values)
                        for fieldname, term, docs, weights, values in self._sorted_terms()),
                    RUN_TERMS)
        self.grouped_runs.append(path)
        self.currentsize = 0

    def _read_grouped_run(self, path):
        for fieldname, term, docs, weights, values in load_chunks(self, path):
            yield (fieldname, term, array("I", docs), array("d", weights), values)

    def _sorted_terms(self):
        # (field, term, docnums, weights, values) of the postings in memory, in order,
        # emptying the pool as it goes.
        for fieldname in sorted(self.grouped):
            terms = self.grouped[fieldname]
            for term in sorted(terms):
                docs, weights, blob, ends = terms[term]
                yield fieldname, term, docs, weights, _values(blob, ends)
            terms.clear()

    def terms(self):
        """Every grouped term with all its postings, ``(field, term, docnums, weights,
        values)`` in Whoosh's order (field, then term bytes): the runs merged with what
        is in memory, a term's postings in the order they were added."""
        if not self.grouped_runs:
            yield from self._sorted_terms()
            return
        runs, self.grouped_runs = self.grouped_runs, []
        # Runs hold earlier documents than later runs and than memory; merge is stable,
        # so a term's pieces come out in the order their documents were added.
        streams = [self._read_grouped_run(path) for path in runs] + [self._sorted_terms()]
        last = None
        for record in heapq.merge(*streams, key=_term_key):
            if last is not None and _term_key(record) == _term_key(last):
                last[2].extend(record[2])
                last[3].extend(record[3])
                last[4].extend(record[4])
            else:
                if last is not None:
                    yield tuple(last)
                last = list(record)
        if last is not None:
            yield tuple(last)

    # -- Whoosh's own pool (postings added as tuples, runs of tuples) --------------------

    def _ungroup(self) -> None:
        # Every grouped posting (and grouped run) into Whoosh's sorted runs of tuples,
        # for Whoosh's own merge at commit.
        if not self.grouped_runs and not any(self.grouped.values()):
            return
        tuples = ((fieldname, _term_bytes(term), docnum, weight, value)
                  for fieldname, term, docs, weights, values in self.terms()
                  for docnum, weight, value in zip(docs, weights, values))
        path, f = self._new_run()
        self._write_run(f, tuples)
        self._add_run(path)

    def save(self):
        self._ungroup()
        super().save()

    def items(self, maxfiles=128):
        self._ungroup()
        return super().items(maxfiles)

    def cleanup(self):
        self.grouped.clear()
        for path in self.grouped_runs:
            self._remove_run(path)
        self.grouped_runs = []
        super().cleanup()

    def only_grouped(self) -> bool:
        """Whether every posting is grouped (none added as a tuple)."""
        return not self.runs and not self.current

    def write(self, fieldwriter, schema, lengths) -> None:
        """Write the grouped postings through ``fieldwriter`` (the codec's), as Whoosh's
        ``FieldWriter.add_postings`` would write the same postings sorted."""
        doccount = lengths.doc_count_all() if lengths else 0
        tindex = fieldwriter._tindex
        field = None
        for fieldname, term, docs, weights, values in self.terms():
            if fieldname != field:
                if field is not None:
                    fieldwriter.finish_field()
                field = fieldname
                # Whoosh passes each posting the document's field length as the
                # segment's lengths column gives it back (rounded to a byte), 0 for none.
                if lengths:
                    dfl = lengths.doc_field_length
                    flen = [dfl(d, fieldname) for d in range(doccount)]
                else:
                    flen = [0] * doccount
                fieldwriter.start_field(fieldname, schema[fieldname])
                prefix = pack_ushort(fieldwriter._fieldid)
                pw = fieldwriter._postwriter
                limit, inline = pw._blocklimit, pw._inlinelimit
            tbytes = _term_bytes(term)
            n = len(docs)
            if n < inline:
                tindex.add(prefix + tbytes, _inlined_terminfo(docs, weights, values, flen))
                continue
            fieldwriter.start_term(tbytes)
            for start in range(0, n, limit):
                end = min(n, start + limit)
                _fill_block(pw, docs[start:end], weights[start:end], values[start:end], flen)
                if end < n:
                    pw._write_block()
            fieldwriter.finish_term()
        if field is not None:
            fieldwriter.finish_field()


def _new_term() -> tuple:
    # A term's postings: document numbers, weights, and the values' bytes one after the
    # other with the end of each. Arrays and a bytearray, not lists: the cyclic garbage
    # collector walks every item of a list at each full collection, and with lists of
    # the ~1.5M values of 5,225 articles, adding them took 8.3-8.7 s of CPU against
    # 6.5-7.3 s with the collector switched off.
    return array("I"), array("d"), bytearray(), array("I")


def _values(blob: bytearray, ends) -> list[bytes]:
    # The values of a term's postings, each as bytes (b"" for a posting without one).
    data = bytes(blob)
    start = 0
    out = []
    for end in ends:
        out.append(data[start:end])
        start = end
    return out


def dump_chunks(f, items, size: int) -> None:
    """Pickle ``items`` to the run file ``f``, ``size`` to a pickle, and close it: a run
    of Whoosh's posting pool pickles each item in a call of its own."""
    items = iter(items)
    while chunk := list(itertools.islice(items, size)):
        pickle.dump(chunk, f, pickle.HIGHEST_PROTOCOL)
    f.close()


def load_chunks(pool, path: str):
    """The items of a run :func:`dump_chunks` wrote, in order; the run is removed once
    read."""
    f = pool._open_run(path)
    try:
        while True:
            try:
                chunk = pickle.load(f)
            except EOFError:
                return
            yield from chunk
    finally:
        f.close()
        pool._remove_run(path)


def _term_key(record):
    return record[0], record[1]


def _block_stats(ids, weights, flen) -> tuple:
    """What ``W3PostingsWriter.add_posting`` gathers over a block's postings: the float32
    weights, the top weight (0 when none is above it), and the shortest and longest
    non-zero field length (``None`` and 0 when every length is 0)."""
    top = max(weights)
    lens = [n for n in (flen[d] for d in ids) if n]
    return (array("f", weights), top if top > 0 else 0,
            min(lens) if lens else None, max(lens) if lens else 0)


def _inlined_terminfo(docs, weights, values, flen) -> bytes:
    """The terms-table entry of a term whose postings are inlined: the bytes of
    ``W3TermInfo.to_bytes()`` after ``W3PostingsWriter.finish_postings`` had inlined
    these postings (one block's statistics, then the pickled postings)."""
    w32, top, minlength, maxlength = _block_stats(docs, weights, flen)
    head = _TERMINFO(True, sum(w32), len(docs),
                     0 if minlength is None else length_to_byte(minlength),
                     length_to_byte(maxlength), top, docs[0], docs[-1])
    return head + dumps((tuple(docs), tuple(w32), tuple(v for v in values if v)), 2)


def _fill_block(pw, ids, weights, values, flen) -> None:
    """Set the codec's block buffer as ``add_posting`` would leave it after these
    postings (W3PostingsWriter: ids, float32 weights, the non-empty values, and the
    block's weight and length statistics)."""
    pw._ids = ids
    pw._weights, pw._maxweight, pw._minlength, pw._maxlength = _block_stats(ids, weights,
                                                                             flen)
    pw._values = [v for v in values if v]


def _term_bytes(term) -> bytes:
    # A term kept as str (see _items_of) as Whoosh writes it; bytes terms as they are.
    return term.encode("utf-8") if isinstance(term, str) else term


def add_document(self, **fields):
    """``SegmentWriter.add_document``, its postings grouped by term in a
    :class:`TermPool` (the rest, stored values, lengths and columns, as Whoosh does)."""
    pool = self.pool
    if not isinstance(pool, TermPool) or not _groupable(self.schema) or any(
            name.startswith("_") for name in fields):
        return _whoosh_add_document(self, **fields)
    self._check_state()
    perdocwriter = self.perdocwriter
    schema = self.schema
    docnum = self.docnum
    fieldnames = sorted(fields)
    self._check_fields(schema, fieldnames)
    perdocwriter.start_doc(docnum)
    try:
        for fieldname in fieldnames:
            value = fields[fieldname]
            if value is None:
                continue
            field = schema[fieldname]
            length = pool.add_field(fieldname, field, value, docnum, 1.0) if field.indexed else 0
            perdocwriter.add_field(fieldname, field, value if field.stored else None, length)
            column = field.column_type
            if column:
                perdocwriter.add_column_value(fieldname, column, field.to_column_value(value))
    except Exception:
        perdocwriter.cancel_doc()
        raise
    perdocwriter.finish_doc()
    self._added = True
    self.docnum += 1


def _groupable(schema) -> bool:
    # No field with separate spelling words or term vectors (neither is in Newsfacet's
    # schema; add_document leaves such a schema to Whoosh).
    got = getattr(schema, "_newsfacet_groupable", None)
    if got is None:
        got = not any(field.separate_spelling() or field.vector
                      for _, field in schema.items())
        schema._newsfacet_groupable = got
    return got


def _flush_segment(self):
    pool = self.pool
    if not isinstance(pool, TermPool) or not pool.only_grouped():
        return _whoosh_flush_segment(self)
    self.perdocwriter.close()
    lengths = self.per_document_reader() if self.codec.length_stats else None
    pool.write(self.fieldwriter, self.schema, lengths)
    self.fieldwriter.close()
    if lengths:
        lengths.close()


def _init(self, *args, **kwargs):
    _whoosh_init(self, *args, **kwargs)
    whoosh_pool = self.pool
    self.pool = TermPool(whoosh_pool.tempstore, whoosh_pool.segment)
    self.pool.limit = whoosh_pool.limit


_whoosh_add_document = SegmentWriter.add_document
_whoosh_flush_segment = SegmentWriter._flush_segment
_whoosh_init = SegmentWriter.__init__


def install() -> None:
    """Make every ``SegmentWriter`` of this process (and of processes forked from it)
    group its postings by term."""
    SegmentWriter.__init__ = _init
    SegmentWriter.add_document = add_document
    SegmentWriter._flush_segment = _flush_segment


def uninstall() -> None:
    """Whoosh's own writer again (for the tests that compare the two)."""
    SegmentWriter.__init__ = _whoosh_init
    SegmentWriter.add_document = _whoosh_add_document
    SegmentWriter._flush_segment = _whoosh_flush_segment
