"""RSS and Atom feeds: one article per entry, via feedparser."""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Iterator

from search.errors import ArticleReadError
from search.ingest.enrich.dates import parse_date
from search.ingest.readers.fields import split_authors
from search.ingest.urls import normalise_url
from search.models import Article
from search.models import article_id

_FEED = re.compile(rb"<(rss|feed|rdf:RDF)[\s>]", re.I)
_BLOCK = re.compile(r"(?i)<br\s*/?>|</(p|div|li|h[1-6]|blockquote|tr)>")


def looks_like_feed(data: bytes) -> bool:
    """Whether an XML document is an RSS or Atom feed (by its root element).

    :param data: the document's bytes
    """
    return bool(_FEED.search(data[:4096]))


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment, with block elements as paragraph breaks.

    :param fragment: markup (or plain text) from a feed entry
    """
    if "<" not in fragment:
        return fragment.strip()
    import lxml.html

    marked = _BLOCK.sub("\n\n", fragment)
    try:
        text = lxml.html.fromstring(f"<div>{marked}</div>").text_content()
    except (ValueError, lxml.etree.ParserError):
        text = re.sub(r"<[^>]+>", " ", marked)
    paras = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text)]
    return "\n\n".join(p for p in paras if p)


def read_feed(data: bytes, source: str, report: Callable[[ArticleReadError], None]
              ) -> Iterator[Article]:
    """Every entry of an RSS or Atom feed as an article.

    :param data: the feed's bytes
    :param source: the file, or ``archive::member``
    :param report: called with each error; the entry or file is skipped
    """
    import feedparser

    parsed = feedparser.parse(data)
    if not parsed.entries:
        why = f" ({parsed.get('bozo_exception')})" if parsed.get("bozo") else ""
        report(ArticleReadError(source, f"no entries in this feed{why}"))
        return
    feed_title = " ".join(str(parsed.feed.get("title") or "").split()) or None
    for n, entry in enumerate(parsed.entries, 1):
        content = entry.get("content") or []
        raw = max((c.get("value") or "" for c in content), key=len, default="")
        body = html_to_text(raw or entry.get("summary") or "")
        if not body:
            report(ArticleReadError(source, "record has no text", n))
            continue
        url = entry.get("link") or None
        names = [a.get("name") for a in entry.get("authors") or [] if a.get("name")]
        yield Article(
            id=article_id(normalise_url(url), source, n),
            source=source,
            record=n,
            title=html_to_text(entry.get("title") or ""),
            body=body,
            url=url,
            outlet=entry.get("source", {}).get("title") or feed_title,
            published=parse_date(entry.get("published") or entry.get("updated")),
            authors=split_authors(names or entry.get("author")),
        )
