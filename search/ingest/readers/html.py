"""Web pages (``.html``, ``.htm``): main text and metadata via trafilatura.

Title, date, site name and canonical URL come from the page itself (its metadata,
via trafilatura and htmldate), never from the file's modification time. Bytes are
decoded by the page's declared ``<meta charset>``, else UTF-8, else cp1252.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Iterator

from search.errors import ArticleReadError
from search.ingest.enrich.dates import parse_date
from search.ingest.readers.fields import split_authors
from search.ingest.readers.text import decode
from search.ingest.urls import normalise_url
from search.models import Article
from search.models import article_id

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)

# Chosen by bench/html_extraction.py (token-shingle F1 on article-extraction-benchmark).
OPTIONS = {"include_comments": False, "include_tables": True, "favor_precision": False}


def declared_charset(data: bytes) -> str | None:
    """The charset a page declares in a ``<meta>`` tag near its start, or ``None``.

    :param data: the page's bytes
    """
    m = _CHARSET.search(data[:8192])
    return m.group(1).decode("ascii").lower() if m else None


def extract(html: str, **options) -> dict | None:
    """trafilatura's main text and metadata of a page, as a dict, or ``None``.

    :param html: the page's markup
    :param options: trafilatura options overriding :data:`OPTIONS`
    """
    import trafilatura

    doc = trafilatura.bare_extraction(html, with_metadata=True, **{**OPTIONS, **options})
    if doc is None:
        return None
    return doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)


def page_text(text: str | None, title: str) -> str:
    """trafilatura's text with paragraphs separated by blank lines and a repeated title dropped."""
    lines = [x.strip() for x in (text or "").split("\n") if x.strip()]
    if lines and title and lines[0] == title:
        lines = lines[1:]
    return "\n\n".join(lines)


def read_html(data: bytes, source: str, report: Callable[[ArticleReadError], None]
              ) -> Iterator[Article]:
    """The article of one web page.

    :param data: the page's bytes
    :param source: the file, or ``archive::member``
    :param report: called with the error when the page holds no article text
    """
    html = decode(data, source, report, encoding=declared_charset(data))
    if html is None:
        return
    meta = extract(html)
    title = " ".join(str((meta or {}).get("title") or "").split())
    body = page_text((meta or {}).get("text"), title)
    if not meta or not body:
        report(ArticleReadError(source, "no article text found in the page"))
        return
    url = meta.get("url") or None
    yield Article(
        id=article_id(normalise_url(url), source, None),
        source=source,
        record=None,
        title=title,
        body=body,
        url=url,
        outlet=meta.get("sitename") or None,
        published=parse_date(meta.get("date")),
        authors=split_authors(meta.get("author")),
    )
