"""JSON (an object, an array of objects, or an object wrapping a list) and JSON Lines.

A record without text is reported and skipped; a file none of whose records has a
text field at all (such as a ground-truth file keyed by id) is reported once. Both are
read as streams, one record at a time (:mod:`search.ingest.readers.limits`): a record larger
than the article limit, or one that cannot be read for any reason, is reported with its
line or position and skipped; the rest of the file is read. JSON is read as UTF-8 (a BOM
dropped), UTF-16 (by its BOM) or cp1252, with ``NaN`` and ``Infinity`` (which Python's
``json`` writes) read as ``null``; a JSON Lines line ends at ``\\n``, ``\\r\\n`` or
``\\r``. A record indexed with bytes replaced (undecodable, NUL) is reported as a warning.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator

from search.errors import ArticleReadError
from search.ingest.readers.fields import NO_TEXT
from search.ingest.readers.fields import NO_TEXT_FIELD
from search.ingest.readers.fields import has_text_field
from search.ingest.readers.fields import lower_keys
from search.ingest.readers.fields import to_article
from search.ingest.readers.limits import BINARY
from search.ingest.readers.limits import CHUNK
from search.ingest.readers.limits import Limits
from search.ingest.readers.limits import Transcode
from search.ingest.readers.limits import decode_counted
from search.ingest.readers.limits import lines
from search.ingest.readers.limits import looks_binary
from search.ingest.readers.limits import over_record
from search.ingest.readers.limits import replaced_note
from search.ingest.readers.limits import text_stream
from search.models import Article

# Keys under which exports wrap their list of records.
_WRAPPERS = ("articles", "items", "data", "results", "records", "docs", "documents",
             "posts", "entries", "news", "response")

Report = Callable[[ArticleReadError], None]


def _records(doc: object) -> list[object]:
    """The list of records a parsed JSON document holds."""
    if isinstance(doc, list):
        return doc
    if not isinstance(doc, dict):
        return [doc]
    keys = lower_keys(doc)
    if has_text_field(keys):
        return [doc]
    for k in _WRAPPERS:
        inner = keys.get(k)
        if isinstance(inner, list):
            return inner
        if isinstance(inner, dict):
            found = _records(inner)
            if found != [inner]:
                return found
    if doc and all(isinstance(v, dict) for v in doc.values()):
        # Keyed by id: {"<id>": {...}, ...}
        return list(doc.values())
    return [doc]


class _NoTextField:
    """Records with no text field at all are reported one by one only once some record
    of the file has one; a file none of whose records has one (a ground-truth file keyed
    by id) is reported once, as a whole."""

    def __init__(self, source: str, report: Report):
        self.source, self.report = source, report
        self.waiting: list[int | None] = []
        self.seen_text = False

    def record(self, number: int | None, has_text: bool) -> bool:
        """Note a record; ``False`` when it is held back (no text field, none seen yet)."""
        if has_text and not self.seen_text:
            self.seen_text = True
            for n in self.waiting:
                self.report(ArticleReadError(self.source, NO_TEXT, n))
            self.waiting = []
        if has_text or self.seen_text:
            return True
        self.waiting.append(number)
        return False

    def close(self) -> None:
        if self.waiting:
            self.report(ArticleReadError(self.source, NO_TEXT_FIELD))


def _one(rec: object, n: int, source: str, report: Report, fields: _NoTextField
         ) -> Article | None:
    """The article of one parsed record, or ``None`` (reported); never raises: any error
    in one record (one nested thousands deep ends in RecursionError) skips that record."""
    if not isinstance(rec, dict):
        report(ArticleReadError(source, f"record is a JSON {type(rec).__name__}, "
                                        "not an object", n))
        return None
    try:
        if not fields.record(n, has_text_field(lower_keys(rec))):
            return None
        return to_article(rec, source, n, report)
    except RecursionError:
        report(ArticleReadError(source, "record nested too deeply to read; skipped", n))
    except Exception as e:  # noqa: BLE001 - one bad record must not cost the others
        report(ArticleReadError(source, f"could not read this record ({type(e).__name__}: "
                                        f"{e}); skipped", n))
    return None


def _emit(records: Iterable[tuple[int, object]], source: str, report: Report,
          limit: int, notes: dict[int, str] | None = None) -> Iterator[Article]:
    """Articles of ``(number, record)`` pairs (:data:`_OVER` for one over ``limit``
    bytes); one report when no record has a text field. ``notes`` holds, by number, the
    warning of a record indexed with some of its bytes replaced."""
    fields = _NoTextField(source, report)
    for n, rec in records:
        if rec is _OVER:
            report(ArticleReadError(source, "record " + over_record(Limits(record=limit)), n))
            continue
        article = _one(rec, n, source, report, fields)
        if article is not None:
            if notes and n in notes:
                report(ArticleReadError(source, notes.pop(n), n, warning=True))
            yield article
    fields.close()


_OVER = object()  # a record over the size limit, skipped
_OPEN = ("start_map", "start_array")
_CLOSE = ("end_map", "end_array")
def _size(value: object) -> int:
    return len(value) + 2 if isinstance(value, str) else 8


def _build(events, event: str, value: object, limit: int) -> object:
    """One JSON value from ``ijson`` events, starting at ``(event, value)``, built without
    recursion (any depth) and given up as :data:`_OVER` once larger than ``limit``: its
    remaining events are consumed, never kept."""
    if event not in _OPEN:
        return _OVER if _size(value) > limit else value
    root: object = {} if event == "start_map" else []
    stack: list = [root]
    keys: list = [None]
    size, depth = 2, 1
    for event, value in events:
        if event in _CLOSE:
            depth -= 1
            if depth == 0:
                return root if stack is not None else _OVER
            if stack is not None:
                stack.pop()
                keys.pop()
            continue
        if event in _OPEN:
            depth += 1
        if stack is None:
            continue
        if event == "map_key":
            keys[-1] = value
            size += _size(value)
            continue
        node = value
        if event in _OPEN:
            node = {} if event == "start_map" else []
        parent = stack[-1]
        if isinstance(parent, dict):
            parent[keys[-1]] = node
        else:
            parent.append(node)
        size += _size(value) if event not in _OPEN else 2
        if event in _OPEN:
            stack.append(node)
            keys.append(None)
        if size > limit:
            stack = keys = root = None  # let it go now, not at its end
    raise ValueError("the JSON ends inside a value")


def _items(events, limit: int, first: int = 1) -> Iterator[tuple[int, object]]:
    """``(position, item)`` of the array whose ``start_array`` was just read."""
    n = first - 1
    for event, value in events:
        if event == "end_array":
            return
        n += 1
        yield n, _build(events, event, value, limit)
    raise ValueError("the JSON ends inside an array")


def _stream_records(events, limit: int, found: list) -> Iterator[tuple[int, object]]:
    """Records of a JSON document as they are parsed: the items of a top-level array or
    of an array under a wrapper key (``{"articles": [...]}``, at any depth of wrappers).
    Anything else is built (each member within ``limit``) and left in ``found`` for
    :func:`_records` to judge (one record, or records keyed by id)."""
    event, value = next(events)
    if event == "start_array":
        found.append(True)
        yield from _items(events, limit)
        return
    if event != "start_map":
        found.append(_build(events, event, value, limit))
        return
    doc: dict = {}
    streamed = False
    for event, key in events:
        if event == "end_map":
            if not streamed:
                found.append(doc)
            return
        event, value = next(events)
        lk = key.strip().lower() if isinstance(key, str) else key
        if lk in _WRAPPERS and not has_text_field(lower_keys(doc)) and event in _OPEN \
                and not streamed:
            if event == "start_array":
                streamed = True
                yield from _items(events, limit)
                continue
            inner: list = []
            sub = _stream_records(_Prepend(("start_map", None), events), limit, inner)
            for pair in sub:
                streamed = True
                yield pair
            if not streamed:
                doc[key] = inner[0] if inner else {}
            continue
        doc[key] = _build(events, event, value, limit)
    raise ValueError("the JSON ends inside an object")


class _Prepend:
    """An iterator of one event and then the rest of ``events``."""

    def __init__(self, first, events):
        self.first, self.events = first, events

    def __iter__(self):
        return self

    def __next__(self):
        if self.first is not None:
            first, self.first = self.first, None
            return first
        return next(self.events)


def _utf8(stream) -> Transcode:
    """The stream as UTF-8 for ``ijson``: UTF-16 (by its BOM), UTF-8 (its BOM dropped) and
    non-UTF-8 text (cp1252) transcoded as they are read, bytes neither reads replaced
    (counted), and the NaN and Infinity Python's ``json`` writes read as ``null``."""
    head = stream.peek(CHUNK)[:CHUNK]
    rewrite = _Constants().feed
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return Transcode(stream, "utf-16", rewrite)
    if head.startswith(b"\xef\xbb\xbf"):
        stream.read(3)
        head = head[3:]
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(head) - 4:  # not just a character cut at the end of the sample
            return Transcode(stream, "cp1252", rewrite)
    return Transcode(stream, "utf-8", rewrite)


