"""Reading input as a stream, within size limits: no file, member or record is ever read
whole before its size is known.

A gzip stream of 610 KB can hold 200 MB of text, and a JSON Lines file can hold one
50 MB line: read whole, either costs gigabytes and can end the run (issue 9). So every
reader gets its bytes through a :class:`Bounded` stream, which stops at the limit of an
archive member and at what is left of the file's budget, and reads records one at a
time, each at most :attr:`Limits.record` bytes:

- ``MAX_RECORD_BYTES`` (10 MB): one article (a line of JSON Lines, a CSV row, an item of
  a JSON array, a whole ``.txt`` or ``.html`` file or member). A long article is 50 KB
  of text and a saved web page with its inline scripts a few MB; more is not an article.
- ``MAX_MEMBER_BYTES`` (200 MB): one archive member or ``.gz`` stream, decompressed. A
  month of a large outlet as JSON Lines fits; a decompression bomb stops here.
- ``MAX_FILE_BYTES`` (1 GB): everything read from one input file (all its members,
  decompressed). Reading is streamed, so this bounds time, not memory: about a year of
  a large outlet's articles, read in a few minutes.
"""

from __future__ import annotations

import codecs
import gzip
import io
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from search.errors import ArticleReadError

MB = 1024 * 1024
CHUNK = 64 * 1024
_CONTROLS = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f]")  # below 32, but not \t \n \f \r


@dataclass(frozen=True)
class Limits:
    """Byte limits of one ``index`` run (settings ``MAX_RECORD_BYTES``,
    ``MAX_MEMBER_BYTES``, ``MAX_FILE_BYTES``)."""

    record: int = 10 * MB
    member: int = 200 * MB
    file: int = 1024 * MB

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Limits:
        """The limits of a :class:`~search.config.Settings`."""
        return cls(record=settings["MAX_RECORD_BYTES"], member=settings["MAX_MEMBER_BYTES"],
                   file=settings["MAX_FILE_BYTES"])


def size_text(n: int) -> str:
    """``10 MB``, ``512 KB``, ``300 bytes``: a limit as a person reads it."""
    if n >= MB and n % MB == 0:
        return f"{n // MB} MB"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024} KB"
    return f"{n:,} bytes"


def over_record(limits: Limits) -> str:
    return (f"larger than the {size_text(limits.record)} limit for one article; skipped "
            "(setting NEWSFACET_MAX_RECORD_BYTES)")


