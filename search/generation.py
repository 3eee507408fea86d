"""One open index generation per index directory, shared by requests, reopened when stale.

A :class:`Generation` holds what a generation needs to answer queries fast: its Whoosh
searcher, its facet arrays (:class:`~search.facets.FacetTables`), its decoded postings
(:class:`~search.postings.PostingCache`), the NumPy query evaluator over them
(:class:`~search.matching.Evaluator`) and its word lists (:class:`~search.binding.Lexicon`);
the frequent words' postings are decoded by a background thread once it is open.
:func:`use` hands out the live generation of a directory. When ``DIR/current`` points
elsewhere or the generation took a commit, the request that notices builds the new
generation *outside* the lock; requests arriving meanwhile keep being served by the old
one, which is closed once nobody uses it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

from whoosh import index as whoosh_index

from search import binding
from search import facets as facetlib
from search import storage
from search.binding import Lexicon
from search.errors import IndexMissingError
from search.matching import Evaluator
from search.postings import PostingCache
from search.vocabulary import UNSTEMMED

try:  # tuned BM25F from the ranking work; Whoosh's own until it lands
    from search.scoring import weighting
except ImportError:  # pragma: no cover - depends on another module's arrival
    from whoosh.scoring import BM25F

    def weighting():
        return BM25F()

# A generation's commits are looked for at most this often (it lists the folder).
RECHECK_SECONDS = 0.5
# Word lists read when a generation opens (prefix expansion; UNSTEMMED: written words).
PREFIX_FIELDS = ("title", "body", "caption", UNSTEMMED)
# Words decoded in the background when a generation opens: those in PREWARM_SHARE of
# the articles or more (at least PREWARM_MIN_DOCS), up to PREWARM_BYTES of arrays.
PREWARM_FIELDS = ("title", "body")
PREWARM_SHARE = 0.01
PREWARM_MIN_DOCS = 200
PREWARM_BYTES = 256 * 1024 * 1024


class Generation:
    """One open index generation: searcher, facet arrays, postings cache and evaluator.

    :param path: the generation's folder
    :raises IndexMissingError: when there is no Whoosh index in it
    """

    def __init__(self, path: Path):
        self.path = path
        try:
            self.ix = whoosh_index.open_dir(str(path))
        except (whoosh_index.EmptyIndexError, OSError) as e:
            raise IndexMissingError(str(path.parent)) from e
        # Whoosh's readers seek and read shared file objects (concurrent reads through
        # one searcher raised zlib "truncated stream" errors under waitress's threads),
        # so each thread reads through a searcher of its own (:attr:`searcher`), opened
        # on its first use of this generation; the arrays decoded from them (facet
        # tables, postings, scores, word lists) are shared. Requests no longer take
        # turns for their whole duration: a slow one does not stall the others.
        self._local = threading.local()
        self._searchers: list = []
        self._searchers_lock = threading.Lock()
        self._closed = False
        main = self.searcher  # this (the opening) thread's
        self.tables = facetlib.FacetTables(main.reader())
        self.postings = PostingCache(main.reader(), self.tables.live)
        self._scored: dict = {}
        self.lexicon = Lexicon(main.reader(), path)
        for name in PREFIX_FIELDS:  # read now, not by the first prefix query
            self.lexicon.words(name)
        self.users = 0
        self.checked = time.monotonic()
        # Counters for benchmarks: queries evaluated by NumPy / by Whoosh's searcher.
        self.stats = {"numpy": 0, "whoosh": 0}
        self.prewarmed = threading.Event()
        threading.Thread(target=self._prewarm, name="newsfacet-prewarm", daemon=True).start()

    @property
    def searcher(self):
        """This thread's Whoosh searcher of the generation (opened on first use)."""
        got = getattr(self._local, "searcher", None)
        if got is None:
            got = self.ix.searcher(weighting=weighting())
            with self._searchers_lock:
                if self._closed:
                    got.close()
                    raise IndexMissingError(str(self.path.parent))
                self._searchers.append(got)
            self._local.searcher = got
        return got

    @property
    def evaluator(self) -> Evaluator:
        """This thread's query evaluator: its own reader, the generation's shared arrays."""
        got = getattr(self._local, "evaluator", None)
        if got is None:
            searcher = self.searcher
            got = Evaluator(searcher, self.postings.using(searcher.reader()),
                            self.tables.published, scored=self._scored)
            self._local.evaluator = got
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
            searcher = self.ix.searcher(weighting=weighting())
            reader = searcher.reader()
            view = self.postings.using(reader)
            evaluator = Evaluator(searcher, view, self.tables.published, scored=self._scored)
            for name in PREFIX_FIELDS[:3]:  # the text fields' lengths, used by every score
                view.lengths(name)
            floor = max(PREWARM_MIN_DOCS, int(PREWARM_SHARE * reader.doc_count_all()))
            for name in PREWARM_FIELDS:
                if name not in reader.indexed_field_names():
                    continue
                for btext, info in reader.iter_field(name):
                    if self._closed or self.postings.used > PREWARM_BYTES:
                        return
                    if info.doc_frequency() >= floor:
                        evaluator.scored(name, btext)
        except Exception:  # the generation closed under the thread: nothing to warm any more
            return
        finally:
            if searcher is not None:
                searcher.close()
            self.prewarmed.set()

    def bind(self, parsed):
        """``parsed`` (:func:`search.query.parse`) bound to this generation
        (:func:`search.binding.bind`): facet values, prefixes, wildcards, fuzzy terms."""
        return binding.bind(parsed, self.searcher.reader(), self.tables.lower.__getitem__,
                            self.lexicon)

    def stale(self) -> bool:
        """Whether a newer commit or generation exists (checked at most every 0.5 s)."""
        now = time.monotonic()
        if now - self.checked < RECHECK_SECONDS:
            return False
        self.checked = now
        return not self.searcher.up_to_date()  # reads the folder, not the shared files

    def close(self) -> None:
        """Close every thread's searcher (called once no request uses the generation)."""
        with self._searchers_lock:
            self._closed = True
            searchers, self._searchers = self._searchers, []
        for searcher in searchers:
            searcher.close()


class _Slot:
    """The live generation of one index directory, and whether a new one is being built."""

    def __init__(self):
        self.gen: Generation | None = None
        self.building = False
        self.built = threading.Condition(_lock)


_lock = threading.Lock()
_slots: dict[str, _Slot] = {}
_retired: list[Generation] = []


def _open(slot: _Slot, path: Path) -> Generation:
    """Build a generation outside the lock, then install it (the caller holds no lock)."""
    try:
        fresh = Generation(path)
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


@contextlib.contextmanager
def use(index_dir):
    """The live generation of ``index_dir``, held open for the duration of the block.

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
        yield gen
    finally:
        if gen is not None:
            with _lock:
                gen.users -= 1
                # An old generation is closed once no request uses it any more.
                for old in [g for g in _retired if g.users == 0]:
                    _retired.remove(old)
                    old.close()
