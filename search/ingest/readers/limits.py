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

import gzip
import io
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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


class Gunzip(io.RawIOBase):
    """The decompressed bytes of a gzip stream (every member), read as they are needed.

    A corrupt or truncated stream ends early; :attr:`error` then says why.
    """

    def __init__(self, raw):
        super().__init__()
        self.gz = gzip.GzipFile(fileobj=raw, mode="rb")
        self.error: str | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.error:
            return 0
        try:
            data = self.gz.read1(len(buffer))
        except EOFError:
            self.error = "truncated gzip file (it ends before the compressed data does)"
            return 0
        except (OSError, zlib.error) as e:
            self.error = f"corrupt gzip data ({e})"
            return 0
        n = len(data)
        buffer[:n] = data
        return n


def read_at_most(stream, limit: int) -> bytes | None:
    """All of ``stream`` when it holds at most ``limit`` bytes, else ``None`` (having read
    only ``limit + 1``)."""
    data = stream.read(limit + 1)
    return None if len(data) > limit else data


def looks_binary(head: bytes) -> bool:
    """Whether the first bytes of a file are not text (too many control characters)."""
    sample = head[:4096]
    return len(_CONTROLS.findall(sample)) > max(4, len(sample) // 50)


def decode_line(line: bytes) -> str:
    """One line as text: UTF-8, else cp1252, with the bytes neither can read replaced
    (so no line is ever lost to its encoding), NUL bytes replaced too."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        text = line.decode("cp1252", errors="replace")
    return text.replace("\x00", "\ufffd")


def lines(stream, limit: int):
    """``(line number, bytes)`` of each line of a binary stream, ``bytes`` ``None`` for a
    line longer than ``limit`` (whose bytes are skipped, never held).

    The last line of a stream that was cut short (a :class:`Reader` whose ``cut`` is set)
    is a fragment and is left out.
    """
    n = 0
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        n += 1
        if not line.endswith(b"\n") and len(line) <= limit and getattr(stream, "cut", None):
            return
        if len(line) > limit and not line.endswith(b"\n"):
            while True:
                rest = stream.readline(CHUNK)
                if not rest or rest.endswith(b"\n"):
                    break
            yield n, None
            continue
        yield n, line


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