class Budget:
    """The limits of reading one input file, and what is left of its
    :attr:`Limits.file`, shared by the streams of all its members."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.left = limits.file
        self.exceeded = False  # the file held more than the limit


class Bounded(io.RawIOBase):
    """A read-only stream that ends at ``limit`` bytes (``None``: no limit of its own) or
    when the file's :class:`Budget` runs out, whichever comes first; :attr:`over` then says
    which (``"member"`` or ``"file"``), and ``None`` when the stream simply ended.

    :param raw: the stream read from (a file, an archive member, a decompressor)
    """

    def __init__(self, raw, limit: int | None, budget: Budget):
        super().__init__()
        self.raw = raw
        self.limit = limit
        self.budget = budget
        self.count = 0
        self.over: str | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.over:
            return 0
        room = len(buffer)
        if self.limit is not None:
            room = min(room, self.limit - self.count)
        room = min(room, self.budget.left)
        if room <= 0:
            # At the limit: one more byte says whether there was more to read.
            if self.raw.read(1):
                self.over = "file" if self.budget.left <= 0 else "member"
                self.budget.exceeded = self.budget.exceeded or self.over == "file"
            return 0
        data = self.raw.read(room)
        n = len(data)
        buffer[:n] = data
        self.count += n
        self.budget.left -= n
        return n


def buffered(raw: io.RawIOBase) -> io.BufferedReader:
    return io.BufferedReader(raw, CHUNK)


class EndsOnError(io.RawIOBase):
    """A raw stream whose read errors end it, the reason kept in :attr:`error`, rather
    than escape into the reader (which keeps the records it read before).

    Subclasses give :meth:`_read` and say in :meth:`_reason` what an error means.
    """

    def __init__(self):
        super().__init__()
        self.error: str | None = None

    def readable(self) -> bool:
        return True

    def _read(self, n: int) -> bytes:
        raise NotImplementedError

    def _reason(self, error: Exception) -> str | None:
        """What ``error`` means, or ``None`` to let it propagate."""
        return None

    def readinto(self, buffer) -> int:
        if self.error:
            return 0
        try:
            data = self._read(len(buffer))
        except Exception as e:  # noqa: BLE001 - _reason says which ones end the stream
            self.error = self._reason(e)
            if self.error is None:
                raise
            return 0
        n = len(data)
        buffer[:n] = data
        return n


class Gunzip(EndsOnError):
    """The decompressed bytes of a gzip stream (every member), read as they are needed.

    A corrupt or truncated stream ends early; :attr:`error` then says why.
    """

    def __init__(self, raw):
        super().__init__()
        self.gz = gzip.GzipFile(fileobj=raw, mode="rb")

    def _read(self, n: int) -> bytes:
        return self.gz.read1(n)

    def _reason(self, error: Exception) -> str | None:
        if isinstance(error, EOFError):
            return "truncated gzip file (it ends before the compressed data does)"
        if isinstance(error, (OSError, zlib.error)):
            return f"corrupt gzip data ({error})"
        return None


def read_at_most(stream, limit: int) -> bytes | None:
    """All of ``stream`` when it holds at most ``limit`` bytes, else ``None`` (having read
    only ``limit + 1``)."""
    data = stream.read(limit + 1)
    return None if len(data) > limit else data


def looks_binary(head: bytes) -> bool:
    """Whether the first bytes of a file are not text (too many control characters)."""
    sample = head[:4096]
    return len(_CONTROLS.findall(sample)) > max(4, len(sample) // 50)


def decode_counted(line: bytes) -> tuple[str, int, int]:
    """One line as text, with how many bytes were replaced: ``(text, undecodable, nuls)``.

    UTF-8, else cp1252, with the bytes neither can read replaced by U+FFFD (so no line is
    ever lost to its encoding), NUL bytes replaced too. cp1252 never decodes a byte to
    U+FFFD, so on that path every U+FFFD is a replaced byte.
    """
    try:
        text = line.decode("utf-8")
        undecodable = 0
    except UnicodeDecodeError:
        text = line.decode("cp1252", errors="replace")
        undecodable = text.count("\ufffd")
    nuls = text.count("\x00")
    return (text.replace("\x00", "\ufffd") if nuls else text), undecodable, nuls


def decode_line(line: bytes) -> str:
    """One line as text, as :func:`decode_counted` reads it."""
    return decode_counted(line)[0]


def replaced_note(undecodable: int, nuls: int) -> str | None:
    """The reason of a warning for a record some of whose bytes were replaced, or ``None``."""
    parts = []
    if undecodable:
        parts.append(f"{undecodable} undecodable byte{'s' if undecodable != 1 else ''}")
    if nuls:
        parts.append(f"{nuls} NUL byte{'s' if nuls != 1 else ''}")
    if not parts:
        return None
    return f"{' and '.join(parts)} replaced (U+FFFD); indexed"


_EOL = re.compile(rb"\r\n|\r|\n")


def lines(stream, limit: int):
    """``(line number, bytes)`` of each line of a binary stream, ``bytes`` ``None`` for a
    line longer than ``limit`` (whose bytes are skipped, never held).

    A line ends at ``\\n``, ``\\r\\n`` or a bare ``\\r`` (files written on old Macs, or
    pasted together from several systems); each line keeps its line end. The last line
    of a stream that was cut short (a :class:`Reader` whose ``cut`` is set) is a
    fragment and is left out.
    """
    n = 0
    parts: list[bytes] = []  # the line so far, when it runs over a chunk
    size = 0
    skipping = False  # inside a line already over the limit: its bytes are dropped
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        if chunk.endswith(b"\r"):
            chunk += stream.read(1)  # a \r\n split between chunks is one line end
        pos = 0
        for m in _EOL.finditer(chunk):
            piece = chunk[pos:m.end()]
            pos = m.end()
            n += 1
            size += len(piece)
            if skipping or size > limit:
                yield n, None
            else:
                yield n, b"".join(parts) + piece if parts else piece
            parts, size, skipping = [], 0, False
        rest = chunk[pos:]
        if rest and not skipping:
            size += len(rest)
            if size > limit:
                parts, size, skipping = [], 0, True
            else:
                parts.append(rest)
    if skipping:
        yield n + 1, None
    elif parts and not getattr(stream, "cut", None):
        yield n + 1, b"".join(parts)


class Transcode(io.RawIOBase):
    """The bytes of a text stream in another encoding, as UTF-8, decoded as they are read;
    bytes the encoding cannot read are replaced by U+FFFD and counted in :attr:`replaced`.

    :param raw: a binary stream
    :param encoding: its encoding (``utf-8-sig`` drops a UTF-8 BOM; ``utf-16`` reads its BOM)
    :param rewrite: applied to each piece of decoded text (with ``final`` for the last)
    """

    def __init__(self, raw, encoding: str, rewrite=None):
        super().__init__()
        self.raw = raw
        self.decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        self.pending = b""
        self.rewrite = rewrite
        self.replaced = 0
        # U+FFFD that was in the input is not a replacement (counted for UTF-8 only).
        self.own = b"\xef\xbf\xbd" if codecs.lookup(encoding).name.startswith("utf-8") else None

    @property
    def cut(self) -> str | None:
        return getattr(self.raw, "cut", None)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.pending:
            chunk = self.raw.read(CHUNK)
            text = self.decoder.decode(chunk, final=not chunk)
            if "\ufffd" in text:
                legit = chunk.count(self.own) if self.own else 0
                self.replaced += max(0, text.count("\ufffd") - legit)
            if self.rewrite is not None:
                text = self.rewrite(text, not chunk)
            self.pending = text.encode("utf-8", "surrogatepass")
            if not chunk:
                break
        n = min(len(buffer), len(self.pending))
        buffer[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n


class Text(io.BufferedReader):
    """A buffered stream over a :class:`Transcode`, which passes on its source's ``cut``."""

    def __init__(self, transcode: Transcode):
        super().__init__(transcode, CHUNK)
        self.transcode = transcode

    @property
    def cut(self) -> str | None:
        return self.transcode.cut


