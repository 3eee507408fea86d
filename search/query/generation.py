"""One open index generation per index directory, shared by requests, reopened when stale.

A :class:`Generation` holds what a generation needs to answer queries fast: its Whoosh
searcher, its facet arrays (:class:`~search.query.facets.FacetTables`), its decoded postings
(:class:`~search.query.whoosh_postings.PostingCache`), the NumPy query evaluator over them
(:class:`~search.query.evaluate.Evaluator`) and its word lists (:class:`~search.query.bind.Lexicon`);
the frequent words' postings are decoded by a background thread once it is open.
:func:`use` hands out the live generation of a directory. When ``DIR/current`` points
elsewhere or the generation took a commit, the request that notices builds the new
generation *outside* the lock; requests arriving meanwhile keep being served by the old
one, which is closed once nobody uses it.

A new commit of the same folder (the indexer commits every 30–60 s during a run) is
opened with the previous :class:`Generation` as ``previous``: the decoded facet column
and dates of every segment the commit kept, its word lists and its decoded posting
lists are carried over (moved to where the segment now starts), and only new segments
are read. Entities arrive behind, in the side store (:mod:`search.sidestore`): a
request that finds its sequence moved on (looked at most every ``RECHECK_SECONDS``,
rebuilt at most every ``ENTITY_REBUILD_SECONDS``) applies the changes and swaps in new
facet tables; requests in flight keep the tables they started with.
"""

from __future__ import annotations

import contextlib
import heapq
import sqlite3
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.searching import Searcher

from search import analysis
from search import storage
from search.config import DEFAULT_SETTINGS
from search.errors import IndexMissingError
from search.errors import IndexVersionError
from search.query import bind
from search.query import facets as facetlib
from search.query.bind import Lexicon
from search.query.evaluate import Evaluator
from search.query.scoring import weighting
from search.query.stories import StoryTables
from search.query.whoosh_postings import PostingCache
from search.schema import BODY
from search.schema import SCHEMA_VERSION
from search.schema import TITLE
from search.sidestore import SideStore
from search.sidestore import StageCounts
from search.vocabulary import UNSTEMMED

# A generation's commits, and its side store's changes, are looked for at most this
# often (it lists the folder; it reads one row).
RECHECK_SECONDS = 0.5
# The entity facets are rebuilt at most this often while entities arrive behind: a
# stream of small batches must not rebuild the arrays ten times a second.
ENTITY_REBUILD_SECONDS = 2.0
# Words decoded in the background when a generation opens, in each language's fields of
# these kinds: those in PREWARM_SHARE of the articles or more (at least
# PREWARM_MIN_DOCS), up to PREWARM_BYTES of arrays.
PREWARM_KINDS = (TITLE, BODY)
# Document frequencies remembered per field (top words); past this many, start again.
DF_CACHE_TERMS = 500_000
# The warming keeps the document frequency of each text field's words held by this many
# articles or more (up to half of DF_CACHE_TERMS, the most frequent), so top words look
# up none: a word seen in fewer articles than top words' MIN_DOCS is never scored there.
DF_KEEP_MIN = 3
PREWARM_SHARE = 0.01
PREWARM_MIN_DOCS = 200
PREWARM_BYTES = 256 * 1024 * 1024
# Longest the warming waits for requests in flight before it decodes its next word
# (under constant traffic it still gets on, a word at a time).
PREWARM_YIELD_SECONDS = 0.5
# Whether a generation reads ahead what searches will need: its word lists at the open,
# and its frequent words' postings in the background. An export process, which needs
# only its own query's words, turns it off (~70 MB of word lists at 50,000 articles).
PREWARM = True


