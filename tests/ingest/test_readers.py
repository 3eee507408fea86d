"""Readers: hand-written files of every format and every kind of bad input, then real corpora."""

from __future__ import annotations

import gzip
import io
import itertools
import json
import tarfile
import zipfile
from datetime import datetime
from datetime import timezone
from pathlib import Path

import pytest

from search.ingest.readers import discover
from search.ingest.readers import read_file
from search.ingest.urls import normalise_url
from search.models import article_id
from tests.conftest import CORPORA
from tests.conftest import SEED_000
from tests.conftest import SEED_004

BBC = CORPORA / "bbc-news" / "bbc-fulltext.tar.gz"
FNN = CORPORA / "fakenewsnet-content" / "fakenewsnet_news_content.jsonl.gz"
SAUDI = CORPORA / "saudinewsnet-ar"
AEB = CORPORA / "article-extraction-benchmark"


def read(path: Path):
    """Articles and reported errors of one file."""
    errors = []
    return list(read_file(path, errors.append)), errors


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


HTML_PAGE = """<!DOCTYPE html>
<html><head><meta charset="windows-1252">
<title>Harbour reopens after storm | Coast Gazette</title>
<meta property="og:title" content="Harbour reopens after storm">
<meta property="og:site_name" content="Coast Gazette">
<link rel="canonical" href="https://coastgazette.example.com/news/harbour-reopens">
<meta property="article:published_time" content="2021-03-04T09:30:00+00:00">
</head><body>
<nav><a href="/">Home</a> <a href="/sport">Sport</a> <a href="/weather">Weather</a></nav>
<article><h1>Harbour reopens after storm</h1>
<p>The harbour at Porthmoor reopened on Thursday after a storm closed it for four days,
the harbour master said. Fishing boats returned to their moorings by noon.</p>
<p>Repairs to the sea wall cost \xa3120,000 and were finished ahead of schedule, according
to the council, which paid for the work from its emergency fund.</p>
<p>Local traders said the closure had cost them a week of business at the height of the
season, and asked the council to review how it warns boat owners of storms.</p>
</article>
<footer>Subscribe to our newsletter. Copyright Coast Gazette.</footer>
</body></html>"""

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Valley Courier</title><link>https://valley.example.org/</link>
<item><title>Bridge opens</title><link>https://valley.example.org/bridge</link>
<description>&lt;p&gt;The new bridge over the Aire opened on Monday.&lt;/p&gt;&lt;p&gt;Traffic flowed at once.&lt;/p&gt;</description>
<pubDate>Mon, 07 Feb 2022 08:00:00 +0100</pubDate><author>news@valley.example.org (Ann Lee)</author></item>
<item><title>Library closes</title><link>https://valley.example.org/library</link>
<description>The old library closed its doors for the last time.</description>
<pubDate>Tue, 08 Feb 2022 23:30:00 GMT</pubDate></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Hill Times</title>
<entry><title>Snow closes pass</title><link href="https://hill.example.net/snow"/>
<id>urn:1</id><updated>2023-01-10T06:00:00Z</updated><published>2023-01-09T22:15:00-05:00</published>
<author><name>Bo Ray</name></author>
<content type="html">&lt;p&gt;Heavy snow closed the pass overnight.&lt;/p&gt;</content></entry>
</feed>"""


# --- plain text ---------------------------------------------------------------------------

def test_txt_title_and_body(tmp_path):
    path = write(tmp_path, "a.txt", "Headline here\n\nFirst paragraph.\n\nSecond one.\n")
    [a], errors = read(path)
    assert errors == []
    assert (a.title, a.body, a.record, a.source) == (
        "Headline here", "First paragraph.\n\nSecond one.", None, str(path.resolve()))
    assert a.id == article_id(None, str(path.resolve()), None)
    assert (a.url, a.outlet, a.published, a.lang) == (None, None, None, None)


def test_txt_cp1252_fallback(tmp_path):
    path = write(tmp_path, "b.txt", "Price rise\n\nIt costs \xa315.8m now.\n".encode("cp1252"))
    [a], errors = read(path)
    assert errors == [] and "£15.8m" in a.body


def test_txt_caption_first_has_first_sentence_as_title(tmp_path):
    text = ("Boats in the harbour\nBoats in the harbourPhoto: J. Smith / Agency\n\n"
            "The harbour at Porthmoor reopened on Thursday after a storm closed it for four days "
            "and left dozens of fishing boats stranded at their moorings along the coast road. "
            "Repairs followed.\n\nMore text.\n")
    [a], _ = read(write(tmp_path, "c.txt", text))
    assert a.title.startswith("The harbour at Porthmoor reopened on Thursday")
    assert a.title.endswith("…") and len(a.title) <= 121
    assert "Boats in the harbour" in a.body  # cleanup moves it to the caption


def test_seeds_titles():
    [a], _ = read(SEED_000)
    assert a.title.startswith("Israel Seeks U.S. Approval on Most Strikes in Syria")
    [b], _ = read(SEED_004)
    assert b.title.startswith("Israel secretly coordinates with the US")
    assert "Mikhail Bogdanov" in b.body


# --- JSON, JSON Lines, CSV ------------------------------------------------------------------

def test_json_object_array_and_wrapper(tmp_path):
    one = {"Headline": "One", "Body": "Text one.", "URL": "example.com/1?utm_source=x",
           "publisher": "Ex", "datePublished": "2020-01-02T03:04:05Z", "byline": "A. B and C. D"}
    [a], errors = read(write(tmp_path, "one.json", json.dumps(one)))
    assert errors == []
    assert (a.title, a.body, a.url, a.outlet, a.record) == (
        "One", "Text one.", "example.com/1?utm_source=x", "Ex", 1)
    assert a.published == datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert a.authors == ("A. B", "C. D")
    assert a.id == article_id("https://example.com/1", "", None)

    arr = [{"title": "x", "text": "first"}, {"title": "y", "content": ""},
           {"title": "z", "maintext": "third", "canonical_link": "https://e.com/c", "url": "e.com/u"}]
    out, errors = read(write(tmp_path, "arr.json", json.dumps(arr)))
    assert [(a.title, a.record) for a in out] == [("x", 1), ("z", 3)]
    assert [(e.line, e.reason) for e in errors] == [(2, "record has no text")]
    assert out[1].id == article_id(normalise_url("https://e.com/c"), "", None)

    wrapped = {"status": "ok", "articles": [{"title": "w", "full_text": "wrapped",
                                             "source": {"id": "x", "name": "Wire"},
                                             "authors": ["Ann", "Bo"], "published": 1600000000}]}
    [w], _ = read(write(tmp_path, "wrapped.json", json.dumps(wrapped)))
    assert (w.body, w.outlet, w.authors) == ("wrapped", "Wire", ("Ann", "Bo"))
    assert w.published == datetime(2020, 9, 13, 12, 26, 40, tzinfo=timezone.utc)


def test_jsonl_bad_line_reported_rest_kept(tmp_path):
    lines = ['{"title": "a", "text": "one"}', '{"title": "b", "text": "two"',
             "", '{"title": "c", "text": "three", "publish_date": -62106825600.0}', "[1, 2]"]
    out, errors = read(write(tmp_path, "x.jsonl", "\n".join(lines)))
    assert [(a.title, a.record) for a in out] == [("a", 1), ("c", 4)]
    assert out[1].published is None
    assert [e.line for e in errors] == [2, 5]
    assert "malformed JSON" in errors[0].reason and str(errors[0]).startswith(str(tmp_path))


def test_json_named_file_holding_json_lines(tmp_path):
    out, errors = read(write(tmp_path, "lines.json", '{"text": "a"}\n{"text": "b"}\n'))
    assert [(a.body, a.record) for a in out] == [("a", 1), ("b", 2)] and errors == []


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_csv_delimiters(tmp_path, delimiter):
    rows = [["Title", "Article_Text", "Date", "Author"],
            ["First", "Body, with; separators\tinside", "2019-05-06", "X; Y"],
            ["Empty", "", "", ""],
            ["Third", "Body three", "1557100800", ""]]
    buf = io.StringIO()
    import csv
    csv.writer(buf, delimiter=delimiter).writerows(rows)
    out, errors = read(write(tmp_path, "t.csv", buf.getvalue()))
    assert [(a.title, a.record, a.body) for a in out] == [
        ("First", 1, "Body, with; separators\tinside"), ("Third", 3, "Body three")]
    assert out[0].authors == ("X", "Y")
    assert out[1].published == datetime(2019, 5, 6, tzinfo=timezone.utc)
    assert [(e.line, e.reason) for e in errors] == [(2, "record has no text")]


# --- HTML and feeds -------------------------------------------------------------------------

def test_html_page_with_meta_charset(tmp_path):
    [a], errors = read(write(tmp_path, "p.html", HTML_PAGE.encode("cp1252")))
    assert errors == []
    assert a.title == "Harbour reopens after storm"
    assert "£120,000" in a.body and "Fishing boats returned" in a.body
    assert "Weather" not in a.body and "newsletter" not in a.body
    assert a.outlet == "Coast Gazette"
    assert a.url == "https://coastgazette.example.com/news/harbour-reopens"
    assert a.published is not None and a.published.date().isoformat() == "2021-03-04"


def test_rss_and_atom(tmp_path):
    out, errors = read(write(tmp_path, "f.rss", RSS))
    assert errors == []
    assert [(a.title, a.record, a.outlet) for a in out] == [
        ("Bridge opens", 1, "Valley Courier"), ("Library closes", 2, "Valley Courier")]
    assert out[0].body == "The new bridge over the Aire opened on Monday.\n\nTraffic flowed at once."
    assert out[0].published == datetime(2022, 2, 7, 7, 0, tzinfo=timezone.utc)
    assert out[0].url == "https://valley.example.org/bridge"
    [a], _ = read(write(tmp_path, "f.xml", ATOM))
    assert (a.title, a.body, a.authors, a.outlet) == (
        "Snow closes pass", "Heavy snow closed the pass overnight.", ("Bo Ray",), "Hill Times")
    assert a.published == datetime(2023, 1, 10, 3, 15, tzinfo=timezone.utc)


# --- compressed and archives ----------------------------------------------------------------

def test_gz_zip_tar_mixed_members(tmp_path):
    jsonl = b'{"title": "j1", "text": "t1"}\n{"title": "j2", "text": "t2"}\n'
    write(tmp_path, "d.jsonl.gz", gzip.compress(jsonl))
    out, errors = read(tmp_path / "d.jsonl.gz")
    assert [(a.title, a.record) for a in out] == [("j1", 1), ("j2", 2)] and errors == []
    assert out[0].source == str((tmp_path / "d.jsonl.gz").resolve())

    members = {"pack/README.TXT": b"about this pack", "pack/a.txt": b"Zip headline\n\nZip body.",
               "pack/b.json": json.dumps([{"title": "zj", "body": "zb"}]).encode(),
               "pack/c.csv.gz": gzip.compress(b"title;text\ncsv;row body\n"),
               "pack/d.bin": b"\x00\x01", "pack/sub/": b""}
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    zpath = write(tmp_path, "m.zip", zbuf.getvalue())
    out, errors = read(zpath)
    assert sorted((a.title, a.source.split("::")[1]) for a in out) == [
        ("Zip headline", "pack/a.txt"), ("csv", "pack/c.csv.gz"), ("zj", "pack/b.json")]
    assert [e.path for e in errors] == [f"{zpath.resolve()}::pack/d.bin"]
    assert errors[0].reason.startswith("unsupported format (.bin)")

    tbuf = io.BytesIO()
    with tarfile.open(fileobj=tbuf, mode="w:gz") as tf:
        for name, data in [("t/LICENSE.upstream", b"MIT"), ("t/x.txt", b"Tar title\n\nTar body."),
                           ("t/inner.zip", zbuf.getvalue()), ("t/f.rss", RSS.encode())]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    tpath = write(tmp_path, "m.tar.gz", tbuf.getvalue())
    out, errors = read(tpath)
    assert len(out) == 3 + 1 + 2
    assert {a.source for a in out if a.title == "zj"} == {f"{tpath.resolve()}::t/inner.zip::pack/b.json"}


# --- bad input: reported, skipped, never raised ----------------------------------------------

BAD_INPUT = [
    ("empty.txt", b"", "empty file"),
    ("blank.json", b"  \n", "empty file"),
    ("bin.txt", b"PK\x03\x04\x00\x00binary\x00", "binary file"),
    ("bad.json", b'{"title": "x", "text": ', "malformed JSON"),
    ("truth.json", json.dumps({"id1": {"articleBody": "x", "url": "u"}}).encode(),
     "no text field (expected one of text, body, content)"),
    ("nocol.csv", b"title,summary\na,b\n", "no text column"),
    ("x.docx", b"whatever", "unsupported format (.docx)"),
    ("notfeed.xml", b"<?xml version='1.0'?><config/>", "unsupported format (.xml)"),
    # cut inside its first record (records whole before a cut are kept: issue 9)
    ("cut.json.gz", gzip.compress(b'[{"text": "a"}]' * 50, mtime=0)[:22], "truncated gzip"),
    ("cut.zip", b"PK\x03\x04" + b"\x00" * 20, "not a readable zip archive"),
    ("cut.tar.gz", gzip.compress(b"\x00" * 10, mtime=0), "not a readable tar archive"),
    ("headline-only.txt", b"Just a headline\n\n", "no article text after the headline"),
]


# Test ids are the file names: pytest-xdist workers must collect identical ids, and the
# bytes of a gzip stream would carry each worker's clock.
@pytest.mark.parametrize("name, content, reason", BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_reported(tmp_path, name, content, reason):
    path = write(tmp_path, name, content)
    out, errors = read(path)
    assert out == []
    assert len(errors) == 1 and reason in errors[0].reason, errors
    assert errors[0].path.startswith(str(path.resolve()))


def test_truncated_jsonl_gz_keeps_records_before_the_cut(tmp_path):
    lines = b"".join(b'{"title": "t%d", "text": "body %d"}\n' % (i, i) for i in range(2000))
    data = gzip.compress(lines)
    out, errors = read(write(tmp_path, "cut.jsonl.gz", data[: len(data) // 2]))
    assert 0 < len(out) < 2000 and [a.record for a in out] == list(range(1, len(out) + 1))
    assert len(errors) == 1 and "truncated gzip" in errors[0].reason


def test_discover(tmp_path):
    for name in ["a/1.txt", "a/README.md", "a/LICENSE.upstream", "a/source.MD", ".hidden/x.txt",
                 "a/.DS_Store", "b/2.json", "idx/current-target/_MAIN_1.toc", "c/readme"]:
        write(tmp_path, name, "x")
    (tmp_path / "idx" / "current").symlink_to("current-target")
    (tmp_path / "a" / "loop").symlink_to(tmp_path / "a")
    errors = []
    found = list(discover([tmp_path, tmp_path / "b" / "2.json", tmp_path / "missing"],
                          errors.append))
    assert found == [(tmp_path / "a/1.txt").resolve(), (tmp_path / "b/2.json").resolve()]
    assert [(e.path, e.reason) for e in errors] == [
        (str(tmp_path / "missing"), "no such file or folder")]


# --- real corpora ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bbc():
    return read(BBC)


@pytest.mark.corpus
def test_bbc_archive(bbc):
    out, errors = bbc
    assert errors == [] and len(out) == 2225
    assert not any("README" in a.source for a in out)
    [s199] = [a for a in out if a.source.endswith("::bbc/sport/199.txt")]
    assert "£15.8m" in s199.body
    assert len({a.id for a in out}) == 2225


@pytest.mark.corpus
def test_saudinewsnet_zip():
    out, errors = read(SAUDI / "2015-08-08.zip")
    with zipfile.ZipFile(SAUDI / "2015-08-08.zip") as zf:
        raw = json.loads(zf.read("2015-08-08.json"))
    blank = [i for i, r in enumerate(raw, 1) if not r["content"].strip()]
    assert [(e.line, e.reason) for e in errors] == [(i, "record has no text") for i in blank]
    assert [a.record for a in out] == [i for i in range(1, len(raw) + 1) if i not in blank]
    assert [a.outlet for a in out] == [r["source"] for i, r in enumerate(raw, 1) if i not in blank]
    outlets = {a.outlet for a in out}
    assert {"alriyadh", "okaz", "aawsat"} <= outlets
    assert all(a.published is not None and a.published.year == 2015 for a in out)
    assert all(a.url and a.source.endswith("::2015-08-08.json") for a in out)


@pytest.mark.corpus
def test_saudinewsnet_all_records():
    total = errors = 0
    for z in sorted(SAUDI.glob("*.zip")):
        out, errs = read(z)
        total += len(out)
        errors += len(errs)
    assert total + errors == 6010 and 24 <= errors <= 24 + 34


@pytest.mark.corpus
def test_fakenewsnet_slice(tmp_path):
    with gzip.open(FNN, "rt", encoding="utf-8") as f:
        lines = list(itertools.islice(f, 400))
    path = write(tmp_path, "slice.jsonl", "".join(lines))
    out, errors = read(path)
    raw = [json.loads(x) for x in lines]
    empty = [i for i, r in enumerate(raw, 1) if not r["text"].strip()]
    assert [e.line for e in errors] == empty
    assert len(out) == 400 - len(empty)
    by_line = {a.record: a for a in out}
    for i, r in enumerate(raw, 1):
        if i not in by_line:
            continue
        a = by_line[i]
        assert (a.url, a.outlet, a.title) == (r["url"], r["source"], " ".join(r["title"].split()))
        epoch = r["publish_date"]
        if epoch is None or not (-5364662400 <= epoch <= 4e9):  # before 1800 or far future
            assert a.published is None
        else:
            assert a.published == datetime.fromtimestamp(epoch, timezone.utc)
    assert any(a.outlet == "https://web.archive.org" for a in out)
    assert sum(a.published is not None for a in out) > 100


@pytest.mark.corpus
def test_fakenewsnet_shared_urls_share_ids():
    out, errors = read(FNN)
    assert len(out) == 2037 - 158 and len(errors) == 158
    with gzip.open(FNN, "rt", encoding="utf-8") as f:
        raw = {n: json.loads(line) for n, line in enumerate(f, 1)}
    by_key: dict[str, set[str]] = {}
    for a in out:
        r = raw[a.record]
        key = normalise_url(r["canonical_link"]) or normalise_url(r["url"])
        assert key, r["url"]
        by_key.setdefault(key, set()).add(a.id)
    assert all(len(ids) == 1 for ids in by_key.values())  # one key, one id
    assert len({a.id for a in out}) == len(by_key) < len(out)  # shared URLs share an id


@pytest.mark.corpus
def test_article_extraction_benchmark_pages():
    truth = json.loads((AEB / "ground-truth.json").read_text(encoding="utf-8"))
    for path in sorted((AEB / "html").glob("*.html.gz"))[:4]:
        [a], errors = read(path)
        assert errors == []
        assert a.title and len(a.body.split()) > 50
        expected = truth[path.name.removesuffix(".html.gz")]["articleBody"]
        # The body shares most of its words with the ground truth.
        words = set(expected.split())
        assert len(words & set(a.body.split())) > 0.7 * len(words)


@pytest.mark.corpus
def test_ground_truth_json_skipped_with_reason():
    out, errors = read(AEB / "ground-truth.json")
    assert out == []
    assert [e.reason for e in errors] == ["no text field (expected one of text, body, content)"]
    assert list(discover([AEB], lambda e: None))[0].name != "LICENSE.upstream"
    assert all(p.name not in ("LICENSE.upstream", "SOURCE.md") for p in discover([AEB], print))
