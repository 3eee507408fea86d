"""Stories: the articles, from any outlets, that report the same event.

One pass over the articles in **canonical order** (published, then id; undated articles
after dated ones), as Miranda et al. (EMNLP 2018, ``Priberam/news-clustering``) cluster a
stream: each article is compared with the candidate stories its text points at and joins
the best one that clears the bar, or starts a story of its own. After each **period** (a
UTC day of dated articles; a block of undated ones) a **merge pass** joins stories of that
period that turned out to be one. The result is a function of the set of articles.

Features (per article, then summed per story)
    - TF-IDF of title + body words (stop words out, title words counted twice, sublinear
      tf, L2-normalised); a story keeps the **sum** of its members' vectors (its centroid)
      and its **first article's** vector;
    - entities (person by surname, org, place; lower-cased), per story those of any member;
    - title words, per story those of any member;
    - the publication time, when there is one.

Joining a story (:func:`_decide`): with ``c`` the cosine to the story's centroid, ``f``
the cosine to its first article, and the score ``c`` — or, when both sides have
entities, ``max(c, (1 - ENTITY_WEIGHT) * c + ENTITY_WEIGHT * (entity Jaccard))``: two
accounts naming the same people, organisations and places count for more than their
words alone (the seeds: text cosine 0.43, 13 of 27 entities shared), while entities
that two outlets' NER found differently never count against a pair; the text still
has to carry it (the guard below, and a centroid cosine of at least
``JOIN * (1 - ENTITY_WEIGHT)``) —

    - ``score >= JOIN`` (dated article and dated story) or ``score >= JOIN_UNDATED``
      (either undated: no time tells two events apart, so the bar is stricter);
    - the **chaining guard**: ``f >= GUARD`` as well — an article close to the centroid
      of a drifting story (templated daily reports, each like the one before) but not to
      the story's first article starts a story of its own; a story can only be as wide as
      its first article allows;
    - at least :data:`MIN_SHARED` of the article's top terms among the story's top terms
      (more than one content word in common);
    - when both sides have entities, at least one shared (two accounts of one event name
      its actors or its place); when both sides have titles, at least one title word shared
      with the story's titles — unless ``c >= SURE`` (a near-copy needs no more proof);
    - both dated: the article is at most :data:`MAX_SPAN_DAYS` after the story's first
      article (the labels: a follow-up within days is the story; another day of an
      ongoing affair is another), and the bar rises with the gap: the score is scaled by
      ``1 - TIME_WEIGHT * (1 - exp(-gap² / 2σ²))``, σ = :data:`SIGMA_DAYS` (Miranda's
      Gaussian time similarity, σ = 3 days);
    - same language (``None`` / ``"und"`` match any).

Candidates come from an inverted index on each story's :data:`STORY_TERMS` best centroid
terms: the article's :data:`QUERY_TERMS` best terms that some story is indexed under look
up at most :data:`MAX_POSTING` stories each (a term in more stories than that does not
discriminate, and is skipped); dated articles only reach stories whose first article is
within :data:`MAX_SPAN_DAYS`; stories sharing fewer than :data:`MIN_SHARED` of those
terms are dropped, and at most :data:`MAX_CANDIDATES`, ranked by shared terms, are
scored. So the work per article is bounded (10 terms × 100 postings, 16 scorings)
whatever the size of the archive. Undated articles get their candidates from the same
text neighbours, never from every story.

Merge pass: after each period, every story that gained an article in it (not one that
an article started: that article was just compared with every candidate) is compared
with its candidate stories, centroid to centroid; two stories merge when their centroids
clear :data:`MERGE`, their first articles clear :data:`GUARD`, and the entity, title and
time rules above hold between them. The merged story's id is its earliest article's. On
the labelled pairs the merge pass lifts F1 from 0.730 to 0.750 (``bench.stories``).

Thresholds were set on general grounds first (Miranda's σ; a follow-up "within days";
the cosine bands of ``bench/labels/README.md``: above 0.7 nearly always one story, below
0.3 almost never) and then checked on the labelled pairs; ``bench.stories`` prints how
F1 moves with each of them. No rule names a corpus, an outlet or a word.

IDF, and why the stories are a function of the archive
    An article's TF-IDF vector uses the document frequencies of the articles **before it
    in canonical order** (smoothed: ``idf = log((n + 1) / (df + 1)) + 1``). So an
    article's vector, and every decision about it, depends only on the articles before
    it: adding or removing an article changes nothing before its period, and
    :meth:`StoryClusterer.update` re-clusters from the earliest affected period on, with
    the state at the start of that period rebuilt by replaying the recorded joins and
    merges on stored vectors (no comparisons; the same floating-point sums and the same
    candidate index as the first run, so later decisions are the same).
    The result equals clustering the new set from scratch (tests check it). The price:
    the first articles of an archive see a small, noisy IDF (stop words are removed, so
    the damage is small), and an undated article added to an archive re-clusters the
    undated articles after it in id order.

Persisting
    :meth:`StoryClusterer.state` gives plain rows (joins, merges, redirects) to store
    beside a generation, with :attr:`StoryClusterer.version`;
    :meth:`StoryClusterer.from_state` rebuilds the clusterer from the articles and those
    rows without deciding anything again (and clusters from scratch when they do not fit).

Ids and redirects
    A story's id is the id of its earliest article (canonical order). When an update
    changes a story's id (an earlier article joined it, its first article was removed, or
    a merge), :attr:`Stories.redirects` maps the old id to the story that now holds most of
    the old story's articles, so a stored link keeps answering; redirects chain, and are
    re-pointed to current ids after every update.

>>> day = datetime(2024, 3, 4, 8, tzinfo=timezone.utc)
>>> a = StoryArticle("a1", day, "X", "en", "Quake hits Tokyo",
...                  "A strong earthquake hit Tokyo on Monday, damaging buildings.",
...                  place=("Tokyo",))
>>> b = StoryArticle("b2", day, "Y", "en", "Tokyo earthquake damages buildings",
...                  "An earthquake struck Tokyo on Monday and damaged buildings.",
...                  place=("Tokyo",))
>>> cluster([a, b]).story_of
{'a1': 'a1', 'b2': 'a1'}
"""

