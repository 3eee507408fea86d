"""Plain-text articles (``.txt``): line 1 the headline, the rest the article.

A file may open with an image caption instead of a headline (the caption, then the
same caption with the photo credit glued on): then the title is the article's first
sentence. Bytes are decoded as UTF-8, falling back to cp1252 (BBC's ``sport/199.txt``
holds a lone Latin-1 ``£``), and then to cp1252 with the bytes it lacks replaced.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Iterator

from search.errors import ArticleReadError
from search.ingest.enrich.cleanup import caption_pair
from search.ingest.enrich.cleanup import first_sentence
from search.ingest.enrich.cleanup import shorten
from search.ingest.readers.limits import BINARY
from search.models import Article
from search.models import article_id

_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")  # below 32, but not \t \n \f \r
_BOMS = (("utf-8-sig", b"\xef\xbb\xbf"), ("utf-16", b"\xff\xfe"), ("utf-16", b"\xfe\xff"))


def _decodes(data: bytes, name: str) -> bool:
    try:
        data.decode(name)
    except UnicodeDecodeError:
        return False
    return True


def _replaced(text: str, where: str, report: Callable[[ArticleReadError], None],
              bad: int) -> str:
    """``text`` with NULs replaced; a warning (the article is indexed) when bytes were."""
    nuls = text.count("\x00")
    notes = []
    if bad:
        notes.append(f"{bad} undecodable byte{'s' if bad != 1 else ''} replaced (U+FFFD)")
    if nuls:
        notes.append(f"{nuls} NUL byte{'s' if nuls != 1 else ''} replaced")
    if notes:
        report(ArticleReadError(where, "; ".join(notes) + "; indexed", warning=True))
    return text.replace("\x00", "\ufffd") if nuls else text


def decode(data: bytes, where: str, report: Callable[[ArticleReadError], None],
           encoding: str | None = None) -> str | None:
    """Text of ``data``, or ``None`` (reported) when it is empty or binary.

    UTF-8 is tried first, then the ``encoding`` the file declares, then cp1252; a file
    none of them reads whole (cp1252 has no character for five bytes, ``\\x81`` among
    them) is read as cp1252 with those bytes replaced by U+FFFD, so one bad byte never
    costs the article. NUL bytes are replaced the same way; either is reported as a
    warning (``warning=True``: the article is indexed). A file full of control
    characters is binary, not text.

    :param data: the file's bytes
    :param where: the file (or member) named in a report
    :param report: called with the error when the bytes are not text
    :param encoding: an encoding the file declares, tried after UTF-8
    """
    if not data.strip():
        report(ArticleReadError(where, "empty file"))
        return None
    for name, bom in _BOMS:
        if data.startswith(bom):
            text = data.decode(name, errors="replace")
            bad = 0 if _decodes(data, name) else max(1, text.count("\ufffd"))
            return _replaced(text, where, report, bad)
    for name in ("utf-8", encoding, "cp1252", None):
        try:
            text = data.decode(name) if name else data.decode("cp1252", errors="replace")
        except (UnicodeDecodeError, LookupError):
            continue
        controls = len(_CONTROLS.findall(text, 0, 4096))
        if controls > max(4, len(text[:4096]) // 50):
            break
        # Only the last resort replaces bytes; cp1252 decodes every byte but five.
        return _replaced(text, where, report, text.count("\ufffd") if name is None else 0)
    report(ArticleReadError(where, BINARY))
    return None


def read_text(data: bytes, source: str, report: Callable[[ArticleReadError], None]
              ) -> Iterator[Article]:
    """The one article of a plain-text file.

    :param data: the file's bytes
    :param source: the file, or ``archive::member``
    :param report: called with the error when the file holds no article
    """
    text = decode(data, source, report)
    if text is None:
        return
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    filled = [i for i, x in enumerate(lines) if x.strip()]
    if not filled:
        report(ArticleReadError(source, "empty file"))
        return
    first = filled[0]
    second = filled[1] if len(filled) > 1 else None
    if second is not None and caption_pair(lines[first], lines[second]):
        # No headline: the caption pair stays in the body (cleanup keeps it as the
        # caption), and the title is the first sentence after it.
        body = "\n".join(lines[first:]).strip()
        title = shorten(first_sentence("\n".join(lines[second + 1:])))
    else:
        title = " ".join(lines[first].split())
        body = "\n".join(lines[first + 1:]).strip()
    if not body:
        report(ArticleReadError(source, "no article text after the headline"))
        return
    yield Article(id=article_id(None, source, None), source=source, record=None,
                  title=title, body=body)
