"""Issue 9, the write side: bad input costs only itself — readers, size limits, per-record
isolation, file names that are not UTF-8. Real files in ``tmp_path``, the real indexer
and a real Whoosh index on disk; every fixture article is written here by hand."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
import tracemalloc
import zipfile
from pathlib import Path

from click.testing import CliRunner
from whoosh import index as whoosh_index

from search import storage
from search.cli import main
from search.config import Settings
from search.ingest.indexer import build_index
from search.ingest.indexer import index_paths
from search.ingest.manifest import Manifest
from search.ingest.readers import discover
from search.ingest.readers import read_file
from search.ingest.readers.limits import MB
from search.ingest.readers.limits import Limits

TEXT = ("The harbour board of Porthmoor met on Tuesday and agreed to rebuild the sea wall "
        "before the winter storms, the chair said after the vote.")


def rec(n: int, url: str | None = None) -> dict:
    r = {"title": f"Harbour story {n}", "text": f"Story {n}. {TEXT}"}
    if url:
        r["url"] = url
    return r


def jsonl(records) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode("utf-8")


def read(path: Path, limits: Limits | None = None):
    errors = []
    return list(read_file(path, errors.append, limits)), errors


def stored(index_dir: Path) -> dict[str, dict]:
    ix = whoosh_index.open_dir(str(storage.current(index_dir)))
    with ix.searcher() as s:
        return {d["id"]: d for d in s.all_stored_fields()}


def titles(index_dir: Path) -> set[str]:
    return {d["title"] for d in stored(index_dir).values()}


# --- defect 3: a file name that is not UTF-8 ------------------------------------------------

def test_a_file_name_that_is_not_utf8_is_indexed_updated_and_removed(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    odd = data / os.fsdecode(b"caf\xe9-\xff.jsonl")  # Latin-1 bytes: not UTF-8
    odd.write_bytes(jsonl([rec(1, "https://example.com/odd/1"), rec(2)]) + b"{broken\n")
    (data / "plain.jsonl").write_bytes(jsonl([rec(3, "https://example.com/plain/3")]))
    ix = tmp_path / "ix"

    first = index_paths([data], ix, processes=1)
    assert (first.indexed, first.articles_total) == (3, 3)
    assert [(Path(e.path).name, e.line) for e in first.skipped] == [(odd.name, 3)]
    assert str(odd) in Manifest(storage.current(ix)).files()
    sources = sorted(s for d in stored(ix).values() for s in d["sources"])
    assert f"{odd}#1" in sources and f"{odd}#2" in sources

    again = index_paths([data], ix, processes=1)
    assert (again.indexed, again.files_unchanged, again.unchanged) == (0, 2, 3)

    odd.write_bytes(jsonl([rec(1, "https://example.com/odd/1")]))  # record 2 goes
    os.utime(odd, ns=(0, odd.stat().st_mtime_ns + 10**9))
    updated = index_paths([data], ix, processes=1)
    assert (updated.indexed, updated.removed, updated.articles_total) == (1, 1, 2)

    rebuilt = build_index([data], ix, processes=1)
    assert rebuilt.generation == storage.current(ix).name != first.generation
    odd.unlink()
    removed = index_paths([data], ix, processes=1)
    assert (removed.removed, removed.files_removed, removed.articles_total) == (1, 1, 1)
    assert titles(ix) == {"Harbour story 3"}


def test_the_summary_shows_a_name_that_is_not_utf8_escaped(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / os.fsdecode(b"\xff.jsonl")).write_bytes(
        jsonl([rec(1, "https://example.com/1")]) + b"{broken\n")
    result = CliRunner().invoke(main, ["index", str(data), "--index", str(tmp_path / "ix"),
                                       "-q", "--processes", "1"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"{data}/\\xff.jsonl:2: malformed JSON" in result.output


# --- defect 4: size limits, enforced while streaming ----------------------------------------

def gz_bomb_text(size: int) -> bytes:
    """A .txt.gz of a headline and ``size`` bytes of text: a few KB on disk."""
    line = b"The sea wall held again this winter, the harbour master said. " * 16 + b"\n"
    body = line * (size // len(line) + 1)
    return gzip.compress(b"Bomb headline\n\n" + body, compresslevel=9)


def test_a_gz_bomb_is_skipped_by_the_record_limit_and_the_run_goes_on(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    bomb = data / "bomb.txt.gz"
    bomb.write_bytes(gz_bomb_text(4 * MB))
    assert bomb.stat().st_size < 100_000
    (data / "good.jsonl").write_bytes(jsonl([rec(1), rec(2)]))
    report = index_paths([data], tmp_path / "ix", processes=1,
                         settings=Settings({"MAX_RECORD_BYTES": 1 * MB}))
    assert report.articles_total == 2
    [err] = report.skipped
    assert err.path == str(bomb) and "larger than the 1 MB limit for one article" in err.reason
    assert "NEWSFACET_MAX_RECORD_BYTES" in err.reason


def test_a_gz_bomb_is_never_read_whole(tmp_path):
    """Memory stays near the limit, not the decompressed size (traced allocations)."""
    bomb = tmp_path / "bomb.txt.gz"
    bomb.write_bytes(gz_bomb_text(24 * MB))
    tracemalloc.start()
    try:
        out, errors = read(bomb, Limits(record=1 * MB))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out == [] and "larger than the 1 MB limit" in errors[0].reason
    assert peak < 6 * MB, f"peak {peak / MB:.1f} MB"


def test_a_jsonl_line_over_the_record_limit_is_named_and_the_rest_read(tmp_path):
    big = {"title": "Huge", "text": "word " * (300 * 1024)}  # 1.5 MB
    path = tmp_path / "recs.jsonl"
    path.write_bytes(jsonl([rec(1), big, rec(3)]))
    out, errors = read(path, Limits(record=1 * MB))
    assert [a.title for a in out] == ["Harbour story 1", "Harbour story 3"]
    assert [(e.line, "larger than the 1 MB limit" in e.reason) for e in errors] == [(2, True)]


def test_a_json_array_item_over_the_record_limit_is_named_and_the_rest_read(tmp_path):
    big = {"title": "Huge", "text": "word " * (300 * 1024)}
    path = tmp_path / "recs.json"
    path.write_text(json.dumps([rec(1), big, rec(3)]), encoding="utf-8")
    out, errors = read(path, Limits(record=1 * MB))
    assert [a.record for a in out] == [1, 3]
    assert [(e.line, "larger than the 1 MB limit" in e.reason) for e in errors] == [(2, True)]


def test_a_member_over_the_member_limit_keeps_the_records_before_the_cut(tmp_path):
    path = tmp_path / "many.jsonl.gz"
    records = [rec(n) for n in range(1, 20001)]  # about 4 MB once decompressed
    path.write_bytes(gzip.compress(jsonl(records)))
    out, errors = read(path, Limits(member=1 * MB))
    assert 1000 < len(out) < 20000
    assert [a.record for a in out] == list(range(1, len(out) + 1))
    [err] = errors
    assert "larger than the 1 MB limit for one archive member" in err.reason
    assert f"kept the {len(out)} articles read before the cut" in err.reason


def test_an_archive_over_the_file_limit_stops_there_and_says_so(tmp_path):
    path = tmp_path / "pack.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for n in range(1, 6):
            payload = jsonl([rec(n * 1000 + i) for i in range(3000)])  # ~600 KB each
            info = tarfile.TarInfo(f"part{n}.jsonl")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    out, errors = read(path, Limits(file=1 * MB))
    assert 3000 <= len(out) < 15000
    assert any(e.path == str(path.resolve()) and "limit for one input file" in e.reason
               for e in errors), errors


# --- defect 5: one bad record costs only itself ---------------------------------------------

def test_a_jsonl_line_nested_5000_deep_skips_only_that_line(tmp_path):
    deep = '{"text": ' + "[" * 5000 + "]" * 5000 + "}"
    path = tmp_path / "recs.jsonl"
    path.write_bytes(jsonl([rec(1)]) + deep.encode() + b"\n" + jsonl([rec(3)]))
    out, errors = read(path)
    assert [a.title for a in out] == ["Harbour story 1", "Harbour story 3"]
    assert [(e.line, "nested too deeply" in e.reason) for e in errors] == [(2, True)]


def test_a_json_array_record_nested_5000_deep_skips_only_that_record(tmp_path):
    deep = {"title": "Deep", "text": "x"}
    path = tmp_path / "recs.json"
    text = json.dumps([rec(1), deep, rec(3)]).replace(
        '"text": "x"', '"text": ' + "[" * 5000 + '"x"' + "]" * 5000)
    path.write_text(text, encoding="utf-8")
    out, errors = read(path)
    assert [a.record for a in out] == [1, 3]
    assert [e.line for e in errors] == [2]


def test_a_nul_byte_in_a_csv_costs_nothing_and_is_reported(tmp_path):
    path = tmp_path / "recs.csv"
    path.write_bytes(b"title,text\nOne,First story about the harbour.\n"
                     b"Two,Second story\x00 about the wall.\nThree,Third story.\n")
    out, errors = read(path)
    # Indexed all the same, and said so (a warning, not a skip).
    assert [(e.line, e.reason, e.warning) for e in errors] == [
        (2, "line 3: 1 NUL byte replaced (U+FFFD); indexed", True)]
    assert [a.title for a in out] == ["One", "Two", "Three"]
    assert out[1].body == "Second story\ufffd about the wall."


def test_a_byte_cp1252_lacks_costs_nothing_and_is_reported(tmp_path):
    path = tmp_path / "story.txt"
    path.write_bytes(b"Harbour reopens\n\nThe wall cost \xa3120,000 \x81 and was finished early.\n")
    out, errors = read(path)
    # Indexed all the same, and said so (a warning, not a skip).
    assert [(e.path, e.line, e.reason, e.warning) for e in errors] == [
        (str(path), None, "1 undecodable byte replaced (U+FFFD); indexed", True)]
    assert out[0].body == "The wall cost \xa3120,000 \ufffd and was finished early."


def make_zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_a_truncated_zip_keeps_its_intact_members(tmp_path):
    members = {f"a/{n}.txt": f"Headline {n}\n\n{TEXT} {os.urandom(600).hex()}".encode()
               for n in range(1, 4)}
    whole = make_zip(members)
    # Cut inside the third member: the central directory (at the end) is gone.
    third = whole.index(b"a/3.txt")
    path = tmp_path / "cut.zip"
    path.write_bytes(whole[: third + 200])
    out, errors = read(path)
    assert [a.title for a in out] == ["Headline 1", "Headline 2"]
    reasons = " | ".join(e.reason for e in errors)
    assert "without its central directory" in reasons and "cut short" in reasons


def test_a_zip_member_stored_with_a_data_descriptor_is_read_without_the_directory(tmp_path):
    # A zip written to a stream (no seeking): sizes follow each member's data.
    class Unseekable(io.RawIOBase):
        def __init__(self):
            self.buf = io.BytesIO()

        def writable(self):
            return True

        def write(self, b):
            return self.buf.write(b)

    out_stream = Unseekable()
    with zipfile.ZipFile(out_stream, "w", zipfile.ZIP_DEFLATED) as z:
        for n in (1, 2):
            with z.open(f"s{n}.txt", "w") as f:
                f.write(f"Streamed {n}\n\n{TEXT}".encode())
    whole = out_stream.buf.getvalue()
    path = tmp_path / "stream.zip"
    path.write_bytes(whole[: whole.rindex(b"PK\x01\x02") - 1])  # no central directory
    out, errors = read(path)
    assert [a.title for a in out] == ["Streamed 1", "Streamed 2"]
    assert len(errors) == 1 and "read its 2 members" in errors[0].reason


def test_records_whole_before_a_cut_json_array_are_kept(tmp_path):
    data = json.dumps([rec(n) for n in range(1, 40)]).encode()
    path = tmp_path / "cut.json.gz"
    whole = gzip.compress(data)
    path.write_bytes(whole[: len(whole) * 2 // 3])
    out, errors = read(path)
    assert 0 < len(out) < 39 and [a.record for a in out] == list(range(1, len(out) + 1))
    assert len(errors) == 1 and "truncated gzip" in errors[0].reason


# --- defect 8 (ingest): reported, not silent ------------------------------------------------

def test_unsafe_tar_member_paths_are_reported_never_read(tmp_path):
    path = tmp_path / "pack.tar"
    with tarfile.open(path, "w") as tar:
        for name in ("ok.txt", "../../x.txt", "/etc/y.txt"):
            payload = f"Title {name}\n\n{TEXT}".encode()
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    out, errors = read(path)
    assert [a.title for a in out] == ["Title ok.txt"]
    assert sorted((e.path.split("::")[1], e.reason) for e in errors) == [
        ("../../x.txt", "unsafe path in archive (absolute or with '..'); skipped"),
        ("/etc/y.txt", "unsafe path in archive (absolute or with '..'); skipped")]


def test_a_broken_link_is_reported(tmp_path):
    (tmp_path / "good.txt").write_text(f"Title\n\n{TEXT}\n", encoding="utf-8")
    (tmp_path / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    errors = []
    found = list(discover([tmp_path], errors.append))
    assert found == [(tmp_path / "good.txt").resolve()]
    assert [(Path(e.path).name, e.reason.split(" (")[0]) for e in errors] == [
        ("gone.txt", "broken link")]


def test_a_fifo_is_reported_as_not_a_regular_file_and_never_opened(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "good.txt").write_text(f"Title\n\n{TEXT}\n", encoding="utf-8")
    os.mkfifo(data / "pipe.txt")  # opening it for reading would block the run
    report = index_paths([data, data / "pipe.txt"], tmp_path / "ix", processes=1)
    assert report.articles_total == 1
    assert [(Path(e.path).name, e.reason) for e in report.skipped] == [
        ("pipe.txt", "not a regular file (a FIFO, socket or device); skipped")] * 2


def test_an_unclosed_csv_quote_is_reported_where_it_opens(tmp_path):
    path = tmp_path / "recs.csv"
    path.write_text('title,text\n'
                    'One,First story about the harbour.\n'
                    'Two,"Second story never closes its quote.\n'
                    'Three,Third story.\n'
                    'Four,Fourth story.\n', encoding="utf-8")
    out, errors = read(path)
    [err] = errors
    assert "unclosed quote" in err.reason and "line 3" in err.reason
    assert "record has no text" not in err.reason
    assert [a.title for a in out] == ["One", "Three", "Four"]


def test_a_streamed_json_array_names_records_without_text_once_it_knows_the_file(tmp_path):
    path = tmp_path / "recs.json"
    path.write_text(json.dumps([{"id": 1, "note": "no text"}, rec(2), {"id": 3}]),
                    encoding="utf-8")
    out, errors = read(path)
    assert [a.record for a in out] == [2]
    assert [(e.line, e.reason) for e in errors] == [(1, "record has no text"),
                                                    (3, "record has no text")]


def test_a_manifest_written_with_text_paths_is_still_understood(tmp_path):
    """Manifests of earlier versions hold paths as SQLite text; an update reads them."""
    import sqlite3

    data = tmp_path / "data"
    data.mkdir()
    a = data / "a.jsonl"
    a.write_bytes(jsonl([rec(1), rec(2)]))
    (data / "b.jsonl").write_bytes(jsonl([rec(3)]))
    ix = tmp_path / "ix"
    index_paths([data], ix, processes=1)
    db = sqlite3.connect(storage.current(ix) / "manifest.sqlite")
    db.execute("UPDATE files SET path = CAST(path AS TEXT)")
    db.execute("UPDATE sources SET key = CAST(key AS TEXT), file = CAST(file AS TEXT)")
    db.commit()
    assert db.execute("SELECT DISTINCT typeof(path) FROM files").fetchall() == [("text",)]
    db.close()

    again = index_paths([data], ix, processes=1)
    assert (again.files_unchanged, again.indexed) == (2, 0)
    a.unlink()
    gone = index_paths([data], ix, processes=1)
    assert (gone.removed, gone.articles_total) == (2, 1)
