"""Readers: files in the formats users have -> raw :class:`~search.models.Article` records.

- :func:`discover` lists the files under some paths (README/LICENSE/SOURCE files,
  hidden files and index directories are not articles).
- :func:`read_file` yields every article of one file, reading ``.gz``, ``.zip`` and
  ``.tar(.gz)`` transparently and dispatching each file or member by its name
  (plain text, JSON, JSON Lines, CSV, HTML, RSS/Atom). Everything is read as a stream
  within the size limits of :mod:`search.ingest.readers.limits`, never whole first.

Readers never raise for bad input: each bad file, member or record is reported as an
:class:`~search.errors.ArticleReadError` naming the file and line, and skipped.
Articles come out raw; cleanup, language and entities are enrichment's job.
"""

from __future__ import annotations

import io
import os
import re
import stat
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from pathlib import Path

from search.errors import ArticleReadError
from search.ingest.readers import archive
from search.ingest.readers.csvrec import read_csv
from search.ingest.readers.feed import looks_like_feed
from search.ingest.readers.feed import read_feed
from search.ingest.readers.html import read_html
from search.ingest.readers.jsonrec import read_json
from search.ingest.readers.jsonrec import read_jsonl
from search.ingest.readers.limits import CHUNK
from search.ingest.readers.limits import Budget
from search.ingest.readers.limits import Limits
from search.ingest.readers.limits import over_record
from search.ingest.readers.limits import read_at_most
from search.ingest.readers.limits import size_text
from search.ingest.readers.text import read_text
from search.models import Article

__all__ = ["discover", "read_file", "read_bytes", "read_stream", "is_not_article", "Limits"]

Report = Callable[[ArticleReadError], None]

# README, LICENSE, SOURCE in any case, with or without an extension or suffix.
_NOT_ARTICLE = re.compile(r"^(readme|licen[cs]e|copying|source)([._ -].*)?$", re.I)
_WHOOSH_TOC = re.compile(r"^_.+_\d+\.toc$")
_BY_SUFFIX = {
    ".txt": read_text, ".text": read_text,
    ".json": read_json,
    ".jsonl": read_jsonl, ".ndjson": read_jsonl, ".jsonlines": read_jsonl,
    ".csv": read_csv, ".tsv": read_csv,
    ".html": read_html, ".htm": read_html, ".xhtml": read_html,
    ".rss": read_feed, ".atom": read_feed,
}
# Readers that take the stream and read it record by record.
_STREAMING = (read_json, read_jsonl, read_csv)
_SUPPORTED = ".txt, .json, .jsonl, .csv, .html, .rss/.atom/.xml feeds, or .gz/.zip/.tar.gz of them"


def is_not_article(name: str) -> bool:
    """Whether a file or archive member (by its path) is not an article.

    README/LICENSE/SOURCE files (``LICENSE.upstream``, ``bbc/README.TXT``) and hidden
    files (``.DS_Store``, anything under ``__MACOSX/``) are not.

    :param name: a file name or a member's path inside an archive
    """
    parts = [p for p in re.split(r"[\\/]", name) if p]
    if not parts:
        return True
    if any(p.startswith(".") or p == "__MACOSX" for p in parts):
        return True
    return bool(_NOT_ARTICLE.match(parts[-1]))


def _is_index_dir(path: Path, names: list[str]) -> bool:
    """Whether a folder is a Newsfacet index directory or a Whoosh index."""
    if "current" in names and (path / "current").is_symlink():
        return True
    return any(_WHOOSH_TOC.match(n) or n == "MAIN_WRITELOCK" for n in names)


