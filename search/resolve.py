"""Entity resolution across the archive (stage 3, DESIGN.md: Derived facts and the stages of indexing).

NER guesses each article alone; the archive as a whole knows better. :func:`resolve`
reads what NER saw in every article (its facet values and the
:attr:`~search.models.Entities.evidence` the enrichment cache keeps: every name-like
mention's spaCy label and counts of the words around it) and decides, for every raw facet value,
its canonical value and its one type (``person``, ``org``, ``place``) or that it is none
of these (dropped from the facets). It uses archive statistics and rules of English
names, never a list of this archive's names (two small tables of general knowledge
aside, below):

**Merges** (a group of spellings shows as one value, its canonical spelling):

- case, accents and dots: ``OBAMA``, ``Khloé Kardashian``, ``George W. Bush``, ``L.A.``
  are ``Obama``, ``Khloe Kardashian``, ``George W Bush``, ``LA``; the most frequent
  spelling that is not all capitals is shown;
- plural and possessive: ``Lib Dem`` / ``Lib Dems`` (possessives are already cut by
  :func:`~search.ingest.enrich.entities.canonical_entity`), except two one-word people;
- designators: ``Labour Party`` / ``Labour``, into the more frequent;
- spaces, punctuation, a web suffix and word order: ``Hollywood Life`` /
  ``HollywoodLife.com``, ``Department of Justice`` / ``Justice Department``, into the more
  frequent;
- a government department named by its field (``Homeland Security``, ``Defense``) -> the
  ``Department of ...`` (or ``Ministry of ...``) of that field, when it is named in three
  articles or more;
- a place's organisation named with the place (``United States Senate``) -> the plain
  name (``Senate``) when that is more frequent and they are named together;
- a person's longer name beginning with a shorter one (``Kim Kardashian West`` / ``Kim
  Kardashian``), named together, into the more frequent;
- middle initials: ``Donald J. Trump`` / ``Donald Trump``, into the more frequent;
- shortened words: ``Lib Dems`` -> ``Liberal Democrats`` (each word begins the other's),
  when named together at least once;
- acronyms: ``IMF`` -> ``International Monetary Fund`` when its initials match and the
  two are named in the same articles;
- a one-word name -> the one full name of the archive ending or starting with it, when
  that full name holds two thirds of those full names' articles (``Bush`` -> ``George W
  Bush``, ``Kim`` -> ``Kim Kardashian``); a one-word person shared by several full names,
  none dominant, is dropped (no user filters by ``David``); the model's non-person must
  also be named with that full name in half of its articles (``Clarke`` as an org);
- any other shorter name -> a longer one of the same type beginning or ending with it,
  when named together in half its articles (``Commons`` -> ``House of Commons``);
- the head of an organisation's name "X of Y" -> the one such name the archive uses
  most (``House`` -> ``House of Representatives``), unless a common word;
- a given name alone -> the one person of that given name whose family its articles
  name (``Shiloh`` -> ``Shiloh Jolie-Pitt`` in articles naming Jolies and Pitts),
  however the model typed it and however seldom the full name is written;
- a surname after a title (``General Petraeus``, ``President Bush``) -> as the surname;
- a short form of a given name (``Angie``, ``Jen``: its first three letters begin the
  longer given name) -> the one full name named in half its articles and in two thirds
  of all its rivals' (full names beginning with the short form itself, other people whose
  given names begin so: ``Ange`` named as often with Angela Merkel as with Angelina Jolie
  stays);
- a title held by one person at a time (``Duchess of Cambridge``, ``Prince of Wales``)
  -> the person named beside it in apposition ("Kate Middleton, the Duchess of
  Cambridge", enrichment cache version 9 on), when one person holds two thirds of those
  appositions, in three articles or more;
- a surname the model reads as a person in some articles and as an organisation in
  others that mostly do not name the person (``Fox``: Liam Fox and the network) joins
  the person only where the model said person, and stays an organisation elsewhere;
- an organisation's or place's name one vowel apart (``Al Qaida`` / ``al Qaeda``);
- general knowledge, in two small tables (:data:`PLACE_NAMES`, :data:`PARTY_NAMES`):
  other names of one country or of a few world cities (``America`` = ``United
  States``, ``Holland`` = ``Netherlands``, ``NYC`` = ``New York``) and parties'
  nicknames that are not their initials (``GOP`` = ``Republican Party``).

**Boilerplate** (enrichment cache version 9 on): a site's furniture ("Please enable
JavaScript", "news articles, Tweets, or blog posts", "HollywoodLifers, do you think...")
is the same words leading to a name in many pages of one outlet. The evidence keeps a
short hash of each mention's line up to it and the word after it; a value named only in
words its outlet repeats verbatim in :data:`BOILERPLATE` articles, in half of its articles
or more, is none of the three. Counted per outlet, so a sentence several outlets quote is
no outlet's furniture.

**Types** (decided per group, by every article naming any of its spellings):

- one vote per article: the label the model gave it most there (the clean-up's place
  wins, as it does inside one article); the most votes win;
- spaCy's other labels (``WORK_OF_ART``, ``PRODUCT``, ``EVENT``, ``LAW``, ``DATE``...)
  vote "none" (a value so labelled in a quarter of its mentions is none, unless mostly
  not and it acts in a fifth: "Sophos said"); ``NORP`` is a political group (an org) when named after "the" in half
  its mentions ("the Liberal Democrats"), else a nationality (none);
- the model's person named after "the" in a fifth of its mentions is not a person ("the
  Lib Dems", "the Welsh", "the Oscar"): it takes the type the other votes give, when
  they are 40% of the votes or the "the" share is half, else none;
- a person or organisation after "a"/"an"/"his"/"their"... in a fifth of its mentions
  is a thing ("an iPod"); after a number in a quarter, a time zone or unit ("1800 GMT");
- a word that begins three people's names of the archive is a given name: a one-word
  value that is one follows the short-form rule for people whatever the model called
  it (``Kendall`` as an org), and a two- or three-word org beginning with one is a
  person (``Justin Theroux``);
- transcript furniture: a value spelt in capitals in most articles, of two words or of
  seven letters or more (``END VIDEO CLIP``, ``CROSSTALK``), is none;
- a name ending in an event or award noun ("Champions League" does not; "Davis Cup",
  "Academy Awards", "Consumer Electronics Show" do), or holding a lower-case word that
  is not a particle ("Everton v Sunderland"), is none;
- a person whose first word is a place and last word an organisation ("Manchester
  United") is an organisation; a one-word person the model calls an organisation or a
  place in a fifth of its articles is that ("Everton", "Anfield");
- a one-word value most articles of which also use it as a lower-case word (a quarter:
  "State", "Budget") is a common word, none;
- from the words around each mention (enrichment cache version 8 on; older evidence
  leaves these rules out): a person or organisation whose mentions are followed by the
  noun of a thing ("Champions League final", "Xbox games", "Oscar nominations",
  "Medicaid benefits") in 15% of them is none; an organisation or place after a
  person's title ("Mr Campbell", "President Lincoln") in a fifth is a person; the
  model's person after "on"/"via" in a quarter ("on Twitter") is a medium (an
  organisation if the votes allow, else none); a place never after "in", "near"...
  ("in the Netherlands") is the person or organisation the model also calls it in 30%
  of its mentions ("Rihanna", "BT"); a family named in the plural after "the" ("the
  Kardashians": the singular is several people's surname) is none.

Resolution is a pure function of the articles' evidence (and their outlets, when
known): the same archive gives the same
resolution whatever order it came in, so an archive that grew is resolved again from its
:class:`Evidence` (kept up to date with :meth:`Evidence.add` / :meth:`Evidence.remove`)
without running NER. It only touches the entity facets, never the text.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass

from search.models import Entities

KINDS = ("person", "org", "place")
NONE = "none"
# spaCy labels -> facet types; every other label is evidence for "none".
_LABEL_KIND = {"PERSON": "person", "ORG": "org", "GPE": "place", "LOC": "place",
               "FAC": "place"}
# spaCy's NORP is a nationality or a political group: which one is decided by the
# contexts ("the Liberal Democrats" is a party, "Welsh" a nationality).
NORP = "norp"
_CATEGORIES = ("person", "org", "place", NONE, NORP)
_LABEL_INDEX = {label: _CATEGORIES.index(kind) for label, kind in _LABEL_KIND.items()}
_LABEL_INDEX["NORP"] = _CATEGORIES.index(NORP)
# Order used to break a tie of votes: an entity type before "none".
_TYPE_ORDER = {"person": 0, "org": 1, "place": 2, NONE: 3, NORP: 4}
# A full name dominates a short form's candidates when it holds this share of them.
DOMINANT = 2 / 3
# A shorter name is folded into a longer one it begins or ends when they are named
# together in at least this share of the shorter one's articles.
TOGETHER = 0.5
# A one-word value is a common word when at least this share of its articles also use
# it in lower case.
COMMON_WORD = 0.25
# Words that only say what kind of organisation a name is: "Labour Party" is "Labour".
_DESIGNATORS = frozenset({"party", "inc", "corp", "corporation", "ltd", "plc", "llc", "co",
                          "company", "group", "fc", "club"})
# The heads of government departments' names "X of Y", named by their field Y alone
# ("Homeland Security" is the Department of Homeland Security).
_DEPARTMENTS = frozenset({"department", "ministry"})
# Lower-case words skipped when reading a name's initials ("Bank of England" -> BoE).
_SKIP_INITIAL = frozenset({"of", "and", "the", "for", "de", "du", "des", "la", "le", "on",
                           "in", "&"})
# Endings that make another word of a name, not an abbreviation of it.
_INFLECTIONS = frozenset({"ern", "erner", "erners", "ian", "ians", "ish", "ese", "ean", "eans",
                          "ers", "ing"})
_WEB_SUFFIX = re.compile(r"(?:\.com|\.org|\.net|\.co\.uk|\.co)$")
_ACRONYM = re.compile(r"^[A-Z][A-Z&]{1,5}$")
# Head nouns of the names of events, competitions and awards ("Champions League" is an
# organisation by the model's reading, "Davis Cup" a place): never a person, org or place.
_EVENT_HEADS = frozenset({"award", "awards", "prize", "prizes", "cup", "trophy", "medal",
                          "championship", "championships", "games", "olympics", "festival",
                          "show", "slam", "tournament", "open", "election", "elections",
                          "budget", "summit", "conference", "day", "week", "war"})
# Lower-case words that belong inside names ("Bank of England", "bin Laden").
_PARTICLES = frozenset({"of", "and", "the", "for", "de", "du", "des", "da", "di", "del",
                        "van", "von", "der", "den", "la", "le", "bin", "al", "el", "ibn",
                        "on", "in", "at", "&"})
# A value mentioned after a number or a time this often is a time zone or unit ("GMT").
AFTER_NUMBER = 0.25
# A value the model calls a person is not one when this share of its mentions follow
# "the" or a possessive (real people: under 0.15 on bbc-news), given enough mentions.
DEFINITE_PERSON = 0.2
MIN_MENTIONS = 5
# ... and is re-typed only when its articles call it that other type this often.
RETYPE_SHARE = 0.4
# A one-word person the model calls an org or a place in this share of its articles is one.
SPLIT_PERSON = 0.2
# A NORP value named after "the" this often is a political group (an organisation).
GROUP_DEFINITE = 0.5
# A person or organisation mentioned after "his", "their", "a", "an"... this often is a
# thing (real people and organisations: under 0.2 on bbc-news).
POSSESSED = 0.2
# A place named after "in", "near"... in at most this share of MIN_AROUND mentions or
# more (real places: ...) is re-typed when the model calls it a person or an
# organisation in RETYPE_LABELS of its mentions.
UNLOCATED = 0.02
MIN_AROUND = 10
RETYPE_LABELS = 0.3
# An organisation or place after a person's title ("Mr", "President", "singer") in this
# share of its mentions is a person.
TITLED = 0.1
# The model's person named after "on" or "via" in this share of its mentions is a medium.
ON_MEDIUM = 0.25
# A one-word organisation folds into the one name beginning with it that is used this
# many times as often.
PREFIX_BIGGER = 2
# An organisation whose mentions name a thing this often ("Medicare benefits") and act in
# at most QUIET of them is that thing (real organisations act: "CNN reported").
QUIET_THING = 0.05
QUIET = 0.01
# A town is named after "in" in this share of its mentions at least ("Manchester": 0.3).
TOWN = 0.05
# An organisation named after "in" (or after "on") in this share of its mentions is a
# place.
SITE = 0.5
# A value the model calls a nationality, religion or group (NORP) this often, not named
# after "the" (parties are), is none of the three.
NATIONALITY = 0.2
# A one-word person titled this often is a person, whatever else the model says.
PERSON_SIGN = 0.05
# A value the model labels a work, product, event, law... (not a person, organisation,
# place or group) in this share of its mentions is none of the three.
OTHER_LABELS = 0.25
# ... unless it acts ("X said", "X spokesman") in this share of its mentions (works and
# products seldom do: under 0.1 on both judged corpora; "Sophos" 0.4).
AGENT = 0.2
# A value no type of which has this share of its articles' votes is none of the three.
SPLIT = 0.45
# Titles before a surname ("General Petraeus" is the Petraeus of the archive). Peers'
# and royals' titles are part of the name ("Prince Harry", "Lord Falconer").
_SURNAME_TITLES = frozenset({
    "president", "senator", "sen", "rep", "representative", "congressman", "congresswoman",
    "gov", "governor", "general", "gen", "secretary", "judge", "mayor", "chancellor",
    "minister", "speaker", "ambassador", "commissioner", "coach", "detective", "officer",
    "sergeant", "sgt", "captain", "capt", "colonel", "col", "admiral", "lieutenant", "lt"})
# A person or organisation whose mentions name a thing ("Xbox games", "Oscar
# nominations") this often, in at least MIN_THING mentions, is that thing's name (people
# and organisations: under 0.1 on bbc-news, but broadcasters before "programme", which
# the evidence leaves out for that reason).
THING = 0.15
MIN_THING = 3
# A word is a given name when it begins this many people's names of the archive.
GIVEN_NAME = 3
# A full name a short form may join is named in at least this many articles.
MIN_FULL = 3
_INITIAL = re.compile(r"^[a-z]$")
_VOWELS = frozenset("aeiouy")
# A site's boilerplate: the words leading to a mention on its line, and the word after
# it, repeated verbatim by at least this many articles of one outlet (enrichment cache
# version 9 on). A sentence several outlets quote is counted once per outlet; one outlet
# repeating a paragraph in a follow-up or two stays under it.
BOILERPLATE = 5
# ... a value named only so in at least this share of its articles (and in BOILERPLATE
# of them) is the site's furniture ("enable JavaScript", "Tweets by"), none of the three.
BOILERPLATE_SHARE = 0.5
# A short form of a given name shares at least its first this many letters with it
# ("Angie" / "Angelina", "Jen" / "Jennifer").
NICKNAME_PREFIX = 3
# Titles that with "of" name one person at a time ("Duchess of Cambridge"): the person
# the archive names beside the title in apposition ("Kate Middleton, the Duchess of
# Cambridge"), when one person holds most of those appositions.
_NOBLE_TITLES = frozenset({"duke", "duchess", "prince", "princess", "king", "queen", "earl",
                           "countess", "marquess", "marchioness", "baron", "baroness",
                           "viscount", "viscountess", "emperor", "empress", "sultan", "emir"})
# General knowledge, not this archive's: other names of the same country, and the short
# forms of a few world cities that are in everyday use. Each row is one place; the first
# name the archive uses is shown. (NER clean-up already writes "US"/"USA" as "United
# States" and "UK"/"Britain" as "United Kingdom".)
PLACE_NAMES = (
    ("United States", "America", "United States of America", "USA", "US"),
    ("United Kingdom", "Britain", "Great Britain", "UK"),
    ("Netherlands", "Holland"),
    ("Russia", "Russian Federation"),
    ("Myanmar", "Burma"),
    ("Czech Republic", "Czechia"),
    ("Ivory Coast", "Côte d'Ivoire"),
    ("Democratic Republic of Congo", "Democratic Republic of the Congo", "DR Congo", "DRC"),
    ("United Arab Emirates", "UAE"),
    ("Washington", "Washington DC", "DC", "District of Columbia"),
    ("New York", "New York City", "NYC"),
    ("Los Angeles", "LA"),
)
# Well-known short forms of political parties that are not their initials (those the
# acronym rule finds): "GOP" is the Republican Party's nickname, "Tories" the
# Conservatives'. One row per party, the full name first (shown when the archive has it).
PARTY_NAMES = (
    ("Republican Party", "GOP", "Grand Old Party"),
    ("Conservative Party", "Tories", "Tory Party"),
)
# Slots of _Stats.context: mentions, indefinite, definite, possessed, number, acting,
# titled, located, naming a thing, after "on", and the mentions whose evidence knows
# the words around them (enrichment cache version 8 on).
_CONTEXTS = 11
_ACTING, _TITLED, _LOCATED, _THING, _ON, _AROUND = 5, 6, 7, 8, 9, 10


def _key(value: str) -> str:
    """The spelling-blind key of a value: accents, case, dots and extra spaces removed."""
    folded = unicodedata.normalize("NFKD", value)
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    folded = folded.casefold().replace(".", "").replace("’", "'")
    return " ".join(folded.split())


def _is_caps(value: str) -> bool:
    letters = [c for c in value if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


class Evidence:
    """Every article's entities and NER evidence: the input of :func:`resolve`.

    Kept up to date as articles come and go; resolution is a function of what it holds
    now, whatever order it was filled in.
    """

    def __init__(self, articles: Mapping[str, Entities] | None = None):
        self.articles: dict[str, Entities] = {}
        # article id -> its language, for articles not in English (English when absent)
        self.langs: dict[str, str] = {}
        # article id -> its outlet, when known (boilerplate is counted per outlet)
        self.outlets: dict[str, str] = {}
        for aid, entities in (articles or {}).items():
            self.add(aid, entities)

    def add(self, article_id: str, entities: Entities, lang: str | None = None,
            outlet: str | None = None) -> None:
        """Add (or replace) one article's entities, with their evidence when known, its
        language when known (``None``: English) and its outlet when known."""
        self.articles[article_id] = entities
        if lang and lang != "en":
            self.langs[article_id] = lang
        else:
            self.langs.pop(article_id, None)
        if outlet:
            self.outlets[article_id] = outlet
        else:
            self.outlets.pop(article_id, None)

    def remove(self, article_id: str) -> None:
        """Forget one article (removed from the index); unknown ids are ignored."""
        self.articles.pop(article_id, None)
        self.langs.pop(article_id, None)
        self.outlets.pop(article_id, None)

    def __len__(self) -> int:
        return len(self.articles)


@dataclass(frozen=True)
class Row:
    """One raw facet value's resolution, as stored beside a generation.

    :param value: the value as NER clean-up gave it (any facet)
    :param canonical: the value the facets show instead, ``None`` when dropped
    :param kind: its one type (``person``, ``org``, ``place``), ``None`` when dropped
    """

    value: str
    canonical: str | None
    kind: str | None


class Resolution:
    """Raw value -> canonical value and type (or dropped), for the whole archive.

    :param mapping: raw value -> ``(canonical, kind)`` or ``None`` (dropped)
    :param by_kind: ``(raw value, facet)`` -> ``(canonical, kind)``, where a value found in
        that facet resolves otherwise than in the rest ("Fox" as a person is Liam Fox,
        as an organisation the network); what :meth:`rows` stores is ``mapping``
    """

    def __init__(self, mapping: Mapping[str, tuple[str, str] | None],
                 by_kind: Mapping[tuple[str, str], tuple[str, str] | None] | None = None):
        self._map = dict(mapping)
        self._by_kind = dict(by_kind or {})

    @classmethod
    def from_rows(cls, rows: Iterable[Row | tuple[str, str | None, str | None]]) -> Resolution:
        """A resolution from :meth:`rows` as stored (rows or ``(value, canonical, kind)``)."""
        mapping: dict[str, tuple[str, str] | None] = {}
        for row in rows:
            value, canonical, kind = tuple(row) if not isinstance(row, Row) else (
                row.value, row.canonical, row.kind)
            mapping[value] = (canonical, kind) if canonical and kind in KINDS else None
        return cls(mapping)

    def rows(self) -> list[Row]:
        """Every raw value's resolution, sorted by value (what a generation stores)."""
        return [Row(v, *(r if r else (None, None))) for v, r in sorted(self._map.items())]

    def lookup(self, value: str, kind: str) -> tuple[str, str] | None:
        """``(canonical, kind)`` of a raw value found in facet ``kind``, ``None`` if dropped.

        A value the resolution has not seen (an article added since) stays as it is.
        """
        if self._by_kind and (value, kind) in self._by_kind:
            return self._by_kind[value, kind]
        if value in self._map:
            return self._map[value]
        return value, kind

    def apply(self, entities: Entities) -> Entities:
        """One article's resolved entities: canonical values in their one facet, each once,
        in first-seen order; dropped values left out."""
        out: dict[str, list[str]] = {k: [] for k in KINDS}
        for kind in KINDS:
            for value in getattr(entities, kind):
                found = self.lookup(value, kind)
                if found is not None and found[0] not in out[found[1]]:
                    out[found[1]].append(found[0])
        return Entities(person=tuple(out["person"]), org=tuple(out["org"]),
                        place=tuple(out["place"]))

    def __len__(self) -> int:
        return len(self._map)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Resolution) and self._map == other._map \
            and self._by_kind == other._by_kind

    __hash__ = None  # type: ignore[assignment]


