"""Page furniture is not article text: cleanup of one article, by general rules.

What goes: call-to-action lines (subscribe, sign up, log in, follow, click, share,
comment prompts), a trailing run of teasers for other articles (short lines, mostly
headline-like, alternating with their image captions), and image captions repeated
with a photo credit glued on, which are kept once as the article's ``caption``.
Whitespace is normalised with paragraph breaks (``\\n\\n``) kept.

The result depends on the article alone (no corpus statistics), so the enrichment
cache and incremental updates stay right.
"""

from __future__ import annotations

import re

from search.models import Article

# A call to action: a short line that prompts the reader to do something on the page.
# Verbs count where an imperative stands (line start, or after "?", ":", "." or "|");
# page-furniture nouns count anywhere in the line.
_CTA_VERB = re.compile(
    r"(?:^|[.?!:|•]\s+)(?:please\s+|(?:don[’']t forget|be sure|remember) to\s+)?"
    r"(subscribe|sign[ -]?up|sign[ -]?in|log[ -]?in|login|follow|click|tap|share|comment|"
    r"register|download|read more|continue reading|get (?:our|the) newsletter)\b",
    re.I,
)
_CTA_NOUN = re.compile(
    r"\b(advertisement|newsletter|already (?:signed up|a subscriber|a member|have an account)|"
    r"opens in (?:a )?new window|approval of (?:subscriber )?comments|"
    r"comments? (?:are|is) (?:closed|moderated)|story continues below)\b",
    re.I,
)
_CTA_MAX_WORDS = 12
# A teaser (headline or caption of another article) is short.
_TEASER_MAX_WORDS = 25
# A block of teasers is a dozen or two lines; more than this is the article itself.
_TEASER_MAX_LINES = 40
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")
_CREDIT_MAX = 80
_HSPACE = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_TITLE_MAX = 120
# Don't end a sentence after an initial ("U.S.") or a common abbreviation.
_ABBREV = re.compile(
    r"(\b[A-Z]|\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|Gen|Gov|Sen|Rep|No|vs|U\.S|U\.K|U\.N))\.$")


def caption_pair(line1: str, line2: str) -> str | None:
    """The caption, when ``line2`` repeats ``line1`` with a photo credit glued on.

    :param line1: a line of text
    :param line2: the line after it

    >>> caption_pair("Attack in Syria, 2019", "Attack in Syria, 2019Credit: SANA / AP")
    'Attack in Syria, 2019'
    >>> caption_pair("Attack in Syria", "Attack in Syria, said the army") is None
    True
    """
    a, b = line1.strip(), line2.strip()
    if not a or len(a) > 300 or not b.startswith(a):
        return None
    credit = b[len(a):]
    # Glued on: no space between caption and credit, and the credit is short.
    if not credit or credit[0].isspace() or len(credit) > _CREDIT_MAX:
        return None
    if not (credit[0].isupper() or credit[0].isdigit() or credit[0] in "©(/"):
        return None
    return a


def first_sentence(text: str) -> str:
    """The first sentence of ``text``.

    :param text: article text (paragraphs separated by blank lines)
    """
    para = next((p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()), "")
    para = " ".join(para.split())
    for m in re.finditer(r"[.!?][\"'”’)]*(?=\s+[\"'“‘(]?[A-Z0-9])", para):
        if not _ABBREV.search(para[: m.start() + 1]):
            return para[: m.end()]
    return para


def shorten(text: str, limit: int = _TITLE_MAX) -> str:
    """``text`` cut at a word boundary to about ``limit`` characters, with "…" if cut.

    :param text: a line of text
    :param limit: the most characters kept before the ellipsis
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip(" ,;:–—-") + "…"


def _words(line: str) -> int:
    return len(line.split())


def is_call_to_action(line: str) -> bool:
    """Whether a line is a short prompt to act on the page ("Subscribe today and save 40%").

    :param line: one line of text
    """
    if not 0 < _words(line) <= _CTA_MAX_WORDS:
        return False
    return bool(_CTA_VERB.search(line) or _CTA_NOUN.search(line))


def _is_teaser_run(lines: list[str]) -> bool:
    """Whether lines after a prompt look like teasers: all short, half or more headline-like.

    Teasers alternate an image caption (often a full sentence) with a headline (no
    sentence-ending punctuation); real closing paragraphs are sentences.
    """
    if len(lines) > _TEASER_MAX_LINES or any(_words(x) > _TEASER_MAX_WORDS for x in lines):
        return False
    # A line that starts in lower case continues the one before: wrapped prose, not teasers.
    if any(x[:1].islower() for x in lines):
        return False
    headline_like = sum(1 for x in lines if not _SENTENCE_END.search(x))
    return not lines or (headline_like >= 2 and headline_like * 2 >= len(lines))


def _normalise(text: str) -> list[list[str]]:
    """Paragraphs (lists of stripped, non-empty lines) of ``text``."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    paras = []
    for block in re.split(r"\n\s*\n", text):
        lines = [_HSPACE.sub(" ", x).strip() for x in block.split("\n")]
        lines = [x for x in lines if x]
        if lines:
            paras.append(lines)
    return paras


def _drop_tail(lines: list[str]) -> int:
    """Index where the trailing furniture starts, or ``len(lines)``.

    It starts at a call to action after which every line is another prompt or a
    teaser of another article. A trailing run of short lines with no prompt before
    it is kept: lists of results or fixtures look the same and are article text.
    """
    n = len(lines)
    start = n
    for i in range(n - 1, -1, -1):
        if _words(lines[i]) > _TEASER_MAX_WORDS:
            break
        if is_call_to_action(lines[i]):
            rest = [x for x in lines[i + 1:] if not is_call_to_action(x)]
            if _is_teaser_run(rest):
                start = i
    return start


def clean_text(text: str) -> tuple[str, list[str]]:
    """``text`` without page furniture, and the image captions found in it.

    :param text: raw article text
    :returns: ``(body, captions)``; paragraphs of ``body`` are separated by ``"\\n\\n"``
    """
    paras = _normalise(text)
    captions: list[str] = []
    kept: list[tuple[int, str]] = []  # (paragraph number, line)
    for p, lines in enumerate(paras):
        i = 0
        while i < len(lines):
            cap = caption_pair(lines[i], lines[i + 1]) if i + 1 < len(lines) else None
            if cap is None and i + 1 == len(lines) and p + 1 < len(paras):
                # The credited repeat may follow after a blank line.
                cap = caption_pair(lines[i], paras[p + 1][0])
                if cap is not None:
                    paras[p + 1] = paras[p + 1][1:]
                    i += 1
            if cap is not None:
                if cap not in captions:
                    captions.append(cap)
                i += 2 if i + 1 < len(lines) else 1
                continue
            kept.append((p, lines[i]))
            i += 1
    kept = kept[: _drop_tail([x for _, x in kept])]
    kept = [(p, x) for p, x in kept if not is_call_to_action(x)]
    out: list[str] = []
    last = None
    for p, line in kept:
        if last is not None:
            out.append("\n" if p == last else "\n\n")
        out.append(line)
        last = p
    return "".join(out), captions


def clean(article: Article) -> Article:
    """The article with page furniture removed from its body and captions moved to ``caption``.

    :param article: a raw article from a reader
    """
    body, captions = clean_text(article.body or "")
    caption = "\n".join(c for c in ([article.caption] if article.caption else []) + captions if c)
    title = " ".join((article.title or "").split())
    return article.replace(title=title, body=body, caption=caption)
