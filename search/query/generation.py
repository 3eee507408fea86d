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
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

from whoosh import index as whoosh_index

from search.query import bind
from search.query import facets as facetlib
from search import storage
from search.config import DEFAULTS
from search.query.bind import Lexicon
from search.errors import IndexMissingError
from search.schema import BODY
from search.schema import TEXT_FIELDS
from search.schema import TITLE
from search.query.evaluate import Evaluator
from search.query.scoring import weighting
from search.query.whoosh_postings import PostingCache
from search.vocabulary import UNSTEMMED


# A generation's commits are looked for at most this often (it lists the folder).
RECHECK_SECONDS = 0.5
# Word lists read when a generation opens (prefix expansion; UNSTEMMED: written words).
PREFIX_FIELDS = (*TEXT_FIELDS, UNSTEMMED)
# Words decoded in the background when a generation opens: those in PREWARM_SHARE of
# the articles or more (at least PREWARM_MIN_DOCS), up to PREWARM_BYTES of arrays.
PREWARM_FIELDS = (TITLE, BODY)
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
        self.searcher = self.ix.searcher(weighting=weighting())
        self.tables = facetlib.FacetTables(self.searcher.reader())
        self.postings = PostingCache(self.searcher.reader(), self.tables.live)
        self.evaluator = Evaluator(self.searcher, self.postings, self.tables.published)
        self.lexicon = Lexicon(self.searcher.reader(), path)
        for name in PREFIX_FIELDS:  # read now, not by the first prefix query
            self.lexicon.words(name)
        self.users = 0
        # A Whoosh reader shares its file positions between callers (concurrent reads
        # through one searcher raised zlib "truncated stream" errors under waitress's
        # threads), so requests take turns at it. The work is pure Python and NumPy
        # under the GIL, so taking turns costs little throughput.
        self.reading = threading.Lock()
        self.checked = time.monotonic()
        # Counters for benchmarks: queries evaluated by NumPy / by Whoosh's searcher.
        self.stats = {"numpy": 0, "whoosh": 0}
        self.prewarmed = threading.Event()
        self._closed = False
        threading.Thread(target=self._prewarm, name="newsfacet-prewarm", daemon=True).start()

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
            evaluator = Evaluator(searcher, view, self.tables.published,
                                  scored=self.evaluator._scored)
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

    def bind(self, parsed, max_terms: int = DEFAULTS["MAX_WILDCARD_TERMS"]):
        """``parsed`` (:func:`search.query.parse.parse`) bound to this generation
        (:func:`search.query.bind.bind`): facet values, prefixes, wildcards, fuzzy terms."""
        return bind.bind(parsed, self.searcher.reader(), self.tables.lower.__getitem__,
                         self.lexicon, max_terms)

    def stale(self) -> bool:
        """Whether a newer commit or generation exists (checked at most every 0.5 s)."""
        now = time.monotonic()
        if now - self.checked < RECHECK_SECONDS:
            return False
        self.checked = now
        return not self.searcher.up_to_date()

    def close(self) -> None:
        self._closed = True
        self.searcher.close()


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
        with gen.reading:
            yield gen
    finally:
        if gen is not None:
            with _lock:
                gen.users -= 1
                # An old generation is closed once no request uses it any more.
                for old in [g for g in _retired if g.users == 0]:
                    _retired.remove(old)
                    old.close()