class _Constants:
    """Rewrites ``NaN``, ``Infinity`` and ``-Infinity`` outside strings as ``null``, piece
    by piece of a stream of JSON text.

    Python's ``json`` writes and reads them (``json.dumps(float("nan"))``), so exports
    hold them; ``ijson`` rejects them as a lexical error, which cost the whole file. A
    number that is not a number carries no value: ``null`` is what it means.
    """

    _HELD = re.compile(r"(?:\\+|-?[A-Za-z]{1,8}|-)$")  # may go on in the next piece
    _ESCAPE = re.compile(r"\\.", re.S)
    _TOKEN = re.compile(r'"|-?(?:NaN|Infinity)\b')
    _STRING_REST = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*"', re.S)

    def __init__(self):
        self.in_string = False
        self.held = ""

    def feed(self, text: str, final: bool) -> str:
        text, self.held = self.held + text, ""
        if not final:
            # Searched in the tail only: a search anchored at the end still tries every
            # position of the piece.
            back = len(text) - len(text.rstrip("\\"))
            tail = text[max(0, len(text) - back - 9):]
            m = self._HELD.search(tail)
            if m:
                cut = len(text) - len(tail) + m.start()
                text, self.held = text[:cut], text[cut:]
        if "NaN" not in text and "Infinity" not in text:
            # No constant here: only whether a string is open at the end matters.
            bare = self._ESCAPE.sub("", text) if "\\" in text else text
            if bare.count('"') % 2:
                self.in_string = not self.in_string
            return text
        out, pos, start = [], 0, 0
        while pos < len(text):
            if self.in_string:
                m = self._STRING_REST.match(text, pos)
                if m is None:
                    break  # the string goes on in the next piece
                pos, self.in_string = m.end(), False
                continue
            m = self._TOKEN.search(text, pos)
            if m is None:
                break
            if m.group() == '"':
                pos, self.in_string = m.end(), True
                continue
            out.append(text[start:m.start()] + "null")
            pos = start = m.end()
        out.append(text[start:])
        return "".join(out)