class Generation:
    """One open index generation: searcher, facet arrays, postings cache and evaluator.

    :param path: the generation's folder
    :param previous: the generation open before (a commit ago): when it is of the same
        folder, its decoded segments and side-store state are carried over
    :raises IndexMissingError: when there is no Whoosh index in it
    """

    def __init__(self, path: Path, previous: Generation | None = None):
        self.path = path
        found = storage.schema_version(path)
        if found != SCHEMA_VERSION:
            # Another schema's fields and side files (words.txt came with version 3) would
            # give wrong answers quietly: say it must be rebuilt, as `index` does.
            raise IndexVersionError(str(path.parent), found, SCHEMA_VERSION)
        try:
            self.ix = whoosh_index.open_dir(str(path))
        except (whoosh_index.EmptyIndexError, OSError) as e:
            raise IndexMissingError(str(path.parent)) from e
        # Whoosh's readers seek and read shared file objects (concurrent reads through
        # one searcher raised zlib "truncated stream" errors under waitress's threads),
        # so each request holds a searcher of its own for its duration (:meth:`reading`),
        # from a pool that grows to the number of concurrent requests; the arrays decoded
        # through them (facet tables, postings, scores, word lists) are shared. Requests
        # no longer take turns at one searcher: a slow one does not stall the others.
        # Every searcher reads the commit this generation opened (its TOC), never a
        # later one, so document numbers agree with the shared arrays.
        self._toc = self.ix._read_toc()
        self._pool = threading.Condition()
        self._searchers: list = []  # every searcher opened, to close
        self._free: list = []  # those no request holds
        self._evaluators: dict[int, Evaluator] = {}
        self._local = threading.local()
        self._closed = False
        self._main = self._open_searcher()
        self._searchers.append(self._main)
        self._free.append(self._main)
        main_reader = self._main.reader()
        # A later commit of the same folder: what its unchanged segments decoded is
        # reused, and the side store's entities are caught up from where they were.
        carry = previous if previous is not None and previous.path == path else None
        t0 = time.perf_counter()
        doc = facetlib.DocTables(main_reader, carry._tables.doc.segments if carry else None)
        t1 = time.perf_counter()
        self.entity_index = carry.entity_index if carry else facetlib.EntityIndex()
        self._owns_store = False  # the side store's connection: taken over once open
        with self.entity_index.lock:
            self._catch_up_locked()
            self._tables = facetlib.FacetTables(doc=doc,
                                                entities=self.entity_index.tables(doc),
                                                stories=self._stories_locked(doc))
        self.entities_checked = self.entities_built = time.monotonic()
        t2 = time.perf_counter()
        self.postings = PostingCache(main_reader, self._tables.live,
                                     carry=carry.postings if carry else None)
        self._scored: dict = {}
        self._forms: dict = {}
        self._df: dict[str, dict[str, int]] = {}  # field -> term -> document frequency
        self.lexicon = Lexicon(main_reader, path, carry=carry.lexicon if carry else None)
        # The languages the index holds: a query's words are looked up in their fields only.
        self.languages = analysis.present_languages(main_reader)
        # Word lists read now (prefix expansion; UNSTEMMED: written words), not by the
        # first prefix query.
        self.text_fields = analysis.text_fields(langs=self.languages)
        if PREWARM:
            for name in (*self.text_fields, UNSTEMMED):
                self.lexicon.words(name)
        self.lexicon.settle()
        # What the open cost, in ms (benchmarks): the commit's columns, the entity
        # facets (side store read and arrays), the word lists.
        self.open_ms = {"columns": (t1 - t0) * 1000, "entities": (t2 - t1) * 1000,
                        "words": (time.perf_counter() - t2) * 1000}
        self.users = 0
        self.checked = time.monotonic()
        # Counters for benchmarks: queries evaluated by NumPy / by Whoosh's searcher.
        self.stats = {"numpy": 0, "whoosh": 0, "entity_rebuilds": 0}
        # Open: the side store's connection is this generation's to close now (shared
        # with the commit before, which must not close it when it retires).
        self._owns_store = True
        if carry is not None:
            carry._owns_store = False
        self.prewarmed = threading.Event()
        # Set once the text fields' lengths and each language's changed forms are read
        # (the first part of the warming), which every search needs.
        self.prepared = threading.Event()
        if PREWARM:
            threading.Thread(target=self._prewarm, name="newsfacet-prewarm", daemon=True).start()
        else:
            self.prewarmed.set()
            self.prepared.set()

    def _open_searcher(self) -> Searcher:
        """A new searcher of this generation's commit (not of a later one)."""
        toc = self._toc
        reader = whoosh_index.FileIndex._reader(self.ix.storage, toc.schema,
                                                list(toc.segments), toc.generation)
        return Searcher(reader, weighting=weighting(), fromindex=self.ix)

    @contextlib.contextmanager
    def reading(self, background: bool = False):
        """Hold a searcher of the pool for this thread during the block (nested: the same).

        :param background: the block is a long reader's (an export's), which gives way
            to requests: it is not counted in :func:`busy`
        :raises IndexMissingError: when the generation was closed meanwhile
        """
        if getattr(self._local, "held", None) is not None:
            yield
            return
        searcher = self._checkout()
        self._local.held = searcher
        # The tables this request started with, whatever a catch-up installs meanwhile.
        self._local.tables = self._tables
        if not background:
            _foreground(1)
        try:
            yield
        finally:
            if not background:
                _foreground(-1)
            self._local.held = None
            self._local.tables = None
            with self._pool:
                self._free.append(searcher)
                self._pool.notify()

    def _checkout(self) -> Searcher:
        with self._pool:
            if self._closed:
                raise IndexMissingError(str(self.path.parent))
            if self._free:
                return self._free.pop()
        try:
            fresh = self._open_searcher()  # outside the lock: it reads files
        except OSError:
            # A later commit removed files of this one (a merge): wait for a searcher.
            with self._pool:
                while not self._free:
                    self._pool.wait()
                return self._free.pop()
        with self._pool:
            self._searchers.append(fresh)
        return fresh

    @property
    def searcher(self) -> Searcher:
        """The searcher this thread holds (:meth:`reading`); outside a ``reading`` block
        (single-threaded use: tests, benchmarks), the generation's first one."""
        return getattr(self._local, "held", None) or self._main

    @property
    def tables(self) -> facetlib.FacetTables:
        """The facet tables this thread's request started with (:meth:`reading`); outside
        a ``reading`` block, the newest."""
        return getattr(self._local, "tables", None) or self._tables

    @property
    def evaluator(self) -> Evaluator:
        """The query evaluator of this thread's searcher: its reader, the shared arrays."""
        searcher = self.searcher
        got = self._evaluators.get(id(searcher))
        if got is None:
            got = Evaluator(searcher, self.postings.using(searcher.reader()),
                            self._tables.published, scored=self._scored, forms=self._forms,
                            tables=lambda: self.tables)
            self._evaluators[id(searcher)] = got
        return got

    def _prewarm(self) -> None:
        """Decode and score the frequent words of the text fields, in the background.

        A word in 1 % of the articles or more costs milliseconds to decode at 50,000
        articles; the first query on it would pay that. Requests are served meanwhile
        (a word a request needs first is decoded by that request).
        """
        searcher = None
        try:
            # Its own searcher: Whoosh's readers are not safe to share between threads.
            searcher = self._open_searcher()
            reader = searcher.reader()
            view = self.postings.using(reader)
            evaluator = Evaluator(searcher, view, self._tables.published, scored=self._scored, forms=self._forms,
                                  tables=lambda: self._tables)
            # What the commit before had decoded, moved to where its segments now are.
            view.migrate(stop=lambda: self._closed)
            for name in self.text_fields:  # the text fields' lengths, used by every score
                view.lengths(name)
            for lang in self.languages:  # each language's changed forms (exact forms first)
                evaluator.changed_forms(lang)
            self.prepared.set()
            floor = max(PREWARM_MIN_DOCS, int(PREWARM_SHARE * reader.doc_count_all()))
            fields = [name for name in analysis.text_fields(PREWARM_KINDS, self.languages)
                      if name in reader.indexed_field_names()]
            frequent = []
            for name in fields:
                dfs = self._segment_dfs(reader, name)
                if dfs is None:
                    return
                kept = [(t, n) for t, n in dfs.items() if n >= DF_KEEP_MIN]
                if len(kept) > DF_CACHE_TERMS // 2:
                    kept = heapq.nlargest(DF_CACHE_TERMS // 2, kept, key=lambda tn: tn[1])
                self._df.setdefault(name, {}).update((t.decode("utf-8"), n) for t, n in kept)
                frequent.append((name, [t for t, n in dfs.items() if n >= floor]))
            for name, words in frequent:
                for btext in words:
                    if self._closed or self.postings.used > PREWARM_BYTES:
                        return
                    self._yield_to_requests()
                    evaluator.scored(name, btext)
        except Exception:  # the generation closed under the thread: nothing to warm any more
            return
        finally:
            if searcher is not None:
                searcher.close()
            self.prepared.set()
            self.prewarmed.set()

    def _segment_dfs(self, reader, fieldname: str) -> dict[bytes, int] | None:
        """Every term of ``fieldname`` and how many documents hold it (deleted ones too,
        as Whoosh counts), summed over the segments; ``None`` once the generation closed.

        Each segment's terms are walked on their own: the multi-segment reader's walk
        merges the segments term by term (~150 µs a term at 50,000 articles, against
        ~15 µs)."""
        dfs: dict[bytes, int] = {}
        get = dfs.get
        for leaf, _ in reader.leaf_readers():
            if fieldname not in leaf.indexed_field_names():
                continue
            for i, (btext, info) in enumerate(leaf.iter_field(fieldname)):
                if i % 4096 == 0 and self._closed:
                    return None
                dfs[btext] = get(btext, 0) + info.doc_frequency()
        return dfs

    def _yield_to_requests(self) -> None:
        """Wait while a request is being answered (up to PREWARM_YIELD_SECONDS each time).

        Decoding holds the GIL in Python loops: beside it, a request runs at half speed
        or worse, and the first searches after a server starts on a large archive ran
        past QUERY_TIMEOUT (bench.query_speed at 200,000 articles). The warming is for
        those requests; it waits for them, not they for it.
        """
        deadline = time.monotonic() + PREWARM_YIELD_SECONDS
        while (not self._closed and len(self._free) < len(self._searchers)
               and time.monotonic() < deadline):
            time.sleep(0.002)

    def doc_frequencies(self, fieldname: str):
        """``df(term)``: how many of this commit's documents hold a term of ``fieldname``,
        remembered for the generation's life (top words ask the same common words again
        and again; Whoosh's lookup costs ~20 µs)."""
        cache = self._df.setdefault(fieldname, {})
        reader = self.searcher.reader()

        def df(text: str) -> int:
            got = cache.get(text)
            if got is None:
                if len(cache) > DF_CACHE_TERMS:
                    cache.clear()
                got = cache[text] = reader.doc_frequency(fieldname, text)
            return got

        return df

    def bind(self, parsed, settings: Mapping[str, Any] = DEFAULT_SETTINGS):
        """``parsed`` (:func:`search.query.parse.parse`) bound to this generation
        (:func:`search.query.bind.bind`): facet values, prefixes, wildcards, fuzzy terms,
        expanded within the settings' ``MAX_WILDCARD_TERMS`` and ``MAX_QUERY_TERMS``;
        with its headline bonus and its terms to highlight, worked out once.

        :rtype: :class:`~search.query.bind.Bound`
        """
        reader = self.searcher.reader()
        return bind.bind(parsed, reader, self.tables.lower.__getitem__, self.lexicon,
                         settings["MAX_WILDCARD_TERMS"], settings["MAX_QUERY_TERMS"],
                         languages=self.languages)

    def stale(self) -> bool:
        """Whether a newer commit or generation exists (checked at most every 0.5 s)."""
        now = time.monotonic()
        if now - self.checked < RECHECK_SECONDS:
            return False
        self.checked = now
        return not self._main.up_to_date()  # reads the folder's TOC names only

    # --- entities arriving behind (the side store) ---------------------------------

    def _store(self):
        """The side store, read-only, opened on first need; ``None`` while the
        generation has none (written before side stores, or not yet by the indexer).
        Called with ``entity_index.lock`` held."""
        idx = self.entity_index
        store = getattr(idx, "store", None)
        if store is None:
            try:
                store = SideStore(self.path, readonly=True)
            except (FileNotFoundError, sqlite3.Error):
                return None
            idx.store = store
        return store

    def _catch_up_locked(self) -> bool:
        """Take in the side store's changes since the last (``entity_index.lock`` held).

        :returns: whether there were any
        """
        store = self._store()
        if store is None:
            return False
        idx = self.entity_index
        try:
            if store.sequence() == idx.seq:
                return False
            reached, rows = store.raw_changes_since(idx.seq)
            aliases_seq = store.aliases_sequence()
            aliases = store.aliases() if aliases_seq != idx.aliases_seq else None
        except sqlite3.Error:  # being written or replaced: what is known stands
            return False
        idx.apply_raw(reached, rows)
        if aliases is not None:
            idx.set_aliases(aliases_seq, aliases)
        return True

    def _stories_locked(self, doc, current: StoryTables | None = None) -> StoryTables:
        """The stories over ``doc``: ``current`` when the side store's stories have not
        changed since it was built, else read again whole (``entity_index.lock`` held;
        the rows read are kept on the entity index, so a later commit maps them again
        without reading them)."""
        idx = self.entity_index
        held = getattr(idx, "stories", None)  # (sequence, rows, redirects)
        store = self._store()
        if store is not None:
            try:
                seq = store.stories_sequence()
                if held is None or held[0] != seq:
                    held = idx.stories = store.stories()
            except sqlite3.Error:  # being written: what is known stands
                pass
        if current is not None and held is not None and current.seq == held[0]:
            return current
        return StoryTables(doc, *held) if held is not None else StoryTables(doc)

    def entities_due(self) -> bool:
        """Whether to look for entities filled in behind now: at most every
        ``RECHECK_SECONDS``, and not within ``ENTITY_REBUILD_SECONDS`` of a rebuild."""
        now = time.monotonic()
        return (now - self.entities_checked >= RECHECK_SECONDS
                and now - self.entities_built >= ENTITY_REBUILD_SECONDS)

    def catch_up(self) -> bool:
        """Rebuild the entity part of the tables if the side store moved on.

        Runs in the request that noticed, outside every lock other requests wait on
        (one catch-up at a time: a request finding one under way goes on with the
        tables as they are); the new tables replace the old in one assignment, and
        requests in flight keep those they started with.

        :returns: whether new tables were installed
        """
        idx = self.entity_index
        if not idx.lock.acquire(blocking=False):
            return False
        try:
            self.entities_checked = time.monotonic()
            current = self._tables
            stories = self._stories_locked(current.doc, current.stories)
            if (not self._catch_up_locked() and current.entities.seq == idx.seq
                    and stories is current.stories):
                return False
            self._tables = facetlib.FacetTables(doc=current.doc,
                                                entities=idx.tables(current.doc),
                                                stories=stories)
            self.entities_built = time.monotonic()
            self.stats["entity_rebuilds"] += 1
            return True
        finally:
            idx.lock.release()

    def enrichment(self) -> StageCounts:
        """How far the entity stage has got, read from the side store now (no side
        store: nothing done, nothing pending)."""
        with self.entity_index.lock:
            store = self._store()
            try:
                return store.counts() if store is not None else StageCounts(0, 0)
            except sqlite3.Error:
                return StageCounts(0, len(self.entity_index.pending))

    def stages(self) -> dict:
        """How far every later stage has got, read from the side store now:
        ``{"pending": articles with any stage to run, "entities": StageCounts,
        "stories": StageCounts}``."""
        entities = self.enrichment()
        with self.entity_index.lock:
            store = self._store()
            try:
                if store is None:
                    return {"pending": 0, "entities": entities, "stories": StageCounts(0, 0),
                            "resolution": "current"}
                return {"pending": store.any_pending(), "entities": entities,
                        "stories": store.story_counts(),
                        "resolution": store.resolution_state()}
            except sqlite3.Error:
                return {"pending": entities.pending, "entities": entities,
                        "stories": StageCounts(0, entities.done + entities.pending),
                        "resolution": "stale"}

    def close(self) -> None:
        """Close every searcher (called once no request uses the generation)."""
        with self._pool:
            self._closed = True
            searchers, self._searchers, self._free = self._searchers, [], []
        for searcher in searchers:
            searcher.close()
        if self._owns_store:
            with self.entity_index.lock:
                store = getattr(self.entity_index, "store", None)
                self.entity_index.store = None
            if store is not None:
                store.close()


class _Slot:
    """The live generation of one index directory, and whether a new one is being built."""

    def __init__(self):
        self.gen: Generation | None = None
        self.building = False
        self.built = threading.Condition(_lock)


_lock = threading.Lock()
_slots: dict[str, _Slot] = {}
_retired: list[Generation] = []
# Requests being answered now (reading a generation of any index, or inside the web
# app's request), background readers (exports) aside: what a background reader gives
# way to.
_busy = 0
_idle = threading.Condition()


def _foreground(step: int) -> None:
    global _busy
    with _idle:
        _busy += step
        if _busy == 0:
            _idle.notify_all()


def busy() -> int:
    """How many requests are being answered now (background readers aside)."""
    return _busy


def request_began() -> None:
    """A request is being answered (the web app, for the whole of each request): a
    background reader gives way to it until :func:`request_ended`."""
    _foreground(1)


def request_ended() -> None:
    _foreground(-1)


def wait_idle(timeout: float) -> bool:
    """Wait until no request is being answered, at most ``timeout`` seconds.

    :returns: whether none is
    """
    with _idle:
        return _idle.wait_for(lambda: _busy == 0, timeout)


def _open(slot: _Slot, path: Path) -> Generation:
    """Build a generation outside the lock, then install it (the caller holds no lock)."""
    try:
        fresh = Generation(path, previous=slot.gen)
    except BaseException:
        with _lock:
            slot.building = False
            slot.built.notify_all()
        raise
    with _lock:
        if slot.gen is not None:
            _retired.append(slot.gen)
        slot.gen = fresh
        slot.building = False
        slot.built.notify_all()
        fresh.users += 1
    return fresh


def close_under(folder) -> int:
    """Close the open generations of every index under ``folder`` that no request is
    using, and forget them (a later request opens them again): for indexes that are going
    away, such as a test's temporary ones, whose open files would otherwise stay open
    until the process exits.

    :returns: how many generations were closed
    """
    root = Path(folder).resolve()
    closing = []
    with _lock:
        for key in [k for k in _slots if Path(k).is_relative_to(root)]:
            slot = _slots[key]
            if slot.building or (slot.gen is not None and slot.gen.users):
                continue
            del _slots[key]
            if slot.gen is not None:
                closing.append(slot.gen)
        for old in [g for g in _retired if g.users == 0 and Path(g.path).is_relative_to(root)]:
            _retired.remove(old)
            closing.append(old)
    for gen in closing:
        gen.close()
    return len(closing)


@contextlib.contextmanager
def use(index_dir):
    """The live generation of ``index_dir``, held open for the duration of the block.

    :raises IndexMissingError: when there is no index at ``index_dir``
    """
    with pinned(index_dir) as gen, gen.reading():
        yield gen


@contextlib.contextmanager
def pinned(index_dir):
    """The live generation of ``index_dir``, kept open (not closed when a newer one
    replaces it) for the block, without holding a searcher: a long reader (an export)
    takes one per chunk with :meth:`Generation.reading`.

    :raises IndexMissingError: when there is no index at ``index_dir``
    """
    path = storage.require_current(index_dir)
    key = str(Path(index_dir).resolve())
    gen = None
    with _lock:
        slot = _slots.setdefault(key, _Slot())
        while True:
            current = slot.gen
            fresh = current is not None and current.path == path and not current.stale()
            if fresh or (current is not None and slot.building):
                # Up to date, or another request is building the next one: serve this.
                gen = current
                gen.users += 1
                break
            if not slot.building:
                slot.building = True
                break
            slot.built.wait()  # nothing to serve yet: wait for the first open
    try:
        if gen is None:
            gen = _open(slot, path)
        elif gen.entities_due():
            gen.catch_up()
        yield gen
    finally:
        if gen is not None:
            with _lock:
                gen.users -= 1
                # An old generation is closed once no request uses it any more.
                for old in [g for g in _retired if g.users == 0]:
                    _retired.remove(old)
                    old.close()
