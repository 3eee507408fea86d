"""Stage 3 of indexing: the entities of every article resolved across the archive.

Runs in the writing process once the entity stage has nothing pending and entities
changed since it last ran (:meth:`SideStore.resolution_state`). It reads every done
article's entities from the side store and their NER evidence (labels, the words before
each mention) from the enrichment cache by each article's cache key — no NER — resolves
them (:func:`search.resolve.resolve`: one type per value, aliases merged, non-entities
dropped) and writes each article's resolved entities beside its raw ones; only those
that changed take a new sequence number, so a server catches up with what moved; and
the raw values shown under another name (the aliases: ``org:IMF`` finds the articles
of "International Monetary Fund"). The facets and ``person:``/``org:``/``place:`` read
the resolved entities; text matches never change (DESIGN.md, Derived facts and the stages of indexing).
Each article's outlet comes from the generation's facet column (a site's boilerplate is
counted per outlet).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

from search.ingest.enrich.cache import EnrichCache
from search.resolve import Evidence
from search.resolve import resolve
from search.schema import FACET_COLUMN
from search.schema import decode_facets
from search.sidestore import SideStore


@dataclass(frozen=True)
class ResolutionReport:
    """Articles resolved, how many of them changed, values merged or dropped, seconds."""

    articles: int
    changed: int
    values: int
    renamed: int
    dropped: int
    seconds: float


def needed(side: SideStore) -> bool:
    """Whether stage 3 has work: entities changed since it last ran."""
    return side.resolution_state() == "stale"


def outlets(gen) -> dict[str, str]:
    """Article id -> outlet, for every document of the Whoosh index in folder ``gen``,
    read from its facet column (no stored fields); ``{}`` when there is no index there."""
    from whoosh import index as whoosh_index
    from whoosh.index import EmptyIndexError

    try:
        ix = whoosh_index.open_dir(str(gen))
    except (EmptyIndexError, OSError):
        return {}
    out: dict[str, str] = {}
    with ix.reader() as reader:
        for leaf in reader.leaf_readers():
            leaf = leaf[0] if isinstance(leaf, tuple) else leaf
            if not leaf.has_column(FACET_COLUMN):
                continue
            for raw in leaf.column_reader(FACET_COLUMN):
                if raw:
                    aid, parts = decode_facets(raw)
                    if parts and parts[0]:
                        out[aid] = parts[0][0]
    return out


def run(side: SideStore, cache: EnrichCache) -> ResolutionReport:
    """Resolve every done article's entities and write them to ``side`` (committed)."""
    started = time.perf_counter()
    rows = side.done_rows()
    hits = cache.get_many([ckey for _, ckey, _ in rows if ckey])
    outlet_of = outlets(side.gen)
    evidence = Evidence()
    for aid, ckey, entities in rows:
        hit = hits.get(ckey) if ckey else None
        if hit is not None and hit[1].evidence:
            entities = dataclasses.replace(entities, evidence=hit[1].evidence)
        # the article's language (the cache's), for resolution's rules of form
        evidence.add(aid, entities, hit[0] if hit is not None else None, outlet_of.get(aid))
    resolution = resolve(evidence)
    changed = side.set_resolved((aid, resolution.apply(e))
                                for aid, e in evidence.articles.items())
    table = resolution.rows()
    # the names shown instead of others, so a query on the other name finds them
    side.set_aliases((r.value, r.canonical, r.kind) for r in table
                     if r.canonical is not None and r.canonical != r.value)
    side.commit()
    return ResolutionReport(
        articles=len(rows), changed=changed, values=len(table),
        renamed=sum(1 for r in table if r.canonical is not None and r.canonical != r.value),
        dropped=sum(1 for r in table if r.canonical is None),
        seconds=time.perf_counter() - started)
