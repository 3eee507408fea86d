"""Build and update the index: files -> articles -> enrichment -> Whoosh documents.

An update writes into the live generation and reads only the files that are new or
changed since the generation's manifest saw them (:mod:`search.ingest.manifest`); files gone
from under the given paths take their source keys out of the index. A rebuild writes a
new generation beside the live one and switches ``current`` only once it is committed,
so a crash or Ctrl-C leaves the old index live. Either way the main process reads,
cleans, looks up the enrichment cache (:mod:`search.ingest.enrich.cache`) and writes Whoosh,
while uncached articles are enriched by worker processes (:mod:`search.ingest.workers`)
or, with ``cluster``, on a Dask cluster (:mod:`search.ingest.cluster`).

Articles are keyed by id (``update_document`` on the unique ``id`` field): two records
with one id are one document listing both sources, within a run and across runs.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from search import storage
from search import vocabulary
from search.config import DEFAULT_SETTINGS
from search.config import Settings
from search.errors import ArticleReadError
from search.errors import IndexMissingError
from search.errors import IndexVersionError
from search.ingest import writing
from search.ingest.cluster import ClusterBatches
from search.ingest.cluster import ClusterSpec
from search.ingest.enrich.cache import EnrichCache
from search.ingest.enrich.cache import cache_key
from search.ingest.manifest import Manifest
from search.ingest.manifest import under
from search.ingest.readers.limits import Limits
from search.ingest.workers import Batches
from search.ingest.workers import OrderedBatches
from search.ingest.workers import make_enricher
from search.models import Article
from search.models import source_key
from search.schema import ID
from search.schema import SCHEMA_VERSION
from search.schema import SOURCES
from search.schema import to_document

# Articles per enrichment batch: large enough to amortise the trip to a worker,
# small enough that the first results come back quickly (MEASURED.md: 16-256 is flat).
BATCH_SIZE = 16
MISSING_PATH = "no such file or folder"


@dataclass(frozen=True)
class Progress:
    """How far a run has got, passed to the ``progress`` callback."""

    articles: int
    files_done: int
    files_total: int


@dataclass
class IndexReport:
    """What an ``index`` run did.

    :param indexed: articles written from files read in this run
    :param unchanged: articles of files not read again (size and mtime unchanged)
    :param removed: articles deleted because every file that held them is gone
    :param skipped: the files and records that could not be read, with the reason
    :param warnings: the records (or files) indexed all the same with something changed
        in them (bytes replaced, a row cut short), each with what
    :param articles_total: documents in the index after the run
    :param enriched: articles that went through language detection and NER (cache misses)
    :param missing_paths: given paths that do not exist
    :param enriched_where: where the cache misses were enriched, in words
    :param cluster_workers: with a cluster, the articles each Dask worker enriched (by
        the worker's address, as the worker gave it)
    """

    indexed: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: list[ArticleReadError] = field(default_factory=list)
    warnings: list[ArticleReadError] = field(default_factory=list)
    articles_total: int = 0
    records_read: int = 0
    enriched: int = 0
    files_read: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    missing_paths: int = 0
    paths_given: int = 0
    generation: str = ""
    seconds: float = 0.0
    enriched_where: str = ""
    cluster_workers: dict[str, int] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        """False when the run found nothing at all: no article read or kept, and either the
        index is empty or every given path is missing (CLI exit 1)."""
        if self.indexed or self.unchanged:
            return True
        return self.articles_total > 0 and self.missing_paths < self.paths_given


@dataclass
class FileRead:
    """What reading one file gave this run.

    :param stat: the file's ``os.stat`` when it was listed (recorded in the manifest)
    :param keys: source key -> article id of each record read (a record whose enrichment
        fails later is taken out again)
    :param errors: the file's own errors and its records'
    :param whole: ``False`` when the file failed as a whole (unreadable, truncated
        archive): it keeps what it gave before, and is not recorded as read
    """

    stat: os.stat_result
    keys: dict[str, str] = field(default_factory=dict)
    errors: list[ArticleReadError] = field(default_factory=list)
    whole: bool = True


@dataclass
class Pending:
    """An article read and cleaned, on its way through enrichment to the writer.

    :param cached: its ``(lang, entities)`` from the enrichment cache, ``None`` to enrich
    """

    article: Article
    cache_key: str
    cached: tuple | None
    key: str
    path: str


@dataclass(frozen=True)
class StaleKey:
    """A source key of a file read again or gone: the article it held and its file."""

    article_id: str
    path: str


def build_index(paths: Iterable[str | os.PathLike], index_dir: str | os.PathLike,
                **kw) -> IndexReport:
    """:func:`index_paths` with ``rebuild=True``: a new generation made of ``paths`` only."""
    return index_paths(paths, index_dir, rebuild=True, **kw)


def index_paths(paths: Iterable[str | os.PathLike], index_dir: str | os.PathLike, *,
                rebuild: bool = False, outlet: str | None = None,
                processes: int | None = None, model: str | None = None,
                cluster: str | None = None,
                progress: Callable[[Progress], None] | None = None,
                report: Callable[[ArticleReadError], None] | None = None,
                settings: Settings = DEFAULT_SETTINGS) -> IndexReport:
    """Index the files under ``paths`` into ``index_dir``: update the live generation,
    or with ``rebuild`` build a new one and switch to it.

    :param paths: files and folders (archives and compressed files are read inside)
    :param index_dir: the index directory (created when missing)
    :param rebuild: read everything again into a new generation
    :param outlet: outlet name for articles whose metadata and URL name none
    :param processes: enrichment workers (setting ``NER_PROCESSES`` when ``None``)
    :param model: spaCy model for NER (setting ``NER_MODEL`` when ``None``)
    :param cluster: a Dask scheduler address or ``local:N`` to enrich on instead of the
        local pool (setting ``CLUSTER`` when ``None``; empty: the local pool)
    :param progress: called as the run advances; an exception from it aborts the run
        and leaves the index as it was
    :param report: called with each :class:`ArticleReadError` as it happens
    :param settings: ``NER_PROCESSES``, ``NER_MODEL``, ``CLUSTER``, ``CLUSTER_TIMEOUT``,
        ``LOCK_TIMEOUT`` and the input size
        limits (``MAX_RECORD_BYTES``, ``MAX_MEMBER_BYTES``, ``MAX_FILE_BYTES``), built at the edge
    :raises IndexBusyError: when another run holds the write lock past ``LOCK_TIMEOUT``
    :raises ClusterError: when the cluster cannot be reached or is lost (nothing committed)
    :raises ConfigError: when ``cluster`` is neither an address nor ``local:N``
    """
    from whoosh import index as whoosh_index
    from whoosh.index import EmptyIndexError

    started = time.perf_counter()
    cluster = settings["CLUSTER"] if cluster is None else cluster
    if cluster:
        ClusterSpec.parse(cluster)  # a malformed value fails before the lock is taken
    paths = [str(p) for p in paths]
    result = IndexReport(paths_given=len(paths))
    with storage.write_lock(index_dir, timeout=settings["LOCK_TIMEOUT"]):
        # What a killed run left (its unfinished generation, a half-made switch): gone
        # before this run adds anything. The enrichment cache keeps its NER work.
        storage.remove_leftovers(index_dir)
        live = storage.current(index_dir)
        fresh = rebuild or live is None
        if fresh:
            gen, ix = writing.create_generation(index_dir)
        else:
            gen = live
            found = storage.schema_version(gen)
            if found != SCHEMA_VERSION:
                raise IndexVersionError(str(index_dir), found, SCHEMA_VERSION)
            try:
                ix = whoosh_index.open_dir(str(gen))
            except EmptyIndexError as e:
                raise IndexMissingError(str(index_dir)) from e
        run = _Run(ix, gen, Path(index_dir), fresh, result, outlet=outlet,
                   processes=settings["NER_PROCESSES"] if processes is None else processes,
                   model=model or settings["NER_MODEL"], progress=progress, report=report,
                   limits=Limits.from_settings(settings), cluster=cluster,
                   cluster_timeout=settings["CLUSTER_TIMEOUT"])
        run.execute(paths)
        if fresh and result.records_read == 0:
            # Nothing read: never replace the live index with an empty one.
            shutil.rmtree(gen, ignore_errors=True)
            gen = live
        elif fresh:
            storage.switch(index_dir, gen)
        if gen is not None:
            result.articles_total = whoosh_index.open_dir(str(gen)).doc_count()
            result.generation = gen.name
    result.seconds = time.perf_counter() - started
    return result


class _Run:
    """One run's state: what to read, what each article's sources are, what was written."""

    def __init__(self, ix, gen: Path, index_dir: Path, fresh: bool, result: IndexReport,
                 *, outlet, processes, model, progress, report, limits: Limits,
                 cluster: str = "", cluster_timeout: float = 10.0):
        self.ix, self.gen, self.index_dir, self.fresh = ix, gen, index_dir, fresh
        self.result, self.outlet, self.processes, self.model = result, outlet, processes, model
        self.progress, self.report, self.limits = progress, report, limits
        self.cluster, self.cluster_timeout = cluster, cluster_timeout
        self.files: dict[str, FileRead] = {}   # what each file read in this run gave
        self.stale: dict[str, StaleKey] = {}   # source keys of files re-read or gone
        self.run_sources: dict[str, list[str]] = {}  # id -> its source keys read in this run
        self.base: dict[str, list[str]] = {}   # id -> stored sources still valid
        self.dropped: dict[str, list[str]] = {}  # id -> stale keys it had before this run
        self.written: set[str] = set()
        self.late: dict = {}                   # id -> article read again after its write
        self.words = vocabulary.Collector()    # unstemmed words of the articles written
        self.files_done = self.files_total = 0

    def _error(self, e: ArticleReadError) -> None:
        (self.result.warnings if e.warning else self.result.skipped).append(e)
        if e.reason == MISSING_PATH:
            self.result.missing_paths += 1
        if self.report:
            self.report(e)

    def _tick(self) -> None:
        if self.progress:
            self.progress(Progress(len(self.written), self.files_done, self.files_total))

    def execute(self, paths: list[str]) -> None:
        from search.ingest.readers import discover

        manifest = Manifest(self.gen)
        try:
            files = list(discover(paths, self._error))
            known = {} if self.fresh else manifest.files()
            to_read = []
            for f in files:
                try:
                    st = f.stat()
                except OSError as e:
                    self._error(ArticleReadError(str(f), f"cannot read file ({e.strerror})"))
                    continue
                state = known.get(str(f))
                if state and (state.size, state.mtime_ns) == (st.st_size, st.st_mtime_ns):
                    self.result.unchanged += state.articles
                    self.result.files_unchanged += 1
                    for e in state.errors:
                        (self.result.warnings if e.warning else self.result.skipped).append(e)
                else:
                    to_read.append((f, st))  # (path, stat)
            roots = [str(Path(p).resolve()) for p in paths]
            present = {str(f) for f in files}
            gone = [p for p in known if p not in present and under(p, roots)]
            for p in [str(f) for f, _ in to_read if str(f) in known] + gone:
                for key, aid in manifest.keys_of(p).items():
                    self.stale[key] = StaleKey(aid, p)
            self.result.files_removed = len(gone)
            self.files_total = len(to_read)
            if to_read or gone or self.fresh:
                self._write(to_read, gone, manifest)
        finally:
            manifest.close()

    def _write(self, to_read, gone, manifest: Manifest) -> None:
        searcher = None if self.fresh else self.ix.searcher()
        writer = writing.open_writer(self.ix, writing.writer_procs(
            fresh=self.fresh, input_bytes=sum(st.st_size for _, st in to_read)))
        cache = EnrichCache(self.index_dir)
        local = make_enricher(self.model)
        batches = self._batches(local)
        try:
            self._read_all(to_read, writer, cache, local.version, batches, searcher)
            restore = self._drop_stale(writer, searcher)
            # The words before the commit: a reader of the commit always has them.
            vocabulary.save(self.gen, self.words.words())
            writer.commit()
        except BaseException:
            writing.cancel(writer)
            raise
        finally:
            self.result.enriched_where = batches.where()
            if isinstance(batches, ClusterBatches):
                self.result.cluster_workers = dict(batches.workers)
            batches.close()
            cache.close()
            if searcher is not None:
                searcher.close()
        if self.fresh:
            writing.check_complete(self.ix, len(self.written))
        # Whoosh first, the manifest second: a crash between only means re-reading.
        if self.late or restore:
            self._second_pass(restore)
        for p in gone:
            manifest.forget(p)
        for path, read in self.files.items():
            record_errors = [e for e in read.errors
                             if e.path != path or e.line is not None or e.warning]
            try:
                if read.whole:
                    manifest.record(path, read.stat.st_size, read.stat.st_mtime_ns, read.keys,
                                    record_errors)
                else:
                    old = {k: s.article_id for k, s in self.stale.items() if s.path == path}
                    if read.keys or old:
                        manifest.record(path, -1, -1, {**old, **read.keys})
            except (sqlite3.Error, ValueError, UnicodeError) as e:
                # Whoosh is committed: never raise now. Unrecorded, the file is read
                # again next run (which rewrites the same documents).
                manifest.forget(path)
                self._error(ArticleReadError(path, f"indexed, but could not be recorded in "
                                                   f"the manifest ({e}); it will be read again"))
        manifest.commit()

    def _batches(self, local) -> OrderedBatches:
        """The enrichment backend: the Dask cluster when one is given, else the local pool."""
        if self.cluster:
            return ClusterBatches(self.cluster, self.model, timeout=self.cluster_timeout)
        return Batches(self.processes, self.model, local)

    def _read_all(self, to_read, writer, cache, version, batches, searcher) -> None:
        from search.ingest.enrich.cleanup import clean
        from search.ingest.readers import read_file

        pending: list[Pending] = []
        for path, st in to_read:
            read = self.files[str(path)] = FileRead(st)

            def on_error(e, errors=read.errors):
                errors.append(e)
                self._error(e)

            for raw in read_file(path, on_error, self.limits):
                key = source_key(raw.source, raw.record)
                try:
                    article = clean(raw)
                    ckey = cache_key(article, version)
                    hit = cache.get(ckey)
                except Exception as e:  # noqa: BLE001 - one bad record must not cost the others
                    on_error(ArticleReadError(raw.source, f"could not clean this article "
                                                          f"({type(e).__name__}: {e}); skipped",
                                              raw.record))
                    continue
                read.keys[key] = article.id
                known = self.run_sources.setdefault(article.id, [])
                if key not in known:
                    known.append(key)
                pending.append(Pending(article, ckey, hit, key, str(path)))
                if len(pending) >= BATCH_SIZE:
                    self._submit(batches, pending)
                    pending = []
                    self._flush(batches.ready(), writer, cache, searcher)
            self.result.records_read += len(read.keys)
            self.result.files_read += 1
            # A whole-file failure (unreadable, truncated archive) keeps what the file
            # gave before: it is not recorded as read, and its old keys stay. A warning
            # is about something that was indexed all the same: never a failure.
            read.whole = not any(e.line is None and e.path == str(path) and not e.warning
                                 for e in read.errors)
            self.files_done += 1
            self._tick()
        if pending:
            self._submit(batches, pending)
        self._flush(batches.drain(), writer, cache, searcher)

    @staticmethod
    def _submit(batches: OrderedBatches, items: list[Pending]) -> None:
        batches.submit(items, [p.article for p in items if p.cached is None])

    def _flush(self, finished, writer, cache, searcher) -> None:
        from search.ingest.enrich.pipeline import apply

        for items, results in finished:
            fresh_results = iter(results)
            new_cache = []
            for p in items:
                found = p.cached
                if found is None:
                    found = next(fresh_results)
                    if isinstance(found, BaseException):
                        self._drop_failed(p, found)
                        continue
                    new_cache.append((p.cache_key, *found))
                lang, entities = found
                article = apply(p.article, lang, entities, default_outlet=self.outlet)
                self.words.add(article.title, article.body, article.caption)
                if article.id in self.written:
                    # Whoosh cannot delete a document added by the same writer, so a
                    # second record of one article is written after the commit.
                    self.late[article.id] = article
                    continue
                doc = to_document(article.replace(sources=tuple(self._sources(article.id,
                                                                             searcher))))
                if self.fresh:
                    writer.add_document(**doc)  # no earlier copy to delete: faster
                else:
                    writer.update_document(**doc)
                self.written.add(article.id)
            if new_cache:
                cache.put_many(new_cache)
                self.result.enriched += len(new_cache)
            self.result.indexed = len(self.written)
            self._tick()

    def _drop_failed(self, p: Pending, error: BaseException) -> None:
        """Skip one article whose enrichment failed: out of its file's keys (so the
        manifest does not claim it), reported with its file and record."""
        read = self.files[p.path]
        read.keys.pop(p.key, None)
        sources = self.run_sources.get(p.article.id, [])
        if p.key in sources:
            sources.remove(p.key)
        e = ArticleReadError(p.article.source, f"could not enrich this article "
                                               f"({type(error).__name__}: {error}); skipped",
                             p.article.record)
        read.errors.append(e)
        self._error(e)

    def _sources(self, aid: str, searcher) -> list[str]:
        """The article's sources: those still valid from before this run, then this run's."""
        if aid not in self.base:
            stored = searcher.document(**{ID: aid}) if searcher is not None else None
            before = list((stored or {}).get(SOURCES) or ())
            self.base[aid] = [s for s in before if s not in self.stale]
            self.dropped[aid] = [s for s in before if s in self.stale]
        base = self.base[aid]
        return base + [k for k in self.run_sources[aid] if k not in base]

    def _drop_stale(self, writer, searcher) -> dict[str, list[str]]:
        """Take the keys of changed and gone files out of the articles not rewritten in
        this run (deleting those left with none); return the keys to put back into
        rewritten articles because their file failed to read this time."""
        # A key read again still holds its article only if it gives the same article:
        # when a record is taken out of the middle of a file, the keys after it move.
        produced = {(k, aid) for read in self.files.values() for k, aid in read.keys.items()}
        moved = {k for k, s in self.stale.items() if (k, s.article_id) not in produced}
        read_again = {k for k, _ in produced}
        failed = {p for p, read in self.files.items() if not read.whole}
        kept = {k for k in moved if k not in read_again and self.stale[k].path in failed}
        restore: dict[str, list[str]] = {}
        final = moved - kept
        for aid in dict.fromkeys(s.article_id for s in self.stale.values()):
            if aid in self.written:
                back = [k for k in self.dropped.get(aid, ()) if k in kept]
                if back:
                    restore[aid] = back
                continue
            stored = searcher.document(**{ID: aid}) if searcher is not None else None
            if stored is None:
                continue
            sources = [s for s in stored.get(SOURCES) or () if s not in final]
            if not sources:
                writer.delete_by_term(ID, aid)
                self.result.removed += 1
            elif sources != list(stored.get(SOURCES) or ()):
                writer.update_document(**{**stored, SOURCES: sources})
        return restore

    def _second_pass(self, restore: dict[str, list[str]]) -> None:
        """Write the articles read more than once in this run (their last record, with
        every source), and put back keys of files that failed to read this time."""
        with self.ix.searcher() as searcher:
            docs = {aid: searcher.document(**{ID: aid}) for aid in restore if aid not in self.late}
        with writing.open_writer(self.ix) as writer:
            for aid, article in self.late.items():
                sources = self._sources(aid, None)
                sources += [k for k in restore.get(aid, ()) if k not in sources]
                writer.update_document(**to_document(article.replace(sources=tuple(sources))))
            for aid, doc in docs.items():
                if doc is not None:
                    sources = list(doc.get(SOURCES) or ())
                    writer.update_document(**{**doc, SOURCES: sources + [
                        k for k in restore[aid] if k not in sources]})
