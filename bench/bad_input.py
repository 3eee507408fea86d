"""Bad-input table: does ``newsfacet index`` survive every kind of bad file, and lose nothing?

Each kind is a small generator that writes, into a fresh temporary folder, one bad file
(or a bad record among good ones, or an odd folder entry) and a few good articles beside
it. The folder is indexed by the real CLI (``.venv/bin/newsfacet index``) in a subprocess
with a timeout and an address-space cap; then ``newsfacet search --json`` looks for a
made-up word planted in each good article, and the run's output is searched for the bad
file's name. A second ``index`` run, after one more good file is added, checks that the
index still opens and updates.

A kind is **clean** when every one of these holds:

- the run ends within the timeout and the memory cap;
- its exit code is 0 -- or 1 when the folder holds genuinely nothing usable (no good
  article at all, and no index yet: the documented "nothing usable" exit);
- no Python traceback is printed;
- every good article is found by its planted word, as an article of its own (its title
  holds the word: a record swallowed into its neighbour's text is lost); an
  odd-but-valid item, such as a record whose title is a number or a readable file with a
  non-UTF-8 name, is a good article too;
- every bad item that must be reported is named in the output (file, or archive member);
  an item that may go either way ("either": a gz bomb, a file of undecodable bytes) is
  clean when it is indexed *or* named;
- nothing that must stay out got in (a local file named by an XML external entity or a
  tar symlink member);
- a date the kind checks came out as expected (``None`` for garbage, pre-1800 and future);
- the second run exits 0 without a traceback, finds the added article and every one found
  before, and the index holds exactly one article more than after the first run.

Outcomes, the first that applies: hung, OOM (the cap was hit: MemoryError in stderr, or
killed), crashed (a traceback, or an exit code other than 0/1), lost N good articles,
leaked local file, not reported, exit N (0/1 the wrong way round), wrong date, second
run failed, clean.

All fixture text is made up here; no corpus text. Run::

    .venv/bin/python -m bench.bad_input                   # every kind: 4-15 minutes
    .venv/bin/python -m bench.bad_input --kinds txt_empty,fs_fifo --keep /tmp/bad
"""

from __future__ import annotations

import argparse
import bz2
import contextlib
import gzip
import io
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NEWSFACET = ROOT / ".venv" / "bin" / "newsfacet"
TIMEOUT = 60.0
MEMORY_CAP = 2 << 30  # bytes of address space per index run (RLIMIT_AS)
DEEP = 5000  # nesting depth of the deep JSON and HTML kinds
BOMB = 100 << 20  # decompressed bytes of the zip and gz bombs
HUGE = 5 << 20  # characters of the huge-line kinds


# --- fixtures -----------------------------------------------------------------------------

@dataclass
class Fixture:
    """What one kind wrote and what a clean run must show.

    :param good: planted words of articles that must be searchable
    :param report: for each bad item, names of which one must appear in the output
    :param either: ``(word, names)``: the item is indexed (word found) or named
    :param secret: words that must never be searchable nor printed
    :param dates: planted word -> the ``published`` date expected (``YYYY-MM-DD`` or None)
    :param untitled: good words not planted in their article's title (only the body)
    :param note: a remark printed beside the outcome
    """

    good: list[str] = field(default_factory=list)
    report: list[list[str]] = field(default_factory=list)
    either: list[tuple[str, list[str]]] = field(default_factory=list)
    secret: list[str] = field(default_factory=list)
    dates: dict[str, str | None] = field(default_factory=dict)
    untitled: set[str] = field(default_factory=set)
    note: str = ""


class Words:
    """Made-up words, unique per kind, that no analyzer splits or stems into another."""

    _SYLLABLES = ["ba", "ko", "zu", "mi", "te", "ra", "vo", "ny", "pe", "lu", "qi", "do"]

    def __init__(self, seed: str):
        self._rng = random.Random(seed)
        self._used: set[str] = set()

    def __call__(self) -> str:
        while True:
            w = "zq" + "".join(self._rng.choice(self._SYLLABLES) for _ in range(4)) + "x"
            if w not in self._used:
                self._used.add(w)
                return w


_TEMPLATES = [
    ("Harbour plan backed by {w} committee",
     "The {w} committee met on Tuesday to discuss the harbour plan. Members said the "
     "proposal would bring jobs to the coastal town. A final vote is expected next month "
     "after a public consultation."),
    ("Orchard growers report {w} harvest",
     "Growers in the northern valley said the {w} apple harvest was the largest in a "
     "decade. Prices at the regional market fell as a result. Exporters expect demand "
     "abroad to stay strong through the winter."),
    ("Library reopens after {w} renovation",
     "The city library reopened on Saturday after a two-year {w} renovation. Visitors "
     "queued before the doors opened. The new reading room seats two hundred people and "
     "stays open until late on weekdays."),
    ("Rail line delayed by {w} dispute",
     "Work on the new rail line has stopped because of a {w} dispute between the builder "
     "and the regional council. Commuters will wait at least another year. Both sides "
     "say they hope to reach an agreement soon."),
]


def story(word: str, k: int = 0) -> tuple[str, str]:
    """A short made-up article (title, body) carrying ``word`` in both."""
    title, body = _TEMPLATES[k % len(_TEMPLATES)]
    return title.format(w=word.capitalize()), body.format(w=word)


def record(word: str, k: int = 0, **extra) -> dict:
    """A JSON/CSV record of :func:`story`."""
    title, body = story(word, k)
    return {"title": title, "text": body, **extra}


def txt(word: str, k: int = 0) -> str:
    title, body = story(word, k)
    return f"{title}\n\n{body}\n"


def html_page(word: str, k: int = 0) -> str:
    title, body = story(word, k)
    paras = "".join(f"<p>{s.strip()}.</p>" for s in body.split(".") if s.strip())
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head>"
            f"<body><article><h1>{title}</h1>{paras}{paras}</article></body></html>")


def rss_item(word: str, k: int = 0) -> str:
    title, body = story(word, k)
    return (f"<item><title>{title}</title><link>http://example.test/{word}</link>"
            f"<description>{body}</description></item>")


def rss(items: str, doctype: str = "") -> str:
    return (f"<?xml version='1.0' encoding='utf-8'?>{doctype}<rss version='2.0'><channel>"
            f"<title>Example Feed</title><link>http://example.test/</link>{items}"
            "</channel></rss>")


def jsonl(records: list) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def csv_text(rows: list[dict], delimiter: str = ",") -> str:
    import csv

    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(rows[0]), delimiter=delimiter, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return out.getvalue()