from __future__ import annotations

import hashlib
import heapq
import math
import re
import sys
from array import array
from collections import Counter
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timezone

#: Bump when the features or rules change (part of :attr:`StoryClusterer.version`).
CODE_VERSION = "1"
#: Cosine to the story centroid needed to join (both dated).
JOIN = 0.30
#: ... when the article or the story is undated (no time to tell two events apart).
JOIN_UNDATED = 0.45
#: The chaining guard: the cosine to the story's first article needed as well.
GUARD = 0.30
#: From this cosine on, entities and titles need not overlap (a near-copy).
SURE = 0.70
#: Merge pass: centroid-to-centroid cosine needed to merge two stories.
MERGE = 0.50
#: Weight of the entity Jaccard in the score when both sides have entities (the rest: ``c``).
ENTITY_WEIGHT = 0.5
#: Shared top terms needed between an article and a story (more than one word).
MIN_SHARED = 2
#: How many of an article's best terms look up candidate stories.
QUERY_TERMS = 10
#: How many top terms of a story's centroid are indexed.
STORY_TERMS = 20
#: A term in more stories than this is not used to find candidates (it does not
#: discriminate, and walking it would make the cost grow with the archive).
MAX_POSTING = 100
#: At most this many candidate stories are scored per article.
MAX_CANDIDATES = 16
#: A dated article joins only a story whose first article is at most this many days earlier.
MAX_SPAN_DAYS = 7.0
#: Gaussian time similarity, as Miranda et al. (σ = 3 days), and how much it can lower ``c``.
SIGMA_DAYS = 3.0
TIME_WEIGHT = 0.3
#: Undated articles are clustered in blocks of ids sharing their first this-many characters.
UNDATED_BLOCK_CHARS = 2

