"""Build and update the index: files -> articles -> Whoosh documents, then entities.

Indexing runs in stages (DESIGN.md, Derived facts and the stages of indexing):

1. **text** — the main process reads, cleans, detects the language and writes Whoosh
   documents (text, title, outlet, date, language, sources), committing every
   ``COMMIT_SECONDS``: what is committed is searchable while the run goes on;
2. **entities** — NER runs behind, in worker processes at low CPU priority
   (:mod:`search.ingest.workers`) or on a Dask cluster (:mod:`search.ingest.cluster`),
   and its results go to the generation's side store (:mod:`search.sidestore`), never
   into Whoosh documents. The run ends once every entity is in.

An update writes into the live generation and reads only the files that are new or
changed since the generation's manifest saw them (:mod:`search.ingest.manifest`); files
gone from under the given paths take their source keys out of the index. A first build
goes live at its first commit. A rebuild writes a new generation beside the live one and
switches ``current`` only once every article it read is committed, so a crash or Ctrl-C
leaves the old index live (the next run removes the unfinished generation).

Nothing is lost and nothing is done twice across a kill: a file is recorded in the
manifest only once its articles are committed (the next run reads the rest), an
article's entities are put in the enrichment cache (:mod:`search.ingest.enrich.cache`,
by text) before the side store, and the side store says which articles still wait for
them, so the next run finishes the entity stage without running NER again on anything
already done.

Articles are keyed by id (``update_document`` on the unique ``id`` field): two records
with one id are one document listing both sources, within a run and across runs.
"""

from __future__ import annotations

import collections
import contextlib
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
from search.ingest.enrich.cache import reopen_new_languages
from search.ingest.enrich.entities import check_model
from search.ingest.manifest import Manifest
from search.ingest.manifest import under
from search.ingest.readers.limits import Limits
from search.ingest.workers import Batches
from search.ingest.workers import OrderedBatches
from search.ingest.workers import make_enricher
from search.models import Article
from search.models import Entities
from search.models import source_key
from search.schema import ID
from search.schema import SCHEMA_VERSION
from search.schema import SOURCES
from search.schema import to_document
from search.sidestore import DONE
from search.sidestore import NOT_APPLICABLE
from search.sidestore import PENDING
from search.sidestore import SideStore

# Articles per NER batch: large enough to amortise the trip to a worker, small enough
# that the first results come back quickly (MEASURED.md: 16-256 is flat). Also how
# often the text stage looks at the clock for a commit and at finished NER batches.
BATCH_SIZE = 16
# Articles waiting for NER kept in memory; past this the text stage goes on without
# them and the entity stage reads them back from the committed index (their side-store
# rows say which), so memory stays bounded however far NER falls behind.
QUEUED_ARTICLES = 2000
# The side store is committed at most this often while entities come in (readers
# see them then).
SIDE_COMMIT_SECONDS = 1.0
MISSING_PATH = "no such file or folder"


@dataclass(frozen=True)
class Progress:
    """How far a run has got, passed to the ``progress`` callback.

    :param articles: articles written (text stage) in this run
    :param committed: of those, committed: searchable
    :param entities_done: articles whose entities came in during this run
    :param entities_total: articles of the index waiting for entities at some point of
        this run (grows while the text stage finds more)
    :param stage: ``"text"`` while files are read, then ``"entities"``, then
        ``"resolution"`` (stage 3), then ``"stories"`` (stage 4)
    """

    articles: int
    files_done: int
    files_total: int
    committed: int = 0
    entities_done: int = 0
    entities_total: int = 0
    stage: str = "text"


@dataclass(frozen=True)
class Commit:
    """A commit of the text stage, passed to the ``on_commit`` callback.

    :param generation: the generation committed to
    :param committed: articles of this run committed so far
    :param live: whether the generation is live (readers see the commit)
    :param final: whether it is the text stage's last commit
    """

    generation: Path
    committed: int
    live: bool
    final: bool


