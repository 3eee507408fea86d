"""Whoosh writers for the indexer: which writer a run gets, how it is cancelled, and the
one way tests and benchmarks write articles they enriched themselves.

A new generation from at least :data:`MP_WRITER_BYTES` of input is written by
:data:`WRITER_PROCS` Whoosh processes, one segment each: writing is what a rebuild
spends its time on, and while NER runs it moves off the main process. Smaller inputs,
and updates (which delete documents, something the multi-process writer cannot do
across its segments), get one in-process writer: starting the processes costs more
than it saves on little input.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from whoosh.codec import base as _whoosh_codec
from whoosh.codec.whoosh3 import W3Codec
from whoosh.writing import PostingPool

from search import storage
from search import vocabulary
from search.errors import IndexWriteError
from search.ingest import postings
from search.schema import SCHEMA_VERSION
from search.schema import make_schema
from search.schema import to_document
from search.sidestore import DONE
from search.sidestore import SideStore

# The writers' posting buffer, in all (shared by the writer processes), as the posting
# pool counts it: past it, a writer spills its postings to a run on disk. Grouped
# postings (search.ingest.postings) take ~40% less memory than Whoosh's tuples: the
# ~5,000 articles of bench.indexing's mix a writer process gets (~1.5M postings) count
# ~140 MB, and fit unspilled (~300 MB of RSS, where Whoosh's pool grew to ~530 MB).
WRITER_LIMITMB = 320
MP_WRITER_BYTES = 4 * 1024 * 1024
WRITER_PROCS = 2


class _SegmentLengths:
    """A segment's field lengths, each read once.

    Whoosh's field writer asks the new segment's lengths for the length of the
    document's field at every posting it writes (``add_postings``), through four calls
    and a column read each time, though a document's field has one length for its
    hundreds of terms: 12% of writing's CPU time on bbc-news (``bench.analysis_writing``).
    """

    __slots__ = ("_lengths", "_memo")

    def __init__(self, lengths):
        self._lengths = lengths
        self._memo: dict[str, dict[int, int]] = {}

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> int:
        memo = self._memo.get(fieldname)
        if memo is None:
            memo = self._memo[fieldname] = {}
        got = memo.get(docnum)
        if got is None:
            got = memo[docnum] = self._lengths.doc_field_length(docnum, fieldname, default)
        return got


def _remember_lengths(add_postings):
    def add_postings_remembering_lengths(self, schema, lengths, items):
        return add_postings(self, schema, _SegmentLengths(lengths) if lengths else lengths,
                            items)

    add_postings_remembering_lengths.remembers_lengths = True
    add_postings_remembering_lengths.__wrapped__ = add_postings
    return add_postings_remembering_lengths


# Every Whoosh field writer of the process (the in-process writer, the writer processes
# forked from it, the final merge) gets its lengths through _SegmentLengths. The index
# files are byte for byte what Whoosh writes without it (tests/ingest/test_writing.py).
if not getattr(_whoosh_codec.FieldWriter.add_postings, "remembers_lengths", False):
    _whoosh_codec.FieldWriter.add_postings = _remember_lengths(
        _whoosh_codec.FieldWriter.add_postings)


# Postings per pickle in a run of Whoosh's posting pool (about 4 MB of them).
RUN_CHUNK = 20_000


def _write_run_in_chunks(self, f, items):
    postings.dump_chunks(f, items, RUN_CHUNK)


def _read_run_in_chunks(self, path):
    return postings.load_chunks(self, path)


# When a writer's postings outgrow its buffer (WRITER_LIMITMB), Whoosh's posting pool
# sorts them into a run on disk and merges the runs at commit. Whoosh pickles and
# unpickles every posting of a run in a call of its own; a run here is pickled
# RUN_CHUNK postings at a time. Every commit of a large run spills (about 300 postings
# an article): this cut bare writing's CPU time by ~20% on 5,225 articles in one segment
# (3 runs of 5, same process, alternated: 21.0 / 17.6 s against 25.7 / 21.4, and 16.0 /
# 14.4 with no spill at all). The postings come out of the merge in the same order, so
# the index files are the same bytes (tests/ingest/test_writing.py).
PostingPool._write_run = _write_run_in_chunks
PostingPool._read_run = _read_run_in_chunks


# A term with fewer postings than this in a segment keeps them in its entry of the terms
# table instead of a block of the postings file (Whoosh's "inlined" postings). Most
# terms of a news archive are rare (names, numbers, misspellings), and a block costs
# each a pickle, a zlib call and a header: inlining cut writing's CPU time by 8% on the
# ~10k articles of bench.indexing (16% on a 3,000-article segment), for 2% more index.
# Whoosh reads inlined postings with its own ListMatcher; two bugs of that path are
# fixed in search.whoosh_fixes.
INLINE_POSTINGS = 16

CODEC = W3Codec(inlinelimit=INLINE_POSTINGS)

# Every Whoosh SegmentWriter of the process (and of the writer processes forked from it)
# groups its postings by term as documents are added and writes them term by term
# (search.ingest.postings): the same files, for ~11% less CPU time and ~40% less memory.
postings.install()


def create_generation(index_dir: str | os.PathLike):
    """A new, empty generation of ``index_dir`` (not live yet) stamped with this schema
    version: ``(its folder, its Whoosh index)``."""
    from whoosh import index as whoosh_index

    gen = storage.new_generation(index_dir)
    ix = whoosh_index.create_in(str(gen), make_schema())
    storage.set_schema_version(gen, SCHEMA_VERSION)
    return gen, ix


def writer_procs(*, fresh: bool, input_bytes: int) -> int:
    """Whoosh writer processes for a run: several for a large new generation, else one.

    :param fresh: whether the index is a new generation (documents are only added)
    :param input_bytes: the size of the files the run reads
    """
    procs = min(WRITER_PROCS, os.cpu_count() or 1)
    return procs if fresh and input_bytes >= MP_WRITER_BYTES else 1


def open_writer(ix, procs: int = 1):
    """A Whoosh writer with ``procs`` processes (one segment each when more than one),
    sharing :data:`WRITER_LIMITMB` of buffer.

    Segments are written as separate files, not Whoosh's default compound file: a reader
    of a compound file maps it and copies each file it opens out of the map into memory
    (``BufferFile`` -> ``BytesIO``), so every searcher of the server's pool held its own
    copy of the whole index (10,000 articles, 4 searchers: 526 MB of heap against 126 MB
    with separate files, and queries no slower; see the commit that made this change).
    """
    if procs > 1:
        return ix.writer(limitmb=WRITER_LIMITMB // procs, procs=procs, multisegment=True,
                         compound=False, codec=CODEC)
    return ix.writer(limitmb=WRITER_LIMITMB, compound=False, codec=CODEC)


def cancel(writer) -> None:
    """Cancel a Whoosh writer. The multi-process writer's ``cancel`` only flags its
    process objects in this process: its writer processes would wait for work forever
    (and a Python exiting joins them), so they are stopped here."""
    for task in getattr(writer, "tasks", ()):
        task.terminate()
        task.join()
    writer.cancel()


def check_complete(ix, written: int) -> None:
    """Raise :class:`IndexWriteError` unless the new generation ``ix`` holds all ``written``
    documents: Whoosh's multi-process writer drops the segment of a writer process that
    died, silently."""
    found = ix.doc_count()
    if found != written:
        raise IndexWriteError(
            f"the new index holds {found} of the {written} articles written (a writer "
            "process failed); the previous index is still live. Run the same command again.")


def write_generation(articles: Iterable, index_dir: str | os.PathLike, *,
                     procs: int = 1) -> Path:
    """Write already-enriched articles as a new generation of ``index_dir`` and make it
    live (no reading, no enrichment, no manifest): how tests and benchmarks build an
    index of articles they made themselves. Their entities go to the side store
    (:mod:`search.sidestore`), every article's entity stage done.

    :param articles: :class:`~search.models.Article` objects, ids unique
    :param procs: Whoosh writer processes (``procs > 1`` writes one segment per process)
    :returns: the generation's folder
    """
    gen, ix = create_generation(index_dir)
    words = vocabulary.Collector()
    side = SideStore(gen)
    writer = open_writer(ix, procs)
    try:
        rows = []
        for article in articles:
            words.add(article.title, article.body, article.caption)
            writer.add_document(**to_document(article))
            rows.append((article.id, "", DONE, article.entities))
            if len(rows) >= 1000:
                side.add_texts(rows)
                rows = []
        side.add_texts(rows)
        side.commit()
        vocabulary.save(gen, words.words())
        writer.commit()
    except BaseException:
        cancel(writer)
        raise
    finally:
        side.close()
    storage.switch(index_dir, gen)
    return gen