def read_json(stream, source: str, report: Report, limit: int = Limits.record
              ) -> Iterator[Article]:
    """Every article of a JSON file, parsed as a stream (``ijson``): an array of a million
    records is read one record at a time, each at most ``limit`` bytes.

    :param stream: a buffered binary stream of the file
    :param source: the file, or ``archive::member``
    :param report: called with each error; the file or record is skipped
    :param limit: the largest record, in bytes (as parsed)
    """
    import ijson

    head = stream.peek(CHUNK)[:CHUNK]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        # UTF-16 holds a NUL in every other byte: judge its text, not its bytes.
        head = head.decode("utf-16", errors="replace").encode("utf-8")
    if looks_binary(head):
        report(ArticleReadError(source, BINARY))
        return
    body = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if body.startswith(b"{") and re.search(rb"}\s*\r?\n\s*{", head):
        # One object per line under a .json name: JSON Lines.
        yield from read_jsonl(stream, source, report, limit)
        return
    text = _utf8(stream)
    events = ijson.basic_parse(text, use_float=True)
    found: list = []
    pairs = [0]

    def counted():
        for pair in _stream_records(events, limit, found):
            pairs[0] += 1
            yield pair

    count = 0
    try:
        for article in _emit(counted(), source, report, limit):
            count += 1
            yield article
        records = _records(found[0]) if found and found[0] is not True else []
        if not pairs[0] and not records:
            report(ArticleReadError(source, "no records (an empty JSON array)"))
        yield from _emit(list(enumerate(records, 1)), source, report, limit)
        for _ in events:
            report(ArticleReadError(source, "more than one JSON value: if this is JSON Lines "
                                            "(one record a line), name it .jsonl"))
            break
    except StopIteration:
        report(ArticleReadError(source, "empty file"))
    except (ijson.JSONError, ValueError) as e:
        what = " ".join(str(e).split())[:120]
        kept = f" after {count} records" if count else ""
        report(ArticleReadError(source, f"malformed JSON{kept} ({what})"))
    except RecursionError:
        report(ArticleReadError(source, "JSON nested too deeply to read"))
    if text.replaced and count:
        report(ArticleReadError(source, f"{text.replaced} undecodable byte"
                                        f"{'s' if text.replaced != 1 else ''} replaced "
                                        "(U+FFFD) in the records read; indexed", warning=True))


def read_jsonl(stream, source: str, report: Report, limit: int = Limits.record
               ) -> Iterator[Article]:
    """Every article of a JSON Lines file, read line by line; a bad or oversized line is
    reported with its number and skipped.

    :param stream: a buffered binary stream of the file
    :param source: the file, or ``archive::member``
    :param report: called with each error; the line or file is skipped
    :param limit: the longest line, in bytes
    """
    opened = text_stream(stream, source, report)
    if opened is None:
        return
    stream = opened[0]
    any_record = [False]
    notes: dict[int, str] = {}

    def records() -> Iterator[tuple[int, object]]:
        for n, raw in lines(stream, limit):
            if raw is None:
                any_record[0] = True
                yield n, _OVER
                continue
            line, undecodable, nuls = decode_counted(raw)
            if n == 1:
                line = line.lstrip("\ufeff")
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as e:
                report(ArticleReadError(source, f"malformed JSON ({e.msg}, column {e.colno})", n))
                continue
            except RecursionError:
                report(ArticleReadError(source, "record nested too deeply to read; skipped", n))
                continue
            any_record[0] = True
            note = replaced_note(undecodable, nuls)
            if note:
                notes[n] = note
            yield n, value

    yield from _emit(records(), source, report, limit, notes)
    if not any_record[0]:
        report(ArticleReadError(source, "no JSON records"))

