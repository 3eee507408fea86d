"""THE text analysis: which analyser each language gets, and the fields that hold it.

Every language is analysed as itself (DESIGN.md, Text analysis): its words are stemmed
by its own Snowball stemmer (PyStemmer, the C build of the Snowball algorithms) and
kept in the fields ``title_<lang>``, ``body_<lang>`` and ``caption_<lang>``; an article
in a language without a stemmer, or of unknown language, goes to the ``*_und`` fields,
which only lower-case (no stemming, no folding). Beside them, ``exact_<lang>``
(:func:`exact_field`) holds the article's words as written (lower-cased) whose form its
language's analysis changes (``bogdanovic``, ``strikes``; not ``bogdanov``, ``strike``,
which are their own terms), with their frequencies: an article holds a form as typed
when ``exact_<lang>`` has it, or, for a form that is its own term, when the term occurs
more often in the article than all of its other forms together. It is what ranks the
form as typed above forms that only share its stem, and what a quoted single word
matches; keeping only the changed forms halves its postings (writing cost).

Nothing else in Newsfacet names a per-language field or builds an analyser: the schema
(:mod:`search.schema`), the writer, the query binding, the highlighting, the prefix and
fuzzy expansion and "did you mean" all ask this module. The query language keeps the
language-free names ``title``, ``body`` and ``caption`` (:data:`KINDS`); the query layer
turns each of their words into an OR over the languages the index holds
(:func:`present_languages`), never over every language known here.

Accent folding, language by language (:data:`FOLDED`), applied after stemming (the
stemmers expect the letters as written):

* folded: English, French, Spanish, Portuguese, Italian, Catalan, Dutch, Irish,
  Indonesian, Basque, Esperanto — their accents sit on letters a reader still
  recognises without them, and writers and typists drop them ("cafe", "Espana"), so
  ``Sao Paulo`` should find ``São Paulo``;
* not folded: German (its Snowball stemmer already maps ä, ö, ü to a, o, u and ß to
  ss, as German writers do), the Nordic languages, Estonian, Hungarian, Turkish,
  Romanian, Czech, Polish, Lithuanian, Serbian (there å/ä/ö, ı/i, ș, ř, ł, ė… are
  letters of their own: Swedish ``får`` is "sheep", ``far`` "father"), Russian (``й`` is
  not ``и``; the stemmer itself reads ``ё`` as ``е``), Greek, and every non-Latin script
  (Arabic, Persian, Hindi, Nepali, Tamil, Armenian, Yiddish), where Unicode
  decomposition would strip marks that are part of the letter;
* ``und``: not folded, since the language and so its letters are unknown.

Stop words: English keeps the short English stop list it has always had (the ranking
and phrase behaviour of English stays as it was); other languages keep every word of
two letters or more, so a query never loses a word that is meaningful in one of them.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from functools import lru_cache

from whoosh.analysis import STOP_WORDS
from whoosh.analysis import Analyzer
from whoosh.analysis import Filter
from whoosh.analysis import LowercaseFilter
from whoosh.analysis import RegexTokenizer
from whoosh.analysis import StopFilter
from whoosh.analysis import Token
from whoosh.analysis import Tokenizer
from whoosh.formats import Characters
from whoosh.support.charset import accent_map

__all__ = ["LanguageAnalyzer", "LanguageCharacters", "UND", "KINDS", "TITLE_KIND", "BODY_KIND", "CAPTION_KIND", "EXACT",
           "STEMMERS", "FOLDED", "exact_field", "variant_analyzer", "term_of", "terms_of_forms", "LANGUAGES", "TOKEN_PATTERN", "analysis_language",
           "analyzer", "exact_analyzer", "field", "kind_of", "language_of", "text_fields",
           "stems", "exact_form", "fold", "present_languages", "fields_of"]

UND = "und"
# The language-free text fields of the query language (and the stored fields).
TITLE_KIND, BODY_KIND, CAPTION_KIND = "title", "body", "caption"
KINDS = (TITLE_KIND, BODY_KIND, CAPTION_KIND)
# The query language's name for a quoted single word (a form as typed); the index
# holds forms in exact_<lang> (exact_field).
EXACT = "exact"

# Language code (as langdetect writes it) -> Snowball algorithm (PyStemmer's name).
# English keeps the original Porter algorithm it was stemmed by before (Snowball's
# "porter"): TIME MAP was measured with it (bench/relevance.py, bench/README.md).
STEMMERS = {
    "ar": "arabic", "ca": "catalan", "cs": "czech", "da": "danish", "de": "german",
    "el": "greek", "en": "porter", "eo": "esperanto", "es": "spanish", "et": "estonian",
    "eu": "basque", "fa": "persian", "fi": "finnish", "fr": "french", "ga": "irish",
    "hi": "hindi", "hu": "hungarian", "hy": "armenian", "id": "indonesian",
    "it": "italian", "lt": "lithuanian", "ne": "nepali", "nl": "dutch",
    "no": "norwegian", "pl": "polish", "pt": "portuguese", "ro": "romanian",
    "ru": "russian", "sr": "serbian", "sv": "swedish", "ta": "tamil", "tr": "turkish",
    "yi": "yiddish",
}
# Languages whose accents are folded after stemming (see the module's docstring).
FOLDED = frozenset({"en", "fr", "es", "pt", "it", "ca", "nl", "ga", "id", "eu", "eo"})
# Every analysis language: one with a stemmer, or UND.
LANGUAGES = (*sorted(STEMMERS), UND)
# Languages langdetect names with a region or another code that share a stemmer.
_ALIASES = {"nb": "no", "nn": "no", "pt-br": "pt", "pt-pt": "pt"}

# Whoosh's word pattern, with combining marks kept inside a word: Arabic harakat, the
# vowel signs of Devanagari and Tamil, Hebrew points and decomposed Latin accents are
# not ``\w`` to Python, and would cut a word in two.
_MARKS = ("\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670"
          "\u06d6-\u06ed\u0900-\u0903\u093a-\u094f\u0951-\u0957\u0962\u0963"
          "\u0981-\u0983\u09bc-\u09d7\u0b82\u0bbe-\u0bcd\u0bd7")
TOKEN_PATTERN = rf"[\w{_MARKS}]+(?:\.?[\w{_MARKS}]+)*"
_WORDS = re.compile(TOKEN_PATTERN)


class SnowballFilter(Filter):
    """Stems each token with a Snowball algorithm (PyStemmer).

    A stemmer object is not safe to share between threads, and cannot be pickled (Whoosh
    pickles the schema, analysers included, into the index): each thread makes its own
    from the algorithm's name on first use.
    """

    is_morph = True

    def __init__(self, algorithm: str):
        self.algorithm = algorithm
        self._local = threading.local()

    def __getstate__(self):
        return {"algorithm": self.algorithm}

    def __setstate__(self, state):
        self.algorithm = state["algorithm"]
        self._local = threading.local()

    def __eq__(self, other):
        return type(other) is type(self) and other.algorithm == self.algorithm

    def __hash__(self):
        return hash(self.algorithm)

    def __repr__(self):
        return f"{type(self).__name__}({self.algorithm!r})"

    def stem_word(self):
        """This thread's ``stemWord`` function."""
        fn = getattr(self._local, "fn", None)
        if fn is None:
            import Stemmer

            fn = self._local.fn = Stemmer.Stemmer(self.algorithm, 50000).stemWord
        return fn

    def __call__(self, tokens):
        stem = self.stem_word()
        for t in tokens:
            if not t.stopped:
                t.text = stem(t.text)
            yield t


