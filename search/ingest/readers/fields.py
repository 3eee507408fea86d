"""Field names real exports use, mapped to :class:`~search.models.Article` fields.

Shared by the JSON, JSON Lines and CSV readers. Names match case-insensitively.
``description``/``summary`` are deliberately not text fields: they are teasers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Mapping

from search.errors import ArticleReadError
from search.ingest.enrich.dates import parse_date
from search.ingest.urls import normalise_url
from search.models import Article
from search.models import article_id

TEXT = ("text", "body", "content", "maintext", "article_text", "full_text")
TITLE = ("title", "headline")
URL = ("url", "link")
CANONICAL = ("canonical_link", "canonical_url")
OUTLET = ("outlet", "source", "publication", "site", "site_name", "publisher")
DATE = ("date", "published", "publish_date", "date_extracted", "pubdate", "datepublished",
        "date_published", "published_at", "publishedat")
AUTHORS = ("authors", "author", "byline")

NO_TEXT_FIELD = "no text field (expected one of text, body, content)"
NO_TEXT = "record has no text"
_AUTHOR_SPLIT = re.compile(r"\s*(?:,|;|\band\b|&)\s*", re.I)


def lower_keys(record: Mapping) -> dict[str, object]:
    """The record with lower-cased string keys (the first of colliding keys wins)."""
    out: dict[str, object] = {}
    for k, v in record.items():
        if isinstance(k, str):
            out.setdefault(k.strip().lower(), v)
    return out


def has_text_field(keys) -> bool:
    """Whether any of ``keys`` (lower-cased) names the article text.

    :param keys: field or column names, lower-cased
    """
    return any(k in keys for k in TEXT)


def _first(rec: dict, names: tuple[str, ...]) -> object:
    for n in names:
        v = rec.get(n)
        if v not in (None, "", [], {}):
            return v
    return None


def _string(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        # {"name": "BBC News", "id": "bbc-news"} (NewsAPI), {"href": ...}
        for k in ("name", "title", "href", "url", "value"):
            if isinstance(value.get(k), str):
                return value[k]
        return None
    if isinstance(value, list):
        parts = [_string(x) for x in value]
        return "\n\n".join(p for p in parts if p) or None
    if isinstance(value, (int, float)):
        return str(value)
    return None


def split_authors(value: object) -> tuple[str, ...]:
    """Author names from a list or a string like ``"A. Smith, B. Jones and C. Lee"``.

    :param value: the raw authors value
    """
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    names: list[str] = []
    for item in items:
        text = _string(item)
        if not text:
            continue
        parts = _AUTHOR_SPLIT.split(text) if not isinstance(value, list) else [text]
        for p in parts:
            p = " ".join(p.split())
            p = re.sub(r"^by\s+", "", p, flags=re.I)
            if p and p not in names:
                names.append(p)
    return tuple(names)


def to_article(record: Mapping, source: str, number: int | None,
               report: Callable[[ArticleReadError], None]) -> Article | None:
    """One record as a raw article, or ``None`` (reported) when it has no text.

    :param record: the record's fields (any case)
    :param source: the file, or ``archive::member``
    :param number: the record's 1-based line, position or row
    :param report: called with the error of a record that is skipped
    """
    rec = lower_keys(record)
    body = _string(_first(rec, TEXT))
    if not body or not body.strip():
        report(ArticleReadError(source, NO_TEXT, number))
        return None
    url = _string(_first(rec, URL))
    canonical = _string(_first(rec, CANONICAL))
    key = normalise_url(canonical) or normalise_url(url)
    title = _string(_first(rec, TITLE)) or ""
    outlet = _string(_first(rec, OUTLET))
    return Article(
        id=article_id(key, source, number),
        source=source,
        record=number,
        title=" ".join(title.split()),
        body=body,
        url=url.strip() if url else None,
        outlet=outlet.strip() if outlet and outlet.strip() else None,
        published=parse_date(_first(rec, DATE)),
        authors=split_authors(_first(rec, AUTHORS)),
    )
