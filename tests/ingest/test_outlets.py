"""Outlet display names: from metadata, else the URL, else the run's default."""

from __future__ import annotations

import gzip
import json
import re
import zipfile
from collections import Counter

import pytest

from search.ingest.enrich.outlets import OUTLETS
from search.ingest.enrich.outlets import outlet_name
from tests.conftest import CORPORA

ARCHIVED_CNN = ("https://web.archive.org/web/20170812000000/"
                "http://www.cnn.com/2017/08/11/politics/x.html")


@pytest.mark.parametrize(("raw", "url", "default", "expected"), [
    # fakenewsnet: the source is the archive's root; the outlet is the archived site
    ("https://web.archive.org", ARCHIVED_CNN, None, "CNN"),
    ("https://web.archive.org", "web.archive.org/web/2017/https://www.nytimes.com/a", None,
     "The New York Times"),
    # fakenewsnet: the source is the site root
    ("http://www.nytimes.com", "https://www.nytimes.com/2017/01/01/us/a.html", None,
     "The New York Times"),
    ("http://abcnews.go.com", "http://abcnews.go.com/Politics/x", None, "ABC News"),
    ("http://www.msnbc.msn.com", None, None, "MSNBC"),
    # URL without a scheme, no metadata: an unknown outlet shows as its registered domain
    (None, "parade.com/95478/a-story", None, "parade.com"),
    (None, "www.huffingtonpost.com/entry/x", None, "HuffPost"),
    (None, "https://www.bbc.co.uk/news/uk-1", None, "BBC"),
    (None, "https://www.bbc.com/news/uk-1", None, "BBC"),
    # other go.com sites are not ABC News
    (None, "http://abc.go.com/shows/x", None, "abc.go.com"),
    # names and ids
    ("The Guardian", None, None, "The Guardian"),
    ("guardian", None, None, "The Guardian"),
    ("New  York Times", None, None, "The New York Times"),
    ("Haaretz", "https://www.haaretz.com/a", None, "Haaretz"),
    ("Some Local Paper", None, None, "Some Local Paper"),
    ("alriyadh", "http://www.alriyadh.com/1", None, "Al Riyadh"),
    ("was", "http://www.spa.gov.sa/1", None, "Saudi Press Agency"),
    # metadata wins over the URL
    ("Reuters", "https://www.yahoo.com/news/x", None, "Reuters"),
    # the run's default, then "unknown"
    (None, None, "BBC", "BBC"),
    ("  ", "", "bbc news", "BBC"),
    (None, "not a url", "Der Standard", "Der Standard"),
    (None, None, None, "unknown"),
    ("https://web.archive.org", None, None, "unknown"),
])
def test_outlet_name(raw, url, default, expected):
    assert outlet_name(raw, url, default) == expected


@pytest.mark.parametrize(("display", "domains", "aliases"), OUTLETS)
def test_metadata_and_url_agree(display, domains, aliases):
    for domain in domains:
        assert outlet_name(None, f"https://www.{domain}/a/1") == display
        assert outlet_name(f"http://{domain}", None) == display
        assert outlet_name(None, f"https://web.archive.org/web/2017/http://{domain}/a") == display
    for alias in aliases:
        assert outlet_name(alias, None) == display
    assert outlet_name(display, None) == display


@pytest.mark.corpus
def test_fakenewsnet_records_get_one_name_per_site():
    """A record's outlet from its ``source`` (a site root or web.archive.org) is the one its
    URL alone gives, so the facet does not split an outlet in two."""
    names, mismatches = Counter(), []
    with gzip.open(CORPORA / "fakenewsnet-content" / "fakenewsnet_news_content.jsonl.gz", "rt",
                   encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            name = outlet_name(r.get("source"), r.get("url"))
            names[name] += 1
            if r.get("url") and name != outlet_name(None, r["url"]):
                mismatches.append((r.get("source"), r["url"], name))
    assert mismatches == []
    assert names["CNN"] > 10 and names["The New York Times"] > 10 and names["ABC News"] > 10
    assert "archive.org" not in names and "web.archive.org" not in names


@pytest.mark.corpus
def test_saudinewsnet_ids_and_domains_agree():
    with zipfile.ZipFile(CORPORA / "saudinewsnet-ar" / "2015-08-08.zip") as zf:
        records = json.loads(zf.read(zf.namelist()[0]))
    pairs = {(outlet_name(r["source"], None), outlet_name(None, r["url"])) for r in records}
    assert all(a == b for a, b in pairs), sorted(p for p in pairs if p[0] != p[1])
    # every outlet of the sample has a display name, not its raw id
    assert not any(re.fullmatch(r"[a-z0-9]+", a) for a, _ in pairs)