class _OfLanguage:
    """An analyser part made for one language: compared, hashed and pickled by that
    language alone (Whoosh compares analysers by value and pickles them into the index's
    schema), with per-thread state that is made again after unpickling."""

    def __init__(self, lang: str):
        self.lang = lang
        self._local = threading.local()

    def __getstate__(self):
        return {"lang": self.lang}

    def __setstate__(self, state):
        self.__init__(state["lang"])

    def __eq__(self, other):
        return type(other) is type(self) and other.lang == self.lang

    def __hash__(self):
        return hash(self.lang)

    def __repr__(self):
        return f"{type(self).__name__}({self.lang!r})"


class VariantTokenizer(_OfLanguage, Tokenizer):
    """The words of a text (as :func:`exact_analyzer` gives them) whose form a
    language's analysis changes: what ``exact_<lang>`` holds. For a language without a
    stemmer or folding, none.

    One pass, no positions or characters (the field keeps counts only): the lower-cased
    text is split by one ``findall``, and each distinct form's term comes from the
    language's :class:`LanguageAnalyzer` memo, which the same document's text fields have
    mostly filled already. A second analysis of every word, token object by token
    object, made writing 1.4x as slow as before; this is most of what saves that.
    """

    def words(self, value: str):
        """The changed forms of ``value``, one per occurrence, in order."""
        lang = self.lang
        if lang not in STEMMERS and lang not in FOLDED:
            return
        memo, fill = analyzer(lang).memo()
        for word in _WORDS.findall(value.lower()):
            term = memo.get(word, _UNSEEN)
            if term is _UNSEEN:
                term = fill(word)
            # no one-letter word (term None) and no English stop word, in any language
            if term is not None and term != word and word not in STOP_WORDS:
                yield word

    def counts(self, value: str) -> Counter:
        """Each changed form of ``value`` with its count: what Whoosh's ``Frequency``
        format counts from this tokenizer's tokens, without a token per word (the
        writer's grouped postings, :mod:`search.ingest.postings`, ask for this)."""
        return Counter(self.words(value))

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="",
                 **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for word in self.words(value):
            t.text = word
            t.boost = 1.0
            t.stopped = False
            yield t