@dataclass
class IndexReport:
    """What an ``index`` run did.

    :param indexed: articles written from files read in this run
    :param unchanged: articles of files not read again (size and mtime unchanged)
    :param removed: articles deleted because every file that held them is gone
    :param skipped: the files and records that could not be read, with the reason
    :param warnings: the records (or files) indexed all the same with something changed
        in them (bytes replaced, a row cut short, entities not found), each with what
    :param articles_total: documents in the index after the run
    :param enriched: articles NER ran on in this run (not found in the enrichment cache)
    :param entities_from_cache: articles whose entities came from the cache
    :param languages_detected: articles whose language was detected (cache misses)
    :param commits: commits of the text stage
    :param text_seconds: seconds until every article read was committed (searchable)
    :param entities_seconds: seconds until the entity stage ended (every entity in, unless
        some are still pending); 0 when it did not run
    :param entities_pending: articles still waiting for entities when the run ended
    :param missing_paths: given paths that do not exist
    :param enriched_where: where NER ran, in words
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
    entities_from_cache: int = 0
    languages_detected: int = 0
    commits: int = 0
    text_seconds: float = 0.0
    entities_seconds: float = 0.0
    entities_pending: int = 0
    files_read: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    missing_paths: int = 0
    paths_given: int = 0
    generation: str = ""
    seconds: float = 0.0
    enriched_where: str = ""
    cluster_workers: dict[str, int] = field(default_factory=dict)
    resolution: object = None  # search.ingest.resolution.ResolutionReport, when stage 3 ran
    stories: object = None  # search.ingest.stories.StoryStageReport, when stage 4 ran

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
    :param keys: source key -> article id of each record read
    :param errors: the file's own errors and its records'
    :param whole: ``False`` when the file failed as a whole (unreadable, truncated
        archive): it keeps what it gave before, and is not recorded as read
    :param done: whether every record was read (the file is finished)
    :param new: whether the manifest did not know the file before this run (such a file
        is recorded at the first commit after it is finished; a file read again only at
        the end, once its stale keys are dealt with)
    """

    stat: os.stat_result
    keys: dict[str, str] = field(default_factory=dict)
    errors: list[ArticleReadError] = field(default_factory=list)
    whole: bool = True
    done: bool = False
    new: bool = True
    recorded: bool = False


