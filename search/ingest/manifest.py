"""What each generation was built from: input files on disk and the source keys they gave.

One SQLite file per generation (``gen-NNNNNN/manifest.sqlite``), so it always describes
the Whoosh index beside it. An ``index`` run compares each input file's size and
``mtime_ns`` with its row here: a file whose pair did not change is not read again.
The source keys (:func:`~search.models.source_key`) a file produced, and the article
id of each, say what to take out of the index when the file changes or disappears.

The indexer commits Whoosh first and this file second: a crash between the two only
makes the next run read some files again, which rewrites the same documents.

Paths (and the source keys made of them) are stored as their bytes
(:func:`os.fsencode`), not as text: a file name need not be UTF-8 (``b"\\xff.txt"``
is a ``str`` with a lone surrogate in Python, which SQLite text cannot hold). Rows an
older Newsfacet wrote as text are turned into bytes when the manifest opens.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from search.errors import ArticleReadError

FILE_NAME = "manifest.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files(
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    articles INTEGER NOT NULL, errors TEXT NOT NULL DEFAULT '[]');
CREATE TABLE IF NOT EXISTS sources(
    key TEXT PRIMARY KEY, file TEXT NOT NULL, article TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sources_file ON sources(file);
UPDATE files SET path = CAST(path AS BLOB) WHERE typeof(path) = 'text';
UPDATE sources SET key = CAST(key AS BLOB), file = CAST(file AS BLOB)
    WHERE typeof(key) = 'text' OR typeof(file) = 'text';
"""


def _b(path: str) -> bytes:
    """A path or source key as stored: its bytes on disk."""
    return os.fsencode(path)


def _s(stored) -> str:
    """A stored path or source key back as the ``str`` the rest of the code uses."""
    return os.fsdecode(stored) if isinstance(stored, bytes) else stored


@dataclass(frozen=True)
class FileState:
    """A file as the manifest last saw it.

    :param articles: how many records it gave
    :param errors: the record-level problems found when it was read (reported again
        on later runs, so a skipped record is never silently forgotten)
    """

    size: int
    mtime_ns: int
    articles: int
    errors: tuple[ArticleReadError, ...] = ()


def _errors_json(errors) -> str:
    # ASCII escapes: a path that is not UTF-8 holds lone surrogates, which only an
    # escape carries through SQLite text.
    return json.dumps([[e.path, e.reason, e.line, *([True] if e.warning else [])]
                       for e in errors])


def _errors_from(text: str) -> tuple[ArticleReadError, ...]:
    # A warning has a fourth element (manifests written before warnings have three).
    return tuple(ArticleReadError(p, r, line, warning=bool(rest and rest[0]))
                 for p, r, line, *rest in json.loads(text or "[]"))


def under(path: str, roots: list[str]) -> bool:
    """Whether ``path`` is one of ``roots`` or inside one of them (all absolute)."""
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


class Manifest:
    """The manifest of one generation.

    :param generation: the generation's folder (the file is created there when missing)
    """

    def __init__(self, generation: str | os.PathLike):
        self.path = Path(generation) / FILE_NAME
        self.db = sqlite3.connect(self.path)
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def files(self) -> dict[str, FileState]:
        """Every recorded file, by absolute path."""
        rows = self.db.execute("SELECT path, size, mtime_ns, articles, errors FROM files")
        return {_s(p): FileState(s, m, n, _errors_from(e)) for p, s, m, n, e in rows}

    def keys_of(self, path: str) -> dict[str, str]:
        """The source keys a file gave, each with its article id."""
        rows = self.db.execute("SELECT key, article FROM sources WHERE file = ?", (_b(path),))
        return {_s(k): a for k, a in rows.fetchall()}

    def record(self, path: str, size: int, mtime_ns: int, keys: dict[str, str],
               errors=()) -> None:
        """Replace what is known of ``path`` (uncommitted until :meth:`commit`).

        :param keys: source key -> article id, for every record the file gave
        :param errors: record-level :class:`ArticleReadError` of this read

        A file that failed part-way is recorded with ``size = -1``: it is read again
        on every run until it reads cleanly, and its disappearance is still noticed.
        """
        self.forget(path)
        self.db.execute("INSERT INTO files VALUES (?, ?, ?, ?, ?)",
                        (_b(path), size, mtime_ns, len(keys), _errors_json(errors)))
        self.db.executemany("INSERT OR REPLACE INTO sources VALUES (?, ?, ?)",
                            [(_b(k), _b(path), a) for k, a in keys.items()])

    def forget(self, path: str) -> None:
        self.db.execute("DELETE FROM files WHERE path = ?", (_b(path),))
        self.db.execute("DELETE FROM sources WHERE file = ?", (_b(path),))

    def commit(self) -> None:
        self.db.commit()