# --- statistics -------------------------------------------------------------------------


class _Stats:
    """Per key: the articles naming it, their type votes, lower-case uses and spellings."""

    def __init__(self, evidence: Evidence):
        self.post: dict[str, set[str]] = {}
        self.votes: dict[str, Counter] = {}
        self.lower: Counter = Counter()
        self.spellings: dict[str, Counter] = {}
        self.raw: set[str] = set()
        # mentions; those after "a"/"an", after "the", after "his"..., after a number; those
        # acting, titled, located; the mentions whose evidence has the last three
        self.context: dict[str, list[int]] = {}
        # mentions by the model's label, as _CATEGORIES (votes count articles instead)
        self.labels: dict[str, list[int]] = {}
        self._keys: dict[str, str] = {}
        self._display: dict[str, str] = {}
        # per key: the articles naming it that are not in English
        self.foreign: Counter = Counter()
        # per key: (article, the line keys of its mentions there) where the evidence
        # has them (enrichment cache version 9 on); per (outlet, line key): the articles
        # holding that line; per outlet: its articles
        self.lines: dict[str, list[tuple[str, tuple[int, ...]]]] = {}
        self.line_articles: Counter = Counter()
        self.outlet_of: dict[str, str] = {}
        self.outlet_size: Counter = Counter()
        # per key: the people named beside it in apposition, by mentions' articles
        self.apposed: dict[str, Counter] = {}
        for aid in sorted(evidence.articles):
            outlet = evidence.outlets.get(aid, "")
            self.outlet_of[aid] = outlet
            self.outlet_size[outlet] += 1
            self._add(aid, evidence.articles[aid], foreign=aid in evidence.langs)

    def mostly_english(self, key: str) -> bool:
        """Whether most articles naming ``key`` are in English (whose rules of form, such
        as "no lower-case word inside a name", then apply)."""
        return self.foreign[key] * 2 <= len(self.post.get(key, ()))

    def key(self, value: str) -> str:
        found = self._keys.get(value)
        if found is None:
            found = self._keys[value] = _key(value)
        return found

    def _add(self, aid: str, entities: Entities, foreign: bool = False) -> None:
        # per value: mentions by type (person, org, place, none), as the model labelled them
        labels: dict[str, list[int]] = {}
        kinds: dict[str, str] = {}
        lower: set[str] = set()
        for kind in KINDS:
            for value in getattr(entities, kind):
                kinds[value] = kind
                self.raw.add(value)
        in_lines: dict[str, tuple] = {}
        apposed: dict[str, set] = {}
        for value, label, n, used_lower, *context in entities.evidence:
            key = self.key(value)
            if len(context) > _CONTEXTS - 2:
                # version 9: the keys of the words leading to its mentions, and the
                # people in apposition
                found = in_lines.get(key)
                # most values have one row per article: its keys as they are, else joined
                in_lines[key] = context[_CONTEXTS - 2] if found is None else tuple(
                    set(found).union(context[_CONTEXTS - 2]))
                if len(context) > _CONTEXTS - 1 and context[_CONTEXTS - 1]:
                    apposed.setdefault(key, set()).update(context[_CONTEXTS - 1])
            row = labels.get(value)
            if row is None:
                row = labels[value] = [0, 0, 0, 0, 0]
            row[_LABEL_INDEX.get(label, 3)] += n
            if used_lower:
                lower.add(value)
            per_key = self.labels.get(key)
            if per_key is None:
                per_key = self.labels[key] = [0, 0, 0, 0, 0]
            per_key[_LABEL_INDEX.get(label, 3)] += n
            ctx = self.context.get(key)
            if ctx is None:
                ctx = self.context[key] = [0] * _CONTEXTS
            ctx[0] += n
            for i, c in enumerate(context[:_CONTEXTS - 2], start=1):
                ctx[i] += c
            if len(context) >= _CONTEXTS - 2:
                # evidence written before the words around mentions were kept (cache
                # version 7) says nothing about them: counted apart, so "never said"
                # means never said
                ctx[_AROUND] += n
        # One vote per article and key: the label the model used most for it here (a tie
        # goes to an entity type), or the facet clean-up's place.
        article_votes: dict[str, list[int]] = {}
        lower_keys = set()
        for value in kinds.keys() | labels.keys():
            key = self.key(value)
            spellings = self.spellings.get(key)
            if spellings is None:
                spellings = self.spellings[key] = Counter()
            spellings[value] += 1
            row = labels.get(value)
            if kinds.get(value) == "place" or row is None:
                # clean-up's choice: a place whenever the model once said so ("Syria's"
                # called an organisation)
                vote = _CATEGORIES.index(kinds[value])
            else:
                vote = row.index(max(row))
            votes = article_votes.get(key)
            if votes is None:
                votes = article_votes[key] = [0, 0, 0, 0, 0]
            votes[vote] += 1
            if value in lower:
                lower_keys.add(key)
        for key in lower_keys:
            self.lower[key] += 1
        if in_lines:
            outlet = self.outlet_of.get(aid, "")
            line_articles = self.line_articles
            for line in set().union(*in_lines.values()):
                line_articles[outlet, line] += 1
            lines = self.lines
            for key, found in in_lines.items():
                if found:
                    seen = lines.get(key)
                    if seen is None:
                        lines[key] = [(aid, found)]
                    else:
                        seen.append((aid, found))
        for key, people in apposed.items():
            self.apposed.setdefault(key, Counter()).update(people)
        for key, votes in article_votes.items():
            post = self.post.get(key)
            if post is None:
                post = self.post[key] = set()
                self.votes[key] = Counter()
            post.add(aid)
            self.votes[key][_CATEGORIES[votes.index(max(votes))]] += 1
            if foreign:
                self.foreign[key] += 1

    def contexts(self, keys: Iterable[str]) -> list[int]:
        """The context counts (:data:`_CONTEXTS` slots) of ``keys`` together."""
        out = [0] * _CONTEXTS
        for k in keys:
            for i, c in enumerate(self.context.get(k, ())):
                out[i] += c
        return out

    def n(self, key: str) -> int:
        return len(self.post.get(key, ()))

    def together(self, a: str, b: str) -> int:
        pa, pb = self.post.get(a, set()), self.post.get(b, set())
        return len(pa & pb) if len(pa) <= len(pb) else len(pb & pa)

    def display(self, key: str) -> str:
        """The most frequent spelling, one not all in capitals if there is one."""
        found = self._display.get(key)
        if found is None:
            spellings = self.spellings[key]
            found = self._display[key] = min(
                spellings, key=lambda s: (_is_caps(s) and len(s) > 4, -spellings[s], s))
        return found


