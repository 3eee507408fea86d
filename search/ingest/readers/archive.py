"""Compressed files and archives: ``.gz``, ``.zip``, ``.tar``, ``.tar.gz``/``.tgz``.

Each member is read by its own name (``x.jsonl.gz`` is JSON Lines); its articles'
``source`` is ``"<archive>::<member>"``. A truncated archive is reported and what
could be read from it is kept. Archives are read as streams, member after member, each
within the limits of :mod:`search.ingest.readers.limits`; a member whose path is absolute or
holds ``..`` is reported, never read (nothing is ever extracted to disk).
"""

from __future__ import annotations

import io
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from collections.abc import Iterator

from search.errors import ArticleReadError
from search.ingest.readers.limits import CHUNK
from search.ingest.readers.limits import Bounded
from search.ingest.readers.limits import Budget
from search.ingest.readers.limits import EndsOnError
from search.ingest.readers.limits import Gunzip
from search.ingest.readers.limits import Reader
from search.ingest.readers.limits import size_text
from search.models import Article

Report = Callable[[ArticleReadError], None]
# dispatch(stream, name, source, report, budget): the articles of one stream, by its name
Dispatch = Callable[..., Iterator[Article]]


def _unsafe(name: str) -> bool:
    """Whether a member's path is absolute or climbs out with ``..`` (never extracted here,
    only read, but named rather than silently dropped)."""
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":")


def read_member(raw, name: str, where: str, report: Report, dispatch: Dispatch,
                budget: Budget, limit: int | None) -> Iterator[Article]:
    """Articles of one stream (a file, an archive member, a decompressed ``.gz``) read
    within ``limit`` bytes and the file's ``budget``.

    A stream that ends early (a truncated ``.gz`` or zip member, or one cut at a limit)
    keeps the articles read before the cut and is reported once, with the reason of the
    cut (what the reader said of the fragment it saw is left out: the cut explains it).

    :param raw: the stream of bytes
    :param name: its name (decides the format)
    :param where: the file, or ``archive::member``, named in reports
    :param limit: its own size limit, or ``None`` (a plain file has only the budget)
    """
    stream = Reader(Bounded(raw, limit, budget))
    held: list[ArticleReadError] = []

    def hold(e: ArticleReadError) -> None:
        if e.line is None and e.path == where:
            held.append(e)
        else:
            report(e)

    count = 0
    for article in dispatch(stream, name, where, hold, budget):
        count += 1
        yield article
    cut = stream.cut
    if not cut:
        for e in held:
            report(e)
        return
    kept = f"; kept the {count} article{'s' if count != 1 else ''} read before the cut" \
        if count else "; skipped"
    if cut == "member":
        reason = (f"larger than the {size_text(budget.limits.member)} limit for one archive "
                  "member or .gz stream, decompressed (setting NEWSFACET_MAX_MEMBER_BYTES)")
    elif cut == "file":
        # Named once, by the file: every later member is cut too.
        return
    else:
        reason = cut
    report(ArticleReadError(where, reason + kept))


def file_over(path: str, budget: Budget) -> ArticleReadError:
    return ArticleReadError(path, f"larger than the {size_text(budget.limits.file)} limit for "
                                  "one input file (all its members, decompressed); stopped "
                                  "reading it there (setting NEWSFACET_MAX_FILE_BYTES)")


def read_gzip(stream, name: str, source: str, report: Report, dispatch: Dispatch,
              budget: Budget) -> Iterator[Article]:
    """Articles of a ``.gz`` stream, read by its inner name (``x.jsonl.gz`` -> ``x.jsonl``),
    decompressed as it is read and at most :attr:`Limits.member` bytes of it.

    :param stream: the compressed bytes
    :param name: the file's name
    :param source: the file, or ``archive::member``
    :param report: called with each error
    :param dispatch: reads the decompressed stream by name
    """
    yield from read_member(Gunzip(stream), name[:-3], source, report, dispatch, budget,
                           budget.limits.member)


