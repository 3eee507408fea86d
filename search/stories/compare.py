"""How two accounts of one story differ, sentence by sentence.

:func:`compare` takes two articles' cleaned text (title and body, as
:func:`search.ingest.enrich.cleanup.clean` leaves them, with the entities NER found)
and returns a :class:`Comparison`: the sentences the two tell alike (aligned pairs,
so a paraphrase counts as shared), the sentences each alone has, and the quotes and
entities each has that the other lacks. :meth:`Comparison.to_json` is the body of
``/api/story/<id>/compare`` (DESIGN.md, "Stories across outlets") without ``"ok"``.

How it works:

1. **Sentences.** Each paragraph (blank-line separated) is cut into blocks
   (:func:`blocks`: bullets, headings and captions stand alone, hard-wrapped lines are
   joined). spaCy's statistical sentence recogniser (``senter`` of the small English
   model, already a dependency for NER) splits the blocks. On 21 hand-written cases of
   news mess (abbreviations, initials, datelines, quotes spanning sentences, bullets) it
   was right on 20, beside pysbd 19 (12 ms per 1,000 words), syntok 19, nupunkt 19,
   spaCy's rule-based ``sentencizer`` 18 ("No. 2" and an opening quote cut off; 2 ms)
   and the model's parser 19 (86 ms), at 4 ms per 1,000 words (``bench/compare.py``
   prints the ones installed here).
2. **Similarity.** Each sentence becomes a TF-IDF vector of its content words
   (stop words dropped, Porter2 stems, ``U.S.`` = ``US`` = ``United States``,
   ``15th`` = ``15``), the IDF taken over the sentences of both articles, so words the
   whole story repeats ("Israel", "strike") count less than the ones that carry a
   fact. Numbers and names (capitalised words inside a sentence, words of the entities
   passed in) weigh :data:`NAME_WEIGHT` times as much: two accounts of one fact share
   its figures and names even when every other word differs.
3. **Alignment.** Pairs at or above :data:`THRESHOLD` are matched one to one, the most
   similar first (ties by position), so a sentence is never the partner of two.

Everything is deterministic: same texts, same comparison.

Measured and left out: static embeddings (``wordllama``, 256-d) and a blend of their
cosine with this one aligned no more same-story sentences for as few chance pairs on
the hand-labelled story pairs (at an equal share of chance alignments between
unrelated articles, 1.3%: 49% of same-story sentences aligned by TF-IDF, 35% by the
embeddings, 47-50% by the blend), for 9 ms more per comparison and a 19 MB
dependency; general-English word rarity (``wordfreq``) as a weight added 1.4 points.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
import threading
from collections import Counter
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field

import numpy as np
from whoosh.lang.porter2 import stem as _porter2

from search.errors import ConfigError
from search.ingest.enrich.entities import DEFAULT_MODEL
from search.models import Entities

#: Two sentences are one fact told twice when their similarity (the cosine of their
#: TF-IDF vectors) is at least this. Measured (``bench/compare.py``): on the seeds the
#: five pairs judged paraphrases by hand score 0.37-0.68 and are the five matched (two
#: pairs at 0.32-0.35 lose to a better partner of one of their sentences); below
#: 0.30 come related facts, not the same one (0.28: the airport strike / the flights
#: suspended after it). On the
#: hand-labelled story pairs (``bench/labels/story_pairs.tsv``) it aligns 49% of the
#: sentences of same-story pairs and 1.3% of unrelated ones (articles from two
#: corpora); 0.25 would align 53% and 2.7%, 0.35 46% and 0.7%. Different-story pairs
#: of one corpus share 18% (same-site furniture and background, aligned rightly).
THRESHOLD = 0.30
#: Two sentences need this many content terms in common to be a pair (unless their
#: terms are the same): on different-story pairs most chance matches above
#: :data:`THRESHOLD` were short sentences sharing one word.
MIN_COMMON = 2
#: How much more a number or a name counts than another content word.
NAME_WEIGHT = 1.5
#: Quotes whose content words overlap this much (of the shorter quote) are one quote.
QUOTE_OVERLAP = 0.6
#: A quote has at least this many words (one quoted word is a term, not speech).
QUOTE_MIN_WORDS = 2
#: Only the first this many characters of a body are compared (at a paragraph break):
#: about 6,000 words, longer than nearly any news article, and a bound on the time
#: and memory of one web request (two such bodies: about a second here).
MAX_CHARS = 40_000
#: Entity kinds compared, in output order.
ENTITY_KINDS = ("person", "org", "place")

# A bullet marker at the start of a line.
_BULLET = re.compile(r"^\s*(?:[•·▪‣◦●○■□►▸*]|[-–—](?=\s))\s*")
# Closing punctuation of a sentence (with closing quotes or brackets after it).
_CLOSED = re.compile(r"[.!?…:;][\"'”’)\]]*$")
_ORDINAL = re.compile(r"^(\d+)(?:st|nd|rd|th)$")
# Multi-word names that are also written as one acronym.
_ALIASES = {("united", "states"): "us", ("united", "kingdom"): "uk",
            ("united", "nations"): "un", ("european", "union"): "eu"}
# Quoted speech: curly quotes, or straight double quotes, within one paragraph. An
# opening quote with no closing one runs to the end of the paragraph (news style for
# a quote that goes on in the next paragraph).
_QUOTE = re.compile(r"“([^“”]+)(?:”|$)|\"([^\"]+)(?:\"|$)", re.M)
_SPEECH = (r"said|says|say|told|tells|added|adds|wrote|writes|stated|states|declared|"
           r"warned|warns|insisted|insists|explained|explains|noted|notes|argued|argues|"
           r"asked|asks|replied|replies|recalled|recalls|continued|announced|according to")
# After a closing quote: ``,” Dennis Ross, a former envoy, told the Journal``.
_AFTER_WHO_VERB = re.compile(
    rf"^[\s,.]*(?P<who>[^\s,.;:!?“”\"][^,.;:!?“”\"]{{0,80}}?)\s*(?:,[^,;“”\"]{{0,120}},\s*)?"
    rf"\b(?:{_SPEECH})\b", re.I)
# After a closing quote, verb first: ``,” said Dennis Ross``.
_AFTER_VERB_WHO = re.compile(
    rf"^[\s,.]*\b(?:{_SPEECH})\s+(?P<who>[A-Z][^,.;:!?“”\"]{{0,60}})")
# Before an opening quote: ``An official statement issued by the Russians said, "``.
_BEFORE = re.compile(rf"(?P<who>[^,.;:!?“”\"]{{1,100}}?)\s+(?:{_SPEECH})\b[^.!?“”\"]{{0,40}}$",
                     re.I)
_VERB = re.compile(rf"\b(?:{_SPEECH})\b", re.I)
_PRONOUNS = frozenset("he she they it we i you one this that who which".split())

_lock = threading.Lock()
_run_lock = threading.Lock()

# Stemming is most of the cost of a comparison; news repeats its words.
stem = functools.lru_cache(maxsize=100_000)(_porter2)
_nlp = None


@dataclass(frozen=True)
class Account:
    """One article's side of a comparison: its cleaned text and its entities.

    :param title: the headline (compared as a sentence, unless it merely repeats the
        body's opening, as the title the indexer derives for a headless file does)
    :param body: the cleaned body, paragraphs separated by blank lines
    :param entities: the article's entities: an :class:`~search.models.Entities` or a
        mapping ``{"person": [...], "org": [...], "place": [...]}`` (missing kinds are
        empty)
    """

    title: str = ""
    body: str = ""
    entities: Entities | Mapping[str, Sequence[str]] | None = None

    def entity_lists(self) -> dict[str, list[str]]:
        """The entities as ``{kind: [value, ...]}`` for every kind in :data:`ENTITY_KINDS`."""
        ents = self.entities
        if isinstance(ents, Entities):
            ents = ents.as_dict()
        ents = ents or {}
        return {k: [str(v) for v in (ents.get(k) or ()) if str(v).strip()] for k in ENTITY_KINDS}


@dataclass(frozen=True)
class Quote:
    """Quoted speech and who said it.

    :param text: the words between the quotation marks
    :param speaker: who said it, as the text names them ("Dennis Ross", "one former US
        official"), or ``None`` when the text does not say (or says only "he")
    """

    text: str
    speaker: str | None = None

    def as_dict(self) -> dict:
        return {"text": self.text, "speaker": self.speaker}


@dataclass
class Comparison:
    """How two accounts differ.

    :param shared: aligned sentence pairs ``(sentence of a, sentence of b)``, in a's order
    :param only_a: sentences of a with no partner in b, in a's order
    :param only_b: sentences of b with no partner in a, in b's order
    :param scores: the similarity of each pair of ``shared`` (at least :data:`THRESHOLD`)
    :param quotes_only_a: quotes of a that b does not have, in a's order
    :param quotes_only_b: quotes of b that a does not have, in b's order
    :param entities_only_a: entities of a, by kind, that b neither lists nor mentions
    :param entities_only_b: entities of b, by kind, that a neither lists nor mentions
    :param truncated: a body was longer than :data:`MAX_CHARS` and only its start was
        compared
    """

    shared: list[tuple[str, str]] = field(default_factory=list)
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    quotes_only_a: list[Quote] = field(default_factory=list)
    quotes_only_b: list[Quote] = field(default_factory=list)
    entities_only_a: dict[str, list[str]] = field(default_factory=dict)
    entities_only_b: dict[str, list[str]] = field(default_factory=dict)
    truncated: bool = False

    def to_json(self) -> dict:
        """The JSON body of ``/api/story/<id>/compare`` without ``"ok"``.

        Keys: ``shared`` (``[[sentence_a, sentence_b], ...]``), ``only_a``, ``only_b``
        (DESIGN.md), and ``quotes_only_a``, ``quotes_only_b`` (``[{"text", "speaker"}]``,
        ``speaker`` ``null`` when unknown), ``entities_only_a``, ``entities_only_b``
        (``{"person": [...], "org": [...], "place": [...]}``), ``truncated`` (a body
        was longer than :data:`MAX_CHARS`: only its start was compared).
        """
        return {
            "shared": [[a, b] for a, b in self.shared],
            "only_a": list(self.only_a),
            "only_b": list(self.only_b),
            "quotes_only_a": [q.as_dict() for q in self.quotes_only_a],
            "quotes_only_b": [q.as_dict() for q in self.quotes_only_b],
            "entities_only_a": {k: list(self.entities_only_a.get(k, [])) for k in ENTITY_KINDS},
            "entities_only_b": {k: list(self.entities_only_b.get(k, [])) for k in ENTITY_KINDS},
            "truncated": self.truncated,
        }


def _model():
    """spaCy's small English pipeline with only its sentence recogniser, loaded once."""
    global _nlp
    with _lock:
        if _nlp is None:
            try:
                import spacy

                nlp = spacy.load(DEFAULT_MODEL, exclude=[
                    "tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "ner"])
                nlp.enable_pipe("senter")
            except (OSError, ImportError, ValueError) as e:
                raise ConfigError(
                    f"cannot load the spaCy model {DEFAULT_MODEL!r} for sentence splitting "
                    f"({e}); install it with `pip install {DEFAULT_MODEL.replace('_', '-')}`"
                ) from e
            _nlp = nlp
        return _nlp


def blocks(text: str) -> list[str]:
    """``text`` cut where a sentence must end whatever its words: paragraphs, bullets,
    headings and captions; wrapped lines of prose are joined, bullet markers dropped.

    A paragraph most of whose lines end without closing punctuation is hard-wrapped
    prose (wire copy at 70 columns): its lines are joined. Otherwise each line stands
    alone (paragraphs one per line, a heading or a caption over its text), unless the
    next one starts in lower case.

    :param text: cleaned article text (paragraphs separated by blank lines)

    >>> blocks("Key points\\n• Rates rise\\n• Inflation falls\\n\\nThe bank said\\nmore.")
    ['Key points', 'Rates rise', 'Inflation falls', 'The bank said more.']
    >>> blocks("The U.S.\\nSenate voted\\nTuesday to pass the\\nbill, 52-48.")
    ['The U.S. Senate voted Tuesday to pass the bill, 52-48.']
    """
    out: list[str] = []
    for para in re.split(r"\n\s*\n", (text or "").replace("\r\n", "\n").replace("\r", "\n")):
        lines = [" ".join(x.split()) for x in para.split("\n")]
        lines = [x for x in lines if x]
        open_ends = sum(1 for x in lines[:-1] if not _CLOSED.search(x))
        wrapped = len(lines) >= 2 and open_ends * 2 > len(lines) - 1
        current = ""
        for line in lines:
            bullet = _BULLET.match(line)
            if bullet:
                line = line[bullet.end():]
                if not line:
                    continue
            joins = current and not bullet and (
                line[:1].islower() or wrapped)
            if joins:
                current += " " + line
                continue
            if current:
                out.append(current)
            current = line
            if bullet:
                # A list item ends at its line.
                out.append(current)
                current = ""
        if current:
            out.append(current)
    return out


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, in order.

    :param text: cleaned article text

    >>> split_sentences("The U.S. Central Command and Mr. Smith met on Jan. 5. They talked.")
    ['The U.S. Central Command and Mr. Smith met on Jan. 5.', 'They talked.']
    """
    return [s for part in _analyse(blocks(text)) for s, _ in part]


Words = list[tuple[str, bool, bool]]


def _analyse(parts: list[str]) -> list[list[tuple[str, Words]]]:
    """The sentences of each part, each with its words: ``(sentence, [(word, is_stop,
    is_name)])``; a sentence never spans two parts.

    Words are spaCy tokens without punctuation; ``is_name`` marks a number or a
    capitalised word inside the sentence.
    """
    if not parts:
        return []
    nlp = _model()
    # One document for all parts (a batch of many small ones costs several times more),
    # cut again at the parts' edges.
    starts = []
    at = 0
    for p in parts:
        starts.append(at)
        at += len(p) + len(_JOIN)
    found: list[list[tuple[str, Words]]] = [[] for _ in parts]
    zone = getattr(nlp, "memory_zone", None)
    # A web server compares for ever: the memory zone drops the new words each
    # comparison brings from spaCy's string store (only plain strings leave it). Zones
    # share the one vocabulary, so one thread at a time.
    with _run_lock, zone() if zone is not None else _NoZone():
        joined = _JOIN.join(parts)
        doc = nlp(joined)
        for sent in doc.sents:
            pieces: dict[int, list] = {}
            for t in sent:
                if not t.is_space:
                    pieces.setdefault(bisect.bisect_right(starts, t.idx) - 1, []).append(t)
            for part, toks in pieces.items():
                _add(found[part], joined[toks[0].idx:toks[-1].idx + len(toks[-1])], toks)
    return found


# Between parts: a paragraph break (a sentence the recogniser runs across it is cut there).
_JOIN = "\n\n"


def _add(sents: list[tuple[str, Words]], text: str, toks: list) -> None:
    """Append one sentence (its text and tokens) to ``sents``."""
    if not any(c.isalnum() for c in text):
        # A lone quotation mark or dash the recogniser cut off belongs to the
        # sentence before (first in its part: it is kept as it is, with no words).
        if sents:
            sents[-1] = (sents[-1][0] + text, sents[-1][1])
            return
    first = toks[0].i
    words = [(t.text, bool(t.is_stop), bool(t.like_num or (t.i != first and t.text[:1].isupper())))
             for t in toks if not t.is_punct]
    sents.append((text, words))


class _NoZone:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@functools.lru_cache(maxsize=100_000)
def _word(text: str, is_stop: bool) -> tuple[str, str, bool] | None:
    """A token's content term: ``(word, its stem, is an acronym)``, or ``None`` for a
    stop word or a scrap ("a", "'s")."""
    # "US" is an acronym, not the pronoun "us".
    acronym = len(text) >= 2 and text.replace(".", "").isupper()
    if is_stop and not acronym:
        return None
    w = text.lower().replace("’", "'")
    w = w.replace(".", "").replace(",", "") if (acronym or text[:1].isdigit()) else w
    if w.endswith("'s"):
        w = w[:-2]
    w = w.strip("'-")
    m = _ORDINAL.match(w)
    if m:
        w = m.group(1)
    if not w or (len(w) < 2 and not w.isdigit()):
        return None
    return w, (w if w.isdigit() else stem(w)), acronym


def _terms(words: Words, names: frozenset[str]) -> list[tuple[str, float]]:
    """Weighted content terms of one sentence's words (see the module docstring)."""
    found = [(_word(text, is_stop), is_name) for text, is_stop, is_name in words]
    items = [(x[0], x[1], is_name or x[2]) for x, is_name in found if x is not None]
    out: list[tuple[str, float]] = []
    i = 0
    while i < len(items):
        w, stemmed, name = items[i]
        alias = _ALIASES.get((w, items[i + 1][0])) if i + 1 < len(items) else None
        if alias:
            out.append((alias, NAME_WEIGHT))
            i += 2
            continue
        out.append((stemmed, NAME_WEIGHT if name or w in names else 1.0))
        i += 1
    return out


def _vectors(terms: list[list[tuple[str, float]]]) -> np.ndarray:
    """L2-normalised TF-IDF rows (sublinear tf, smoothed idf over these sentences)."""
    vocab: dict[str, int] = {}
    df: Counter = Counter()
    for ts in terms:
        df.update({w for w, _ in ts})
    for w in sorted(df):
        vocab[w] = len(vocab)
    n = len(terms)
    m = np.zeros((n, max(len(vocab), 1)), dtype=np.float32)
    for row, ts in enumerate(terms):
        counts: Counter = Counter()
        weight: dict[str, float] = {}
        for w, wt in ts:
            counts[w] += 1
            weight[w] = max(weight.get(w, 1.0), wt)
        for w, k in counts.items():
            idf = math.log((1 + n) / (1 + df[w])) + 1
            m[row, vocab[w]] = (1 + math.log(k)) * idf * weight[w]
    norms = np.linalg.norm(m, axis=1)
    norms[norms == 0] = 1.0
    return m / norms[:, None]


def align(sim: np.ndarray, threshold: float = THRESHOLD) -> list[tuple[int, int]]:
    """One-to-one pairs ``(i, j)`` with ``sim[i, j] >= threshold``, the most similar
    first (ties: the earlier ``i``, then the earlier ``j``), sorted by ``i``.

    :param sim: similarities, rows of a's sentences, columns of b's

    >>> align(np.array([[0.9, 0.8], [0.85, 0.1]]), 0.3)
    [(0, 0)]
    >>> align(np.array([[0.9, 0.8], [0.85, 0.1]]), 0.05)
    [(0, 0), (1, 1)]
    """
    if sim.size == 0:
        return []
    ii, jj = np.nonzero(sim >= threshold)
    order = sorted(zip(ii.tolist(), jj.tolist()), key=lambda p: (-float(sim[p]), p[0], p[1]))
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs = []
    for i, j in order:
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            pairs.append((i, j))
    return sorted(pairs)


def _units(title: str | None, body_text: str) -> list[str]:
    """The title (unless the body opens with it) and the blocks of the body."""
    body = blocks(body_text)
    title = " ".join((title or "").split())
    if title:
        stem_of_title = title.rstrip("…").rstrip(". ")
        opening = " ".join(body[:1])
        if not (opening.startswith(stem_of_title) or stem_of_title == ""):
            body.insert(0, title)
    return body


def _name_words(entities: dict[str, list[str]]) -> frozenset[str]:
    """Lower-cased words of the entity values (they count as names wherever they stand)."""
    return frozenset(w.lower().replace(".", "") for vals in entities.values() for v in vals
                     for w in re.findall(r"[\w.]+", v) if len(w) > 1)


def _entity_key(value: str) -> str:
    """A form of an entity value that ignores case, dots and a leading "the"."""
    v = " ".join(value.replace(".", "").replace("’", "'").casefold().split())
    return v[4:] if v.startswith("the ") else v


def _mentions(text: str, value: str) -> bool:
    """Whether ``text`` names ``value`` (whole words, case and dots ignored)."""
    v = _entity_key(value)
    return bool(v) and re.search(rf"(?<!\w){re.escape(v)}(?!\w)", text) is not None


def _entities_lacking(mine: dict[str, list[str]], theirs: dict[str, list[str]],
                      their_text: str) -> dict[str, list[str]]:
    """My entities, by kind, that the other account neither lists (any kind) nor names."""
    listed = {_entity_key(v) for vals in theirs.values() for v in vals}
    # A person named in full on one side is the same person as the surname on the other.
    surnames = {_entity_key(v).split()[-1] for v in theirs.get("person", []) if v.split()}
    text = _entity_key(their_text)
    out: dict[str, list[str]] = {}
    for kind in ENTITY_KINDS:
        kept = []
        for v in mine.get(kind, []):
            key = _entity_key(v)
            if not key or key in listed or _mentions(text, v):
                continue
            if kind == "person" and key.split()[-1] in surnames:
                continue
            if v not in kept:
                kept.append(v)
        out[kind] = kept
    return out


def _speaker(who: str | None) -> str | None:
    """A speaker as the text names them, or ``None`` for a pronoun or nothing."""
    if not who:
        return None
    who = " ".join(who.split()).strip(" ,;:—–-")
    who = re.sub(r"^(?:and|but|as|while|then)\s+", "", who, flags=re.I)
    if not who or who.lower() in _PRONOUNS or len(who.split()) > 12:
        return None
    return who


def quotes(text: str) -> list[Quote]:
    """The quoted speech in ``text`` and who said it, when the same paragraph says so.

    Looks for the speaker right after the closing quote (``,” Dennis Ross, a former
    envoy, told the Journal``; ``,” said Ross``), else before the opening quote in the
    same sentence (``An official statement said, "…"``; ``ISI said the strikes “…”``).

    :param text: cleaned article text

    >>> quotes('It is a “well-developed and deliberate process,” one former US official said.')
    [Quote(text='well-developed and deliberate process', speaker='one former US official')]
    >>> quotes('He said: "It is over." Then he left.')
    [Quote(text='It is over.', speaker=None)]
    """
    found: list[Quote] = []
    for para in re.split(r"\n\s*\n", text or ""):
        para = " ".join(para.split())
        for m in _QUOTE.finditer(para):
            said = (m.group(1) if m.group(1) is not None else m.group(2)).strip()
            # The comma before the closing quote belongs to the sentence around it.
            said = said.rstrip(" ,")
            if len(said.split()) < QUOTE_MIN_WORDS:
                continue
            after = para[m.end():]
            who = None
            hit = _AFTER_VERB_WHO.match(after) or _AFTER_WHO_VERB.match(after)
            if hit:
                who = hit.group("who")
            else:
                # The sentence before the quote (its last 200 characters at most).
                before = re.split(r"(?<=[.!?])\s+(?=[A-Z“\"])",
                                  para[max(0, m.start() - 200):m.start()])[-1]
                # The cheap test first: most quotes have no speech verb before them.
                hit = _BEFORE.search(before) if _VERB.search(before) else None
                if hit:
                    who = hit.group("who")
            found.append(Quote(said, _speaker(who)))
    return found


def _content(text: str) -> set[str]:
    """Stems of the content words of ``text`` (for comparing quotes)."""
    return {stem(w) for w in re.findall(r"[a-z0-9]+", text.lower().replace("’", "'"))
            if len(w) > 2 and w not in _QUOTE_STOP}


_QUOTE_STOP = frozenset("""the and for that this with are was were have has had not but you
they their there from will would can could our all its his her she him who what when which
been into than then them these those some any more most very just also about over""".split())


def _quotes_lacking(mine: list[Quote], theirs: list[Quote], their_text: str) -> list[Quote]:
    """My quotes that the other account neither quotes (words overlapping
    :data:`QUOTE_OVERLAP` of the shorter quote) nor repeats word for word."""
    their_sets = [_content(q.text) for q in theirs]
    # Which of their quotes hold each word: overlaps are counted through it, so a
    # transcript of hundreds of quotes costs its words, not quotes times quotes.
    holding: dict[str, list[int]] = {}
    for k, words in enumerate(their_sets):
        for w in words:
            holding.setdefault(w, []).append(k)
    flat = " ".join(their_text.split()).casefold()
    out = []
    for q in mine:
        if " ".join(q.text.split()).casefold().strip(" ,.") in flat:
            continue
        words = _content(q.text)
        overlap = Counter(k for w in words for k in holding.get(w, ()))
        if any(n >= QUOTE_OVERLAP * min(len(words), len(their_sets[k]))
               for k, n in overlap.items()):
            continue
        out.append(q)
    return out


def _as_account(x: Account | str | None) -> Account:
    if isinstance(x, Account):
        return x
    return Account(body=x if isinstance(x, str) else "")


def compare(a: Account | str, b: Account | str, threshold: float = THRESHOLD) -> Comparison:
    """How accounts ``a`` and ``b`` of one story differ.

    :param a: the first article (an :class:`Account`, or its body as a string)
    :param b: the second article
    :param threshold: the similarity at which two sentences are one (default
        :data:`THRESHOLD`)
    :raises ConfigError: when the spaCy model cannot be loaded

    >>> c = compare("Israel struck the airport. The UN condemned it.",
    ...             "The airport was struck by Israel, officials said.")
    >>> c.shared, c.only_a, c.only_b
    ([('Israel struck the airport.', 'The airport was struck by Israel, officials said.')], \
['The UN condemned it.'], [])
    """
    a, b = _as_account(a), _as_account(b)
    body_a, cut_a = _capped(a.body)
    body_b, cut_b = _capped(b.body)
    ents_a, ents_b = a.entity_lists(), b.entity_lists()
    units_a = _units(a.title, body_a)
    units_b = _units(b.title, body_b)
    # One pass through spaCy for both; a sentence never spans two units.
    parts = _analyse(units_a + units_b)
    sa = [s for part in parts[:len(units_a)] for s in part]
    sb = [s for part in parts[len(units_a):] for s in part]
    sim = similarity(sa, sb, _name_words(ents_a) | _name_words(ents_b))
    pairs = align(sim, threshold)
    in_a = {i for i, _ in pairs}
    in_b = {j for _, j in pairs}
    text_a = "\n\n".join([a.title or "", body_a])
    text_b = "\n\n".join([b.title or "", body_b])
    qa, qb = quotes(text_a), quotes(text_b)
    return Comparison(
        shared=[(sa[i][0], sb[j][0]) for i, j in pairs],
        only_a=[s for i, (s, _) in enumerate(sa) if i not in in_a],
        only_b=[s for j, (s, _) in enumerate(sb) if j not in in_b],
        scores=[round(float(sim[i, j]), 4) for i, j in pairs],
        quotes_only_a=_quotes_lacking(qa, qb, text_b),
        quotes_only_b=_quotes_lacking(qb, qa, text_a),
        entities_only_a=_entities_lacking(ents_a, ents_b, text_b),
        entities_only_b=_entities_lacking(ents_b, ents_a, text_a),
        truncated=cut_a or cut_b,
    )


def _dot(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``x @ y.T`` without BLAS.

    Once a spaCy model is loaded in the process, a small BLAS product (60 by 400 by 80)
    took 16-24 ms here instead of 0.05 ms (OpenBLAS threads; ``OPENBLAS_NUM_THREADS=1``
    cures it, but only if set before NumPy loads); NumPy's own loop takes 0.25 ms.
    """
    return np.einsum("ik,jk->ij", x, y)


def _capped(body: str | None) -> tuple[str, bool]:
    """``body`` cut to :data:`MAX_CHARS` (at a paragraph break if there is one), and
    whether it was cut."""
    body = body or ""
    if len(body) <= MAX_CHARS:
        return body, False
    head = body[:MAX_CHARS]
    brk = head.rfind("\n\n")
    return (head[:brk] if brk > MAX_CHARS // 2 else head), True


def _same_text(x: str) -> str:
    return " ".join(x.replace("’", "'").replace("“", '"').replace("”", '"').casefold().split())


def similarity(sa: list[tuple[str, Words]], sb: list[tuple[str, Words]],
               names: frozenset[str] = frozenset()) -> np.ndarray:
    """Similarities of a's sentences (rows) with b's (columns), 0 to 1.

    The cosine of the sentences' TF-IDF vectors (see the module docstring), 0 where
    they have fewer than :data:`MIN_COMMON` terms in common (unless their terms are the
    same), 1 where their text is the same (case, spacing and curly quotes aside).

    :param sa: a's sentences with their words, as :func:`_analyse` gives them
    :param sb: b's sentences
    :param names: lower-cased words that count as names wherever they stand
    """
    n_a = len(sa)
    terms = [_terms(words, names) for _, words in sa + sb]
    if not sa or not sb:
        return np.zeros((n_a, len(sb)), dtype=np.float32)
    vecs = _vectors(terms)
    sim = _dot(vecs[:n_a], vecs[n_a:])
    # One word in common is chance ("That's a good thing." / "The good news?"), however
    # short the sentences: a pair needs MIN_COMMON terms in common, or the same terms.
    present = (vecs > 0).astype(np.float32)
    common = _dot(present[:n_a], present[n_a:])
    sizes = present.sum(axis=1)
    same = (common == sizes[:n_a, None]) & (common == sizes[None, n_a:])
    sim[(common < MIN_COMMON) & ~(same & (common > 0))] = 0.0
    # The same sentence is shared, even one with no content word ("Yes.").
    index_b: dict[str, list[int]] = {}
    for j, (text, _) in enumerate(sb):
        index_b.setdefault(_same_text(text), []).append(j)
    for i, (text, _) in enumerate(sa):
        for j in index_b.get(_same_text(text), ()):
            sim[i, j] = 1.0
    return np.clip(sim, 0.0, 1.0)
