"""The side store: what is known of each article after its text was indexed.

Whoosh documents hold what the readers wrote and what is known at once (text, title,
outlet, date, language, sources). Everything computed later, entities first (and,
later, their resolution and the stories), lives here, beside the generation's Whoosh
files, in ``GEN/derived.sqlite``: keyed by article id, so that filling in a fact never
rewrites a Whoosh document, and the query side maps ids to document numbers when it
opens a generation (DESIGN.md, Derived facts and the stages of indexing).

Each article has a row as soon as its text is written: ``state`` says how far its
later stages have got:

* ``pending`` — its entities are still to be found (``ckey`` names its text in the
  enrichment cache, so a resumed run finds work done before a kill);
* ``done`` — its entities are in (possibly none);
* ``na`` — no entity model applies (a language without one): counted as done; put
  back to ``pending`` once its language has a model
  (:func:`~search.ingest.enrich.cache.reopen_new_languages`).

Every change takes the next value of a sequence, kept in the row (``seq``), so a
reader catches up with :meth:`SideStore.changes_since` instead of reading it all again.
Writes come from the one indexing process that holds the write lock; readers (the
server) open it read-only (WAL: they never wait for the writer, nor it for them).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from search.models import Entities

FILE_NAME = "derived.sqlite"
PENDING, DONE, NOT_APPLICABLE = "pending", "done", "na"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS articles("
    " id TEXT PRIMARY KEY,"
    " ckey TEXT NOT NULL DEFAULT '',"
    " state TEXT NOT NULL,"
    " entities TEXT,"  # JSON {"person": [...], "org": [...], "place": [...]}, NULL unless done
    " seq INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS articles_seq ON articles(seq)",
    "CREATE INDEX IF NOT EXISTS articles_state ON articles(state)",
    # Rows deleted since (an article removed from the index), for readers catching up.
    "CREATE TABLE IF NOT EXISTS gone(id TEXT PRIMARY KEY, seq INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    # Stage 4 (copies and stories): the story of each article whose stories stage is
    # done, and the article it is a copy of (NULL: none). An article without a row is
    # pending in that stage (its text was rewritten, or it is new).
    "CREATE TABLE IF NOT EXISTS stories(id TEXT PRIMARY KEY, story TEXT NOT NULL, copy_of TEXT)",
    # A story whose id changed (an earlier article joined it): the old id still answers.
    "CREATE TABLE IF NOT EXISTS story_redirects(old TEXT PRIMARY KEY, new TEXT NOT NULL)",
    # Stage 3: every raw facet value resolution shows under another name ("IMF" ->
    # "International Monetary Fund", an org), so `org:IMF` finds the name shown.
    "CREATE TABLE IF NOT EXISTS aliases(value TEXT PRIMARY KEY, canonical TEXT NOT NULL,"
    " kind TEXT NOT NULL)",
)
# meta key counting writes to the stories tables: readers reload them when it moves
_STORIES_SEQ = "stories_seq"
# meta key set when an article with a story was removed: stage 4 must run again
_STORIES_STALE = "stories_stale"
# meta key set when entities changed since resolution last ran (stage 3)
_RESOLUTION_STALE = "resolution_stale"
# meta key naming the entity languages the "na" rows were last looked at for
_NER_LANGUAGES = "ner_languages"
# meta key: the sequence number at which the aliases were last written (readers reload
# them when it moves)
_ALIASES_SEQ = "aliases_seq"


@dataclass(frozen=True)
class Change:
    """One article's row as a reader sees it.

    :param entities: its entities when ``state`` is ``done``; empty otherwise
    :param state: :data:`PENDING`, :data:`DONE`, :data:`NOT_APPLICABLE`, or ``None`` when
        the article left the store (removed from the index)
    """

    id: str
    state: str | None
    entities: Entities = Entities()


@dataclass(frozen=True)
class StoryRow:
    """One article's place in stage 4.

    :param story: the id of its story (the id of the story's earliest article)
    :param copy_of: the article it is a copy of (its copy group's earliest), or ``None``
    """

    id: str
    story: str
    copy_of: str | None = None


@dataclass(frozen=True)
class StageCounts:
    """How far the entity stage has got over the articles of the store."""

    done: int
    pending: int


def path_of(gen: str | os.PathLike) -> Path:
    """The side store file of generation folder ``gen``."""
    return Path(gen) / FILE_NAME


def _encode(entities: Entities) -> str:
    return json.dumps(entities.as_dict(), ensure_ascii=False, separators=(",", ":"))


def _decode(raw: str | None) -> Entities:
    if not raw:
        return Entities()
    found = json.loads(raw)
    return Entities(**{k: tuple(found.get(k) or ()) for k in ("person", "org", "place")})


class SideStore:
    """The side store of one generation.

    :param gen: the generation's folder
    :param readonly: open for reading only (the server); the file must exist then
    :raises FileNotFoundError: when ``readonly`` and the generation has no side store
    """

    def __init__(self, gen: str | os.PathLike, *, readonly: bool = False):
        path = path_of(gen)
        # the generation's folder (stage 3 reads each article's outlet from its index)
        self.gen = Path(gen)
        self.readonly = readonly
        if readonly:
            if not path.exists():
                raise FileNotFoundError(str(path))
            # A file URI needs an absolute path (the default index, `index`, is relative).
            self.db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30,
                                      check_same_thread=False)
        else:
            self.db = sqlite3.connect(path, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            # A lost write after a crash costs work done again, never a wrong answer:
            # the enrichment cache still has the entities, the state says pending.
            self.db.execute("PRAGMA synchronous=NORMAL")
            for statement in _SCHEMA:
                self.db.execute(statement)
            columns = {r[1] for r in self.db.execute("PRAGMA table_info(articles)")}
            if "resolved" not in columns:
                # Stage 3's entities (resolved across the archive), JSON like `entities`;
                # NULL until resolution has run since the article's entities came in.
                self.db.execute("ALTER TABLE articles ADD COLUMN resolved TEXT")
            self.db.commit()
        self._seq = None

    # -- writing (the indexing process) -------------------------------------------

    def _next(self, n: int) -> int:
        """Reserve ``n`` sequence numbers; the first of them."""
        if self._seq is None:
            row = self.db.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()
            self._seq = row[0] if row else 0
        first = self._seq + 1
        self._seq += n
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('seq', ?)", (self._seq,))
        return first

    def add_texts(self, rows: Iterable[tuple[str, str, str, Entities | None]]) -> None:
        """Record articles whose text was just written: ``(id, cache key, state,
        entities)``, entities given when ``state`` is :data:`DONE`. Not committed.
        An article written again starts over from the state given."""
        rows = list(rows)
        if not rows:
            return
        seq = self._next(len(rows))
        self.db.executemany(
            "INSERT OR REPLACE INTO articles(id, ckey, state, entities, seq) VALUES (?,?,?,?,?)",
            [(aid, ckey, state, _encode(ents) if state == DONE and ents is not None else None,
              seq + i) for i, (aid, ckey, state, ents) in enumerate(rows)])
        self.db.executemany("DELETE FROM gone WHERE id = ?", [(r[0],) for r in rows])
        # Its text may have changed: its copies and story are to be worked out again,
        # and the archive's entity evidence with it.
        self._forget_stories([r[0] for r in rows])
        self._mark(_RESOLUTION_STALE)

    def set_entities(self, rows: Iterable[tuple[str, Entities]]) -> int:
        """Fill in the entities of pending articles: ``(id, entities)``. An id no longer
        in the store (removed meanwhile) is ignored. Not committed.

        :returns: the rows updated
        """
        rows = list(rows)
        if not rows:
            return 0
        seq = self._next(len(rows))
        cur = self.db.executemany(
            "UPDATE articles SET state = ?, entities = ?, resolved = NULL, seq = ? WHERE id = ?",
            [(DONE, _encode(ents), seq + i, aid) for i, (aid, ents) in enumerate(rows)])
        self._mark(_RESOLUTION_STALE)
        return cur.rowcount

    def not_applicable(self) -> list[tuple[str, str]]:
        """``(id, cache key)`` of the articles no entity model applied to when written."""
        return [tuple(r) for r in self.db.execute(
            "SELECT id, ckey FROM articles WHERE state = ?", (NOT_APPLICABLE,))]

    def reopen(self, ids: Iterable[str]) -> int:
        """Put articles marked :data:`NOT_APPLICABLE` back to :data:`PENDING` (their
        language has an entity model now). Not committed.

        :returns: the rows changed
        """
        ids = list(ids)
        if not ids:
            return 0
        seq = self._next(len(ids))
        cur = self.db.executemany(
            "UPDATE articles SET state = ?, entities = NULL, resolved = NULL, seq = ? "
            "WHERE id = ? AND state = ?",
            [(PENDING, seq + i, aid, NOT_APPLICABLE) for i, aid in enumerate(ids)])
        return cur.rowcount

    def languages_checked(self) -> int | None:
        """The mark :meth:`set_languages_checked` last left (``None``: never)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?",
                              (_NER_LANGUAGES,)).fetchone()
        return row[0] if row else None

    def set_languages_checked(self, mark: int) -> None:
        """Remember which set of entity languages the :data:`NOT_APPLICABLE` rows were
        last looked at for (a number naming it). Not committed."""
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (_NER_LANGUAGES, mark))

    def _mark(self, key: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, 1)", (key,))

    def _flag(self, key: str) -> bool:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return bool(row and row[0])

    def set_resolved(self, rows: Iterable[tuple[str, Entities]]) -> int:
        """Record stage 3: each done article's entities as resolved across the archive
        (only rows whose resolved entities changed take a new sequence number, so a
        reader catches up with what moved). Clears the stale mark. Not committed.

        :returns: the rows changed
        """
        current = dict(self.db.execute(
            "SELECT id, COALESCE(resolved, '') FROM articles WHERE state = ?", (DONE,)))
        changed = [(aid, text) for aid, text in ((aid, _encode(e)) for aid, e in rows)
                   if aid in current and current[aid] != text]
        if changed:
            seq = self._next(len(changed))
            self.db.executemany("UPDATE articles SET resolved = ?, seq = ? WHERE id = ?",
                                [(text, seq + i, aid) for i, (aid, text) in enumerate(changed)])
        self.db.execute("DELETE FROM meta WHERE key = ?", (_RESOLUTION_STALE,))
        self._mark("resolution_done")
        return len(changed)

    def set_aliases(self, rows: Iterable[tuple[str, str, str]]) -> bool:
        """Record stage 3's aliases: ``(raw value, canonical value, its kind)`` for every
        value shown under another name, replacing those recorded. When they changed, a
        new sequence number tells readers to reload them. Not committed.

        :returns: whether they changed
        """
        new = sorted(set(rows))
        old = sorted(self.db.execute("SELECT value, canonical, kind FROM aliases"))
        if new == old:
            return False
        self.db.execute("DELETE FROM aliases")
        self.db.executemany("INSERT OR REPLACE INTO aliases VALUES (?, ?, ?)", new)
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                        (_ALIASES_SEQ, self._next(1)))
        return True

    def aliases_sequence(self) -> int:
        """The sequence number at which the aliases were last written (0: never)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (_ALIASES_SEQ,)).fetchone()
        return row[0] if row else 0

    def aliases(self) -> list[tuple[str, str, str]]:
        """``(raw value, canonical value, kind)`` of every value stage 3 renamed (none in
        a side store written before aliases were kept)."""
        try:
            return self.db.execute("SELECT value, canonical, kind FROM aliases").fetchall()
        except sqlite3.OperationalError:
            return []

    def resolution_state(self) -> str:
        """``"current"`` when stage 3 has run since the last entities came in, else
        ``"stale"`` (never run counts as stale once any article has entities)."""
        if self._flag(_RESOLUTION_STALE):
            return "stale"
        if self._flag("resolution_done"):
            return "current"
        done = self.db.execute("SELECT 1 FROM articles WHERE state = ? LIMIT 1",
                               (DONE,)).fetchone()
        return "stale" if done else "current"

    def done_rows(self) -> list[tuple[str, str, Entities]]:
        """``(id, cache key, raw entities)`` of every article whose entity stage is done
        (what stage 3 resolves)."""
        return [(aid, ckey, _decode(raw)) for aid, ckey, raw in self.db.execute(
            "SELECT id, ckey, entities FROM articles WHERE state = ?", (DONE,))]

    def remove(self, ids: Iterable[str]) -> None:
        """Forget articles removed from the index. Not committed."""
        ids = list(ids)
        if not ids:
            return
        seq = self._next(len(ids))
        self.db.executemany("DELETE FROM articles WHERE id = ?", [(i,) for i in ids])
        self.db.executemany("INSERT OR REPLACE INTO gone VALUES (?, ?)",
                            [(aid, seq + i) for i, aid in enumerate(ids)])
        self._forget_stories(ids, removed=True)
        self._mark(_RESOLUTION_STALE)  # the archive's evidence lost these articles

    def _forget_stories(self, ids: list[str], removed: bool = False) -> None:
        cur = self.db.executemany("DELETE FROM stories WHERE id = ?", [(i,) for i in ids])
        if cur.rowcount:
            self._bump_stories()
            if removed:  # the stories it was in are smaller now: stage 4 has work
                self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, 1)", (_STORIES_STALE,))

    def _bump_stories(self) -> None:
        self.db.execute("INSERT INTO meta VALUES (?, 1) ON CONFLICT(key) DO UPDATE "
                        "SET value = value + 1", (_STORIES_SEQ,))

    def set_stories(self, rows: Iterable[StoryRow], redirects: Iterable[tuple[str, str]] = (),
                    *, replace: bool = False) -> None:
        """Record stage 4's results: each article's story and copy, and the story ids
        that changed (``(old, new)``; an old id redirected before to ``old`` is sent on
        to ``new`` too). Rows of ids no longer in the store are left out. Not committed.

        :param replace: the rows are every article's: earlier rows go first
        """
        rows = list(rows)
        if replace:
            self.db.execute("DELETE FROM stories")
            self.db.execute("DELETE FROM meta WHERE key = ?", (_STORIES_STALE,))
        self.db.executemany(
            "INSERT OR REPLACE INTO stories(id, story, copy_of) "
            "SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM articles WHERE id = ?)",
            [(r.id, r.story, r.copy_of, r.id) for r in rows])
        for old, new in redirects:
            if old == new:
                continue
            self.db.execute("UPDATE story_redirects SET new = ? WHERE new = ?", (new, old))
            self.db.execute("INSERT OR REPLACE INTO story_redirects VALUES (?, ?)", (old, new))
            # a story id that is live again (its article is the earliest once more)
            self.db.execute("DELETE FROM story_redirects WHERE old = new")
        self._bump_stories()

    def pending(self, limit: int | None = None) -> list[tuple[str, str]]:
        """``(id, cache key)`` of articles whose entities are still to be found, oldest
        write first."""
        sql = "SELECT id, ckey FROM articles WHERE state = ? ORDER BY seq"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [tuple(r) for r in self.db.execute(sql, (PENDING,))]

    def commit(self) -> None:
        self.db.commit()

    # -- reading (the server, info) -----------------------------------------------

    def counts(self) -> StageCounts:
        """Articles done (not applicable included) and pending in the entity stage."""
        found = dict(self.db.execute("SELECT state, COUNT(*) FROM articles GROUP BY state"))
        pending = found.pop(PENDING, 0)
        return StageCounts(done=sum(found.values()), pending=pending)

    def sequence(self) -> int:
        """The sequence number of the last change committed (0: none yet)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()
        return row[0] if row else 0

    def changes_since(self, seq: int = 0) -> tuple[int, list[Change]]:
        """Every article changed after sequence number ``seq`` (0: all), read in one
        transaction: ``(the sequence reached, changes)``. Pass the sequence reached
        next time to read only what changed since."""
        reached, rows = self.raw_changes_since(seq)
        return reached, [Change(aid, state, _decode(raw) if state == DONE else Entities())
                         for aid, state, raw in rows]

    def raw_changes_since(self, seq: int = 0) -> tuple[int, list[tuple[str, str | None, str | None]]]:
        """:meth:`changes_since` without decoding: ``(the sequence reached, [(id, state,
        entities as stored JSON or None)])``, state ``None`` for a removed article. For a
        reader that decodes many rows at once (the server's first read of 50,000 rows
        spends most of its time in one ``json.loads`` call per row)."""
        with self.db:  # one read transaction: the rows and the sequence agree
            self.db.execute("BEGIN")
            reached = self.sequence()
            try:  # resolved entities (stage 3) where it has run, raw ones otherwise
                rows = self.db.execute(
                    "SELECT id, state, COALESCE(resolved, entities) FROM articles "
                    "WHERE seq > ? AND seq <= ?", (seq, reached)).fetchall()
            except sqlite3.OperationalError:  # a side store from before stage 3
                rows = self.db.execute(
                    "SELECT id, state, entities FROM articles WHERE seq > ? AND seq <= ?",
                    (seq, reached)).fetchall()
            gone = self.db.execute("SELECT id FROM gone WHERE seq > ? AND seq <= ?",
                                   (seq, reached)).fetchall() if seq else []
        return reached, rows + [(aid, None, None) for (aid,) in gone]

    def stories_sequence(self) -> int:
        """How many times the stories tables were written (0: never); a reader holding
        the stories read at this number has them all."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?",
                              (_STORIES_SEQ,)).fetchone()
        return row[0] if row else 0

    def stories(self) -> tuple[int, list[StoryRow], dict[str, str]]:
        """Every article's story row and every redirect, read in one transaction:
        ``(stories sequence, rows, {old id: new id})``. Empty for a side store written
        before stories existed."""
        with self.db:
            self.db.execute("BEGIN")
            try:
                rows = self.db.execute("SELECT id, story, copy_of FROM stories").fetchall()
                redirects = dict(self.db.execute("SELECT old, new FROM story_redirects"))
            except sqlite3.OperationalError:  # no such table: an older side store
                return 0, [], {}
            return self.stories_sequence(), [StoryRow(*r) for r in rows], redirects

    def stories_stale(self) -> bool:
        """Whether an article left a story since stage 4 last wrote every row."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?",
                              (_STORIES_STALE,)).fetchone()
        return bool(row and row[0])

    def all_entities(self) -> dict[str, Entities]:
        """The entities of every article whose entity stage is done (stage 4 reads them
        all at once)."""
        return {aid: _decode(raw) for aid, raw in self.db.execute(
            "SELECT id, COALESCE(resolved, entities) FROM articles WHERE state = ?", (DONE,))}

    def any_pending(self) -> int:
        """Articles with any later stage still to run (entities, or copies and stories)."""
        try:
            return self.db.execute(
                "SELECT COUNT(*) FROM articles a WHERE a.state = ? OR NOT EXISTS "
                "(SELECT 1 FROM stories s WHERE s.id = a.id)", (PENDING,)).fetchone()[0]
        except sqlite3.OperationalError:  # an older side store: no stories table
            return self.counts().pending

    def story_counts(self) -> StageCounts:
        """Articles whose stories stage is done (a row here) and pending (none yet)."""
        total = self.db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
        try:
            done = self.db.execute("SELECT COUNT(*) FROM stories").fetchone()[0]
        except sqlite3.OperationalError:
            done = 0
        return StageCounts(done=done, pending=total - done)

    def close(self) -> None:
        self.db.close()