def read_zip(stream, source: str, report: Report, dispatch: Dispatch,
             skip: Callable[[str], bool], budget: Budget) -> Iterator[Article]:
    """Articles of every member of a zip archive, each member streamed.

    An archive whose central directory (at its end) is missing, as in a truncated
    download, is read by its local headers, member after member, up to the cut: what
    ``unzip`` cannot open, ``zip -FF`` and streaming readers do the same way.

    :param stream: the archive's bytes
    :param source: the archive (or ``archive::member``)
    :param report: called with each error
    :param dispatch: reads one member's stream by name
    :param skip: whether a member (by its path) is not an article (README, hidden, ...)
    """
    if not stream.seekable():
        data = stream.read()  # a member of another archive: already within its limit
        stream = io.BytesIO(data)
    try:
        zf = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        stream.seek(0)
        yield from _read_local_headers(stream, source, report, dispatch, skip, budget, str(e))
        return
    with zf:
        for info in sorted(zf.infolist(), key=lambda i: i.filename):
            where = f"{source}::{info.filename}"
            if info.is_dir():
                continue
            admit = _admit(info.filename, where, report, skip, budget)
            if admit is None:
                return
            if not admit:
                continue
            try:
                member = zf.open(info)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError,
                    NotImplementedError, RuntimeError) as e:
                report(ArticleReadError(where, f"could not read this archive member ({e})"))
                continue
            with member:
                yield from read_member(_Guarded(member), info.filename, where, report,
                                       dispatch, budget, budget.limits.member)


UNSAFE = "unsafe path in archive (absolute or with '..'); skipped"


def _admit(name: str, where: str, report, skip, budget: Budget) -> bool | None:
    """Whether to read the member ``name``: ``False`` to pass it over (an unsafe path,
    reported; a hidden or non-article name), ``None`` when the file's budget is spent
    (stop reading the archive)."""
    if _unsafe(name):  # before skip(): ".." looks like a hidden name
        report(ArticleReadError(where, UNSAFE))
        return False
    if skip(name):
        return False
    if budget.left <= 0:
        budget.exceeded = True
        return None
    return True
_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_ZIP_ERRORS = (zipfile.BadZipFile, tarfile.TarError, zlib.error, EOFError, OSError, ValueError,
               NotImplementedError, RuntimeError)


class _Guarded(EndsOnError):
    """A member stream whose read errors (bad CRC, corrupt data) end it, kept in
    :attr:`error`, rather than escape into the reader."""

    def __init__(self, raw):
        super().__init__()
        self.raw = raw

    def _read(self, n: int) -> bytes:
        return self.raw.read(n)

    def _reason(self, error: Exception) -> str | None:
        if isinstance(error, _ZIP_ERRORS):
            return f"could not read this archive member ({error})"
        return None


