"""The plain values that flow between Newsfacet's stages.

Readers make :class:`Article` records; enrichment returns new ones with
``dataclasses.replace``; the indexer turns them into Whoosh documents. At query
time :class:`SearchRequest` goes in and :class:`SearchResults` (made of
:class:`Hit` and :class:`FacetValue`) comes out. No Whoosh object leaves ``search/``.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

# The facets, in the order a page shows them. ``year`` and ``month`` are derived from
# ``published``; ``person``, ``org`` and ``place`` are multi-valued.
SORTS = ("relevance", "newest", "oldest")
# How a page of results may be collapsed (DESIGN.md, Stories across outlets).
COLLAPSES = ("none", "copies", "story")


def shown(path: str) -> str:
    """A path (or source key) as text any terminal or page can show: the bytes of a file
    name that is not UTF-8 (lone surrogates in a ``str``) escaped as ``\\xff``.

    >>> shown("/news/caf\\udce9.txt")
    '/news/caf\\\\xe9.txt'
    """
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def source_key(path: str, record: int | None) -> str:
    """The text that names one record of one file: ``path`` or ``path#record``.

    ``path`` is a file or ``archive::member``; ``record`` is the 1-based line or
    array position inside a multi-record file.
    """
    return path if record is None else f"{path}#{record}"


def article_id(canonical_url: str | None, path: str, record: int | None) -> str:
    """A stable 16-hex-character id: of the canonical URL when there is one, else of the source.

    >>> article_id("https://example.com/a", "x.json", 3)
    'c4ed1c218d14a0f1'
    """
    key = canonical_url if canonical_url else "source:" + source_key(path, record)
    # surrogateescape: a file name that is not UTF-8 hashes by its bytes on disk
    return hashlib.sha1(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]


@dataclass(frozen=True)
class Entities:
    """Named entities of an article, each a tuple of display forms without duplicates.

    :param evidence: what NER saw, for archive-wide resolution (:mod:`search.resolve`):
        ``(value, spaCy label, mentions, lower, indefinite, definite, possessed, number)``
        for every name-like value and label (:func:`search.ingest.enrich.entities.mention_evidence`).
        Kept in the enrichment cache, never in the side store or the index; not part of
        equality.
    """

    person: tuple[str, ...] = ()
    org: tuple[str, ...] = ()
    place: tuple[str, ...] = ()
    evidence: tuple[tuple, ...] = field(default=(), compare=False, repr=False)

    def as_dict(self) -> dict[str, list[str]]:
        return {"person": list(self.person), "org": list(self.org), "place": list(self.place)}


@dataclass(frozen=True)
class Article:
    """One news article.

    :param id: see :func:`article_id`
    :param source: the file it came from (``path`` or ``archive::member``)
    :param record: 1-based record number inside ``source``, or ``None`` for one-article files
    :param title: the headline
    :param body: the article text (page furniture removed once enriched)
    :param url: the URL as it came, or ``None``
    :param outlet: the outlet as the source names it (raw before enrichment, display name after)
    :param published: aware UTC datetime, or ``None`` when unknown or implausible
    :param authors: author names
    :param caption: image caption(s), searchable but not body text
    :param lang: ISO 639-1 code, or ``"und"``; ``None`` before enrichment
    :param entities: people, organisations, places; empty before enrichment
    :param sources: every ``source_key`` this article was read from (one URL, many records)
    """

    id: str
    source: str
    record: int | None
    title: str
    body: str
    url: str | None = None
    outlet: str | None = None
    published: datetime | None = None
    authors: tuple[str, ...] = ()
    caption: str = ""
    lang: str | None = None
    entities: Entities = field(default_factory=Entities)
    sources: tuple[str, ...] = ()

    def __post_init__(self):
        if not self.sources:
            object.__setattr__(self, "sources", (source_key(self.source, self.record),))

    def replace(self, **changes) -> Article:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class SearchRequest:
    """What a user asked for. Filters hold the selected values of each facet.

    :param q: the query text (may be empty: then every article matches)
    :param filters: facet name -> selected values (OR within a facet, AND across facets)
    :param date_from: ISO date (``YYYY-MM-DD``), inclusive, UTC; or ``None``
    :param date_to: ISO date, inclusive of the whole day, UTC; or ``None``
    :param sort: one of :data:`SORTS`
    :param page: 1-based page number
    :param page_size: hits per page
    :param facet_size: values returned per facet (``more`` facets get ``facet_more_size``)
    :param more: facets for which the longer list is wanted
    :param collapse: ``"none"``, ``"copies"`` (one article per copy group) or ``"story"``
        (one per story): a page then holds that many groups
    :param story: only the articles of this story (an old id of it answers too)
    """

    q: str = ""
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    date_from: str | None = None
    date_to: str | None = None
    sort: str = "relevance"
    page: int = 1
    page_size: int = 10
    facet_size: int = 10
    facet_more_size: int = 100
    more: tuple[str, ...] = ()
    with_facets: bool = True
    collapse: str = "none"
    story: str | None = None


@dataclass(frozen=True)
class Hit:
    """One result, copied out of Whoosh before the searcher is released.

    ``snippet`` and ``title_html`` are HTML: escaped text with ``<mark>`` around matches.
    ``story`` is ``{"id", "articles", "outlets"}`` of its story (``None`` until stage 4
    reached it); ``copies`` counts the other articles of its copy group, ``copy_of`` is
    the id of the group's earliest article when this is a copy of it.
    """

    id: str
    title: str
    title_html: str
    outlet: str
    published: datetime | None
    lang: str
    url: str | None
    score: float
    snippet: str
    entities: Entities
    story: dict | None = None
    copies: int = 0
    copy_of: str | None = None

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "title_html": self.title_html,
            "outlet": self.outlet,
            "published": self.published.isoformat() if self.published else None,
            "lang": self.lang,
            "url": self.url,
            "score": round(self.score, 4),
            "snippet": self.snippet,
            "entities": self.entities.as_dict(),
            "story": self.story,
            "copies": self.copies,
            "copy_of": self.copy_of,
        }


@dataclass(frozen=True)
class FacetValue:
    value: str
    count: int
    selected: bool = False

    def to_json(self) -> dict:
        return {"value": self.value, "count": self.count, "selected": self.selected}


@dataclass(frozen=True)
class SearchResults:
    """A page of results with facet counts over every match.

    :param notice: how the query was repaired or read, or ``None``
    :param suggestion: a better-spelled query, or ``None``
    :param timings: milliseconds per part (``parse``, ``search``, ``facets``, ``snippets``)
    :param pending: articles whose entities are still to be found (entity counts are
        partial while there are any)
    :param collapse: how the page was collapsed; ``page_size`` and ``pages`` then count
        groups, ``total`` and the facets still count articles
    :param groups: matching groups under ``collapse`` (``None`` for ``"none"``)
    :param stories: matching stories (``None`` until stage 4 has run)
    """

    query: str
    total: int
    page: int
    page_size: int
    took_ms: float
    hits: tuple[Hit, ...]
    facets: dict[str, tuple[FacetValue, ...]]
    truncated_facets: tuple[str, ...] = ()
    notice: str | None = None
    suggestion: str | None = None
    explain: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    pending: int = 0
    collapse: str = "none"
    groups: int | None = None
    stories: int | None = None

    @property
    def partial_facets(self) -> bool:
        """Whether the entity facets' counts are still being filled in."""
        return self.pending > 0

    @property
    def pages(self) -> int:
        shown = self.groups if self.groups is not None else self.total
        return max(1, -(-shown // self.page_size))

    def to_json(self) -> dict:
        """The JSON contract of ``/api/search`` and ``newsfacet search --json``."""
        return {
            "ok": True,
            "query": self.query,
            "total": self.total,
            "page": self.page,
            "page_size": self.page_size,
            "took_ms": round(self.took_ms, 2),
            "hits": [h.to_json() for h in self.hits],
            "facets": {k: [v.to_json() for v in vs] for k, vs in self.facets.items()},
            "truncated_facets": list(self.truncated_facets),
            "partial_facets": self.partial_facets,
            "collapse": self.collapse,
            "groups": self.groups,
            "stories": self.stories,
            "notice": self.notice,
            "suggestion": self.suggestion,
        }


@dataclass(frozen=True)
class ArticleView:
    """One whole article as ``/api/article/<id>`` and the article page show it."""

    hit: Hit
    body: str
    caption: str
    authors: tuple[str, ...]
    sources: tuple[str, ...]
    body_html: str | None = None

    def to_json(self) -> dict:
        out = self.hit.to_json()
        out.pop("score", None)
        out.pop("snippet", None)
        out.update(body=self.body, caption=self.caption, authors=list(self.authors),
                   sources=[shown(s) for s in self.sources])
        if self.body_html is not None:
            out["body_html"] = self.body_html
        return out


@dataclass(frozen=True)
class OutletSpan:
    """One outlet's part in a story: how many of its articles, and when it first ran it."""

    value: str
    count: int
    first_published: datetime | None

    def to_json(self) -> dict:
        return {"value": self.value, "count": self.count,
                "first_published": self.first_published.isoformat()
                if self.first_published else None}


@dataclass(frozen=True)
class StoryView:
    """One story as ``/api/story/<id>`` and the story page show it (DESIGN.md).

    :param articles: every article of the story, oldest first (published, then id;
        undated ones last)
    :param entities: per entity facet, the values its articles name, by how many of them
    :param asked: the id asked for, when it was an old id of this story
    """

    id: str
    title: str
    first_published: datetime | None
    last_published: datetime | None
    outlets: tuple[OutletSpan, ...]
    articles: tuple[Hit, ...]
    entities: dict[str, tuple[FacetValue, ...]]
    asked: str | None = None

    def to_json(self) -> dict:
        story = {
            "id": self.id,
            "title": self.title,
            "first_published": self.first_published.isoformat() if self.first_published else None,
            "last_published": self.last_published.isoformat() if self.last_published else None,
            "outlets": [o.to_json() for o in self.outlets],
            "articles": [h.to_json() for h in self.articles],
            "entities": {k: [{"value": v.value, "count": v.count} for v in vs]
                         for k, vs in self.entities.items()},
        }
        if self.asked:
            story["redirected_from"] = self.asked
        return {"ok": True, "story": story}
