"""Issue 9 follow-up: what the bad-input table still found after the hardening.

Five regressions of the streaming readers (a JSON BOM, UTF-16 JSON, NaN in JSON, a bare
``\\r`` line end in JSON Lines and CSV) and the bad input they read silently (bytes
replaced, a CSV header with no rows, a cut last row, a quote left open). Small files
written here by hand into ``tmp_path``, read by the real readers and the real indexer.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from search.cli import main
from search.ingest.indexer import index_paths
from search.ingest.readers import read_file

STORY = "The harbour board met on Tuesday and agreed to rebuild the sea wall before winter."


def rec(n: int, **extra) -> dict:
    return {"title": f"Harbour story {n}", "text": f"Story {n}. {STORY}", **extra}


def read(path: Path):
    errors = []
    return list(read_file(path, errors.append)), errors


def shown(errors) -> list[tuple[int | None, str, bool]]:
    return [(e.line, e.reason, e.warning) for e in errors]


# --- the five regressions ------------------------------------------------------------------

def test_a_json_file_with_a_utf8_bom_is_read(tmp_path):
    path = tmp_path / "one.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(rec(1)).encode())
    out, errors = read(path)
    assert [a.title for a in out] == ["Harbour story 1"]
    assert errors == []


def test_a_utf16_json_array_is_read(tmp_path):
    path = tmp_path / "two.json"
    path.write_bytes(json.dumps([rec(1), rec(2, title="Caf\u00e9 story")],
                                ensure_ascii=False).encode("utf-16"))
    out, errors = read(path)
    assert [a.title for a in out] == ["Harbour story 1", "Caf\u00e9 story"]
    assert errors == []


def test_nan_and_infinity_in_json_read_as_no_value(tmp_path):
    # Python's json writes these (json.dumps(float("nan"))); ijson alone rejects them.
    path = tmp_path / "nan.json"
    text = ('[{"title": "NaN and Infinity in a title", "text": "' + STORY + '", '
            '"date": NaN, "score": -Infinity},\n {"title": "Second", "text": "' + STORY
            + '", "date": "2021-03-04", "n": [Infinity, 1]}]')
    path.write_text(text, encoding="utf-8")
    out, errors = read(path)
    assert errors == []
    assert [a.title for a in out] == ["NaN and Infinity in a title", "Second"]
    assert out[0].published is None
    assert out[1].published.date().isoformat() == "2021-03-04"


def test_a_bare_cr_ends_a_json_lines_record(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(json.dumps(rec(1)).encode() + b"\r\n" + json.dumps(rec(2)).encode()
                     + b"\r" + json.dumps(rec(3)).encode() + b"\n")
    out, errors = read(path)
    assert [(a.record, a.title) for a in out] == [
        (1, "Harbour story 1"), (2, "Harbour story 2"), (3, "Harbour story 3")]
    assert errors == []


def test_a_bare_cr_ends_a_csv_row(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"title,text\r\nOne,First story.\rTwo,Second story.\nThree,Third story.\r\n"
                     b'Four,"A quoted\r\nline break"\r\n')
    out, errors = read(path)
    assert [(a.title, a.body) for a in out] == [
        ("One", "First story."), ("Two", "Second story."), ("Three", "Third story."),
        ("Four", "A quoted\r\nline break")]
    assert errors == []


# --- bad input that was read silently ------------------------------------------------------

def test_a_json_lines_record_with_bytes_replaced_is_indexed_with_a_warning(tmp_path):
    path = tmp_path / "bytes.jsonl"
    path.write_bytes(json.dumps(rec(1)).encode() + b"\n"
                     + b'{"title": "Odd \x81", "text": "Body \x8f\x90 here\x00."}\n'
                     + json.dumps(rec(3)).encode() + b"\n")
    out, errors = read(path)
    assert [a.title for a in out] == ["Harbour story 1", "Odd \ufffd", "Harbour story 3"]
    assert shown(errors) == [
        (2, "3 undecodable bytes and 1 NUL byte replaced (U+FFFD); indexed", True)]


def test_a_csv_row_with_bytes_replaced_is_indexed_with_a_warning(tmp_path):
    path = tmp_path / "bytes.csv"
    path.write_bytes(b"title,text\nOne,First story.\nJunk \x81\x8d,Body \x8f\x90\x9d.\n")
    out, errors = read(path)
    assert [a.title for a in out] == ["One", "Junk \ufffd\ufffd"]
    assert shown(errors) == [(2, "line 3: 5 undecodable bytes replaced (U+FFFD); indexed", True)]


def test_a_csv_with_a_header_and_no_rows_is_reported(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("title,text,date\n\n", encoding="utf-8")
    out, errors = read(path)
    assert out == []
    assert shown(errors) == [(None, "no rows under the header", False)]


def test_a_csv_cut_in_its_last_row_is_indexed_and_named_with_its_line(tmp_path):
    path = tmp_path / "cut.csv"
    path.write_text("title,text,date\nOne,First story.,2021-01-01\n"
                    "Two,Second story that stops", encoding="utf-8")
    out, errors = read(path)
    assert [(a.title, a.body) for a in out] == [
        ("One", "First story."), ("Two", "Second story that stops")]
    assert shown(errors) == [(2, "the file ends in this row (line 3), which has 2 of 3 "
                                 "columns: cut short? indexed what there is", True)]


def test_an_unclosed_quote_mid_file_is_reported_and_the_rows_after_it_read(tmp_path):
    # The quote that opens on line 3 is "closed" by the first quote of line 4; csv then
    # reads row 4 into row 3's text. The rows after it must come out as rows.
    path = tmp_path / "quote.csv"
    path.write_text('title,text\n"One","First story."\nBroken,"this never closes\n'
                    '"Three","Third story, quoted."\n"Four","Fourth story."\n',
                    encoding="utf-8")
    out, errors = read(path)
    assert [(a.title, a.body) for a in out] == [
        ("One", "First story."), ("Three", "Third story, quoted."),
        ("Four", "Fourth story.")]
    [err] = errors
    assert err.line == 2 and not err.warning
    assert "unclosed quote" in err.reason and "line 3" in err.reason


def test_a_quoted_field_over_several_lines_is_not_an_unclosed_quote(tmp_path):
    path = tmp_path / "multi.csv"
    path.write_text('title,text\nOne,"First line,\nsecond line, \'\'\n""quoted"" third"\n'
                    'Two,"a ""b"" c"\n', encoding="utf-8")
    out, errors = read(path)
    assert [a.body for a in out] == ['First line,\nsecond line, \'\'\n"quoted" third',
                                     'a "b" c']
    assert errors == []


def test_utf16_json_lines_and_csv_are_read(tmp_path):
    lines = tmp_path / "u16.jsonl"
    lines.write_bytes((json.dumps(rec(1)) + "\r\n" + json.dumps(rec(2)) + "\r\n")
                      .encode("utf-16"))
    table = tmp_path / "u16.csv"
    table.write_bytes("title,text\r\nCaf\u00e9,First story.\r\n".encode("utf-16"))
    assert [a.title for a in read(lines)[0]] == ["Harbour story 1", "Harbour story 2"]
    assert [a.title for a in read(table)[0]] == ["Caf\u00e9"]


# --- a warning through the indexer and the CLI ---------------------------------------------

def test_a_warning_is_listed_apart_and_does_not_fail_the_file(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    odd = data / "odd.jsonl"
    odd.write_bytes(json.dumps(rec(1)).encode() + b"\n"
                    + b'{"title": "Odd one", "text": "Body \x81 here."}\n')
    ix = tmp_path / "ix"

    first = index_paths([data], ix, processes=1)
    assert (first.indexed, first.skipped) == (2, [])
    assert [(Path(e.path).name, e.line, e.warning) for e in first.warnings] == [
        ("odd.jsonl", 2, True)]
    # Recorded as read (not a whole-file failure): not read again, the warning kept.
    again = index_paths([data], ix, processes=1)
    assert (again.indexed, again.files_unchanged, again.unchanged) == (0, 1, 2)
    assert [(Path(e.path).name, e.line, e.warning) for e in again.warnings] == [
        ("odd.jsonl", 2, True)]

    result = CliRunner().invoke(main, ["index", str(data), "--index", str(tmp_path / "ix2"),
                                       "--processes", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "skipped 0; 1 indexed with warnings." in result.output
    assert (f"Indexed with warnings:\n  {odd}:2: 1 undecodable byte replaced (U+FFFD); "
            "indexed\n") in result.output


def test_nan_is_found_at_every_cut_between_pieces_of_the_stream():
    # The JSON text reaches the rewrite in pieces (64 KB each): a constant, an escape or
    # a run of backslashes may be cut anywhere, and a string may hold "NaN" as text.
    from search.ingest.readers.jsonrec import _Constants

    doc = ('[{"a": "NaN \\" Infinity\\\\\\\\", "b": NaN, "c": -Infinity, '
           '"d": [Infinity, "x\\\\"], "e": "-Infinity", "f": 1}]')
    want = json.loads(doc)
    want[0].update(b=None, c=None, d=[None, "x\\"])
    for size in range(1, len(doc) + 1):
        rewrite = _Constants()
        pieces = [rewrite.feed(doc[i:i + size], False) for i in range(0, len(doc), size)]
        assert json.loads("".join(pieces) + rewrite.feed("", True)) == want, size


def test_a_large_json_array_with_nan_and_escapes_reads_every_record(tmp_path):
    records = [{"title": f"Story {i}", "text": f"Said \"{i}\" \\ " + "word " * (i % 97 + 40),
                "score": float("nan") if i % 3 else float("inf")} for i in range(600)]
    path = tmp_path / "big.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    assert path.stat().st_size > 3 * 64 * 1024
    out, errors = read(path)
    assert errors == []
    assert [(a.title, a.body) for a in out] == [(r["title"], r["text"]) for r in records]


# --- text and HTML: replaced bytes are reported too ----------------------------------------

def test_nul_bytes_in_a_text_file_are_replaced_and_reported(tmp_path):
    path = tmp_path / "story.txt"
    path.write_bytes(b"Harbour reopens\n\nThe wall\x00 held and the harbour\x00 reopened.\n")
    out, errors = read(path)
    assert shown(errors) == [(None, "2 NUL bytes replaced; indexed", True)]
    assert out[0].body == "The wall\ufffd held and the harbour\ufffd reopened."


def test_a_utf16_text_file_with_a_bad_pair_is_reported(tmp_path):
    path = tmp_path / "story.txt"
    good = "Harbour reopens\n\nThe wall held all winter.\n".encode("utf-16")
    path.write_bytes(good + b"\x00\xd8")  # a lone high surrogate at the end
    out, errors = read(path)
    assert [(e.line, e.warning) for e in errors] == [(None, True)]
    assert "undecodable byte" in errors[0].reason
    assert out[0].title == "Harbour reopens"


def test_an_html_page_with_undecodable_bytes_is_indexed_with_a_warning(tmp_path):
    path = tmp_path / "page.html"
    body = "<p>The harbour wall held through the winter storms, the council said.</p>" * 5
    path.write_bytes(b"<html><head><title>Harbour reopens</title></head><body><article>"
                     + body.encode() + b"<p>Cost \x81 rose.</p></article></body></html>")
    out, errors = read(path)
    assert len(out) == 1
    assert [(e.path, e.warning) for e in errors] == [(str(path), True)]
    assert "1 undecodable byte replaced" in errors[0].reason


def test_a_clean_text_file_gives_no_warning(tmp_path):
    path = tmp_path / "story.txt"
    path.write_bytes("Harbour reopens\n\nThe wall cost £120,000 — less than planned.\n"
                     .encode("utf-8"))
    out, errors = read(path)
    assert errors == [] and out[0].title == "Harbour reopens"