def _kind_of(votes: Counter) -> str:
    return min(votes.items(), key=lambda kv: (-kv[1], _TYPE_ORDER[kv[0]]))[0] if votes else NONE


class _Groups:
    """Union of keys into groups, each led by a canonical key (the one merged into)."""

    def __init__(self, keys: Iterable[str]):
        self.parent = {k: k for k in keys}

    def find(self, key: str) -> str:
        root = key
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[key] != root:
            self.parent[key], key = root, self.parent[key]
        return root

    def merge(self, short: str, full: str) -> None:
        """Fold ``short``'s group into ``full``'s (``full``'s leader stays canonical)."""
        a, b = self.find(short), self.find(full)
        if a != b:
            self.parent[a] = b


def _tokens(key: str) -> list[str]:
    return key.split(" ")


def _shortens(short: str, full: str) -> bool:
    """Whether each word of ``short`` is the same word of ``full`` or an abbreviation of
    it ("lib dems", "liberal democrats"; a plural "s" on both is set aside): a beginning
    of at most four letters, cut by three or more, not an inflection ("east"/"eastern")."""
    pairs = list(zip(_tokens(short), _tokens(full)))
    if any(a.endswith("s") and b.endswith("s") for a, b in pairs[-1:]):
        pairs[-1] = (pairs[-1][0][:-1], pairs[-1][1][:-1])
    return (all(a == b or (2 <= len(a) <= 4 and b.startswith(a) and len(b) - len(a) >= 3
                           and b[len(a):] not in _INFLECTIONS) for a, b in pairs)
            and any(a != b for a, b in pairs))


