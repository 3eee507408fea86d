"""Stage 4 of indexing: the copies and stories of every live article, into the side store.

Runs once the entity stage has nothing pending (stories weigh entities), in the one
writing process, over the generation's committed text (read back from Whoosh's stored
fields) and entities (from the side store). It clusters the whole archive from
scratch (:func:`search.stories.cluster.cluster` and :class:`~search.stories.copies.CopyIndex`),
so the result is a function of the archive whatever order files came in, and writes
every article's row at once (DESIGN.md, Stories across outlets). A story id that
stopped being one is redirected to the story now holding most of its old articles.

It runs only when something changed since the last time: an article without a row
(new, or its text written again), or an article removed (:meth:`SideStore.stories_stale`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from search.schema import BODY
from search.schema import ID
from search.schema import TITLE
from search.schema import stored_published
from search.sidestore import SideStore
from search.sidestore import StoryRow
from search.stories.cluster import StoryArticle
from search.stories.cluster import cluster
from search.stories.copies import CopyIndex
from search.stories.copies import copy_text
from search.stories.copies import signature


@dataclass(frozen=True)
class StoryStageReport:
    """What stage 4 found: articles, stories (all, and of two or more articles), the
    articles in copy groups, redirects made, and its seconds."""

    articles: int
    stories: int
    multi: int
    copies: int
    redirects: int
    seconds: float


def needed(side: SideStore) -> bool:
    """Whether stage 4 has work: an article without a story, or one removed since."""
    return side.story_counts().pending > 0 or side.stories_stale()


def run(ix, side: SideStore, tick: Callable[[int, int], None] | None = None) -> StoryStageReport:
    """Cluster every live article of ``ix`` and write the rows to ``side`` (committed).

    :param ix: the generation's Whoosh index (its last commit is read)
    :param tick: called with (articles read, articles to read) as the text is read back
    """
    started = time.perf_counter()
    entities = side.all_entities()
    articles: list[StoryArticle] = []
    copies = CopyIndex()
    signatures = []
    with ix.searcher() as searcher:
        reader = searcher.reader()
        total = reader.doc_count()
        for n, (_, stored) in enumerate(reader.iter_docs(), start=1):
            aid = stored[ID]
            title, body = stored.get(TITLE) or "", stored.get(BODY) or ""
            published = stored_published(stored)
            ents = entities.get(aid)
            articles.append(StoryArticle(
                aid, published, stored.get("outlet"), stored.get("lang"), title, body,
                person=ents.person if ents else (), org=ents.org if ents else (),
                place=ents.place if ents else ()))
            signatures.append((aid, published, signature(copy_text(title, body))))
            if tick and n % 512 == 0:
                tick(n, total)
    copies.add_many(signatures)
    stories = cluster(articles)
    old_seq, old_rows, _ = side.stories()
    rows = [StoryRow(a.id, stories.story_of[a.id], copies.copy_of(a.id)) for a in articles]
    redirects = _redirects(old_rows, stories.story_of, set(stories.members))
    side.set_stories(rows, redirects, replace=True)
    side.commit()
    return StoryStageReport(
        articles=len(rows), stories=len(stories.members),
        multi=sum(1 for m in stories.members.values() if len(m) > 1),
        copies=sum(len(m) for m in copies.groups().values()),
        redirects=len(redirects), seconds=time.perf_counter() - started)


def _redirects(old_rows: list[StoryRow], story_of: dict[str, str],
               current: set[str]) -> list[tuple[str, str]]:
    """``(old id, new id)`` for each story id of ``old_rows`` that is no story's id now:
    the story now holding most of its old articles (ties: the earliest id)."""
    members: dict[str, list[str]] = {}
    for r in old_rows:
        members.setdefault(r.story, []).append(r.id)
    out = []
    for old, ids in members.items():
        if old in current:
            continue
        now = Counter(story_of[i] for i in ids if i in story_of)
        if now:
            best = min(now.items(), key=lambda kv: (-kv[1], kv[0]))[0]
            out.append((old, best))
    return out
