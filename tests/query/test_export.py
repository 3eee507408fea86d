"""Export every match: row count equal to total, every row read back by Python's csv
and json, the page's order, no formula for a spreadsheet, a generation held throughout."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from search.cli import main
from search.errors import QueryError
from search.models import Entities
from search.models import SearchRequest
from search.query import export
from search.query import service
from tests.conftest import write_articles_index
from tests.query.test_analysis import ARTICLES
from tests.query.test_analysis import _article
from tests.query.test_analysis import _at
from web import create_app

TRICKY = _article(90, "Delta", _at(2022, 5, 1), "=HYPERLINK(\"http://x\")",
                  "-5 dead in the flood, officials said.\nSecond line, \"quoted\", and a comma.")
TRICKY = TRICKY.replace(entities=Entities(person=("Ann Lee", "@handle"), place=("Town",)))
ALL = ARTICLES + [TRICKY]


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    return write_articles_index(ALL, tmp_path_factory.mktemp("export"))


def read_csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_every_match_in_the_page_order_read_back_by_csv_and_json(index_dir, monkeypatch):
    monkeypatch.setattr(export, "CHUNK", 2)  # several chunks, several turns at a searcher
    for sort in ("relevance", "newest", "oldest"):
        req = SearchRequest(q="flood", sort=sort, page_size=100)
        page = service.search(index_dir, req)
        total, rows = export.records(index_dir, req)
        text = "".join(export.lines(rows, "csv"))
        got = read_csv(text)
        assert total == page.total == len(got) == 6  # five dated reports and TRICKY
        assert [r["id"] for r in got] == [h.id for h in page.hits]
        assert list(got[0]) == list(export.COLUMNS)
        _, rows = export.records(index_dir, req)
        lines = "".join(export.lines(rows, "jsonl")).splitlines()
        assert [json.loads(x)["id"] for x in lines] == [h.id for h in page.hits]


def test_fields_survive_and_no_cell_is_a_formula(index_dir):
    _, rows = export.records(index_dir, SearchRequest(q="officials", filters={"outlet": ("Delta",)}))
    [row] = read_csv("".join(export.lines(rows, "csv")))
    assert row["title"] == "'=HYPERLINK(\"http://x\")"
    assert row["body"] == "'" + TRICKY.body  # newlines, quotes and commas kept
    assert row["person"] == "Ann Lee; @handle"  # joined, and not starting with a formula
    assert row["published"] == "2022-05-01T00:00:00+00:00" and row["story"] == ""
    _, rows = export.records(index_dir, SearchRequest(q="officials", filters={"outlet": ("Delta",)}))
    [line] = list(export.lines(rows, "jsonl"))
    data = json.loads(line)
    assert data["title"] == TRICKY.title and data["person"] == ["Ann Lee", "@handle"]
    assert data["body"] == TRICKY.body


def test_a_bad_query_fails_before_any_row(index_dir):
    with pytest.raises(QueryError):
        export.records(index_dir, SearchRequest(q="flood", sort="sideways"))


def test_web_streams_both_formats_and_bad_input_is_a_400(index_dir):
    client = create_app({"INDEX": str(index_dir), "TESTING": True}).test_client()
    r = client.get("/export.csv?q=flood&sort=oldest")
    assert r.status_code == 200 and r.mimetype == "text/csv" and r.headers["X-Total-Count"] == "6"
    rows = read_csv(r.get_data(as_text=True))
    assert len(rows) == 6 and rows[0]["published"] < rows[-2]["published"]
    assert rows[-1]["published"] == ""  # undated last
    r = client.get("/export.jsonl?q=&outlet=Alpha")
    assert [json.loads(x)["outlet"] for x in r.get_data(as_text=True).splitlines()] == ["Alpha"] * 3
    assert client.get("/export.csv?q=flood&sort=sideways").status_code == 400
    assert client.get("/export.xml?q=flood").status_code == 404


def test_cli_export_to_a_file_and_stdout(index_dir, tmp_path):
    out = tmp_path / "rows.jsonl"
    r = CliRunner().invoke(main, ["export", "flood", "--index", str(index_dir), "--format",
                                  "jsonl", "-o", str(out), "--sort", "newest"])
    assert r.exit_code == 0, r.output
    assert len(out.read_text(encoding="utf-8").splitlines()) == 6
    assert "Wrote 6 articles" in r.output
    r = CliRunner().invoke(main, ["export", "flood", "--index", str(index_dir), "--quiet"])
    assert r.exit_code == 0 and len(read_csv(r.output)) == 6
    r = CliRunner().invoke(main, ["export", '"unclosed OR', "--index", str(index_dir),
                                  "--from", "2022-13-01"])
    assert r.exit_code == 2


def test_an_export_keeps_its_generation_while_a_new_one_goes_live(tmp_path, monkeypatch):
    monkeypatch.setattr(export, "CHUNK", 1)
    index_dir = write_articles_index(ALL, tmp_path / "ix")
    total, rows = export.records(index_dir, SearchRequest(q="flood", sort="oldest"))
    first = next(rows)
    # a rebuild switches the index to a new generation with one article only
    write_articles_index(ALL[:1], index_dir)
    assert service.search(index_dir, SearchRequest(q="flood")).total == 1
    rest = list(rows)  # the export reads on from the generation it started with
    assert [first["id"]] + [r["id"] for r in rest] == [
        h.id for h in sorted((a for a in ALL if "flood" in a.body),
                             key=lambda a: (a.published is None, a.published or _at(1, 1, 1), a.id))]
    assert len(rest) + 1 == total == 6


def test_csv_cells_are_quoted_as_the_csv_module_quotes_them():
    """The export writes its CSV itself (the csv module's writer cost a third of an
    export): the same text as ``csv.writer`` with the formula guard, cell for cell."""
    tricky = ["plain", "", "a,b", 'say "hi"', "line\nbreak", "cr\rhere", "crlf\r\n",
              "=1+1", "+1", "-5 dead", "@handle", "'quoted'", " lead space", "tab\there",
              '"', ",", "ünïcödé, ok", "=\"x\",\n"]
    for shift in range(len(tricky)):
        row = {c: tricky[(i + shift) % len(tricky)] for i, c in enumerate(export.COLUMNS)}
        for kind in ("person", "org", "place"):
            row[kind] = [row[kind], tricky[shift]] if shift % 2 else []
        # written by the engine, never quoted: article ids and an ISO date
        row.update(id="0123456789abcdef", story="" if shift % 2 else "fedcba9876543210",
                   published="" if shift % 3 else "2022-05-01T00:00:00+00:00")
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerow(
            [export.safe_cell("; ".join(v)) if isinstance(v, list) else export.safe_cell(v)
             for v in row.values()])
        header, line = list(export.csv_lines(iter([row])))
        assert line == buf.getvalue()
        assert header == ",".join(export.COLUMNS) + "\r\n"


def test_chunk_boundaries_every_row_once_in_order(index_dir, monkeypatch):
    """Exactly one chunk, one chunk and one row, and one row a chunk: the same rows."""
    req = SearchRequest(q="", sort="oldest")
    page = SearchRequest(q="", sort="oldest", page_size=100)
    want = [h.id for h in service.search(index_dir, page).hits]
    assert len(want) == len(ALL)
    for chunk in (len(ALL), len(ALL) - 1, 1):
        monkeypatch.setattr(export, "CHUNK", chunk)
        total, rows = export.records(index_dir, req)
        assert total == len(want)
        assert [r["id"] for r in rows] == want, chunk


def test_segments_and_deletions_read_as_whoosh_reads_them(tmp_path, monkeypatch):
    """Stored fields are read straight from each segment: in a generation of two
    segments with a deleted document, every row holds what Whoosh's own reader gives."""
    from whoosh import index as whoosh_index

    from search import storage
    from search.query import generation
    from search.schema import to_document

    index_dir = write_articles_index(ALL[:3], tmp_path / "ix")
    ix = whoosh_index.open_dir(str(storage.require_current(index_dir)))
    with ix.writer() as w:  # a second segment
        w.delete_by_term("id", ALL[0].id)
        for a in ALL[3:]:
            w.add_document(**to_document(a))
    monkeypatch.setattr(export, "CHUNK", 4)
    req = SearchRequest(q="", sort="newest")
    total, rows = export.records(index_dir, req)
    got = list(rows)
    assert total == len(got) == len(ALL) - 1
    with generation.use(index_dir) as gen:
        assert len(list(gen.searcher.reader().leaf_readers())) == 2
        docs, _ = export.ordered(gen, req, service.DEFAULT_SETTINGS)
        for d, row in zip(docs.tolist(), got):
            stored = gen.searcher.stored_fields(d)
            assert (row["id"], row["title"], row["body"], row["outlet"]) == (
                stored["id"], stored["title"], stored["body"], stored["outlet"])
    assert ALL[0].id not in {r["id"] for r in got}


