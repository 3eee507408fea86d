"""Shared bench corpus: real news texts replicated to any size, without NER.

Texts come from ``../shared/corpora`` (bbc-news, fakenewsnet-content, saudinewsnet-ar),
read in place. Entities are a fixed-seed pick from short lists of real names, and BBC
articles (which carry no date) get a fixed-seed date in 2004–2005, so a bench index of
50,000 articles builds in minutes rather than the hours NER would take.

>>> len(PEOPLE), len(ORGS), len(PLACES)
(15, 16, 16)
"""

from __future__ import annotations

import gzip
import json
import random
import tarfile
import zipfile
from collections.abc import Iterator
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from pathlib import Path

CORPORA = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora"

PEOPLE = ["Tony Blair", "Gordon Brown", "George Bush", "Dennis Ross", "Mikhail Bogdanov",
          "Michael Howard", "Kofi Annan", "Vladimir Putin", "Jose Mourinho", "Bill Gates",
          "Hillary Clinton", "Donald Trump", "Barack Obama", "Angela Merkel", "Jacques Chirac"]
ORGS = ["BBC", "Labour", "Conservatives", "UN", "EU", "Microsoft", "Chelsea", "Arsenal",
        "Hezbollah", "Pentagon", "Google", "Apple", "Reuters", "NATO", "IMF", "FBI"]
PLACES = ["London", "Iraq", "Syria", "Damascus", "Washington", "Moscow", "Paris", "Riyadh",
          "China", "India", "Germany", "Russia", "Israel", "Iran", "Manchester", "New York"]


def bbc(rng: random.Random) -> Iterator[dict]:
    """The 2,225 BBC articles, each with a fixed-seed date in 2004–2005."""
    with tarfile.open(CORPORA / "bbc-news" / "bbc-fulltext.tar.gz") as tar:
        for m in tar:
            if not (m.isfile() and m.name.endswith(".txt") and m.name.count("/") == 2):
                continue
            raw = tar.extractfile(m).read()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
            title, _, body = text.strip().partition("\n")
            when = datetime(2004, 1, 1, tzinfo=timezone.utc) + timedelta(
                minutes=rng.randrange(2 * 365 * 24 * 60))
            yield dict(title=title.strip(), body=body.strip(), outlet="BBC", lang="en",
                       published=when, url=None)


def fakenewsnet() -> Iterator[dict]:
    """FakeNewsNet pages: many outlets, dates where plausible."""
    with gzip.open(CORPORA / "fakenewsnet-content" / "fakenewsnet_news_content.jsonl.gz",
                   "rt", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            when = rec.get("publish_date")
            published = None
            if isinstance(when, (int, float)) and 946684800 <= when <= 1735689600:
                published = datetime.fromtimestamp(when, tz=timezone.utc)
            src = (rec.get("source") or "").split("//")[-1].removeprefix("www.") or "unknown"
            yield dict(title=rec.get("title") or "", body=rec.get("text") or "", outlet=src,
                       lang="en", published=published, url=rec.get("url"))


def saudinewsnet() -> Iterator[dict]:
    """SaudiNewsNet: Arabic articles of 14 outlets."""
    for path in sorted((CORPORA / "saudinewsnet-ar").glob("*.zip")):
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                for rec in json.loads(z.read(name).decode("utf-8")):
                    published = datetime.strptime(rec["date_extracted"], "%Y-%m-%d %H:%M:%S")
                    yield dict(title=rec.get("title") or "", body=rec.get("content") or "",
                               outlet=rec["source"], lang="ar", url=rec.get("url"),
                               published=published.replace(tzinfo=timezone.utc))


def records(n: int, seed: int = 20260601) -> list[dict]:
    """``n`` article records: the three corpora in turn, replicated with new ids.

    Each record has ``id`` (16 hex digits), ``title``, ``body``, ``outlet``, ``lang``,
    ``published`` (aware UTC or ``None``), ``url`` and ``person``/``org``/``place``
    (tuples of 0–2 names from the pools above, fixed seed).

    :param n: how many records
    :param seed: the seed of dates and entities (same seed, same records)
    """
    return list(iter_records(n, seed))


def iter_records(n: int, seed: int = 20260601) -> Iterator[dict]:
    """The records of :func:`records`, one at a time (a 200,000-article build does not
    hold 200,000 dicts at once).

    The first ``m`` records of ``iter_records(n)`` are those of ``iter_records(m)``: a
    larger bench corpus extends a smaller one.

    :param n: how many records
    :param seed: the seed of dates and entities (same seed, same records)
    """
    rng = random.Random(seed)
    base = [r for src in (bbc(rng), fakenewsnet(), saudinewsnet()) for r in src
            if r["body"].strip()]
    for i in range(n):
        r = dict(base[i % len(base)])
        r["id"] = f"{i:016x}"
        r["person"] = tuple(sorted(set(rng.sample(PEOPLE, rng.randrange(0, 3)))))
        r["org"] = tuple(sorted(set(rng.sample(ORGS, rng.randrange(0, 3)))))
        r["place"] = tuple(sorted(set(rng.sample(PLACES, rng.randrange(0, 3)))))
        yield r
