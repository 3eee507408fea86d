"""JSON (an object, an array of objects, or an object wrapping a list) and JSON Lines.

A record without text is reported and skipped; a file none of whose records has a
text field at all (such as a ground-truth file keyed by id) is reported once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from collections.abc import Iterator

from search.errors import ArticleReadError
from search.models import Article
from search.ingest.readers.fields import NO_TEXT_FIELD
from search.ingest.readers.fields import has_text_field
from search.ingest.readers.fields import lower_keys
from search.ingest.readers.fields import to_article
from search.ingest.readers.text import decode

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


def _emit(records: list[tuple[int, object]], source: str, report: Report) -> Iterator[Article]:
    """Articles of ``(number, record)`` pairs; one report when no record has a text field."""
    objects = [(n, r) for n, r in records if isinstance(r, dict)]
    if objects and not any(has_text_field(lower_keys(r)) for _, r in objects):
        report(ArticleReadError(source, NO_TEXT_FIELD))
        return
    for n, rec in records:
        if not isinstance(rec, dict):
            report(ArticleReadError(source, f"record is a JSON {type(rec).__name__}, "
                                            "not an object", n))
            continue
        article = to_article(rec, source, n, report)
        if article is not None:
            yield article


def read_json(data: bytes, source: str, report: Report) -> Iterator[Article]:
    """Every article of a JSON file.

    :param data: the file's bytes
    :param source: the file, or ``archive::member``
    :param report: called with each error; the file or record is skipped
    """
    text = decode(data, source, report)
    if text is None:
        return
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        if e.msg == "Extra data" and e.lineno > 1 and text.lstrip().startswith("{"):
            # One object per line under a .json name: JSON Lines.
            yield from read_jsonl(data, source, report)
            return
        report(ArticleReadError(source, f"malformed JSON ({e.msg}, column {e.colno})", e.lineno))
        return
    records = _records(doc)
    if not records:
        report(ArticleReadError(source, "no records (an empty JSON array)"))
        return
    yield from _emit(list(enumerate(records, 1)), source, report)


def read_jsonl(data: bytes, source: str, report: Report) -> Iterator[Article]:
    """Every article of a JSON Lines file; a bad line is reported with its number.

    :param data: the file's bytes
    :param source: the file, or ``archive::member``
    :param report: called with each error; the line or file is skipped
    """
    text = decode(data, source, report)
    if text is None:
        return
    records: list[tuple[int, object]] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append((n, json.loads(line)))
        except json.JSONDecodeError as e:
            report(ArticleReadError(source, f"malformed JSON ({e.msg}, column {e.colno})", n))
    if not records:
        report(ArticleReadError(source, "no JSON records"))
        return
    yield from _emit(records, source, report)