def goods(d: Path, words: Words, fx: Fixture, n: int = 2) -> None:
    """Write ``n`` good articles in separate files (plain text and JSON Lines)."""
    for i in range(n):
        w = words()
        fx.good.append(w)
        if i % 2 == 0:
            (d / f"good-{i}.txt").write_text(txt(w, i))
        else:
            (d / f"good-{i}.jsonl").write_text(jsonl([record(w, i)]))


def write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def reported(fx: Fixture, *names: str) -> None:
    fx.report.append(list(names))


def tar_bytes(members: list[tarfile.TarInfo | tuple[str, bytes]], mode: str = "w:gz") -> bytes:
    """A tar archive of ``(name, data)`` members and ready-made TarInfos (links)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode, format=tarfile.GNU_FORMAT) as tf:
        for m in members:
            if isinstance(m, tarfile.TarInfo):
                tf.addfile(m)
                continue
            name, data = m
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def zip_bytes(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


# --- the kinds ----------------------------------------------------------------------------

KINDS: dict[str, object] = {}


def kind(fn):
    """Register a generator ``fn(folder, words) -> Fixture`` under its name."""
    KINDS[fn.__name__] = fn
    return fn


# Plain text.

@kind
def txt_empty(d, w):
    fx = Fixture()
    goods(d, w, fx)
    write(d / "bad.txt", b"")
    reported(fx, "bad.txt")
    return fx


@kind
def txt_whitespace(d, w):
    fx = Fixture()
    goods(d, w, fx)
    write(d / "bad.txt", " \n\t\r\n  \n")
    reported(fx, "bad.txt")
    return fx


@kind
def txt_headline_only(d, w):
    # Truncated after its first line: a headline with no article.
    fx = Fixture()
    goods(d, w, fx)
    write(d / "bad.txt", "Minister resigns over\n")
    reported(fx, "bad.txt")
    return fx


@kind
def txt_undecodable(d, w):
    # 0x81, 0x8d, 0x8f, 0x90, 0x9d are undefined in cp1252 too.
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    # A text with five bad bytes is still a text: it must be indexed (a report is welcome).
    write(d / "bad.txt", txt(word).encode() + b"Caf\x81\x8d\x8f\x90\x9d and more text.\n")
    fx.good.append(word)
    return fx


@kind
def txt_latin1(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    fx.good.append(word)
    text = txt(word) + "The caf\u00e9 on the quay costs \u00a33.\n"
    write(d / "odd.txt", text.encode("latin-1"))
    return fx


@kind
def txt_utf8_bom(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    fx.good.append(word)
    write(d / "odd.txt", b"\xef\xbb\xbf" + txt(word).encode())
    return fx


@kind
def txt_utf16_bom(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    fx.good.append(word)
    write(d / "odd.txt", txt(word).encode("utf-16"))
    return fx


@kind
def txt_nul_bytes(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    write(d / "bad.txt", txt(word).replace("committee", "comm\x00ittee").encode())
    fx.either.append((word, ["bad.txt"]))
    return fx


@kind
def txt_mixed_newlines(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    fx.good.append(word)
    title, body = story(word)
    write(d / "odd.txt", f"{title}\r\n\r{body[:60]}\r{body[60:120]}\n{body[120:]}\r\n")
    return fx


@kind
def txt_huge_line(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    filler = ("the quiet river runs past the old mill and on to the sea " * (HUGE // 58))
    write(d / "bad.txt", f"A very long dispatch\n{word} {filler} {word}\n")
    fx.either.append((word, ["bad.txt"]))
    return fx


@kind
def txt_binary(d, w):
    fx = Fixture()
    goods(d, w, fx)
    write(d / "bad.txt", random.Random(7).randbytes(20_000))
    reported(fx, "bad.txt")
    return fx


# JSON.

@kind
def json_empty(d, w):
    fx = Fixture()
    goods(d, w, fx)
    write(d / "bad.json", b"")
    reported(fx, "bad.json")
    return fx


@kind
def json_whitespace(d, w):
    fx = Fixture()
    goods(d, w, fx)
    write(d / "bad.json", "  \n\n\t ")
    reported(fx, "bad.json")
    return fx


@kind
def json_truncated(d, w):
    fx = Fixture()
    goods(d, w, fx)
    full = json.dumps([record(w(), 1), record(w(), 2)])
    write(d / "bad.json", full[: len(full) * 2 // 3])
    reported(fx, "bad.json")
    return fx


@kind
def json_deep_array(d, w):
    fx = Fixture()
    goods(d, w, fx)
    write(d / "bad.json", "[" * DEEP + "]" * DEEP)
    reported(fx, "bad.json")
    return fx


@kind
def json_deep_object(d, w):
    # A good record whose "extra" field is nested 5,000 deep: the record is still valid
    # JSON; it must be indexed or reported, never crash the run.
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    title, body = story(word)
    deep = '{"a":' * DEEP + "1" + "}" * DEEP
    write(d / "bad.json", f'{{"title": "{title}", "text": "{body}", "extra": {deep}}}')
    fx.either.append((word, ["bad.json"]))
    return fx


@kind
def json_scalar(d, w):
    fx = Fixture()
    goods(d, w, fx)
    write(d / "bad.json", "42\n")
    reported(fx, "bad.json")
    return fx


@kind
def json_null(d, w):
    fx = Fixture()
    goods(d, w, fx)
    write(d / "bad.json", "null")
    reported(fx, "bad.json")
    return fx


@kind
def json_string(d, w):
    fx = Fixture()
    goods(d, w, fx)
    write(d / "bad.json", '"just a string"')
    reported(fx, "bad.json")
    return fx


@kind
def json_array_of_scalars(d, w):
    fx = Fixture()
    goods(d, w, fx)
    write(d / "bad.json", '[1, 2.5, "three", true, null]')
    reported(fx, "bad.json")
    return fx


@kind
def json_empty_array(d, w):
    fx = Fixture()
    goods(d, w, fx)
    write(d / "bad.json", "[]")
    reported(fx, "bad.json")
    return fx


@kind
def json_empty_object(d, w):
    fx = Fixture()
    goods(d, w, fx)
    write(d / "bad.json", "{}")
    reported(fx, "bad.json")
    return fx


@kind
def json_scalars_among_records(d, w):
    # A good record, then junk records, then a good record, in one array.
    fx = Fixture()
    a, b = w(), w()
    fx.good += [a, b]
    write(d / "bad.json", json.dumps([record(a, 0), 7, None, "x", [1], record(b, 1)]))
    reported(fx, "bad.json")
    return fx


@kind
def json_duplicate_keys(d, w):
    # Python keeps the last of duplicate keys; the word is in the last "text".
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    fx.good.append(word)
    title, body = story(word)
    write(d / "odd.json", f'{{"title": "{title}", "text": "superseded", "text": "{body}"}}')
    return fx


@kind
def json_number_title(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    fx.good.append(word)
    _, body = story(word)
    write(d / "odd.json", json.dumps({"title": 12345, "text": body, "authors": 7}))
    fx.untitled.add(word)
    return fx


@kind
def json_odd_field_types(d, w):
    # title an object, outlet a list, url a number, authors a dict, text a list of strings.
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    fx.good.append(word)
    title, body = story(word)
    write(d / "odd.json", json.dumps({"title": {"x": [1]}, "text": [title, body],
                                      "outlet": [1, 2], "url": 17, "authors": {"a": 1},
                                      "date": True}))
    fx.untitled.add(word)
    return fx


@kind
def json_escaped_nul(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    fx.good.append(word)
    write(d / "odd.json", json.dumps(record(word, extra="\x00"), ensure_ascii=True).replace(
        '"extra"', '"x\\u0000y"'))
    return fx


@kind
def json_raw_nul(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    write(d / "bad.json", json.dumps(record(word)).encode() + b"\x00\n")
    fx.either.append((word, ["bad.json"]))
    return fx


@kind
def json_utf8_bom(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    fx.good.append(word)
    write(d / "odd.json", b"\xef\xbb\xbf" + json.dumps(record(word)).encode())
    return fx


@kind
def json_utf16(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    fx.good.append(word)
    write(d / "odd.json", json.dumps(record(word)).encode("utf-16"))
    return fx


@kind
def json_latin1(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    fx.good.append(word)
    rec = record(word)
    rec["text"] += " Caf\u00e9 prices rose."
    write(d / "odd.json", json.dumps(rec, ensure_ascii=False).encode("latin-1"))
    return fx


@kind
def json_nan_values(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    fx.good.append(word)
    title, body = story(word)
    write(d / "odd.json",
          f'{{"title": "{title}", "text": "{body}", "date": NaN, "score": Infinity}}')
    return fx


@kind
def json_huge_number(d, w):
    # A 5,000-digit integer: Python's int() refuses more than 4,300 digits (ValueError,
    # not a JSONDecodeError). The good record beside it in the file must survive.
    fx = Fixture()
    goods(d, w, fx, 1)
    a, b = w(), w()
    fx.good.append(a)
    bad = json.dumps(record(b, 1))[:-1] + ', "id": ' + "9" * 5000 + "}"
    write(d / "bad.jsonl", json.dumps(record(a)) + "\n" + bad + "\n")
    reported(fx, "bad.jsonl")
    return fx


@kind
def json_huge_string(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    rec = record(word)
    rec["text"] += " " + "the tide came in over the flats " * (HUGE // 32)
    write(d / "bad.json", json.dumps(rec))
    fx.either.append((word, ["bad.json"]))
    return fx


# Dates (JSON Lines: each record good, only its date odd).

def _date_kind(value, expected):
    def make(d, w):
        fx = Fixture()
        goods(d, w, fx, 1)
        word = w()
        fx.good.append(word)
        fx.dates[word] = expected
        write(d / "odd.jsonl", jsonl([record(word, 1, date=value)]))
        return fx
    return make


KINDS["date_garbage"] = _date_kind("the day after the storm", None)
KINDS["date_out_of_range"] = _date_kind("2023-13-45T25:61:00Z", None)
KINDS["date_pre_1800"] = _date_kind("1750-05-01", None)
KINDS["date_future"] = _date_kind("2999-01-01T00:00:00Z", None)
KINDS["date_epoch_ms"] = _date_kind(1650000000000, "2022-04-15")
KINDS["date_epoch_huge"] = _date_kind(1e300, None)
KINDS["date_negative_year"] = _date_kind("-0044-03-15", None)


# JSON Lines.

@kind
def jsonl_empty(d, w):
    fx = Fixture()
    goods(d, w, fx)
    write(d / "bad.jsonl", b"")
    reported(fx, "bad.jsonl")
    return fx


@kind
def jsonl_malformed_line(d, w):
    fx = Fixture()
    a, b = w(), w()
    fx.good += [a, b]
    write(d / "bad.jsonl", json.dumps(record(a)) + '\n{"title": "x", "text": oops}\n'
          + json.dumps(record(b, 1)) + "\n")
    reported(fx, "bad.jsonl")
    return fx


@kind
def jsonl_truncated(d, w):
    fx = Fixture()
    a, b = w(), w()
    fx.good += [a, b]
    write(d / "bad.jsonl", jsonl([record(a), record(b, 1)]) + json.dumps(record(w(), 2))[:40])
    reported(fx, "bad.jsonl")
    return fx


@kind
def jsonl_deep_line(d, w):
    fx = Fixture()
    a, b = w(), w()
    fx.good += [a, b]
    write(d / "bad.jsonl", json.dumps(record(a)) + "\n" + "[" * DEEP + "]" * DEEP + "\n"
          + json.dumps(record(b, 1)) + "\n")
    reported(fx, "bad.jsonl")
    return fx


@kind
def jsonl_scalar_lines(d, w):
    fx = Fixture()
    a, b = w(), w()
    fx.good += [a, b]
    write(d / "bad.jsonl", json.dumps(record(a)) + '\n1\nnull\n"x"\n[]\n'
          + json.dumps(record(b, 1)) + "\n")
    reported(fx, "bad.jsonl")
    return fx


@kind
def jsonl_record_without_text(d, w):
    fx = Fixture()
    a, b = w(), w()
    fx.good += [a, b]
    write(d / "bad.jsonl", jsonl([record(a), {"title": "No body here"}, record(b, 1)]))
    reported(fx, "bad.jsonl")
    return fx


@kind
def jsonl_mixed_newlines(d, w):
    fx = Fixture()
    a, b, c = w(), w(), w()
    fx.good += [a, b, c]
    write(d / "odd.jsonl", json.dumps(record(a)) + "\r\n" + json.dumps(record(b, 1)) + "\r"
          + json.dumps(record(c, 2)) + "\n")
    return fx


@kind
def jsonl_line_separator(d, w):
    # U+2028 and U+0085 are legal unescaped inside a JSON string; str.splitlines()
    # splits on them.
    fx = Fixture()
    a, b = w(), w()
    fx.good += [a, b]
    rec = record(b, 1)
    rec["text"] = rec["text"].replace(". ", ".\u2028", 1).replace(". ", ".\x85", 1)
    write(d / "odd.jsonl",
          json.dumps(record(a)) + "\n" + json.dumps(rec, ensure_ascii=False) + "\n")
    return fx


@kind
def jsonl_bom_and_blank_lines(d, w):
    fx = Fixture()
    a, b = w(), w()
    fx.good += [a, b]
    write(d / "odd.jsonl",
          "\ufeff" + json.dumps(record(a)) + "\n\n   \n" + json.dumps(record(b, 1)))
    return fx


@kind
def jsonl_nul_line(d, w):
    fx = Fixture()
    a, b = w(), w()
    fx.good += [a, b]
    write(d / "bad.jsonl", json.dumps(record(a)).encode() + b"\n\x00\x00\x00\n"
          + json.dumps(record(b, 1)).encode() + b"\n")
    reported(fx, "bad.jsonl")
    return fx


@kind
def jsonl_undecodable_line(d, w):
    fx = Fixture()
    a, b = w(), w()
    fx.good += [a, b]
    write(d / "bad.jsonl", json.dumps(record(a)).encode()
          + b'\n{"title": "\x81\x8d", "text": "\x8f\x90\x9d"}\n'
          + json.dumps(record(b, 1)).encode() + b"\n")
    reported(fx, "bad.jsonl")
    return fx


# CSV.

def _rows(words: list[str]) -> list[dict]:
    return [record(x, i, date="2021-03-04") for i, x in enumerate(words)]


@kind
def csv_empty(d, w):
    fx = Fixture()
    goods(d, w, fx)
    write(d / "bad.csv", b"")
    reported(fx, "bad.csv")
    return fx


@kind
def csv_header_only(d, w):
    fx = Fixture()
    goods(d, w, fx)
    write(d / "bad.csv", "title,text,date\n")
    reported(fx, "bad.csv")
    return fx


@kind
def csv_no_text_column(d, w):
    fx = Fixture()
    goods(d, w, fx)
    write(d / "bad.csv", "id,score\n1,2\n3,4\n")
    reported(fx, "bad.csv")
    return fx


@kind
def csv_unclosed_quote(d, w):
    # The middle row opens a quote it never closes: the rows after it must survive.
    fx = Fixture()
    a, b = w(), w()
    fx.good += [a, b]
    ta, ba = story(a)
    tb, bb = story(b, 1)
    write(d / "bad.csv", f'title,text\n"{ta}","{ba}"\nBroken row,"this never closes\n'
          f'"{tb}","{bb}"\n')
    reported(fx, "bad.csv")
    return fx


@kind
def csv_ragged_rows(d, w):
    # A short row (no text), and a long row with extra cells (text still there).
    fx = Fixture()
    a, b, c = w(), w(), w()
    fx.good += [a, b, c]
    ta, ba = story(a)
    tb, bb = story(b, 1)
    tc, bc = story(c, 2)
    write(d / "bad.csv", f'title,text,date\n"{ta}","{ba}",2021-01-01\nOnly a title\n'
          f'"{tb}","{bb}",2021-01-02,extra,cells,here\n"{tc}","{bc}"\n')
    reported(fx, "bad.csv")
    return fx


@kind
def csv_semicolon(d, w):
    fx = Fixture()
    goods(d, w, fx, 1)
    ws = [w(), w()]
    fx.good += ws
    write(d / "odd.csv", csv_text(_rows(ws), ";"))
    return fx


@kind
def csv_tab(d, w):
    fx = Fixture()
    goods(d, w, fx, 1)
    ws = [w(), w()]
    fx.good += ws
    write(d / "odd.csv", csv_text(_rows(ws), "\t"))
    return fx


@kind
def csv_tsv_file(d, w):
    fx = Fixture()
    goods(d, w, fx, 1)
    ws = [w(), w()]
    fx.good += ws
    write(d / "odd.tsv", csv_text(_rows(ws), "\t"))
    return fx


@kind
def csv_nul_byte(d, w):
    fx = Fixture()
    a, b = w(), w()
    fx.good += [a, b]
    ta, ba = story(a)
    tb, bb = story(b, 1)
    write(d / "bad.csv", f'title,text\n"{ta}","{ba}"\nBad\x00row,"nul in it"\n"{tb}","{bb}"\n')
    reported(fx, "bad.csv")
    return fx


@kind
def csv_utf8_bom(d, w):
    fx = Fixture()
    goods(d, w, fx, 1)
    ws = [w(), w()]
    fx.good += ws
    write(d / "odd.csv", b"\xef\xbb\xbf" + csv_text(_rows(ws)).encode())
    return fx


@kind
def csv_latin1(d, w):
    fx = Fixture()
    goods(d, w, fx, 1)
    ws = [w(), w()]
    fx.good += ws
    rows = _rows(ws)
    rows[0]["text"] += " Caf\u00e9 au lait."
    write(d / "odd.csv", csv_text(rows).encode("latin-1"))
    return fx


@kind
def csv_mixed_newlines(d, w):
    fx = Fixture()
    goods(d, w, fx, 1)
    ws = [w(), w(), w()]
    fx.good += ws
    rows = csv_text(_rows(ws)).split("\n")
    write(d / "odd.csv", rows[0] + "\r\n" + rows[1] + "\r" + rows[2] + "\n" + rows[3] + "\r\n")
    return fx


@kind
def csv_quoted_newlines(d, w):
    fx = Fixture()
    goods(d, w, fx, 1)
    ws = [w(), w()]
    fx.good += ws
    rows = _rows(ws)
    rows[0]["text"] = rows[0]["text"].replace(". ", ".\n\n")
    write(d / "odd.csv", csv_text(rows))
    return fx


@kind
def csv_huge_field(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    rows = _rows([word])
    rows[0]["text"] += " " + "wind over the moor " * (HUGE // 19)
    write(d / "bad.csv", csv_text(rows))
    fx.either.append((word, ["bad.csv"]))
    return fx


@kind
def csv_undecodable(d, w):
    fx = Fixture()
    a, b = w(), w()
    fx.good += [a, b]
    write(d / "bad.csv", csv_text(_rows([a, b])).encode() + b"Junk \x81\x8d,\x8f\x90\x9d\n")
    reported(fx, "bad.csv")
    return fx


@kind
def csv_truncated(d, w):
    # Cut inside the quoted text of the last row; the rows before it must survive.
    fx = Fixture()
    a, b = w(), w()
    fx.good += [a, b]
    text = csv_text(_rows([a, b, w()]))
    write(d / "bad.csv", text[: text.rfind("reading room")])
    reported(fx, "bad.csv")
    return fx


@kind
def csv_whitespace(d, w):
    fx = Fixture()
    goods(d, w, fx)
    write(d / "bad.csv", "\n \n\t\n")
    reported(fx, "bad.csv")
    return fx


@kind
def jsonl_whitespace(d, w):
    fx = Fixture()
    goods(d, w, fx)
    write(d / "bad.jsonl", "\n  \n\n")
    reported(fx, "bad.jsonl")
    return fx


# HTML.

@kind
def html_empty(d, w):
    fx = Fixture()
    goods(d, w, fx)
    write(d / "bad.html", b"")
    reported(fx, "bad.html")
    return fx


@kind
def html_no_body(d, w):
    fx = Fixture()
    goods(d, w, fx)
    write(d / "bad.html", "<!DOCTYPE html><html><head><title>Nothing here</title></head></html>")
    reported(fx, "bad.html")
    return fx


@kind
def html_nested_bomb(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    title, body = story(word)
    write(d / "bad.html", f"<html><body><h1>{title}</h1>" + "<div>" * 100_000 + f"<p>{body}</p>"
          + "</div>" * 100_000 + "</body></html>")
    fx.either.append((word, ["bad.html"]))
    return fx


@kind
def html_truncated(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    page = html_page(word)
    write(d / "bad.html", page[: page.rfind("</article>") - 15])
    fx.either.append((word, ["bad.html"]))
    return fx


@kind
def html_unknown_charset(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    fx.good.append(word)
    write(d / "odd.html", html_page(word).replace("charset='utf-8'", "charset='klingon-8'"))
    return fx


@kind
def html_undecodable(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    write(d / "bad.html", html_page(word).replace("charset='utf-8'", "").encode()
          .replace(b"</article>", b"<p>\x81\x8d\x8f\x90\x9d</p></article>"))
    fx.either.append((word, ["bad.html"]))
    return fx


@kind
def html_nul_bytes(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    write(d / "bad.html", html_page(word).encode().replace(b"</h1>", b"</h1>\x00"))
    fx.either.append((word, ["bad.html"]))
    return fx


@kind
def html_whitespace(d, w):
    fx = Fixture()
    goods(d, w, fx)
    write(d / "bad.html", "\n \n")
    reported(fx, "bad.html")
    return fx


@kind
def html_utf8_bom(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    fx.good.append(word)
    write(d / "odd.html", b"\xef\xbb\xbf" + html_page(word).encode())
    return fx


# Feeds.

@kind
def rss_empty_file(d, w):
    fx = Fixture()
    goods(d, w, fx)
    write(d / "bad.rss", b"")
    reported(fx, "bad.rss")
    return fx


@kind
def rss_no_entries(d, w):
    fx = Fixture()
    goods(d, w, fx)
    write(d / "bad.rss", rss(""))
    reported(fx, "bad.rss")
    return fx


@kind
def atom_no_entries(d, w):
    fx = Fixture()
    goods(d, w, fx)
    write(d / "bad.atom", "<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'>"
          "<title>Empty</title><id>urn:x</id></feed>")
    reported(fx, "bad.atom")
    return fx


@kind
def rss_entry_without_text(d, w):
    fx = Fixture()
    a, b = w(), w()
    fx.good += [a, b]
    write(d / "bad.rss",
          rss(rss_item(a) + "<item><title>Title only</title></item>" + rss_item(b, 1)))
    reported(fx, "bad.rss")
    return fx


@kind
def rss_truncated(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    feed = rss(rss_item(word) + rss_item(w(), 1))
    write(d / "bad.rss", feed[: feed.rfind("<item>") + 30])
    fx.either.append((word, ["bad.rss"]))
    return fx


@kind
def rss_billion_laughs(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    ents = ['<!ENTITY lol "lol">'] + [f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 or "")) * 10}">'
                                     for i in range(1, 10)]
    doctype = "<!DOCTYPE rss [" + "".join(ents) + "]>"
    title, body = story(word)
    item = f"<item><title>{title}</title><description>{body} &lol9;</description></item>"
    write(d / "bad.rss", rss(item, doctype))
    fx.either.append((word, ["bad.rss"]))
    return fx


@kind
def rss_xxe(d, w):
    # An external entity naming a local file beside the folder: its word must never
    # reach the index or the output.
    fx = Fixture()
    goods(d, w, fx)
    word, secret = w(), w()
    outside = d.parent / "secret.txt"
    write(outside, f"Secret {secret} material\n")
    fx.secret.append(secret)
    doctype = f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{outside}">]>'
    title, body = story(word)
    item = f"<item><title>{title}</title><description>{body} &xxe;</description></item>"
    write(d / "bad.rss", rss(item, doctype))
    fx.either.append((word, ["bad.rss"]))
    return fx


@kind
def xml_not_a_feed(d, w):
    fx = Fixture()
    goods(d, w, fx)
    write(d / "bad.xml", "<?xml version='1.0'?><config><item>1</item></config>")
    reported(fx, "bad.xml")
    return fx


@kind
def rss_odd_dates(d, w):
    fx = Fixture()
    goods(d, w, fx, 1)
    a, b = w(), w()
    fx.good += [a, b]
    fx.dates[a] = None
    fx.dates[b] = None
    items = (rss_item(a).replace("</item>", "<pubDate>Someday, 99 Foo 20x1</pubDate></item>")
             + rss_item(b, 1).replace(
                 "</item>", "<pubDate>Mon, 01 Jan 2999 00:00:00 GMT</pubDate></item>"))
    write(d / "odd.rss", rss(items))
    return fx


@kind
def rss_whitespace(d, w):
    fx = Fixture()
    goods(d, w, fx)
    write(d / "bad.rss", "  \n\n")
    reported(fx, "bad.rss")
    return fx


@kind
def rss_utf8_bom(d, w):
    fx = Fixture()
    goods(d, w, fx, 1)
    a = w()
    fx.good.append(a)
    write(d / "odd.rss", b"\xef\xbb\xbf" + rss(rss_item(a)).encode())
    return fx


@kind
def rss_nul_bytes(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    write(d / "bad.rss", rss(rss_item(word)).encode().replace(b"</title>", b"\x00</title>", 1))
    fx.either.append((word, ["bad.rss"]))
    return fx


@kind
def rss_undecodable(d, w):
    # Declared UTF-8, with bytes that are not.
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    write(d / "bad.rss", rss(rss_item(word)).encode().replace(
        b"</description>", b" \x81\xff\xfe</description>"))
    fx.either.append((word, ["bad.rss"]))
    return fx


# Archives.

@kind
def zip_truncated(d, w):
    fx = Fixture()
    goods(d, w, fx)
    z = zip_bytes([(f"a{i}.txt", txt(w(), i).encode()) for i in range(3)])
    write(d / "bad.zip", z[: len(z) // 2])
    reported(fx, "bad.zip")
    return fx


@kind
def gz_truncated(d, w):
    fx = Fixture()
    goods(d, w, fx)
    g = gzip.compress(jsonl([record(w(), i) for i in range(40)]).encode(), mtime=0)
    write(d / "bad.jsonl.gz", g[: len(g) // 2])
    reported(fx, "bad.jsonl.gz")
    return fx


@kind
def tar_truncated(d, w):
    fx = Fixture()
    goods(d, w, fx)
    t = tar_bytes([(f"a{i}.txt", txt(w(), i).encode() * 30) for i in range(4)])
    write(d / "bad.tar.gz", t[: len(t) // 2])
    reported(fx, "bad.tar.gz")
    return fx


@kind
def gz_not_gzip(d, w):
    fx = Fixture()
    goods(d, w, fx)
    write(d / "bad.txt.gz", txt(w()))
    reported(fx, "bad.txt.gz")
    return fx


@kind
def zip_dotdot_member(d, w):
    # Members are read in memory: one named ../ is an article like any other, and
    # nothing may be written outside the folder.
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    write(d / "bad.zip", zip_bytes([("../escaped.txt", txt(word).encode())]))
    fx.either.append((word, ["bad.zip"]))
    return fx


@kind
def tar_dotdot_member(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    write(d / "bad.tar", tar_bytes([("../../x.txt", txt(word).encode())], "w"))
    fx.either.append((word, ["bad.tar"]))
    return fx


@kind
def tar_absolute_member(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    write(d / "bad.tar.gz", tar_bytes([("/tmp/newsfacet-abs-member.txt", txt(word).encode())]))
    fx.either.append((word, ["bad.tar.gz"]))
    return fx


@kind
def tar_symlink_member(d, w):
    # A symlink member pointing at a local file outside: never followed.
    fx = Fixture()
    goods(d, w, fx)
    word, secret = w(), w()
    outside = d.parent / "secret.txt"
    write(outside, txt(secret))
    fx.secret.append(secret)
    link = tarfile.TarInfo("link.txt")
    link.type = tarfile.SYMTYPE
    link.linkname = str(outside)
    hard = tarfile.TarInfo("hard.txt")
    hard.type = tarfile.LNKTYPE
    hard.linkname = "real.txt"
    write(d / "odd.tar.gz", tar_bytes([link, ("real.txt", txt(word).encode()), hard]))
    fx.good.append(word)
    return fx


@kind
def nested_archives(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    fx.good.append(word)
    inner = zip_bytes([("deep/story.jsonl.gz", gzip.compress(jsonl([record(word)]).encode()))])
    mid = tar_bytes([("inner.zip", inner)])
    write(d / "odd.zip", zip_bytes([("mid.tar.gz", mid)]))
    return fx


@kind
def gz_thirty_layers(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    data = txt(word).encode()
    for _ in range(30):
        data = gzip.compress(data, mtime=0)
    name = "odd.txt" + ".gz" * 30
    write(d / name, data)
    fx.either.append((word, [name[:20]]))
    return fx


@kind
def zip_bomb(d, w):
    fx = Fixture()
    goods(d, w, fx)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open("bomb.txt", "w", force_zip64=True) as f:
            chunk = b"\x00" * (1 << 20)
            for _ in range(BOMB >> 20):
                f.write(chunk)
    write(d / "bad.zip", buf.getvalue())
    reported(fx, "bad.zip")
    fx.note = f"{BOMB >> 20} MB of NUL bytes"
    return fx


@kind
def gz_bomb(d, w):
    # Text, not NULs: a decompressed "article" of 100 MB that reads as prose.
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    line = ("the ferry left the harbour at dawn and the gulls followed it " * 16 + "\n").encode()
    comp = zlib_stream(line, BOMB)
    write(d / "bad.txt.gz", comp)
    fx.either.append((word, ["bad.txt.gz"]))
    fx.note = f"{BOMB >> 20} MB of text"
    return fx


def zlib_stream(line: bytes, total: int) -> bytes:
    """Gzip of ``line`` repeated to ``total`` bytes, without holding it all in memory."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9, mtime=0) as g:
        block = line * ((1 << 20) // len(line))
        written = 0
        while written < total:
            g.write(block)
            written += len(block)
    return buf.getvalue()


@kind
def zip_encrypted_member(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    fx.good.append(word)
    z = bytearray(zip_bytes([("locked.txt", txt(w()).encode()), ("open.txt", txt(word).encode())]))
    # Set the "encrypted" flag of the first member in its local and central headers.
    z[6] |= 1
    central = z.find(b"PK\x01\x02")
    z[central + 8] |= 1
    write(d / "bad.zip", bytes(z))
    reported(fx, "bad.zip")
    return fx


@kind
def zip_bad_crc_member(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    fx.good.append(word)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("broken.txt", txt(w()))
        zf.writestr("fine.txt", txt(word, 1))
    z = bytearray(buf.getvalue())
    z[30 + len("broken.txt") + 5] ^= 0xFF  # a byte of the first member's data
    write(d / "bad.zip", bytes(z))
    reported(fx, "bad.zip")
    return fx


@kind
def bz2_tar(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    fx.good.append(word)
    write(d / "odd.tar.bz2", tar_bytes([("a.txt", txt(word).encode())], "w:bz2"))
    return fx


@kind
def bz2_truncated(d, w):
    fx = Fixture()
    goods(d, w, fx)
    t = bz2.compress(tar_bytes([(f"a{i}.txt", txt(w(), i).encode() * 20) for i in range(3)], "w"))
    write(d / "bad.tar.bz2", t[: len(t) // 2])
    reported(fx, "bad.tar.bz2")
    return fx


# File-system oddities.

@kind
def fs_non_utf8_name(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    with open(os.path.join(os.fsencode(d), b"bad-\xff.txt"), "wb") as f:
        f.write(txt(word).encode())
    # The name is odd, the content is fine: it must be indexed.
    fx.good.append(word)
    return fx


@kind
def fs_dangling_symlink(d, w):
    fx = Fixture()
    goods(d, w, fx)
    os.symlink(d / "nowhere.txt", d / "bad.txt")
    reported(fx, "bad.txt", "nowhere.txt")
    return fx


@kind
def fs_symlink_loop(d, w):
    fx = Fixture()
    goods(d, w, fx)
    os.symlink(d / "loop-b.txt", d / "loop-a.txt")
    os.symlink(d / "loop-a.txt", d / "loop-b.txt")
    reported(fx, "loop-a.txt", "loop-b.txt")
    return fx


@kind
def fs_folder_symlink_loop(d, w):
    fx = Fixture()
    goods(d, w, fx)
    sub = d / "sub"
    sub.mkdir()
    os.symlink(d, sub / "up")
    os.symlink(sub, d / "sub-again")
    return fx


@kind
def fs_fifo(d, w):
    fx = Fixture()
    goods(d, w, fx)
    os.mkfifo(d / "bad.txt")
    reported(fx, "bad.txt")
    return fx


@kind
def fs_socket(d, w):
    fx = Fixture()
    goods(d, w, fx)
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(d / "bad.jsonl"))
    s.close()
    reported(fx, "bad.jsonl")
    return fx


@kind
def fs_unreadable(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    p = write(d / "bad.txt", txt(word))
    p.chmod(0)
    if os.geteuid() == 0:
        fx.note = "run as root: mode 000 does not stop reading"
    fx.either.append((word, ["bad.txt"]))
    return fx


@kind
def fs_unreadable_folder(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    sub = d / "locked"
    sub.mkdir()
    write(sub / "inside.txt", txt(word))
    sub.chmod(0)
    if os.geteuid() == 0:
        fx.note = "run as root: mode 000 does not stop reading"
    fx.either.append((word, ["locked"]))
    return fx


@kind
def fs_folder_named_txt(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    fx.good.append(word)
    (d / "x.txt").mkdir()
    write(d / "x.txt" / "inner.txt", txt(word))
    return fx


@kind
def fs_long_name(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    fx.good.append(word)
    write(d / ("n" * 250 + ".txt"), txt(word))
    return fx


@kind
def fs_deep_folders(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    fx.good.append(word)
    p = d
    for _ in range(60):
        p = p / "level-with-a-longish-name"
    p.mkdir(parents=True)
    write(p / "deep.txt", txt(word))
    return fx


@kind
def fs_newline_in_name(d, w):
    fx = Fixture()
    goods(d, w, fx)
    word = w()
    fx.good.append(word)
    write(d / "odd\nname.txt", txt(word))
    return fx


@kind
def fs_unsupported_extension(d, w):
    fx = Fixture()
    goods(d, w, fx)
    write(d / "bad.docx", random.Random(3).randbytes(4000))
    reported(fx, "bad.docx")
    return fx


@kind
def fs_nothing_usable(d, w):
    # Only a bad file: exit 1 ("nothing usable") is right here, and nothing else.
    fx = Fixture()
    write(d / "bad.txt", b"")
    reported(fx, "bad.txt")
    return fx


# --- running ------------------------------------------------------------------------------

@dataclass
class Run:
    code: int | None  # None: killed at the timeout
    out: str
    err: str
    seconds: float
    rss_mb: float


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def run(args: list[str], cwd: Path, timeout: float = TIMEOUT, cap: bool = False) -> Run:
    """One CLI call in its own session (so a timeout kills its workers too), with its peak
    RSS from ``wait4`` (the largest process of its tree that was waited for)."""
    out_f = tempfile.TemporaryFile(dir=cwd)
    err_f = tempfile.TemporaryFile(dir=cwd)
    t = time.perf_counter()
    p = subprocess.Popen([str(NEWSFACET), *args], cwd=cwd, stdout=out_f, stderr=err_f,
                         stdin=subprocess.DEVNULL, start_new_session=True,
                         preexec_fn=_limit_memory if cap else None,
                         env={**os.environ, "PYTHONUNBUFFERED": "1"})
    code, usage = None, None
    while True:
        pid, status, usage = os.wait4(p.pid, os.WNOHANG)
        if pid:
            code = os.waitstatus_to_exitcode(status)
            break
        if time.perf_counter() - t > timeout:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(p.pid, signal.SIGKILL)
            _, status, usage = os.wait4(p.pid, 0)
            break
        time.sleep(0.05)
    p.returncode = code if code is not None else -9  # waited for here, not by Popen
    seconds = time.perf_counter() - t
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(p.pid, signal.SIGKILL)  # workers left behind by a crashed run
    out_f.seek(0)
    err_f.seek(0)
    out = out_f.read().decode("utf-8", "surrogateescape")
    err = err_f.read().decode("utf-8", "surrogateescape")
    out_f.close()
    err_f.close()
    return Run(code, out, err, seconds, usage.ru_maxrss / 1024 if usage else 0.0)


def search(query: str, index: Path, cwd: Path, limit: int = 5) -> dict | None:
    """``newsfacet search --json QUERY``'s answer, or ``None`` when it failed."""
    r = run(["search", "--json", "--limit", str(limit), "--index", str(index), query], cwd, 30)
    try:
        return json.loads(r.out)
    except ValueError:
        return None


def find(words: list[str], index: Path, cwd: Path) -> dict[str, dict]:
    """The hit of each of ``words`` that is in the index (its planted word -> the hit).

    One ``w1 OR w2 ...`` search names most of them; a word it does not name is searched
    alone. A hit with the word in its title is preferred: a good article's word found only
    in another article's text (a record swallowed by its neighbour) is not that article.
    """
    if not words:
        return {}
    hits = ((search(" OR ".join(words), index, cwd, 100) or {}).get("hits") or [])
    found: dict[str, dict] = {}
    for w in words:
        for pool in (hits, None):
            if pool is None:
                pool = (search(w, index, cwd) or {}).get("hits") or []
            titled = [h for h in pool if w in str(h.get("title")).lower()]
            named = [h for h in pool if w in f"{h.get('title')} {h.get('snippet')}".lower()]
            if titled or named:
                found[w] = (titled or named)[0]
                break
    return found


def article_count(index: Path, cwd: Path) -> int | None:
    r = run(["info", "--json", "--index", str(index)], cwd, 30)
    try:
        return int(json.loads(r.out)["articles"])
    except (ValueError, KeyError, TypeError):
        return None


def _oom(r: Run) -> bool:
    return bool(re.search(r"MemoryError|Cannot allocate memory|std::bad_alloc|out of memory",
                          r.err)) or r.code == -signal.SIGKILL


def _found(ans: dict | None) -> bool:
    return bool(ans and ans.get("total", 0) > 0)


@dataclass
class Result:
    name: str
    outcome: str
    seconds: float
    rss_mb: float
    problems: list[str]
    note: str = ""


def check(name: str, keep: Path | None) -> Result:
    """Write kind ``name``'s folder, index it twice, and judge the runs."""
    base = Path(tempfile.mkdtemp(prefix=f"bad-{name}-", dir=keep))
    folder, index = base / "in", base / "index"
    folder.mkdir()
    try:
        fx = KINDS[name](folder, Words(name))
        return _judge(name, fx, folder, index, base)
    finally:
        # Let the cleanup into folders a kind made unreadable.
        for p, dirs, _ in os.walk(base):
            for x in dirs:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.chmod(os.path.join(p, x), 0o755)
        if keep is None:
            shutil.rmtree(base, ignore_errors=True)


def _last_line(text: str) -> str:
    lines = [x for x in text.strip().splitlines() if x.strip()]
    return lines[-1][:120] if lines else "(nothing on stderr)"


def _judge(name: str, fx: Fixture, folder: Path, index: Path, cwd: Path) -> Result:
    first = run(["index", str(folder), "--index", str(index)], cwd, cap=True)
    if first.code is None:
        return Result(name, "hung", first.seconds, first.rss_mb,
                      [f"killed after {TIMEOUT:.0f} s"], fx.note)
    if _oom(first):
        return Result(name, "OOM", first.seconds, first.rss_mb,
                      [f"exit {first.code}; memory cap {MEMORY_CAP >> 30} GB: "
                       + _last_line(first.err)], fx.note)
    problems: list[str] = []
    said = first.out + first.err
    # Exit 1 is right only when the folder holds nothing usable (and no index existed).
    expected_code = 0 if (fx.good or fx.either) else 1
    traceback = "Traceback (most recent call last)" in first.err
    crashed = traceback or first.code not in (0, 1)
    if first.code != expected_code:
        problems.append(f"exit {first.code} (expected {expected_code}): {_last_line(first.err)}")
    elif traceback:
        problems.append(f"traceback: {_last_line(first.err)}")
    found = find(fx.good + [word for word, _ in fx.either], index, cwd)
    missing = [x for x in fx.good if x not in found]
    if missing:
        problems.append(f"not found: {', '.join(missing)}")
    merged = [x for x in fx.good if x in found and x not in fx.untitled
              and x not in str(found[x].get("title")).lower()]
    if merged:
        problems.append(f"found only inside another article: {', '.join(merged)}")
    lost = missing + merged
    for word, names in fx.either:
        if word not in found and not any(n in said for n in names):
            lost.append(word)
            problems.append(f"{names[0]!r} neither indexed nor reported")
    not_named = [names[0] for names in fx.report if not any(n in said for n in names)]
    leaked = [x for x in fx.secret if x in said] + list(find(fx.secret, index, cwd))
    wrong_dates = []
    for word, want in fx.dates.items():
        got = found.get(word, {}).get("published") if word in found else "(not found)"
        if (got or None) != want and not (got and want and got.startswith(want)):
            wrong_dates.append(f"{word}: published {got!r}, expected {want!r}")
    if not_named:
        problems.append(f"not named in the output: {', '.join(not_named)}")
    if leaked:
        problems.append(f"local file leaked into the index or output: {', '.join(leaked)}")
    problems += wrong_dates
    # A second run over the same folder with one good file added: the index must still
    # open and update, hold exactly one article more, and keep what it held.
    held = re.search(r"The index holds ([\d,]+) article", first.out)
    before = int(held.group(1).replace(",", "")) if held else 0
    later = Words(name + "/later")()
    (folder / "later-added.txt").write_text(txt(later, 3))
    second = run(["index", str(folder), "--index", str(index)], cwd, cap=True)
    second_bad = []
    if second.code is None:
        second_bad.append("second run hung")
    elif second.code != 0 or "Traceback (most recent call last)" in second.err:
        second_bad.append(f"second run: exit {second.code}: {_last_line(second.err)}")
    else:
        after = article_count(index, cwd)
        kept = find([later, *found], index, cwd)
        gone = [x for x in found if x not in kept]
        if later not in kept:
            second_bad.append(f"second run: the added article is not found ({before} -> {after})")
        elif gone:
            second_bad.append(f"second run lost {', '.join(gone)}")
        elif after != before + 1:
            second_bad.append(f"second run: {before} -> {after} articles (expected {before + 1})")
    problems += second_bad
    if crashed:
        outcome = "crashed"
    elif lost:
        outcome = f"lost {len(lost)} good article{'s' if len(lost) > 1 else ''}"
    elif leaked:
        outcome = "leaked local file"
    elif not_named:
        outcome = "not reported"
    elif first.code != expected_code:
        outcome = f"exit {first.code}"
    elif wrong_dates:
        outcome = "wrong date"
    elif second_bad:
        outcome = "second run failed"
    else:
        outcome = "clean"
    return Result(name, outcome, first.seconds + second.seconds,
                  max(first.rss_mb, second.rss_mb), problems, fx.note)


def limits_in_effect() -> str:
    """The NEWSFACET_MAX_* settings this checkout knows (none limit input on the base code)."""
    sys.path.insert(0, str(ROOT))
    try:
        from search import config
    except ImportError:
        return "?"
    names = [f"{s.name}={os.environ.get('NEWSFACET_' + s.name, s.default)}"
             for s in config.SETTINGS if s.name.startswith("MAX_")]
    return ", ".join(names) or "none"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kinds", help="comma-separated kind names (default: all)")
    ap.add_argument("--keep", type=Path, help="keep each kind's folder and index under DIR")
    ap.add_argument("--jobs", type=int, default=2, help="kinds run at once (default 2)")
    ap.add_argument("--list", action="store_true", help="list the kinds and exit")
    args = ap.parse_args(argv)
    if args.list:
        print("\n".join(KINDS))
        return 0
    names = args.kinds.split(",") if args.kinds else list(KINDS)
    unknown = [n for n in names if n not in KINDS]
    if unknown:
        ap.error(f"unknown kinds: {', '.join(unknown)} (see --list)")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    print(f"newsfacet: {NEWSFACET}; timeout {TIMEOUT:.0f} s, memory cap "
          f"{MEMORY_CAP >> 30} GB per index run; settings MAX_*: {limits_in_effect()}")
    if os.geteuid() == 0:
        print("running as root: file modes do not stop reading (fs_unreadable* test nothing)")
    sys.stdout.flush()
    t0 = time.perf_counter()
    lock = threading.Lock()
    results: dict[str, Result] = {}

    def one(n: str) -> None:
        try:
            r = check(n, args.keep)
        except Exception as e:  # noqa: BLE001 - a harness bug in one kind must not hide the rest
            r = Result(n, "harness error", 0.0, 0.0, [f"{type(e).__name__}: {e}"])
        with lock:
            results[n] = r
            print(f"  .. {n}: {r.outcome}", file=sys.stderr, flush=True)

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        list(pool.map(one, names))
    width = max(len(n) for n in names)
    print(f"\n{'kind':<{width}}  {'outcome':<22} {'seconds':>7} {'peak MB':>7}  details")
    for n in names:
        r = results[n]
        detail = "; ".join(r.problems + ([r.note] if r.note else []))
        print(f"{n:<{width}}  {r.outcome:<22} {r.seconds:7.1f} {r.rss_mb:7.0f}  {detail}")
    clean = sum(r.outcome == "clean" for r in results.values())
    print(f"\nclean: {clean} of {len(names)} kinds  ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
