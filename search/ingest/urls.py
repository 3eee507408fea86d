"""URL normalisation for article identity, and the outlet's registered domain."""

from __future__ import annotations

import functools
import re
from urllib.parse import parse_qsl
from urllib.parse import urlencode
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

# Query parameters that track a click, not name a page.
_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|cmpid|ocid|_ga|ref|ref_src|smid)$", re.I)
_ARCHIVED = re.compile(r"^/web/[0-9a-z_*]+/(.+)$", re.I)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)


def _with_scheme(url: str) -> str:
    url = url.strip()
    if url.startswith("//"):
        return "https:" + url
    if not _SCHEME.match(url):
        return "https://" + url
    return url


def normalise_url(url: str | None) -> str | None:
    """The form of a URL used for hashing: scheme added when missing, host lower-cased,
    fragment and tracking parameters dropped. ``None`` for something that is not a URL.

    >>> normalise_url("Parade.com/95478/a?utm_source=x&id=3#top")
    'https://parade.com/95478/a?id=3'
    """
    if not url or not url.strip() or any(c.isspace() for c in url.strip()):
        return None
    parts = urlsplit(_with_scheme(url))
    host = parts.hostname
    if not host or "." not in host:
        return None
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not _TRACKING.match(k)])
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, query, ""))


def archived_url(url: str) -> str | None:
    """The original URL inside a ``web.archive.org/web/<stamp>/<url>`` address, else ``None``."""
    parts = urlsplit(_with_scheme(url))
    if (parts.hostname or "").lower().endswith("web.archive.org"):
        m = _ARCHIVED.match(parts.path + (("?" + parts.query) if parts.query else ""))
        if m:
            inner = re.sub(r"^(https?):/+", r"\1://", m.group(1), flags=re.I)
            return _with_scheme(inner)
    return None


@functools.lru_cache(maxsize=1)
def _extractor():
    import tldextract

    # The bundled public-suffix snapshot only: no network at run time.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@functools.lru_cache(maxsize=65536)
def registered_domain(url: str | None) -> str | None:
    """The registered domain of a URL (``bbc.co.uk``), looking inside web.archive.org
    addresses; ``None`` when there is none.

    >>> registered_domain("https://web.archive.org/web/2017/http://www.nytimes.com/a")
    'nytimes.com'
    """
    if not url or not url.strip():
        return None
    inner = archived_url(url)
    if inner:
        url = inner
    host = urlsplit(_with_scheme(url)).hostname
    if not host:
        return None
    ext = _extractor()(host)
    if not ext.suffix or not ext.domain:
        return None
    return f"{ext.domain}.{ext.suffix}".lower()