def test_an_export_gives_way_to_requests_but_is_never_stopped(index_dir, monkeypatch):
    """While a request reads the index, the export waits (GIVE_WAY_SECONDS before each
    row here, as RUN_SECONDS is 0), and still ends; it is not counted as a request."""
    import threading
    import time

    from search.query import generation

    monkeypatch.setattr(export, "CHUNK", 2)
    monkeypatch.setattr(export, "GIVE_WAY_SECONDS", 0.05)
    monkeypatch.setattr(export, "RUN_SECONDS", 0.0)
    total, rows = export.records(index_dir, SearchRequest(q="flood"))
    assert generation.busy() == 0
    first = next(rows)  # the export reads, in the background: nothing busy
    assert generation.busy() == 0
    held, release = threading.Event(), threading.Event()

    def request():
        with generation.use(index_dir):
            held.set()
            release.wait(30)

    t = threading.Thread(target=request)
    t.start()
    try:
        held.wait(30)
        assert generation.busy() == 1
        t0 = time.monotonic()
        rest = list(rows)  # a request holds the index throughout: the export still ends
        waited = time.monotonic() - t0
    finally:
        release.set()
        t.join()
    assert [first["id"]] + [r["id"] for r in rest] == [
        h.id for h in service.search(index_dir, SearchRequest(q="flood", page_size=100)).hits]
    assert len(rest) + 1 == total == 6
    assert waited >= 0.05 * 5  # it gave way before each of the five rows
    assert generation.busy() == 0


def test_every_web_request_counts_while_it_is_answered(index_dir):
    """The web app counts each request as being answered (an export gives way to it),
    an export's own request only until its rows start to stream."""
    from search.query import generation

    client = create_app({"INDEX": str(index_dir), "TESTING": True}).test_client()
    seen = []
    app = client.application

    @app.get("/_busy")
    def _busy():
        seen.append(generation.busy())
        return "ok"

    assert client.get("/_busy").status_code == 200 and seen == [1]
    assert generation.busy() == 0
    r = client.get("/export.csv?q=flood", buffered=False)
    assert generation.busy() == 0  # streaming: its request has ended
    assert len(read_csv(r.get_data(as_text=True))) == 6
    r.close()
    assert client.get("/no-such-page").status_code == 404 and generation.busy() == 0
