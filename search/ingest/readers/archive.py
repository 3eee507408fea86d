"""Compressed files and archives: ``.gz``, ``.zip``, ``.tar``, ``.tar.gz``/``.tgz``.

Each member is read by its own name (``x.jsonl.gz`` is JSON Lines); its articles'
``source`` is ``"<archive>::<member>"``. A truncated archive is reported and what
could be read from it is kept.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from collections.abc import Iterator

from search.errors import ArticleReadError
from search.models import Article

Report = Callable[[ArticleReadError], None]
Dispatch = Callable[[bytes, str, str, Report], Iterator[Article]]
# Formats in which what precedes a truncation is still whole records.
_LINE_FORMATS = (".jsonl", ".ndjson", ".jsonlines", ".csv", ".tsv")


def gunzip(data: bytes) -> tuple[bytes, str | None]:
    """The decompressed bytes of a gzip file (every member), and an error or ``None``.

    :param data: the compressed bytes
    :returns: ``(bytes, None)``, or what decompressed before the error and the error
    """
    out: list[bytes] = []
    rest = data
    while rest:
        d = zlib.decompressobj(wbits=31)
        try:
            out.append(d.decompress(rest))
            out.append(d.flush())
        except zlib.error as e:
            return b"".join(out), f"corrupt gzip data ({e})"
        if not d.eof:
            return b"".join(out), "truncated gzip file (it ends before the compressed data does)"
        rest = d.unused_data.lstrip(b"\x00")
    return b"".join(out), None


def read_gzip(data: bytes, name: str, source: str, report: Report,
              dispatch: Dispatch) -> Iterator[Article]:
    """Articles of a ``.gz`` file, read by its inner name (``x.jsonl.gz`` -> ``x.jsonl``).

    :param data: the compressed bytes
    :param name: the file's name
    :param source: the file, or ``archive::member``
    :param report: called with each error
    :param dispatch: reads the decompressed bytes by name
    """
    inner = name[:-3]
    raw, error = gunzip(data)
    if error:
        keeps = inner.lower().endswith(_LINE_FORMATS) and raw
        report(ArticleReadError(source, error + ("; reading the records before the cut"
                                                 if keeps else "; skipped")))
        if not keeps:
            return
        # The last line is cut short: drop it rather than report it as malformed.
        raw = raw[: raw.rfind(b"\n") + 1]
    yield from dispatch(raw, inner, source, report)


def read_zip(data: bytes, source: str, report: Report, dispatch: Dispatch,
             skip: Callable[[str], bool]) -> Iterator[Article]:
    """Articles of every member of a zip archive.

    :param data: the archive's bytes
    :param source: the archive (or ``archive::member``)
    :param report: called with each error
    :param dispatch: reads one member's bytes by name
    :param skip: whether a member (by its path) is not an article (README, hidden, ...)
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        report(ArticleReadError(source, f"not a readable zip archive, truncated or corrupt ({e})"))
        return
    with zf:
        for info in sorted(zf.infolist(), key=lambda i: i.filename):
            if info.is_dir() or skip(info.filename):
                continue
            where = f"{source}::{info.filename}"
            try:
                member = zf.read(info)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError,
                    NotImplementedError, RuntimeError) as e:
                report(ArticleReadError(where, f"could not read this archive member ({e})"))
                continue
            yield from dispatch(member, info.filename, where, report)


def read_tar(data: bytes, source: str, report: Report, dispatch: Dispatch,
             skip: Callable[[str], bool]) -> Iterator[Article]:
    """Articles of every regular file in a tar archive (plain, gzip, bz2 or xz).

    :param data: the archive's bytes
    :param source: the archive (or ``archive::member``)
    :param report: called with each error
    :param dispatch: reads one member's bytes by name
    :param skip: whether a member (by its path) is not an article (README, hidden, ...)
    """
    errors = (tarfile.TarError, EOFError, zlib.error, OSError, ValueError)
    try:
        tf = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")
    except errors as e:
        report(ArticleReadError(source, f"not a readable tar archive, truncated or corrupt ({e})"))
        return
    count = 0
    with tf:
        while True:
            try:
                info = tf.next()
                if info is None:
                    return
                if not info.isfile() or skip(info.name):
                    continue
                member = tf.extractfile(info).read()
            except errors as e:
                report(ArticleReadError(
                    source, f"tar archive truncated or corrupt after {count} members ({e})"))
                return
            count += 1
            yield from dispatch(member, info.name, f"{source}::{info.name}", report)
