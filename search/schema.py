"""THE Whoosh schema, and the two conversions across it.

Nothing else in Newsfacet builds Whoosh fields or knows field names:
:func:`to_document` turns an :class:`~search.models.Article` into a document and
:func:`hit_from_stored` turns stored fields back into a plain :class:`~search.models.Hit`.

Facet fields hold their values as exact display forms (``ID`` fields), so a facet
value, its filter term and its index term are the same string. Case-insensitive lookup
(``outlet:haaretz``) is the query layer's job. Entities are not in Whoosh documents:
they are found after the text is searchable and live in the generation's side store
(:mod:`search.sidestore`); ``person``, ``org``, ``place`` and ``entity`` are fields of
the query language only (:func:`query_schema`), answered from it.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timezone

from whoosh.columns import VarBytesColumn
from whoosh.fields import COLUMN
from whoosh.fields import DATETIME
from whoosh.fields import ID as IDENTIFIER  # the field type; ID below is a field name
from whoosh.fields import KEYWORD
from whoosh.fields import STORED
from whoosh.fields import TEXT
from whoosh.fields import Schema

from search import analysis
from search.models import Article
from search.models import Entities
from search.models import Hit

__all__ = ["ID", "URL", "TITLE", "BODY", "CAPTION", "AUTHORS", "SOURCES", "DATE_FIELD",
           "OUTLET", "YEAR", "MONTH", "LANG", "PERSON", "ORG", "PLACE", "ENTITY", "FACET_COLUMN", "TEXT_FIELDS",
           "SINGLE_FACETS", "ENTITY_KINDS", "FACETS", "SCHEMA_VERSION", "EXACT",
           "make_schema", "query_schema", "to_document", "hit_from_stored",
           "encode_facets", "decode_facets"]

# The field names: every other module imports them from here.
ID, URL, TITLE, BODY, CAPTION = "id", "url", "title", "body", "caption"
AUTHORS, SOURCES = "authors", "sources"
DATE_FIELD = "published"
OUTLET, YEAR, MONTH, LANG = "outlet", "year", "month", "lang"
PERSON, ORG, PLACE = "person", "org", "place"
# A query-only field: any of person, org, place (search.query.bind expands it).
ENTITY = "entity"
# A document's id and single facet values in one column (see encode_facets).
FACET_COLUMN = "facetcol"

# The text fields of the query language and of the stored document; each is indexed
# once per language as search.analysis says (title_en, body_de, ...).
TEXT_FIELDS = analysis.KINDS
EXACT = analysis.EXACT
SINGLE_FACETS = (OUTLET, YEAR, MONTH, LANG)
ENTITY_KINDS = (PERSON, ORG, PLACE)
# The facets, in the order the sidebar, the JSON contract and the facet column use.
FACETS = SINGLE_FACETS + ENTITY_KINDS

# Bump when the schema or the text analysis changes: a rebuild is then required.
# 5: every language analysed as itself (title_<lang>, ...) and its changed forms (exact_<lang>).
SCHEMA_VERSION = 5


def _text_field(kind: str, lang: str) -> TEXT:
    # Not stored: the text is stored once, under its language-free name.
    fieldtype = TEXT(analyzer=analysis.analyzer(lang), chars=True,
                     field_boost=2.0 if kind == TITLE else 1.0)
    # The same postings as Whoosh's Characters, taken from the analyser in one call.
    fieldtype.format = analysis.LanguageCharacters(field_boost=fieldtype.format.field_boost)
    return fieldtype


def _exact_field(lang: str) -> TEXT:
    # Frequencies, no positions or characters (search.analysis: a form that is its own
    # term is told from the others by counts). Its lengths column is kept (a byte per
    # document): without one, Whoosh's writer looks for the missing column file once
    # per posting.
    return TEXT(analyzer=analysis.variant_analyzer(lang), phrase=False)


def make_schema() -> Schema:
    """A new schema object (Whoosh schemas are mutable; never share one)."""
    return Schema(
        id=IDENTIFIER(stored=True, unique=True),
        url=STORED(),
        title=STORED(),
        body=STORED(),
        caption=STORED(),
        authors=STORED(),
        sources=STORED(),
        published=DATETIME(stored=True, sortable=True),
        outlet=IDENTIFIER(stored=True),
        year=IDENTIFIER(stored=True),
        month=IDENTIFIER(stored=True),
        lang=IDENTIFIER(stored=True),
        # Every single facet value of the document and its id in one column (see
        # encode_facets): the facet arrays and the id -> document number map of the side
        # store are built from it in one pass, not one postings lookup per value.
        facetcol=COLUMN(VarBytesColumn()),
        # Unstemmed words for prefixes and spelling are kept beside the index, not as a
        # spelling field (search.vocabulary: that field halved the writing rate).
        **{analysis.field(kind, lang): _text_field(kind, lang)
           for kind in TEXT_FIELDS for lang in analysis.LANGUAGES},
        **{analysis.exact_field(lang): _exact_field(lang) for lang in analysis.LANGUAGES},
    )


def query_schema() -> Schema:
    """The schema the query parser reads field names against: the index's fields plus
    the entity facets and :data:`ENTITY`, which names any of them (answered from the side
    store, not from Whoosh postings)."""
    schema = make_schema()
    for name in (*ENTITY_KINDS, ENTITY):
        schema.add(name, KEYWORD(commas=True, lowercase=False))
    # The language-free text fields: words as typed (search.query.bind analyses them
    # per language); EXACT here is a quoted single word.
    for name in TEXT_FIELDS:
        schema.remove(name)
    for name in (*TEXT_FIELDS, EXACT):
        schema.add(name, TEXT(analyzer=analysis.exact_analyzer()))
    return schema


def _naive_utc(dt: datetime | None) -> datetime | None:
    # Whoosh ignores tzinfo: store naive UTC, and add UTC back when reading.
    if dt is None:
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    return dt


# Separators of the facet column: between facets, and between values of one facet.
FACET_SEP, VALUE_SEP = "\x1e", "\x1f"


_NO_SEPS = str.maketrans({FACET_SEP: " ", VALUE_SEP: " "})


def encode_facets(doc: dict) -> bytes:
    """A document's id and its :data:`SINGLE_FACETS` values, in that order, as the bytes
    of ``facetcol``."""
    parts = [(doc.get(name) or "").translate(_NO_SEPS) for name in (ID, *SINGLE_FACETS)]
    return FACET_SEP.join(parts).encode("utf-8")


def decode_facets(raw: bytes) -> tuple[str, list[list[str]]]:
    """``(id, the values of each single facet in SINGLE_FACETS order)`` from ``facetcol``
    bytes."""
    aid, *parts = raw.decode("utf-8").split(FACET_SEP)
    return aid, [[part] if part else [] for part in parts]


def to_document(article: Article) -> dict:
    """The Whoosh document of an enriched article (every facet derived here, not in views)."""
    published = _naive_utc(article.published)
    lang = analysis.analysis_language(article.lang)
    title, body, caption = article.title or "", article.body or "", article.caption or ""
    doc = {
        "id": article.id,
        "url": article.url,
        "title": title,
        "body": body,
        "caption": caption,
        analysis.field(TITLE, lang): title,
        analysis.field(BODY, lang): body,
        analysis.field(CAPTION, lang): caption,
        analysis.exact_field(lang): f"{title}\n{body}\n{caption}",
        "authors": list(article.authors),
        "sources": list(article.sources),
        "outlet": article.outlet or "unknown",
        "lang": article.lang or "und",
    }
    if published is not None:
        doc["published"] = published
        doc["year"] = f"{published.year:04d}"
        doc["month"] = f"{published.year:04d}-{published.month:02d}"
    doc["facetcol"] = encode_facets(doc)
    return doc


def stored_published(stored: dict) -> datetime | None:
    dt = stored.get("published")
    return dt.replace(tzinfo=timezone.utc) if dt is not None else None


def hit_from_stored(stored: dict, *, score: float = 0.0, snippet: str = "",
                    title_html: str | None = None, entities: Entities = Entities(),
                    story: dict | None = None, copies: int = 0,
                    copy_of: str | None = None) -> Hit:
    """A plain :class:`Hit` from a document's stored fields.

    :param title_html: the highlighted headline; the escaped headline when ``None``
    :param entities: the article's entities (from the side store: not stored in Whoosh)
    :param story: its story, ``copies`` and ``copy_of`` (side store too; see :class:`Hit`)
    """
    from markupsafe import escape

    title = stored.get("title") or ""
    return Hit(
        id=stored["id"],
        title=title,
        title_html=title_html if title_html is not None else str(escape(title)),
        outlet=stored.get("outlet") or "unknown",
        published=stored_published(stored),
        lang=stored.get("lang") or "und",
        url=stored.get("url"),
        score=float(score),
        snippet=snippet,
        entities=entities,
        story=story,
        copies=copies,
        copy_of=copy_of,
    )