def analysis_language(lang: str | None) -> str:
    """The analysis language of an article's ``lang`` value: itself when it has a
    stemmer, else :data:`UND`.

    >>> analysis_language("de"), analysis_language("ja"), analysis_language(None)
    ('de', 'und', 'und')
    """
    low = (lang or "").strip().lower()
    low = _ALIASES.get(low, low)
    return low if low in STEMMERS else UND


class LanguageAnalyzer(_OfLanguage, Analyzer):
    """One language's analysis in one pass: Whoosh's ``RegexTokenizer(TOKEN_PATTERN) |
    LowercaseFilter() | StopFilter(stoplist, minsize=2) | SnowballFilter(stemmer) |
    CharsetFilter(accent_map)`` (the last two where the language has them), token for
    token the same texts, positions, characters and stop flags, without a generator and
    a token update per filter per word.

    Writing is most of what the text stage costs, and a chain of five generators per
    word was a third of writing (``bench.analysis_writing``). Here each distinct word is
    lower-cased, stop-checked, stemmed and folded once per thread (:meth:`memo`), and
    :class:`LanguageCharacters` asks :meth:`postings` for a document's terms with their
    positions and characters straight away, with no token objects at all.
    ``tests/test_text_analysis.py`` holds it to the chain on random text.
    """

    is_morph = True

    def has_morph(self) -> bool:
        return self.lang in STEMMERS or self.lang in FOLDED

    def memo(self):
        """This thread's memo, a word as written -> its term, or ``None`` for a stop word
        (or one letter), and the function that fills it: ``(memo, fill)``."""
        local = self._local
        memo = getattr(local, "memo", None)
        if memo is None or len(memo) > 1_000_000:  # a pathological input: start again
            memo = local.memo = {}
            lang = self.lang
            stem = (SnowballFilter(STEMMERS[lang]).stem_word() if lang in STEMMERS
                    else None)
            stops = STOP_WORDS if lang == "en" else frozenset()
            folded = lang in FOLDED

            def term(word: str) -> str | None:
                low = word.lower()
                if len(low) < 2 or low in stops:
                    got = None
                else:
                    got = stem(low) if stem is not None else low
                    if folded:
                        got = got.translate(accent_map)
                memo[word] = got
                return got

            local.fill = term
        return memo, local.fill

    def _stopped_text(self, word: str) -> str:
        # A stop word kept in the stream (removestops=False) is lower-cased and folded,
        # never stemmed (SnowballFilter skips stopped tokens; CharsetFilter does not).
        low = word.lower()
        return low.translate(accent_map) if self.lang in FOLDED else low

    def postings(self, value: str) -> dict[str, list[tuple[int, int, int]]]:
        """A text's terms (stop words removed), each with its ``(position, startchar,
        endchar)`` in order: what the chain's tokens give with ``positions`` and
        ``chars``, positions renumbered over the stop words as ``StopFilter`` does."""
        memo, fill = self.memo()
        out: dict[str, list[tuple[int, int, int]]] = {}
        pos = -1
        for i, m in enumerate(_WORDS.finditer(value)):
            word = m.group()
            term = memo.get(word, _UNSEEN)
            if term is _UNSEEN:
                term = fill(word)
            if term is None:
                continue
            # StopFilter renumbers: the first kept word keeps the tokenizer's position,
            # each next one follows it.
            pos = pos + 1 if pos >= 0 else i
            got = out.get(term)
            if got is None:
                out[term] = [(pos, m.start(), m.end())]
            else:
                got.append((pos, m.start(), m.end()))
        return out

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="",
                 **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        memo, fill = self.memo()
        if tokenize:
            matches = ((i, m.group(), m.start(), m.end())
                       for i, m in enumerate(_WORDS.finditer(value)))
        else:
            matches = iter(((0, value, 0, len(value)),))
        pos = None
        for i, word, start, end in matches:
            term = memo.get(word, _UNSEEN)
            if term is _UNSEEN:
                term = fill(word)
            if term is None:
                if removestops:
                    continue
                t.text = self._stopped_text(word)
                t.stopped = True
                if positions:
                    t.pos = start_pos + i
            else:
                t.text = term
                t.stopped = False
                if positions:
                    pos = start_pos + i if pos is None else pos + 1
                    t.pos = pos
            t.boost = 1.0
            if keeporiginal or not tokenize:  # RegexTokenizer keeps a whole value's
                t.original = word
            if chars:
                t.startchar = start_char + start
                t.endchar = start_char + end
            yield t


_UNSEEN = object()


