"""The enrichment cache: language and entities of article texts already enriched.

NER is the slow part of indexing (MEASURED.md: ≈ 30 articles/s on two cores), and its
result depends only on the cleaned text and the enricher. So it is kept in
``DIR/enrich-cache.sqlite``, outside the generations: a ``--rebuild`` or a changed
file whose articles did not change costs a lookup, not a model run.

The key names the text and the enricher's version, which names the English model and
rules (and language detection); it is computed before the language is known, so a cache
hit costs no language detection. Each other language's NER (model and rules) is named
by its :func:`~search.ingest.enrich.entities.ner_stamp`, stored in the row: a row whose
stamp is not its language's current one is not returned, and the article goes through
NER again, once. So giving French a model re-enriches the French articles cached before
(stamp ``""``), and leaves every English row valid.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import zlib
from pathlib import Path

from search.ingest.enrich.entities import NER_LANGUAGES
from search.ingest.enrich.entities import ner_stamp
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


def _encode(lang: str, entities: Entities) -> str:
    """JSON of the facet values and, when there is some, the NER evidence (``lower`` as
    0/1), and the stamp of ``lang``'s NER when it has one beyond the key (``"ner"``)."""
    out: dict = entities.as_dict()
    if entities.evidence:
        out["evidence"] = [[v, label, n, int(lower), *rest]
                           for v, label, n, lower, *rest in entities.evidence]
    stamp = ner_stamp(lang)
    if stamp:
        out["ner"] = stamp
    return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


def _decode(lang: str, raw: str) -> Entities | None:
    """The entities of a row, or ``None`` when ``lang``'s NER changed since it was written."""
    ents = json.loads(raw)
    if ents.get("ner", "") != ner_stamp(lang):
        return None
    # the lists of a row (its line keys and people in apposition) as the tuples written
    evidence = tuple((row[0], row[1], row[2], bool(row[3]),
                      *(tuple(c) if isinstance(c, list) else c for c in row[4:]))
                     for row in ents.get("evidence") or ())
    kinds = {k: tuple(ents.get(k) or ()) for k in ("person", "org", "place")}
    return Entities(**kinds, evidence=evidence)


class EnrichCache:
    """A key -> (lang, entities) store in SQLite (WAL, so readers never wait on it).

    The entities come back with their :attr:`~search.models.Entities.evidence`, so
    resolution (stage 3) re-runs over the archive without running NER again. A row
    whose language's NER changed since it was written (see the module's docstring) is
    not returned: the caller finds its entities again and puts them back.

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
        entities = _decode(row[0], row[1])
        return None if entities is None else (row[0], entities)

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
                entities = _decode(lang, raw)
                if entities is not None:
                    out[key] = (lang, entities)
        return out

    def languages(self, keys: list[str]) -> dict[str, str]:
        """``key -> lang`` for the keys the cache holds, stale rows included."""
        out: dict[str, str] = {}
        unique = sorted(set(keys))
        for i in range(0, len(unique), 500):
            chunk = unique[i:i + 500]
            sql = ("SELECT key, lang FROM enriched WHERE key IN ("
                   + ",".join("?" * len(chunk)) + ")")
            out.update(self.db.execute(sql, chunk))
        return out

    def put_many(self, items: list[tuple[str, str, Entities]]) -> None:
        """Store ``(key, lang, entities)`` triples and commit."""
        self.db.executemany(
            "INSERT OR REPLACE INTO enriched VALUES (?, ?, ?)",
            [(k, lang, _encode(lang, e)) for k, lang, e in items])
        self.db.commit()

    def close(self) -> None:
        self.db.close()


def reopen_new_languages(side, cache: EnrichCache) -> int:
    """Put back to pending the articles of ``side`` (a
    :class:`~search.sidestore.SideStore`) marked "no entity model applies" whose language
    has a model now (French articles indexed before French had one): the entity stage
    then finds their entities, once. Looked at once per set of NER languages (the side
    store remembers which it last looked for), so it costs nothing on later runs.

    :returns: the articles put back to pending (not committed)
    """
    signature = zlib.crc32(",".join(sorted(NER_LANGUAGES)).encode("ascii"))
    if side.languages_checked() == signature:
        return 0
    rows = side.not_applicable()
    langs = cache.languages([ckey for _, ckey in rows if ckey])
    ids = [aid for aid, ckey in rows if langs.get(ckey) in NER_LANGUAGES]
    side.reopen(ids)
    side.set_languages_checked(signature)
    return len(ids)