def _initials(display: str) -> str:
    words = display.replace("-", " ").split()
    return "".join(w[0] for w in words if w.lower() not in _SKIP_INITIAL and w[:1].isupper())


def _by_form(st: _Stats, lead: str, group: Iterable[str], votes: Counter) -> str:
    """A group's type: its articles' votes, unless the form of its name or its contexts
    across the archive say otherwise."""
    t = _kind_of(votes)
    display = st.display(lead)
    words = display.replace("-", " ").split()
    if words and words[-1].lower() in _EVENT_HEADS and len(words) > 1:
        return NONE
    if st.mostly_english(lead) and any(
            w[:1].islower() and w.lower() not in _PARTICLES and not w[1:2].isupper()
            for w in words[1:]):
        # "Everton v Sunderland", "Oscar nominee": a phrase, not a name. English only:
        # French names hold lower-case words ("Nations unies", "Banque des territoires").
        return NONE
    spellings = st.spellings[lead]
    caps = sum(n for sp, n in spellings.items() if _is_caps(sp))
    if caps * 2 >= sum(spellings.values()) and (len(words) > 1 or len(display) >= 7):
        return NONE  # "END VIDEO CLIP", "CROSSTALK": transcript furniture, never in lower case
    ctx = st.contexts(group)
    mentions, indefinite, definite, possessed, number = ctx[:5]
    if mentions and number >= AFTER_NUMBER * mentions:
        return NONE
    if t in ("person", "org") and mentions >= MIN_MENTIONS \
            and possessed + indefinite >= POSSESSED * mentions:
        return NONE  # "his iPod", "an iPod": a thing one has
    labels = [0] * len(_CATEGORIES)
    for k in group:
        for i, c in enumerate(st.labels.get(k, ())):
            labels[i] += c
    if sum(labels) >= MIN_MENTIONS and labels[3] >= OTHER_LABELS * sum(labels) \
            and not (labels[3] * 2 < sum(labels) and ctx[_AROUND]
                     and ctx[_ACTING] >= AGENT * ctx[_AROUND]):
        # the model calls it a work, a product, an event, a law... in a quarter of its
        # mentions ("Grammy", "Wimbledon", "Consumer Electronics Show"); unless mostly
        # not, and it speaks or acts as works seldom do ("Sophos said": a company whose
        # name the model sometimes takes for its product)
        return NONE
    # NORP mentions of spellings not named after "the" as groups are ("the Liberal
    # Democrats"): a nationality, religion or movement to the model
    nationality = 0
    for k in group:
        c = st.context.get(k)
        if c and c[2] < GROUP_DEFINITE * c[0]:
            nationality += st.labels.get(k, (0,) * 5)[4]
    if sum(labels) >= MIN_MENTIONS and nationality >= NATIONALITY * sum(labels):
        return NONE  # "Islam", "Obamacare", "iTunes" in a fifth of their mentions
    if votes and max(votes.values()) < SPLIT * sum(votes.values()) \
            and sum(votes.values()) >= MIN_MENTIONS:
        # the articles cannot agree what it is ("the Blues": a person, an organisation,
        # a place): no one of the three
        return NONE
    around, thing = ctx[_AROUND], ctx[_THING]
    if t in ("person", "org") and around >= MIN_MENTIONS and thing >= MIN_THING \
            and (thing >= THING * around or (t == "org" and thing >= QUIET_THING * around
                                              and ctx[_ACTING] <= QUIET * around)):
        # "Champions League final", "Xbox games", "Oscar nominations": the name of a
        # thing, which agents seldom are; less often so ("Medicare benefits"), of an
        # organisation that never speaks or acts. (Places are named so: "Hollywood star";
        # they are left alone.)
        return NONE
    if t == "person" and mentions >= MIN_MENTIONS and definite >= DEFINITE_PERSON * mentions:
        # "the Lib Dems", "the Welsh": people are not named after "the"; what else the
        # articles call it, if they agree enough, else none of the three
        others = Counter({k: v for k, v in votes.items() if k != "person" and v})
        other = _kind_of(others)
        total = sum(votes.values())
        strong = definite >= GROUP_DEFINITE * mentions  # "the Lib Dems": a group
        t = other if others[other] >= RETYPE_SHARE * total or (strong and others) else NONE
    if t == "person" and " " not in lead:
        # One word the model calls a person in some articles and an organisation or a
        # place in a fifth of them is a club or a town ("Everton", "Anfield"): the
        # model seldom hesitates so over a real person's name.
        other = _kind_of(Counter({k: votes[k] for k in ("org", "place") if votes[k]}))
        if votes[other] >= SPLIT_PERSON * sum(votes.values()) \
                and not (around and ctx[_TITLED] >= PERSON_SIGN * around):
            t = other  # ... never titled: "rapper Jay-Z" stays a person
    if t == "org" and around >= MIN_AROUND and (ctx[_LOCATED] >= SITE * around
                                                or ctx[_ON] >= SITE * around):
        # "in the Oval Office", "on Capitol Hill" half the time: a place the model took
        # for an organisation (a medium is "on" less: "on Instagram" 0.3)
        t = "place"
    if t in ("org", "place") and around >= MIN_MENTIONS and ctx[_TITLED] >= TITLED * around \
            and ctx[_LOCATED] < TITLED * around:
        # "Mr Campbell", "President Lincoln", "singer X": a person, whatever the model
        # said; unless the name is also a place things happen in as often ("Mr Houston"
        # and "in Houston")
        t = "person"
    if t == "person" and around >= MIN_AROUND and ctx[_ON] >= ON_MEDIUM * around:
        # "on Twitter", "via Instagram": a medium, not a person (people are "on" a
        # programme or a list now and then, not in a quarter of their mentions)
        t = "org" if votes["org"] >= RETYPE_SHARE * sum(votes.values()) else NONE
    if t == "place" and around >= MIN_AROUND and ctx[_LOCATED] <= UNLOCATED * around:
        # Never "in X": somewhere nothing happens is hardly a place. A person or
        # organisation the model also calls it in enough of its mentions ("Rihanna",
        # "BT") is that.
        other = 0 if labels[0] >= labels[1] else 1
        # ... and that acts or is titled now and then ("BT said"); a stadium the model
        # also calls an organisation ("at Twickenham") never does. Titled often, a
        # person ("daughter Stormi"), whatever else the model says.
        if ctx[_TITLED] >= TITLED * around:
            t = "person"
        elif labels[other] >= RETYPE_LABELS * sum(labels[:3]) and ctx[_ACTING] + ctx[_TITLED]:
            t = _CATEGORIES[other]
    if t == NORP:
        # a political group is named with "the" ("the Democrats"); a nationality is not
        return "org" if mentions and definite >= GROUP_DEFINITE * mentions else NONE
    return t


