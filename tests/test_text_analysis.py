"""The fused per-language analyser gives what Whoosh's filter chain gives, token for token.

:class:`search.analysis.LanguageAnalyzer` replaced ``RegexTokenizer | LowercaseFilter |
StopFilter | SnowballFilter | CharsetFilter`` for speed; the chain, built here from
Whoosh's own parts, is the specification it is held to: texts, positions, characters,
stop flags and originals, in every mode the indexer and the query parser call it in, and
the postings the index stores (``Characters.word_values`` over the chain against
:class:`search.analysis.LanguageCharacters` over the fused analyser).
"""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from whoosh.analysis import STOP_WORDS
from whoosh.analysis import CharsetFilter
from whoosh.analysis import LowercaseFilter
from whoosh.analysis import RegexTokenizer
from whoosh.analysis import StopFilter
from whoosh.formats import Characters
from whoosh.support.charset import accent_map

from search import analysis
from search.analysis import FOLDED
from search.analysis import STEMMERS
from search.analysis import TOKEN_PATTERN
from search.analysis import SnowballFilter

LANGS = ("en", "de", "fr", "ar", "ru", "sv", "und")


def chain(lang: str):
    """The analysis as Whoosh's filter chain (the specification)."""
    out = RegexTokenizer(TOKEN_PATTERN) | LowercaseFilter()
    out = out | StopFilter(stoplist=STOP_WORDS if lang == "en" else frozenset(), minsize=2)
    if lang in STEMMERS:
        out = out | SnowballFilter(STEMMERS[lang])
    if lang in FOLDED:
        out = out | CharsetFilter(accent_map)
    return out


def tokens(ana, text: str, **kwargs) -> list[tuple]:
    return [(t.text, getattr(t, "pos", None), getattr(t, "startchar", None),
             getattr(t, "endchar", None), t.stopped, getattr(t, "original", None))
            for t in ana(text, **kwargs)]


# Words of several scripts and cases, stop words, single letters, accents, combining
# marks, dotted forms ("U.S.", "3.14") and the punctuation between them.
WORDS = ["The", "the", "a", "I", "of", "Minister", "ministers", "Regierungen",
         "Straße", "café", "Café", "São", "Paulo", "déjà", "ÉTÉ", "U.S.", "3.14", "e.g",
         "الحكومة", "وزير", "مُحَمَّد", "правительства", "Ёлка", "får", "İstanbul", "ǅemal",
         "e\u0301t\u00e9", "x", "running", "runs", "Bogdanovic", "O'Neill", "co-op", "_id"]
SEPS = [" ", "  ", ", ", ". ", "\n", "-", "'", "—", "(", ") ", "…", "\u00a0"]
texts = st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPS)), max_size=40).map(
    lambda pairs: "".join(w + s for w, s in pairs))
mixed = st.one_of(texts, st.text(max_size=80))


@settings(max_examples=150, deadline=None)
@given(text=mixed, lang=st.sampled_from(LANGS), removestops=st.booleans(),
       start_pos=st.integers(0, 5), start_char=st.integers(0, 9))
def test_tokens_match_the_chain(text, lang, removestops, start_pos, start_char):
    kwargs = dict(positions=True, chars=True, keeporiginal=True, removestops=removestops,
                  start_pos=start_pos, start_char=start_char)
    assert tokens(analysis.analyzer(lang), text, **kwargs) == tokens(chain(lang), text,
                                                                     **kwargs)


@settings(max_examples=60, deadline=None)
@given(text=mixed, lang=st.sampled_from(LANGS))
def test_query_modes_match_the_chain(text, lang):
    # How the query side calls it: a word as typed without positions, and a whole
    # value as one token (tokenize=False), stop words kept.
    for kwargs in (dict(mode="query"), dict(mode="query", removestops=False),
                   dict(tokenize=False, removestops=False), dict(tokenize=False)):
        assert tokens(analysis.analyzer(lang), text, **kwargs) == tokens(chain(lang), text,
                                                                         **kwargs)


@settings(max_examples=150, deadline=None)
@given(text=mixed, lang=st.sampled_from(LANGS), boost=st.sampled_from([1.0, 2.0]))
def test_postings_match_whoosh_characters(text, lang, boost):
    fast = analysis.LanguageCharacters(field_boost=boost).word_values(
        text, analysis.analyzer(lang), mode="index")
    slow = Characters(field_boost=boost).word_values(text, chain(lang), mode="index")
    assert sorted(fast) == sorted(slow)


def test_known_analysis():
    got = tokens(analysis.analyzer("en"), "The Ministers of São Paulo", positions=True,
                 chars=True)
    # "the" and "of" are stop words: positions close over them, characters do not.
    assert [(t, p, s, e) for t, p, s, e, _, _ in got] == [
        ("minist", 1, 4, 13), ("sao", 2, 17, 20), ("paulo", 3, 21, 26)]
    assert [t.text for t in analysis.analyzer("de")("Regierungen Straße")] == [
        "regier", "strass"]


def test_pickles_and_compares_by_language():
    ana = analysis.analyzer("de")
    back = pickle.loads(pickle.dumps(ana))
    assert back == ana and back != analysis.analyzer("en")
    assert [t.text for t in back("Regierungen")] == ["regier"]
    assert ana.has_morph() and not analysis.analyzer("und").has_morph()


@pytest.mark.parametrize("lang", LANGS)
def test_schema_fields_use_the_fast_format(lang):
    from search.schema import make_schema

    field = make_schema()[analysis.field("body", lang)]
    assert isinstance(field.format, analysis.LanguageCharacters)
    assert field.analyzer == analysis.analyzer(lang)