class _Inflate(io.RawIOBase):
    """The data of one member found by its local header: stored bytes of a known size, or
    a deflate stream read up to its own end (the size may be unknown, flag bit 3)."""

    def __init__(self, f, method: int, csize: int | None):
        super().__init__()
        self.f, self.method, self.left = f, method, csize
        self.z = zlib.decompressobj(-15) if method == 8 else None
        self.done = False
        self.error: str | None = None
        self.pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.done and not self.error and not self.pending:
            self._step(len(buffer))
        n = min(len(buffer), len(self.pending))
        buffer[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n

    def _step(self, want: int) -> None:
        if self.z is None:  # stored
            chunk = self.f.read(min(want, self.left))
            self.left -= len(chunk)
            if not chunk and self.left:
                self.error = "archive member cut short (the zip file is truncated)"
            self.pending, self.done = chunk, self.left == 0
            return
        if self.z.unconsumed_tail:
            data = self.z.unconsumed_tail
        else:
            data = self.f.read(CHUNK)
            if not data:
                self.error = "archive member cut short (the zip file is truncated)"
                return
        try:
            self.pending = self.z.decompress(data, max(want, CHUNK))
        except zlib.error as e:
            self.error = f"corrupt archive member ({e})"
            return
        if self.z.eof:
            self.done = True
            # Give back what the deflate stream did not use: the next header starts there.
            self.f.seek(-len(self.z.unused_data), io.SEEK_CUR)

    def finish(self) -> None:
        """Read to the end of the member, so the file stands at the next header."""
        while not self.done and not self.error:
            self.pending = b""
            self._step(CHUNK)


def _read_local_headers(f, source: str, report: Report, dispatch: Dispatch,
                        skip: Callable[[str], bool], budget: Budget,
                        why: str) -> Iterator[Article]:
    """Members of a zip archive without its central directory, by their local headers."""
    members = 0
    while True:
        head = f.read(_LOCAL.size)
        if len(head) < _LOCAL.size or head[:4] != b"PK\x03\x04":
            break
        _, _, flags, method, _, _, _, csize, _, nlen, xlen = _LOCAL.unpack(head)
        raw_name = f.read(nlen)
        f.read(xlen)
        name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", errors="replace")
        where = f"{source}::{name}"
        sized = not flags & 0x08
        if flags & 0x01 or method not in (0, 8) or (method == 0 and not sized):
            # Encrypted, another compression, or stored with no size: its end is unknown.
            report(ArticleReadError(where, "archive member that cannot be read without the "
                                           "zip's central directory; stopped here"))
            break
        members += 1
        data = _Inflate(f, method, csize if sized else None)
        if name.endswith("/"):
            pass
        elif _unsafe(name):
            report(ArticleReadError(where, UNSAFE))
        elif skip(name):
            pass
        elif budget.left <= 0:
            budget.exceeded = True
            return
        else:
            yield from read_member(data, name, where, report, dispatch, budget,
                                   budget.limits.member)
        data.finish()
        if data.error:
            break
        if not sized:
            # The data descriptor: crc and sizes, with or without its signature.
            desc = f.read(16)
            back = 0 if desc[:4] == b"PK\x07\x08" else 4
            f.seek(-back, io.SEEK_CUR)
    if members == 0:
        report(ArticleReadError(source, f"not a readable zip archive, truncated or corrupt "
                                        f"({why})"))
        return
    report(ArticleReadError(source, f"zip archive without its central directory, truncated or "
                                    f"corrupt ({why}); read its {members} members found before "
                                    "the cut"))


def read_tar(stream, source: str, report: Report, dispatch: Dispatch,
             skip: Callable[[str], bool], budget: Budget) -> Iterator[Article]:
    """Articles of every regular file in a tar archive (plain, gzip, bz2 or xz), read as a
    stream: one member at a time, never the whole archive.

    :param stream: the archive's bytes
    :param source: the archive (or ``archive::member``)
    :param report: called with each error
    :param dispatch: reads one member's stream by name
    :param skip: whether a member (by its path) is not an article (README, hidden, ...)
    """
    errors = (tarfile.TarError, EOFError, zlib.error, OSError, ValueError)
    try:
        tf = tarfile.open(fileobj=stream, mode="r|*")
    except errors as e:
        report(ArticleReadError(source, f"not a readable tar archive, truncated or corrupt ({e})"))
        return
    count = 0
    with tf:
        while True:
            try:
                info = tf.next()
                if info is None:
                    if count == 0 and tf.offset == 0:
                        report(ArticleReadError(source, "not a readable tar archive, truncated "
                                                        "or corrupt (no members)"))
                    return
                if not info.isfile():
                    continue
                where = f"{source}::{info.name}"
                admit = _admit(info.name, where, report, skip, budget)
                if admit is None:
                    return
                if not admit:
                    continue
                member = tf.extractfile(info)
            except errors as e:
                report(ArticleReadError(
                    source, f"tar archive truncated or corrupt after {count} members ({e})"))
                return
            count += 1
            yield from read_member(_Guarded(member), info.name, where, report, dispatch,
                                   budget, budget.limits.member)