def _club(st: _Stats, key: str) -> bool:
    """Whether a person-typed name is a place's name and an organisation's word
    ("Manchester United", "Glasgow Rangers"): a club, not a person. Each word must be
    mostly that type in the model's own votes."""
    toks = _tokens(key)
    if len(toks) < 2 or _kind_of(st.votes.get(toks[0], Counter())) != "place" \
            or _kind_of(st.votes.get(toks[-1], Counter())) != "org":
        return False
    # the town is somewhere: named after "in" now and then, where the evidence says
    # ("Tristan", a given name the model took for a place, hardly ever is)
    ctx = st.context.get(toks[0])
    return not ctx or not ctx[_AROUND] or ctx[_LOCATED] >= TOWN * ctx[_AROUND]


def resolve(evidence: Evidence | Mapping[str, Entities]) -> Resolution:
    """The resolution of an archive from every article's entities and NER evidence.

    :param evidence: an :class:`Evidence`, or article id -> :class:`Entities`
    """
    if not isinstance(evidence, Evidence):
        evidence = Evidence(evidence)
    st = _Stats(evidence)
    keys = sorted(st.post)
    # Each spelling's own type first (its votes and the form rules), to guide the merges.
    pre = {k: _by_form(st, k, (k,), st.votes[k]) for k in keys}
    for k in keys:
        if pre[k] == "person" and _club(st, k):
            pre[k] = "org"
    groups = _Groups(keys)
    dropped: set[str] = set()

    # A site's boilerplate ("Please enable JavaScript", "news articles, Tweets, or blog
    # posts" in every page of one site): a value named only in words one outlet repeats
    # verbatim, in half its articles, is none of the three.
    for k in _boilerplate(st):
        dropped.add(k)
        pre[k] = NONE

    # A name of two or three words beginning with a given name is a person's, whatever
    # the model called it ("Justin Theroux" as an organisation).
    given_names = Counter(_tokens(k)[0] for k in keys if pre[k] == "person" and " " in k)
    for k in keys:
        toks = _tokens(k)
        if pre[k] == "org" and len(toks) in (2, 3) and given_names[toks[0]] >= GIVEN_NAME \
                and toks[0] not in _PARTICLES and st.display(k)[:1].isupper() \
                and not _is_caps(st.display(k)):
            pre[k] = "person"

    # Other names of one country or city, and parties' nicknames (the tables above).
    for table, kinds in ((PLACE_NAMES, ("place",)), (PARTY_NAMES, ("org", NONE))):
        for names in table:
            present = [k for k in (_key(n) for n in names) if k in st.post and pre[k] in kinds]
            if len(present) > 1:
                # the full name first when the archive has it, else the most used
                lead = present[0] if present[0] == _key(names[0]) else max(
                    present, key=lambda k: (st.n(k), k))
                for k in present:
                    groups.merge(k, lead)

    # Spellings one vowel apart inside one word of a longer organisation's or place's name
    # ("Al Qaida" / "al Qaeda": transliterations and slips), of one type: into the more
    # frequent.
    variants: dict[tuple[str, str], list[str]] = {}
    for k in keys:
        toks = _tokens(k)
        if len(toks) < 2 or pre[k] not in ("org", "place"):
            continue  # people: "Mark Jones" and "Mark Jonas" are two
        for i, t in enumerate(toks):
            if len(t) >= 5:
                for j, c in enumerate(t[1:], start=1):
                    if c in _VOWELS:
                        # the word with that vowel blanked, and with it left out
                        for form in (t[:j] + "*" + t[j + 1:], t[:j] + t[j + 1:]):
                            variants.setdefault((pre[k], " ".join(
                                toks[:i] + [form] + toks[i + 1:])), []).append(k)
    for (kind, _), forms in sorted(variants.items()):
        forms = sorted(set(forms))
        if len(forms) == 2 and all(st.n(f) >= MIN_FULL for f in forms):
            small, big = sorted(forms, key=lambda f: (st.n(f), f))
            groups.merge(small, big)

    # "The Kardashians", "the Obamas": a family (named after "the", its singular the
    # surname of several people of the archive) is no person, organisation or place.
    surnames = Counter(_tokens(k)[-1] for k in keys if pre[k] == "person" and " " in k)
    for k in keys:
        if " " not in k and k.endswith("s") and pre[k] != "person" \
                and surnames[k[:-1]] >= 2 and st.contexts((k,))[2] >= GROUP_DEFINITE * \
                st.contexts((k,))[0]:
            pre[k] = NONE

    # Plurals: "lib dems" is "lib dem" (into the more frequent), unless both are one-word
    # people ("Williams" and "William" are different names).
    for k in keys:
        if k.endswith("s") and len(k) > 3 and k[:-1] in st.post and pre[k] != NONE:
            s = k[:-1]
            if " " not in k and pre[k] == pre[s] == "person":
                continue
            small, big = (k, s) if (st.n(k), k) < (st.n(s), s) else (s, k)
            groups.merge(small, big)

    # Spellings that differ only in spaces, punctuation or a web suffix ("Hollywood Life",
    # "HollywoodLife.com"), and "Department of Justice" / "Justice Department": one name,
    # into the more frequent.
    compact: dict[str, list[str]] = {}
    for k in keys:
        toks = _tokens(k)
        if len(toks) == 3 and toks[1] == "of" and pre[k] == "org":
            swapped = f"{toks[2]} {toks[0]}"
            if swapped in st.post and pre[swapped] == "org":
                compact.setdefault(swapped, []).append(k)
        flat = _WEB_SUFFIX.sub("", st.display(k).casefold())
        flat = "".join(c for c in _key(flat) if c.isalnum())
        if len(flat) >= 4:
            compact.setdefault(flat, []).append(k)
    for flat, forms in sorted(compact.items()):
        forms = sorted(set(forms) | ({flat} if flat in st.post else set()))
        if len(forms) > 1:
            best = max(forms, key=lambda f: (st.n(f), f))
            for f in forms:
                if pre[f] == pre[best] or pre[f] == NONE:
                    groups.merge(f, best)

    # A government department named by its field alone ("Homeland Security", "Defense")
    # is the "Department of ..." (or "Ministry of ...") of that field the archive names,
    # when both are organisations and the full name is named in several articles.
    for k in keys:
        toks = _tokens(k)
        if len(toks) < 3 or toks[0] not in _DEPARTMENTS or toks[1] != "of" or pre[k] != "org" \
                or st.n(k) < MIN_FULL:
            continue
        field = " ".join(toks[3:] if toks[2] == "the" and len(toks) > 3 else toks[2:])
        if field in st.post and pre[field] == "org" and st.n(k) >= st.n(field) / 4:
            groups.merge(field, k)

    # A place's organisation named with the place ("US Senate", "United States Senate")
    # is the organisation the archive names alone more often, when named together.
    for k in keys:
        toks = _tokens(k)
        if pre[k] != "org" or len(toks) < 2:
            continue
        for i in range(1, len(toks)):
            place, rest = " ".join(toks[:i]), " ".join(toks[i:])
            if pre.get(place) == "place" and pre.get(rest) == "org" \
                    and st.n(rest) > st.n(k) and st.together(k, rest) >= TOGETHER * st.n(k):
                groups.merge(k, rest)
                break

    # Designators: "labour party" is "labour", into the more frequent.
    for k in keys:
        toks = _tokens(k)
        if len(toks) >= 2 and toks[-1] in _DESIGNATORS:
            short = " ".join(toks[:-1])
            if short in st.post and pre[k] == "org" and pre[short] != "place":
                if pre[short] != "org":
                    groups.merge(short, k)  # "Conservative" (the model's person) is the party
                    continue
                small, big = (k, short) if (st.n(k), k) < (st.n(short), short) else (short, k)
                groups.merge(small, big)

    # Middle initials: "donald j trump" and "donald trump" are one person.
    by_ends: dict[tuple[str, str], list[str]] = {}
    for k in keys:
        toks = _tokens(k)
        if pre[k] == "person" and len(toks) in (2, 3) and (len(toks) == 2 or _INITIAL.match(toks[1])):
            by_ends.setdefault((toks[0], toks[-1]), []).append(k)
    for forms in by_ends.values():
        if len(forms) > 1:
            best = max(forms, key=lambda f: (st.n(f), f))
            for f in forms:
                groups.merge(f, best)

    # Shortened words: "lib dems" is "liberal democrats" (each word a beginning of the
    # other's, same number of words), named together.
    by_shape: dict[tuple[int, str], list[str]] = {}
    for k in keys:
        toks = _tokens(k)
        if len(toks) >= 2:
            by_shape.setdefault((len(toks), "".join(t[0] for t in toks)), []).append(k)
    for forms in by_shape.values():
        for k in forms:
            cands = [(st.together(k, f), st.n(f), f) for f in forms
                     if f != k and len(f) > len(k) and _shortens(k, f)
                     and st.n(f) >= max(MIN_FULL, st.n(k) / 4)]
            if cands:
                co, _, full = max(cands)
                if co >= 1:
                    groups.merge(k, full)

    # Acronyms: "imf" and "international monetary fund", named together.
    by_initials: dict[str, list[str]] = {}
    for k in keys:
        if " " in k:
            ini = _initials(st.display(k)).lower()
            if len(ini) >= 2:
                by_initials.setdefault(ini, []).append(k)
    for k in keys:
        if " " in k or not _ACRONYM.match(st.display(k).replace(".", "")) or k not in by_initials:
            continue
        scored = [(st.together(k, f), st.n(f), f) for f in by_initials[k] if pre[f] != NONE]
        if not scored:
            continue
        co, _, full = max(scored)
        if co >= 1 and co >= 0.05 * st.n(k):
            groups.merge(k, full)

    # Short forms of people: a one-word name and the full names ending or starting with
    # it; a surname after a title ("General Petraeus", "President Bush") is one too,
    # whatever the model called it.
    person_ends: dict[str, list[str]] = {}
    for k in keys:
        toks = _tokens(k)
        if pre[k] == "person" and len(toks) >= 2 and toks[0] not in _SURNAME_TITLES:
            for t in {toks[0], toks[-1]}:
                person_ends.setdefault(t, []).append(k)
    given = Counter(_tokens(k)[0] for k in keys if pre[k] == "person" and " " in k)
    short_of: dict[str, str] = {}
    person_only: dict[str, str] = {}
    for k in keys:
        toks = _tokens(k)
        if " " not in k:
            short_of[k] = k
        elif len(toks) == 2 and toks[0] in _SURNAME_TITLES and toks[1] in person_ends \
                and pre[k] != NONE:
            short_of[k] = toks[1]
            pre[k] = "person"
    for k, word in short_of.items():
        if word not in person_ends or groups.find(k) != k:
            continue
        cands = sorted({groups.find(f) for f in person_ends[word]} - {k})
        if not cands:
            continue
        total = sum(st.n(f) for f in cands)
        best = max(cands, key=lambda f: (st.n(f), f))
        dominant = st.n(best) >= DOMINANT * total and st.n(best) >= max(MIN_FULL, st.n(k) / 8)
        # a given name (it begins several people's names) is a person's whatever the
        # model called it ("Kendall", "Justin" as organisations)
        if pre[k] == "person" or given[k] >= GIVEN_NAME:
            both = min(st.votes[k]["org"], st.votes[k]["person"])
            if dominant and " " not in k and given[k] < GIVEN_NAME \
                    and both >= max(MIN_FULL, SPLIT_PERSON * st.n(k)) \
                    and st.together(k, best) < TOGETHER * st.n(k):
                # a surname the model reads as a person in some articles and as an
                # organisation in others, which mostly do not name the person ("Fox":
                # Liam Fox, and the network): the person's only where the model said
                # person. (A given name it takes for a place, "Suri", is its usual slip,
                # which the words around it correct.)
                person_only[k] = best
            elif dominant:
                groups.merge(k, best)
            elif sum(st.n(f) >= MIN_FULL for f in cands) >= 2:
                dropped.add(k)
        elif dominant and st.together(k, best) >= TOGETHER * st.n(k):
            groups.merge(k, best)

    # Other short forms: a name and a longer one beginning or ending with it, named together.
    longer: dict[str, list[str]] = {}
    for k in keys:
        toks = _tokens(k)
        for i in range(1, len(toks)):
            longer.setdefault(" ".join(toks[i:]), []).append(k)
            longer.setdefault(" ".join(toks[:i]), []).append(k)
    for k in keys:
        if groups.find(k) != k or k not in longer or pre[k] in ("person", NONE):
            continue
        cands = sorted({groups.find(f) for f in longer[k]} - {k})
        scored = [(st.together(k, f), st.n(f), f) for f in cands if pre[f] == pre[k]]
        if not scored:
            continue
        co, _, full = max(scored)
        total = sum(c for c, _, _ in scored)
        if co >= TOGETHER * st.n(k) and co >= DOMINANT * total and co >= MIN_FULL:
            groups.merge(k, full)
            continue
        # Or, named apart: a one-word organisation that begins one far more used name of
        # the same type, which no other name beginning with it rivals ("Liberal" and
        # "Liberal Democrats"; not "Apple" and "Apple Records", used less than Apple).
        if " " in k:
            continue
        starting = sorted({groups.find(f) for f in longer[k] if f.startswith(k + " ")
                           and pre[f] == pre[k]} - {k})
        if not starting:
            continue
        best = max(starting, key=lambda f: (st.n(f), f))
        if st.n(best) >= PREFIX_BIGGER * st.n(k) \
                and st.n(best) >= DOMINANT * sum(st.n(f) for f in starting):
            groups.merge(k, best)

    # The head of an organisation's name "X of Y" ("the House" for "the House of
    # Representatives", "the Bank" for "the Bank of England"): the one such name the
    # archive uses most, when it holds two thirds of their articles and is named with
    # the head in several; not a common word ("house prices").
    heads: dict[str, list[str]] = {}
    for k in keys:
        toks = _tokens(k)
        if len(toks) >= 3 and toks[1] == "of" and pre[k] == "org":
            heads.setdefault(toks[0], []).append(k)
    for k, names in sorted(heads.items()):
        if k not in st.post or pre[k] != "org" or groups.find(k) != k \
                or st.lower[k] >= COMMON_WORD * st.n(k):
            continue
        # names used once or twice ("House of Style") are no rival
        cands = sorted({groups.find(f) for f in names if st.n(f) >= MIN_FULL} - {k})
        if not cands:
            continue
        best = max(cands, key=lambda f: (st.n(f), f))
        if st.n(best) >= DOMINANT * sum(st.n(f) for f in cands) \
                and st.together(k, best) >= MIN_FULL:
            groups.merge(k, best)

    # A given name alone and the one person of that given name whose family the articles
    # name ("Shiloh" and "Shiloh Jolie-Pitt", in articles about Angelina Jolie and Brad
    # Pitt), however the model typed it and however seldom the full name is written:
    # each full name scores the articles of the given name that name it or a person
    # sharing a part of its surname; the best must cover half of them and two thirds of
    # all the scores. "Paris" is not "Paris Hilton" where the Hiltons are not named.
    family: dict[str, set[str]] = {}
    for k in keys:
        toks = _tokens(k)
        if pre[k] == "person" and len(toks) >= 2:
            for part in toks[-1].split("-"):
                if len(part) >= 3:
                    family.setdefault(part, set()).update(st.post[k])
    starts: dict[str, list[str]] = {}
    for k in keys:
        toks = _tokens(k)
        if pre[k] == "person" and len(toks) >= 2:
            starts.setdefault(toks[0], []).append(k)
    for k in keys:
        if " " in k or k not in starts or groups.find(k) != k or k in dropped \
                or st.lower[k] >= COMMON_WORD * st.n(k) or pre[k] == NONE:
            continue
        # one candidate per first and last name ("Maddox Chivan Jolie-Pitt" is "Maddox
        # Jolie-Pitt" with a middle name)
        by_ends_: dict[tuple[str, str], list[str]] = {}
        for f in starts[k]:
            by_ends_.setdefault((_tokens(f)[0], _tokens(f)[-1]), []).append(f)
        scores = []
        for (_, last), forms in by_ends_.items():
            named = set().union(*(st.post[f] for f in forms))
            for part in last.split("-"):
                named |= family.get(part, set()) if len(part) >= 3 else set()
            f = max(forms, key=lambda f: (st.n(f), f))
            scores.append((len(st.post[k] & named), st.n(f), f))
        score, _, best = max(scores)
        if score >= TOGETHER * st.n(k) and score >= DOMINANT * sum(c for c, _, _ in scores) \
                and score >= MIN_FULL:
            groups.merge(k, groups.find(best))

    # A short form of a given name ("Angie", "Jen"): a one-word person whose first letters
    # begin the longer given name of the one full name named in most of its articles;
    # full names beginning with the word itself ("Angie Harmon") and other people whose
    # given names begin so ("Angela Merkel") are its rivals, and must be named far less
    # with it.
    by_prefix: dict[str, list[str]] = {}
    for k in keys:
        toks = _tokens(k)
        if pre[k] == "person" and len(toks) >= 2 and len(toks[0]) >= NICKNAME_PREFIX:
            by_prefix.setdefault(toks[0][:NICKNAME_PREFIX], []).append(k)
    for k in keys:
        if " " in k or len(k) < NICKNAME_PREFIX or not k.isalpha() or groups.find(k) != k \
                or k in dropped or pre[k] != "person" or k in person_only \
                or st.lower[k] >= COMMON_WORD * st.n(k):
            continue
        rivals: Counter = Counter()
        for f in by_prefix.get(k[:NICKNAME_PREFIX], ()):
            first = _tokens(f)[0]
            if first == k or len(first) > len(k):
                rivals[groups.find(f)] = max(rivals[groups.find(f)], st.together(k, f))
        if not rivals:
            continue
        best, co = max(rivals.items(), key=lambda kv: (kv[1], kv[0]))
        if len(_tokens(best)[0]) > len(k) and co >= TOGETHER * st.n(k) \
                and co >= DOMINANT * sum(rivals.values()) and co >= MIN_FULL:
            groups.merge(k, best)

    # A title held by one person at a time ("Duchess of Cambridge") -> the person the
    # archive names beside it in apposition ("Kate Middleton, the Duchess of Cambridge"),
    # when one person holds two thirds of those appositions, in several articles.
    for k in keys:
        toks = _tokens(k)
        if len(toks) < 3 or toks[0] not in _NOBLE_TITLES or toks[1] != "of" \
                or groups.find(k) != k or k in dropped or not st.apposed.get(k):
            continue
        holders: Counter = Counter()
        for person, n in st.apposed[k].items():
            pk = st.key(person)
            if pk in st.post and pk != k:
                holders[groups.find(pk)] += n
        if not holders:
            continue
        best, n = max(holders.items(), key=lambda kv: (kv[1], kv[0]))
        if n >= MIN_FULL and n >= DOMINANT * sum(holders.values()) \
                and _kind_of(st.votes[best]) == "person":
            groups.merge(k, best)

    # A person's longer name beginning with a shorter one ("Kim Kardashian West"), named
    # together in half the articles of the less used: into the more used.
    for k in keys:
        if pre[k] != "person" or " " not in k or groups.find(k) != k:
            continue
        for f in sorted(set(longer.get(k, ()))):
            if f.startswith(k + " ") and pre[f] == "person" and groups.find(f) == f \
                    and st.together(k, f) >= TOGETHER * min(st.n(k), st.n(f)) \
                    and st.together(k, f) >= MIN_FULL:
                small, big = (f, k) if (st.n(f), f) <= (st.n(k), k) else (k, f)
                groups.merge(small, big)

    # Each group: its type by the votes of every article naming any of its members.
    members: dict[str, list[str]] = {}
    for k in keys:
        members.setdefault(groups.find(k), []).append(k)
    verdict: dict[str, tuple[str, str] | None] = {}
    for lead, group in members.items():
        if lead in person_only and len(group) == 1:
            t = _kind_of(Counter({t: v for t, v in st.votes[lead].items() if t != "person"}))
        elif len(group) == 1:
            t = pre[lead]
        else:
            votes: Counter = Counter()
            for k in group:
                votes.update(st.votes[k])
            t = _by_form(st, lead, group, votes)
            if t == "person" and _club(st, lead):
                t = "org"
            elif pre[lead] == "person" and " " in lead:
                t = "person"  # a full name's own evidence over its short forms' ("Stormi")
        common = " " not in lead and st.lower[lead] >= COMMON_WORD * st.n(lead)
        if t == NONE or common or lead in dropped:
            verdict[lead] = None
        else:
            verdict[lead] = (st.display(lead), t)
    mapping: dict[str, tuple[str, str] | None] = {}
    by_kind: dict[tuple[str, str], tuple[str, str] | None] = {}
    for value in sorted(st.raw):
        k = st.key(value)
        mapping[value] = None if k in dropped else verdict[groups.find(k)]
        if k in person_only and k not in dropped:
            by_kind[value, "person"] = verdict[groups.find(person_only[k])]
    return Resolution(mapping, by_kind)


def _boilerplate(st: _Stats) -> list[str]:
    """The keys named, in at least :data:`BOILERPLATE_SHARE` of their articles and in
    :data:`BOILERPLATE` articles, only in words their outlet repeats verbatim in
    :data:`BOILERPLATE` articles or more (the line up to each mention and the word after:
    ``line_key`` of :mod:`search.ingest.enrich.entities`)."""
    out = []
    for k, seen in st.lines.items():
        if len(seen) < BOILERPLATE:
            continue
        furniture = sum(all(st.line_articles[st.outlet_of.get(aid, ""), h] >= BOILERPLATE
                            for h in found) for aid, found in seen)
        if furniture >= BOILERPLATE and furniture >= BOILERPLATE_SHARE * st.n(k):
            out.append(k)
    return sorted(out)