_WORD = re.compile(r"[^\W_]+(?:['’.][^\W_]+)*")
_STOP = frozenset("""a about above after again against all also am an and any are as at be
because been before being below between both but by can could did do does doing down during
each few for from further had has have having he her here hers herself him himself his how i
if in into is it its itself just me more most my myself no nor not now of off on once only or
other our ours ourselves out over own same she should so some such than that the their theirs
them themselves then there these they this those through to too under until up very was we
were what when where which while who whom why will with would you your yours yourself
yourselves said says say told tell according mr mrs ms dr also like get got us would could
may might must shall can't don't won't it's he's she's i'm we're they're that's there's
one two three first last new year years month months week weeks day days time today
yesterday monday tuesday wednesday thursday friday saturday sunday""".split())
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class StoryArticle:
    """What the clusterer needs of one article.

    :param id: the article id (``search.models.article_id``)
    :param published: aware datetime, or ``None`` when undated
    :param outlet: display name of the outlet (reported per story by the caller; not used
        to decide)
    :param lang: ISO 639-1 code, or ``None`` / ``"und"`` (matches any language)
    :param title: headline
    :param body: cleaned body text
    :param person: person entities (display forms)
    :param org: organisation entities
    :param place: place entities
    """

    id: str
    published: datetime | None
    outlet: str | None
    lang: str | None
    title: str
    body: str
    person: tuple[str, ...] = ()
    org: tuple[str, ...] = ()
    place: tuple[str, ...] = ()


@dataclass
class Stories:
    """The clustering of a set of articles.

    :param story_of: article id -> story id (every article; a story of one has its own id)
    :param members: story id -> member ids in canonical order (the first is the story id)
    :param redirects: old story id -> current story id, for ids that stopped being a
        story's id (see the module docstring); never maps a current story id
    """

    story_of: dict[str, str] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)

    def resolve(self, story_id: str) -> str | None:
        """The current id of ``story_id`` (itself, or where it redirects), or ``None``."""
        if story_id in self.members:
            return story_id
        target = self.redirects.get(story_id)
        return target if target in self.members else None


def tokens(text: str) -> list[str]:
    """Lower-cased content words of ``text`` (stop words, one-letter words and possessive
    ``'s`` dropped).

    >>> tokens("The U.S. team's 3-1 win, said Mr Smith")
    ['u.s', 'team', '3', '1', 'win', 'smith']
    """
    out = []
    for w in _WORD.findall((text or "").lower().replace("’", "'")):
        if w.endswith("'s"):
            w = w[:-2]
        if w and w not in _STOP and (len(w) > 1 or w.isdigit()):
            # Interned: one string per word across the archive's vectors and centroids.
            out.append(sys.intern(w))
    return out


def entity_keys(article: StoryArticle) -> frozenset[str]:
    """Entities as compared: a person by surname, others whole; lower-cased.

    >>> sorted(entity_keys(StoryArticle("x", None, None, None, "", "",
    ...                                 person=("Tony Blair",), place=("Iraq",))))
    ['blair', 'iraq']
    """
    keys = {p.split()[-1].lower() for p in article.person or () if p and p.split()}
    keys |= {v.lower() for v in (*(article.org or ()), *(article.place or ())) if v}
    return frozenset(keys)


def canonical_key(article: StoryArticle) -> tuple:
    """Sort key of the canonical order: published, then id; undated after dated."""
    if article.published is None:
        return (1, "", article.id)
    return (0, _utc(article.published).isoformat(), article.id)


def period_of(article: StoryArticle) -> tuple:
    """The period an article is clustered in: its UTC day, or its block of undated ids."""
    if article.published is None:
        return (1, article.id[:UNDATED_BLOCK_CHARS])
    return (0, _utc(article.published).date().isoformat())


def _period_text(period: tuple) -> str:
    """A period as stored: ``d:2024-05-01`` or ``u:3f``."""
    return ("d:" if period[0] == 0 else "u:") + period[1]


def _period_parse(text: str) -> tuple:
    kind, _, value = str(text).partition(":")
    if kind not in ("d", "u"):
        raise ValueError(f"not a stored period: {text!r}")
    return (0 if kind == "d" else 1, value)


def _utc(d: datetime) -> datetime:
    return d.replace(tzinfo=timezone.utc) if d.tzinfo is None else d.astimezone(timezone.utc)