@dataclass(frozen=True)
class NerTask:
    """An article sent to NER: where its result goes and whom to name if it fails."""

    id: str
    cache_key: str
    lang: str
    source: str
    record: int | None


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
                on_commit: Callable[[Commit], None] | None = None,
                entities: bool = True,
                settings: Settings = DEFAULT_SETTINGS) -> IndexReport:
    """Index the files under ``paths`` into ``index_dir``: update the live generation,
    or with ``rebuild`` build a new one and switch to it; then find the entities of every
    article still without them.

    :param paths: files and folders (archives and compressed files are read inside)
    :param index_dir: the index directory (created when missing)
    :param rebuild: read everything again into a new generation
    :param outlet: outlet name for articles whose metadata and URL name none
    :param processes: NER workers (setting ``NER_PROCESSES`` when ``None``)
    :param model: spaCy model for NER (setting ``NER_MODEL`` when ``None``)
    :param cluster: a Dask scheduler address or ``local:N`` to run NER on instead of the
        local pool (setting ``CLUSTER`` when ``None``; empty: the local pool)
    :param progress: called as the run advances; an exception from it aborts the run:
        what was committed stays (a rebuild's new generation is not switched to)
    :param report: called with each :class:`ArticleReadError` as it happens
    :param on_commit: called after each commit of the text stage (in this thread: the
        index is readable at that commit while it runs)
    :param entities: ``False`` stops after the text stage: the articles waiting for
        entities stay pending in the side store, and the next run finds them
    :param settings: ``NER_PROCESSES``, ``NER_MODEL``, ``CLUSTER``, ``CLUSTER_TIMEOUT``,
        ``COMMIT_SECONDS``, ``LOCK_TIMEOUT`` and the input size limits
        (``MAX_RECORD_BYTES``, ``MAX_MEMBER_BYTES``, ``MAX_FILE_BYTES``), built at the edge
    :raises IndexBusyError: when another run holds the write lock past ``LOCK_TIMEOUT``
    :raises ClusterError: when the cluster cannot be reached or is lost (the text
        committed stays; the entities still to find are found by the next run)
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
                   cluster_timeout=settings["CLUSTER_TIMEOUT"], on_commit=on_commit,
                   commit_seconds=settings["COMMIT_SECONDS"], started=started,
                   live_at_start=live is not None, entities=entities)
        run.execute(paths)
        if fresh and not run.committed_any:
            # Nothing written: never replace the live index with an empty one.
            shutil.rmtree(gen, ignore_errors=True)
            gen = live
        if gen is not None:
            result.articles_total = whoosh_index.open_dir(str(gen)).doc_count()
            result.generation = gen.name
    result.seconds = time.perf_counter() - started
    return result


class _Run:
    """One run's state: what to read, what each article's sources are, what was written,
    and the articles on their way to NER."""

    def __init__(self, ix, gen: Path, index_dir: Path, fresh: bool, result: IndexReport,
                 *, outlet, processes, model, progress, report, limits: Limits,
                 cluster: str = "", cluster_timeout: float = 10.0, on_commit=None,
                 commit_seconds: float = 30.0, started: float = 0.0,
                 live_at_start: bool = True, entities: bool = True):
        self.ix, self.gen, self.index_dir, self.fresh = ix, gen, index_dir, fresh
        self.result, self.outlet, self.processes, self.model = result, outlet, processes, model
        self.progress, self.report, self.limits = progress, report, limits
        self.cluster, self.cluster_timeout = cluster, cluster_timeout
        self.on_commit, self.commit_seconds, self.started = on_commit, commit_seconds, started
        self.entities = entities
        # A first build goes live at its first commit; a rebuild once its text is all in.
        self.live = not fresh
        self.switch_early = fresh and not live_at_start
        self.files: dict[str, FileRead] = {}   # what each file read in this run gave
        self.stale: dict[str, StaleKey] = {}   # source keys of files re-read or gone
        self.run_sources: dict[str, list[str]] = {}  # id -> its source keys read in this run
        self.base: dict[str, list[str]] = {}   # id -> stored sources still valid
        self.dropped: dict[str, list[str]] = {}  # id -> stale keys it had before this run
        self.written: set[str] = set()
        self.late: dict = {}                   # id -> article read again after its write
        self.words = vocabulary.Collector()    # unstemmed words of the articles written
        self.files_done = self.files_total = 0
        self.committed = 0                     # articles of this run committed
        self.committed_any = False
        self.last_commit = time.monotonic()
        self.side_rows: list = []              # side-store rows of the open writer's articles
        self.new_cache: list = []              # (key, lang, entities) not yet in the cache
        # The entity stage: articles waiting for NER (in memory up to QUEUED_ARTICLES),
        # the ids queued or sent, whether some wait only in the side store.
        self.ner_queue: collections.deque[tuple[NerTask, Article]] = collections.deque()
        self.ner_ids: set[str] = set()
        # Texts queued or sent -> the ids waiting for them: an article whose text is
        # the same as one on its way (a wire copy, a re-post) is not sent again.
        self.ner_keys: dict[str, list[str]] = {}
        self.spilled = False
        self.entities_done = 0
        self.entities_total = 0
        self.side_committed = time.monotonic()
        self.writer = self.searcher = self.side = self.cache = self.batches = None
        self.procs = 1

    def _error(self, e: ArticleReadError) -> None:
        (self.result.warnings if e.warning else self.result.skipped).append(e)
        if e.reason == MISSING_PATH:
            self.result.missing_paths += 1
        if self.report:
            self.report(e)

    def _tick(self, stage: str = "text") -> None:
        if self.progress:
            self.progress(Progress(len(self.written), self.files_done, self.files_total,
                                   self.committed, self.entities_done, self.entities_total,
                                   stage))

    def execute(self, paths: list[str]) -> None:
        from search.ingest.readers import discover

        manifest = Manifest(self.gen)
        self.side = SideStore(self.gen)
        self.cache = EnrichCache(self.index_dir)
        local = make_enricher(self.model)
        self.version = local.version
        self.batches = self._batches(local)
        try:
            if self.entities:
                check_model(self.model)  # needed here too: it names the cache's version
                if isinstance(self.batches, ClusterBatches):
                    self.batches.reach()
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
                    to_read.append((f, st, str(f) not in known))  # (path, stat, new)
            roots = [str(Path(p).resolve()) for p in paths]
            present = {str(f) for f in files}
            gone = [p for p in known if p not in present and under(p, roots)]
            for p in [str(f) for f, _, _ in to_read if str(f) in known] + gone:
                for key, aid in manifest.keys_of(p).items():
                    self.stale[key] = StaleKey(aid, p)
            self.result.files_removed = len(gone)
            self.files_total = len(to_read)
            if to_read or gone or self.fresh:
                self._text_stage(to_read, gone, manifest)
            self.result.text_seconds = time.perf_counter() - self.started
            if self.live and self.entities:
                self._entity_stage()
                self.result.entities_seconds = time.perf_counter() - self.started
                self._later_stages()
        finally:
            self.result.enriched_where = self.batches.where()
            if isinstance(self.batches, ClusterBatches):
                self.result.cluster_workers = dict(self.batches.workers)
            self.batches.close()
            self.cache.close()
            with contextlib.suppress(Exception):  # never hide the error behind another
                self.result.entities_pending = self.side.counts().pending
            self.side.close()
            manifest.close()

    # -- stages 3 and 4 -----------------------------------------------------------

    def _later_stages(self) -> None:
        """Resolution (stage 3), then copies and stories (stage 4), once every article
        has its entities, each when something it reads changed."""
        from search.ingest import resolution
        from search.ingest import stories

        if self.side.counts().pending:
            return  # entities still to find (a stopped cluster): the next run does these
        if resolution.needed(self.side):
            self._tick("resolution")
            self.result.resolution = resolution.run(self.side, self.cache)
        if stories.needed(self.side):
            self._tick("stories")
            self.result.stories = stories.run(self.ix, self.side)

    # -- the text stage ----------------------------------------------------------

    def _text_stage(self, to_read, gone, manifest: Manifest) -> None:
        self.procs = writing.writer_procs(fresh=self.fresh,
                                          input_bytes=sum(st.st_size for _, st, _ in to_read))
        self.searcher = None if self.fresh else self.ix.searcher()
        self.writer = writing.open_writer(self.ix, self.procs)
        try:
            self._read_all(to_read, manifest)
            restore = self._drop_stale()
            self._commit(manifest, final=True)
        except BaseException:
            if self.writer is not None:
                writing.cancel(self.writer)
            raise
        finally:
            if self.searcher is not None:
                self.searcher.close()
        # Whoosh first, the manifest second: a crash between only means re-reading.
        if self.late or restore:
            self._second_pass(restore)
        if self.fresh and self.committed_any and not self.live:
            storage.switch(self.index_dir, self.gen)  # a rebuild: all its text is in
            self.live = True
        for p in gone:
            manifest.forget(p)
        for path, read in self.files.items():
            self._record(manifest, path, read)
        manifest.commit()

    def _record(self, manifest: Manifest, path: str, read: FileRead) -> None:
        """Put a finished file in the manifest (its articles are committed)."""
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
            read.recorded = True
        except (sqlite3.Error, ValueError, UnicodeError) as e:
            # Whoosh is committed: never raise now. Unrecorded, the file is read
            # again next run (which rewrites the same documents).
            manifest.forget(path)
            self._error(ArticleReadError(path, f"indexed, but could not be recorded in "
                                               f"the manifest ({e}); it will be read again"))

    def _batches(self, local) -> OrderedBatches:
        """The NER backend: the Dask cluster when one is given, else the local pool."""
        if self.cluster:
            return ClusterBatches(self.cluster, self.model, timeout=self.cluster_timeout)
        return Batches(self.processes, self.model, local)

    def _read_all(self, to_read, manifest: Manifest) -> None:
        from search.ingest.enrich.cleanup import clean
        from search.ingest.readers import read_file

        n = 0
        for path, st, new in to_read:
            read = self.files[str(path)] = FileRead(st, new=new)

            def on_error(e, errors=read.errors):
                errors.append(e)
                self._error(e)

            for raw in read_file(path, on_error, self.limits):
                key = source_key(raw.source, raw.record)
                try:
                    article = clean(raw)
                    ckey = cache_key(article, self.version)
                    hit = self.cache.get(ckey)
                except Exception as e:  # noqa: BLE001 - one bad record must not cost the others
                    on_error(ArticleReadError(raw.source, f"could not clean this article "
                                                          f"({type(e).__name__}: {e}); skipped",
                                              raw.record))
                    continue
                read.keys[key] = article.id
                known = self.run_sources.setdefault(article.id, [])
                if key not in known:
                    known.append(key)
                self._write(article, ckey, hit, on_error)
                n += 1
                if n % BATCH_SIZE == 0:
                    self._between_batches(manifest)
            self.result.records_read += len(read.keys)
            self.result.files_read += 1
            # A whole-file failure (unreadable, truncated archive) keeps what the file
            # gave before: it is not recorded as read, and its old keys stay. A warning
            # is about something that was indexed all the same: never a failure.
            read.whole = not any(e.line is None and e.path == str(path) and not e.warning
                                 for e in read.errors)
            read.done = True
            self.files_done += 1
            self._tick()
        self._flush_cache()

    def _write(self, article: Article, ckey: str, hit, on_error) -> None:
        """Write one cleaned article's text; queue it for NER when it needs entities."""
        from search.ingest.enrich.entities import NER_LANGUAGES
        from search.ingest.enrich.language import detect_language
        from search.ingest.enrich.pipeline import apply
        from search.ingest.enrich.pipeline import joined_text

        if hit is not None:
            lang, entities = hit
            state = DONE
            self.result.entities_from_cache += 1
        else:
            try:
                lang = detect_language(joined_text(article))
            except Exception as e:  # noqa: BLE001 - one bad record must not cost the others
                lang = "und"
                on_error(ArticleReadError(article.source, f"could not tell this article's "
                                                          f"language ({type(e).__name__}: "
                                                          f"{e}); indexed as undetermined",
                                          article.record, warning=True))
            self.result.languages_detected += 1
            entities = Entities()
            if lang in NER_LANGUAGES:
                state = PENDING
            else:
                state = NOT_APPLICABLE
                self.new_cache.append((ckey, lang, entities))
        article = apply(article, lang, entities, default_outlet=self.outlet)
        self.words.add(article.title, article.body, article.caption)
        self.side_rows.append((article.id, ckey, state, entities))
        if state == PENDING:
            self._queue_ner(NerTask(article.id, ckey, lang, article.source, article.record),
                            article)
        if article.id in self.written:
            # Whoosh cannot delete a document added by the same writer, so a second
            # record of one article is written after the commit.
            self.late[article.id] = article
            return
        doc = to_document(article.replace(sources=tuple(self._sources(article.id))))
        if self.fresh:
            self.writer.add_document(**doc)  # no earlier copy to delete: faster
        else:
            self.writer.update_document(**doc)
        self.written.add(article.id)
        self.result.indexed = len(self.written)

    def _flush_cache(self) -> None:
        if self.new_cache:
            self.cache.put_many(self.new_cache)
            self.new_cache = []

    def _between_batches(self, manifest: Manifest) -> None:
        """Every BATCH_SIZE articles: take in finished NER batches, send more, commit
        the text when it is time."""
        self._flush_cache()
        self._pump()
        if time.monotonic() - self.last_commit >= self.commit_seconds:
            self._commit(manifest, final=False)
        self._tick()

    def _commit(self, manifest: Manifest, final: bool) -> None:
        """Commit the text written so far (side-store rows first, then Whoosh), record
        the files it finished, and open the next writer unless ``final``."""
        if self.writer is None:
            return
        self.side.add_texts(self.side_rows)
        self.side_rows = []
        self.side.commit()
        # The words before the commit: a reader of the commit always has them.
        vocabulary.save(self.gen, self.words.words())
        self.words = vocabulary.Collector()
        writer, self.writer = self.writer, None
        writer.commit()
        self.committed = len(self.written)
        self.committed_any = self.committed_any or self.committed > 0
        self.result.commits += 1
        self.last_commit = time.monotonic()
        if self.fresh:
            writing.check_complete(self.ix, self.committed)
        if self.switch_early and self.committed_any and not self.live:
            storage.switch(self.index_dir, self.gen)  # a first build: live from now on
            self.live = True
        if not final:
            # Files finished and committed are recorded now, so a killed run reads only
            # the rest again. A file read again (or holding an article read twice) waits
            # for the end, where its stale keys and second records are dealt with.
            for path, read in self.files.items():
                if read.done and read.new and not read.recorded and not any(
                        aid in self.late for aid in read.keys.values()):
                    self._record(manifest, path, read)
            manifest.commit()
        if self.on_commit:
            self.on_commit(Commit(self.gen, self.committed, self.live, final))
        if not final:
            if self.searcher is not None:
                # Stored sources are read at the commit just made (a commit may merge
                # away the segments an older searcher reads).
                self.searcher.close()
                self.searcher = self.ix.searcher()
            self.writer = writing.open_writer(self.ix, self.procs)

    def _sources(self, aid: str) -> list[str]:
        """The article's sources: those still valid from before this run, then this run's."""
        if aid not in self.base:
            searcher = self.searcher
            stored = searcher.document(**{ID: aid}) if searcher is not None else None
            before = list((stored or {}).get(SOURCES) or ())
            self.base[aid] = [s for s in before if s not in self.stale]
            self.dropped[aid] = [s for s in before if s in self.stale]
        base = self.base[aid]
        return base + [k for k in self.run_sources[aid] if k not in base]

    def _drop_stale(self) -> dict[str, list[str]]:
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
        removed = []
        for aid in dict.fromkeys(s.article_id for s in self.stale.values()):
            if aid in self.written:
                back = [k for k in self.dropped.get(aid, ()) if k in kept]
                if back:
                    restore[aid] = back
                continue
            stored = self.searcher.document(**{ID: aid}) if self.searcher is not None else None
            if stored is None:
                continue
            sources = [s for s in stored.get(SOURCES) or () if s not in final]
            if not sources:
                self.writer.delete_by_term(ID, aid)
                removed.append(aid)
                self.result.removed += 1
            elif sources != list(stored.get(SOURCES) or ()):
                self.writer.update_document(**{**stored, SOURCES: sources})
        self.side.remove(removed)
        return restore

    def _second_pass(self, restore: dict[str, list[str]]) -> None:
        """Write the articles read more than once in this run (their last record, with
        every source), and put back keys of files that failed to read this time."""
        with self.ix.searcher() as searcher:
            docs = {aid: searcher.document(**{ID: aid}) for aid in restore if aid not in self.late}
        with writing.open_writer(self.ix) as writer:
            for aid, article in self.late.items():
                sources = self._sources(aid)
                sources += [k for k in restore.get(aid, ()) if k not in sources]
                writer.update_document(**to_document(article.replace(sources=tuple(sources))))
            for aid, doc in docs.items():
                if doc is not None:
                    sources = list(doc.get(SOURCES) or ())
                    writer.update_document(**{**doc, SOURCES: sources + [
                        k for k in restore[aid] if k not in sources]})

    # -- the entity stage --------------------------------------------------------

    def _queue_ner(self, task: NerTask, article: Article) -> None:
        if task.id in self.ner_ids:
            return
        self.entities_total += 1
        if not self.entities:
            return  # --text-only: the row says pending; the next run finds them
        waiting = self.ner_keys.get(task.cache_key)
        if waiting is not None:
            waiting.append(task.id)
            self.ner_ids.add(task.id)
            return
        if self.spilled or len(self.ner_queue) >= QUEUED_ARTICLES:
            # Read back from the index when the queue runs low (its row says pending).
            self.spilled = True
            return
        self.ner_ids.add(task.id)
        self.ner_keys[task.cache_key] = [task.id]
        self.ner_queue.append((task, article))

    def _pump(self) -> None:
        """Send queued articles to NER while the backend has room; take in what came
        back. Never waits: the text stage must not wait for NER."""
        if not self.entities:
            return
        self._send()
        for tasks, results in self.batches.ready():
            self._entities_in(tasks, results)
        self._commit_side()

    def _send(self) -> None:
        while self.ner_queue and len(self.batches.queue) < self.batches.limit:
            batch = [self.ner_queue.popleft()
                     for _ in range(min(BATCH_SIZE, len(self.ner_queue)))]
            self.batches.submit([t for t, _ in batch], [a for _, a in batch])

    def _entities_in(self, tasks: list[NerTask], results: list) -> None:
        """Entities of a finished batch: into the cache first, then the side store."""
        rows, new = [], []
        for task, found in zip(tasks, results):
            ids = self.ner_keys.pop(task.cache_key, None) or [task.id]
            self.ner_ids.difference_update(ids)
            if isinstance(found, BaseException):
                self._error(ArticleReadError(
                    task.source, f"could not find this article's entities "
                                 f"({type(found).__name__}: {found}); indexed without them",
                    task.record, warning=True))
                rows += [(aid, Entities()) for aid in ids]
                continue
            _, entities = found
            new.append((task.cache_key, task.lang, entities))
            rows += [(aid, entities) for aid in ids]
        if new:
            self.cache.put_many(new)
            self.result.enriched += len(new)
        self.side.set_entities(rows)
        self.entities_done += len(rows)

    def _commit_side(self, force: bool = False) -> None:
        if force or time.monotonic() - self.side_committed >= SIDE_COMMIT_SECONDS:
            self.side.commit()
            self.side_committed = time.monotonic()

    def _refill(self, searcher) -> None:
        """Queue articles whose entities are pending in the side store but not in memory
        (a killed run's, or this run's past :data:`QUEUED_ARTICLES`): their text is read
        back from the index; those the enrichment cache already has are done at once."""
        if len(self.ner_queue) >= QUEUED_ARTICLES // 2:
            return
        want = QUEUED_ARTICLES - len(self.ner_queue)
        rows = [(aid, ckey) for aid, ckey in self.side.pending(limit=want + len(self.ner_ids))
                if aid not in self.ner_ids][:want]
        cached, gone = [], []
        for aid, ckey in rows:
            hit = self.cache.get(ckey) if ckey else None
            if hit is not None:
                cached.append((aid, hit[1]))
                continue
            if ckey in self.ner_keys:  # the same text is on its way already
                self.ner_keys[ckey].append(aid)
                self.ner_ids.add(aid)
                self.entities_total += 1
                continue
            stored = searcher.document(**{ID: aid})
            if stored is None:
                gone.append(aid)
                continue
            sources = tuple(stored.get(SOURCES) or ()) or (aid,)
            article = Article(id=aid, source=sources[0], record=None,
                              title=stored.get("title") or "", body=stored.get("body") or "",
                              caption=stored.get("caption") or "",
                              lang=stored.get("lang") or "und", sources=sources)
            if not ckey:
                ckey = cache_key(article, self.version)
            self.entities_total += 1
            self.ner_ids.add(aid)
            self.ner_keys[ckey] = [aid]
            self.ner_queue.append((NerTask(aid, ckey, article.lang, sources[0], None),
                                   article))
        if cached:
            self.side.set_entities(cached)
            self.result.entities_from_cache += len(cached)
            self.entities_done += len(cached)
            self.entities_total += len(cached)
        self.side.remove(gone)
        if len(rows) < want:
            self.spilled = False

    def _entity_stage(self) -> None:
        """Find the entities of every article of the generation still waiting for them:
        this run's queue first, then what only the side store remembers."""
        self.spilled = True  # a killed run's pending articles are only in the side store
        reopen_new_languages(self.side, self.cache)  # "na" articles whose language has NER now
        with self.ix.searcher() as searcher:
            while True:
                if self.spilled:
                    self._refill(searcher)
                self._send()
                if not self.batches.queue:
                    if self.spilled:
                        continue
                    break
                for tasks, results in self.batches.drain():  # the oldest, waited for
                    self._entities_in(tasks, results)
                    break
                for tasks, results in self.batches.ready():
                    self._entities_in(tasks, results)
                self._commit_side()
                self._tick("entities")
        self._commit_side(force=True)
        self._tick("entities")
