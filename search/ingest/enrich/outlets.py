"""The outlet facet: one display name per outlet, however the source names it.

An outlet reaches us as metadata (a name, an id such as ``alriyadh``, or a site root
such as ``http://www.nytimes.com``), or only through the article's URL. Both roads
lead through :data:`OUTLETS`, so "The Guardian", ``theguardian.com`` and
``https://www.theguardian.com/world/x`` are one facet value.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from search.ingest.urls import archived_url
from search.ingest.urls import registered_domain

UNKNOWN = "unknown"

# (display name, registered domains or hosts, other names and ids it goes by).
# Chosen from the outlets frequent in fakenewsnet-content and bbc-news, and the ids of
# saudinewsnet-ar (its SOURCE.md); anything else shows as its registered domain.
OUTLETS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("The New York Times", ("nytimes.com",), ("nytimes", "new york times", "nyt")),
    ("BBC", ("bbc.co.uk", "bbc.com"), ("bbc news", "bbc")),
    ("CNN", ("cnn.com",), ("cnn",)),
    ("The Washington Post", ("washingtonpost.com",), ("washington post", "washingtonpost")),
    ("Fox News", ("foxnews.com",), ("foxnews", "fox news channel")),
    ("Politico", ("politico.com", "politico.eu"), ("politico",)),
    ("The Guardian", ("theguardian.com", "guardian.co.uk"), ("guardian", "theguardian")),
    ("Reuters", ("reuters.com",), ("reuters", "thomson reuters")),
    ("Associated Press", ("apnews.com", "ap.org"), ("ap", "the associated press", "apnews")),
    ("NPR", ("npr.org",), ("npr", "national public radio")),
    ("The Wall Street Journal", ("wsj.com",), ("wall street journal", "wsj")),
    ("USA Today", ("usatoday.com",), ("usatoday",)),
    ("NBC News", ("nbcnews.com",), ("nbcnews",)),
    # go.com hosts several Disney sites: only the news host is ABC News.
    ("ABC News", ("abcnews.go.com", "abcnews.com", "abc.net.au"), ("abcnews",)),
    ("ESPN", ("espn.go.com", "espn.com"), ("espn",)),
    ("CBS News", ("cbsnews.com",), ("cbsnews",)),
    ("MSNBC", ("msnbc.com", "msnbc.msn.com"), ("msnbc",)),
    ("HuffPost", ("huffpost.com", "huffingtonpost.com", "huffingtonpost.co.uk"),
     ("huffington post", "the huffington post", "huffpost")),
    ("People", ("people.com",), ("people magazine",)),
    ("E! Online", ("eonline.com",), ("e! news", "eonline")),
    ("TMZ", ("tmz.com",), ("tmz",)),
    ("Daily Mail", ("dailymail.co.uk",), ("dailymail", "mail online", "the daily mail")),
    ("Us Weekly", ("usmagazine.com",), ("us magazine",)),
    ("Radar Online", ("radaronline.com",), ("radaronline",)),
    ("Hollywood Life", ("hollywoodlife.com",), ("hollywoodlife",)),
    ("Entertainment Tonight", ("etonline.com",), ("etonline",)),
    ("Entertainment Weekly", ("ew.com",), ()),
    ("Time", ("time.com",), ("time magazine",)),
    ("The Hill", ("thehill.com",), ("thehill",)),
    ("Business Insider", ("businessinsider.com",), ("businessinsider",)),
    ("Variety", ("variety.com",), ()),
    ("The Hollywood Reporter", ("hollywoodreporter.com",), ("hollywood reporter",)),
    ("Daily Mirror", ("mirror.co.uk",), ("the mirror", "mirror")),
    ("Metro", ("metro.co.uk",), ()),
    ("The Sun", ("thesun.co.uk",), ()),
    ("Daily Express", ("express.co.uk",), ("express",)),
    ("YouTube", ("youtube.com", "youtu.be"), ()),
    ("Wikipedia", ("wikipedia.org",), ()),
    ("PolitiFact", ("politifact.com",), ()),
    ("Haaretz", ("haaretz.com", "haaretz.co.il"), ()),
    ("Der Standard", ("derstandard.at",), ("derstandard",)),
    # saudinewsnet-ar: its ``source`` ids and the domains of its URLs.
    ("Al Riyadh", ("alriyadh.com",), ("alriyadh",)),
    ("Al Jazirah", ("al-jazirah.com",), ("aljazirah",)),
    ("Al Yaum", ("alyaum.com",), ("alyaum",)),
    ("Okaz", ("okaz.com.sa",), ("okaz",)),
    ("Al Eqtisadiah", ("aleqt.com",), ("aleqtisadiya",)),
    ("Al Madina", ("al-madina.com",), ("almadina",)),
    ("Al Watan", ("alwatan.com.sa",), ("alwatan",)),
    ("Asharq Al-Awsat", ("aawsat.com",), ("aawsat",)),
    ("Saudi Press Agency", ("spa.gov.sa",), ("was", "spa")),
    ("Al Weeam", ("alweeam.com.sa",), ("alweeam",)),
    ("3alYoum", ("3alyoum.com",), ("3alyoum",)),
    ("Arriyadiyah", ("arriyadiyah.com",), ("arriyadiyah", "arreyadiyah")),
    ("Sabq", ("sabq.org",), ("sabq",)),
    ("Arreyadi", ("arreyadi.com.sa",), ("arreyadi",)),
)

_BY_DOMAIN = {d: name for name, domains, _ in OUTLETS for d in domains}
_BY_NAME = {key: name for name, domains, aliases in OUTLETS
            for key in (name.lower(), *aliases, *domains)}
# Text that is a site address rather than a name: a scheme, or dotted labels without spaces.
_LOOKS_LIKE_URL = re.compile(r"^([a-z][a-z0-9+.-]*://|//|www\.)|^[\w-]+(\.[\w-]+)+(/\S*)?$", re.I)
_ARCHIVE_DOMAIN = "archive.org"
# Registered domains that host unrelated sites: the host tells the outlet apart.
_SHARED_DOMAINS = frozenset({"go.com", "msn.com", "yahoo.com", "blogspot.com", "wordpress.com",
                             "tumblr.com", "substack.com"})


def _host(url: str) -> str:
    inner = archived_url(url) or url
    if "://" not in inner and not inner.startswith("//"):
        inner = "https://" + inner
    host = (urlsplit(inner).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def _from_address(url: str) -> str | None:
    """The display name of the site ``url`` is on, or ``None`` if it has no usable host."""
    domain = registered_domain(url)
    if not domain or domain == _ARCHIVE_DOMAIN:
        # A bare web.archive.org root names the archive, not the outlet.
        return None
    host = _host(url)
    # Most specific first: a known host (abcnews.go.com), then its registered domain.
    labels = host.split(".")
    for i in range(len(labels) - 1):
        name = _BY_DOMAIN.get(".".join(labels[i:]))
        if name:
            return name
    if domain in _SHARED_DOMAINS:
        return host or domain
    return _BY_DOMAIN.get(domain, domain)


def _from_name(raw: str) -> str:
    """A name or id as metadata gives it, mapped to the display name when known."""
    name = " ".join(raw.split())
    key = name.lower()
    if key.startswith("the ") and key not in _BY_NAME:
        key = key[4:]
    return _BY_NAME.get(key, name)


def outlet_name(raw: str | None, url: str | None, default: str | None = None) -> str:
    """The outlet's display name, from metadata, else the URL, else ``default``.

    >>> outlet_name("https://web.archive.org", "web.archive.org/web/2017/http://www.cnn.com/x")
    'CNN'
    >>> outlet_name("alriyadh", None)
    'Al Riyadh'
    >>> outlet_name(None, "parade.com/95478/a")
    'parade.com'

    :param raw: the outlet as the source names it: a name, an id, or a site address
        (a bare ``https://web.archive.org`` is ignored in favour of the archived URL)
    :param url: the article's URL, as it came (scheme optional, archived or not)
    :param default: the ``--outlet`` of the index run, used when neither names an outlet
    :returns: a display name; ``"unknown"`` when nothing names the outlet
    """
    raw = (raw or "").strip()
    if raw:
        if _LOOKS_LIKE_URL.match(raw):
            name = _from_address(raw)
            if name:
                return name
        else:
            return _from_name(raw)
    if url and url.strip():
        name = _from_address(url.strip())
        if name:
            return name
    if default and default.strip():
        return _from_name(default)
    return UNKNOWN