BINARY = "binary file (too many control characters), not text"


def text_stream(stream, source: str, report):
    """``stream`` ready to be read as lines of text, and its first bytes; ``None`` (reported)
    when it is not text. UTF-16 comes out as UTF-8 (:func:`utf16`).

    :param source: the file, or ``archive::member``, named in a report
    :param report: called with the error when the bytes are binary
    """
    stream = utf16(stream)
    head = stream.peek(CHUNK)[:CHUNK]
    if looks_binary(head):
        report(ArticleReadError(source, BINARY))
        return None
    return stream, head


def utf16(stream):
    """``stream`` as UTF-8 when it opens with a UTF-16 BOM (a :class:`Text`), else as it is.

    :param stream: a buffered binary stream
    """
    if stream.peek(2)[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return Text(Transcode(stream, "utf-16"))
    return stream


class Reader(io.BufferedReader):
    """A buffered stream over a :class:`Bounded` one, which can tell whether it ended
    early: cut at a limit, or because its source was truncated or corrupt."""

    def __init__(self, bounded: Bounded):
        super().__init__(bounded, CHUNK)
        self.bounded = bounded

    @property
    def cut(self) -> str | None:
        """Why the stream ended early (``"member"``, ``"file"``, or the error of a
        truncated source), or ``None`` when it ended where its data did."""
        if self.bounded.over:
            return self.bounded.over
        return getattr(self.bounded.raw, "error", None)