class LanguageCharacters(Characters):
    """Whoosh's ``Characters`` format (position, start and end of every occurrence),
    asking a :class:`LanguageAnalyzer` for a document's postings in one call."""

    def word_values(self, value, analyzer, **kwargs):
        if not isinstance(analyzer, LanguageAnalyzer) or not isinstance(value, str):
            yield from super().word_values(value, analyzer, **kwargs)
            return
        fb = self.field_boost
        encode = self.encode
        for term, poslist in analyzer.postings(value).items():
            yield term, len(poslist), len(poslist) * fb, encode(poslist)


@lru_cache(maxsize=None)
def analyzer(lang: str) -> LanguageAnalyzer:
    """The analyser of an analysis language (one object per language: Whoosh compares
    analysers by value, and the schema holds these)."""
    return LanguageAnalyzer(lang)


@lru_cache(maxsize=None)
def exact_analyzer():
    """The analyser of :data:`EXACT` and of the unstemmed word list: words as written,
    lower-cased (one letter words and English stop words dropped: each posting costs
    writing time, and no language's stemming changes those words' forms)."""
    return RegexTokenizer(TOKEN_PATTERN) | LowercaseFilter() | StopFilter(minsize=2)


@lru_cache(maxsize=None)
def variant_analyzer(lang: str):
    """The analyser of ``exact_<lang>``: the forms as written (as :func:`exact_analyzer`
    gives them) that ``lang``'s analysis changes."""
    return VariantTokenizer(lang)


def exact_field(lang: str) -> str:
    """The field of a language's changed forms (:func:`variant_analyzer`).

    >>> exact_field("de")
    'exact_de'
    """
    return f"{EXACT}_{lang}"


def term_of(lang: str, form: str) -> str | None:
    """The term ``lang``'s analysis makes of one form as written (``None`` when it
    drops it or makes several)."""
    got = stems(lang, form)
    return got[0] if len(got) == 1 else None


def terms_of_forms(lang: str, forms: list[str]) -> list[str]:
    """The terms ``lang``'s analysis makes of many single forms as written (lower-case
    words of two letters or more, not English stop words: what ``exact_<lang>`` holds),
    stemmed in one call into the C stemmer."""
    if lang in STEMMERS:
        import Stemmer

        forms = Stemmer.Stemmer(STEMMERS[lang]).stemWords(forms)
    return [f.translate(accent_map) for f in forms] if lang in FOLDED else list(forms)


def field(kind: str, lang: str) -> str:
    """The index field of a text kind (``title``, ``body``, ``caption``) in a language.

    >>> field("body", "de")
    'body_de'
    """
    return f"{kind}_{lang}"


_KIND_OF = {field(k, lang): k for k in KINDS for lang in LANGUAGES}
_LANG_OF = {field(k, lang): lang for k in KINDS for lang in LANGUAGES}


def kind_of(fieldname: str) -> str | None:
    """The text kind of a per-language field (``body_de`` -> ``body``), else ``None``."""
    return _KIND_OF.get(fieldname)


def language_of(fieldname: str) -> str | None:
    """The analysis language of a per-language field (``body_de`` -> ``de``), else ``None``."""
    return _LANG_OF.get(fieldname)


def text_fields(kinds=KINDS, langs=LANGUAGES) -> tuple[str, ...]:
    """Every per-language field of ``kinds`` in ``langs``."""
    return tuple(field(k, lang) for k in kinds for lang in langs)


def fields_of(kind: str, langs) -> tuple[str, ...]:
    """The fields of one kind in the given languages."""
    return tuple(field(kind, lang) for lang in langs)


@lru_cache(maxsize=200_000)
def stems(lang: str, word: str) -> tuple[str, ...]:
    """The index terms of ``word`` (text as typed) in language ``lang``'s fields; empty
    when that language's analysis drops it (an English stop word, a single letter).

    >>> stems("de", "Regierungen"), stems("en", "the")
    (('regier',), ())
    """
    return tuple(t.text for t in analyzer(lang)(word))


def exact_form(word: str) -> str | None:
    """A word's term in :data:`EXACT` (``None`` when it is not one word there).

    >>> exact_form("Bogdanov")
    'bogdanov'
    """
    got = [t.text for t in exact_analyzer()(word)]
    return got[0] if len(got) == 1 else None


def fold(lang: str, text: str) -> str:
    """Typed text as ``lang``'s analyser writes letters: lower-case, accents folded
    where that language folds them."""
    low = text.lower()
    return low.translate(accent_map) if lang in FOLDED else low


def present_languages(reader) -> tuple[str, ...]:
    """The analysis languages whose fields hold any term in ``reader`` (sorted)."""
    names = set(reader.indexed_field_names())
    return tuple(lang for lang in LANGUAGES
                 if any(field(k, lang) in names for k in KINDS))
