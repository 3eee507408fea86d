"""The enrichment cache: language and entities of article texts already enriched.

NER is the slow part of indexing (MEASURED.md: ≈ 30 articles/s on two cores), and its
result depends only on the cleaned text and the enricher. So it is kept in
``DIR/enrich-cache.sqlite``, outside the generations: a ``--rebuild`` or a changed
file whose articles did not change costs a lookup, not a model run.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

from search.models import Article
from search.models import Entities

FILE_NAME = "enrich-cache.sqlite"


def cache_key(article: Article, version: str) -> str:
    """sha1 of the enricher's version and the cleaned title, caption and body.

    :param article: a cleaned article
    :param version: :attr:`Enricher.version` (a new model or new rules, a new key)
    """
    h = hashlib.sha1(version.encode("utf-8"))
    for part in (article.title, article.caption, article.body):
        h.update(b"\x00")
        h.update((part or "").encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _encode(entities: Entities) -> str:
    """JSON of the facet values and, when there is some, the NER evidence (``lower`` as 0/1)."""
    out: dict = entities.as_dict()
    if entities.evidence:
        out["evidence"] = [[v, label, n, int(lower), *rest]
                           for v, label, n, lower, *rest in entities.evidence]
    return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


def _decode(raw: str) -> Entities:
    ents = json.loads(raw)
    evidence = tuple((row[0], row[1], row[2], bool(row[3]), *row[4:])
                     for row in ents.get("evidence") or ())
    kinds = {k: tuple(ents.get(k) or ()) for k in ("person", "org", "place")}
    return Entities(**kinds, evidence=evidence)


class EnrichCache:
    """A key -> (lang, entities) store in SQLite (WAL, so readers never wait on it).

    The entities come back with their :attr:`~search.models.Entities.evidence`, so
    resolution (stage 3) re-runs over the archive without running NER again.

    :param index_dir: the index directory (the cache file lives at its top)
    """

    def __init__(self, index_dir: str | os.PathLike):
        Path(index_dir).mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(Path(index_dir) / FILE_NAME, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        # A lost write costs one NER call next time, not correctness.
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS enriched("
                        "key TEXT PRIMARY KEY, lang TEXT NOT NULL, entities TEXT NOT NULL)")

    def get(self, key: str) -> tuple[str, Entities] | None:
        row = self.db.execute("SELECT lang, entities FROM enriched WHERE key = ?",
                              (key,)).fetchone()
        if row is None:
            return None
        return row[0], _decode(row[1])

    def get_many(self, keys: list[str]) -> dict[str, tuple[str, Entities]]:
        """``key -> (lang, entities)`` for the keys the cache holds, read in chunks (stage 3
        reads every article's evidence at once)."""
        out: dict[str, tuple[str, Entities]] = {}
        unique = sorted(set(keys))
        for i in range(0, len(unique), 500):
            chunk = unique[i:i + 500]
            sql = ("SELECT key, lang, entities FROM enriched WHERE key IN ("
                   + ",".join("?" * len(chunk)) + ")")
            for key, lang, raw in self.db.execute(sql, chunk):
                out[key] = (lang, _decode(raw))
        return out

    def put_many(self, items: list[tuple[str, str, Entities]]) -> None:
        """Store ``(key, lang, entities)`` triples and commit."""
        self.db.executemany(
            "INSERT OR REPLACE INTO enriched VALUES (?, ?, ?)",
            [(k, lang, _encode(e)) for k, lang, e in items])
        self.db.commit()

    def close(self) -> None:
        self.db.close()