class _Features:
    """What an article brings, independent of the others (computed once per article)."""

    __slots__ = ("id", "key", "period", "days", "lang", "terms", "tf", "ents", "title")

    def __init__(self, a: StoryArticle):
        self.id = a.id
        self.key = canonical_key(a)
        self.period = period_of(a)
        self.days = (None if a.published is None
                     else (_utc(a.published) - _EPOCH).total_seconds() / 86400.0)
        self.lang = None if a.lang in (None, "", "und") else a.lang
        title = tokens(a.title)
        counts = Counter(tokens(a.body))
        counts.update(title)
        counts.update(title)  # title words count twice: the headline names the event
        # Tuples, not a Counter: a third of the memory, and this is kept per article.
        self.terms = tuple(counts)
        self.tf = tuple(counts.values())
        self.ents = entity_keys(a)
        self.title = frozenset(title)


class _Vec:
    """A stored TF-IDF vector: terms and weights in two compact sequences."""

    __slots__ = ("terms", "weights")

    def __init__(self, d: dict[str, float]):
        self.terms = tuple(d)
        self.weights = array("d", d.values())

    def items(self):
        return zip(self.terms, self.weights)

    def __iter__(self):
        return iter(self.terms)

    def __len__(self) -> int:
        return len(self.terms)


def _dot(a, b: dict[str, float]) -> float:
    """``a · b``, iterating ``a`` (a :class:`_Vec` or a dict) and looking up in ``b``."""
    return sum(w * b.get(t, 0.0) for t, w in a.items())