def _kind(path: Path) -> str | None:
    """Why a path found in a folder is not a file to read: ``"broken link"``, ``"not a
    regular file"`` (a FIFO, socket or device: opening a FIFO would block the run), or
    ``None`` for a regular file (or a link to one)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return "broken link (its target does not exist)" if path.is_symlink() else None
    except OSError as e:
        return f"cannot read file ({e.strerror})"
    if stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode):
        return None
    return "not a regular file (a FIFO, socket or device); skipped"


def discover(paths: Iterable[str | os.PathLike], report: Report) -> Iterator[Path]:
    """Regular files under ``paths`` (each a file or folder), recursively, sorted, absolute.

    Symlinked folders are followed, but never into a loop. Files that are not
    articles (see :func:`is_not_article`) and index directories are skipped silently;
    broken links, FIFOs, sockets and devices are reported (and never opened).

    :param paths: files and folders to look in
    :param report: called with an :class:`ArticleReadError` for a path that does not
        exist or is not a file that can be read
    """
    found: set[Path] = set()
    for given in paths:
        path = Path(given)
        if not path.exists():
            why = _kind(path) if path.is_symlink() else None
            report(ArticleReadError(str(given), why or "no such file or folder"))
            continue
        if not path.is_dir():
            why = _kind(path)
            if why:
                report(ArticleReadError(str(given), why))
            elif not is_not_article(path.name):
                found.add(path.resolve())
            continue
        seen: set[str] = set()

        def on_error(e: OSError) -> None:
            report(ArticleReadError(str(e.filename or given), f"cannot read folder ({e.strerror})"))

        for folder, dirs, files in os.walk(path, followlinks=True, onerror=on_error):
            real = os.path.realpath(folder)
            if real in seen or _is_index_dir(Path(folder), dirs + files):
                dirs[:] = []
                continue
            seen.add(real)
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in files:
                full = Path(folder, name)
                if is_not_article(name):
                    continue
                why = _kind(full)
                if why:
                    report(ArticleReadError(str(full), why))
                else:
                    found.add(full.resolve())
    yield from sorted(found)


def _sniff(data: bytes) -> Callable | None:
    """A reader for a file whose name says nothing, judged by its first bytes."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"{", b"[")):
        return read_jsonl if head.startswith(b"{") and b"}\n{" in data[:65536] else read_json
    if looks_like_feed(data):
        return read_feed
    if head.startswith((b"<!doctype html", b"<html")):
        return read_html
    return None


def read_stream(stream, name: str, source: str, report: Report,
                budget: Budget) -> Iterator[Article]:
    """Every article in a binary stream, read as the format its ``name`` says.

    :param stream: a :class:`~search.ingest.readers.limits.Reader` (or any buffered binary
        stream) over the bytes of a file or archive member
    :param name: its name (decides the format: ``x.jsonl.gz`` is gzip of JSON Lines)
    :param source: what articles and reports name as their source
    :param report: called with each error; the file, member or record is skipped
    :param budget: the limits, and what is left of the file's
    """
    lower = name.lower()
    limits = budget.limits
    if lower.endswith((".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz2", ".tar.xz")):
        yield from archive.read_tar(stream, source, report, read_stream, is_not_article, budget)
        return
    if lower.endswith(".zip"):
        yield from archive.read_zip(stream, source, report, read_stream, is_not_article, budget)
        return
    if lower.endswith(".gz"):
        yield from archive.read_gzip(stream, name, source, report, read_stream, budget)
        return
    suffix = os.path.splitext(lower)[1]
    reader = _BY_SUFFIX.get(suffix)
    head = stream.peek(CHUNK)[:CHUNK]
    if not head.strip() and len(head) < CHUNK:
        report(ArticleReadError(source, "empty file"))
        return
    if reader in _STREAMING:
        yield from reader(stream, source, report, limits.record)
        return
    if reader is None and suffix == ".xml":
        if not looks_like_feed(head):
            report(ArticleReadError(source, "unsupported format (.xml): not an RSS or Atom feed"))
            return
        reader = read_feed
    if reader is None:
        reader = _sniff(head)
        if reader in _STREAMING:
            yield from reader(stream, source, report, limits.record)
            return
    if reader is None:
        report(ArticleReadError(
            source, f"unsupported format ({suffix or 'no extension'}): expected {_SUPPORTED}"))
        return
    # One article per file (text, a page): read whole, within the article limit. A feed
    # holds many articles and its parser wants it whole: within the member limit.
    data = read_at_most(stream, limits.member if reader is read_feed else limits.record)
    if data is None:
        report(ArticleReadError(source, over_record(limits) if reader is not read_feed else
                                f"feed larger than the {size_text(limits.member)} limit; "
                                "skipped (setting NEWSFACET_MAX_MEMBER_BYTES)"))
        return
    if getattr(stream, "cut", None):
        return  # a truncated member's text is not the article: the cut is reported
    yield from reader(data, source, report)


def read_bytes(data: bytes, name: str, source: str, report: Report,
               limits: Limits | None = None) -> Iterator[Article]:
    """Every article in ``data`` (bytes already in memory), read as its ``name`` says.

    :param data: the bytes of a file or archive member
    :param name: its name (decides the format)
    :param source: what articles and reports name as their source
    :param report: called with each error; the file, member or record is skipped
    :param limits: the size limits (the defaults when ``None``)
    """
    budget = Budget(limits or Limits())
    yield from archive.read_member(io.BytesIO(data), name, source, report, read_stream,
                                   budget, None)
    if budget.exceeded:
        report(archive.file_over(source, budget))


def read_file(path: Path, report: Report, limits: Limits | None = None) -> Iterator[Article]:
    """Every article in one file on disk, streamed; bad input is reported and skipped,
    never raised.

    :param path: the file (its absolute path becomes the articles' ``source``)
    :param report: called with an :class:`ArticleReadError` for each file, member or
        record that is skipped
    :param limits: the size limits of records, members and the file (defaults when ``None``)
    """
    path = Path(path).resolve()
    source = str(path)
    why = _kind(path)
    if why:
        report(ArticleReadError(source, why))
        return
    budget = Budget(limits or Limits())
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below, also when the reader stops early
    except OSError as e:
        report(ArticleReadError(source, f"cannot read file ({e.strerror or e})"))
        return
    try:
        yield from archive.read_member(f, path.name, source, report, read_stream, budget, None)
        if budget.exceeded:
            report(archive.file_over(source, budget))
    except Exception as e:  # noqa: BLE001 - a bug in a parser must not end the whole run
        report(ArticleReadError(source, f"could not read the rest of this file "
                                        f"({type(e).__name__}: {e})"))
    finally:
        f.close()