def _dot_dicts(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return _dot(a, b)


class _Story:
    __slots__ = ("founder", "members", "sum", "norm2", "first", "first_days", "last_days",
                 "dated", "ents", "title", "top", "cur_top", "lang")

    def __init__(self, f: _Features, vec: _Vec):
        self.founder = f.id
        self.members = [f.id]
        self.sum = dict(vec.items())
        self.norm2 = 1.0
        self.first = vec
        self.first_days = f.days
        self.last_days = f.days
        self.dated = f.days is not None
        self.ents = Counter(f.ents)
        self.title = Counter(f.title)
        self.lang = f.lang
        self.top: frozenset[str] = frozenset()   # every term it was ever indexed under
        self.cur_top: list[str] = []             # its STORY_TERMS best terms now

    def add(self, f: _Features, vec: _Vec, dot_sum: float) -> None:
        self.members.append(f.id)
        self.norm2 += 2.0 * dot_sum + 1.0
        s = self.sum
        for t, w in vec.items():
            s[t] = s.get(t, 0.0) + w
        if f.days is not None:
            self.last_days = f.days if self.last_days is None else max(self.last_days, f.days)
        self.ents.update(f.ents)
        self.title.update(f.title)
        if self.lang is None:
            self.lang = f.lang

    def absorb(self, other: _Story) -> None:
        self.members.extend(other.members)
        d = _dot_dicts(self.sum, other.sum)
        self.norm2 += 2.0 * d + other.norm2
        for t, w in other.sum.items():
            self.sum[t] = self.sum.get(t, 0.0) + w
        if other.last_days is not None:
            self.last_days = (other.last_days if self.last_days is None
                              else max(self.last_days, other.last_days))
        self.ents.update(other.ents)
        self.title.update(other.title)
        if self.lang is None:
            self.lang = other.lang

    def top_terms(self, added: _Vec | None = None) -> frozenset[str]:
        """The story's best terms now; ``added``: the vector just added to its sum.

        Adding a vector only raises the sums of its own terms, so the new best terms are
        among the old best and the added ones: no need to rank the whole centroid.
        """
        if added is None:
            pool = self.sum
        else:
            pool = {t: self.sum[t] for t in set(self.cur_top).union(added)}
        self.cur_top = _top(pool, STORY_TERMS)
        return frozenset(self.cur_top)


def _top(vec: dict[str, float], k: int) -> list[str]:
    # Ties broken by the term, so that the result never depends on dict order.
    return [t for t, _ in heapq.nsmallest(k, vec.items(), key=lambda kv: (-kv[1], kv[0]))]


def _time_factor(gap_days: float) -> float:
    return 1.0 - TIME_WEIGHT * (1.0 - math.exp(-gap_days * gap_days / (2 * SIGMA_DAYS ** 2)))


@dataclass(frozen=True)
class Thresholds:
    """The bars of :func:`_decide` (defaults: the module constants; see the docstring)."""

    join: float = JOIN
    join_undated: float = JOIN_UNDATED
    guard: float = GUARD
    sure: float = SURE
    merge: float = MERGE
    min_shared: int = MIN_SHARED
    entity_weight: float = ENTITY_WEIGHT
    use_entities: bool = True
    use_titles: bool = True


def _decide(c: float, f: float, shared_terms: int, a_ents, s_ents, a_title, s_title,
            a_days: float | None, s_first: float | None, a_lang, s_lang,
            th: Thresholds, merge: bool = False) -> float | None:
    """The score of joining (higher is better), or ``None`` when a rule says no."""
    join, join_undated = (th.merge, th.merge) if merge else (th.join, th.join_undated)
    if a_lang and s_lang and a_lang != s_lang:
        return None
    if shared_terms < th.min_shared or f < th.guard:
        return None
    if c < th.sure:
        if th.use_entities and a_ents and s_ents and not any(e in s_ents for e in a_ents):
            return None
        if (th.use_titles and a_title and s_title
                and not any(t in s_title for t in a_title)):
            return None
    score = c
    if th.use_entities and th.entity_weight and a_ents and s_ents:
        inter = sum(1 for e in a_ents if e in s_ents)
        score = max(c, (1.0 - th.entity_weight) * c
                    + th.entity_weight * inter / (len(a_ents) + len(s_ents) - inter))
    if a_days is not None and s_first is not None:
        gap = abs(a_days - s_first)
        if gap > MAX_SPAN_DAYS:
            return None
        score *= _time_factor(gap)
        return score if score >= join else None
    return score if score >= join_undated else None


class StoryClusterer:
    """Stories of a set of articles, kept equal to clustering the set from scratch.

    :param articles: the initial set (clustered at once)
    :param thresholds: the bars (default: the module's; the benchmark varies them)

    >>> sc = StoryClusterer()
    >>> sc.update(add=[StoryArticle("z9", None, None, "en", "Budget vote",
    ...                             "Parliament approved the budget.")]).story_of
    {'z9': 'z9'}
    """

    def __init__(self, articles: Iterable[StoryArticle] = (),
                 thresholds: Thresholds = Thresholds()):
        self.th = thresholds
        self._feat: dict[str, _Features] = {}
        self._order: list[str] = []              # canonical order of every article
        self._vec: dict[str, _Vec] = {}  # TF-IDF vector, at its place in order
        self._joined: dict[str, str] = {}        # article -> founder it joined (itself: new)
        # (period, loser founder, winner founder, time of the pass): merges in order
        self._merges: list[tuple[tuple, str, str, float | None]] = []
        self._result = Stories()
        self._redirects: dict[str, str] = {}
        self.update(add=articles)

    # -- public -------------------------------------------------------------------------

    def update(self, add: Iterable[StoryArticle] = (),
               remove: Iterable[str] = ()) -> Stories:
        """Add (or replace) and remove articles, and re-cluster from the earliest period
        they touch. Unknown ids in ``remove`` are ignored.

        :returns: the new :class:`Stories` (redirects include ids this update changed)
        """
        add = list(add)
        remove = [i for i in remove if i in self._feat]
        affected: list[tuple] = []
        for i in remove:
            affected.append(self._feat[i].period)
            del self._feat[i]
        for a in add:
            if a.id in self._feat:
                affected.append(self._feat[a.id].period)
            f = _Features(a)
            self._feat[a.id] = f
            affected.append(f.period)
        if not affected and self._order:
            return self.stories()
        start = min(affected) if affected else None
        old = self._result
        self._recluster(start)
        self._result = self._build(old)
        return self.stories()

    def stories(self) -> Stories:
        """The current clustering (a copy the caller may keep)."""
        r = self._result
        return Stories(dict(r.story_of), {k: list(v) for k, v in r.members.items()},
                       dict(r.redirects))

    def __len__(self) -> int:
        return len(self._feat)

    # -- persistence --------------------------------------------------------------------

    @property
    def version(self) -> str:
        """Names the rules and thresholds: a stored state of another version is stale."""
        th = ",".join(f"{k}={v}" for k, v in sorted(vars(self.th).items()))
        return f"stories{CODE_VERSION}-" + hashlib.sha1(th.encode()).hexdigest()[:10]

    def state(self) -> tuple[list[tuple[str, str]], list[tuple[str, str, str, float | None]],
                             list[tuple[str, str]]]:
        """What to store beside a generation so that a new process need not re-decide.

        :returns: ``(joins, merges, redirects)`` as plain rows:
            ``joins`` — ``(article_id, founder_id)``, the story founder each article joined
            when it was clustered (itself when it started a story), in canonical order;
            ``merges`` — ``(period, loser_founder, winner_founder, time)``, in the order
            they happened (``period`` as text, ``time`` in days since 1970 or ``None``);
            ``redirects`` — ``(old_story_id, current_story_id)``
        """
        joins = [(i, self._joined[i]) for i in self._order]
        merges = [(_period_text(p), lo, wi, now) for p, lo, wi, now in self._merges]
        return joins, merges, sorted(self._result.redirects.items())

    @classmethod
    def from_state(cls, articles: Iterable[StoryArticle], joins, merges, redirects=(),
                   thresholds: Thresholds = Thresholds()) -> StoryClusterer:
        """A clusterer for ``articles`` with the decisions of :meth:`state` replayed (no
        comparisons: tokens and vectors only).

        When the stored state does not fit the articles (an id missing or extra, a founder
        that is not an earlier article), the articles are clustered from scratch instead:
        a stale state never gives wrong stories, only a slower start.
        """
        self = cls((), thresholds)
        arts = list(articles)
        for a in arts:
            self._feat[a.id] = _Features(a)
        feats = self._feat
        order = sorted(feats, key=lambda i: feats[i].key)
        joined = dict(joins)
        try:
            merge_log = [(_period_parse(p), lo, wi, None if now is None else float(now))
                         for p, lo, wi, now in merges]
        except (TypeError, ValueError):
            merge_log = None
        place = {i: n for n, i in enumerate(order)}
        fits = (merge_log is not None and len(joined) == len(order)
                and all(i in joined and joined[i] in place and place[joined[i]] <= place[i]
                        for i in order)
                and all(lo in place and wi in place for _, lo, wi, _ in merge_log))
        self._redirects = {str(k): str(v) for k, v in redirects}
        if not fits:
            self._order = []
            self._recluster(None)
            self._result = self._build(Stories())
            return self
        self._order = order
        self._joined = {i: joined[i] for i in order}
        self._merges = merge_log
        df: Counter = Counter()
        for n, i in enumerate(order):
            self._vec[i] = self._vector(feats[i], df, n)
            df.update(feats[i].terms)
        self._result = self._build(Stories())
        return self

    # -- clustering ---------------------------------------------------------------------

    def _recluster(self, start: tuple | None) -> None:
        feats = self._feat
        order = sorted(feats, key=lambda i: feats[i].key)
        keep = [i for i in self._order if i in feats and (start is None or feats[i].period < start)]
        keep_set = set(keep)
        # Everything before ``start`` stays as it was: its vectors, joins and merges.
        if start is None:
            keep, keep_set = [], set()
        self._order = order
        self._vec = {i: self._vec[i] for i in keep}
        self._joined = {i: self._joined[i] for i in keep}
        self._merges = [m for m in self._merges if start is not None and m[0] < start]
        df: Counter = Counter()
        for i in keep:
            df.update(feats[i].terms)
        n = len(keep)
        # term -> (time it was added, first article's time, founder), in the order added
        postings: dict[str, list[tuple]] = defaultdict(list)
        stories, parent = self._restore(keep, postings)
        todo = [i for i in order if i not in keep_set]
        period = None
        now: float | None = None
        touched: list[str] = []
        for i in todo:
            f = feats[i]
            if f.period != period:
                if touched:
                    self._merge_pass(period, now, touched, stories, parent, postings)
                period, touched = f.period, []
            now = f.days
            vec = self._vector(f, df, n)
            self._vec[i] = vec
            look = dict(vec.items())  # for lookups while this article is compared
            best = self._best_story(f, vec, look, stories, parent, postings)
            if best is None:
                s = _Story(f, vec)
                stories[i] = s
                parent[i] = i
                self._joined[i] = i
                founder = i
            else:
                s, dot_sum = best
                s.add(f, vec, dot_sum)
                self._joined[i] = s.founder
                founder = s.founder
                # Only a story that grew can now be close to another: an article that
                # started a story was just compared with every candidate.
                touched.append(founder)
            self._index(stories[founder], postings, now, vec)
            df.update(f.terms)
            n += 1
        if touched:
            self._merge_pass(period, now, touched, stories, parent, postings)

    def _restore(self, keep: list[str], postings) -> tuple[dict[str, _Story], dict[str, str]]:
        """Stories and postings as they stood after the kept articles.

        The joins and merges are replayed in the order they happened, with the same
        floating-point sums and the same posting appends, without any comparison: so
        what follows is decided exactly as in a run from scratch.
        """
        stories: dict[str, _Story] = {}
        parent: dict[str, str] = {}
        feats = self._feat
        merges = iter(self._merges)
        pending = next(merges, None)
        for i in keep:
            f = feats[i]
            # Merges happen at the end of their period: replay those of earlier periods.
            while pending is not None and pending[0] < f.period:
                self._apply_merge(pending, stories, parent, postings)
                pending = next(merges, None)
            j = self._joined[i]
            if j == i:
                s = stories[i] = _Story(f, self._vec[i])
                parent[i] = i
            else:
                s = stories[_find(parent, j)]
                s.add(f, self._vec[i], _dot(self._vec[i], s.sum))
            self._index(s, postings, f.days, self._vec[i])
        while pending is not None:
            self._apply_merge(pending, stories, parent, postings)
            pending = next(merges, None)
        return stories, parent

    def _apply_merge(self, merge: tuple, stories, parent, postings) -> None:
        _, loser, winner, now = merge
        lo, wi = _find(parent, loser), _find(parent, winner)
        stories[wi].absorb(stories.pop(lo))
        parent[lo] = wi
        self._index(stories[wi], postings, now)

    def _vector(self, f: _Features, df: Counter, n: int) -> _Vec:
        vec = {t: (1.0 + math.log(k)) * (math.log((n + 1) / (df.get(t, 0) + 1)) + 1.0)
               for t, k in zip(f.terms, f.tf)}
        norm = math.sqrt(sum(w * w for w in vec.values())) or 1.0
        return _Vec({t: w / norm for t, w in vec.items()})

    @staticmethod
    def _index(s: _Story, postings, now: float | None,
               added: _Vec | None = None) -> None:
        """Index the story under its top terms it was not yet indexed under.

        :param added: the vector that just joined it (``None``: a new story or a merge)
        """
        top = s.top_terms(added if len(s.members) > 1 else None)
        for t in sorted(top - s.top):
            postings[t].append((now, s.first_days, s.founder))
        s.top = s.top | top

    def _candidates(self, days: float | None, vec, parent, postings) -> list[tuple]:
        """Candidate story founders with how many query terms they share, best first."""
        hits: Counter = Counter()
        # The best terms that some story is indexed under: a word no story has (a rare
        # name, a typo) would outrank the event's words and find nothing.
        used = 0
        for t, _ in sorted(vec.items(), key=lambda kv: (-kv[1], kv[0])):
            if used == QUERY_TERMS:
                break
            plist = postings.get(t)
            if not plist:
                continue
            used += 1
            if days is not None:
                # Dated: walk back from the newest entry. A story gains entries only while
                # it gains articles, within MAX_SPAN_DAYS of its first: older entries can
                # only be of stories too old to join.
                for added, first, founder in reversed(plist[-MAX_POSTING:]):
                    if added is not None and days - added > MAX_SPAN_DAYS:
                        break
                    if first is None or days - first <= MAX_SPAN_DAYS:
                        hits[_find(parent, founder)] += 1
            elif len(plist) <= MAX_POSTING:
                for _, _, founder in plist:
                    hits[_find(parent, founder)] += 1
        # Fewer shared terms than the rule asks for can never join: not scored at all.
        ranked = sorted(((f, k) for f, k in hits.items() if k >= self.th.min_shared),
                        key=lambda kv: (-kv[1], kv[0]))
        return ranked[:MAX_CANDIDATES]

    def _best_story(self, f: _Features, vec: _Vec, look: dict[str, float], stories, parent,
                    postings):
        best = None
        for founder, shared in self._candidates(f.days, vec, parent, postings):
            s = stories[founder]
            dot_sum = _dot(vec, s.sum)
            c = dot_sum / math.sqrt(s.norm2)
            if c < self.th.join * (1.0 - self.th.entity_weight):
                continue  # entities alone never carry an article into a story
            fc = _dot(s.first, look)
            score = _decide(c, fc, shared, f.ents, s.ents, f.title, s.title, f.days,
                            s.first_days, f.lang, s.lang, self.th)
            if score is not None and (best is None or score > best[0]
                                      or (score == best[0] and s.founder < best[1].founder)):
                best = (score, s, dot_sum)
        return None if best is None else (best[1], best[2])

    def _merge_pass(self, period, now, touched: list[str], stories, parent, postings) -> None:
        feats = self._feat
        seen = set()
        for t in sorted({_find(parent, x) for x in touched}, key=lambda i: feats[i].key):
            root = _find(parent, t)
            if root in seen:
                continue
            seen.add(root)
            s = stories[root]
            days = s.first_days
            best = None
            # The centroid's top terms are the same scaled or not: look up with the sum.
            for founder, shared in self._candidates(days, s.sum, parent, postings):
                if founder == root:
                    continue
                o = stories[founder]
                c = _dot_dicts(s.sum, o.sum) / math.sqrt(s.norm2 * o.norm2)
                if c < self.th.merge:
                    continue
                fc = _dot(s.first, dict(o.first.items()))
                score = _decide(c, fc, shared, s.ents, o.ents, s.title, o.title, days,
                                o.first_days, s.lang, o.lang, self.th, merge=True)
                if score is not None and (best is None or score > best[0]):
                    best = (score, founder)
            if best is None:
                continue
            a, b = root, best[1]
            winner, loser = (a, b) if feats[a].key < feats[b].key else (b, a)
            merge = (period, loser, winner, now)
            self._apply_merge(merge, stories, parent, postings)
            self._merges.append(merge)
            seen.add(winner)

    def _build(self, old: Stories) -> Stories:
        parent: dict[str, str] = {}
        for i in self._order:
            j = self._joined[i]
            parent[i] = i if j == i else j
        for _, loser, winner, _ in self._merges:
            lo, wi = _find(parent, loser), _find(parent, winner)
            if lo != wi:
                parent[lo] = wi
        members: dict[str, list[str]] = defaultdict(list)
        for i in self._order:  # canonical order: a story's first member is its earliest
            members[_find(parent, i)].append(i)
        story_of: dict[str, str] = {}
        result: dict[str, list[str]] = {}
        for ms in members.values():
            result[ms[0]] = ms
            for m in ms:
                story_of[m] = ms[0]
        redirects = self._redirects
        # An old story id that is no longer one points where most of its articles went.
        for sid, ms in old.members.items():
            if sid in result:
                continue
            votes = Counter(story_of[m] for m in ms if m in story_of)
            if votes:
                redirects[sid] = min(votes, key=lambda k: (-votes[k], k))
        for sid in list(redirects):
            target = redirects[sid]
            hops = 0
            while target not in result and target in redirects and hops < 64:
                target, hops = redirects[target], hops + 1
            if sid in result or target not in result:
                del redirects[sid]
            else:
                redirects[sid] = target
        return Stories(story_of, result, dict(redirects))


def _find(parent: dict[str, str], x: str) -> str:
    root = x
    while parent[root] != root:
        root = parent[root]
    while parent[x] != root:
        parent[x], x = root, parent[x]
    return root


def cluster(articles: Iterable[StoryArticle], thresholds: Thresholds = Thresholds()) -> Stories:
    """The stories of ``articles``, clustered from scratch."""
    return StoryClusterer(articles, thresholds).stories()
